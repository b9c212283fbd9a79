"""An event-driven spiking accelerator (S3-style): processing elements fed from event queues, layer by layer.

Shared by the ``fpga`` and ``digital`` backends, which add resources/power (FPGA) or energies/area (ASIC).
Per weighted layer, with ``E`` input events per inference, ``Y`` synaptic operations, fan-out ``f = Y / E``,
``n`` neurons, ``T`` steps, ``pes x lanes`` accumulators and a weight buffer that holds ``B`` bits:

    passes     = ceil(weight_bits_of_layer / B)          (output channels in chunks that fit the buffer)
    compute    = E * passes * ceil(f / (passes * pes * lanes))     every PE takes a slice of each event's fan-out
    neurons    = C / (pes * neuron_lanes)                 C threshold comparisons (`snnq.hardware.neuron_work`):
                                                          n * levels * (T, or 1 for a layerwise threshold group)
    memory     = weight_bits_of_layer / dram_bits_per_cycle   (0 when the weights stay on chip)
    cycles     = max(compute + neurons, memory) + T * layer_overhead_cycles   (weight streaming overlaps compute)

Pooling and residual adds take ``events * windows_per_input / (pes * lanes)`` cycles. Layers run one after
another, each over all its T steps, on both schedules (on the ``layerwise`` schedule: the windows in sequence;
consecutive images are not pipelined across layers); ``latency = sum(cycles) / clock``; an event is one spike
whatever the value it stands for (a TTFS spike at step t weighs ``2^(T-1-t)``: the shift is part of the
accumulate); throughput in GOPS counts ``ops_per_synop`` operations per synaptic
operation: ``GOPS = ops_per_synop * sum(Y) / latency``. The event queue of a layer holds its largest step's
events (``peak_step``, or the mean per step when not measured) times ``queue_headroom``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from snnq.hardware.ir import Layer, Network, WeightedLayer
from snnq.hardware.neuron_work import comparisons
from snnq.hardware.spec import positive, require


@dataclass(frozen=True, kw_only=True)
class CoreSpec:
    """The processing array and its memories."""

    pes: int
    """Processing elements."""
    lanes: int
    """Synaptic accumulations each PE does per cycle."""
    neuron_lanes: int
    """Neuron updates each PE does per cycle."""
    clock_hz: float
    """Clock of the array."""
    ops_per_synop: float
    """Operations counted per synaptic operation in GOPS figures (2: an accumulate counted like a MAC)."""
    weights_on_chip: bool
    """All weights stay in on-chip memory (no per-inference weight traffic)."""
    weight_buffer_bits: int
    """On-chip weight buffer for one pass over a layer (when weights stream from DRAM)."""
    dram_bits_per_cycle: float
    """Weight streaming bandwidth from DRAM, bits per clock cycle."""
    queue_headroom: float
    """Event queue depth over the largest per-step event count."""
    layer_overhead_cycles: float
    """Fixed cycles per layer and time step (queue swap, synchronisation)."""

    def __post_init__(self) -> None:
        positive(self, "pes", "lanes", "neuron_lanes", "clock_hz", "ops_per_synop", "weight_buffer_bits", "dram_bits_per_cycle")
        require(self.queue_headroom >= 1, "queue_headroom", f"must be >= 1, got {self.queue_headroom}")
        require(self.layer_overhead_cycles >= 0, "layer_overhead_cycles", f"must be >= 0, got {self.layer_overhead_cycles}")


@dataclass(frozen=True)
class LayerWork:
    """What one layer asks of the array (per inference)."""

    layer: Layer
    events_in: float
    synops: float
    passes: int
    compute_cycles: float
    neuron_cycles: float
    memory_cycles: float
    cycles: float
    weight_bits: float
    neuron_updates: float
    queue_entries: float
    offered: float

    @property
    def utilisation(self) -> float:
        """Busy accumulator-cycles over offered ones during the compute phase (None-like 0 without compute)."""
        return self.synops / self.offered if self.offered else 0.0


def address_bits(layer: Layer) -> int:
    return max(1, math.ceil(math.log2(max(layer.neurons, 2))))


def _weighted_work(layer: Layer, events: float, core: CoreSpec) -> tuple[float, float, int, float, float]:
    """``(compute, memory, passes, offered, weight_bits)`` of a weighted layer."""
    assert isinstance(layer, WeightedLayer)
    width = core.pes * core.lanes
    synops = layer.activity.synops if layer.activity is not None else 0.0
    weight_bits = float(layer.weight.size * layer.weight_bits)
    passes = 1 if core.weights_on_chip else max(1, math.ceil(weight_bits / core.weight_buffer_bits))
    compute = events * passes * math.ceil(synops / events / (passes * width)) if events > 0 else 0.0
    memory = 0.0 if core.weights_on_chip else weight_bits / core.dram_bits_per_cycle
    return compute, memory, passes, compute * width, weight_bits


def _periphery_work(layer: Layer, events: float, core: CoreSpec) -> tuple[float, float, int, float, float]:
    """Pooling and adds: ``events * ops_per_input_event`` spread over all accumulators."""
    return events * layer.ops_per_input_event() / (core.pes * core.lanes), 0.0, 1, 0.0, 0.0


LAYER_WORK: Mapping[str, Callable[[Layer, float, CoreSpec], tuple[float, float, int, float, float]]] = MappingProxyType(
    {"dense": _weighted_work, "conv2d": _weighted_work, "maxpool2d": _periphery_work, "avgpool2d": _periphery_work, "add": _periphery_work}
)
"""Array work of each layer kind; kinds not listed (flatten) are wiring and take no cycles."""


def layer_work(network: Network, core: CoreSpec) -> list[LayerWork]:
    """The array's work for every layer of ``network`` (equations in the module docstring)."""
    steps = network.time_steps
    out: list[LayerWork] = []
    for layer in network:
        source = network.source_activity(layer.name)
        events = source.spikes if source is not None else 0.0
        per_step = source.peak_step if source is not None and source.peak_step is not None else events / max(steps, 1)
        synops = layer.activity.synops if isinstance(layer, WeightedLayer) and layer.activity is not None else 0.0
        wiring = layer.kind not in LAYER_WORK
        compute, memory, passes, offered, weight_bits = (0.0, 0.0, 1, 0.0, 0.0) if wiring else LAYER_WORK[layer.kind](layer, events, core)
        updates = comparisons(network, layer)
        neuron = updates / (core.pes * core.neuron_lanes)
        overhead = 0.0 if wiring else steps * core.layer_overhead_cycles
        cycles = max(compute + neuron, memory) + overhead
        out.append(LayerWork(layer, events, synops, passes, compute, neuron, memory, cycles, weight_bits, updates,
                             per_step * core.queue_headroom, offered))
    return out
