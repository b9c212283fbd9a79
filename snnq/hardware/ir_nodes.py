"""IR building blocks: the neuron and activity records, the name tables, and validation helpers.

See `snnq.hardware.ir` for the network these belong to.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.errors import did_you_mean
from snnq.hardware.errors import IRError

NEURON_KINDS: Mapping[str, str] = MappingProxyType(
    {
        "if": "integrate-and-fire: u += I; spike when u >= theta; reset by subtraction",
        "lif": "leaky IF: u -= u >> leak_shift before integrating, otherwise as 'if'",
        "sg_stateless": "stateless threshold unit (scatter-and-gather): u = I each step (u = p I with a polarity p), spike when u >= theta (or per-level thresholds)",
        "ttfs": "time-to-first-spike: IF that fires at most once per inference",
    }
)
"""Neuron kinds and their integer update rule (the equations are in `Neuron`)."""

SCHEDULES: Mapping[str, str] = MappingProxyType(
    {
        "parallel": "every layer integrates and fires at every step; biases are added at every step",
        "layerwise": "each layer integrates one window of input (bias once), then its neurons fire in the next window",
    }
)
"""When layers compute (see `snnq.hardware.simulate`)."""

CODINGS: tuple[str, ...] = ("rate", "scatter_gather", "ttfs", "qcfs")
"""How values travel as spikes: spike counts in a window (rate, qcfs), binary sub-neurons (scatter_gather), spike times (ttfs)."""

SYNAPSES: Mapping[str, str] = MappingProxyType(
    {
        "signed": "signed integer codes: value = code * scale",
        "ternary": "codes in {-1, 0, 1}: value = code * scale (S1's ternary synapses)",
        "log2": "snnq's log2 codes: value = sign(c) * scale * 2^-(|c| - 1), code 0 is zero (S2's logarithmic weights)",
    }
)
"""Synapse encodings of the weight codes."""

INPUT = "input"
"""The name by which a layer reads the network's input."""


def _choice(what: str, value: str, valid: Mapping[str, Any] | tuple[str, ...]) -> None:
    if value not in valid:
        names = list(valid)
        raise IRError(f"unknown {what} {value!r}{did_you_mean(str(value), names)}; valid: {', '.join(names)}")


def _shape(value: Any, what: str) -> tuple[int, ...]:
    shape = tuple(int(v) for v in value)
    if any(v <= 0 for v in shape) or not shape:
        raise IRError(f"{what} must be a non-empty tuple of positive sizes, got {value!r}")
    return shape


def _pair(value: Any, what: str, *, minimum: int) -> tuple[int, int]:
    pair = (int(value), int(value)) if np.isscalar(value) else tuple(int(v) for v in value)
    if len(pair) != 2 or min(pair) < minimum:
        raise IRError(f"{what} must be an int or a pair of ints >= {minimum}, got {value!r}")
    return pair  # type: ignore[return-value]


def _frozen_array(value: Any, what: str, *, integer: bool) -> np.ndarray:
    array = np.array(value, copy=True)
    if integer and not np.issubdtype(array.dtype, np.integer):
        raise IRError(f"{what} must hold integer codes (a numpy integer dtype), got dtype {array.dtype}")
    if not integer and not np.issubdtype(array.dtype, np.floating):
        array = array.astype(np.float64)
    if not integer and not np.all(np.isfinite(array)):
        raise IRError(f"{what} must be finite")
    array.flags.writeable = False
    return array


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return dict(a).keys() == dict(b).keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b


class _ArrayEquality:
    """``==`` that compares numpy fields by dtype, shape and value (the dataclass default would be ambiguous)."""

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return NotImplemented
        return all(_equal(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))  # type: ignore[arg-type]

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, kw_only=True, eq=False)
class Neuron(_ArrayEquality):
    """An integer spiking neuron on a layer's output (one per output element).

    Per time step, with input current ``I[t]`` (integer) and membrane ``u`` (``u = initial`` before step 0)::

        if:           u = sat(u + I[t]);                 s = u >= theta;  u -= theta * s
        lif:          u = sat(u - (u >> leak_shift) + I[t]); s = u >= theta;  u -= theta * s
        sg_stateless: u = I[t];                          s = u >= theta   (no state between steps)
        ttfs:         as if, but a neuron that has fired never fires again in this inference

    An ``sg_stateless`` group with ``level_thresholds`` ``L`` (batch norm folded into the neurons, S1) and
    ``polarity`` ``p`` in {-1, 1} per channel emits, on the layerwise schedule::

        u = sat(p I);   count = sum_{k=1..levels} [u >= L_k]        (threshold and spacing unused: give 1 and 0)

    i.e. level ``k`` fires when ``I >= L_k`` (``p = 1``) or ``I <= -L_k`` (``p = -1``, a channel whose batch-norm
    scale is negative: its activation falls as ``I`` grows). ``L`` is non-decreasing in ``k``.

    ``sat`` saturates to the signed range of ``membrane_bits``: ``[-2^(m-1), 2^(m-1) - 1]``; ``>>`` is an
    arithmetic shift (floor). Spikes are 0/1.

    Args:
        kind: one of `NEURON_KINDS`.
        threshold: positive integer ``theta``: a scalar, one per output channel (shape ``(C,)``) or one per
            output element (the layer's output shape).
        membrane_bits: width of the membrane register (2..62).
        initial: membrane value before the first step (QCFS pre-charge: ``theta // 2``): a scalar, or per channel /
            per element like ``threshold``.
        leak_shift: leak of ``lif`` neurons as a right shift (``u -= u >> leak_shift``); 0 for the other kinds.
        levels: sub-neurons per element of an ``sg_stateless`` group, with thresholds ``theta + k spacing``,
            ``k = 0..levels-1``; the element emits how many of them its input reaches (1 for the other kinds).
        spacing: the distance between a group's thresholds (a scalar, or per channel / element like ``threshold``).
        step_thresholds: ``ttfs`` on the layerwise schedule: the threshold of each step of the firing window,
            shape ``(T,)`` or ``(T, C)`` (per channel); the neuron fires once, at the first step whose threshold its
            integrated input reaches.
        level_thresholds: ``sg_stateless`` on the layerwise schedule: one threshold per level, shape ``(levels,)`` or
            ``(levels, C)`` (per channel), integers in the signed membrane range (a level may fire at every input,
            ``L_k`` at the range's bottom, or at none, ``L_k`` above every input the layer can produce).
        polarity: ``1`` or ``-1``, a scalar or one per channel: the sign the input is multiplied by before the
            comparison with ``level_thresholds`` (only with them).
    """

    kind: str
    threshold: int | np.ndarray
    membrane_bits: int
    initial: int | np.ndarray = 0
    leak_shift: int = 0
    levels: int = 1
    spacing: int | np.ndarray = 0
    step_thresholds: np.ndarray | None = None
    level_thresholds: np.ndarray | None = None
    polarity: int | np.ndarray = 1

    def __post_init__(self) -> None:
        _choice("neuron kind", self.kind, NEURON_KINDS)
        if not 2 <= int(self.membrane_bits) <= 62:
            raise IRError(f"membrane_bits must be in 2..62, got {self.membrane_bits}")
        if isinstance(self.threshold, np.ndarray) and self.threshold.ndim > 0:
            threshold = _frozen_array(self.threshold, "threshold", integer=True)
            object.__setattr__(self, "threshold", threshold)
            low, high = int(threshold.min()), int(threshold.max())
        else:
            if isinstance(self.threshold, (float, np.floating)) and not float(self.threshold).is_integer():
                raise IRError(f"threshold must be an integer, got {self.threshold!r}")
            low = high = int(self.threshold)
            object.__setattr__(self, "threshold", low)
        limit = 2 ** (int(self.membrane_bits) - 1) - 1
        if low < 1 or high > limit:
            raise IRError(f"threshold must be an integer in 1..{limit} for a {self.membrane_bits}-bit membrane, got {low}..{high}")
        for name in ("initial", "spacing", "polarity"):  # scalars, or arrays shaped like the threshold
            value = getattr(self, name)
            if isinstance(value, np.ndarray) and value.ndim > 0:
                object.__setattr__(self, name, _frozen_array(value, name, integer=True))
            else:
                object.__setattr__(self, name, int(value))
        if int(np.abs(np.asarray(self.initial)).max()) > limit:
            raise IRError(f"initial membrane {self.initial} does not fit {self.membrane_bits} bits")
        if int(self.leak_shift) < 0 or (self.kind == "lif") != (int(self.leak_shift) > 0):
            raise IRError(f"leak_shift must be > 0 for 'lif' neurons and 0 otherwise, got {self.leak_shift} for {self.kind!r}")
        for name in ("membrane_bits", "leak_shift", "levels"):
            object.__setattr__(self, name, int(getattr(self, name)))
        spacing = np.asarray(self.spacing)
        self._check_level_thresholds(limit)
        spaced = self.level_thresholds is None  # with a table, threshold and spacing are unused
        if self.levels < 1 or (spaced and self.levels > 1 and (self.kind != "sg_stateless" or int(spacing.min()) < 1)):
            raise IRError(f"levels={self.levels} > 1 needs an sg_stateless neuron with spacing >= 1, got {self.kind!r}, spacing {self.spacing}")
        if high + (self.levels - 1) * int(spacing.max()) > limit:
            raise IRError(f"the highest threshold of a {self.levels}-level group does not fit {self.membrane_bits} bits")
        if self.step_thresholds is not None:
            steps = _frozen_array(self.step_thresholds, "step_thresholds", integer=True)
            if self.kind != "ttfs" or steps.ndim not in (1, 2) or steps.size == 0:
                raise IRError(f"step_thresholds belong to ttfs neurons, shape (T,) or (T, C); got {self.kind!r}, shape {steps.shape}")
            if int(steps.min()) < 0 or int(steps.max()) > limit:
                raise IRError(f"step_thresholds must lie in 0..{limit} for a {self.membrane_bits}-bit membrane")
            object.__setattr__(self, "step_thresholds", steps)

    def _check_level_thresholds(self, limit: int) -> None:
        polarity = np.asarray(self.polarity)
        if not np.isin(polarity, (-1, 1)).all():
            raise IRError(f"polarity must be 1 or -1 (per channel), got {self.polarity}")
        if self.level_thresholds is None:
            if (polarity != 1).any():
                raise IRError("a polarity of -1 belongs to an sg_stateless neuron with level_thresholds")
            return
        table = _frozen_array(self.level_thresholds, "level_thresholds", integer=True)
        if self.kind != "sg_stateless" or table.ndim not in (1, 2) or table.shape[0] != self.levels:
            raise IRError(f"level_thresholds belong to sg_stateless neurons, shape (levels,) or (levels, C) with levels={self.levels}; "
                          f"got {self.kind!r}, shape {table.shape}")
        if int(table.min()) < -limit - 1 or int(table.max()) > limit:
            raise IRError(f"level_thresholds must lie in {-limit - 1}..{limit} for a {self.membrane_bits}-bit membrane, got {int(table.min())}..{int(table.max())}")
        if (np.diff(table, axis=0) < 0).any():
            raise IRError("level_thresholds must not decrease from one level to the next (a thermometer code)")
        if polarity.ndim == 1 and table.ndim == 2 and polarity.shape[0] != table.shape[1]:
            raise IRError(f"polarity has {polarity.shape[0]} channels, level_thresholds {table.shape[1]}")
        object.__setattr__(self, "level_thresholds", table)

    def threshold_for(self, output_shape: tuple[int, ...], field: str = "threshold") -> np.ndarray:
        """``threshold`` (or ``initial`` / ``spacing`` / ``polarity``) broadcast to ``output_shape`` (per channel: along axis 0)."""
        theta = np.asarray(getattr(self, field), dtype=np.int64)
        if theta.ndim == 1 and len(output_shape) > 1:
            theta = theta.reshape((-1,) + (1,) * (len(output_shape) - 1))
        return np.broadcast_to(theta, output_shape)


@dataclass(frozen=True, kw_only=True, eq=False)
class Activity(_ArrayEquality):
    """Spike activity of one layer's output per inference (means over a calibration set, or assumed).

    Args:
        spikes: output events per inference: spikes summed over the layer's neurons and all T steps (for a layer
            without a neuron, the sum of its integer outputs' magnitudes: what it sends on).
        synops: synaptic operations per inference: ``sum_t sum_i |x_i[t]| * fanout_i`` over the layer's inputs
            (one weight read and accumulate per input event and connected output); 0 for unweighted layers.
        measured: True when counted in a calibration run, False when assumed.
        per_neuron: optional mean spikes per output element per inference (shape = the layer's output shape).
        peak_step: optional largest number of events the layer emitted in one time step (event-queue sizing).
        source: how the numbers were obtained ("calibration on 128 MNIST images", "assumed rate 0.1").
    """

    spikes: float
    synops: float
    measured: bool
    per_neuron: np.ndarray | None = None
    peak_step: float | None = None
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("spikes", "synops"):
            value = float(getattr(self, name))
            if not math.isfinite(value) or value < 0:
                raise IRError(f"activity {name} must be a finite number >= 0, got {value}")
            object.__setattr__(self, name, value)
        if self.peak_step is not None:
            if not float(self.peak_step) >= 0:
                raise IRError(f"activity peak_step must be >= 0, got {self.peak_step}")
            object.__setattr__(self, "peak_step", float(self.peak_step))
        if self.per_neuron is not None:
            object.__setattr__(self, "per_neuron", _frozen_array(self.per_neuron, "activity per_neuron", integer=False))
        object.__setattr__(self, "measured", bool(self.measured))
