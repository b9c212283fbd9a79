"""Accuracy-energy Pareto fronts over the runs of a design-space sweep (``snnq train -m ...``, ``snnq hw pareto``).

A Hydra multirun such as::

    snnq train -m recipe=zou2021/mnist_lenet quant.weight.bits=2,4 hardware.hardware.tile.rows=256,1024

writes one run directory per job (``runs/<recipe>/sweep/<overrides>/``), each with a ``results.json`` that holds
the network's accuracy (``metrics``) and, when the recipe names a hardware preset, the hardware totals
(``hardware.totals``: ``energy_j``, ``latency_s``, ``area_mm2``, ``power_w``). `collect` gathers one
`DesignPoint` per such file below a folder (the job's overrides from ``.hydra/overrides.yaml`` as its
configuration), `pareto_front` keeps the points no other point beats on every objective, and `write_pareto`
writes ``pareto.json`` (every point, its metrics, whether it is on the front, and the runs left out with the
reason) and ``pareto.png`` (all points, the front highlighted and labelled with the options that differ).

A point ``p`` dominates ``q`` when it is at least as good on every objective and better on one; the front is the
set of points nobody dominates (ties are all kept). Objectives are ``{metric: "min" | "max"}``; the default is
accuracy up and energy down.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.errors import ConfigError, did_you_mean

DIRECTIONS = ("min", "max")
"""How an objective is optimised."""

DEFAULT_OBJECTIVES: Mapping[str, str] = MappingProxyType({"accuracy": "max", "energy_j": "min"})
"""Accuracy up, energy per inference down."""

HARDWARE_METRICS = ("energy_j", "latency_s", "area_mm2", "power_w")
"""Hardware totals a design point carries (from ``results.json["hardware"]["totals"]``)."""

ACCURACY_SOURCES: Mapping[str, tuple[tuple[str, ...], ...]] = MappingProxyType(
    {
        "network": (("metrics", "snn_accuracy"), ("metrics", "quantized_accuracy"), ("metrics", "float_accuracy")),
        "hardware": (("hardware", "accuracy", "nonideal"),),
    }
)
"""Where ``accuracy`` is read: ``network`` (the converted network on the test set, else the quantized ANN's) or
``hardware`` (the non-ideal crossbar simulation on the run's ``hw_inputs.npz`` samples)."""

RESULTS_FILENAME = "results.json"
PARETO_JSON = "pareto.json"
PARETO_PNG = "pareto.png"


@dataclass(frozen=True)
class DesignPoint:
    """One run of a sweep.

    Attributes:
        run: the run directory, relative to the folder that was searched.
        config: the job's Hydra overrides (``{"quant.weight.bits": "2", ...}``), or ``{"run": <dir name>}`` without them.
        metrics: ``accuracy`` and the hardware totals of `HARDWARE_METRICS` that the run reports.
    """

    run: str
    config: Mapping[str, str]
    metrics: Mapping[str, float]

    def metric(self, name: str) -> float:
        if name not in self.metrics:
            raise ConfigError(f"run {self.run!r} has no metric {name!r}{did_you_mean(name, list(self.metrics))}; it has: {', '.join(self.metrics)}")
        return float(self.metrics[name])


@dataclass(frozen=True)
class ParetoResult:
    """What `write_pareto` found and wrote."""

    points: tuple[DesignPoint, ...]
    front: tuple[int, ...]
    objectives: Mapping[str, str]
    skipped: tuple[Mapping[str, str], ...] = ()
    files: tuple[Path, ...] = field(default_factory=tuple)

    @property
    def front_points(self) -> tuple[DesignPoint, ...]:
        return tuple(self.points[i] for i in self.front)


def non_dominated(values: np.ndarray, directions: Sequence[str]) -> list[int]:
    """Indices of the rows of ``values`` ``[points, objectives]`` that no other row dominates.

    ``directions[k]`` is ``"min"`` or ``"max"`` for column ``k``. Row ``j`` dominates row ``i`` when
    ``s v_j <= s v_i`` in every column and ``<`` in one (``s = +1`` for min, ``-1`` for max).
    """
    for direction in directions:
        if direction not in DIRECTIONS:
            raise ConfigError(f"objective direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2 or v.shape[1] != len(directions):
        raise ConfigError(f"values of shape {v.shape} do not have one column per objective ({len(directions)})")
    v = v * np.array([1.0 if d == "min" else -1.0 for d in directions])
    return [i for i, row in enumerate(v) if not np.any(np.all(v <= row, axis=1) & np.any(v < row, axis=1))]


def pareto_front(points: Sequence[DesignPoint], objectives: Mapping[str, str] | None = None) -> list[int]:
    """Indices of the non-dominated ``points`` under ``objectives``, sorted by the first objective."""
    objectives = dict(objectives or DEFAULT_OBJECTIVES)
    if not points:
        return []
    values = np.array([[p.metric(k) for k in objectives] for p in points], dtype=np.float64)
    first = next(iter(objectives))
    return sorted(non_dominated(values, list(objectives.values())), key=lambda i: points[i].metric(first))


def _lookup(document: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = document
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    return value


def job_overrides(run: Path) -> dict[str, str] | None:
    """The job's ``key=value`` overrides from Hydra's ``.hydra/overrides.yaml`` (a YAML list of strings)."""
    path = run / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    import yaml

    items = yaml.safe_load(path.read_text()) or []
    config = {}
    for item in items:
        key, _, value = str(item).partition("=")
        config[key.lstrip("+~")] = value
    return config


def read_point(run: Path, root: Path, *, accuracy: str = "network", ignore: Sequence[str] = ("runs_dir",)) -> DesignPoint:
    """The design point of one run directory (raises `ConfigError` naming what the run lacks)."""
    if accuracy not in ACCURACY_SOURCES:
        raise ConfigError(f"unknown accuracy source {accuracy!r}{did_you_mean(accuracy, list(ACCURACY_SOURCES))}; valid: {', '.join(ACCURACY_SOURCES)}")
    document = json.loads((run / RESULTS_FILENAME).read_text())
    hardware = document.get("hardware") or {}
    if not hardware.get("totals"):
        reason = hardware.get("reason") or "no hardware preset in the recipe (add hardware=<preset>)"
        raise ConfigError(f"no hardware totals: {reason}")
    metrics: dict[str, float] = {}
    for path in ACCURACY_SOURCES[accuracy]:
        value = _lookup(document, path)
        if value is not None:
            metrics["accuracy"] = float(value)
            break
    else:
        raise ConfigError(f"no {accuracy} accuracy (looked for {', '.join('.'.join(p) for p in ACCURACY_SOURCES[accuracy])})")
    for name in HARDWARE_METRICS:
        value = hardware["totals"].get(name)
        if value is not None and math.isfinite(float(value)):
            metrics[name] = float(value)
    config = job_overrides(run)
    relative = str(run.relative_to(root)) if run != root else run.name
    if config is None:
        config = {"run": relative}
    config = {k: v for k, v in config.items() if k not in ignore}
    return DesignPoint(relative, MappingProxyType(config), MappingProxyType(metrics))


def collect(runs_dir: str | os.PathLike[str], *, accuracy: str = "network") -> tuple[list[DesignPoint], list[dict[str, str]]]:
    """Every run below ``runs_dir`` (a folder holding ``results.json``), as design points, and the runs left out
    (``{"run": ..., "reason": ...}``: no hardware report, no accuracy, unreadable file), both in path order."""
    root = Path(runs_dir)
    if not root.is_dir():
        raise ConfigError(f"no runs folder {root}")
    points, skipped = [], []
    for path in sorted(root.rglob(RESULTS_FILENAME)):
        run = path.parent
        try:
            points.append(read_point(run, root, accuracy=accuracy))
        except (ConfigError, ValueError, OSError) as error:
            skipped.append({"run": str(run.relative_to(root)), "reason": str(error)})
    return points, skipped


def _varying(points: Sequence[DesignPoint]) -> list[str]:
    """Config keys whose value differs between points (what labels a point)."""
    keys = sorted({k for p in points for k in p.config})
    return [k for k in keys if len({p.config.get(k) for p in points}) > 1]


def plot_pareto(points: Sequence[DesignPoint], front: Sequence[int], path: str | os.PathLike[str], *,
                x: str = "energy_j", y: str = "accuracy", title: str = "") -> Path:
    """All ``points`` (grey), the ``front`` (red, joined, labelled by the varying options) as a PNG at ``path``."""
    from snnq.hardware.report import new_figure, save_figure

    fig, ax = new_figure((6.8, 4.6))
    xs = np.array([p.metric(x) for p in points])
    ys = np.array([p.metric(y) for p in points])
    ax.scatter(xs, ys, s=22, color="0.6", label=f"design points ({len(points)})")
    order = sorted(front, key=lambda i: xs[i])
    ax.plot(xs[order], ys[order], "o-", color="C3", label=f"Pareto front ({len(order)})")
    keys = _varying(points)
    for i in order:
        text = ", ".join(f"{k}={points[i].config.get(k)}" for k in keys) or points[i].run
        ax.annotate(text, (xs[i], ys[i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if len(xs) and np.all(xs > 0) and xs.max() / xs.min() > 10:
        ax.set_xscale("log")
    units = {"energy_j": "energy per inference (J)", "latency_s": "latency per inference (s)", "area_mm2": "area (mm^2)",
             "power_w": "power (W)", "accuracy": "accuracy"}
    ax.set_xlabel(units.get(x, x))
    ax.set_ylabel(units.get(y, y))
    ax.set_title(title or f"{y} against {x}", fontsize=9)
    ax.legend(fontsize=8)
    return save_figure(fig, Path(path))


def write_pareto(runs_dir: str | os.PathLike[str], *, out_dir: str | os.PathLike[str] | None = None,
                 objectives: Mapping[str, str] | None = None, accuracy: str = "network") -> ParetoResult:
    """Collects the runs below ``runs_dir``, computes the front and writes ``pareto.json`` and ``pareto.png``
    into ``out_dir`` (default: ``runs_dir``). The plot shows the first two objectives (the second on the x axis
    when the first is ``accuracy``).

    Raises:
        ConfigError: no run below ``runs_dir`` has both an accuracy and hardware totals.
    """
    from snnq.hardware.report import atomic_write_bytes

    objectives = dict(objectives or DEFAULT_OBJECTIVES)
    if not objectives:
        raise ConfigError("objectives: give at least one metric to optimise")
    points, skipped = collect(runs_dir, accuracy=accuracy)
    if not points:
        reasons = "; ".join(f"{s['run']}: {s['reason']}" for s in skipped[:3]) or "no results.json found"
        raise ConfigError(f"no design points below {runs_dir} ({reasons})")
    front = pareto_front(points, objectives)
    out = Path(out_dir) if out_dir is not None else Path(runs_dir)
    out.mkdir(parents=True, exist_ok=True)
    on_front = set(front)
    document = {
        "runs_dir": str(Path(runs_dir)),
        "objectives": objectives,
        "accuracy": accuracy,
        "varying": _varying(points),
        "points": [{"run": p.run, "config": dict(p.config), "metrics": dict(p.metrics), "on_front": i in on_front}
                   for i, p in enumerate(points)],
        "front": [points[i].run for i in front],
        "skipped": skipped,
    }
    json_path = out / PARETO_JSON
    atomic_write_bytes(json_path, json.dumps(document, indent=2, sort_keys=True).encode())
    names = list(objectives)
    if len(names) >= 2:
        x, y = (names[1], names[0]) if names[0] == "accuracy" else (names[0], names[1])
    else:
        x, y = names[0], "accuracy"
    files = [json_path, plot_pareto(points, pareto_front(points, {y: objectives.get(y, "max"), x: objectives.get(x, "min")}),
                                    out / PARETO_PNG, x=x, y=y, title=f"Pareto front of {len(points)} runs below {Path(runs_dir).name}")]
    return ParetoResult(tuple(points), tuple(front), MappingProxyType(objectives), tuple(skipped), tuple(files))
