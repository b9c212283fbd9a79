"""The reference RTL core (hardware/) against the Python integer model: 0 mismatches, layer by layer."""

import json

import numpy as np
import pytest

from snnq.cli.main import main
from snnq.export import CosimError, rtl_core, simulators
from snnq.export.cosim import run_cosim
from snnq.export.rtl_core import CoreParameters, core_parameters_for, plan_passes
from snnq.hardware import Add, Conv2d, Dense, Flatten, Network, Neuron, load_ir
from tests.export.conftest import IMAGES
from tests.export.helpers import lenet_run_dir, small_inputs, small_variant, write_run_dir

SMALL_CORE = CoreParameters(lanes=4, w_bits=8, acc_bits=24, mem_bits=12, w_depth=256, a_depth=64, g_depth=4, t_max=8, max_levels=4)


def need(simulator: str) -> None:
    if simulator not in simulators.available_simulators():
        pytest.skip(f"{simulator} is not installed here (Debian: apt-get install verilator iverilog; the Makefile's set-up installs them for CI)")


@pytest.fixture(scope="session")
def rtl_cache(tmp_path_factory):
    """One build directory per test session: each core configuration is compiled once."""
    return tmp_path_factory.mktemp("rtl-cache")


def test_rate_lenet_is_bit_exact_on_the_rtl_core_for_100_images(lenet_runs, rtl_cache):
    need("verilator")
    report = run_cosim(lenet_runs["rate"], images=IMAGES, simulator="verilator", cache=rtl_cache)
    network = load_ir(lenet_runs["rate"])
    assert report.images == IMAGES and report.simulator == "verilator"
    assert report.mismatches == 0 and report.score_mismatches == 0 and report.prediction_mismatches == 0
    assert [layer.name for layer in report.layers] == [layer.name for layer in network.layers if layer.kind != "flatten"]
    assert all(layer.events > 0 and layer.mismatched_values == 0 and layer.cycles > 0 for layer in report.layers)
    saved = json.loads((lenet_runs["rate"] / "cosim.json").read_text())
    assert saved["mismatches"] == 0 and saved["images"] == IMAGES and saved["parameters"]["LANES"] == 16


@pytest.mark.parametrize("coding", ["scatter_gather", "ttfs"])
def test_scatter_gather_and_ttfs_lenets_are_bit_exact(lenet_runs, rtl_cache, coding):
    need("verilator")
    report = run_cosim(lenet_runs[coding], images=20, simulator="verilator", cache=rtl_cache, write=False)
    assert report.mismatches == 0 and report.prediction_mismatches == 0
    assert all(layer.events > 0 for layer in report.layers)


@pytest.mark.parametrize("kind, schedule", [("if", "parallel"), ("lif", "parallel"), ("sg_stateless", "parallel"), ("ttfs", "parallel"),
                                            ("if", "layerwise"), ("sg_stateless", "layerwise"), ("ttfs", "layerwise")])
def test_every_neuron_kind_and_both_schedules_with_saturation_and_shifts(tmp_path, rtl_cache, kind, schedule):
    need("verilator")
    network = small_variant(kind, schedule, shift=1)  # stride-2 padded conv, max and sum pooling, 6- to 8-bit membranes
    run = write_run_dir(tmp_path, network, small_inputs(network, 8))
    report = run_cosim(run, images=None, simulator="verilator", cache=rtl_cache, write=False)
    assert report.mismatches == 0, [(layer.name, layer.mismatched_values) for layer in report.layers]


def test_icarus_verilog_agrees_on_a_small_core(tmp_path, rtl_cache):
    need("icarus")
    network = small_variant("if", "layerwise", shift=1)
    run = write_run_dir(tmp_path, network, small_inputs(network, 3))
    report = run_cosim(run, images=None, simulator="icarus", parameters=SMALL_CORE, cache=rtl_cache, write=False)
    assert report.simulator == "icarus" and report.mismatches == 0


def test_a_core_that_computes_differently_is_caught(lenet_runs, rtl_cache, monkeypatch):
    need("verilator")
    planned = rtl_core.plan_passes

    def without_precharge(network, params):  # the first layer's membranes start at 0 instead of theta / 2
        passes = planned(network, params)
        passes[0].registers["INIT_U"] = 0
        return passes

    monkeypatch.setattr(rtl_core, "plan_passes", without_precharge)
    report = run_cosim(lenet_runs["rate"], images=5, simulator="verilator", cache=rtl_cache, write=False)
    assert report.layers[0].mismatched_values > 0 and report.mismatches > 0


def test_layers_the_core_lacks_are_all_listed():
    conv = Conv2d(name="grouped", input_shape=(2, 9, 9), output_shape=(2, 3, 3), weight=np.ones((2, 1, 3, 3), dtype=np.int8), weight_bits=4,
                  stride=3, groups=2, neuron=Neuron(kind="if", threshold=3, membrane_bits=8))
    add = Add(name="res", inputs=("grouped", "grouped"), input_shape=(2, 3, 3), output_shape=(2, 3, 3))
    flat = Flatten(name="flat", inputs=("res",), input_shape=(2, 3, 3), output_shape=(18,))
    out = Dense(name="out", inputs=("flat",), input_shape=(18,), output_shape=(3,), weight=np.ones((3, 18), dtype=np.int8), weight_bits=4)
    network = Network(name="odd", input_shape=(2, 9, 9), time_steps=2, coding="rate", layers=(conv, add, flat, out))
    with pytest.raises(CosimError, match="cannot run network 'odd'") as error:
        plan_passes(network, CoreParameters())
    message = str(error.value)
    assert "groups=2" in message and "stride 3 is not a power of two" in message and "res (add)" in message


def test_a_network_too_large_for_the_core_names_the_parameter(lenet_runs):
    with pytest.raises(CosimError, match=r"classifier\.1 \(dense\): needs 3200 weight words per lane, the core has 1024 \(w_depth"):
        plan_passes(load_ir(lenet_runs["rate"]), CoreParameters(w_depth=1024))


def test_fitted_core_is_the_smallest_that_runs_the_network(lenet_runs):
    network = load_ir(lenet_runs["rate"])
    params = core_parameters_for(network)
    assert (params.w_depth, params.a_depth, params.g_depth, params.max_levels, params.w_bits) == (4096, 1024, 8, 1, 4)
    assert not params.has_log2 and not params.has_shift and not params.has_table
    assert params.mem_bits == max(layer.neuron.membrane_bits for layer in network.layers if layer.neuron is not None)
    plan_passes(network, params)
    ttfs = core_parameters_for(load_ir(lenet_runs["ttfs"]))
    assert ttfs.has_log2 and ttfs.has_shift and ttfs.has_table and ttfs.t_max == 8


def test_a_missing_simulator_says_how_to_install_it(monkeypatch):
    monkeypatch.setattr(simulators.shutil, "which", lambda name: None)
    with pytest.raises(CosimError, match="apt-get install verilator"):
        simulators.choose_simulator("verilator")
    with pytest.raises(CosimError, match="no Verilog simulator found"):
        simulators.choose_simulator("auto")


def test_a_run_without_inputs_is_explained(tmp_path):
    network = small_variant("if", "parallel")
    write_run_dir(tmp_path, network, small_inputs(network, 2))
    (tmp_path / "hw_inputs.npz").unlink()
    with pytest.raises(CosimError, match=r"hw_inputs\.npz: missing"):
        run_cosim(tmp_path)


def test_cli_cosim_reports_and_exits_zero(lenet_runs, rtl_cache, capsys):
    need("verilator")
    assert main(["hw", "cosim", str(lenet_runs["ttfs"]), "--images", "5", "--cache", str(rtl_cache)]) == 0
    out = capsys.readouterr().out
    assert "5 images on verilator: 0 mismatches" in out and "features.0" in out


@pytest.mark.slow
@pytest.mark.parametrize("coding", ["rate", "scatter_gather", "ttfs"])
def test_lenets_are_bit_exact_on_1000_images(export_lenets, mnist, tmp_path, rtl_cache, coding):
    need("verilator")
    from tests.export.helpers import CODINGS

    model, options = CODINGS[coding]
    run = lenet_run_dir(tmp_path / coding, export_lenets[model], coding, mnist["test"][0][:1000], mnist["test"][1][:1000], **options)
    report = run_cosim(run, images=1000, simulator="verilator", cache=rtl_cache)
    assert report.images == 1000 and report.mismatches == 0 and report.prediction_mismatches == 0


@pytest.mark.slow
def test_the_synthesised_configuration_is_bit_exact(lenet_runs, rtl_cache):
    need("verilator")
    params = core_parameters_for(load_ir(lenet_runs["rate"]))
    report = run_cosim(lenet_runs["rate"], images=IMAGES, simulator="verilator", parameters=params, cache=rtl_cache, write=False)
    assert report.mismatches == 0 and report.parameters == params.verilog()
