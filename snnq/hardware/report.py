"""``snnq hw report``: a run directory's network evaluated on a preset, written as JSON, Markdown and PNG plots.

A run directory is any directory holding the network as ``network.ir.npz`` (`snnq.hardware.ir_io.IR_FILENAME`);
when it also holds ``hw_inputs.npz`` (``inputs``: integer spike trains ``[T, B, ...]``, ``labels``: ``[B]``),
crossbar presets also report the accuracy of the ideal and the non-ideal simulation. `write_report` writes:

- ``hardware.json``: the full report (totals, per-layer costs, accuracy, assumptions, provenance of the constants),
- ``hardware.md``: the same as tables,
- ``hardware_energy.png`` and ``hardware_latency.png``: per-layer bars; ``hardware_tiles.png``: the tile
  utilisation map (crossbar) or the resource use against the board (fpga),
- and adds ``{"hardware": {preset, backend, totals}}`` to ``results.json`` (created if missing).

Every file is written to a temporary name and moved into place with ``os.replace``.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from snnq.hardware.ir_io import load_ir
from snnq.hardware.presets import SOURCES, Preset, load_preset
from snnq.hardware.result import HardwareReport

INPUTS_FILENAME = "hw_inputs.npz"
"""Optional labelled inputs of a run directory (``inputs`` ``[T, B, ...]`` integers, ``labels`` ``[B]``)."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same directory and ``os.replace``."""
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def new_figure(size: tuple[float, float]) -> tuple[Any, Any]:
    """A matplotlib figure on an Agg canvas (no pyplot, no global backend switch) and its axes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=size, dpi=120)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def save_figure(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".png")
    os.close(handle)
    try:
        fig.savefig(tmp, format="png")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def plot_layer_energy(report: HardwareReport, path: Path) -> Path:
    """Stacked per-layer energy bars by component (uJ)."""
    fig, ax = new_figure((max(6.0, 0.45 * len(report.layers)), 4.2))
    names = [c.name for c in report.layers]
    bottom = np.zeros(len(names))
    components = sorted({k for c in report.layers for k in c.energy_j})
    for i, component in enumerate(components):
        values = np.array([c.energy_j.get(component, 0.0) * 1e6 for c in report.layers])
        ax.bar(names, values, bottom=bottom, label=component, color=f"C{i % 10}")
        bottom += values
    ax.set_ylabel("energy per inference (uJ)")
    ax.set_title(f"{report.network} on {report.preset or report.backend}: energy by layer", fontsize=9)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    ax.legend(fontsize=7)
    return save_figure(fig, path)


def plot_layer_latency(report: HardwareReport, path: Path) -> Path:
    """Per-layer latency bars (us)."""
    fig, ax = new_figure((max(6.0, 0.45 * len(report.layers)), 4.2))
    ax.bar([c.name for c in report.layers], [c.latency_s * 1e6 for c in report.layers], color="C0")
    ax.set_ylabel("latency per inference (us)")
    ax.set_title(f"{report.network} on {report.preset or report.backend}: latency by layer", fontsize=9)
    ax.tick_params(axis="x", rotation=90, labelsize=7)
    return save_figure(fig, path)


def plot_tiles(report: HardwareReport, path: Path) -> Path:
    """Crossbar: a grid of tiles coloured by the fraction of cells programmed; FPGA: resource use against the board."""
    fig, ax = new_figure((6.4, 4.8))
    details = report.details
    if "tile_cells" in details:
        cells = np.asarray(details["tile_cells"], dtype=np.float64) / (details["tile_rows"] * details["tile_cols"])
        side = math.ceil(math.sqrt(len(cells)))
        grid = np.full(side * side, np.nan)
        grid[: len(cells)] = cells
        image = ax.imshow(grid.reshape(side, side), vmin=0.0, vmax=1.0, cmap="viridis")
        fig.colorbar(image, ax=ax, label="programmed cells / tile cells")
        ax.set_title(f"tile utilisation: {int(report.total('tiles_used'))}/{int(report.total('tiles_total'))} tiles, "
                     f"{100 * report.total('utilisation'):.1f} % of their cells", fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    elif "resources" in details:
        board = details["board"]
        names = list(details["resources"])
        ax.bar(names, [details["resources"][n] / board[n] * 100 for n in names], color="C2")
        ax.axhline(100, color="C3", linestyle="--")
        ax.set_ylabel(f"% of {board['name']}")
        ax.set_title("FPGA resources", fontsize=9)
    else:
        ax.text(0.5, 0.5, "no tiles or resources in this backend", ha="center", va="center")
        ax.set_axis_off()
    return save_figure(fig, path)


def _markdown(report: HardwareReport, preset: Preset) -> str:
    t = report.totals
    lines = [f"# Hardware report: {report.network} on {preset.name} ({report.backend})", "", preset.description.strip(), "",
             f"Paper: {preset.paper}", "", "## Totals", "", "| quantity | value |", "| --- | --- |"]
    lines += [f"| {k} | {v:.6g} |" for k, v in t.items()]
    if report.accuracy:
        lines += ["", "## Accuracy (simulated)", "", "| quantity | value |", "| --- | --- |"]
        lines += [f"| {k} | {v:.6g} |" for k, v in report.accuracy.items()]
    lines += ["", "## Layers", "", "| layer | kind | cycles | latency (us) | energy (uJ) | tiles | utilisation |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for c in report.layers:
        util = "" if c.utilisation is None else f"{100 * c.utilisation:.1f} %"
        lines.append(f"| {c.name} | {c.kind} | {c.cycles:.4g} | {c.latency_s * 1e6:.4g} | {c.energy_total_j * 1e6:.4g} | {c.tiles} | {util} |")
    lines += ["", "## Assumptions", ""] + [f"- {a}" for a in report.assumptions or ("none",)]
    lines += ["", "## Where the constants come from", ""]
    for source in SOURCES:
        entries = getattr(preset.provenance, source)
        if entries:
            lines.append(f"**{source}**")
            lines.append("")
            lines += [f"- `{k}`: {v}" for k, v in entries.items()]
            lines.append("")
    return "\n".join(lines) + "\n"


def write_report(run_dir: str | os.PathLike[str], preset: Preset | str, *, seed: int = 0, update_results: bool = True) -> HardwareReport:
    """Evaluates the run directory's network on ``preset`` and writes the files listed in the module docstring.

    With ``update_results`` the run's ``results.json`` takes the new report with everything that depends on it
    (`snnq.experiment.results.with_hardware`: hardware metrics, comparison with the paper, verdict); with
    ``update_results=False`` it is left alone (a training run merges the report into its own results, written once
    at its end)."""
    run = Path(run_dir)
    preset = load_preset(preset) if isinstance(preset, str) else preset
    network = load_ir(run)
    backend = preset.backend_instance()
    kwargs: dict[str, Any] = {"seed": seed}
    inputs_file = run / INPUTS_FILENAME
    if inputs_file.is_file():
        with np.load(inputs_file, allow_pickle=False) as data:
            kwargs["inputs"] = data["inputs"]
            kwargs["labels"] = data["labels"] if "labels" in data.files else None
    report = backend.evaluate(network, **kwargs)
    document = report.to_dict()
    document["provenance"] = {s: dict(getattr(preset.provenance, s)) for s in SOURCES}
    atomic_write_bytes(run / "hardware.json", json.dumps(document, indent=2, sort_keys=True).encode())
    atomic_write_bytes(run / "hardware.md", _markdown(report, preset).encode())
    plot_layer_energy(report, run / "hardware_energy.png")
    plot_layer_latency(report, run / "hardware_latency.png")
    plot_tiles(report, run / "hardware_tiles.png")
    if update_results:  # the run's hardware metrics, comparison with the paper and verdict follow the new report
        from snnq.experiment.results import with_hardware, write_json

        results_path = run / "results.json"
        results = json.loads(results_path.read_text()) if results_path.is_file() else {}
        write_json(results_path, with_hardware(results, {**summary(report, preset), "written": True}))
    return report


def summary(report: HardwareReport, preset: Preset) -> dict[str, Any]:
    """What a run's ``results.json`` keeps of a hardware report."""
    return {"preset": preset.name, "backend": report.backend, "totals": dict(report.totals),
            "accuracy": dict(report.accuracy), "assumptions": list(report.assumptions)}
