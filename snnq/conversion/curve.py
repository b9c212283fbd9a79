"""Accuracy against the number of time steps for converters that are not lossless (QCFS), as JSON and a plot."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from torch import nn

from snnq.conversion.base import convert
from snnq.conversion.verify import verify


def accuracy_against_steps(
    model: nn.Module, loader: Iterable[Any], *, steps: Sequence[int] = (1, 2, 4, 8, 16, 32), method: str = "qcfs", progress: bool = False
) -> dict[str, Any]:
    """Converts ``model`` once per ``T`` in ``steps`` and measures the SNN's accuracy on ``loader`` (with labels).

    Returns ``{"method", "samples", "ann_accuracy", "points": [{"steps", "accuracy", "class_mismatches",
    "spikes_per_inference"}, ...]}``.
    """
    loader = list(loader)
    points, ann_accuracy, samples = [], None, 0
    for count in steps:
        report = verify(model, convert(model, method=method, steps=count), loader, progress=progress)
        ann_accuracy, samples = report.ann_accuracy, report.samples
        points.append(
            {"steps": count, "accuracy": report.snn_accuracy, "class_mismatches": report.class_mismatches, "spikes_per_inference": report.spikes_per_inference}
        )
    return {"method": method, "samples": samples, "ann_accuracy": ann_accuracy, "points": points}


def save_accuracy_against_steps(result: dict[str, Any], json_path: str | os.PathLike[str], png_path: str | os.PathLike[str], *, title: str = "") -> None:
    """Writes the curve as JSON and as a PNG plot (SNN accuracy against T, the ANN's accuracy as a line)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    json_path, png_path = Path(json_path), Path(png_path)
    with tempfile.NamedTemporaryFile("w", dir=json_path.parent, delete=False) as handle:
        json.dump(result, handle, indent=2)
    os.replace(handle.name, json_path)
    steps = [point["steps"] for point in result["points"]]
    accuracy = [100 * point["accuracy"] for point in result["points"]]
    figure, axes = plt.subplots(figsize=(5, 3.5), dpi=120)
    axes.plot(steps, accuracy, marker="o", label=f"SNN ({result['method']})")
    if result["ann_accuracy"] is not None:
        axes.axhline(100 * result["ann_accuracy"], color="grey", linestyle="--", label="quantized ANN")
    axes.set_xscale("log", base=2)
    axes.set_xticks(steps, [str(s) for s in steps])
    axes.set_xlabel("time steps T")
    axes.set_ylabel("accuracy (%)")
    axes.set_title(title or f"{result['method']}: accuracy against T ({result['samples']} samples)")
    axes.grid(alpha=0.3)
    axes.legend(loc="lower right")
    figure.tight_layout()
    with tempfile.NamedTemporaryFile(dir=png_path.parent, suffix=".png", delete=False) as handle:
        figure.savefig(handle, format="png")
    plt.close(figure)
    os.replace(handle.name, png_path)
