"""Accuracy under input noise of growing strength (S1 reports it): the float ANN, the quantized ANN and the SNN
see the very same noisy images."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor


def noise_robustness(
    models: dict[str, Callable[[Tensor], Tensor]],
    loader: Iterable[Any],
    *,
    levels: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5),
    seed: int = 0,
    max_batches: int | None = None,
) -> dict[str, Any]:
    """Accuracy of each model on ``x + sigma * N(0, 1)`` for every ``sigma`` in ``levels`` (in input units).

    Returns ``{"kind": "gaussian", "levels": [...], "samples": n, "accuracy": {model name: [...]}}``.
    """
    batches = [b for i, b in enumerate(loader) if max_batches is None or i < max_batches]
    accuracy: dict[str, list[float]] = {name: [] for name in models}
    samples = sum(int(b[1].shape[0]) for b in batches)
    for level in levels:
        generator = torch.Generator().manual_seed(seed)
        correct = dict.fromkeys(models, 0)
        for images, labels in ((b[0], b[1]) for b in batches):
            noisy = images + level * torch.randn(images.shape, generator=generator).to(images)
            with torch.no_grad():
                for name, model in models.items():
                    correct[name] += int((model(noisy).argmax(1) == labels).sum())
        for name in models:
            accuracy[name].append(correct[name] / max(samples, 1))
    return {"kind": "gaussian", "levels": list(levels), "samples": samples, "accuracy": accuracy}


def plot_robustness(result: dict[str, Any], path: str | Path, *, title: str = "") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5), dpi=120)
    for name, values in result["accuracy"].items():
        axes.plot(result["levels"], [100 * v for v in values], marker="o", label=name)
    axes.set_xlabel("Gaussian input noise (standard deviation)")
    axes.set_ylabel("accuracy (%)")
    axes.set_title(title or f"robustness to input noise ({result['samples']} samples)")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
