"""The network run on simulated tiles: exact without non-idealities, reproducible with a seed, changed by noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snnq.hardware.crossbar import CrossbarBackend, NonIdealSpec
from snnq.hardware.networks import lenet5
from snnq.hardware.simulate import simulate

from .conftest import crossbar_spec, random_spikes, small_network

NOISY = NonIdealSpec(conductance_levels=0, g_off_ratio=0.01, d2d_sigma=0.1, read_sigma=0.05, stuck_on_rate=0.0, stuck_off_rate=0.0, adc_clip=False)


def exact_but_offset() -> NonIdealSpec:
    """No noise, no faults, but a finite on/off ratio (the offset must cancel exactly)."""
    return replace(NonIdealSpec.ideal(), g_off_ratio=0.05)


@pytest.mark.parametrize("readout", ["parallel", "row_serial", "window"])
def test_zero_noise_gives_exactly_the_ideal_integers(readout):
    network = small_network(time_steps=5)
    x = random_spikes(network, 6, seed=2)
    # tiny tiles force row blocks (36-row conv matrices over 16-row tiles) and 1-bit cells 3 slices; copies too
    spec = crossbar_spec(rows=16, cols=16, cell_bits=1, readout=readout, tiles=256, duplicate=True, nonideal=exact_but_offset())
    backend = CrossbarBackend(spec)
    mapping = backend.map(network)
    assert mapping.layers["c1"].row_blocks == 2 and mapping.layers["c1"].slices == 3 and mapping.layers["c1"].copies > 1
    ideal = simulate(network, x)
    actual = backend.simulate(network, x, seed=7)
    assert np.array_equal(actual.scores, ideal.scores)
    assert {k: a.spikes for k, a in actual.activity.items()} == {k: a.spikes for k, a in ideal.activity.items()}


def test_zero_noise_is_exact_for_ternary_scatter_gather_and_log2_networks():
    sg = lenet5(coding="scatter_gather", time_steps=1, synapse="ternary", expansion=2, spike_rate=0.15)
    x = random_spikes(sg, 3, rate=0.3)
    ternary = crossbar_spec(rows=64, cols=64, cell_bits=1, encoding="ternary", readout="row_serial", tiles=512, nonideal=NonIdealSpec.ideal())
    assert np.array_equal(CrossbarBackend(ternary).simulate(sg, x).scores, simulate(sg, x).scores)
    log = lenet5(coding="ttfs", time_steps=4, synapse="log2", weight_bits=5)
    x = random_spikes(log, 3, rate=0.2)
    wide = crossbar_spec(rows=256, cols=256, cell_bits=4, tiles=512, nonideal=NonIdealSpec.ideal())
    assert np.array_equal(CrossbarBackend(wide).simulate(log, x).scores, simulate(log, x).scores)


def test_a_seed_reproduces_a_noisy_run_and_another_seed_changes_it():
    network = small_network(time_steps=5)
    x = random_spikes(network, 8, seed=3)
    backend = CrossbarBackend(crossbar_spec(rows=32, cols=32, tiles=64, nonideal=NOISY))
    first = backend.simulate(network, x, seed=11).scores
    assert np.array_equal(backend.simulate(network, x, seed=11).scores, first)
    assert not np.array_equal(backend.simulate(network, x, seed=12).scores, first)
    assert not np.array_equal(first, simulate(network, x).scores)


@pytest.mark.parametrize(
    "nonideal",
    [
        replace(NonIdealSpec.ideal(), stuck_on_rate=0.05),
        replace(NonIdealSpec.ideal(), stuck_off_rate=0.2),
        replace(NonIdealSpec.ideal(), d2d_sigma=0.3),
        replace(NonIdealSpec.ideal(), read_sigma=0.3),
        replace(NonIdealSpec.ideal(), conductance_levels=2),
    ],
    ids=["stuck_on", "stuck_off", "d2d", "read", "levels"],
)
def test_each_non_ideality_changes_the_integers(nonideal):
    network = small_network(time_steps=4)
    x = random_spikes(network, 8, seed=4)
    backend = CrossbarBackend(crossbar_spec(rows=32, cols=32, tiles=64, nonideal=nonideal))
    assert not np.array_equal(backend.simulate(network, x, seed=0).scores, simulate(network, x).scores)


def test_narrow_converters_clip_the_partial_sums():
    network = small_network(time_steps=4)
    x = random_spikes(network, 8, seed=5, rate=0.8)
    clip = replace(NonIdealSpec.ideal(), adc_clip=True)
    wide = CrossbarBackend(crossbar_spec(adc_bits=12, nonideal=clip)).simulate(network, x).scores
    narrow = CrossbarBackend(crossbar_spec(adc_bits=2, nonideal=clip)).simulate(network, x).scores
    assert np.array_equal(wide, simulate(network, x).scores)
    assert not np.array_equal(narrow, wide)


def test_accuracy_under_non_idealities_is_reported_beside_the_ideal():
    network = small_network(time_steps=4)
    x = random_spikes(network, 16, seed=6)
    labels = simulate(network, x).predictions  # the ideal network is right by construction
    backend = CrossbarBackend(crossbar_spec(rows=32, cols=32, tiles=64, nonideal=replace(NOISY, d2d_sigma=0.8, read_sigma=0.5, stuck_off_rate=0.3)))
    report = backend.evaluate(network, inputs=x, labels=labels, seed=1)
    assert report.accuracy["ideal"] == 1.0 and report.accuracy["nonideal"] < 1.0
    assert report.accuracy["agreement"] == report.accuracy["nonideal"] and report.accuracy["samples"] == 16
    exact = backend.evaluate(network, inputs=x, labels=labels, nonideal=NonIdealSpec.ideal())
    assert exact.accuracy["nonideal"] == 1.0 and exact.accuracy["exact_outputs"] == 1.0
