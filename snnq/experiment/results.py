"""The one results schema every run writes (``results.json``) and the leaderboard reads."""

from __future__ import annotations

import json
import os
import platform
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

import torch

SCHEMA_VERSION = 1
PACKAGES = ("snnq", "torch", "torchvision", "lightning", "torchmetrics", "hydra-core", "snntorch", "spikingjelly", "tonic")


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Writes ``text`` to a temporary file beside ``path`` and renames it into place: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False, default=_jsonable) + "\n")


def read_results(path: str | os.PathLike[str]) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _jsonable(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def environment(seed: int, wall_time: float) -> dict[str, Any]:
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else f"CPU ({platform.machine()}, {os.cpu_count()} cores)"
    return {"versions": versions, "python": platform.python_version(), "device": device, "seed": seed, "wall_time_s": round(wall_time, 1)}


def compare_with_paper(metrics: dict[str, Any], expected: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per expected figure: ours, the paper's, the gap, and whether ours passes.

    An item is ``{metric, value, unit, source}`` with either ``tolerance`` (``|ours - value| <= tolerance``) or a
    one-sided bound ``max`` / ``min`` (``ours <= max``, ``ours >= min``). Accuracies, stored as fractions, are
    compared in percent when the unit is ``%``.
    """
    rows = []
    for item in expected:
        ours = metrics.get(item["metric"])
        paper = item.get("value")
        row = {**item, "ours": ours, "gap": None, "within_tolerance": None}
        if isinstance(ours, (int, float)):
            row["ours"] = ours * 100.0 if item.get("unit") == "%" and abs(ours) <= 1.0 else ours
            if isinstance(paper, (int, float)):
                row["gap"] = row["ours"] - paper
            checks = []
            if item.get("tolerance") is not None and row["gap"] is not None:
                checks.append(abs(row["gap"]) <= item["tolerance"] + 1e-9)
            if item.get("max") is not None:
                checks.append(row["ours"] <= item["max"] + 1e-9)
            if item.get("min") is not None:
                checks.append(row["ours"] >= item["min"] - 1e-9)
            row["within_tolerance"] = all(checks) if checks else None
        rows.append(row)
    return rows


HARDWARE_METRICS = ("latency_s", "energy_j", "power_w", "area_mm2")
"""The hardware report's totals a run also keeps as metrics (``hardware_<key>``), compared with the paper's."""
COMPARISON_KEYS = ("ours", "gap", "within_tolerance")
"""What `compare_with_paper` adds to an expected item (the rest of a row is the item itself)."""


def with_hardware(results: dict[str, Any], hardware: dict[str, Any]) -> dict[str, Any]:
    """``results`` with ``hardware`` (a report's `snnq.hardware.report.summary`, or why none was written) in place of
    its hardware report, and everything that depends on it made consistent again: the ``hardware_*`` metrics, the
    comparison with the paper's figures (the expected items the run stored, compared anew), the failures, the
    status and the verdict. `snnq.experiment.pipeline` builds a run's results with it, and ``snnq hw report``
    re-evaluates a finished run on a preset with it, so that a changed preset never leaves a stale verdict beside
    new figures."""
    results = {**results, "hardware": hardware}
    metrics = {k: v for k, v in (results.get("metrics") or {}).items() if k not in {f"hardware_{m}" for m in HARDWARE_METRICS}}
    metrics.update({f"hardware_{key}": value for key, value in (hardware.get("totals") or {}).items() if key in HARDWARE_METRICS})
    results["metrics"] = metrics
    if "paper" in results:
        expected = [{k: v for k, v in row.items() if k not in COMPARISON_KEYS} for row in results["paper"]]
        results["paper"] = compare_with_paper(metrics, expected)
    return settle(results)


def settle(results: dict[str, Any]) -> dict[str, Any]:
    """Sets ``results``' ``failures`` (the IR or hardware step that failed), ``status`` and ``verdict`` (pass only
    when every expected figure passes) from what it holds, and returns it."""
    from snnq.experiment.verdicts import failures, run_verdict

    results["failures"] = failures(results)
    results["status"] = "failed" if results["failures"] else "completed"
    results["verdict"] = run_verdict(results)
    return results

