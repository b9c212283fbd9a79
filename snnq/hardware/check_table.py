"""The preset checks' results as rows: a printed table with a summary line, and a JSON file.

Every row says the published figure, the modelled one, the relative error on the figure's quantity, the role
(`snnq.hardware.presets.ROLES`: fitted / derived / predicted / no published figure), the tolerance and the status,
and a note built from the preset's data: the row's own note, the constants fitted to or computed from its figure,
and every assumption made with the published figures in view, with what the row would model without it. The
summary counts only real predictions (role ``predicted`` with a published figure); fitted and derived rows and
rows without a published figure are listed but not counted.

`check_rows` and `check_summary` give plain data; `format_checks` prints it; `write_checks_json` saves
``{"command", "date", "roles", "rows", "summary"}`` atomically (recipes/results/presets_check.json, which
recipes/RESULTS.md is rendered from).
"""

from __future__ import annotations

import datetime
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from snnq.hardware.check import CheckResult
from snnq.hardware.figures import FIGURES
from snnq.hardware.presets import ROLES

COMMAND = "snnq hw presets --check"


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _percent(error: float) -> str:
    return f"{100 * error:+.1f} %"


def _tolerance_text(result: CheckResult) -> str:
    if result.tolerance is None:
        return "-"
    if result.check.relation == "at_least":
        return "bound, no slack"
    return f"+-{100 * result.tolerance:.0f} %"


def _note(result: CheckResult) -> str:
    """The row's note: its own words, the constants fitted to or computed from it, the target choices' effect."""
    unit = FIGURES[result.check.figure].unit
    parts = [result.check.note.strip()] if result.check.note.strip() else []
    if result.fitted_here:
        parts.append("fitted to this figure: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in result.fitted_here))
    if result.derived_here:
        parts.append("computed from this figure: " + ", ".join(f"{k} = {_fmt(v)}" for k, v in result.derived_here))
    for effect in result.target_effects:
        choice = effect.choice
        without = f"{_fmt(effect.modelled)} {unit}"
        error = result.error_of(effect.modelled)
        if error is not None:
            without += f", {_percent(error)}, {result.status_of(effect.modelled)}"
        refit = "fits re-run" if effect.refitted else "no fit reaches its figure with it: stored fitted constants kept"
        parts.append(f"assumed with the target in view: {choice.param} = {_fmt(effect.stored)} ({choice.why}); "
                     f"with {_fmt(choice.alternative)}: {without} ({refit})")
    return "; ".join(parts)


def check_rows(results: Sequence[CheckResult]) -> list[dict[str, Any]]:
    """One plain mapping per result: preset, check, network, figure, quantity, published, modelled, unit, error,
    relation, role, tolerance, status, note, source (``published``, ``error`` and ``tolerance`` None when the paper
    gives no such figure)."""
    rows = []
    for r in results:
        figure = FIGURES[r.check.figure]
        rows.append({
            "preset": r.preset, "check": r.check.id, "network": r.network, "figure": r.check.figure, "quantity": figure.description,
            "published": r.published, "modelled": r.modelled, "unit": figure.unit, "error": r.error, "relation": r.check.relation,
            "role": ROLES[r.check.role].label, "tolerance": r.tolerance, "status": r.status, "note": _note(r), "source": r.check.source,
        })
    return rows


def check_summary(results: Sequence[CheckResult]) -> dict[str, Any]:
    """Counts: predicted rows compared and within tolerance (and how many of those pass only with a target choice);
    the rows not counted, by role; the rows outside tolerance; the command's exit status (1 when any row fails)."""
    predicted = [r for r in results if r.counted]
    within = [r for r in predicted if r.passed]
    leaning = [r for r in within if r.passes_only_with_target_choices]
    not_counted = {label: sum(1 for r in results if not r.counted and ROLES[r.check.role].label == label)
                   for label in (role.label for role in ROLES.values() if not role.counted)}
    failed = [r for r in results if r.failed]
    line = (f"predicted figures within tolerance: {len(within)} of {len(predicted)}"
            + (f" ({len(leaning)} of them only with an assumption chosen with the target in view)" if leaning else "")
            + "; not counted: " + ", ".join(f"{label} {n}" for label, n in not_counted.items()))
    return {
        "line": line,
        "predicted": len(predicted),
        "predicted_within_tolerance": len(within),
        "predicted_within_tolerance_only_with_target_choices": len(leaning),
        "not_counted": not_counted,
        "outside_tolerance": [f"{r.preset} {r.check.id}" for r in failed],
        "exit_status": 1 if failed else 0,
    }


def format_checks(results: Sequence[CheckResult]) -> str:
    """A fixed-width table (preset, check, quantity, published, modelled, error, role, tolerance, status), each row's
    note on the line below it, the roles' legend and the summary line."""
    header = ("preset", "check", "quantity", "published", "modelled", "error", "role", "tolerance", "status")
    table = []
    for r, row in zip(results, check_rows(results)):
        unit = row["unit"]
        if r.published is None:
            published = "no published figure"
        else:
            published = f"{'>= ' if r.check.relation == 'at_least' else ''}{_fmt(r.published)} {unit}"
        error = "-" if r.error is None else _percent(r.error)
        table.append(((r.preset, r.check.id, row["quantity"], published, f"{_fmt(r.modelled)} {unit}", error, row["role"],
                       _tolerance_text(r), r.status), row["note"]))
    widths = [max(len(str(x)) for x in column) for column in zip(header, *(cells for cells, _ in table))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(str(x).ljust(w) for x, w in zip(cells, widths)).rstrip()

    lines = [line(header)]
    for cells, note in table:
        lines.append(line(cells))
        if note:
            lines.append(f"    note: {note}")
    summary = check_summary(results)
    lines.append("")
    lines.extend(f"{role.label}: {role.meaning}" + ("" if role.tolerance is None else f" (+-{100 * role.tolerance:.0f} %)")
                 + ("; counted as a prediction" if role.counted else "; not counted") for role in ROLES.values())
    lines.append("'>=' rows: a bound the paper states ('more than'), passed only when reached (no slack)")
    lines.append("")
    lines.append(summary["line"])
    for r in results:
        if r.failed:
            unit = FIGURES[r.check.figure].unit
            lines.append(f"outside tolerance: {r.preset} {r.check.id}: modelled {_fmt(r.modelled)} {unit} against "
                         f"{'>= ' if r.check.relation == 'at_least' else ''}{_fmt(r.published or 0.0)} {unit} ({_percent(r.error or 0.0)})")
    return "\n".join(lines)


def write_checks_json(results: Sequence[CheckResult], path: str | os.PathLike[str], *, command: str = COMMAND) -> Path:
    """Writes the rows, the summary and the roles' legend to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    data = {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "roles": {role.label: {"meaning": role.meaning, "tolerance": role.tolerance, "counted": role.counted} for role in ROLES.values()},
        "rows": check_rows(results),
        "summary": check_summary(results),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False, encoding="utf-8") as handle:
        json.dump(data, handle, indent=2)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(handle.name, path)
    return path
