"""The integer network description (IR) that every hardware backend consumes: numpy arrays and plain numbers only.

A `Network` is an ordered tuple of layers; each layer names the layers it reads (``"input"`` is the network's
input), carries integer weight codes with the scale that turns them back into real values, an optional integer
spiking `Neuron` on its output, and the `Activity` (spikes, synaptic operations) measured in a calibration run or
assumed. Every dataclass is frozen, its arrays are read-only copies, and `__post_init__` checks shapes, dtypes
and ranges (NIR-style), so an IR that exists is consistent.

Arithmetic the IR describes (time steps ``t = 0..T-1``, integers throughout):

    I[t] = W_int (*) x[t] + b          (dense: matrix product; conv2d: cross-correlation with stride/padding/groups)
    real value of I = weight_scale * I (folded into the thresholds: the hardware never sees the scale)

with ``W_int`` from `WeightedLayer.integer_weight` and the neuron update of `Neuron`. Layers without a neuron pass
their integer output on unchanged (pooling, flatten, a residual add that feeds a neuron later, the output layer
whose outputs are summed over time to give class scores).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

from snnq.errors import did_you_mean
from snnq.hardware.errors import IRError
from snnq.hardware.ir_layers import (
    LAYER_KINDS, Add, AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, WeightedLayer, _valid_taps,
)
from snnq.hardware.ir_nodes import CODINGS, INPUT, NEURON_KINDS, SCHEDULES, SYNAPSES, Activity, Neuron, _ArrayEquality, _choice, _shape

__all__ = [
    "CODINGS", "INPUT", "LAYER_KINDS", "NEURON_KINDS", "SCHEDULES", "SYNAPSES", "Activity", "Add", "AvgPool2d", "Conv2d", "Dense",
    "Flatten", "Layer", "MaxPool2d", "Network", "Neuron", "WeightedLayer", "_valid_taps",
]

@dataclass(frozen=True, kw_only=True, eq=False)
class Network(_ArrayEquality):
    """An integer spiking network: what a converter hands to a hardware backend.

    Args:
        name: a label ("lenet5_mnist").
        input_shape: shape of one input sample without batch or time.
        time_steps: ``T``, steps per inference (per layer window for layer-wise coding).
        coding: one of `CODINGS`.
        layers: the layers in an order in which every layer comes after those it reads.
        input_bits: bits of one input element per step (1 for spikes; more for multi-level input drivers).
        input_activity: input events per inference (``spikes``; ``synops`` is 0), or None when unknown.
        metadata: JSON-serialisable facts about the network (data set, converter, how activity was obtained).
        schedule: one of `SCHEDULES`: ``parallel`` (every layer at every step) or ``layerwise`` (a window per layer,
            as snnq's lossless converters run).
    """

    name: str
    input_shape: tuple[int, ...]
    time_steps: int
    coding: str
    layers: tuple[Layer, ...]
    input_bits: int = 1
    input_activity: Activity | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    schedule: str = "parallel"

    def __post_init__(self) -> None:
        _choice("schedule", self.schedule, SCHEDULES)
        object.__setattr__(self, "input_shape", _shape(self.input_shape, "network input_shape"))
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        if int(self.time_steps) < 1:
            raise IRError(f"time_steps must be >= 1, got {self.time_steps}")
        object.__setattr__(self, "time_steps", int(self.time_steps))
        if int(self.input_bits) < 1:
            raise IRError(f"input_bits must be >= 1, got {self.input_bits}")
        _choice("coding", self.coding, CODINGS)
        if not self.layers:
            raise IRError("a network needs at least one layer")
        shapes: dict[str, tuple[int, ...]] = {INPUT: self.input_shape}
        for layer in self.layers:
            if not isinstance(layer, Layer):
                raise IRError(f"layers must be IR layers, got {type(layer).__name__}")
            if layer.name in shapes:
                raise IRError(f"layer name {layer.name!r} is used twice")
            for source in layer.inputs:
                if source not in shapes:
                    raise IRError(f"layer {layer.name!r} reads {source!r}, which is not an earlier layer or {INPUT!r}")
                if shapes[source] != layer.input_shape:
                    raise IRError(f"layer {layer.name!r} expects input_shape {layer.input_shape} but {source!r} gives {shapes[source]}")
            shapes[layer.name] = layer.output_shape

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def layer(self, name: str) -> Layer:
        for layer in self.layers:
            if layer.name == name:
                return layer
        names = [layer.name for layer in self.layers]
        raise IRError(f"no layer {name!r}{did_you_mean(name, names)}; layers: {', '.join(names)}")

    @property
    def output(self) -> Layer:
        """The last layer: its outputs summed over the T steps are the class scores."""
        return self.layers[-1]

    def weighted_layers(self) -> tuple[WeightedLayer, ...]:
        return tuple(layer for layer in self.layers if isinstance(layer, WeightedLayer))

    def source_activity(self, name: str) -> Activity | None:
        """The activity of what layer ``name`` reads: the network input or the producers' (summed for an add)."""
        layer = self.layer(name)
        acts = [self.input_activity if src == INPUT else self.layer(src).activity for src in layer.inputs]
        if any(a is None for a in acts):
            return None
        return Activity(
            spikes=sum(a.spikes for a in acts),  # type: ignore[union-attr]
            synops=0.0,
            measured=all(a.measured for a in acts),  # type: ignore[union-attr]
            peak_step=None if any(a.peak_step is None for a in acts) else sum(a.peak_step for a in acts),  # type: ignore[union-attr, misc]
        )

    def with_layers(self, layers: tuple[Layer, ...], **changes: Any) -> Network:
        return replace(self, layers=tuple(layers), **changes)

    @property
    def has_activity(self) -> bool:
        return self.input_activity is not None and all(layer.activity is not None for layer in self.layers)
