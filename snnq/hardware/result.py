"""What every backend returns: per-layer costs and totals, in SI units (seconds, joules, mm^2, watts)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import warnings

import numpy as np


@dataclass(frozen=True)
class LayerCost:
    """Costs of one layer for one inference.

    Attributes:
        name, kind: the IR layer.
        cycles: clock cycles the layer takes.
        latency_s: ``cycles / clock``.
        energy_j: energy by component (``synaptic``, ``adc``, ``neuron``, ``data_movement``, ``static``, ...).
        area_mm2: area of the hardware the layer occupies (0 where it shares the periphery).
        tiles: crossbar tiles (or processing elements) the layer holds.
        utilisation: fraction of the layer's tile cells (or PE lanes) that do useful work, where defined.
        counts: event counts behind the energies (``synops``, ``conversions``, ``neuron_updates``, ...).
    """

    name: str
    kind: str
    cycles: float
    latency_s: float
    energy_j: Mapping[str, float]
    area_mm2: float = 0.0
    tiles: int = 0
    utilisation: float | None = None
    counts: Mapping[str, float] = field(default_factory=dict)

    @property
    def energy_total_j(self) -> float:
        return float(sum(self.energy_j.values()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "kind": self.kind, "cycles": self.cycles, "latency_s": self.latency_s,
            "energy_j": dict(self.energy_j), "energy_total_j": self.energy_total_j, "area_mm2": self.area_mm2,
            "tiles": self.tiles, "utilisation": self.utilisation, "counts": dict(self.counts),
        }


@dataclass(frozen=True)
class HardwareReport:
    """A network evaluated on one hardware preset.

    Attributes:
        backend: registered backend name.
        preset: preset name (or "" for a spec built in code).
        network: IR network name.
        layers: one `LayerCost` per IR layer, in order.
        totals: ``latency_s``, ``energy_j``, ``power_w``, ``area_mm2`` and backend-specific totals
            (``tiles_used``, ``utilisation``, ``gops``, ``lut``, ...).
        accuracy: ``ideal`` / ``nonideal`` accuracy and ``agreement`` when labelled inputs were simulated.
        details: arrays and tables for plots and reports (``tile_cells``, ``tile_owner``, resources, ...).
        assumptions: what the numbers rest on (assumed activity, ...), one sentence each.
    """

    backend: str
    preset: str
    network: str
    layers: tuple[LayerCost, ...]
    totals: Mapping[str, float]
    accuracy: Mapping[str, float] = field(default_factory=dict)
    details: Mapping[str, Any] = field(default_factory=dict)
    assumptions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "totals", MappingProxyType(dict(self.totals)))

    def total(self, name: str) -> float:
        return float(self.totals[name])

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form (arrays in ``details`` become lists)."""

        def plain(value: Any) -> Any:
            if isinstance(value, np.ndarray):
                return value.tolist()
            if isinstance(value, np.generic):
                return value.item()
            if isinstance(value, Mapping):
                return {str(k): plain(v) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [plain(v) for v in value]
            return value

        return {
            "backend": self.backend, "preset": self.preset, "network": self.network,
            "totals": plain(self.totals), "accuracy": plain(self.accuracy),
            "layers": [layer.to_dict() for layer in self.layers],
            "details": plain(self.details), "assumptions": list(self.assumptions),
        }


def activity_assumptions(network: Any) -> tuple[str, ...]:
    """One sentence per distinct activity source of ``network`` (flags assumed activity)."""
    sources: list[str] = []
    acts = [network.input_activity] + [layer.activity for layer in network.layers]
    if any(a is None for a in acts):
        sources.append("some layers have no activity: their event-driven costs are counted as zero")
    for a in acts:
        if a is not None and not a.measured:
            text = f"activity not measured ({a.source or 'assumed'})"
            if text not in sources:
                sources.append(text)
    return tuple(sources)


def warn_without_activity(network: Any) -> None:
    """Warns when layers (or the input) have no activity: their event-driven costs then count as zero."""
    missing = [layer.name for layer in network.layers if layer.activity is None]
    if network.input_activity is None:
        missing.insert(0, "input")
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        warnings.warn(
            f"network {network.name!r} has no activity for {shown}: event-driven costs of those count as zero "
            "(measure it with snnq.hardware.calibrate, or build the IR with assumed activity)",
            stacklevel=3,
        )
