"""Yosys synthesis of the reference core for the xc7 family: resource counts that parse and fit the PYNQ-Z2."""

import json
import shutil
from pathlib import Path

import pytest

from snnq.export import SynthesisError
from snnq.export.rtl_core import CoreParameters, core_parameters_for
from snnq.export.synthesis import fpga_estimate, read_stat, resources_from_cells, synthesis_script, synthesize, within_board
from snnq.hardware import calibrate, load_ir

RECORDED = Path(__file__).resolve().parents[2] / "hardware" / "synthesis" / "lenet5_rate.json"
PYNQ_Z2 = {"name": "pynq_z2", "LUT": 53200, "FF": 106400, "DSP": 220, "BRAM18": 280}
TINY = CoreParameters(lanes=2, w_bits=4, acc_bits=12, mem_bits=10, w_depth=256, a_depth=64, g_depth=4, t_max=4, max_levels=1,
                      has_log2=False, has_shift=False, has_table=False)


def need_yosys() -> None:
    if shutil.which("yosys") is None:
        pytest.skip("yosys is not installed here (Debian: apt-get install yosys; the Makefile's set-up installs it for CI)")


def test_cells_are_counted_as_vivado_names_them():
    cells = {"LUT2": 10, "LUT6": 5, "INV": 2, "RAM64M": 3, "RAM32X1D": 1, "FDRE": 7, "FDSE": 1, "DSP48E1": 4, "RAMB18E1": 2,
             "RAMB36E1": 3, "CARRY4": 9, "MUXF7": 4, "IBUF": 20}
    assert resources_from_cells(cells) == {"LUT": 10 + 5 + 2 + 12 + 2, "LUT_as_memory": 14, "FF": 8, "DSP": 4, "BRAM18": 8, "CARRY4": 9}


def test_script_sets_every_parameter_of_the_core():
    script = synthesis_script(TINY, root="/hw")
    assert "read_verilog -defer /hw/rtl/snn_pe.v /hw/rtl/snn_core.v" in script and "synth_xilinx -family xc7 -top snn_core" in script
    for name, value in TINY.verilog().items():
        if name != "V_BITS":
            assert f"-set {name} {value} " in script


def test_a_bad_report_is_refused(tmp_path):
    (tmp_path / "stat.json").write_text("{}")
    with pytest.raises(SynthesisError, match="not a Yosys 'stat -json' report"):
        read_stat(tmp_path / "stat.json")


def test_missing_yosys_is_explained(monkeypatch):
    monkeypatch.setattr("snnq.export.synthesis.shutil.which", lambda name: None)
    with pytest.raises(SynthesisError, match="apt-get install yosys"):
        synthesize(TINY)


def test_a_small_core_synthesises_and_fits_the_pynq_z2():
    need_yosys()
    result = synthesize(TINY)
    r = result.resources
    assert r["LUT"] > 0 and r["FF"] > 0 and r["LUT"] >= r["LUT_as_memory"]
    assert set(result.cells) >= {"FDRE"} and result.yosys.startswith("Yosys")
    assert all(within_board(r, PYNQ_Z2).values())


def test_fpga_estimate_for_the_same_network(lenet_runs):
    network = load_ir(lenet_runs["rate"])
    with __import__("numpy").load(lenet_runs["rate"] / "hw_inputs.npz") as data:
        network = calibrate(network, data["inputs"][:, :20])
    preset = fpga_estimate(network)
    same = fpga_estimate(network, lanes=16)
    assert preset["pes"] == 64 and same["pes"] == 16 and same["weights_on_chip"]
    assert same["resources"]["LUT"] < preset["resources"]["LUT"] and preset["board"] == PYNQ_Z2


@pytest.mark.slow
def test_the_lenet_core_synthesises_within_the_pynq_z2_budget(lenet_runs):
    need_yosys()
    params = core_parameters_for(load_ir(lenet_runs["rate"]))
    result = synthesize(params)
    assert all(within_board(result.resources, PYNQ_Z2).values())
    recorded = json.loads(RECORDED.read_text())["synthesis"]
    if recorded["parameters"] == result.parameters and recorded["yosys"] == result.yosys:  # the figures of SYNTHESIS.md
        assert result.resources == recorded["resources"]
