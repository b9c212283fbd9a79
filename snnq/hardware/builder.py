"""Building an IR `Network` from layer shapes alone, with placeholder integer weights and assumed activity.

For preset checks and design-space sweeps before a converter has produced a real network. The weights are
random integer codes of the stated width (seeded), the thresholds a plausible integer, and the activity an
assumption that every layer's `Activity` records as ``measured=False`` with the rule in ``source``:

- rate codings (``rate``, ``qcfs``, ``scatter_gather``): a neuron emits ``spike_rate`` spikes per step on
  average, so ``spikes = spike_rate * T * neurons``; the input sends ``input_rate`` spikes per element per step.
- threshold groups (``levels = N > 1``, S1's scatter: ``N`` stateless sub-neurons per element, the element emits
  how many fire): ``spike_rate`` is per sub-neuron, so ``spikes = spike_rate * T * N * neurons``; multi-level
  inputs (``input_levels = N``, codes ``0..N`` sent as that many events) likewise send ``input_rate * N`` events
  per element and step (``input_bits`` is the width of the codes).
- ``ttfs``: a neuron fires at most once, ``spike_rate`` is the fraction that fire: ``spikes = spike_rate * neurons``.
- ``synops = (events into the layer per input element) * connections`` (padding excluded), exact for uniform rates.
- max pooling of spikes is an OR: per step an output fires with ``1 - (1 - r)^(k_h k_w)`` (per level of a group's
  thermometer code: the pooled count is the largest count of the window); average pooling sums, so it passes on
  every input event once per window that holds it; flatten passes events unchanged.
- ``rates`` override the rate of any layer by name, pooling included (a rate per sub-neuron, or per output level
  for a layer without neuron), e.g. with the rates a calibration run measured.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.errors import did_you_mean
from snnq.hardware.errors import IRError
from snnq.hardware.ir import (
    CODINGS,
    INPUT,
    SCHEDULES,
    Activity,
    Add,
    AvgPool2d,
    Conv2d,
    Dense,
    Flatten,
    Layer,
    MaxPool2d,
    Network,
    Neuron,
    WeightedLayer,
    _valid_taps,
)

CODING_NEURON: Mapping[str, str] = MappingProxyType(
    {"rate": "if", "qcfs": "if", "scatter_gather": "sg_stateless", "ttfs": "ttfs"}
)
"""The neuron kind a coding uses unless told otherwise."""


def _maxpool_rate(layer: Layer, rate_in: list[float]) -> float:
    """Max pooling of spikes is an OR: an output fires with ``1 - (1 - r)^(k_h k_w)`` per step (``r`` per level)."""
    assert isinstance(layer, MaxPool2d)
    return 1.0 - (1.0 - min(rate_in[0], 1.0)) ** (layer.kernel[0] * layer.kernel[1])


def _avgpool_rate(layer: Layer, rate_in: list[float]) -> float:
    """Average pooling sums: an output carries every input event of its window (padding excluded)."""
    assert isinstance(layer, AvgPool2d)
    _, h, w = layer.input_shape
    taps = _valid_taps(h, layer.output_shape[1], layer.kernel[0], layer.stride[0], layer.padding[0]) * _valid_taps(
        w, layer.output_shape[2], layer.kernel[1], layer.stride[1], layer.padding[1]
    )
    return rate_in[0] * taps / (layer.output_shape[1] * layer.output_shape[2])


def _sum_rate(layer: Layer, rate_in: list[float]) -> float:
    """Flatten passes events on; an add without a neuron sends the sum of its inputs' events."""
    return sum(rate_in)


PASS_THROUGH_RATES: Mapping[str, Callable[[Layer, list[float]], float]] = MappingProxyType(
    {"maxpool2d": _maxpool_rate, "avgpool2d": _avgpool_rate, "flatten": _sum_rate, "add": _sum_rate}
)
"""Assumed output events per element per step of layers without a neuron, from their inputs' rates."""


def _code_dtype(bits: int) -> type[np.signedinteger[Any]]:
    return np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32


class NetworkBuilder:
    """Adds layers by shape and builds a `Network` with assumed activity (see the module docstring).

    Every ``add_*`` method returns the new layer's name; ``source`` (default: the previous layer) names what
    it reads. Example::

        b = NetworkBuilder("tiny", (1, 8, 8), time_steps=4)
        b.conv(4, 3); b.maxpool(2); b.flatten(); b.dense(10, neuron=False)
        net = b.build(input_rate=0.2, spike_rate=0.1)

    Args:
        name: network name.
        input_shape: one input sample, ``(C, H, W)`` or ``(features,)``.
        time_steps: T.
        coding: one of `CODINGS`; picks the default neuron kind (`CODING_NEURON`).
        weight_bits: bits of the weight codes.
        membrane_bits: bits of the membranes.
        synapse: weight encoding ("signed", "ternary", "log2").
        neuron: neuron kind (default from ``coding``).
        levels: sub-neurons per element of an ``sg_stateless`` threshold group (S1's scatter; 1: plain neurons).
        input_levels: the largest input code (inputs ``0..input_levels`` sent as that many events; 1: spikes).
        schedule: the network's schedule (``parallel`` or ``layerwise``, see `snnq.hardware.ir.SCHEDULES`).
        seed: seed of the placeholder weights.
    """

    def __init__(
        self,
        name: str,
        input_shape: tuple[int, ...],
        *,
        time_steps: int,
        coding: str = "rate",
        weight_bits: int = 4,
        membrane_bits: int = 16,
        synapse: str = "signed",
        neuron: str | None = None,
        levels: int = 1,
        input_levels: int = 1,
        schedule: str = "parallel",
        seed: int = 0,
    ):
        if coding not in CODINGS:
            raise IRError(f"unknown coding {coding!r}; valid: {', '.join(CODINGS)}")
        if schedule not in SCHEDULES:
            raise IRError(f"unknown schedule {schedule!r}{did_you_mean(schedule, list(SCHEDULES))}; valid: {', '.join(SCHEDULES)}")
        self.name, self.input_shape, self.time_steps, self.coding = name, tuple(input_shape), int(time_steps), coding
        self.weight_bits = 2 if synapse == "ternary" else int(weight_bits)
        self.membrane_bits, self.synapse = int(membrane_bits), synapse
        self.neuron_kind = neuron or CODING_NEURON[coding]
        self.levels, self.input_levels, self.schedule = int(levels), int(input_levels), schedule
        if self.levels < 1 or self.input_levels < 1:
            raise IRError(f"levels and input_levels must be >= 1, got {levels} and {input_levels}")
        if self.levels > 1 and self.neuron_kind != "sg_stateless":
            raise IRError(f"levels={levels} > 1 needs sg_stateless neurons (scatter_gather coding), got {self.neuron_kind!r}")
        self._rng = np.random.default_rng(seed)
        self._layers: list[Layer] = []
        self._shapes: dict[str, tuple[int, ...]] = {INPUT: self.input_shape}

    def shape_of(self, name: str) -> tuple[int, ...]:
        """Output shape of layer ``name`` (or of ``"input"``)."""
        return self._shapes[name]

    # ------------------------------------------------------------------ layers
    def _source(self, source: str | None) -> tuple[str, tuple[int, ...]]:
        name = source if source is not None else (self._layers[-1].name if self._layers else INPUT)
        if name not in self._shapes:
            raise IRError(f"unknown source layer {name!r}")
        return name, self._shapes[name]

    def _name(self, prefix: str, name: str | None) -> str:
        return name or f"{prefix}{sum(layer.name.startswith(prefix) for layer in self._layers) + 1}"

    def _add(self, layer: Layer) -> str:
        self._layers.append(layer)
        self._shapes[layer.name] = layer.output_shape
        return layer.name

    def _codes(self, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform codes over the encoding's range: signed codes take the whole two's-complement range
        ``-2^(b-1)..2^(b-1)-1``, as snnq's fixed-point quantizers produce (a converted 4-bit layer reaches -8)."""
        if self.synapse == "ternary":
            return self._rng.integers(-1, 2, size=shape, dtype=np.int8)
        high = 2 ** (self.weight_bits - 1) - 1
        low = -high - 1 if self.synapse == "signed" else -high
        return self._rng.integers(low, high + 1, size=shape, dtype=_code_dtype(self.weight_bits))

    def _neuron(self, fan_in: int) -> Neuron:
        # A threshold near the current's spread: sqrt(fan_in * rate) typical inputs times a mid-range code.
        top = 1 if self.synapse == "ternary" else 2 ** (self.weight_bits - 2) if self.synapse == "signed" else 1
        limit = 2 ** (self.membrane_bits - 1) - 1
        theta = int(min(limit // (2 * self.levels), max(1, round(0.5 * math.sqrt(max(fan_in, 1)) * max(top, 1)))))
        initial = theta // 2 if self.coding == "qcfs" else 0
        leak = 4 if self.neuron_kind == "lif" else 0
        if self.levels > 1:  # a scatter group: thresholds theta + k (2 theta), k = 0..levels-1
            return Neuron(kind="sg_stateless", threshold=theta, membrane_bits=self.membrane_bits, levels=self.levels, spacing=2 * theta)
        return Neuron(kind=self.neuron_kind, threshold=theta, membrane_bits=self.membrane_bits, initial=initial, leak_shift=leak)

    def conv(
        self,
        out_channels: int,
        kernel: int = 3,
        *,
        stride: int = 1,
        padding: int | None = None,
        groups: int = 1,
        neuron: bool = True,
        name: str | None = None,
        source: str | None = None,
    ) -> str:
        src, shape = self._source(source)
        weight = self._codes((out_channels, shape[0] // groups, kernel, kernel))
        pad = kernel // 2 if padding is None else padding
        c, h, w = shape
        out = (out_channels, (h + 2 * pad - kernel) // stride + 1, (w + 2 * pad - kernel) // stride + 1)
        return self._add(
            Conv2d(
                name=self._name("conv", name), inputs=(src,), input_shape=shape, output_shape=out, weight=weight,
                weight_scale=2.0 ** -(self.weight_bits - 1), weight_bits=self.weight_bits, synapse=self.synapse,
                stride=stride, padding=pad, groups=groups, neuron=self._neuron(weight[0].size) if neuron else None,
            )
        )

    def dense(self, out_features: int, *, neuron: bool = True, name: str | None = None, source: str | None = None) -> str:
        src, shape = self._source(source)
        if len(shape) != 1:
            src = self.flatten(source=src)
            shape = self._shapes[src]
        weight = self._codes((out_features, shape[0]))
        return self._add(
            Dense(
                name=self._name("fc", name), inputs=(src,), input_shape=shape, output_shape=(out_features,), weight=weight,
                weight_scale=2.0 ** -(self.weight_bits - 1), weight_bits=self.weight_bits, synapse=self.synapse,
                neuron=self._neuron(shape[0]) if neuron else None,
            )
        )

    def _pool(self, cls: type[Layer], prefix: str, kernel: int, stride: int | None, name: str | None, source: str | None) -> str:
        src, shape = self._source(source)
        s = stride or kernel
        out = (shape[0], (shape[1] - kernel) // s + 1, (shape[2] - kernel) // s + 1)
        return self._add(cls(name=self._name(prefix, name), inputs=(src,), input_shape=shape, output_shape=out, kernel=kernel, stride=s))

    def maxpool(self, kernel: int = 2, *, stride: int | None = None, name: str | None = None, source: str | None = None) -> str:
        return self._pool(MaxPool2d, "maxpool", kernel, stride, name, source)

    def avgpool(self, kernel: int = 2, *, stride: int | None = None, name: str | None = None, source: str | None = None) -> str:
        return self._pool(AvgPool2d, "avgpool", kernel, stride, name, source)

    def flatten(self, *, name: str | None = None, source: str | None = None) -> str:
        src, shape = self._source(source)
        return self._add(Flatten(name=self._name("flatten", name), inputs=(src,), input_shape=shape, output_shape=(math.prod(shape),)))

    def add(self, *sources: str, neuron: bool = True, name: str | None = None) -> str:
        shape = self._shapes[sources[0]]
        return self._add(
            Add(name=self._name("add", name), inputs=tuple(sources), input_shape=shape, output_shape=shape,
                neuron=self._neuron(len(sources)) if neuron else None)
        )

    def _output_levels(self, layer: Layer, levels_in: list[int]) -> int:
        """Levels (events per element and step at rate 1) of a layer's output: its group size, or its input's."""
        if layer.neuron is not None:
            return layer.neuron.levels
        return 1 if isinstance(layer, WeightedLayer) else max(levels_in)

    # ------------------------------------------------------------------ build
    def build(
        self,
        *,
        input_rate: float,
        spike_rate: float,
        rates: Mapping[str, float] | None = None,
        measured: Mapping[str, Mapping[str, float]] | None = None,
        input_spikes: float | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Network:
        """The network with assumed activity, or with activity measured elsewhere given as numbers.

        Args:
            input_rate: input events per element (per input level) per step (rate codings) or fraction of inputs
                that spike (ttfs).
            spike_rate: spikes per neuron (per sub-neuron of a group) per step (rate codings) or fraction of
                neurons that fire (ttfs).
            rates: per-layer rates by layer name, over ``spike_rate`` (neuron and weighted layers) or over the
                pass-through rules (pooling, flatten, add).
            measured: per-layer ``{"spikes": ..., "synops": ...}`` per inference counted in a calibration run of a
                network of the same shapes (e.g. a converted one, `snnq.hardware.calibrate`): those layers get
                that activity, marked measured; the rules above fill in the others.
            input_spikes: input events per inference counted in that run (replaces ``input_rate``'s count).
            metadata: extra metadata; the activity assumption is recorded under ``"activity"``.
        """
        rates, measured = dict(rates or {}), {k: dict(v) for k, v in (measured or {}).items()}
        unknown = sorted((set(rates) | set(measured)) - {layer.name for layer in self._layers})
        if unknown:
            names = [layer.name for layer in self._layers]
            raise IRError(f"rates / measured: no layer named {unknown[0]!r}{did_you_mean(unknown[0], names)}; layers: {', '.join(names)}")
        for name, counts in measured.items():
            if sorted(counts) != ["spikes", "synops"]:
                raise IRError(f"measured[{name!r}] needs exactly 'spikes' and 'synops' per inference, got {sorted(counts)}")
        for value in (input_rate, spike_rate, *rates.values()):
            if not 0.0 <= float(value) <= 1.0:
                raise IRError(f"assumed rates must lie in [0, 1], got {value}")
        steps = 1 if self.coding == "ttfs" else self.time_steps  # events per element = rate * steps
        note = f"assumed: input {input_rate:g}, neurons {spike_rate:g} {'fraction firing' if self.coding == 'ttfs' else 'spikes per step'}"
        if rates:
            note += f", per-layer rates for {', '.join(rates)}"
        counted = "measured in a calibration run of a network of these shapes, given as numbers"
        given = input_spikes is not None
        elements = self.input_levels * steps * math.prod(self.input_shape)
        level_rate: dict[str, float] = {INPUT: float(input_spikes) / elements if given else float(input_rate)}  # events per level and step
        levels: dict[str, int] = {INPUT: self.input_levels}
        layers: list[Layer] = []
        for layer in self._layers:
            rate_in = [level_rate[s] for s in layer.inputs]
            levels_in = [levels[s] for s in layer.inputs]
            events_in = rate_in[0] * levels_in[0]  # events per input element per step
            synops = events_in * steps * layer.connections() if isinstance(layer, WeightedLayer) else 0.0
            levels[layer.name] = self._output_levels(layer, levels_in)
            if layer.name in rates or layer.neuron is not None or isinstance(layer, WeightedLayer):
                rate_out = float(rates.get(layer.name, spike_rate))
            else:
                rate_out = PASS_THROUGH_RATES[layer.kind](layer, rate_in)
            if layer.name in measured:
                spikes, synops = float(measured[layer.name]["spikes"]), float(measured[layer.name]["synops"])
                level_rate[layer.name] = spikes / (levels[layer.name] * steps * layer.neurons)
                layers.append(layer.with_activity(Activity(spikes=spikes, synops=synops, measured=True, peak_step=spikes / steps, source=counted)))
                continue
            level_rate[layer.name] = rate_out
            spikes = rate_out * levels[layer.name] * steps * layer.neurons
            layers.append(layer.with_activity(Activity(spikes=spikes, synops=synops, measured=False, peak_step=spikes / steps, source=note)))
        input_spikes = level_rate[INPUT] * self.input_levels * steps * math.prod(self.input_shape)
        return Network(
            name=self.name,
            input_shape=self.input_shape,
            time_steps=self.time_steps,
            coding=self.coding,
            layers=tuple(layers),
            input_bits=max(1, self.input_levels.bit_length()),
            input_activity=Activity(spikes=input_spikes, synops=0.0, measured=given, peak_step=input_spikes / steps, source=counted if given else note),
            metadata={**dict(metadata or {}), "activity": note + (f"; measured for {', '.join(measured)}" if measured else ""),
                      "weights": "placeholder codes (seeded random)"},
            schedule=self.schedule,
        )


LAYER_SPECS = ("conv", "dense", "maxpool", "avgpool", "flatten", "add")
"""Operations `from_shapes` accepts (the `NetworkBuilder` methods of the same name)."""


def from_shapes(
    name: str,
    input_shape: tuple[int, ...],
    layers: Sequence[Sequence[Any]],
    *,
    time_steps: int,
    input_rate: float,
    spike_rate: float,
    coding: str = "rate",
    weight_bits: int = 4,
    membrane_bits: int = 16,
    synapse: str = "signed",
    neuron: str | None = None,
    levels: int = 1,
    input_levels: int = 1,
    schedule: str = "parallel",
    rates: Mapping[str, float] | None = None,
    seed: int = 0,
    metadata: Mapping[str, Any] | None = None,
) -> Network:
    """A network from a list of layer shapes, with placeholder weights and assumed activity (see the module docstring).

    Each item is ``(operation, *arguments)`` with an optional trailing mapping of keyword arguments, the operation
    one of `LAYER_SPECS` (arguments as the `NetworkBuilder` method of that name)::

        from_shapes("lenet5", (1, 28, 28), [("conv", 6, 5, {"padding": 2}), ("maxpool", 2), ("conv", 16, 5, {"padding": 0}),
                    ("maxpool", 2), ("dense", 120), ("dense", 84), ("dense", 10, {"neuron": False})],
                    time_steps=15, input_rate=0.13, spike_rate=0.1)
    """
    builder = NetworkBuilder(name, input_shape, time_steps=time_steps, coding=coding, weight_bits=weight_bits,
                             membrane_bits=membrane_bits, synapse=synapse, neuron=neuron, levels=levels,
                             input_levels=input_levels, schedule=schedule, seed=seed)
    for item in layers:
        operation, *arguments = item
        if operation not in LAYER_SPECS:
            raise IRError(f"unknown layer operation {operation!r}{did_you_mean(str(operation), LAYER_SPECS)}; valid: {', '.join(LAYER_SPECS)}")
        options = dict(arguments.pop()) if arguments and isinstance(arguments[-1], Mapping) else {}
        getattr(builder, operation)(*arguments, **options)
    return builder.build(input_rate=input_rate, spike_rate=spike_rate, rates=rates, metadata=metadata)
