r"""S1's own quantization (Zou et al., 2021), as the authors' public code trains it.

Source: ``../shared/design/PAPERS.md``, section S1, "[V, from the authors' public code]", lines 30-36 (the repository
github.com/edwardzcl/Spatio_temporal_SNNs, ``tensorlayer/layers/binary.py``: ``_compute_threshold``,
``_ternary_operation``, ``_quantize_median``, ``Quant_Layer``). Two quantizers:

- ``s1_ternary``: the weights of every on-chip layer are ternary *themselves*, ``{-1, 0, 1}`` with no scale
  (TWN threshold, one per layer), so that a synapse is one ternary crossbar cell and no replication is needed.
- ``s1_median``: the "median quantization" of the activations, ``{0, 0.5, 1, 1.5, 2}`` for ``k = 1, B = 2``: at
  most four spikes per neuron ("four-spike").

Both differ from snnq's generic ``ternary`` (which has a scale ``a``) and ``uniform`` quantizers in the details
that decide bit-exactness against the authors' networks (boundary of the threshold, rounding of ties, gradient).
"""

from __future__ import annotations

import torch
from torch import Tensor

from snnq.errors import ConfigError
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.quant.uniform import UniformQuantizer
from snnq.registry import QUANTIZERS

TWN_FACTOR = 0.7
"""The TWN threshold factor of S1's ``_compute_threshold``: ``Delta = 0.7 * mean|w|``."""

STE_GAIN = 2.0
r"""The gradient S1's ternary operation passes to ``w``: ``dq/dw = 2``.

S1 writes ``q = sign(sign(w + Delta) + sign(w - Delta))`` with the gradient of every ``Sign`` op overridden by the
identity; the outer sign passes ``g`` to both inner signs, and each passes ``g`` on to ``w``: ``2 g`` in all. The
two paths to ``Delta`` carry ``+g`` and ``-g`` and cancel, so ``Delta`` (a function of ``w``) adds nothing."""


class _TernarySTE(torch.autograd.Function):
    """Ternary codes in the forward pass, ``STE_GAIN`` times the incoming gradient in the backward pass."""

    @staticmethod
    def forward(ctx, w: Tensor, delta: Tensor) -> Tensor:  # type: ignore[override]
        # sign(sign(w + D) + sign(w - D)) is sign(w) where |w| >= D and 0 elsewhere: w = D gives sign(2D + 0) = 1,
        # w = -D gives sign(0 - 1) = -1 (the boundary belongs to the nonzero codes), and a float sum w + D is
        # zero only where w = -D exactly, so the sign is that of the exact sum
        wide = w.double()
        return torch.where(wide.abs() >= delta, torch.sign(wide), torch.zeros_like(wide)).to(w.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * STE_GAIN, None


def ternarize(w: Tensor, delta: Tensor | float) -> Tensor:
    r"""S1's ternary operation with a given threshold: ``sign(w)`` where ``|w| >= delta``, else 0 (as floats), with
    the authors' gradient ``STE_GAIN`` to ``w`` and none to ``delta``."""
    delta = torch.as_tensor(delta, dtype=torch.float64, device=w.device)
    return _TernarySTE.apply(w, delta)


@QUANTIZERS.register("s1_ternary")
class S1TernaryQuantizer(Quantizer):
    r"""S1's ternary weights: ``{-1, 0, 1}`` with no scale, the TWN threshold recomputed from every tensor.

    .. math:: \Delta = 0.7 \cdot \frac{1}{n} \sum_i |w_i|, \qquad
              q(w) = \mathrm{sign}\big(\mathrm{sign}(w + \Delta) + \mathrm{sign}(w - \Delta)\big)
                   = \mathrm{sign}(w)\,[\,|w| \ge \Delta\,]

    (PAPERS.md S1 [V], lines 30-33: "weights are ``sign(w)`` where ``|w| > 0.7 * mean|w|`` (the TWN threshold), else 0, with no
    scale factor and no bias"; the authors' expression above puts ``|w| = Delta`` itself on the nonzero side.) The
    mean runs over the whole weight tensor of the layer (S1's ``tf.reduce_sum(..., reduction_indices=None)`` over
    ``tf.size``): one ``Delta`` per layer. The backward pass is the authors' straight-through gradient
    (every ``Sign`` passes the identity), which sums to

    .. math:: \frac{\partial q}{\partial w} = 2 \quad\text{(`STE_GAIN`; no gradient through } \Delta)

    with no clipping window. The integer form has codes ``{-1, 0, 1}`` and scale 1: the converters see a linear
    integer grid with step 1, and every synapse is one ternary cell. ``Delta`` and the comparison are computed in
    float64 (the mean of ``n`` float32 values is then exact to well below float32 resolution); the authors'
    float32 sum can differ only for a weight within one float32 rounding of ``Delta``.

    Args:
        channel_axis: None (S1: one ``Delta`` per layer) or a channel axis for one ``Delta`` per channel (not S1's
            rule; for experiments). The scale is 1 either way.
    """

    def __init__(self, *, channel_axis: int | None = None):
        super().__init__(channel_axis=channel_axis)

    def codeset(self) -> CodeSet:
        return CodeSet(-1, 1)

    def threshold(self, w: Tensor) -> Tensor:
        """``Delta = 0.7 mean|w|`` in float64, broadcastable against ``w`` (a scalar for one per layer)."""
        return self.per_channel(TWN_FACTOR * self.reduce(w.detach().abs(), "mean"), w)

    def encode(self, x: Tensor) -> Encoding:
        codes = ternarize(x, self.threshold(x))
        return Encoding(codes, torch.ones((), dtype=x.dtype, device=x.device))


@QUANTIZERS.register("s1_median")
class S1MedianQuantizer(UniformQuantizer):
    r"""S1's "median quantization" of activations: ``k`` fractional bits, upper bound ``B``.

    .. math:: y = \mathrm{round}\big(\mathrm{clip}(x, -B, B) \cdot 2^k\big) / 2^k

    with ``round`` TensorFlow's ``tf.round``, which rounds **half to even** (``round(0.5) = 0``,
    ``round(1.5) = 2``, ``round(2.5) = 2``, ``round(3.5) = 4``), and the straight-through gradient of the authors'
    code (``Round`` overridden by the identity, ``clip`` passing the gradient where ``-B <= x <= B``, bounds
    included). PAPERS.md S1 [V], lines 35-36: "``clip(x, -B, B)`` after BN+ReLU, then ``round(x * 2^k) / 2^k`` with
    straight-through gradient; k = 1, B = 2, so levels {0, 0.5, 1, 1.5, 2}: at most four spikes".

    In S1 this quantizer always follows BN + ReLU, so ``x >= 0`` and the lower clip never acts; snnq therefore
    implements it as an unsigned linear grid, codes ``c = clip(round(x 2^k), 0, B 2^k)`` (0..4) with the fixed step
    ``s = 2^{-k}`` (0.5), which equals the authors' expression bit for bit for every ``x >= 0`` (``x 2^k`` and
    ``x / 2^{-k}`` are the same float; clipping before or after rounding agrees at integer bounds). On negative
    inputs the authors' expression would give negative levels; use it only after a ReLU, as S1 does.

    The neuron this becomes on chip fires level ``j`` (``j = 1..B 2^k``) when ``x 2^k > j - 1/2``, and also at
    equality when ``j`` is even (half to even); ``rounding="half_up"`` (equality always fires) is offered for
    converters that implement only that, but it is not S1's rounding.

    Args:
        k: fractional bits (S1: 1); the step is ``2^{-k}``.
        bound: the upper bound ``B`` (S1: 2); ``B 2^k`` must be an integer, the largest code (spikes per neuron).
        rounding: ``half_even`` (S1's ``tf.round``) or another mode of `snnq.quant.ste.ROUNDING`.
        channel_axis: accepted for the quantizer contract; the step is one fixed number, the same on every channel.
    """

    def __init__(self, *, k: int = 1, bound: float = 2.0, rounding: str = "half_even", channel_axis: int | None = None):
        k = self.check_int("k", k, 0, 8)
        bound = self.check_positive("bound", bound)
        top = bound * 2**k
        if top != int(top):
            raise ConfigError(f"{self.registry_name}: bound={bound!r} is invalid; bound * 2^k must be an integer (the largest code), got {top}")
        super().__init__(
            levels=int(top), signed=False, scale=2.0**-k, learn_scale=False, rounding=rounding, channel_axis=channel_axis
        )
        self.k = k
        self.bound = bound
