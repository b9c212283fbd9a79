"""Running each preset on the network its paper used and comparing modelled with published figures.

`run_checks` evaluates every check of the given presets (networks are built once and shared). A `CheckResult`
knows its status: ``pass`` / ``FAIL`` when there is a published figure to compare with (``within``: the relative
error on the figure's quantity within the role's tolerance; ``at_least``: the paper's bound reached, no slack),
``not compared`` for a row whose paper publishes no such figure. For every `TargetChoice` of a preset (an
assumption made with the published figures in view) each row also carries what it would model with the
alternative value, the preset's fits re-run on it first. `snnq.hardware.check_table` prints and saves the results.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from snnq.errors import ConfigError
from snnq.hardware.fit import fit_preset
from snnq.hardware.modelled import NetworkCache, evaluate_on, modelled_value
from snnq.hardware.presets import ROLES, Check, Preset, TargetChoice, load_preset, preset_names
from snnq.hardware.spec import get_path, with_overrides

__all__ = ["CheckResult", "NetworkCache", "TargetEffect", "evaluate_on", "modelled_value", "run_checks"]

STATUSES = ("pass", "FAIL", "not compared")
"""A row's status: within tolerance (or the bound reached), outside it, or no published figure to compare with."""


@dataclass(frozen=True)
class TargetEffect:
    """What one row models when a `TargetChoice` takes its alternative value."""

    choice: TargetChoice
    stored: float
    """The constant's stored value."""
    modelled: float
    """The row's figure with ``choice.alternative`` (after re-running the preset's fits)."""
    refitted: bool
    """False when the fits cannot reach their figures with the alternative (the stored fitted constants are kept)."""


@dataclass(frozen=True)
class CheckResult:
    """One check's outcome."""

    preset: str
    check: Check
    modelled: float
    network: str
    target_effects: tuple[TargetEffect, ...] = ()
    """One entry per `TargetChoice` of the preset."""
    fitted_here: tuple[tuple[str, float], ...] = ()
    """(hardware key, stored value) of the constants fitted to this row's figure."""
    derived_here: tuple[tuple[str, float], ...] = ()
    """(hardware key, stored value) of the constants computed from this row's figure."""

    @property
    def published(self) -> float | None:
        return self.check.published

    @property
    def tolerance(self) -> float | None:
        return self.check.tolerance

    def error_of(self, modelled: float) -> float | None:
        """Relative error ``modelled / published - 1`` on the figure's quantity (None: no published figure)."""
        return None if self.check.published is None else modelled / self.check.published - 1.0

    @property
    def error(self) -> float | None:
        return self.error_of(self.modelled)

    def status_of(self, modelled: float) -> str:
        """The status (one of `STATUSES`) the row would have with ``modelled``."""
        published, tolerance = self.check.published, self.check.tolerance
        if published is None or tolerance is None:
            return "not compared"
        if self.check.relation == "at_least":
            return "pass" if modelled >= published else "FAIL"
        return "pass" if abs(modelled / published - 1.0) <= tolerance else "FAIL"

    @property
    def status(self) -> str:
        return self.status_of(self.modelled)

    @property
    def passed(self) -> bool:
        """Compared and within tolerance (a row with no published figure never passes)."""
        return self.status == "pass"

    @property
    def failed(self) -> bool:
        """Compared and outside tolerance."""
        return self.status == "FAIL"

    @property
    def counted(self) -> bool:
        """A real prediction: nothing was fitted to or computed from the figure, and there is one to compare with."""
        return ROLES[self.check.role].counted and self.check.published is not None

    @property
    def passes_only_with_target_choices(self) -> bool:
        """Passes, but would fail with some `TargetChoice` at its alternative value."""
        return self.passed and any(self.status_of(e.modelled) == "FAIL" for e in self.target_effects)


def _with_alternative(preset: Preset, choice: TargetChoice, networks: NetworkCache) -> tuple[Preset, bool]:
    """``preset`` with ``choice.alternative``, its fitted constants re-fitted when the fits can reach their figures."""
    changed = replace(preset, hardware=with_overrides(preset.hardware, {choice.param: choice.alternative}))
    if not preset.fits:
        return changed, True
    try:
        fitted = fit_preset(changed, networks=networks)
    except ConfigError:
        return changed, False
    return replace(changed, hardware=with_overrides(changed.hardware, fitted)), True


def _target_effects(preset: Preset, networks: NetworkCache) -> dict[str, list[TargetEffect]]:
    effects: dict[str, list[TargetEffect]] = {check.id: [] for check in preset.checks}
    for choice in preset.target_choices:
        changed, refitted = _with_alternative(preset, choice, networks)
        stored = float(get_path(preset.hardware, choice.param))
        for check in preset.checks:
            effects[check.id].append(TargetEffect(choice, stored, modelled_value(changed, check, networks), refitted))
    return effects


def run_checks(presets: Iterable[str | Preset] | None = None, *, networks: NetworkCache | None = None) -> list[CheckResult]:
    """Every check of ``presets`` (default: all presets found), in file order."""
    networks = networks or NetworkCache()
    results = []
    for item in presets if presets is not None else preset_names():
        preset = item if isinstance(item, Preset) else load_preset(item)
        effects = _target_effects(preset, networks)
        for check in preset.checks:
            fitted = tuple((f.param, float(get_path(preset.hardware, f.param))) for f in preset.fits if f.check == check.id)
            derived = tuple((d.param, float(get_path(preset.hardware, d.param))) for d in preset.derivations if d.check == check.id)
            results.append(CheckResult(preset.name, check, modelled_value(preset, check, networks), check.network.name,
                                       tuple(effects[check.id]), fitted, derived))
    return results
