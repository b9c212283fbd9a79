"""What a benchmark run writes: its measurements as one JSON file, ``bench/results/<bench>/<date>-<tag>.json``.

A run file holds raw measurements only (median and per-round times in ms, counts, accuracies), never a ratio:
`bench.render` computes every ratio from the stored times when it writes ``bench/RESULTS.md``. The fields::

    bench, date, tag, source ("measured" or "transcribed from ..."), command, device, environment, note (optional),
    tables: a list, each {"kind": ..., "title": ...} and the kind's own fields (`bench.render.TABLE_KINDS`):
      timings          baseline, times_ms {name: median ms}, samples_ms {name: [ms per round]} (optional),
                       targets {name: {"at_most" | "at_least": ratio to the baseline}} (optional),
                       bytes {name: bytes moved per call} (optional: the renderer gives the bandwidth)
      records          columns [title, ...], rows [[value, ...], ...]: counts, accuracies, seconds
      recorded_ratios  columns, rows: ratios transcribed from an old RESULTS.md whose times were not kept
"""

from __future__ import annotations

import json
import statistics
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"


class ResultsError(ValueError):
    """A results file that cannot be read or lacks what the renderer needs; the message names the file."""


def paired_ratio(table: dict[str, Any], name: str) -> float:
    """``name``'s time over the table's baseline's: the median of the per-round ratios where every round's
    samples were kept (the two ran back to back, so drift between rounds cancels), else the ratio of the medians."""
    baseline = table["baseline"]
    samples = table.get("samples_ms") or {}
    if name in samples and baseline in samples:
        return statistics.median(a / b for a, b in zip(samples[name], samples[baseline]))
    return table["times_ms"][name] / table["times_ms"][baseline]


def load_run(path: Path) -> dict[str, Any]:
    """The run stored in ``path``; `ResultsError` naming the file if it is missing or not a JSON object."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ResultsError(f"{path}: no such results file") from None
    except json.JSONDecodeError as error:
        raise ResultsError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data


class RunRecord:
    """One benchmark run's measurements, gathered by the benchmark and written as JSON (`write`)."""

    def __init__(self, bench: str, *, command: str | None = None):
        from bench.harness import device_name, environment

        now = datetime.now(timezone.utc)
        self.data: dict[str, Any] = {
            "bench": bench,
            "date": now.strftime("%Y-%m-%d"),
            "tag": f"{now.strftime('%H%M%S')}-{'cuda' if 'CPU' not in device_name() else 'cpu'}",
            "source": "measured",
            "command": command or f"python -m bench {bench}",
            "device": device_name(),
            "environment": environment(),
            "tables": [],
        }

    def timings(self, title: str, times: Any, baseline: str, *, targets: dict | None = None, bytes_moved: dict | None = None) -> None:
        """A table of `bench.harness.Timings`: median and per-round milliseconds, ratios left to the renderer."""
        table = {"kind": "timings", "title": title, "baseline": baseline, "times_ms": dict(times), "samples_ms": times.samples}
        if targets:
            table["targets"] = targets
        if bytes_moved:
            table["bytes"] = bytes_moved
        self.data["tables"].append(table)

    def records(self, title: str, columns: list[str], rows: list[list[Any]]) -> None:
        """A table of measured values (counts, accuracies, seconds), one list per row."""
        self.data["tables"].append({"kind": "records", "title": title, "columns": columns, "rows": rows})

    def write(self, directory: Path = RESULTS) -> Path:
        """Writes ``<directory>/<bench>/<date>-<tag>.json`` (a new file per run: runs accumulate) and returns it."""
        path = Path(directory) / self.data["bench"] / f"{self.data['date']}-{self.data['tag']}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.data, indent=1) + "\n")
        return path
