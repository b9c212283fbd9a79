"""The published figures a preset check can compare with, and how each is read off a `HardwareReport`.

A check's error is relative, ``modelled / published - 1``, on the quantity the figure names (its
``description``). A saving the paper states in percent is compared as the ratio it implies (an 89.1 % energy
saving is an energy ratio of 0.109): the tolerance applies to the ratio, so a modelled 95.7 % saving (ratio
0.043, 2.5x smaller than 0.109) is a 60 % error, not a 7 % one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from snnq.hardware.result import HardwareReport


@dataclass(frozen=True)
class Figure:
    """A figure of merit: its unit, what it means, and how to compute it (``baseline`` for ratios)."""

    unit: str
    description: str
    value: Callable[[HardwareReport, HardwareReport | None], float]
    needs_baseline: bool = False


def _total(name: str, scale: float) -> Callable[[HardwareReport, HardwareReport | None], float]:
    return lambda report, baseline: report.total(name) * scale


def _speedup(report: HardwareReport, baseline: HardwareReport | None) -> float:
    assert baseline is not None
    return baseline.total("latency_s") / report.total("latency_s")


def _ratio(name: str) -> Callable[[HardwareReport, HardwareReport | None], float]:
    def ratio(report: HardwareReport, baseline: HardwareReport | None) -> float:
        assert baseline is not None
        return report.total(name) / baseline.total(name)

    return ratio


FIGURES: Mapping[str, Figure] = MappingProxyType(
    {
        "latency_ms": Figure("ms", "latency per inference", _total("latency_s", 1e3)),
        "energy_mj": Figure("mJ", "energy per inference", _total("energy_j", 1e3)),
        "energy_uj": Figure("uJ", "energy per inference", _total("energy_j", 1e6)),
        "power_w": Figure("W", "average power", _total("power_w", 1.0)),
        "gops": Figure("GOPS", "throughput", _total("gops", 1.0)),
        "area_mm2": Figure("mm2", "area", _total("area_mm2", 1.0)),
        "speedup": Figure("x", "speedup (baseline latency / latency)", _speedup, needs_baseline=True),
        "energy_ratio": Figure("x", "energy ratio (energy / baseline energy)", _ratio("energy_j"), needs_baseline=True),
        "area_ratio": Figure("x", "area ratio (area / baseline area)", _ratio("area_mm2"), needs_baseline=True),
    }
)
"""Figures by name."""
