"""The integer deployment package: numpy-only runner identical to the integer model, checksums that refuse tampering."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from snnq.cli.main import main
from snnq.export import DeploymentError, ExportError
from snnq.export.deploy import export_deploy, load_deployment, verify_deployment, write_deployment
from snnq.export import deploy_runner
from snnq.export.deploy_runner import Runner
from snnq.export.memfile import mem_text, read_mem, signed_bits
from snnq.hardware import load_ir, simulate
from tests.export.helpers import small_inputs, small_variant

# runs the copied runner with snnq and torch made unimportable: it must need numpy only
ISOLATED = "import runpy, sys; sys.modules['snnq'] = None; sys.modules['torch'] = None; sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name='__main__')"


def _inputs(run_dir):
    with np.load(run_dir / "hw_inputs.npz") as data:
        return data["inputs"], data["labels"]


@pytest.mark.parametrize("coding", ["rate", "scatter_gather", "ttfs"])
def test_runner_reproduces_the_integer_model(lenet_runs, tmp_path, coding):
    network = load_ir(lenet_runs[coding])
    inputs, _ = _inputs(lenet_runs[coding])
    write_deployment(network, tmp_path / "deploy")
    expected = simulate(network, inputs, record=True)
    got = Runner(tmp_path / "deploy").run(inputs, record=True)
    assert got["scores"].dtype == np.int64
    assert np.array_equal(got["scores"], expected.scores)
    assert np.array_equal(got["predictions"], expected.predictions)
    for name, train in expected.outputs.items():
        assert np.array_equal(got[f"layer:{name}"], train), name


@pytest.mark.parametrize("kind, schedule", [("if", "parallel"), ("lif", "parallel"), ("sg_stateless", "parallel"), ("ttfs", "parallel"),
                                            ("if", "layerwise"), ("sg_stateless", "layerwise"), ("ttfs", "layerwise")])
def test_runner_follows_both_schedules_and_every_neuron_kind(tmp_path, kind, schedule):
    network = small_variant(kind, schedule, shift=1)
    inputs = small_inputs(network, 32)
    write_deployment(network, tmp_path)
    assert np.array_equal(Runner(tmp_path).run(inputs)["scores"], simulate(network, inputs).scores)


def test_copied_directory_runs_alone_with_numpy_only(lenet_runs, tmp_path):
    export_deploy(lenet_runs["ttfs"], tmp_path / "deploy")
    copy = tmp_path / "elsewhere"
    shutil.copytree(tmp_path / "deploy", copy)
    shutil.rmtree(tmp_path / "deploy")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", ISOLATED, "snnq_runner.py", "--out", "scores.npz"], cwd=copy, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    inputs, labels = _inputs(lenet_runs["ttfs"])
    expected = simulate(load_ir(lenet_runs["ttfs"]), inputs)
    with np.load(copy / "scores.npz") as data:
        assert np.array_equal(data["scores"], expected.scores)
        assert np.array_equal(data["predictions"], expected.predictions)
    assert f"accuracy {np.mean(expected.predictions == labels):.4f}" in result.stdout


def test_deployment_rebuilds_the_exported_network(lenet_runs, tmp_path):
    network = load_ir(lenet_runs["ttfs"])
    write_deployment(network, tmp_path)
    assert load_deployment(tmp_path) == network


def test_manifest_states_graph_widths_scales_and_checksums(lenet_runs, tmp_path):
    network = load_ir(lenet_runs["rate"])
    manifest = json.loads(export_deploy(lenet_runs["rate"], tmp_path).read_text())
    net = manifest["network"]
    assert (net["time_steps"], net["coding"], net["schedule"], net["input_bits"]) == (15, "rate", "layerwise", 8)
    assert net["output_unit"] == list(network.metadata["output_unit"])
    assert [layer["name"] for layer in manifest["layers"]] == [layer.name for layer in network.layers]
    first = manifest["layers"][0]
    assert first["weight_bits"] == 4 and first["neuron"]["membrane_bits"] == network.layers[0].neuron.membrane_bits
    listed = set(manifest["files"])
    on_disk = {str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()} - {"manifest.json"}
    assert listed == on_disk and all(len(entry["sha256"]) == 64 for entry in manifest["files"].values())


def test_mem_files_hold_the_codes_in_twos_complement(lenet_runs, tmp_path):
    network = load_ir(lenet_runs["ttfs"])
    manifest = json.loads(write_deployment(network, tmp_path).read_text())
    for layer in network.weighted_layers():
        info = manifest["array_info"][f"{layer.name}/weight"]
        lines = [line for line in (tmp_path / info["mem"]).read_text().splitlines() if not line.startswith("//")]
        assert all(len(line) == -(-layer.weight_bits // 4) for line in lines)
        assert np.array_equal(read_mem(tmp_path / info["mem"], layer.weight_bits), layer.weight.reshape(-1))
        integer = manifest["array_info"][f"{layer.name}/integer_weight"]
        assert np.array_equal(read_mem(tmp_path / integer["mem"], integer["bits"]), layer.integer_weight()[0].reshape(-1))


@given(st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=50))
def test_mem_words_round_trip(values):
    a = np.array(values, dtype=np.int64)
    bits = signed_bits(a)
    path_text = mem_text(a, bits, comment="test")
    words = [int(line, 16) for line in path_text.splitlines()[1:]]
    assert all(0 <= w < 2**bits for w in words)
    restored = np.array([w - 2**bits if w >= 2 ** (bits - 1) else w for w in words])
    assert np.array_equal(restored, a)


def test_a_changed_file_is_refused_by_name(lenet_runs, tmp_path):
    export_deploy(lenet_runs["rate"], tmp_path)
    target = tmp_path / "mem" / "features.3.threshold.mem"
    lines = target.read_text().splitlines()
    lines[1] = format(int(lines[1], 16) ^ 1, f"0{len(lines[1])}x")  # one bit of the first threshold
    target.write_text("\n".join(lines) + "\n")
    with pytest.raises(DeploymentError, match=r"features\.3\.threshold\.mem: sha256 does not match manifest\.json") as error:
        verify_deployment(tmp_path)
    assert error.value.path.endswith("features.3.threshold.mem")
    with pytest.raises(deploy_runner.DeploymentError, match="features.3.threshold.mem"):  # the runner's own check
        deploy_runner.Runner(tmp_path)
    result = subprocess.run([sys.executable, str(tmp_path / "snnq_runner.py")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and "features.3.threshold.mem" in result.stderr


def test_a_missing_file_is_refused_by_name(lenet_runs, tmp_path):
    export_deploy(lenet_runs["rate"], tmp_path)
    (tmp_path / "network.npz").unlink()
    with pytest.raises(DeploymentError, match=r"network\.npz: missing \(listed in manifest\.json\)"):
        load_deployment(tmp_path)
    (tmp_path / "manifest.json").unlink()
    with pytest.raises(DeploymentError, match="manifest.json: missing"):
        verify_deployment(tmp_path)


def test_a_foreign_directory_is_not_overwritten(lenet_runs, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(ExportError, match="is not empty and holds no manifest.json"):
        export_deploy(lenet_runs["rate"], tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_a_deployment_can_be_rewritten_in_place(lenet_runs, tmp_path):
    export_deploy(lenet_runs["rate"], tmp_path)
    export_deploy(lenet_runs["ttfs"], tmp_path)
    manifest = verify_deployment(tmp_path)
    assert manifest["network"]["coding"] == "ttfs"
    assert not (tmp_path / "mem" / "features.0.initial.mem").exists() or "features.0/initial" in manifest["array_info"]


def test_cli_writes_and_verifies_a_deployment(lenet_runs, tmp_path, capsys):
    assert main(["export", "deploy", str(lenet_runs["scatter_gather"]), str(tmp_path / "d")]) == 0
    assert main(["export", "verify", str(tmp_path / "d")]) == 0
    assert "files match" in capsys.readouterr().out
    (tmp_path / "d" / "snnq_runner.py").write_text("# changed\n")
    assert main(["export", "verify", str(tmp_path / "d")]) == 2
    assert "snnq_runner.py: sha256 does not match" in capsys.readouterr().err
