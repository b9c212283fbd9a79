"""Running each preset on the network its paper used and comparing modelled with published figures.

`run_checks` evaluates every check of the given presets (networks are built once and shared); `format_checks`
prints them as a table that says, per row, whether the figure was fitted (a constant was tuned to it:
tolerance 15 %) or predicted (nothing was tuned to it: tolerance 25 %) and whether it passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snnq.hardware.figures import FIGURES
from snnq.hardware.ir import Network
from snnq.hardware.networks import paper_network
from snnq.hardware.presets import Check, NetworkRef, Preset, load_preset, preset_names
from snnq.hardware.result import HardwareReport
from snnq.hardware.spec import with_overrides


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome."""

    preset: str
    check: Check
    modelled: float
    network: str

    @property
    def published(self) -> float:
        return self.check.published

    @property
    def error(self) -> float:
        """Relative error ``modelled / published - 1``."""
        return self.modelled / self.check.published - 1.0

    @property
    def passed(self) -> bool:
        tol = self.check.tolerance
        if self.check.relation == "at_least":
            return self.modelled >= self.check.published * (1.0 - tol)
        return abs(self.error) <= tol


class NetworkCache:
    """Paper networks built once per (name, options)."""

    def __init__(self) -> None:
        self._networks: dict[Any, Network] = {}

    def get(self, ref: NetworkRef) -> Network:
        key = ref.key()
        if key not in self._networks:
            self._networks[key] = paper_network(ref.name, **dict(ref.options))
        return self._networks[key]


def evaluate_on(preset: Preset, ref: NetworkRef, overrides: dict[str, Any], networks: NetworkCache, hardware: Any = None) -> HardwareReport:
    """``preset`` (or its ``hardware`` replacement) with ``overrides`` evaluated on the paper network ``ref``."""
    spec = hardware if hardware is not None else preset.hardware
    if overrides:
        spec = with_overrides(spec, overrides)
    return preset.backend_instance(spec).evaluate(networks.get(ref))


def modelled_value(preset: Preset, check: Check, networks: NetworkCache, *, hardware: Any = None) -> float:
    """The figure ``check`` asks for, as the model gives it."""
    report = evaluate_on(preset, check.network, dict(check.overrides), networks, hardware)
    baseline = None
    if check.baseline is not None:
        baseline = evaluate_on(preset, check.baseline, dict(check.baseline_overrides), networks, hardware)
    return FIGURES[check.figure].value(report, baseline)


def run_checks(presets: Iterable[str | Preset] | None = None, *, networks: NetworkCache | None = None) -> list[CheckResult]:
    """Every check of ``presets`` (default: all presets found), in file order."""
    networks = networks or NetworkCache()
    results = []
    for item in presets if presets is not None else preset_names():
        preset = item if isinstance(item, Preset) else load_preset(item)
        for check in preset.checks:
            results.append(CheckResult(preset.name, check, modelled_value(preset, check, networks), check.network.name))
    return results


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def format_checks(results: list[CheckResult]) -> str:
    """A fixed-width table: preset, check, network, published, modelled, error, role, tolerance, status."""
    header = ("preset", "check", "network", "published", "modelled", "error", "role", "tol", "status")
    rows = []
    for r in results:
        unit = FIGURES[r.check.figure].unit
        bound = ">= " if r.check.relation == "at_least" else ""
        rows.append((
            r.preset, r.check.id, r.network, f"{bound}{_fmt(r.published)} {unit}", f"{_fmt(r.modelled)} {unit}",
            f"{100 * r.error:+.1f}%", r.check.role, f"{'-' if r.check.relation == 'at_least' else '+-'}{100 * r.check.tolerance:.0f}%",
            "pass" if r.passed else "FAIL",
        ))
    widths = [max(len(str(x)) for x in column) for column in zip(header, *rows)]
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(row, widths)).rstrip() for row in (header, *rows)]
    failed = [r for r in results if not r.passed]
    lines.append("")
    lines.append(f"{len(results) - len(failed)}/{len(results)} within tolerance (fitted: a constant was fitted to that figure, +-15 %; "
                 "predicted: nothing was fitted to it, +-25 %; '>=' rows are bounds stated by the paper)")
    for r in failed:
        lines.append(f"outside tolerance: {r.preset} {r.check.id}: modelled {_fmt(r.modelled)} against {_fmt(r.published)} {FIGURES[r.check.figure].unit} ({100 * r.error:+.1f}%)")
    return "\n".join(lines)
