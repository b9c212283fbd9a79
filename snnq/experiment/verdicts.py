"""Verdicts of a run: each expected figure on its own, and the run's, which passes only when every figure passes.

A run's ``results.json`` holds the comparison rows of `snnq.experiment.results.compare_with_paper` under ``paper``
and the steps that failed under ``failures``. The rules:

- a figure passes when it was measured and lies within its bounds (``tolerance``, ``min``, ``max``); it fails when
  it was measured and lies outside them; otherwise it is ``not measured`` (the run has no such metric) or has
  ``no bound`` (the recipe gives no pass criterion);
- a run is ``failed`` when a step of it failed (conversion to the integer network, hardware report), whatever
  its figures; otherwise it passes only when it states at least one figure and every figure passes, fails when
  any figure fails, and is ``incomplete`` when some figure could not be checked and none fails.

Figures are written in readable units: 99.30 %, 0.38 ms, 0.425 mJ, 31.25 x.
"""

from __future__ import annotations

from functools import partial
from typing import Any

PASS, FAIL, NOT_MEASURED, NO_BOUND = "pass", "fail", "not measured", "no bound"
FAILED, INCOMPLETE = "failed", "incomplete"
STEPS = ("ir", "hardware")
"""The sections of ``results.json`` whose ``written: false`` (with a ``reason``) means that step of the run failed."""

BOUNDS = {"tolerance": "+-", "min": ">= ", "max": "<= "}
"""A figure's pass criteria as the recipe states them, and how they are written."""
UNITS = {"_s": "s", "_j": "J", "_w": "W", "_mm2": "mm2"}
"""Units of metrics that state none, from the metric's suffix (``hardware_latency_s`` is in seconds)."""
PREFIXES = ((1.0, ""), (1e-3, "m"), (1e-6, "u"), (1e-9, "n"), (1e-12, "p"))


def failures(results: dict[str, Any]) -> list[dict[str, str]]:
    """The steps of a run that failed: ``[{"step": "ir" | "hardware", "reason": ...}]`` (empty when none did)."""
    found = []
    for step in STEPS:
        section = results.get(step)
        if isinstance(section, dict) and section.get("written") is False:
            found.append({"step": step, "reason": str(section.get("reason") or "no reason recorded")})
    return found


def unit_of(row: dict[str, Any]) -> str:
    """The figure's unit: its own ``unit``, else the one its metric's name ends with (``_s``, ``_j``, ...),
    ``x`` for a saving, or ``""`` (a count)."""
    if row.get("unit"):
        return str(row["unit"])
    metric = str(row.get("metric", ""))
    if metric.endswith("saving"):
        return "x"
    return next((unit for suffix, unit in UNITS.items() if metric.endswith(suffix)), "")


def _scale(unit: str, reference: float) -> tuple[float, str]:
    """The largest SI prefix that writes ``reference`` (in ``unit``) as at least 0.1 (0.38 ms, 0.425 mJ, 57 us):
    (factor, prefixed unit)."""
    if unit not in UNITS.values() or not reference:
        return 1.0, unit
    factor, prefix = next((p for p in PREFIXES if abs(reference) >= 0.1 * p[0]), PREFIXES[-1])
    return factor, prefix + unit


def quantity(value: Any, unit: str, *, reference: float | None = None, signed: bool = False) -> str:
    """``value`` (in ``unit``) for people: ``99.30 %``, ``0.425 mJ``, ``-0.007 ms``; ``-`` when there is none.
    ``reference`` picks the SI prefix (so a figure's value, bound and gap share one); ``signed`` writes a sign."""
    if not isinstance(value, (int, float)):
        return "-"
    factor, shown = _scale(unit, reference or value)
    number = f"{'+' if signed else ''}{'.2f' if unit == '%' else '.4g'}"
    return f"{value / factor:{number}} {shown}".rstrip()


def _verdict(row: dict[str, Any]) -> str:
    if not isinstance(row.get("ours"), (int, float)):
        return NOT_MEASURED
    return {True: PASS, False: FAIL, None: NO_BOUND}[row.get("within_tolerance")]


def _label(metric: str) -> str:
    name = metric.removeprefix("hardware_")
    for suffix in UNITS:
        name = name.removesuffix(suffix)
    return name.replace("_", " ")


def figure_verdicts(results: dict[str, Any]) -> list[dict[str, Any]]:
    """One entry per expected figure of the run (``results["paper"]``), each with its own verdict.

    Keys: ``metric``, ``quantity`` (its name for people: ``energy``), ``expected`` (the paper's value or None),
    ``measured`` (ours or None), ``unit``, ``bounds`` (``{"tolerance", "min", "max"}``, those the recipe states),
    ``gap`` (measured - expected or None), ``verdict`` (``pass``, ``fail``, ``not measured``, ``no bound``),
    ``source`` and ``text``, e.g. ``energy 0.425 mJ vs 0.28 mJ, gap +0.145 mJ (+-0.042 mJ): fail``.
    """
    figures = []
    for row in results.get("paper") or []:
        unit, name, verdict = unit_of(row), _label(str(row.get("metric"))), _verdict(row)
        expected, measured, gap = row.get("value"), row.get("ours"), row.get("gap")
        reference = next((v for v in (expected, measured) if isinstance(v, (int, float)) and v), None)
        shown = partial(quantity, unit=unit, reference=reference)  # the figure's numbers share one SI prefix
        bounds = {key: row[key] for key in BOUNDS if row.get(key) is not None}
        text = f"{name} {shown(measured) if verdict != NOT_MEASURED else NOT_MEASURED}"
        if isinstance(expected, (int, float)):
            text += f" vs {shown(expected)}"
        if isinstance(gap, (int, float)):
            text += f", gap {shown(gap, signed=True)}"
        if bounds:
            text += " (" + ", ".join(BOUNDS[key] + shown(value) for key, value in bounds.items()) + ")"
        figures.append({
            "metric": row.get("metric"), "quantity": name, "expected": expected, "measured": measured, "unit": unit,
            "bounds": bounds, "gap": gap, "verdict": verdict, "source": row.get("source"), "text": f"{text}: {verdict}",
        })
    return figures


def run_verdict(results: dict[str, Any]) -> str:
    """``failed`` when a step of the run failed; else ``pass`` only when the run states at least one figure and
    every figure passes, ``fail`` when any figure fails, ``incomplete`` when some figure could not be checked."""
    if failures(results):
        return FAILED
    verdicts = [figure["verdict"] for figure in figure_verdicts(results)]
    if FAIL in verdicts:
        return FAIL
    return PASS if verdicts and all(v == PASS for v in verdicts) else INCOMPLETE
