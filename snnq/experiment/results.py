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
