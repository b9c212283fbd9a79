"""The ``fpga`` backend: an event-driven accelerator (S3-style) on an FPGA board, resources, throughput and power.

Timing is `snnq.hardware.event_core`'s. Resources of the design:

    LUT    = lut_base + pes * lut_per_pe            FF = ff_base + pes * ff_per_pe            DSP = dsp
    BRAM18 = bram18_base + ceil(membrane bits of the largest layer / 18432)
             + 2 ceil(weight_buffer_bits / 18432)   (double-buffered weights; all weights when on chip)
             + 2 ceil(largest event queue bits / 18432)   (ping-pong queues sized from the measured activity)

A design that needs more of any resource than the board has raises `ResourceError` naming it. Power follows
Xilinx-style estimates: ``P = ps_w + pl_static_w + f_MHz * (LUT lut_uw + FF ff_uw + BRAM18 bram18_uw + DSP dsp_uw) 1e-6``;
energy per inference is ``P * latency``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

from snnq.hardware.errors import ResourceError
from snnq.hardware.event_core import CoreSpec, address_bits, layer_work
from snnq.hardware.ir import Network
from snnq.hardware.result import HardwareReport, LayerCost, activity_assumptions, warn_without_activity
from snnq.hardware.spec import from_mapping, non_negative, positive
from snnq.registry import BACKENDS

BRAM18_BITS = 18 * 1024
"""Bits of one BRAM18 block."""


@dataclass(frozen=True, kw_only=True)
class BoardSpec:
    """What the FPGA board offers."""

    name: str
    """Board name (in error messages)."""
    lut: int
    """6-input LUTs."""
    ff: int
    """Flip-flops."""
    dsp: int
    """DSP slices."""
    bram18: int
    """18 Kb block RAMs."""

    def __post_init__(self) -> None:
        positive(self, "lut", "ff", "dsp", "bram18")


@dataclass(frozen=True, kw_only=True)
class FpgaDesignSpec:
    """Resources the accelerator's logic takes."""

    lut_per_pe: int
    """LUTs of one processing element (accumulators, queue port, control)."""
    ff_per_pe: int
    """Flip-flops of one processing element."""
    lut_base: int
    """LUTs outside the PEs (scheduler, DMA, AXI, control)."""
    ff_base: int
    """Flip-flops outside the PEs."""
    dsp: int
    """DSP slices (threshold scaling and membrane update units)."""
    bram18_base: int
    """Block RAMs outside the membrane, weight and queue buffers (DMA FIFOs, instruction memory)."""

    def __post_init__(self) -> None:
        non_negative(self, "lut_per_pe", "ff_per_pe", "lut_base", "ff_base", "dsp", "bram18_base")


@dataclass(frozen=True, kw_only=True)
class FpgaPowerSpec:
    """Power model (Xilinx Power Estimator style)."""

    ps_w: float
    """Processing system (ARM cores, DDR controller) power."""
    pl_static_w: float
    """Programmable-logic static (leakage) power of the device."""
    lut_uw_per_mhz: float
    """Dynamic power per used LUT per MHz (logic and routing, typical toggle rate)."""
    ff_uw_per_mhz: float
    """Dynamic power per used flip-flop per MHz."""
    bram18_uw_per_mhz: float
    """Dynamic power per used BRAM18 per MHz."""
    dsp_uw_per_mhz: float
    """Dynamic power per used DSP slice per MHz."""

    def __post_init__(self) -> None:
        non_negative(self, "ps_w", "pl_static_w", "lut_uw_per_mhz", "ff_uw_per_mhz", "bram18_uw_per_mhz", "dsp_uw_per_mhz")


@dataclass(frozen=True, kw_only=True)
class FpgaSpec:
    """An event-driven SNN accelerator on an FPGA board."""

    core: CoreSpec
    """Processing array, clock and memories."""
    board: BoardSpec
    """Resource budget."""
    design: FpgaDesignSpec
    """Logic resources of the design."""
    power: FpgaPowerSpec
    """Power model."""


def fpga_resources(network: Network, spec: FpgaSpec) -> dict[str, float]:
    """LUT, FF, DSP and BRAM18 the design needs for ``network`` (equations in the module docstring)."""
    core, design = spec.core, spec.design
    works = layer_work(network, core)
    membranes = max((w.layer.neurons * w.layer.neuron.membrane_bits for w in works if w.layer.neuron is not None), default=0)
    queue = max((w.queue_entries * address_bits(w.layer) for w in works), default=0.0)
    weights = sum(w.weight_bits for w in works)
    weight_brams = math.ceil(weights / BRAM18_BITS) if core.weights_on_chip else 2 * math.ceil(core.weight_buffer_bits / BRAM18_BITS)
    return {
        "LUT": float(design.lut_base + core.pes * design.lut_per_pe),
        "FF": float(design.ff_base + core.pes * design.ff_per_pe),
        "DSP": float(design.dsp),
        "BRAM18": float(design.bram18_base + math.ceil(membranes / BRAM18_BITS) + weight_brams + 2 * math.ceil(queue / BRAM18_BITS)),
    }


def check_resources(resources: dict[str, float], board: BoardSpec) -> None:
    """Raises `ResourceError` for the first resource the design needs more of than ``board`` has."""
    budget = {"LUT": board.lut, "FF": board.ff, "DSP": board.dsp, "BRAM18": board.bram18}
    for name, available in budget.items():
        needed = resources[name]
        if needed > available:
            raise ResourceError(
                f"the design needs {needed:.0f} {name} but board {board.name!r} has {available} "
                f"({name} over by {needed - available:.0f}; uses: " + ", ".join(f"{k} {v:.0f}/{budget[k]}" for k, v in resources.items()) + ")",
                resource=name, needed=needed, available=available,
            )


@BACKENDS.register("fpga")
class FpgaBackend:
    """Event-driven accelerator on an FPGA board described by an `FpgaSpec` (PYNQ-Z2 class in the S3 preset)."""

    registry_name: ClassVar[str] = ""
    spec_type: ClassVar[type] = FpgaSpec

    def __init__(self, spec: FpgaSpec | dict[str, Any], *, preset: str = ""):
        self.spec = from_mapping(FpgaSpec, spec)
        self.preset = preset

    def evaluate(self, network: Network, *, inputs: Any = None, labels: Any = None, seed: int = 0) -> HardwareReport:
        """Resources (checked against the board), latency, GOPS, power and energy of ``network``."""
        warn_without_activity(network)
        spec, core = self.spec, self.spec.core
        resources = fpga_resources(network, spec)
        check_resources(resources, spec.board)
        p = spec.power
        mhz = core.clock_hz / 1e6
        dynamic = mhz * 1e-6 * (resources["LUT"] * p.lut_uw_per_mhz + resources["FF"] * p.ff_uw_per_mhz
                                + resources["BRAM18"] * p.bram18_uw_per_mhz + resources["DSP"] * p.dsp_uw_per_mhz)
        costs = []
        for work in layer_work(network, core):
            latency = work.cycles / core.clock_hz
            energy = {"ps": p.ps_w * latency, "pl_static": p.pl_static_w * latency, "pl_dynamic": dynamic * latency}
            counts = {"synops": work.synops, "events_in": work.events_in, "passes": float(work.passes),
                      "compute_cycles": work.compute_cycles, "memory_cycles": work.memory_cycles, "neuron_updates": work.neuron_updates}
            costs.append(LayerCost(work.layer.name, work.layer.kind, work.cycles, latency, energy, 0.0, 0, work.utilisation or None, counts))
        latency = sum(c.latency_s for c in costs)
        synops = sum(c.counts["synops"] for c in costs)
        power = p.ps_w + p.pl_static_w + dynamic
        budget = {"LUT": spec.board.lut, "FF": spec.board.ff, "DSP": spec.board.dsp, "BRAM18": spec.board.bram18}
        totals = {
            "latency_s": latency, "cycles": sum(c.cycles for c in costs), "energy_j": power * latency, "power_w": power,
            "pl_dynamic_w": dynamic, "gops": core.ops_per_synop * synops / latency / 1e9 if latency else 0.0,
            "gops_per_pe": core.ops_per_synop * synops / latency / 1e9 / core.pes if latency else 0.0,
            "synops": synops, "throughput_fps": 1.0 / latency if latency else 0.0,
            **{k.lower(): v for k, v in resources.items()},
            **{f"{k.lower()}_utilisation": v / budget[k] for k, v in resources.items()},
        }
        details = {"resources": resources, "board": {"name": spec.board.name, **budget}}
        return HardwareReport("fpga", self.preset, network.name, tuple(costs), totals, details=details, assumptions=activity_assumptions(network))
