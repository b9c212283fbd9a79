"""How ``zou2021_chip``'s VGG prediction depends on what no S1 source states about the chip.

    python -m bench s1_chip_assumptions

S1's paper and code give the clock, the voltage and "a reconfigurable neuromorphic chip" (PAICore in the code);
the core count, the core's fan-in and neurons, weight copies and how layers overlap are assumed
(`snnq/hardware/README.md`). For each alternative reading in `ALTERNATIVES` (each from a source or a mapping
choice the paper names, none picked for the VGG figure), the preset's fitted constants are fitted again on S1's
LeNet exactly as ``snnq hw presets --fit`` does (`snnq.hardware.fit.fit_preset`), then the VGG checks are modelled
with the stored, measured activity. The first row is the preset as it stands. No alternative replaces the preset's
assumption: the table says how far each would move the prediction, so a reader can see which assumption the
paper's VGG figures would need.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from bench.record import RunRecord
from snnq.hardware import load_preset
from snnq.hardware.figures import FIGURES
from snnq.hardware.fit import fit_preset
from snnq.hardware.modelled import NetworkCache, modelled_value
from snnq.hardware.presets import Preset
from snnq.hardware.spec import get_path, with_overrides

ALTERNATIVES: dict[str, dict[str, Any]] = {
    "as stated: 64 cores of 1024 x 1024 cells, no weight copies, energy per 1024-cell row read": {},
    "weight copies on the free cores (chip.duplicate: output positions in parallel)": {"chip.duplicate": True},
    "PAICORE-like cores: 1,152 axons x 512 neurons (PAIBox's HwParams, the later 28 nm chip), 64 of them":
        {"tile.rows": 1152, "tile.cols": 1024},
    "PAICORE-like cores, 1,008 of them for inference (PAIBox), weight copies on the free ones":
        {"tile.rows": 1152, "tile.cols": 1024, "chip.tiles": 1008, "chip.duplicate": True},
    "energy per synaptic operation (the cited 2.64 pJ: 1.32 pJ per cell of a ternary pair), not per row read":
        {"energy.driver_pj": 0.0, "energy.cell_pj": 1.32},
}
"""Name -> hardware overrides of the preset (the first: none)."""


def refitted(preset: Preset, overrides: dict[str, Any]) -> Preset:
    """``preset`` with ``overrides``, its fitted constants fitted again on their checks."""
    changed = dataclasses.replace(preset, hardware=with_overrides(preset.hardware, overrides))
    return dataclasses.replace(changed, hardware=with_overrides(changed.hardware, fit_preset(changed)))


def run() -> RunRecord:
    """One row per alternative: its fitted constants and every check's modelled figure (raw values: the run file
    holds no ratio), after a row of the published figures."""
    preset = load_preset("zou2021_chip")
    networks = NetworkCache()  # the paper networks do not depend on the chip: built once
    rows = [["published (the paper)", *["" for _ in preset.fits], *[check.published for check in preset.checks]]]
    for name, overrides in ALTERNATIVES.items():
        changed = refitted(preset, overrides)
        rows.append([name, *[float(get_path(changed.hardware, fit.param)) for fit in preset.fits],
                     *[modelled_value(changed, check, networks) for check in changed.checks]])
    record = RunRecord("s1_chip_assumptions")
    record.records("zou2021_chip re-fitted on S1's LeNet under each assumption, then the VGG predicted",
                   ["assumption", *[fit.param for fit in preset.fits],
                    *[f"{check.id} ({check.role}), {FIGURES[check.figure].unit}" for check in preset.checks]], rows)
    return record
