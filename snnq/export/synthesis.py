"""Synthesis of the reference core with Yosys for the Xilinx 7-series (``synth_xilinx -family xc7``).

`synthesis_script` writes the Yosys script for a core of given `CoreParameters`; `synthesize` runs it and
reads ``stat -json`` into resource counts as Vivado's utilisation report names them:

    LUT    = LUT1..LUT6 + INV (a LUT1) + 4 per RAM32M/RAM64M/RAM128X1D + 2 per RAM32X1D/RAM64X1D + ...
             ("LUT as memory": the distributed RAMs, counted separately too)
    FF     = FDRE + FDSE + FDCE + FDPE
    DSP    = DSP48E1
    BRAM18 = RAMB18E1 + 2 RAMB36E1

These are post-synthesis, pre-place-and-route counts (no retiming, no cross-boundary packing), so they are an
upper estimate of what Vivado reports. `fpga_estimate` gives the ``fpga`` backend's figures for the same
network (`snnq.hardware.fpga.fpga_resources`), from a preset as it stands and with its processing elements
and weight storage set to the core's (lanes, all weights on chip), for the side-by-side table of
``hardware/SYNTHESIS.md`` (`synthesis_markdown`).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from snnq.export.errors import SynthesisError
from snnq.export.rtl_core import CoreParameters
from snnq.export.simulators import hardware_dir

SYNTH_SOURCES = ("rtl/snn_pe.v", "rtl/snn_core.v")

LUT_CELLS: Mapping[str, int] = MappingProxyType({f"LUT{i}": 1 for i in range(1, 7)} | {"INV": 1})
LUTRAM_CELLS: Mapping[str, int] = MappingProxyType({
    "RAM32M": 4, "RAM64M": 4, "RAM32M16": 8, "RAM64M8": 8, "RAM128X1D": 4, "RAM256X1D": 8, "RAM32X1D": 2, "RAM64X1D": 2,
    "RAM32X1S": 1, "RAM64X1S": 1, "RAM128X1S": 2, "RAM256X1S": 4, "SRL16E": 1, "SRLC32E": 1,
})
"""Distributed-RAM and shift-register cells and the LUTs each occupies."""
FF_CELLS = ("FDRE", "FDSE", "FDCE", "FDPE")
BRAM18_CELLS: Mapping[str, int] = MappingProxyType({"RAMB18E1": 1, "RAMB36E1": 2})


@dataclass(frozen=True)
class SynthesisResult:
    """Resource counts of one synthesis run."""

    parameters: dict[str, int]
    resources: dict[str, int]
    """``LUT``, ``LUT_as_memory``, ``FF``, ``DSP``, ``BRAM18``, ``CARRY4``."""
    cells: dict[str, int]
    """Every cell type Yosys reported and its count."""
    yosys: str
    seconds: float
    script: str = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def synthesis_script(params: CoreParameters, *, root: str | os.PathLike[str] | None = None, stat_file: str = "stat.json",
                     family: str = "xc7") -> str:
    """The Yosys script that synthesises ``snn_core`` with ``params`` (source paths under ``root``, default the hardware folder)."""
    base = Path(root) if root is not None else hardware_dir()
    sources = " ".join(str(base / s) for s in SYNTH_SOURCES)
    settings = " ".join(f"-set {name} {value}" for name, value in params.verilog().items() if name != "V_BITS")
    return "\n".join([
        f"# snnq reference core, {family}: {', '.join(f'{k}={v}' for k, v in params.verilog().items())}",
        f"read_verilog -defer {sources}",
        f"chparam {settings} snn_core",
        f"synth_xilinx -family {family} -top snn_core -flatten",
        f"tee -q -o {stat_file} stat -json",
        "stat",
        "",
    ])


def resources_from_cells(cells: Mapping[str, int]) -> dict[str, int]:
    """Vivado-style resource counts from Yosys cell counts (equations in the module docstring)."""
    lut_memory = sum(LUTRAM_CELLS.get(name, 0) * count for name, count in cells.items())
    return {
        "LUT": sum(LUT_CELLS.get(name, 0) * count for name, count in cells.items()) + lut_memory,
        "LUT_as_memory": lut_memory,
        "FF": sum(cells.get(name, 0) for name in FF_CELLS),
        "DSP": int(cells.get("DSP48E1", 0)),
        "BRAM18": sum(BRAM18_CELLS.get(name, 0) * count for name, count in cells.items()),
        "CARRY4": int(cells.get("CARRY4", 0)),
    }


def read_stat(path: str | os.PathLike[str]) -> dict[str, int]:
    """Cell counts of the top module from a ``stat -json`` file."""
    try:
        data = json.loads(Path(path).read_text())
        modules = data["modules"]
        top = modules.get("\\snn_core") or next(iter(modules.values()))
        return {str(k): int(v) for k, v in top["num_cells_by_type"].items()}
    except (OSError, ValueError, KeyError, StopIteration, TypeError, AttributeError) as error:
        raise SynthesisError(f"{path}: not a Yosys 'stat -json' report with cell counts ({type(error).__name__}: {error})") from error


def synthesize(params: CoreParameters, *, work_dir: str | os.PathLike[str] | None = None, timeout: float | None = None,
               family: str = "xc7") -> SynthesisResult:
    """Runs Yosys ``synth_xilinx`` on the core with ``params``; `SynthesisError` when Yosys is missing or fails."""
    if shutil.which("yosys") is None:
        raise SynthesisError("yosys is not installed (Debian: apt-get install yosys)")
    with tempfile.TemporaryDirectory(prefix="snnq-synth-") as scratch:
        work = Path(work_dir) if work_dir is not None else Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        script = synthesis_script(params, stat_file=str(work / "stat.json"), family=family)
        (work / "synth.ys").write_text(script)
        began = time.perf_counter()
        try:
            result = subprocess.run(["yosys", "-q", "-l", str(work / "synth.log"), str(work / "synth.ys")],
                                    capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as error:
            raise SynthesisError(f"yosys did not finish within {timeout} s") from error
        seconds = time.perf_counter() - began
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
            raise SynthesisError(f"yosys failed (exit status {result.returncode}); see {work / 'synth.log'}:\n{tail}")
        cells = read_stat(work / "stat.json")
        version = subprocess.run(["yosys", "-V"], capture_output=True, text=True).stdout.strip()
    return SynthesisResult(params.verilog(), resources_from_cells(cells), cells, version, seconds, script)


def fpga_estimate(network: Any, *, preset: str = "nimbekar2024_pynq_z2", lanes: int | None = None) -> dict[str, Any]:
    """The ``fpga`` backend's LUT/FF/DSP/BRAM18 for ``network`` (which should carry measured activity).

    With ``lanes`` the preset's processing elements become ``lanes`` and all weights stay on chip (the reference
    core's organisation); without, the preset is used as it stands. Returns the resources and the board.
    """
    from snnq.hardware.fpga import fpga_resources
    from snnq.hardware.presets import load_preset

    loaded = load_preset(preset)
    spec = loaded.backend_instance().spec
    if lanes is not None:
        spec = replace(spec, core=replace(spec.core, pes=lanes, weights_on_chip=True))
    resources = fpga_resources(network, spec)
    board = spec.board
    return {"preset": loaded.name, "pes": spec.core.pes, "weights_on_chip": spec.core.weights_on_chip,
            "resources": {k: float(v) for k, v in resources.items()},
            "board": {"name": board.name, "LUT": board.lut, "FF": board.ff, "DSP": board.dsp, "BRAM18": board.bram18}}


def within_board(resources: Mapping[str, float], board: Mapping[str, Any]) -> dict[str, bool]:
    """``{resource: fits}`` for LUT, FF, DSP and BRAM18 against a board's budget."""
    return {name: float(resources[name]) <= float(board[name]) for name in ("LUT", "FF", "DSP", "BRAM18")}


def synthesis_markdown(result: SynthesisResult, estimates: list[dict[str, Any]], *, network: str, notes: str = "") -> str:
    """A Markdown table of the Yosys counts beside the ``fpga`` backend's estimates (for ``hardware/SYNTHESIS.md``)."""
    board = estimates[0]["board"] if estimates else None
    header = "| resource | Yosys (synth_xilinx, xc7) |" + "".join(
        f" fpga backend: {e['preset']}, {e['pes']} PEs{', weights on chip' if e['weights_on_chip'] else ''} |" for e in estimates)
    if board:
        header += f" {board['name']} budget |"
    lines = [header, "|" + " --- |" * (header.count("|") - 1)]
    for name in ("LUT", "FF", "DSP", "BRAM18"):
        row = f"| {name} | {result.resources[name]} |" + "".join(f" {e['resources'][name]:.0f} |" for e in estimates)
        if board:
            row += f" {board[name]} |"
        lines.append(row)
    params = ", ".join(f"{k}={v}" for k, v in result.parameters.items())
    text = [f"Network: `{network}`. Core parameters: `{params}`.", "", *lines, "",
            f"Yosys: {result.yosys}; LUT includes {result.resources['LUT_as_memory']} LUTs used as distributed RAM; "
            f"{result.resources['CARRY4']} CARRY4; synthesis took {result.seconds:.0f} s.", ""]
    if notes:
        text += [notes, ""]
    return "\n".join(text)
