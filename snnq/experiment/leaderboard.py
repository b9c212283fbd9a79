"""``snnq leaderboard``: every run's ``results.json`` in one table beside the papers' figures, with plots."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from snnq.experiment.results import atomic_write_text, read_results, write_json

COLUMNS = (
    ("recipe", "recipe"), ("dataset", "data"), ("model", "model"), ("weights", "weights"), ("activations", "activations"),
    ("converter", "converter"), ("steps", "T"), ("float_accuracy", "float ANN %"), ("quantized_accuracy", "quant. ANN %"),
    ("snn_accuracy", "SNN %"), ("logit_mismatches", "mismatches"), ("paper", "paper"), ("gap", "gap"), ("verdict", "within tol."),
    ("energy", "energy/img (J)"), ("latency", "latency/img (s)"),
)


def collect(runs_dir: str | Path) -> list[dict[str, Any]]:
    """Leaderboard rows, one per ``results.json`` below ``runs_dir`` (sorted by recipe, then path)."""
    rows = []
    for path in sorted(Path(runs_dir).rglob("results.json")):
        results = read_results(path)
        rows.append(row_of(results, path.parent))
    return sorted(rows, key=lambda r: (str(r["recipe"]), str(r["run"])))


def _bits(spec: Any) -> str:
    if not isinstance(spec, dict):
        return "float"
    name = spec.get("name", "?")
    for key in ("bits", "levels"):
        if key in spec:
            return f"{name} {spec[key]}{'b' if key == 'bits' else ' levels'}"
    return str(name)


def _round(value: Any) -> float | None:
    return None if value is None else float(f"{value:.4g}")


def _percent(value: Any) -> float | None:
    return None if value is None else round(100 * value, 2)


def row_of(results: dict[str, Any], run: Path) -> dict[str, Any]:
    metrics = results.get("metrics", {})
    quant = results.get("quantizers") or {}
    comparison = results.get("paper") or []
    first = comparison[0] if comparison else {}
    hardware = results.get("hardware") or {}
    dataset = results.get("dataset", {})
    return {
        "run": str(run),
        "recipe": results.get("recipe"),
        "dataset": f"{dataset.get('name')} ({dataset.get('source')})" if dataset.get("source") else dataset.get("name"),
        "model": (results.get("model") or {}).get("name"),
        "weights": _bits(quant.get("weight")),
        "activations": _bits(quant.get("activation")),
        "converter": (results.get("converter") or {}).get("method"),
        "steps": results.get("steps"),
        "float_accuracy": _percent(metrics.get("float_accuracy")),
        "quantized_accuracy": _percent(metrics.get("quantized_accuracy")),
        "snn_accuracy": _percent(metrics.get("snn_accuracy")),
        "logit_mismatches": metrics.get("logit_mismatches"),
        "paper": first.get("value"),
        "paper_metric": first.get("metric"),
        "gap": None if first.get("gap") is None else round(first["gap"], 2),
        "verdict": {True: "yes", False: "no", None: "-"}[first.get("within_tolerance")],
        "energy": _round((hardware.get("totals") or {}).get("energy_j")),
        "latency": _round((hardware.get("totals") or {}).get("latency_s")),
        "sweep": {"weight_bits": (quant.get("weight") or {}).get("bits"), "activation": (quant.get("activation") or {}).get("bits") or (quant.get("activation") or {}).get("levels")},
    }


def markdown(rows: list[dict[str, Any]]) -> str:
    lines = ["# Leaderboard", "", "Every run's results beside the paper it reproduces (CIFAR-10 runs on the JPEG copy say so in the data column).", ""]
    lines.append("| " + " | ".join(title for _, title in COLUMNS) + " |")
    lines.append("|" + " --- |" * len(COLUMNS))
    for row in rows:
        lines.append("| " + " | ".join("-" if row.get(key) is None else str(row[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def _accuracy(row: dict[str, Any]) -> float | None:
    return row["snn_accuracy"] if row["snn_accuracy"] is not None else row["quantized_accuracy"]


def plot(rows: list[dict[str, Any]], directory: Path) -> list[Path]:
    """``accuracy_vs_paper.png`` and ``accuracy_vs_steps.png`` (one line per recipe with several T or bit widths)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    compared = [r for r in rows if isinstance(r.get("paper"), (int, float)) and str(r.get("paper_metric", "")).endswith("accuracy") and _accuracy(r) is not None]
    figure, axes = plt.subplots(figsize=(5, 5), dpi=120)
    for row in compared:
        colour = {"yes": "tab:green", "no": "tab:red"}.get(row["verdict"], "tab:grey")
        axes.scatter(row["paper"], _accuracy(row), color=colour)
        axes.annotate(str(row["recipe"]), (row["paper"], _accuracy(row)), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if compared:
        low = min(min(r["paper"], _accuracy(r)) for r in compared) - 1
        axes.plot([low, 100], [low, 100], color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("paper (%)")
    axes.set_ylabel("ours (%)")
    axes.set_title("accuracy against the paper (green: within tolerance)")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    path = directory / "accuracy_vs_paper.png"
    figure.savefig(path)
    plt.close(figure)
    written.append(path)

    series: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for row in rows:
        accuracy = _accuracy(row)
        x = row["steps"] if row["steps"] else row["sweep"].get("weight_bits")
        if accuracy is not None and isinstance(x, (int, float)):
            series[str(row["recipe"])].append((x, accuracy))
    figure, axes = plt.subplots(figsize=(6, 4), dpi=120)
    for recipe, points in sorted(series.items()):
        points.sort()
        axes.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=recipe)
    axes.set_xlabel("time steps T (or weight bits)")
    axes.set_ylabel("accuracy (%)")
    axes.set_title("accuracy against T or bits")
    axes.grid(alpha=0.3)
    if series:
        axes.legend(fontsize=6)
    figure.tight_layout()
    path = directory / "accuracy_vs_steps.png"
    figure.savefig(path)
    plt.close(figure)
    written.append(path)
    return written


def write_leaderboard(runs_dir: str | Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """Writes ``LEADERBOARD.md``, ``leaderboard.json`` and the plots into ``runs_dir``; returns the rows and files."""
    directory = Path(runs_dir)
    rows = collect(directory)
    atomic_write_text(directory / "LEADERBOARD.md", markdown(rows))
    write_json(directory / "leaderboard.json", rows)
    return rows, [directory / "LEADERBOARD.md", directory / "leaderboard.json", *plot(rows, directory)]
