"""S1's "gather": integer weights carried by ternary synapses through fan-in replication.

A tile whose cells hold ternary synapses (``signed_encoding: ternary``, values in {-1, 0, 1}) can still carry a
layer with integer weights ``W`` (4-bit codes, or the exact integers of log2 codes): every input row is
replicated ``M = max |W|`` times (the layer's largest magnitude) and replica ``k = 0..M-1`` of row ``i`` holds,
in column ``j``::

    S[(i, k), j] = sign(W[i, j]) * [ |W[i, j]| > k ]          so that   sum_k S[(i, k), j] = W[i, j]

An input event on row ``i`` drives all its ``M`` replicas (the router sends the spike to ``M`` axons), and a
column sums ternary-weighted binary events in one step: ``sum_{i,k} x_i S[(i,k), j] = sum_i x_i W[i, j]``
exactly. This is the "|W| parallel synapses of sign(W)" variant of S1's gather (`ScatterGatherConverter`); the
signed-digit variant (``W = sum_m c_m 2^m``, digit ``m`` replicated ``2^m`` times so that a one-step sum still
weighs it) needs ``2^d - 1 >= M`` replicas for ``d`` digits, never fewer, so the unary form is the cheaper one.

Costs (`snnq.hardware.crossbar.costs`): a weighted layer takes ``M`` times its fan-in in physical rows, and every
input event becomes ``M`` row drives and ``M`` times the cell reads. Tiles of other encodings, and layers whose
weights are ternary already, have ``M = 1``.
"""

from __future__ import annotations

import numpy as np

from snnq.hardware.crossbar.spec import TileSpec
from snnq.hardware.ir import WeightedLayer

MAX_REPLICAS = 4096
"""The largest fan-in replication a mapping accepts (log2 codes of a wide range would need 2^15 replicas)."""


def fan_in_replicas(layer: WeightedLayer, tile: TileSpec) -> int:
    """``M``: physical rows per logical input row of ``layer`` on tiles ``tile`` (1 unless the gather is needed)."""
    if tile.signed_encoding != "ternary" or layer.synapse == "ternary":
        return 1
    w, _ = layer.integer_weight()
    return max(1, int(np.abs(w).max(initial=0)))


def ternary_rows(w: np.ndarray, replicas: int) -> np.ndarray:
    """The ternary matrix ``S`` ``[rows * M, cols]`` (rows input-major: row ``i * M + k``) of integer ``w`` ``[rows, cols]``."""
    if replicas == 1:
        return w
    magnitude = np.abs(w)[:, None, :]
    k = np.arange(replicas).reshape(1, -1, 1)
    s = np.sign(w)[:, None, :] * (magnitude > k)
    return s.reshape(w.shape[0] * replicas, w.shape[1]).astype(w.dtype)


def replicate_inputs(x: np.ndarray, replicas: int) -> np.ndarray:
    """Inputs ``[..., rows]`` repeated onto the replicated rows ``[..., rows * M]`` (the order of `ternary_rows`)."""
    return x if replicas == 1 else np.repeat(x, replicas, axis=-1)
