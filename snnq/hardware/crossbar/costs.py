"""Cycles, latency, energy and area of a network mapped on crossbar tiles, per layer and in total.

For a weighted layer with ``G`` groups of ``r x c`` weights, ``P`` output positions, ``T`` steps, placed as
``rb x cb`` tiles per copy (``cpw`` physical columns per weight, ``M`` physical rows per input: the fan-in
replication of integer weights on ternary tiles, `snnq.hardware.crossbar.gather`, else 1; ``d`` copies), and
measured or assumed synaptic operations ``Y`` (input events times fan-out; a multi-level value ``a`` counts as
``a`` events, the unary form in which scatter counts and rate trains travel):

    row drives           A = Y M / c                    (one per input event per evaluation it enters, per replica)
    row load             L = A / (T P G r M)            (mean drives per physical row and step; rho = min(L, 1))
    p_tile               1 - (1 - rho)^rows_per_tile    (a tile with at least one driven row in a step)
    cell reads           Y M cpw
    row drivers          A * cb
    comparisons          neurons * levels * evaluations (`snnq.hardware.neuron_work`; once per window for ``window``)

and, by readout (`READOUT_MODELS`):

    parallel   conversions = T P G c cpw rb p_tile     window = T (read + min(cols_tile, cols_per_adc) b t_bit + t_neuron)
    row_serial conversions = Y M cpw                   window = T (L rows_tile read + t_neuron)
    window     conversions = P G c rb                  window = T read + min(cols_tile / cpw, cols_per_adc) b t_bit + t_neuron

(each converter serves ``cols_per_adc`` neighbouring columns one after another, so the busiest converts
``min(cols used, cols_per_adc)`` of them; ``parallel`` and ``window`` tiles drive a row once per step whatever
the value, with a pulse width or amplitude that follows it, so their timing and ``p_tile`` saturate at one drive
per row and step while drive and cell energies follow the value; a ``row_serial`` core reads a row once per
event, so ``L`` is not clipped)

    cycles   = ceil(P / d) * window + T * layer_overhead + bits_moved / bus_bits
    energy   = cells cell_pj + drivers driver_pj + conversions (adc_pj 2^(b - ref) + acc_bits accumulate_pj_per_bit)
               + comparisons m neuron_pj_per_bit + bits_moved transfer_pj_per_bit + static_w * latency
    bits_moved = output events * ceil(log2 neurons) + partial sums (rb - 1) G c P (T, or 1 for window) acc_bits

Pooling and residual adds run in the digital periphery: ``ops`` = input events times windows per input,
``cycles = ops / digital_ops_per_cycle + T * layer_overhead``, ``energy = ops * digital_op_pj``.

Schedules: layers run one after another on both schedules, each over all its T steps (a feed-forward network
computes the same whichever order the steps of different layers take); the latency of one inference is the sum
of the layers' latencies. On the ``layerwise`` schedule that is the windows in sequence (a layer's neurons fire
only after its window is integrated); the chips modelled here do not pipeline consecutive images across layers,
so the throughput is ``1 / latency``. Area counts the tiles in use (the design sized for the network) plus the
chip overhead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from snnq.hardware.crossbar.mapping import LayerPlacement, TileMapping
from snnq.hardware.crossbar.spec import CrossbarSpec
from snnq.hardware.ir import Activity, Layer, Network, WeightedLayer
from snnq.hardware.neuron_work import comparisons
from snnq.hardware.result import HardwareReport, LayerCost, activity_assumptions


@dataclass(frozen=True)
class _Flow:
    """Event counts of one weighted layer's copy-independent work."""

    steps: int
    row_activations: float
    load: float
    rho: float
    p_tile: float


def _flow(layer: WeightedLayer, place: LayerPlacement, steps: int) -> _Flow:
    synops = layer.activity.synops if layer.activity is not None else 0.0
    rows_total = steps * place.positions * place.groups * place.physical_rows
    activations = synops * place.replicas / place.cols
    load = activations / rows_total if rows_total else 0.0
    rho = min(1.0, load)
    p_tile = 1.0 - (1.0 - rho) ** place.rows_per_tile
    return _Flow(steps, activations, load, rho, p_tile)


def _parallel(layer: WeightedLayer, p: LayerPlacement, f: _Flow, spec: CrossbarSpec) -> tuple[float, float]:
    t = spec.timing
    conversions = f.steps * p.positions * p.groups * p.cols * p.cols_per_weight * p.row_blocks * f.p_tile
    window = f.steps * (t.read_cycles + min(p.cols_per_tile, spec.tile.cols_per_adc) * spec.tile.adc_bits * t.adc_cycles_per_bit + t.neuron_cycles)
    return conversions, window


def _row_serial(layer: WeightedLayer, p: LayerPlacement, f: _Flow, spec: CrossbarSpec) -> tuple[float, float]:
    t = spec.timing
    synops = layer.activity.synops if layer.activity is not None else 0.0
    conversions = synops * p.replicas * p.cols_per_weight
    window = f.steps * (f.load * p.rows_per_tile * t.read_cycles + t.neuron_cycles)
    return conversions, window


def _window(layer: WeightedLayer, p: LayerPlacement, f: _Flow, spec: CrossbarSpec) -> tuple[float, float]:
    t = spec.timing
    conversions = p.positions * p.groups * p.cols * p.row_blocks
    logical = math.ceil(p.cols_per_tile / p.cols_per_weight)
    window = f.steps * t.read_cycles + min(logical, spec.tile.cols_per_adc) * spec.tile.adc_bits * t.adc_cycles_per_bit + t.neuron_cycles
    return conversions, window


READOUT_MODELS: Mapping[str, Callable[[WeightedLayer, LayerPlacement, _Flow, CrossbarSpec], tuple[float, float]]] = MappingProxyType(
    {"parallel": _parallel, "row_serial": _row_serial, "window": _window}
)
"""``readout -> f(layer, placement, flow, spec) -> (conversions per inference, cycles per position window)``."""


def position_cycles(network: Network, mapping: TileMapping, spec: CrossbarSpec) -> dict[str, float]:
    """Cycles one copy of each weighted layer spends per output position (all T steps): the duplication weights."""
    out = {}
    for layer in network.weighted_layers():
        place = mapping.layers[layer.name]
        _, window = READOUT_MODELS[spec.tile.readout](layer, place, _flow(layer, place, network.time_steps), spec)
        out[layer.name] = window
    return out


def _address_bits(layer: Layer) -> int:
    return max(1, math.ceil(math.log2(max(layer.neurons, 2))))


def _events(activity: Activity | None) -> float:
    return activity.spikes if activity is not None else 0.0


def tile_area_um2(spec: CrossbarSpec, acc_bits: int) -> float:
    """Area of one tile with its periphery."""
    tile, area = spec.tile, spec.area
    converters = math.ceil((tile.cols // 2 if tile.readout == "window" else tile.cols) / tile.cols_per_adc)
    adc = area.adc_um2 * (2.0 ** (tile.adc_bits - spec.energy.adc_ref_bits)) ** area.adc_area_exponent
    return (
        tile.rows * tile.cols * area.cell_um2 + tile.rows * area.driver_um2 + converters * adc
        + (tile.cols // 2) * acc_bits * area.neuron_um2_per_bit + area.tile_overhead_um2
    )


@dataclass
class _Context:
    network: Network
    mapping: TileMapping
    spec: CrossbarSpec
    wide: int  # accumulator bits of layers without a neuron (the widest membrane)
    tile_um2: float


@dataclass
class _Part:
    """A layer's own share of cycles, energy (pJ) and counts, before neurons, data movement and static power."""

    cycles: float = 0.0
    energy_pj: dict[str, float] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)
    moved_bits: float = 0.0
    tiles: int = 0
    utilisation: float | None = None
    area_mm2: float = 0.0
    evaluations: int | None = None  # neuron evaluations per element, when the readout fixes them


def _weighted_part(ctx: _Context, layer: Layer) -> _Part:
    assert isinstance(layer, WeightedLayer)
    spec, steps = ctx.spec, ctx.network.time_steps
    e = spec.energy
    place = ctx.mapping.layers[layer.name]
    flow = _flow(layer, place, steps)
    conversions, window = READOUT_MODELS[spec.tile.readout](layer, place, flow, spec)
    synops = layer.activity.synops if layer.activity is not None else 0.0
    acc_bits = layer.neuron.membrane_bits if layer.neuron is not None else ctx.wide
    windowed = spec.tile.readout == "window"
    merges = (place.row_blocks - 1) * place.groups * place.cols * place.positions * (1 if windowed else steps)
    tiles = len(place.tiles)
    return _Part(
        cycles=math.ceil(place.positions / place.copies) * window,
        energy_pj={
            "synaptic": synops * place.replicas * place.cols_per_weight * e.cell_pj,
            "driver": flow.row_activations * place.col_blocks * e.driver_pj,
            "adc": conversions * e.adc(spec.tile.adc_bits),
            "accumulate": conversions * acc_bits * e.accumulate_pj_per_bit,
        },
        counts={"synops": synops, "conversions": conversions, "row_activations": flow.row_activations, "copies": place.copies,
                "replicas": place.replicas},
        moved_bits=merges * acc_bits,
        tiles=tiles,
        utilisation=place.cells_per_copy * place.copies / (tiles * spec.tile.rows * spec.tile.cols),
        area_mm2=tiles * ctx.tile_um2 * 1e-6,
        evaluations=1 if windowed else None,  # window readouts integrate in the columns: the neuron acts once per window
    )


def _periphery_part(ctx: _Context, layer: Layer) -> _Part:
    ops = _events(ctx.network.source_activity(layer.name)) * layer.ops_per_input_event()
    return _Part(cycles=ops / ctx.spec.timing.digital_ops_per_cycle, energy_pj={"digital": ops * ctx.spec.energy.digital_op_pj},
                 counts={"digital_ops": ops})


LAYER_COSTS: Mapping[str, Callable[[_Context, Layer], _Part]] = MappingProxyType(
    {"dense": _weighted_part, "conv2d": _weighted_part, "maxpool2d": _periphery_part, "avgpool2d": _periphery_part, "add": _periphery_part}
)
"""Cost model of each layer kind; kinds not listed (flatten) are wiring and cost nothing."""


def crossbar_costs(network: Network, mapping: TileMapping, spec: CrossbarSpec, *, preset: str = "") -> HardwareReport:
    """Per-layer and total costs of ``network`` placed as ``mapping`` on the chip ``spec`` (see module docstring)."""
    steps = network.time_steps
    e, t = spec.energy, spec.timing
    wide = max((layer.neuron.membrane_bits for layer in network if layer.neuron is not None), default=16)
    tile_um2 = tile_area_um2(spec, wide)
    ctx = _Context(network, mapping, spec, wide, tile_um2)
    costs: list[LayerCost] = []
    for layer in network:
        if layer.kind not in LAYER_COSTS:  # wiring only
            costs.append(LayerCost(layer.name, layer.kind, 0.0, 0.0, {"data_movement": 0.0, "static": 0.0}))
            continue
        part = LAYER_COSTS[layer.kind](ctx, layer)
        energy, counts = dict(part.energy_pj), dict(part.counts)
        moved = _events(layer.activity) * _address_bits(layer) + part.moved_bits
        if layer.neuron is not None:
            updates = comparisons(network, layer, evaluations_per_element=part.evaluations)
            energy["neuron"] = updates * layer.neuron.membrane_bits * e.neuron_pj_per_bit
            counts["neuron_updates"] = updates
        cycles = part.cycles + steps * t.layer_overhead_cycles + moved / t.bus_bits
        energy["data_movement"] = moved * e.transfer_pj_per_bit
        energy = {k: v * 1e-12 for k, v in energy.items()}
        latency = cycles / spec.chip.clock_hz
        energy["static"] = e.static_w * latency
        counts["bits_moved"] = moved
        costs.append(LayerCost(layer.name, layer.kind, cycles, latency, energy, part.area_mm2, part.tiles, part.utilisation, counts))
    latency = sum(c.latency_s for c in costs)
    energy_total = sum(c.energy_total_j for c in costs)
    components = sorted({k for c in costs for k in c.energy_j})
    totals = {
        "latency_s": latency,
        "cycles": sum(c.cycles for c in costs),
        "energy_j": energy_total,
        "power_w": energy_total / latency if latency > 0 else 0.0,
        "area_mm2": mapping.tiles_used * tile_um2 * 1e-6 + spec.area.chip_overhead_mm2,
        "tiles_used": float(mapping.tiles_used),
        "tiles_total": float(mapping.total_tiles),
        "utilisation": mapping.utilisation,
        "chip_utilisation": mapping.chip_utilisation,
        "synops": float(sum(c.counts.get("synops", 0.0) for c in costs)),
        "throughput_fps": 1.0 / latency if latency > 0 else 0.0,
        **{f"energy_{k}_j": sum(c.energy_j.get(k, 0.0) for c in costs) for k in components},
    }
    details = {
        "tile_cells": mapping.tile_cells,
        "tile_owner": mapping.tile_owner,
        "tile_rows": mapping.tile_rows,
        "tile_cols": mapping.tile_cols,
        "layer_names": list(mapping.layers),
        "placements": {name: {"tiles_per_copy": p.tiles_per_copy, "copies": p.copies, "row_blocks": p.row_blocks,
                              "col_blocks": p.col_blocks, "slices": p.slices, "groups_per_tile": p.groups_per_tile}
                       for name, p in mapping.layers.items()},
    }
    return HardwareReport("crossbar", preset, network.name, tuple(costs), totals, details=details, assumptions=activity_assumptions(network))
