"""``snnq leaderboard``: every run's ``results.json`` in one table beside the papers' figures, with plots.

Each expected figure shows its own verdict, and a run's verdict is ``pass`` only when every figure passes
(`snnq.experiment.verdicts`; ``failed`` when its integer network or hardware report failed). Read on a sweep's
directory, it shows the sweep whole: every job in the table, including those that failed before training (from
``failed_jobs.jsonl``, `snnq.experiment.failed_jobs`); the accuracy-energy Pareto front across the jobs
(``accuracy_vs_energy.png``, and a ``pareto`` flag per row of ``leaderboard.json``: true on the front, false
dominated, null for a job without an energy figure, whose reason ``no_energy`` gives); and the failed jobs with
their reasons. The front is `snnq.hardware.pareto.non_dominated` over (accuracy up, energy per image down),
among the jobs of the same dataset."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from snnq.experiment import failed_jobs
from snnq.experiment.results import atomic_write_text, read_results, write_json
from snnq.experiment.verdicts import FAIL, FAILED, PASS, failures, figure_verdicts, run_verdict
from snnq.hardware.pareto import job_overrides, non_dominated

COLUMNS = (
    ("recipe", "recipe"), ("dataset", "data"), ("model", "model"), ("weights", "weights"), ("activations", "activations"),
    ("converter", "converter"), ("steps", "T"), ("float_accuracy", "float ANN %"), ("quantized_accuracy", "quant. ANN %"),
    ("snn_accuracy", "SNN %"), ("logit_mismatches", "mismatches"), ("figures", "expected figures, each with its verdict"), ("verdict", "verdict"),
    ("failures", "failed steps"),
    ("energy", "energy/img (J)"), ("latency", "latency/img (s)"),
)


ENERGY_PLOT = "accuracy_vs_energy.png"
IGNORED_OVERRIDES = ("runs_dir",)
"""Overrides that say where a job wrote, not what it ran (left out of its label)."""


def collect(runs_dir: str | Path) -> list[dict[str, Any]]:
    """Leaderboard rows, one per ``results.json`` below ``runs_dir`` and one per job recorded in a
    ``failed_jobs.jsonl`` there (`failed_row`), with their ``pareto`` flags (`mark_pareto`); sorted by recipe,
    then path."""
    rows = []
    for path in sorted(Path(runs_dir).rglob("results.json")):
        results = read_results(path)
        rows.append(row_of(results, path.parent))
    rows.extend(failed_row(entry) for entry in failed_jobs.read(runs_dir))
    mark_pareto(rows)
    return sorted(rows, key=lambda r: (str(r["recipe"]), str(r["run"])))


def _overrides(items: list[str]) -> dict[str, str]:
    pairs = (str(item).partition("=") for item in items)
    return {key.lstrip("+~"): value for key, _, value in pairs if key.lstrip("+~") not in IGNORED_OVERRIDES}


def failed_row(entry: dict[str, Any]) -> dict[str, Any]:
    """The row of a sweep job that failed before training (a `snnq.experiment.failed_jobs` record): verdict
    ``failed``, its error under ``failures``, ``failed_before_training`` true, nothing measured."""
    overrides = _overrides(entry["overrides"])
    return {
        **{key: None for key, _ in COLUMNS},
        "run": entry["run"], "recipe": overrides.get("recipe"), "verdict": FAILED,
        "failures": f"before training: {entry['error']}", "figure_verdicts": [], "sweep": {},
        "overrides": overrides, "failed_before_training": True, "no_energy": "the job failed before training",
    }


def _no_energy(results: dict[str, Any], row: dict[str, Any]) -> str | None:
    """Why the run has no point on the accuracy-energy plot, or None when it has one."""
    if row["verdict"] == FAILED:
        return "the job failed (see the failed jobs)"
    if row["energy"] is None:
        hardware = results.get("hardware")
        if isinstance(hardware, dict) and hardware.get("reason"):
            return f"no hardware report: {hardware['reason']}"
        return "no hardware report (the recipe names no hardware preset; add hardware=<preset>)"
    if _accuracy(row) is None:
        return "no accuracy measured"
    return None


def mark_pareto(rows: list[dict[str, Any]]) -> None:
    """Sets each row's ``pareto``: true when no other row of the same dataset has an accuracy at least as high
    and an energy per image at most as high, one of them strictly (`snnq.hardware.pareto.non_dominated`), false
    when one has, None when the row has no energy figure (``no_energy`` says why)."""
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        row["pareto"] = None
        if row.get("no_energy") is None:
            groups[str(row["dataset"])].append(row)
    for group in groups.values():
        front = set(non_dominated([[_accuracy(row), row["energy"]] for row in group], ["max", "min"]))
        for index, row in enumerate(group):
            row["pareto"] = index in front


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
    """The run's leaderboard row: ``figures`` (every expected figure with its own verdict, one text), ``verdict``
    (``pass`` only when every figure passes), ``failures`` (the steps that failed), ``figure_verdicts`` (the
    figures as `figure_verdicts` gives them) and the run's settings and measurements."""
    metrics = results.get("metrics", {})
    quant = results.get("quantizers") or {}
    figures = figure_verdicts(results)
    failed = failures(results)
    hardware = results.get("hardware") or {}
    dataset = results.get("dataset", {})
    row = {
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
        "figures": "; ".join(figure["text"] for figure in figures) or None,
        "verdict": run_verdict(results),
        "failures": "; ".join(f"{f['step']}: {f['reason']}" for f in failed) or None,
        "figure_verdicts": figures,
        "energy": _round((hardware.get("totals") or {}).get("energy_j")),
        "latency": _round((hardware.get("totals") or {}).get("latency_s")),
        "sweep": {"weight_bits": (quant.get("weight") or {}).get("bits"), "activation": (quant.get("activation") or {}).get("bits") or (quant.get("activation") or {}).get("levels")},
        "overrides": _overrides([f"{k}={v}" for k, v in (job_overrides(run) or {}).items()]),
        "failed_before_training": False,
    }
    row["no_energy"] = _no_energy(results, row)
    return row


def _job(row: dict[str, Any]) -> str:
    """The job for people: its recipe and its folder's name (in a sweep, the job's overrides)."""
    return f"{row['recipe']}: {Path(str(row['run'])).name}"


def markdown(rows: list[dict[str, Any]]) -> str:
    """The table of every row, then the accuracy-energy section (`energy_section`) and the failed jobs
    (`failed_section`)."""
    lines = ["# Leaderboard", "", "Every run's results beside the paper it reproduces (CIFAR-10 runs on the JPEG copy say so in the data column).", ""]
    lines.append("| " + " | ".join(title for _, title in COLUMNS) + " |")
    lines.append("|" + " --- |" * len(COLUMNS))
    for row in rows:
        lines.append("| " + " | ".join("-" if row.get(key) is None else str(row[key]) for key, _ in COLUMNS) + " |")
    return "\n".join([*lines, "", *energy_section(rows), "", *failed_section(rows)]) + "\n"


def energy_section(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: the jobs with an accuracy and an energy figure, whether each is on the Pareto front, and
    the jobs without an energy figure with the reason."""
    placed = [row for row in rows if row.get("pareto") is not None]
    lines = ["## Accuracy against energy", "",
             f"`{ENERGY_PLOT}`; on the Pareto front: no other job of the same dataset is at least as accurate for at most "
             "the energy per image (and better in one).", ""]
    if placed:
        lines += ["| job | data | accuracy % | energy/img (J) | Pareto front |", "| --- | --- | --- | --- | --- |"]
        for row in sorted(placed, key=lambda r: (str(r["dataset"]), r["energy"])):
            lines.append(f"| {_job(row)} | {row['dataset']} | {_accuracy(row)} | {row['energy']} | {'yes' if row['pareto'] else 'no'} |")
    else:
        lines.append("No job has both an accuracy and an energy figure.")
    missing = [row for row in rows if row.get("pareto") is None and not row.get("failed_before_training") and row.get("verdict") != FAILED]
    if missing:
        lines += ["", "Without an energy figure:", *(f"- {_job(row)}: {row.get('no_energy')}" for row in missing)]
    return lines


def failed_section(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines: every failed job with its reason (a failed step of its run, or its error before training)."""
    failed = [row for row in rows if row.get("verdict") == FAILED]
    if not failed:
        return ["## Failed jobs", "", "None."]
    lines = ["## Failed jobs", ""]
    for row in failed:
        if row.get("failed_before_training"):
            overrides = " ".join(f"{k}={v}" for k, v in row["overrides"].items())
            lines.append(f"- {_job(row)}: {row['failures']} (overrides: {overrides})")
        else:
            lines.append(f"- {_job(row)}: {row['failures']}")
    return lines


def _accuracy(row: dict[str, Any]) -> float | None:
    return row["snn_accuracy"] if row["snn_accuracy"] is not None else row["quantized_accuracy"]


def _accuracy_figures(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's expected accuracies (in %) that have a paper value and were measured: the points of the plot."""
    return [
        f for f in row["figure_verdicts"]
        if str(f["metric"]).endswith("accuracy") and f["unit"] == "%" and all(isinstance(f[k], (int, float)) for k in ("expected", "measured"))
    ]


def plot(rows: list[dict[str, Any]], directory: Path) -> list[Path]:
    """``accuracy_vs_paper.png`` and ``accuracy_vs_steps.png`` (one line per recipe with several T or bit widths)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    compared = [(row, f) for row in rows for f in _accuracy_figures(row)]
    figure, axes = plt.subplots(figsize=(5, 5), dpi=120)
    for row, accuracy in compared:
        axes.scatter(accuracy["expected"], accuracy["measured"], color={PASS: "tab:green", FAIL: "tab:red"}.get(accuracy["verdict"], "tab:grey"))
        axes.annotate(str(row["recipe"]), (accuracy["expected"], accuracy["measured"]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if compared:
        low = min(min(f["expected"], f["measured"]) for _, f in compared) - 1
        axes.plot([low, 100], [low, 100], color="grey", linestyle="--", linewidth=0.8)
    axes.set_xlabel("paper (%)")
    axes.set_ylabel("ours (%)")
    axes.set_title("accuracy against the paper (green: this figure passes)")
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
    written.append(plot_energy(rows, directory / ENERGY_PLOT))
    return written


def _varying(rows: list[dict[str, Any]]) -> list[str]:
    """The override keys whose value differs between ``rows`` (what tells their jobs apart)."""
    keys = sorted({key for row in rows for key in row.get("overrides") or {}})
    return [key for key in keys if len({(row.get("overrides") or {}).get(key) for row in rows}) > 1]


def plot_energy(rows: list[dict[str, Any]], path: Path) -> Path:
    """Accuracy against energy per image: every job with both figures, one colour per dataset, its Pareto front
    joined and labelled by the overrides that vary; the title counts the jobs without an energy figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        if row.get("pareto") is not None:
            groups[str(row["dataset"])].append(row)
    figure, axes = plt.subplots(figsize=(6.8, 4.6), dpi=120)
    for index, (dataset, group) in enumerate(sorted(groups.items())):
        colour = f"C{index}"
        dominated = [row for row in group if not row["pareto"]]
        front = sorted((row for row in group if row["pareto"]), key=lambda r: r["energy"])
        if dominated:
            axes.scatter([r["energy"] for r in dominated], [_accuracy(r) for r in dominated], s=22, color=colour, alpha=0.4,
                         label=f"{dataset}: dominated ({len(dominated)})")
        axes.plot([r["energy"] for r in front], [_accuracy(r) for r in front], "o-", color=colour, label=f"{dataset}: Pareto front ({len(front)})")
        keys = _varying(group)
        for row in front:
            text = ", ".join(f"{k}={row['overrides'].get(k)}" for k in keys) or Path(str(row["run"])).name
            axes.annotate(text, (row["energy"], _accuracy(row)), fontsize=6, xytext=(3, 3), textcoords="offset points")
    energies = [row["energy"] for group in groups.values() for row in group]
    if energies and min(energies) > 0 and max(energies) / min(energies) > 10:
        axes.set_xscale("log")
    if not energies:
        axes.text(0.5, 0.5, "no job has both an accuracy and an energy figure", ha="center", va="center", transform=axes.transAxes)
    failed = sum(1 for row in rows if row.get("verdict") == FAILED)
    missing = sum(1 for row in rows if row.get("pareto") is None) - failed
    axes.set_xlabel("energy per image (J)")
    axes.set_ylabel("accuracy (%)")
    axes.set_title(f"accuracy against energy: {len(energies)} jobs; not shown: {failed} failed, {missing} without an energy figure "
                   "(LEADERBOARD.md says why)", fontsize=8)
    axes.grid(alpha=0.3)
    if groups:
        axes.legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def write_leaderboard(runs_dir: str | Path) -> tuple[list[dict[str, Any]], list[Path]]:
    """Writes ``LEADERBOARD.md``, ``leaderboard.json`` and the plots into ``runs_dir``; returns the rows and files."""
    directory = Path(runs_dir)
    rows = collect(directory)
    atomic_write_text(directory / "LEADERBOARD.md", markdown(rows))
    write_json(directory / "leaderboard.json", rows)
    return rows, [directory / "LEADERBOARD.md", directory / "leaderboard.json", *plot(rows, directory)]
