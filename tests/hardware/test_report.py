"""``snnq hw report``: files written into the run directory, results.json extended, errors explained."""

from __future__ import annotations

import json

import numpy as np

from snnq.cli.main import main
from snnq.hardware.ir_io import save_ir
from snnq.hardware.networks import paper_network
from snnq.hardware.simulate import calibrate, simulate

from .conftest import random_spikes, small_network

PNG = b"\x89PNG\r\n\x1a\n"


def run_dir(tmp_path):
    network = small_network(time_steps=4)
    x = random_spikes(network, 8)
    save_ir(calibrate(network, x), tmp_path)
    np.savez(tmp_path / "hw_inputs.npz", inputs=x, labels=simulate(network, x).predictions)
    (tmp_path / "results.json").write_text(json.dumps({"recipe": "unit", "metrics": {"acc": 0.5}}))
    return tmp_path


def test_report_writes_json_markdown_plots_and_extends_results(tmp_path, capsys):
    run = run_dir(tmp_path)
    assert main(["hw", "report", str(run), "hardware=liu2018_memristor", "--seed", "3"]) == 0
    assert "wrote hardware.json" in capsys.readouterr().out
    document = json.loads((run / "hardware.json").read_text())
    assert document["preset"] == "liu2018_memristor" and document["backend"] == "crossbar"
    assert [layer["name"] for layer in document["layers"]] == ["c1", "p1", "c2", "p2", "f", "out"]
    assert document["totals"]["latency_s"] > 0 and document["totals"]["energy_j"] > 0
    assert document["accuracy"]["ideal"] == 1.0 and 0.0 <= document["accuracy"]["nonideal"] <= 1.0
    assert "energy.adc_pj" in document["provenance"]["table"]
    markdown = (run / "hardware.md").read_text()
    assert "## Layers" in markdown and "| c2 | conv2d |" in markdown and "**assumed**" in markdown
    for name in ("hardware_energy.png", "hardware_latency.png", "hardware_tiles.png"):
        assert (run / name).read_bytes().startswith(PNG), name
    results = json.loads((run / "results.json").read_text())
    assert results["recipe"] == "unit" and results["metrics"]["acc"] == 0.5
    assert results["metrics"]["hardware_latency_s"] == document["totals"]["latency_s"]
    assert results["hardware"]["totals"] == document["totals"] and results["hardware"]["preset"] == "liu2018_memristor"
    assert not [p.name for p in run.iterdir() if p.name.endswith(".tmp") or p.name.startswith(".")]


def test_report_on_another_preset_refreshes_the_runs_figures_and_verdict(tmp_path):
    """A run re-evaluated on a changed preset must not keep the old figures' verdict: the comparison with the
    paper is made again from the stored expected items."""
    run = run_dir(tmp_path)
    assert main(["hw", "report", str(run), "hardware=liu2018_memristor"]) == 0
    latency = json.loads((run / "results.json").read_text())["metrics"]["hardware_latency_s"]
    expected = {"metric": "hardware_latency_s", "value": latency, "tolerance": 0.01 * latency, "source": "unit"}
    stale = {"recipe": "unit", "metrics": {"acc": 0.5, "hardware_latency_s": latency},
             "paper": [{**expected, "ours": latency, "gap": 0.0, "within_tolerance": True}], "verdict": "pass"}
    (run / "results.json").write_text(json.dumps(stale))
    assert main(["hw", "report", str(run), "hardware=zou2021_chip"]) == 0
    results = json.loads((run / "results.json").read_text())
    ours = results["metrics"]["hardware_latency_s"]
    assert ours != latency and results["hardware"]["preset"] == "zou2021_chip"
    assert results["paper"] == [{**expected, "ours": ours, "gap": ours - latency, "within_tolerance": False}]
    assert results["verdict"] == "fail" and results["status"] == "completed"


def test_report_on_an_fpga_preset_without_inputs(tmp_path):
    save_ir(paper_network("vgg11_cifar10", coding="qcfs", time_steps=8, classifier=()), tmp_path)
    assert main(["hw", "report", str(tmp_path), "hardware=nimbekar2024_pynq_z2"]) == 0
    document = json.loads((tmp_path / "hardware.json").read_text())
    assert document["accuracy"] == {} and document["totals"]["bram18"] <= 280
    assert any("activity not measured" in a for a in document["assumptions"])
    assert json.loads((tmp_path / "results.json").read_text())["hardware"]["backend"] == "fpga"


def test_report_errors_are_one_line_with_the_reason(tmp_path, capsys):
    assert main(["hw", "report", str(tmp_path), "hardware=liu2018_memristor"]) == 2
    assert "no IR file" in capsys.readouterr().err
    save_ir(small_network(), tmp_path)
    assert main(["hw", "report", str(tmp_path), "hardwre=liu2018_memristor"]) == 2
    assert "unknown key 'hardwre' (did you mean 'hardware'?)" in capsys.readouterr().err
    assert main(["hw", "report", str(tmp_path), "hardware=nonexistent"]) == 2
    assert "unknown hardware preset 'nonexistent'" in capsys.readouterr().err
