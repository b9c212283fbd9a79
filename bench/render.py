"""``python -m bench render``: writes ``bench/RESULTS.md`` and ``recipes/RESULTS.md`` from their results files.

Each document is its template (``RESULTS.template.md`` beside it: short hand-written prose) with every line of
the form ``{{ directive argument }}`` replaced by tables rendered from JSON (`DIRECTIVES`):

- ``{{ runs BENCH }}``: every run file ``bench/results/BENCH/*.json`` (`bench.record`), oldest first;
- ``{{ recipe_runs }}``: the ``results.json`` copies ``recipes/results/<paper>/<setting>.json``, each expected
  figure with its own verdict (`snnq.experiment.verdicts`);
- ``{{ recorded_recipe_runs }}``: ``recipes/results/recorded.json``, rows transcribed from before results were kept;
- ``{{ presets_check }}``: ``recipes/results/presets_check.json`` (``snnq hw presets --check``'s rows);
- ``{{ sweep NAME }}``: ``recipes/sweeps/NAME/leaderboard.json`` (``snnq leaderboard`` of a sweep's folder).

Every ratio is computed here from the stored times (`bench.record.paired_ratio`); nothing in a results file is a
ratio except the ``recorded_ratios`` tables transcribed from runs whose times were not kept, which say so.
``python -m bench render --check`` writes nothing and exits 1 when a committed document differs from its rendering.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.record import ResultsError, load_run, paired_ratio

ROOT = Path(__file__).resolve().parents[1]
DOCUMENTS = {"bench/RESULTS.md": "bench/RESULTS.template.md", "recipes/RESULTS.md": "recipes/RESULTS.template.md"}
"""Each rendered document (relative to the repository root) and the template it is rendered from."""
BENCH_RESULTS, RECIPE_RESULTS = "bench/results", "recipes/results"
RUN_FIELDS = ("bench", "date", "tag", "source", "command", "device", "tables")
DIRECTIVE = re.compile(r"^\{\{\s*(\w+)(?:\s+(\S+))?\s*\}\}$")
TARGETS = {"at_most": ("<=", lambda ratio, bound: ratio <= bound), "at_least": (">=", lambda ratio, bound: ratio >= bound)}
"""A timing target's relation: how it is written and whether a ratio meets it."""


def value(cell: Any) -> str:
    """A measured value as a table cell: ``-`` for none, integers as they are, other numbers to 6 digits, text on
    one line with its ``|`` escaped."""
    if cell is None:
        return "-"
    if isinstance(cell, float):
        return f"{cell:.6g}"
    return str(cell).replace("|", "\\|").replace("\n", " ")


def table(columns: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(columns) + " |", "|" + " --- |" * len(columns)]
    lines += ["| " + " | ".join(value(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _need(data: dict[str, Any], keys: tuple[str, ...], where: str) -> None:
    missing = [key for key in keys if key not in data]
    if missing:
        raise ResultsError(f"{where}: missing {', '.join(missing)}")


def timings_table(spec: dict[str, Any], where: str) -> str:
    """Median times, each row's ratio to the baseline (computed here), its bandwidth and target where given."""
    times, baseline, targets, moved = spec["times_ms"], spec["baseline"], spec.get("targets") or {}, spec.get("bytes") or {}
    unknown = [name for name in [baseline, *targets, *moved] if name not in times]
    if unknown:
        raise ResultsError(f"{where}: {', '.join(map(repr, unknown))} not among the timed rows {list(times)}")
    paired = all(name in (spec.get("samples_ms") or {}) for name in times)
    columns = ["implementation", "ms", f"ratio to {baseline}"] + ["TB/s"] * bool(moved) + ["target", "met"] * bool(targets)
    rows = []
    for name, ms in times.items():
        row = [name, f"{ms:.2f}", f"{paired_ratio(spec, name):.3f}"]
        if moved:
            row.append(f"{moved[name] / (ms / 1e3) / 1e12:.2f}" if name in moved else "")
        if targets:
            row += _target_cells(targets.get(name), paired_ratio(spec, name), f"{where}: target of {name!r}")
        rows.append(row)
    how = "the median of the per-round ratios (rounds in the run file)" if paired else "the ratio of the median times"
    return table(columns, rows) + f"\n\nRatios: {how}."


def _target_cells(target: dict[str, float] | None, ratio: float, where: str) -> list[str]:
    """The target and whether ``ratio`` meets it: ``["<= 1.15", "yes"]``; two empty cells for a row without one."""
    if target is None:
        return ["", ""]
    if len(target) != 1 or next(iter(target)) not in TARGETS:
        raise ResultsError(f"{where}: {target} is not one of {', '.join(TARGETS)} with a bound")
    ((relation, bound),) = target.items()
    sign, met = TARGETS[relation]
    return [f"{sign} {bound}", "yes" if met(ratio, bound) else "**no**"]


def records_table(spec: dict[str, Any], where: str) -> str:
    """Measured values as stored."""
    widths = {len(row) for row in spec["rows"]}
    if widths - {len(spec["columns"])}:
        raise ResultsError(f"{where}: rows of {sorted(widths)} cells under {len(spec['columns'])} columns")
    return table(spec["columns"], spec["rows"])


def recorded_ratios_table(spec: dict[str, Any], where: str) -> str:
    """Ratios transcribed from a run whose times were not kept: shown as recorded, marked as such."""
    return records_table(spec, where) + "\n\nRatios as recorded at the time; the times were not kept, so they are not recomputed."


@dataclass(frozen=True)
class TableKind:
    """A kind of table in a run file: the fields it needs and how it is rendered."""

    fields: tuple[str, ...]
    render: Callable[[dict[str, Any], str], str]


TABLE_KINDS = {
    "timings": TableKind(("title", "baseline", "times_ms"), timings_table),
    "records": TableKind(("title", "columns", "rows"), records_table),
    "recorded_ratios": TableKind(("title", "columns", "rows"), recorded_ratios_table),
}


def render_run(run: dict[str, Any], where: str) -> str:
    """One run: a heading with its date, tag and device, how it was produced, its note and its tables."""
    _need(run, RUN_FIELDS, where)
    meta = [f"`{run['command']}`", f"source: {run['source']}"] + ([run["environment"]] if run.get("environment") else [])
    parts = [f"### {run['bench']}, {run['date']} {run['tag']}: {run['device']}", "; ".join(meta)]
    if run.get("note"):
        parts.append(run["note"])
    for index, spec in enumerate(run["tables"]):
        place = f"{where}: table {index} ({spec.get('title', 'untitled')})"
        kind = TABLE_KINDS.get(spec.get("kind"))
        if kind is None:
            raise ResultsError(f"{place}: kind {spec.get('kind')!r} is not one of {list(TABLE_KINDS)}")
        _need(spec, kind.fields, place)
        parts += [f"#### {spec['title']}", kind.render(spec, place)]
    return "\n\n".join(parts)


def bench_runs(root: Path, bench: str) -> str:
    """``{{ runs BENCH }}``: every run file of ``bench``, oldest first (file names start with the date)."""
    files = sorted((root / BENCH_RESULTS / bench).glob("*.json"))
    if not files:
        raise ResultsError(f"{root / BENCH_RESULTS / bench}: no run files (*.json) for {{{{ runs {bench} }}}}")
    return "\n\n".join(render_run(load_run(path), str(path)) for path in files)


def _percent(fraction: Any) -> str:
    return "-" if fraction is None else f"{100 * fraction:.2f} %"


def _minutes(seconds: Any) -> str:
    return "-" if seconds is None else f"{int(seconds // 60)} min {round(seconds % 60)} s"


def recipe_runs(root: Path, _: str | None = None) -> str:
    """``{{ recipe_runs }}``: one row per committed run, then one row per expected figure with its own verdict."""
    from snnq.experiment.verdicts import figure_verdicts, quantity, run_verdict

    files = sorted((root / RECIPE_RESULTS).glob("*/*.json"))
    if not files:
        return "No run's results.json has been committed under recipes/results/ yet."
    runs, figures = [], []
    for path in files:
        results = load_run(path)
        _need(results, ("recipe", "metrics", "paper"), str(path))
        metrics, dataset, environment = results["metrics"], results.get("dataset") or {}, results.get("environment") or {}
        samples = dataset.get("samples")
        runs.append([
            results["recipe"], environment.get("device"), (results.get("training") or {}).get("processes", 1), f"{dataset.get('name')}, {samples:,} test samples" if samples else dataset.get("name"),
            _percent(metrics.get("float_accuracy")), _percent(metrics.get("quantized_accuracy")), _percent(metrics.get("snn_accuracy")),
            metrics.get("verify_mode", "window (before 2026-12-07)"), metrics.get("logit_mismatches"), metrics.get("accumulator_mismatches"),
            run_verdict(results), _minutes(environment.get("wall_time_s")), f"`{path.relative_to(root)}`",
        ])
        for figure in figure_verdicts(results):
            reference = next((v for v in (figure["expected"], figure["measured"]) if isinstance(v, (int, float)) and v), None)
            bounds = ", ".join(f"{key} {quantity(bound, figure['unit'], reference=reference)}" for key, bound in figure["bounds"].items())
            figures.append([
                results["recipe"], figure["quantity"], quantity(figure["measured"], figure["unit"], reference=reference),
                quantity(figure["expected"], figure["unit"], reference=reference), bounds or "-", figure["verdict"],
            ])
    return "\n\n".join([
        table(["recipe", "device", "processes", "data", "float", "quantized ANN", "SNN", "verified in", "outputs differing",
               "accumulator entries differing", "run verdict", "wall", "results"], runs),
        table(["recipe", "figure", "ours", "paper", "bounds", "verdict"], figures),
    ])


def recorded_recipe_runs(root: Path, _: str | None = None) -> str:
    """``{{ recorded_recipe_runs }}``: the transcribed tables of ``recipes/results/recorded.json``, leaving out the
    rows of recipes that now have a results file (their first cell is the recipe)."""
    path = root / RECIPE_RESULTS / "recorded.json"
    recorded = load_run(path)
    _need(recorded, ("source", "tables"), str(path))
    kept = {load_run(p).get("recipe") for p in (root / RECIPE_RESULTS).glob("*/*.json")}
    parts = [f"Source: {recorded['source']}."]
    for index, spec in enumerate(recorded["tables"]):
        place = f"{path}: table {index}"
        _need(spec, ("title", "columns", "rows"), place)
        rows = [row for row in spec["rows"] if row[0] not in kept]
        parts += [f"#### {spec['title']}", records_table({**spec, "rows": rows}, place)]
    return "\n\n".join(parts)


def _published(row: dict[str, Any]) -> str:
    if row["published"] is None:
        return "no published figure"
    return f"{'>= ' if row['relation'] == 'at_least' else ''}{row['published']:.4g} {row['unit']}"


def _tolerance(row: dict[str, Any]) -> str:
    if row["tolerance"] is None:
        return "-"
    return "bound, no slack" if row["relation"] == "at_least" else f"+-{100 * row['tolerance']:.0f} %"


PRESET_KEYS = ("preset", "check", "quantity", "published", "relation", "modelled", "unit", "error", "role", "tolerance", "status", "note")
"""The keys a row of ``snnq hw presets --check --json`` must have (`snnq.hardware.check_table.check_rows`)."""
PRESET_COLUMNS: dict[str, Callable[[dict[str, Any]], str]] = {
    "preset": lambda row: row["preset"],
    "check": lambda row: row["check"],
    "quantity": lambda row: row["quantity"],
    "published": _published,
    "modelled": lambda row: f"{row['modelled']:.4g} {row['unit']}",
    "error": lambda row: "-" if row["error"] is None else f"{100 * row['error']:+.1f} %",
    "role": lambda row: row["role"],
    "tolerance": _tolerance,
    "status": lambda row: row["status"],
    "note": lambda row: row["note"] or "",
}
"""Each column of the presets table and how a row's values are written in it (``error``, ``tolerance``: fractions)."""


def presets_check(root: Path, _: str | None = None) -> str:
    """``{{ presets_check }}``: ``recipes/results/presets_check.json`` (`snnq.hardware.check_table.write_checks_json`):
    the command and date, the rows, the roles' legend and the summary."""
    path = root / RECIPE_RESULTS / "presets_check.json"
    check = load_run(path)
    _need(check, ("command", "date", "roles", "rows", "summary"), str(path))
    for index, row in enumerate(check["rows"]):
        _need(row, PRESET_KEYS, f"{path}: row {index}")
    _need(check["summary"], ("line", "outside_tolerance"), f"{path}: summary")
    rows = [[write(row) for write in PRESET_COLUMNS.values()] for row in check["rows"]]
    roles = [f"- {label}: {role['meaning']}" + ("" if role.get("tolerance") is None else f" (+-{100 * role['tolerance']:.0f} %)")
             for label, role in check["roles"].items()]
    summary = [check["summary"]["line"]] + [f"outside tolerance: {name}" for name in check["summary"]["outside_tolerance"]]
    return "\n\n".join([f"`{check['command']}`, {check['date']}:", table(list(PRESET_COLUMNS), rows), "\n".join(roles), "\n".join(f"- {line}" for line in summary)])


def sweep(root: Path, name: str | None) -> str:
    """``{{ sweep NAME }}``: the leaderboard rows of a sweep (``snnq leaderboard``'s ``leaderboard.json``, copied to
    ``recipes/sweeps/NAME/leaderboard.json``), in the leaderboard's own columns."""
    from snnq.experiment.leaderboard import COLUMNS

    path = root / "recipes" / "sweeps" / str(name) / "leaderboard.json"
    try:
        rows = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: cannot read the sweep's leaderboard ({error})") from None
    if not isinstance(rows, list):
        raise ResultsError(f"{path}: expected the list of rows snnq leaderboard writes")
    return table([title for _, title in COLUMNS], [[row.get(key) for key, _ in COLUMNS] for row in rows])


DIRECTIVES: dict[str, Callable[[Path, str | None], str]] = {
    "runs": bench_runs, "recipe_runs": recipe_runs, "recorded_recipe_runs": recorded_recipe_runs, "presets_check": presets_check,
    "sweep": sweep,
}


def render_template(template: Path, root: Path = ROOT) -> str:
    """``template`` with each directive line replaced by what it renders."""
    if not template.is_file():
        raise ResultsError(f"{template}: no such template")
    out = []
    for number, line in enumerate(template.read_text().splitlines(), 1):
        match = DIRECTIVE.match(line.strip())
        if match is None:
            out.append(line)
            continue
        name, argument = match.groups()
        if name not in DIRECTIVES:
            raise ResultsError(f"{template}:{number}: unknown directive {name!r}; known: {', '.join(DIRECTIVES)}")
        out.append(DIRECTIVES[name](root, argument))
    return "\n".join(out).rstrip() + "\n"


def unrendered_benches(root: Path = ROOT) -> list[str]:
    """Benchmarks with run files that no template renders (``{{ runs BENCH }}`` missing)."""
    named = set()
    for template in DOCUMENTS.values():
        for line in (root / template).read_text().splitlines():
            match = DIRECTIVE.match(line.strip())
            if match and match.group(1) == "runs":
                named.add(match.group(2))
    present = {path.parent.name for path in (root / BENCH_RESULTS).glob("*/*.json")}
    return sorted(present - named)


def render_documents(root: Path = ROOT) -> dict[Path, str]:
    """Every document of `DOCUMENTS` as rendered from its template and the results files under ``root``."""
    missing = unrendered_benches(root)
    if missing:
        raise ResultsError(f"{root / BENCH_RESULTS}: run files of {', '.join(missing)} that no template renders; "
                           f"add {{{{ runs NAME }}}} to {DOCUMENTS['bench/RESULTS.md']}")
    return {root / document: render_template(root / template, root) for document, template in DOCUMENTS.items()}


def main(argv: list[str] | None = None) -> int:
    """Writes the documents (or, with ``--check``, says which differ from their rendering); the exit status."""
    parser = argparse.ArgumentParser(prog="python -m bench render", description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if a committed document is out of date")
    args = parser.parse_args(argv)
    try:
        documents = render_documents(ROOT)
    except ResultsError as error:
        print(f"bench render: {error}", file=sys.stderr)
        return 2
    stale = [path for path, text in documents.items() if not path.is_file() or path.read_text() != text]
    for path in stale:
        if args.check:
            print(f"out of date: {path.relative_to(ROOT)} (run python -m bench render)", file=sys.stderr)
        else:
            path.write_text(documents[path])
            print(f"wrote {path.relative_to(ROOT)}")
    return 1 if args.check and stale else 0
