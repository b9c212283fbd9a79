"""IR layers: dense, conv2d, max/avg pooling, flatten and residual add, each validating its own shapes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import ClassVar

import numpy as np

from snnq.hardware.errors import IRError
from snnq.hardware.ir_nodes import INPUT, SYNAPSES, Activity, Neuron, _ArrayEquality, _choice, _frozen_array, _pair, _shape

@dataclass(frozen=True, kw_only=True, eq=False)
class Layer(_ArrayEquality):
    """Fields every layer has.

    Args:
        name: unique name (snake_case is conventional; ``"input"`` is reserved).
        inputs: names of the layers this one reads, in order (``("input",)`` for the first layer).
        input_shape: shape of one input without batch or time: ``(C, H, W)`` or ``(features,)``.
        output_shape: shape of one output.
        neuron: integer spiking neuron on the output, or None (outputs passed on as integers).
        activity: spikes and synaptic operations per inference, or None when unknown.
    """

    kind: ClassVar[str] = ""
    name: str
    inputs: tuple[str, ...] = (INPUT,)
    input_shape: tuple[int, ...]
    output_shape: tuple[int, ...]
    neuron: Neuron | None = None
    activity: Activity | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name or self.name == INPUT:
            raise IRError(f"a layer needs a non-empty name other than {INPUT!r}, got {self.name!r}")
        inputs = (self.inputs,) if isinstance(self.inputs, str) else tuple(self.inputs)
        object.__setattr__(self, "inputs", inputs)
        if len(inputs) != self.arity and self.arity > 0:
            raise IRError(f"{self.kind} layer {self.name!r} reads {self.arity} input(s), got {inputs}")
        object.__setattr__(self, "input_shape", _shape(self.input_shape, f"{self.name}: input_shape"))
        object.__setattr__(self, "output_shape", _shape(self.output_shape, f"{self.name}: output_shape"))
        expected = self.expected_output_shape()
        if expected != self.output_shape:
            raise IRError(f"{self.kind} layer {self.name!r}: output_shape {self.output_shape} does not follow from its parameters (expected {expected})")
        if self.neuron is not None:
            for field in ("threshold", "initial", "spacing", "polarity"):
                theta = np.asarray(getattr(self.neuron, field))
                if theta.ndim == 1 and theta.shape[0] != self.output_shape[0] or theta.ndim > 1 and theta.shape != self.output_shape:
                    raise IRError(f"{self.name}: {field} shape {theta.shape} is neither per channel ({self.output_shape[0]},) nor per element {self.output_shape}")
            steps = self.neuron.step_thresholds
            if steps is not None and steps.ndim == 2 and steps.shape[1] != self.output_shape[0]:
                raise IRError(f"{self.name}: step_thresholds shape {steps.shape} is not (T, {self.output_shape[0]})")
            table = self.neuron.level_thresholds
            if table is not None and table.ndim == 2 and table.shape[1] != self.output_shape[0]:
                raise IRError(f"{self.name}: level_thresholds shape {table.shape} is not (levels, {self.output_shape[0]})")
        if self.activity is not None and self.activity.per_neuron is not None and self.activity.per_neuron.shape != self.output_shape:
            raise IRError(f"{self.name}: activity per_neuron has shape {self.activity.per_neuron.shape}, expected {self.output_shape}")

    arity: ClassVar[int] = 1

    def expected_output_shape(self) -> tuple[int, ...]:
        return self.output_shape

    @property
    def neurons(self) -> int:
        """Number of output elements."""
        return math.prod(self.output_shape)

    def ops_per_input_event(self) -> float:
        """Operations one input event causes in a digital periphery (pooling, add); 0 for wiring-only layers.

        Weighted layers are costed by their synaptic operations instead (`Activity.synops`).
        """
        return 0.0

    def with_activity(self, activity: Activity | None) -> Layer:
        return replace(self, activity=activity)


@dataclass(frozen=True, kw_only=True, eq=False)
class WeightedLayer(Layer):
    """A layer with integer synaptic weights.

    Args:
        weight: integer codes (numpy integer array); the layout is the subclass's.
        weight_scale: real value of one code step: a scalar or one per output channel (shape ``(C_out,)``).
        weight_bits: storage bits per weight code (2 for ternary, 5 for S2's sign + 4-bit exponent).
        bias: optional integer bias codes, one per output channel, added to ``I`` at every step.
        synapse: encoding of the codes, one of `SYNAPSES`.
        shift: the accumulator's left shift before the bias is added, ``I = (W x) << shift + b``: a bias finer than
            one weight step times one input step needs it (the accumulator then counts ``2^-shift`` of a step).
    """

    weight: np.ndarray
    weight_scale: float | np.ndarray = 1.0
    weight_bits: int
    bias: np.ndarray | None = None
    synapse: str = "signed"
    shift: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _frozen_array(self.weight, f"{self.name}: weight", integer=True))
        super().__post_init__()
        _choice("synapse encoding", self.synapse, SYNAPSES)
        if int(self.shift) < 0:
            raise IRError(f"{self.name}: shift must be >= 0, got {self.shift}")
        object.__setattr__(self, "shift", int(self.shift))
        bits = int(self.weight_bits)
        if not 1 <= bits <= 32:
            raise IRError(f"{self.name}: weight_bits must be in 1..32, got {self.weight_bits}")
        object.__setattr__(self, "weight_bits", bits)
        codes = self.weight
        if codes.size:
            low, high = int(codes.min()), int(codes.max())
            limits = {"signed": (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1), "ternary": (-1, 1), "log2": (-(2 ** (bits - 1) - 1), 2 ** (bits - 1) - 1)}
            lo, hi = limits[self.synapse]
            if low < lo or high > hi:
                raise IRError(f"{self.name}: {self.synapse} weight codes must lie in [{lo}, {hi}] for weight_bits={bits}, got [{low}, {high}]")
        if isinstance(self.weight_scale, np.ndarray) and self.weight_scale.ndim > 0:
            scale = _frozen_array(self.weight_scale, f"{self.name}: weight_scale", integer=False)
            if scale.shape != (self.output_shape[0],):
                raise IRError(f"{self.name}: a per-channel weight_scale needs shape ({self.output_shape[0]},), got {scale.shape}")
            object.__setattr__(self, "weight_scale", scale)
        else:
            object.__setattr__(self, "weight_scale", float(self.weight_scale))
        if not np.all(np.asarray(self.weight_scale) > 0):
            raise IRError(f"{self.name}: weight_scale must be > 0")
        if self.bias is not None:
            bias = _frozen_array(self.bias, f"{self.name}: bias", integer=True)
            if bias.shape != (self.output_shape[0],):
                raise IRError(f"{self.name}: bias needs shape ({self.output_shape[0]},), got {bias.shape}")
            object.__setattr__(self, "bias", bias)

    def integer_weight(self) -> tuple[np.ndarray, float]:
        """``(W_int, factor)``: int64 weights that the hardware accumulates and the factor with ``value = W_int * factor * weight_scale``.

        Linear encodings return the codes and 1. ``log2`` codes (``|c| = e + 1`` means ``2^-e``) become the
        exact integers ``sign(c) * 2^(E - e)`` with ``E`` the largest exponent present and ``factor = 2^-E``.
        """
        codes = self.weight.astype(np.int64)
        if self.synapse != "log2":
            return codes, 1.0
        magnitude = np.abs(codes)
        top = int(magnitude.max()) - 1 if magnitude.size and magnitude.max() > 0 else 0
        values = np.where(magnitude == 0, 0, np.sign(codes) * np.left_shift(np.int64(1), np.maximum(top - (magnitude - 1), 0)))
        return values.astype(np.int64), 2.0**-top

    @property
    def fan_in(self) -> int:
        """Inputs that feed one output element (rows of the unrolled weight matrix)."""
        raise NotImplementedError

    def matrix_shape(self) -> tuple[int, int, int]:
        """``(groups, rows, cols)`` of the unrolled weight matrix: rows = fan-in, cols = outputs per group."""
        raise NotImplementedError

    def positions(self) -> int:
        """How many times the unrolled matrix is applied per time step (output pixels of a conv, 1 for dense)."""
        return 1

    def connections(self) -> int:
        """Input-output connections that exist (padding excluded): synaptic operations per step at input rate 1."""
        raise NotImplementedError


@dataclass(frozen=True, kw_only=True, eq=False)
class Dense(WeightedLayer):
    """Fully connected: ``I[t] = W x[t] + b`` with ``W`` of shape ``(out_features, in_features)``."""

    kind: ClassVar[str] = "dense"

    def expected_output_shape(self) -> tuple[int, ...]:
        if self.weight.ndim != 2 or self.input_shape != (self.weight.shape[1],):
            raise IRError(f"dense layer {self.name!r}: weight shape {self.weight.shape} does not match input_shape {self.input_shape}")
        return (self.weight.shape[0],)

    @property
    def fan_in(self) -> int:
        return self.input_shape[0]

    def matrix_shape(self) -> tuple[int, int, int]:
        return 1, self.input_shape[0], self.output_shape[0]

    def connections(self) -> int:
        return self.input_shape[0] * self.output_shape[0]


def _valid_taps(size: int, out: int, kernel: int, stride: int, padding: int) -> int:
    """Sum over output positions of the kernel taps that land inside the input (padding excluded)."""
    starts = np.arange(out) * stride - padding
    taps = np.clip(starts + kernel, 0, size) - np.clip(starts, 0, size)
    return int(taps.sum())


@dataclass(frozen=True, kw_only=True, eq=False)
class Conv2d(WeightedLayer):
    """2-D cross-correlation: ``I[c, y, x] = sum_{k, i, j} W[c, k, i, j] x[g(c) + k, s_h y - p_h + i, s_w x - p_w + j] + b[c]``.

    ``W`` has shape ``(C_out, C_in / groups, k_h, k_w)``; zero padding; ``H_out = (H + 2 p_h - k_h) // s_h + 1``.

    Args:
        stride: ``(s_h, s_w)`` (an int means both).
        padding: ``(p_h, p_w)`` zero padding.
        groups: channel groups (``C_in`` and ``C_out`` divisible by it; ``groups = C_in`` is depthwise).
    """

    kind: ClassVar[str] = "conv2d"
    stride: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    groups: int = 1

    def expected_output_shape(self) -> tuple[int, ...]:
        object.__setattr__(self, "stride", _pair(self.stride, f"{self.name}: stride", minimum=1))
        object.__setattr__(self, "padding", _pair(self.padding, f"{self.name}: padding", minimum=0))
        object.__setattr__(self, "groups", int(self.groups))
        if self.weight.ndim != 4 or len(self.input_shape) != 3:
            raise IRError(f"conv2d layer {self.name!r} needs a 4-d weight and a (C, H, W) input, got {self.weight.shape} and {self.input_shape}")
        c_out, c_in_g, kh, kw = self.weight.shape
        c_in, h, w = self.input_shape
        g = self.groups
        if g < 1 or c_in % g or c_out % g or c_in // g != c_in_g:
            raise IRError(f"conv2d layer {self.name!r}: weight {self.weight.shape} with groups={g} does not match {c_in} input channels")
        (sh, sw), (ph, pw) = self.stride, self.padding
        h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        if h_out < 1 or w_out < 1:
            raise IRError(f"conv2d layer {self.name!r}: kernel {kh}x{kw} does not fit input {h}x{w} with padding {self.padding}")
        return (c_out, h_out, w_out)

    @property
    def kernel(self) -> tuple[int, int]:
        return int(self.weight.shape[2]), int(self.weight.shape[3])

    @property
    def fan_in(self) -> int:
        return int(np.prod(self.weight.shape[1:]))

    def matrix_shape(self) -> tuple[int, int, int]:
        return self.groups, self.fan_in, self.output_shape[0] // self.groups

    def positions(self) -> int:
        return self.output_shape[1] * self.output_shape[2]

    def connections(self) -> int:
        _, h, w = self.input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        taps = _valid_taps(h, self.output_shape[1], kh, sh, ph) * _valid_taps(w, self.output_shape[2], kw, sw, pw)
        return self.output_shape[0] * self.weight.shape[1] * taps


@dataclass(frozen=True, kw_only=True, eq=False)
class _Pool2d(Layer):
    kernel: tuple[int, int]
    stride: tuple[int, int] | None = None
    padding: tuple[int, int] = (0, 0)

    def expected_output_shape(self) -> tuple[int, ...]:
        object.__setattr__(self, "kernel", _pair(self.kernel, f"{self.name}: kernel", minimum=1))
        object.__setattr__(self, "stride", _pair(self.kernel if self.stride is None else self.stride, f"{self.name}: stride", minimum=1))
        object.__setattr__(self, "padding", _pair(self.padding, f"{self.name}: padding", minimum=0))
        if len(self.input_shape) != 3:
            raise IRError(f"{self.kind} layer {self.name!r} needs a (C, H, W) input, got {self.input_shape}")
        c, h, w = self.input_shape
        (kh, kw), (sh, sw), (ph, pw) = self.kernel, self.stride, self.padding
        h_out, w_out = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
        if h_out < 1 or w_out < 1:
            raise IRError(f"{self.kind} layer {self.name!r}: window {kh}x{kw} does not fit input {h}x{w}")
        return (c, h_out, w_out)

    def ops_per_input_event(self) -> float:
        """An input event is compared (max) or added (average) once per window holding it: ``k_h k_w / (s_h s_w)``."""
        (kh, kw), (sh, sw) = self.kernel, self.stride
        return kh * kw / (sh * sw)


@dataclass(frozen=True, kw_only=True, eq=False)
class MaxPool2d(_Pool2d):
    """Max over each window: ``y[c, y, x] = max_{i, j} x[c, s y - p + i, s x - p + j]`` (on spikes: an OR)."""

    kind: ClassVar[str] = "maxpool2d"


@dataclass(frozen=True, kw_only=True, eq=False)
class AvgPool2d(_Pool2d):
    """Sum over each window (integer): ``y = sum_{i, j} x[...]``; the ``1 / (k_h k_w)`` is folded into the consumer.

    The hardware adds spikes and never divides; the consumer's weight scale (or threshold) carries the divisor.
    """

    kind: ClassVar[str] = "avgpool2d"

    @property
    def divisor(self) -> int:
        return self.kernel[0] * self.kernel[1]


@dataclass(frozen=True, kw_only=True, eq=False)
class Flatten(Layer):
    """Reshape ``(C, H, W)`` to ``(C * H * W,)`` in C order."""

    kind: ClassVar[str] = "flatten"

    def expected_output_shape(self) -> tuple[int, ...]:
        return (math.prod(self.input_shape),)


@dataclass(frozen=True, kw_only=True, eq=False)
class Add(Layer):
    """Residual add: ``y = sum_k x_k`` over two or more inputs of the same shape (integer)."""

    kind: ClassVar[str] = "add"
    arity: ClassVar[int] = 0

    def expected_output_shape(self) -> tuple[int, ...]:
        if len(self.inputs) < 2:
            raise IRError(f"add layer {self.name!r} needs two or more inputs, got {self.inputs}")
        return self.input_shape

    def ops_per_input_event(self) -> float:
        """Each input event is added once."""
        return 1.0


LAYER_KINDS: Mapping[str, type[Layer]] = MappingProxyType(
    {cls.kind: cls for cls in (Dense, Conv2d, MaxPool2d, AvgPool2d, Flatten, Add)}
)
"""Layer classes by their ``kind`` (what the serialiser writes)."""
