"""The integer reference simulator: hand-computed neuron traces, layers against brute force, calibration counts."""

from __future__ import annotations

import numpy as np
import pytest

from snnq.hardware.errors import IRError
from snnq.hardware.ir import Conv2d, Dense, Network, Neuron
from snnq.hardware.simulate import calibrate, integer_matmul, rate_encode, run_neurons, simulate

from .conftest import random_spikes, small_network


def trace(neuron: Neuron, currents: list[int]) -> list[int]:
    return run_neurons(neuron, np.array(currents, dtype=np.int64).reshape(-1, 1, 1))[:, 0, 0].tolist()


def test_if_neuron_integrates_fires_and_resets_by_subtraction():
    # u: 3, 6 -> spike, 1; 1+3 = 4; 4+3 = 7 -> spike, 2; 2+9 = 11 -> spike, 6 (not 0: subtraction keeps the rest)
    assert trace(Neuron(kind="if", threshold=5, membrane_bits=8), [3, 3, 3, 3, 9, 0]) == [0, 1, 0, 1, 1, 1]


def test_membrane_saturates_at_its_bit_width():
    # 4-bit membrane saturates at 7: 7 -> spike (u=2); without saturation u=20 would keep firing
    assert trace(Neuron(kind="if", threshold=5, membrane_bits=4), [25, 0, 0]) == [1, 0, 0]
    assert trace(Neuron(kind="if", threshold=5, membrane_bits=8), [25, 0, 0]) == [1, 1, 1]


def test_initial_membrane_is_the_precharge():
    assert trace(Neuron(kind="if", threshold=4, membrane_bits=8, initial=2), [2, 0]) == [1, 0]
    assert trace(Neuron(kind="if", threshold=4, membrane_bits=8), [2, 0]) == [0, 0]


def test_lif_leaks_by_an_arithmetic_shift():
    # u = u - (u >> 1) + I: 6 -> 6 (no spike, theta 7); 6 - 3 + 0 = 3; 3 - 1 + 4 = 6; 6 - 3 + 6 = 9 -> spike, 2
    assert trace(Neuron(kind="lif", threshold=7, membrane_bits=8, leak_shift=1), [6, 0, 4, 6]) == [0, 0, 0, 1]


def test_stateless_neuron_forgets_between_steps():
    assert trace(Neuron(kind="sg_stateless", threshold=3, membrane_bits=8), [2, 2, 3, 5]) == [0, 0, 1, 1]


def test_ttfs_neuron_fires_at_most_once():
    assert trace(Neuron(kind="ttfs", threshold=3, membrane_bits=8), [4, 4, 4, 4]) == [1, 0, 0, 0]


def test_rate_encoding_sends_exactly_the_value_evenly():
    spikes = rate_encode(np.array([[0, 1, 3, 4]]), 4)
    assert spikes.sum(axis=0).tolist() == [[0, 1, 3, 4]]
    assert spikes[:, 0, 2].tolist() == [0, 1, 1, 1]
    with pytest.raises(IRError):
        rate_encode(np.array([5]), 4)


def brute_conv(x: np.ndarray, w: np.ndarray, stride: int, padding: int, groups: int) -> np.ndarray:
    n, c, h, width = x.shape
    c_out, c_in_g, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    ho, wo = (h + 2 * padding - kh) // stride + 1, (width + 2 * padding - kw) // stride + 1
    out = np.zeros((n, c_out, ho, wo), dtype=np.int64)
    per_group = c_out // groups
    for o in range(c_out):
        g = o // per_group
        for i in range(ho):
            for j in range(wo):
                patch = xp[:, g * c_in_g:(g + 1) * c_in_g, i * stride:i * stride + kh, j * stride:j * stride + kw]
                out[:, o, i, j] = (patch * w[o]).sum(axis=(1, 2, 3))
    return out


@pytest.mark.parametrize(("stride", "padding", "groups"), [(1, 0, 1), (2, 1, 1), (1, 1, 2), (2, 2, 4)])
def test_conv_currents_equal_a_brute_force_loop(stride, padding, groups):
    rng = np.random.default_rng(stride * 10 + padding + groups)
    w = rng.integers(-7, 8, (8, 4 // groups, 3, 3)).astype(np.int8)
    x = rng.integers(0, 3, (2, 4, 7, 7))
    h_out = (7 + 2 * padding - 3) // stride + 1
    conv = Conv2d(name="c", input_shape=(4, 7, 7), output_shape=(8, h_out, h_out), weight=w, weight_bits=4, stride=stride, padding=padding, groups=groups)
    net = Network(name="n", input_shape=(4, 7, 7), time_steps=1, coding="rate", layers=(conv,))
    result = simulate(net, x[None])
    assert np.array_equal(result.scores, brute_conv(x, w.astype(np.int64), stride, padding, groups))


def test_pooling_max_is_an_or_of_spikes_and_average_is_a_sum():
    net = small_network(time_steps=2)
    x = random_spikes(net, 3)
    out = simulate(net, x, record=True).outputs
    c1 = out["c1"]
    assert np.array_equal(out["p1"], c1.reshape(2, 3, 4, 4, 2, 4, 2).max(axis=(4, 6)))
    assert np.array_equal(out["p2"][..., 0, 0], out["c2"].sum(axis=(-2, -1)))


def test_calibration_counts_spikes_and_synaptic_operations():
    w = np.array([[1, -1, 2], [0, 1, 1]], dtype=np.int8)
    net = Network(name="n", input_shape=(3,), time_steps=3, coding="rate",
                  layers=(Dense(name="d", input_shape=(3,), output_shape=(2,), weight=w, weight_bits=3, neuron=Neuron(kind="if", threshold=2, membrane_bits=8)),))
    x = np.array([[[1, 0, 1], [1, 1, 1]], [[1, 0, 0], [0, 0, 1]], [[0, 0, 1], [1, 1, 0]]], dtype=np.int8)  # [T=3, B=2, 3]
    measured = calibrate(net, x)
    # input events: sample 0 has 2 + 1 + 1 = 4 spikes, sample 1 has 3 + 1 + 2 = 6: mean 5; each feeds 2 outputs
    assert measured.input_activity.spikes == 5.0 and measured.layers[0].activity.synops == 10.0
    # currents sample 0: t0 [3, 1], t1 [1, 0], t2 [2, 1] -> neuron 0 fires at t0 (u=1), t1 (u=0), t2; neuron 1: u 1, 1, 2 -> fires t2
    spikes = simulate(net, x, record=True).outputs["d"]
    assert spikes[:, 0].tolist() == [[1, 0], [1, 0], [1, 1]]
    assert measured.layers[0].activity.measured and measured.layers[0].activity.spikes == spikes.sum() / 2
    assert measured.layers[0].activity.per_neuron.shape == (2,)


def test_integer_products_stay_exact_beyond_float_precision():
    x = np.array([[2**40, 3]], dtype=np.int64)
    w = np.array([[2**20], [1]], dtype=np.int64)
    assert integer_matmul(x, w)[0, 0] == 2**60 + 3


def test_inputs_of_the_wrong_shape_or_dtype_are_refused():
    net = small_network()
    with pytest.raises(IRError, match="shape"):
        simulate(net, np.zeros((3, 1, 2, 8, 8), dtype=np.int8))
    with pytest.raises(IRError, match="integers"):
        simulate(net, np.zeros((4, 1, 2, 8, 8)))
