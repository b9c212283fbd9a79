"""The sweep's record of its jobs that failed before training: ``<sweep_dir>/failed_jobs.jsonl``.

A sweep job that fails before training (a bad value such as ``quant.weight.bits=0``, a missing data folder)
leaves no run directory (`snnq.experiment.launch.discard_unstarted`), so nothing in the sweep's tree would say
it ran. `record` appends one JSON line per such job to the sweep directory: its folder name (Hydra's
``sweep.subdir``), its overrides, snnq's one-line error and when it failed. The line is written with one
``os.write`` on a file opened with ``O_APPEND``, so that the parallel workers of a joblib or submitit sweep never
interleave their lines. `read` gathers the records below a folder for ``snnq leaderboard``; a job that has a
``results.json`` written after its failure (the sweep was run again) is no longer listed as failed.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

FILENAME = "failed_jobs.jsonl"
RESULTS_FILENAME = "results.json"


def record(sweep_dir: str | os.PathLike[str], job: str, overrides: list[str], error: str) -> Path:
    """Appends ``{"job", "overrides", "error", "time"}`` as one line to ``<sweep_dir>/failed_jobs.jsonl`` (one
    ``os.write`` with ``O_APPEND``: safe against other processes appending at the same time); returns the file."""
    path = Path(sweep_dir) / FILENAME
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({"job": job, "overrides": list(overrides), "error": " ".join(str(error).split()), "time": time.time()})
    data = (line + "\n").encode()
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        written = os.write(handle, data)
        if written != len(data):  # a regular file takes the whole line at once; say so if it ever did not
            raise OSError(f"{path}: wrote {written} of {len(data)} bytes of a failed job's record")
    finally:
        os.close(handle)
    return path


def _parse(line: str, path: Path, number: int) -> dict[str, Any]:
    try:
        entry = json.loads(line)
        if not isinstance(entry, dict):
            raise ValueError("not a JSON object")
    except ValueError as error:
        return {"job": f"{path.name} line {number}", "overrides": [], "error": f"unreadable record ({error})", "time": None}
    return {"job": str(entry.get("job")), "overrides": [str(o) for o in entry.get("overrides") or []],
            "error": str(entry.get("error") or "no reason recorded"), "time": entry.get("time")}


def read(root: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every job recorded in a ``failed_jobs.jsonl`` at or below ``root``, the latest record per job, each with
    ``sweep_dir`` (the folder of its file) and ``run`` (the job's folder, which it did not leave); a job whose
    folder holds a ``results.json`` newer than its record ran since and is left out. Sorted by run."""
    latest: dict[str, dict[str, Any]] = {}
    for path in sorted(Path(root).rglob(FILENAME)):
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            if not line.strip():
                continue
            entry = {**_parse(line, path, number), "sweep_dir": str(path.parent)}
            entry["run"] = str(path.parent / entry["job"])
            previous = latest.get(entry["run"])
            if previous is None or (entry["time"] or 0) >= (previous["time"] or 0):
                latest[entry["run"]] = entry
    kept = []
    for entry in latest.values():
        results = Path(entry["run"]) / RESULTS_FILENAME
        if results.is_file() and results.stat().st_mtime >= (entry["time"] or 0):
            continue  # the job ran again and wrote its results
        kept.append(entry)
    return sorted(kept, key=lambda e: e["run"])
