"""The ``digital`` backend: an event-driven spiking processor in an ASIC technology (S2-style), energy and area.

Timing is `snnq.hardware.event_core`'s. Energy per inference, in pJ, with ``w`` weight bits, ``m`` membrane bits
and ``a`` event address bits (Horowitz-style per-bit costs, scaled to the preset's technology):

    synaptic   = Y (w sram + 2 m sram + m add)       weight read, membrane read-modify-write, accumulate
    neuron     = U 2 m sram + C m neuron             U membrane read-modify-writes, C threshold comparisons
                                                    (`snnq.hardware.neuron_work`: U = n T, C = U levels on the parallel
                                                    schedule; a layerwise threshold group: U = n, C = n levels)
    queue      = E passes 2 a sram                   each input event pushed and popped once per pass
    dram       = weight_bits dram                    weights streamed from DRAM (0 when on chip)
    static     = static_w * latency

Area: ``pes * pe_mm2 + (membranes + weight buffer + queues) * sram_mm2_per_mbit + overhead_mm2``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from snnq.hardware.event_core import CoreSpec, address_bits, layer_work
from snnq.hardware.ir import Network, WeightedLayer
from snnq.hardware.neuron_work import membrane_updates
from snnq.hardware.result import HardwareReport, LayerCost, activity_assumptions, warn_without_activity
from snnq.hardware.spec import from_mapping, non_negative, positive
from snnq.registry import BACKENDS


@dataclass(frozen=True, kw_only=True)
class DigitalEnergySpec:
    """Energies per bit in picojoules, and static power."""

    add_pj_per_bit: float
    """Integer add (accumulate, shift-and-add) per operand bit."""
    sram_pj_per_bit: float
    """On-chip SRAM read or write per bit (weights, membranes, event queues)."""
    dram_pj_per_bit: float
    """Off-chip DRAM access per bit (0 when the figures to match count the processor only)."""
    neuron_pj_per_bit: float
    """Threshold compare, leak and reset logic per membrane bit and neuron update."""
    static_w: float
    """Leakage and clock-tree power while the processor runs."""

    def __post_init__(self) -> None:
        non_negative(self, "add_pj_per_bit", "sram_pj_per_bit", "dram_pj_per_bit", "neuron_pj_per_bit", "static_w")


@dataclass(frozen=True, kw_only=True)
class DigitalAreaSpec:
    """Areas in mm^2."""

    pe_mm2: float
    """One processing element (accumulators, shifter, control)."""
    sram_mm2_per_mbit: float
    """On-chip SRAM per megabit, periphery included."""
    overhead_mm2: float
    """Global control, I/O, clocking."""

    def __post_init__(self) -> None:
        non_negative(self, "pe_mm2", "sram_mm2_per_mbit", "overhead_mm2")


@dataclass(frozen=True, kw_only=True)
class DigitalSpec:
    """An event-driven digital spiking processor."""

    technology_nm: float
    """Process node (documentation; the energies are given for it)."""
    voltage_v: float
    """Supply voltage (documentation)."""
    core: CoreSpec
    """Processing array, clock and memories."""
    energy: DigitalEnergySpec
    """Energies."""
    area: DigitalAreaSpec
    """Areas."""

    def __post_init__(self) -> None:
        positive(self, "technology_nm", "voltage_v")


@BACKENDS.register("digital")
class DigitalBackend:
    """Event-driven digital processor (ASIC) described by a `DigitalSpec`."""

    registry_name: ClassVar[str] = ""
    spec_type: ClassVar[type] = DigitalSpec

    def __init__(self, spec: DigitalSpec | dict[str, Any], *, preset: str = ""):
        self.spec = from_mapping(DigitalSpec, spec)
        self.preset = preset

    def evaluate(self, network: Network, *, inputs: Any = None, labels: Any = None, seed: int = 0) -> HardwareReport:
        """Latency, energy, area and GOPS of ``network`` (``inputs`` are not used: a digital processor is exact)."""
        warn_without_activity(network)
        core, e, area = self.spec.core, self.spec.energy, self.spec.area
        costs: list[LayerCost] = []
        membrane_bits, queue_bits = 0.0, 0.0
        for work in layer_work(network, core):
            layer = work.layer
            m = layer.neuron.membrane_bits if layer.neuron is not None else 16
            latency = work.cycles / core.clock_hz
            energy: dict[str, float] = {}
            if isinstance(layer, WeightedLayer):
                energy["synaptic"] = work.synops * (layer.weight_bits * e.sram_pj_per_bit + 2 * m * e.sram_pj_per_bit + m * e.add_pj_per_bit)
                energy["dram"] = 0.0 if core.weights_on_chip else work.weight_bits * e.dram_pj_per_bit
            energy["neuron"] = work.neuron_updates * m * e.neuron_pj_per_bit + membrane_updates(network, layer) * 2 * m * e.sram_pj_per_bit
            energy["queue"] = work.events_in * work.passes * 2 * address_bits(layer) * e.sram_pj_per_bit
            energy = {k: v * 1e-12 for k, v in energy.items()}
            energy["static"] = e.static_w * latency
            membrane_bits = max(membrane_bits, layer.neurons * m if layer.neuron is not None else 0)
            queue_bits = max(queue_bits, work.queue_entries * address_bits(layer))
            counts = {"synops": work.synops, "events_in": work.events_in, "neuron_updates": work.neuron_updates, "passes": float(work.passes),
                      "compute_cycles": work.compute_cycles, "memory_cycles": work.memory_cycles}
            costs.append(LayerCost(layer.name, layer.kind, work.cycles, latency, energy, 0.0, 0, work.utilisation or None, counts))
        weights = sum(float(layer.weight.size * layer.weight_bits) for layer in network.weighted_layers())
        sram_bits = membrane_bits + 2 * queue_bits + (weights if core.weights_on_chip else 2 * core.weight_buffer_bits)
        latency = sum(c.latency_s for c in costs)
        energy_total = sum(c.energy_total_j for c in costs)
        synops = sum(c.counts["synops"] for c in costs)
        components = sorted({k for c in costs for k in c.energy_j})
        totals = {
            "latency_s": latency, "cycles": sum(c.cycles for c in costs), "energy_j": energy_total,
            "power_w": energy_total / latency if latency else 0.0,
            "area_mm2": core.pes * area.pe_mm2 + sram_bits / 1e6 * area.sram_mm2_per_mbit + area.overhead_mm2,
            "gops": core.ops_per_synop * synops / latency / 1e9 if latency else 0.0, "synops": synops,
            "sram_bits": sram_bits, "throughput_fps": 1.0 / latency if latency else 0.0,
            **{f"energy_{k}_j": sum(c.energy_j.get(k, 0.0) for c in costs) for k in components},
        }
        details = {"sram_bits": {"membranes": membrane_bits, "queues": 2 * queue_bits, "weights": weights if core.weights_on_chip else 2 * core.weight_buffer_bits}}
        return HardwareReport("digital", self.preset, network.name, tuple(costs), totals, details=details, assumptions=activity_assumptions(network))
