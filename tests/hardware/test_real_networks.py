"""Networks converted for real (quantized LeNet-5s briefly trained on MNIST, `snnq.conversion.to_ir`) on the
presets of their papers: they map, are costed and run on the simulated tiles, exactly without non-idealities."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import snnq
from snnq.conversion import input_codes, to_ir
from snnq.hardware import calibrate, load_preset, save_ir, write_report
from snnq.hardware.crossbar import CrossbarBackend, NonIdealSpec
from snnq.hardware.networks import lenet5
from snnq.hardware.report import INPUTS_FILENAME
from snnq.hardware.simulate import simulate
from snnq.hardware.spec import with_overrides
from tests.conversion.conftest import CAT_CONFIG, INTEGER_IO, quantized_lenet, read_mnist

S1_CONFIG = {  # conf/quant/s1_four_spike.yaml: per-channel 4-bit weights, 4-level activations, integer input and biases
    "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
    "activation": {"name": "uniform", "levels": 4, "scale": 0.5, "learn_scale": True, "pow2_scale": True}, **INTEGER_IO,
}
CASES = {"scatter_gather": ("s1", {"spike_budget": 4}), "rate": ("s1", {}), "ttfs": ("cat", {})}
"""Converter -> (trained model, options): the S1 model also converts to rate coding (a 4-step window)."""


def replace_nonideal(spec, **changes):
    return with_overrides(spec, {f"nonideal.{k}": v for k, v in changes.items()})


@pytest.fixture(scope="module")
def converted(shared_data):
    """``{method: (IR with measured activity, integer inputs, labels)}`` for 16 test images."""
    mnist = {split: read_mnist(shared_data / "mnist", split) for split in ("train", "test")}
    images, labels = mnist["test"][0][:16], mnist["test"][1][:16].numpy()
    models = {"s1": quantized_lenet(S1_CONFIG, mnist, samples=1_500, pool="max"), "cat": quantized_lenet({**CAT_CONFIG, **INTEGER_IO}, mnist, samples=1_500, pool="max")}
    out = {}
    for method, (model, options) in CASES.items():
        snn = snnq.convert(models[model], method=method, **options)
        network = to_ir(snn, input_shape=(1, 28, 28), name=f"lenet5_{method}")
        x = input_codes(snn, images)
        out[method] = (calibrate(network, x, source="16 MNIST test images"), x, labels)
    return out


def test_the_s1_network_maps_on_the_ternary_chip_and_runs_exactly(converted):
    network, x, labels = converted["scatter_gather"]
    preset = load_preset("zou2021_chip")
    backend = preset.backend_instance()
    mapping = backend.map(network)
    assert all(p.replicas == int(np.abs(network.layer(name).weight).max()) for name, p in mapping.layers.items())
    report = backend.evaluate(network, inputs=x, labels=labels)
    assert report.accuracy["exact_outputs"] == 1.0 and report.accuracy["nonideal"] == report.accuracy["ideal"]
    assert report.total("latency_s") > 0 and report.total("energy_j") > 0 and report.total("tiles_used") >= 5
    noisy = replace_nonideal(preset.hardware, d2d_sigma=0.3, read_sigma=0.2)
    first = CrossbarBackend(noisy).simulate(network, x, seed=5).scores
    assert np.array_equal(CrossbarBackend(noisy).simulate(network, x, seed=5).scores, first)
    assert not np.array_equal(first, simulate(network, x).scores)


def test_the_s1_check_network_has_the_form_of_a_real_conversion(converted):
    real = converted["scatter_gather"][0]
    built = lenet5(coding="scatter_gather", time_steps=1, levels=4, input_levels=4, schedule="layerwise", weight_bits=4)
    assert (built.schedule, built.time_steps, built.coding) == (real.schedule, real.time_steps, real.coding)

    def form(net):
        return [(l.kind, l.output_shape, getattr(l, "synapse", None), None if l.neuron is None else (l.neuron.kind, l.neuron.levels)) for l in net]

    assert form(built) == form(real)


@pytest.mark.parametrize(("method", "preset"), [("rate", "liu2018_memristor"), ("ttfs", "liu2018_memristor"), ("scatter_gather", "zou2021_chip")])
def test_without_non_idealities_every_real_network_is_exact_on_the_tiles(converted, method, preset):
    network, x, _ = converted[method]
    spec = with_overrides(load_preset(preset).hardware, {"chip.tiles": 4096})
    ideal = simulate(network, x)
    for readout in ("parallel", "window", "row_serial"):
        tiles = CrossbarBackend(with_overrides(spec, {"tile.readout": readout}))
        assert np.array_equal(tiles.simulate(network, x, nonideal=NonIdealSpec.ideal()).scores, ideal.scores), readout


@pytest.mark.parametrize(("method", "preset"), [("ttfs", "lew2022_28nm"), ("rate", "nimbekar2024_pynq_z2"), ("scatter_gather", "lew2022_28nm")])
def test_event_driven_backends_cost_real_networks(converted, method, preset):
    network = converted[method][0]
    report = load_preset(preset).backend_instance().evaluate(network)
    neuron_layers = [c for c, l in zip(report.layers, network.layers) if l.neuron is not None]
    assert report.total("latency_s") > 0 and report.total("energy_j") > 0
    assert all(c.counts["neuron_updates"] > 0 for c in neuron_layers)


def test_a_run_directory_of_the_s1_network_gets_its_report(converted, tmp_path):
    network, x, labels = converted["scatter_gather"]
    save_ir(network, tmp_path)
    np.savez(tmp_path / INPUTS_FILENAME, inputs=x, labels=labels)
    report = write_report(tmp_path, "zou2021_chip")
    written = json.loads((tmp_path / "results.json").read_text())["hardware"]
    assert written["totals"]["latency_s"] == pytest.approx(report.total("latency_s")) and written["accuracy"]["exact_outputs"] == 1.0
    assert (tmp_path / "hardware_tiles.png").is_file()


def test_the_s1_vgg_that_the_preset_models_is_the_model_the_recipe_trains():
    from snnq.hardware.networks import VGG_CONFIGS
    from snnq.models.vgg import CONFIGS

    assert tuple(CONFIGS["vgg_s1"]) == VGG_CONFIGS["vgg_s1"]
    model = snnq.MODELS.build("vgg_s1", batch_norm=False, pool="max")
    convs = [m.out_channels for m in model.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs == [c for c in VGG_CONFIGS["vgg_s1"] if c != "M"]
