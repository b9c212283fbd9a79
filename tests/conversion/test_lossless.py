"""Lossless conversion on real data: the SNN's outputs equal the quantized ANN's bit for bit."""

import json

import pytest
import torch

import snnq
from snnq.conversion import Activity
from tests.conversion.conftest import batches

CI_IMAGES = 1000  # the whole test set is the slow test below


@pytest.mark.parametrize("method, options", [("rate", {}), ("scatter_gather", {"spike_budget": 15})])
def test_lenet_conversion_is_exact_on_mnist(rate_lenet, mnist, method, options):
    snn = snnq.convert(rate_lenet, method=method, **options)
    report = snnq.verify(rate_lenet, snn, batches(*mnist["test"], count=CI_IMAGES), mode="step", progress=False)
    assert report.samples == CI_IMAGES
    assert report.logit_mismatches == 0 and report.class_mismatches == 0 and report.max_abs_logit_difference == 0.0
    assert set(report.layer_max_abs_difference.values()) == {0.0}
    assert report.snn_accuracy == report.ann_accuracy > 0.9
    assert report.max_spikes_per_step == 1  # at most one spike per (sub-)neuron per step
    assert report.spikes_per_inference > 0 and report.synaptic_operations_per_inference > 0
    if method == "scatter_gather":
        assert all(set(values) <= {-1, 0, 1} for values in report.synaptic_values.values())
    else:
        assert all(set(values) <= set(range(-8, 8)) for values in report.synaptic_values.values())


@pytest.mark.parametrize("method, options", [("rate", {}), ("scatter_gather", {"spike_budget": 15}), ("ttfs", {})])
def test_window_simulation_equals_step_by_step_simulation(rate_lenet, cat_lenet, mnist, method, options):
    model = cat_lenet if method == "ttfs" else rate_lenet
    snn = snnq.convert(model, method=method, **options)
    images = mnist["test"][0][:300]
    step, window = Activity(keep_activations=True), Activity(keep_activations=True)
    assert torch.equal(snn(images, mode="step", activity=step), snn(images, mode="window", activity=window))
    assert step.layers.keys() == window.layers.keys()
    for name in step.layers:
        assert torch.equal(step.layers[name].spikes, window.layers[name].spikes), name
        assert torch.equal(step.activations[name], window.activations[name]), name
    assert step.synaptic_operations == window.synaptic_operations


def test_ttfs_conversion_of_a_cat_trained_network_is_exact(cat_lenet, mnist):
    snn = snnq.convert(cat_lenet, method="ttfs")
    report = snnq.verify(cat_lenet, snn, batches(*mnist["test"], count=CI_IMAGES), mode="step", progress=False)
    assert report.logit_mismatches == 0 and report.max_abs_logit_difference == 0.0
    assert report.snn_accuracy > 0.85
    assert report.max_spikes_per_step == 1
    for layer in report.layers:  # time to first spike: at most one spike per neuron per inference
        assert layer["max_spikes_per_neuron"] <= 1


def test_report_serialises(rate_lenet, mnist, tmp_path):
    snn = snnq.convert(rate_lenet, method="rate")
    report = snnq.verify(rate_lenet, snn, batches(*mnist["test"], count=500), progress=False)
    report.save(tmp_path / "verify.json")
    data = json.loads((tmp_path / "verify.json").read_text())
    assert data["exact"] is True and data["samples"] == 500 and data["coding"] == "rate"
    arrays = dict(__import__("numpy").load(tmp_path / "verify.spikes.npz"))
    assert set(arrays) == {name.replace(".", "/") for name in report.per_neuron_spikes}


@pytest.mark.slow
@pytest.mark.parametrize("method, options", [("rate", {}), ("scatter_gather", {"spike_budget": 15}), ("ttfs", {})])
def test_whole_mnist_test_set_is_exact(rate_lenet, cat_lenet, mnist, method, options):
    model = cat_lenet if method == "ttfs" else rate_lenet
    snn = snnq.convert(model, method=method, **options)
    report = snnq.verify(model, snn, batches(*mnist["test"], count=10_000), mode="step", progress=False)
    assert report.samples == 10_000 and report.logit_mismatches == 0
