"""S1's gather: integer weights on ternary synapses by fan-in replication, exact and costed."""

from __future__ import annotations

import numpy as np
import pytest

from snnq.hardware.crossbar import CrossbarBackend, NonIdealSpec
from snnq.hardware.crossbar.gather import fan_in_replicas, replicate_inputs, ternary_rows
from snnq.hardware.networks import lenet5
from snnq.hardware.simulate import simulate

from .conftest import crossbar_spec, random_spikes, small_network


def test_replicas_of_sign_sum_to_the_integer_weight():
    w = np.array([[3, -2, 0], [-1, 1, 3]])
    s = ternary_rows(w, 3)
    assert s.shape == (6, 3) and set(np.unique(s)) <= {-1, 0, 1}
    assert np.array_equal(s.reshape(2, 3, 3).sum(axis=1), w)  # |W| parallel synapses of sign(W)
    x = np.array([[2, 5]])
    assert np.array_equal(replicate_inputs(x, 3) @ s, x @ w)


def test_only_ternary_tiles_replicate_and_only_non_ternary_weights():
    layer = small_network().layers[0]
    ternary = crossbar_spec(cell_bits=1, encoding="ternary").tile
    assert fan_in_replicas(layer, ternary) == int(np.abs(layer.weight).max()) and fan_in_replicas(layer, crossbar_spec().tile) == 1


@pytest.mark.parametrize("readout", ["row_serial", "parallel"])
def test_zero_noise_on_ternary_tiles_gives_exactly_the_ideal_integers(readout):
    # 4-bit signed weights, threshold groups of 4 (scatter), multi-level input codes, the layerwise schedule
    network = lenet5(coding="scatter_gather", time_steps=1, levels=4, input_levels=4, schedule="layerwise", weight_bits=4)
    x = np.random.default_rng(0).integers(0, 5, size=(1, 3) + network.input_shape)
    spec = crossbar_spec(rows=256, cols=256, cell_bits=1, encoding="ternary", readout=readout, tiles=256, nonideal=NonIdealSpec.ideal())
    backend = CrossbarBackend(spec)
    assert backend.map(network).layers["fc1"].replicas == 8 and backend.map(network).layers["fc1"].row_blocks > 1  # codes reach -8
    ideal = simulate(network, x)
    assert np.array_equal(backend.simulate(network, x).scores, ideal.scores)
    assert ideal.activity["conv1"].spikes > 0  # the groups do fire


def test_replicated_rows_cost_their_reads_and_their_cells(dense_net):
    # dense_net: 4 -> 2, codes up to |3| -> 3 replicas; 10 synaptic operations, 2 columns
    ternary = CrossbarBackend(crossbar_spec(cell_bits=1, encoding="ternary", readout="row_serial")).evaluate(dense_net).layers[0]
    assert ternary.counts["replicas"] == 3
    assert ternary.counts["row_activations"] == pytest.approx(10 / 2 * 3)  # every event drives its 3 replica rows
    assert ternary.counts["conversions"] == pytest.approx(10 * 3 * 2)  # cells sensed: synops x replicas x 2
    assert ternary.energy_j["synaptic"] == pytest.approx(10 * 3 * 2 * 1.0e-12)
    # row load = 15 drives / (T 2 x 12 physical rows) = 0.625 per row and step; 12 rows in the tile
    assert ternary.cycles == pytest.approx(2 * (0.625 * 12 * 1 + 1) + 3 / 8)


def test_a_noisy_ternary_chip_is_reproducible_with_a_seed():
    network = small_network(time_steps=3)
    x = random_spikes(network, 4)
    noisy = NonIdealSpec(conductance_levels=0, g_off_ratio=0.01, d2d_sigma=0.2, read_sigma=0.1, stuck_on_rate=0.01, stuck_off_rate=0.01, adc_clip=False)
    backend = CrossbarBackend(crossbar_spec(rows=64, cols=64, cell_bits=1, encoding="ternary", tiles=128, nonideal=noisy))
    first = backend.simulate(network, x, seed=3).scores
    assert np.array_equal(backend.simulate(network, x, seed=3).scores, first)
    assert not np.array_equal(first, simulate(network, x).scores)
