"""Hardware presets: YAML files that describe a chip, say where every constant comes from, and what to check.

A preset file ``conf/hardware/<name>.yaml`` (or any directory listed in ``$SNNQ_HARDWARE_PRESETS``, separated
by ``os.pathsep``) holds::

    name: zou2021_chip            # must equal the file name
    backend: crossbar             # a registered backend (snnq list backends)
    description: ...
    paper: ...                    # the citation
    hardware: {...}               # the backend's spec (CrossbarSpec, FpgaSpec, DigitalSpec), every field given
    provenance:                   # every hardware field in exactly one group, with a note
      paper:   {chip.clock_hz: "252 MHz, stated"}
      derived: {...}              # computed from the paper's figures
      table:   {...}              # standard tables (Horowitz 45 nm, device data sheets)
      fitted:  {...}              # fitted to one published figure (each has a `fits` entry)
      assumed: {...}              # engineering assumptions, not from the paper
    checks: [...]                 # published figures, each with a role (see `ROLES` and `Check`)
    fits: [...]                   # which constant is fitted on which check (see `Fit`)
    derivations: [...]            # which `derived` constant is computed from which check's figure (see `Derivation`)
    target_choices: [...]         # assumptions made with the published figures in view (see `TargetChoice`)

A check's role is declared once, in the check, and validated against ``fits`` and ``derivations``: ``fitted``
if and only if a constant is fitted to it, ``derived`` if a constant is computed from it (and none fitted),
``predicted`` or ``unpublished`` (no published figure: ``published: null``) if neither.

Nonsense is rejected with a `ConfigError` that names the key: unknown or missing keys, wrong types, negative
sizes, zero ADC bits, a constant without a source, a fitted constant without a fit.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from snnq.errors import ConfigError, UnknownNameError, did_you_mean
from snnq.hardware.figures import FIGURES
from snnq.hardware.networks import PAPER_NETWORKS
from snnq.hardware.spec import from_mapping, get_path, leaf_keys, one_of, require, with_overrides
from snnq.registry import BACKENDS

PRESETS_ENV = "SNNQ_HARDWARE_PRESETS"
"""Environment variable: extra preset directories, searched before the built-in ``conf/hardware``."""

@dataclass(frozen=True)
class Role:
    """What a check's published figure was used for, and how the check treats it."""

    label: str
    """How the check output names the role."""
    tolerance: float | None
    """Relative tolerance of a ``within`` check (None: nothing is compared)."""
    counted: bool
    """Whether the row counts as a prediction in the check's summary."""
    meaning: str
    """One line for the check output's legend."""


ROLES: Mapping[str, Role] = MappingProxyType(
    {
        "fitted": Role("fitted", 0.15, False, "a constant was fitted to this figure"),
        "derived": Role("derived", 0.15, False, "a constant was computed from this figure, none fitted to it"),
        "predicted": Role("predicted", 0.25, True, "nothing was fitted to or computed from this figure"),
        "unpublished": Role("no published figure", None, False, "the paper gives no such figure: modelled, not compared"),
    }
)
"""Check roles: a fitted or derived figure must come out within 15 %, a predicted one within 25 %; only predicted
figures count as predictions, and an ``unpublished`` row is shown but never compared."""

RELATIONS = ("within", "at_least")
"""``within``: ``|modelled / published - 1| <= tol``; ``at_least``: the paper states a bound ("more than"),
``modelled >= published`` with no slack (the role's tolerance does not apply)."""

SOURCES = ("paper", "derived", "table", "fitted", "assumed")


@dataclass(frozen=True, kw_only=True)
class Provenance:
    """Where each hardware constant comes from: dotted key -> note, in one group per kind of source."""

    paper: Mapping[str, str] = field(default_factory=dict)
    """Stated in the paper."""
    derived: Mapping[str, str] = field(default_factory=dict)
    """Computed from the paper's figures (the note gives the arithmetic)."""
    table: Mapping[str, str] = field(default_factory=dict)
    """Standard tables and data sheets (Horowitz ISSCC 2014, ADC surveys, board data sheets)."""
    fitted: Mapping[str, str] = field(default_factory=dict)
    """Fitted to one published figure (see the preset's ``fits``)."""
    assumed: Mapping[str, str] = field(default_factory=dict)
    """Engineering assumptions."""

    def source_of(self, key: str) -> str:
        for source in SOURCES:
            if key in getattr(self, source):
                return source
        raise KeyError(key)


@dataclass(frozen=True, kw_only=True)
class NetworkRef:
    """A paper network (`snnq.hardware.networks.PAPER_NETWORKS`) and builder options."""

    name: str
    """Network name."""
    options: Mapping[str, Any] = field(default_factory=dict)
    """Options over the builder's defaults (``time_steps``, ``weight_bits``, ``coding``, ``spike_rate`` ...)."""

    def __post_init__(self) -> None:
        one_of(self, "name", PAPER_NETWORKS)

    def key(self) -> tuple[str, tuple[tuple[str, Any], ...]]:
        return self.name, tuple(sorted((k, repr(v)) for k, v in self.options.items()))


@dataclass(frozen=True, kw_only=True)
class Check:
    """One published figure and how to reproduce it."""

    id: str
    """Unique name within the preset."""
    figure: str
    """A `snnq.hardware.figures.FIGURES` name."""
    published: float | None
    """The paper's value, in the figure's unit; None (``null``) exactly when ``role`` is ``unpublished``."""
    role: str
    """One of `ROLES`: ``fitted``, ``derived``, ``predicted`` or ``unpublished``."""
    network: NetworkRef
    """The network the paper ran."""
    baseline: NetworkRef | None = None
    """The baseline network of ratio figures (speedup, savings)."""
    overrides: Mapping[str, Any] = field(default_factory=dict)
    """Hardware overrides (dotted keys) for the network."""
    baseline_overrides: Mapping[str, Any] = field(default_factory=dict)
    """Hardware overrides for the baseline."""
    relation: str = "within"
    """One of `RELATIONS`."""
    source: str = ""
    """Where the figure is stated."""
    note: str = ""
    """What the row rests on that the output should say beside it (shown with the row)."""

    def __post_init__(self) -> None:
        one_of(self, "figure", FIGURES)
        one_of(self, "role", ROLES)
        one_of(self, "relation", RELATIONS)
        if self.role == "unpublished":
            require(self.published is None, "published", "must be null for role 'unpublished' (the paper gives no such figure)")
        else:
            require(self.published is not None, "published", f"missing: role {self.role!r} needs a published figure (or role 'unpublished')")
            require(self.published > 0, "published", f"must be > 0, got {self.published}")
        needs = FIGURES[self.figure].needs_baseline
        require(needs == (self.baseline is not None), "baseline", f"figure {self.figure!r} {'needs' if needs else 'takes no'} baseline network")

    @property
    def tolerance(self) -> float | None:
        """Relative tolerance: the role's for ``within``, 0 for a bound (``at_least``), None when nothing is compared."""
        if self.published is None:
            return None
        return 0.0 if self.relation == "at_least" else ROLES[self.role].tolerance


@dataclass(frozen=True, kw_only=True)
class Fit:
    """A hardware constant fitted so that one check reproduces its published figure."""

    param: str
    """Dotted hardware key (must be listed under ``provenance.fitted``)."""
    check: str
    """Id of a check with role ``fitted``."""
    low: float
    """Lower end of the search interval."""
    high: float
    """Upper end of the search interval."""

    def __post_init__(self) -> None:
        require(self.low < self.high, "low", f"the interval [{self.low}, {self.high}] is empty")


@dataclass(frozen=True, kw_only=True)
class Derivation:
    """A ``derived`` hardware constant computed (not fitted) from one check's published figure."""

    param: str
    """Dotted hardware key (must be listed under ``provenance.derived``, whose note gives the arithmetic)."""
    check: str
    """Id of the check whose published figure it is computed from (role ``fitted`` or ``derived``)."""


@dataclass(frozen=True, kw_only=True)
class TargetChoice:
    """An assumed constant whose value was chosen with the published figures in view.

    The check output states it beside every row of the preset, with what the row would model if the constant
    took ``alternative`` instead (the preset's fits re-run first, so fitted rows stay fitted where they can).
    """

    param: str
    """Dotted hardware key (must be listed under ``provenance.assumed``)."""
    alternative: float
    """The value one would pick without the target in view."""
    why: str
    """Why the stored value was chosen (shown with the rows)."""


@dataclass(frozen=True, kw_only=True)
class Preset:
    """A validated preset (see the module docstring); ``hardware`` is the backend's spec dataclass."""

    name: str
    backend: str
    description: str
    paper: str
    hardware: Any
    provenance: Provenance
    checks: tuple[Check, ...] = ()
    fits: tuple[Fit, ...] = ()
    derivations: tuple[Derivation, ...] = ()
    target_choices: tuple[TargetChoice, ...] = ()

    def check(self, check_id: str) -> Check:
        for check in self.checks:
            if check.id == check_id:
                return check
        raise ConfigError(f"preset {self.name!r} has no check {check_id!r}; checks: {', '.join(c.id for c in self.checks)}")

    def backend_instance(self, hardware: Any = None) -> Any:
        """The backend built on this preset's spec (or on ``hardware``, e.g. with overrides)."""
        return BACKENDS.get(self.backend)(self.hardware if hardware is None else hardware, preset=self.name)


def _validate(preset: Preset) -> Preset:
    try:
        backend = BACKENDS.get(preset.backend)
    except UnknownNameError as error:
        raise ConfigError(f"backend: {error}") from None
    spec_type = backend.spec_type
    hardware = from_mapping(spec_type, preset.hardware, path="hardware")
    keys = leaf_keys(spec_type)
    seen: dict[str, str] = {}
    for source in SOURCES:
        for key in getattr(preset.provenance, source):
            require(key in keys, f"provenance.{source}", f"unknown hardware key {key!r}{did_you_mean(key, keys)}")
            require(key not in seen, f"provenance.{source}", f"{key!r} is already listed under {seen.get(key)!r}")
            seen[key] = source
    missing = [k for k in keys if k not in seen]
    require(not missing, "provenance", f"hardware key(s) without a source: {', '.join(missing)} (list each under one of {', '.join(SOURCES)})")
    ids = [c.id for c in preset.checks]
    require(len(ids) == len(set(ids)), "checks", f"check ids must be unique, got {ids}")
    for check in preset.checks:
        for key in (*check.overrides, *check.baseline_overrides):
            try:
                get_path(hardware, key)
            except ConfigError:
                raise ConfigError(f"checks.{check.id}.overrides: unknown hardware key {key!r}{did_you_mean(key, keys)}") from None
    fitted_params = [f.param for f in preset.fits]
    for fit in preset.fits:
        require(fit.param in preset.provenance.fitted, f"fits.{fit.param}", "a fitted constant must be listed under provenance.fitted")
        require(fit.check in ids, f"fits.{fit.param}", f"unknown check {fit.check!r}; checks: {', '.join(ids)}")
        require(preset.check(fit.check).role == "fitted", f"fits.{fit.param}", f"check {fit.check!r} is not role 'fitted'")
    for key in preset.provenance.fitted:
        require(key in fitted_params, f"provenance.fitted.{key}", "has no entry in `fits` saying which figure it was fitted to")
    for derivation in preset.derivations:
        where = f"derivations.{derivation.param}"
        require(derivation.param in preset.provenance.derived, where, "a derived constant must be listed under provenance.derived")
        require(derivation.check in ids, where, f"unknown check {derivation.check!r}; checks: {', '.join(ids)}")
        require(preset.check(derivation.check).role in ("fitted", "derived"), where,
                f"check {derivation.check!r} gave a constant: its role must be 'fitted' or 'derived', not {preset.check(derivation.check).role!r}")
    for choice in preset.target_choices:
        require(choice.param in preset.provenance.assumed, f"target_choices.{choice.param}",
                "a value chosen with the target in view is an assumption: list it under provenance.assumed")
        try:
            with_overrides(hardware, {choice.param: choice.alternative})
        except ConfigError as error:
            raise ConfigError(f"target_choices.{choice.param}.alternative: {error}") from None
    # (a fit or a derivation naming a `predicted` or `unpublished` check is refused above)
    for check in preset.checks:
        if check.role == "fitted":
            require(any(f.check == check.id for f in preset.fits), f"checks.{check.id}", "role 'fitted' but no constant is fitted to it")
        if check.role == "derived":
            require(any(d.check == check.id for d in preset.derivations), f"checks.{check.id}",
                    "role 'derived' but no `derivations` entry computes a constant from it")
    return replace(preset, hardware=hardware)


def parse_preset(data: Mapping[str, Any], *, name: str | None = None) -> Preset:
    """A validated `Preset` from a mapping (``name``: the expected name, e.g. the file's stem)."""
    preset = _validate(from_mapping(Preset, data))
    if name is not None:
        require(preset.name == name, "name", f"{preset.name!r} differs from the file name {name!r}")
    return preset


def _yaml() -> Any:
    try:
        import yaml
    except ImportError as error:  # pragma: no cover - PyYAML comes with the train extra
        raise ConfigError("reading hardware presets needs PyYAML (pip install pyyaml)") from error
    return yaml


def read_yaml(path: Path) -> Any:
    """A YAML file as plain data: ``1e6`` is a float (YAML 1.2), duplicate keys are an error."""
    yaml = _yaml()

    class Loader(yaml.SafeLoader):
        def construct_mapping(self, node: Any, deep: bool = False) -> Any:
            keys = [self.construct_object(k, deep=deep) for k, _ in node.value]
            duplicates = sorted({str(k) for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ConfigError(f"{path}: duplicate key(s) {', '.join(duplicates)}")
            return super().construct_mapping(node, deep=deep)

    Loader.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(r"^[-+]?(?:[0-9][0-9_]*\.[0-9_]*(?:[eE][-+]?[0-9]+)?|[0-9][0-9_]*[eE][-+]?[0-9]+|\.[0-9_]+(?:[eE][-+]?[0-9]+)?)$"),
        list("-+0123456789."),
    )
    with open(path, encoding="utf-8") as file:
        try:
            return yaml.load(file, Loader=Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.YAMLError as error:
            raise ConfigError(f"{path}: not valid YAML: {error}") from None


def preset_dirs() -> list[Path]:
    """Where presets are looked up: ``$SNNQ_HARDWARE_PRESETS`` entries, then the repository's ``conf/hardware``."""
    extra = [Path(p) for p in os.environ.get(PRESETS_ENV, "").split(os.pathsep) if p]
    return extra + [Path(__file__).resolve().parents[2] / "conf" / "hardware"]


def preset_paths() -> dict[str, Path]:
    """Preset name -> file, first directory wins."""
    found: dict[str, Path] = {}
    for directory in preset_dirs():
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                found.setdefault(path.stem, path)
    return found


def preset_names() -> list[str]:
    return sorted(preset_paths())


def load_preset(name_or_path: str | os.PathLike[str]) -> Preset:
    """Loads and validates a preset by name (``zou2021_chip``) or from a YAML file path."""
    text = str(name_or_path)
    path = Path(text)
    if text.endswith((".yaml", ".yml")) or path.is_file():
        if not path.is_file():
            raise ConfigError(f"no preset file {path}")
    else:
        paths = preset_paths()
        if text not in paths:
            raise UnknownNameError("hardware preset", text, paths)
        path = paths[text]
    data = read_yaml(path)
    try:
        return parse_preset(data, name=path.stem)
    except ConfigError as error:
        raise ConfigError(f"preset {path.name}: {error}") from None
