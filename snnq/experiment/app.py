"""`snnq train`: Hydra's own entry point (so ``-m`` sweeps, output folders and overrides behave as in any Hydra app)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

from snnq.experiment.paths import check_recipe, config_root


def train(overrides: Sequence[str]) -> int:
    """Runs ``snnq train [overrides]`` (``recipe=<paper>/<setting>``, ``key=value``, ``-m`` for a sweep)."""
    import hydra
    from hydra.core.hydra_config import HydraConfig

    root = config_root()
    for item in overrides:
        if item.startswith("recipe="):
            for name in item.split("=", 1)[1].split(","):  # a sweep may list several
                check_recipe(name, root)

    def task(cfg: Any) -> None:
        from snnq.experiment.pipeline import run

        results = run(cfg, HydraConfig.get().runtime.output_dir)
        print(summary_line(results))

    argv = sys.argv
    sys.argv = ["snnq train", *overrides]
    try:
        hydra.main(version_base="1.3", config_path=str(root / "conf"), config_name="config")(task)()
    finally:
        sys.argv = argv
    return 0


def summary_line(results: dict[str, Any]) -> str:
    metrics = results.get("metrics", {})
    parts = [f"recipe {results.get('recipe')}"]
    for key in ("float_accuracy", "quantized_accuracy", "snn_accuracy"):
        if metrics.get(key) is not None:
            parts.append(f"{key.replace('_', ' ')} {100 * metrics[key]:.2f} %")
    if metrics.get("logit_mismatches") is not None:
        parts.append(f"mismatching logits {metrics['logit_mismatches']}")
    for row in results.get("paper", []):
        if row.get("gap") is not None:
            verdict = {True: "within tolerance", False: "outside tolerance", None: ""}[row.get("within_tolerance")]
            parts.append(f"paper {row['metric']} {row['value']} (gap {row['gap']:+.2f}, {verdict})")
    return "; ".join(parts)
