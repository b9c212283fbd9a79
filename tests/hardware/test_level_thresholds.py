"""Scatter-and-gather groups with per-level thresholds and a polarity (batch norm folded into the neurons, S1):
``count = sum_k [sat(p I) >= L_k]``, checked by hand, through a file, and refused where it has no meaning."""

from __future__ import annotations

import numpy as np
import pytest

from snnq.hardware import load_ir, save_ir
from snnq.hardware.errors import IRError
from snnq.hardware.ir import Dense, Network, Neuron
from snnq.hardware.simulate import run_layerwise_neurons, simulate

TABLE = np.array([[-2, 0], [1, 0], [5, 3]], dtype=np.int64)  # [levels, channels], non-decreasing per channel


def folded(polarity=(1, -1)) -> Neuron:
    return Neuron(kind="sg_stateless", threshold=1, membrane_bits=8, levels=3, spacing=0, level_thresholds=TABLE, polarity=np.array(polarity))


def test_levels_fire_on_their_own_thresholds_and_a_negative_polarity_mirrors_the_input():
    current = np.array([[-3, -3], [-2, 0], [1, -1], [4, -3], [5, 4]], dtype=np.int64)  # [B, C]
    counts = run_layerwise_neurons(folded(), current, 1)[0]
    # channel 0 (p = 1): I >= -2, >= 1, >= 5; channel 1 (p = -1): -I >= 0, >= 0, >= 3
    assert counts[:, 0].tolist() == [0, 1, 2, 2, 3]
    assert counts[:, 1].tolist() == [3, 2, 2, 3, 0]
    assert run_layerwise_neurons(folded((1, 1)), current, 1)[0][:, 1].tolist() == [0, 2, 0, 0, 3]


def test_level_thresholds_survive_a_file_and_run_in_a_network(tmp_path):
    weight = np.array([[1, -1, 0], [0, -1, -1]], dtype=np.int64)
    layer = Dense(name="fc", input_shape=(3,), output_shape=(2,), weight=weight, weight_bits=2, synapse="ternary", neuron=folded())
    network = Network(name="n", input_shape=(3,), time_steps=1, coding="scatter_gather", layers=(layer,), input_bits=3, schedule="layerwise")
    save_ir(network, tmp_path)
    loaded = load_ir(tmp_path)
    assert loaded == network and np.array_equal(loaded.layers[0].neuron.level_thresholds, TABLE)
    x = np.array([[[4, 0, 0], [0, 4, 0], [0, 2, 2]]], dtype=np.int64)  # I = (4, 0), (-4, -4), (-2, -4)
    assert simulate(loaded, x).scores.tolist() == [[2, 2], [0, 3], [1, 3]]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Neuron(kind="sg_stateless", threshold=1, membrane_bits=8, levels=3, level_thresholds=TABLE[::-1].copy()), "must not decrease"),
        (lambda: Neuron(kind="sg_stateless", threshold=1, membrane_bits=8, levels=2, level_thresholds=TABLE), "shape"),
        (lambda: Neuron(kind="if", threshold=1, membrane_bits=8, levels=1, level_thresholds=TABLE[:1]), "belong to sg_stateless"),
        (lambda: Neuron(kind="sg_stateless", threshold=1, membrane_bits=4, levels=3, level_thresholds=TABLE * 4), "must lie in"),
        (lambda: Neuron(kind="sg_stateless", threshold=2, membrane_bits=8, polarity=-1), "polarity of -1"),
        (lambda: Neuron(kind="sg_stateless", threshold=1, membrane_bits=8, levels=3, level_thresholds=TABLE, polarity=np.array([1, 0])), "1 or -1"),
    ],
)
def test_malformed_level_thresholds_are_refused(make, message):
    with pytest.raises(IRError, match=message):
        make()


def test_level_thresholds_have_no_meaning_on_the_parallel_schedule():
    layer = Dense(name="fc", input_shape=(3,), output_shape=(2,), weight=np.ones((2, 3), dtype=np.int64), weight_bits=2, neuron=folded())
    network = Network(name="n", input_shape=(3,), time_steps=2, coding="scatter_gather", layers=(layer,), schedule="parallel")
    with pytest.raises(IRError, match="layerwise schedule only"):
        simulate(network, np.zeros((2, 1, 3), dtype=np.int64))


@pytest.mark.parametrize("exporter", ["nir", "rtl", "deploy"])
def test_exporters_that_write_only_spaced_thresholds_refuse_folded_neurons(exporter, tmp_path):
    from snnq.export.deploy import deployment_manifest
    from snnq.export.errors import ExportError
    from snnq.export.nir_export import nir_graph
    from snnq.export.rtl_core import CoreParameters, plan_passes

    weight = np.array([[1, -1, 0], [0, -1, -1]], dtype=np.int64)
    layer = Dense(name="fc", input_shape=(3,), output_shape=(2,), weight=weight, weight_bits=2, synapse="ternary", neuron=folded())
    network = Network(name="n", input_shape=(3,), time_steps=1, coding="scatter_gather", layers=(layer,), input_bits=3, schedule="layerwise")
    write = {"nir": lambda: nir_graph(network), "rtl": lambda: plan_passes(network, CoreParameters()), "deploy": lambda: deployment_manifest(network)}
    with pytest.raises(ExportError, match=r"layers fc have per-level neuron thresholds"):
        write[exporter]()
