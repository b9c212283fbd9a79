"""The integer IR: every layer kind validates its shapes, and a file round trip changes nothing."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from snnq.hardware.errors import IRError
from snnq.hardware.ir import Activity, Add, AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Network, Neuron
from snnq.hardware.ir_io import IR_FILENAME, load_ir, save_ir
from snnq.hardware.networks import paper_network


def every_kind_network() -> Network:
    """Every layer kind, every neuron kind, per-channel thresholds and scales, log2 and ternary synapses, activity arrays."""
    rng = np.random.default_rng(3)
    act = lambda shape: Activity(spikes=12.5, synops=345.25, measured=True, per_neuron=rng.random(shape), peak_step=7.0, source="unit test")  # noqa: E731
    layers = (
        Conv2d(name="stem", input_shape=(4, 9, 9), output_shape=(8, 5, 5), weight=rng.integers(-7, 8, (8, 2, 3, 3)).astype(np.int8),
               weight_scale=np.linspace(0.1, 0.8, 8), weight_bits=4, stride=2, padding=1, groups=2,
               bias=np.arange(8, dtype=np.int16) - 4, neuron=Neuron(kind="lif", threshold=np.arange(1, 9), membrane_bits=12, leak_shift=3),
               activity=act((8, 5, 5))),
        MaxPool2d(name="mp", inputs=("stem",), input_shape=(8, 5, 5), output_shape=(8, 4, 4), kernel=2, stride=1),
        Conv2d(name="branch", inputs=("mp",), input_shape=(8, 4, 4), output_shape=(8, 4, 4), weight=rng.integers(-1, 2, (8, 8, 3, 3)).astype(np.int8),
               weight_bits=2, synapse="ternary", padding=1, neuron=Neuron(kind="sg_stateless", threshold=2, membrane_bits=8)),
        Add(name="res", inputs=("mp", "branch"), input_shape=(8, 4, 4), output_shape=(8, 4, 4),
            neuron=Neuron(kind="if", threshold=3, membrane_bits=8, initial=1)),
        AvgPool2d(name="ap", inputs=("res",), input_shape=(8, 4, 4), output_shape=(8, 2, 2), kernel=2),
        Flatten(name="flat", inputs=("ap",), input_shape=(8, 2, 2), output_shape=(32,)),
        Dense(name="fc", inputs=("flat",), input_shape=(32,), output_shape=(10,), weight=rng.integers(-15, 16, (10, 32)).astype(np.int16),
              weight_scale=0.03125, weight_bits=5, synapse="log2", neuron=Neuron(kind="ttfs", threshold=4, membrane_bits=16)),
    )
    return Network(name="every_kind", input_shape=(4, 9, 9), time_steps=6, coding="qcfs", layers=layers, input_bits=2,
                   input_activity=Activity(spikes=40.0, synops=0.0, measured=False, source="assumed"),
                   metadata={"dataset": "unit", "nested": {"a": [1, 2.5, None], "b": (3, "x")}, "flag": True})


def test_a_round_trip_gives_identical_arrays_and_metadata(tmp_path):
    network = every_kind_network()
    path = save_ir(network, tmp_path / "net.ir.npz")
    loaded = load_ir(path)
    assert loaded == network
    for before, after in zip(network.layers, loaded.layers):
        assert type(after) is type(before)
        if hasattr(before, "weight"):
            assert after.weight.dtype == before.weight.dtype and np.array_equal(after.weight, before.weight)
    assert loaded.layers[0].bias.dtype == np.int16
    assert np.array_equal(loaded.layers[0].neuron.threshold, np.arange(1, 9))
    assert np.array_equal(loaded.layers[0].activity.per_neuron, network.layers[0].activity.per_neuron)
    assert dict(loaded.metadata) == {"dataset": "unit", "nested": {"a": [1, 2.5, None], "b": (3, "x")}, "flag": True}
    assert loaded.layers[3].inputs == ("mp", "branch")


def test_a_changed_array_makes_networks_unequal(tmp_path):
    network = every_kind_network()
    loaded = load_ir(save_ir(network, tmp_path / "a.ir.npz"))
    codes = loaded.layers[-1].weight.copy()
    codes[0, 0] += 1
    from dataclasses import replace

    changed = loaded.with_layers(loaded.layers[:-1] + (replace(loaded.layers[-1], weight=codes),))
    assert changed != network


def test_a_run_directory_holds_the_network_under_its_documented_name(tmp_path):
    network = paper_network("lenet5_mnist", time_steps=3)
    save_ir(network, tmp_path)
    assert (tmp_path / IR_FILENAME).is_file()
    assert load_ir(tmp_path) == network


def test_the_file_is_an_npz_with_a_json_description(tmp_path):
    path = save_ir(every_kind_network(), tmp_path / "x.ir.npz")
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "__ir__.npy" in names and "layers.0.weight.npy" in names
    meta = json.loads(bytes(np.load(path)["__ir__"]).decode())
    assert meta["format_version"] == 1 and meta["network"]["layers"]["__tuple__"][0]["__type__"] == "layer:conv2d"


def test_a_file_of_another_format_version_is_refused(tmp_path):
    path = save_ir(every_kind_network(), tmp_path / "x.ir.npz")
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(bytes(arrays["__ir__"]).decode())
    meta["format_version"] = 99
    arrays["__ir__"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
    np.savez(path, **arrays)
    with pytest.raises(IRError, match="format version 99"):
        load_ir(path)


def test_arrays_are_read_only_copies():
    codes = np.ones((2, 3), dtype=np.int8)
    layer = Dense(name="d", input_shape=(3,), output_shape=(2,), weight=codes, weight_bits=4)
    codes[0, 0] = 5
    assert layer.weight[0, 0] == 1
    with pytest.raises(ValueError):
        layer.weight[0, 0] = 2


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Dense(name="d", input_shape=(3,), output_shape=(4,), weight=np.ones((2, 3), np.int8), weight_bits=4), "does not follow"),
        (lambda: Dense(name="d", input_shape=(3,), output_shape=(2,), weight=np.ones((2, 3)), weight_bits=4), "integer codes"),
        (lambda: Dense(name="d", input_shape=(3,), output_shape=(2,), weight=np.full((2, 3), 8, np.int8), weight_bits=4), r"\[-8, 7\]"),
        (lambda: Dense(name="d", input_shape=(3,), output_shape=(2,), weight=np.full((2, 3), 2, np.int8), weight_bits=2, synapse="ternary"), r"\[-1, 1\]"),
        (lambda: Dense(name="d", input_shape=(3,), output_shape=(2,), weight=np.ones((2, 3), np.int8), weight_bits=4, synapse="ternery"), "did you mean 'ternary'"),
        (lambda: Neuron(kind="if", threshold=0, membrane_bits=8), "threshold must be an integer in 1..127"),
        (lambda: Neuron(kind="if", threshold=2.5, membrane_bits=8), "threshold must be an integer"),
        (lambda: Neuron(kind="lif", threshold=2, membrane_bits=8), "leak_shift must be > 0"),
        (lambda: Neuron(kind="izhikevich", threshold=2, membrane_bits=8), "valid: if, lif, sg_stateless, ttfs"),
        (lambda: Conv2d(name="c", input_shape=(3, 8, 8), output_shape=(4, 8, 8), weight=np.ones((4, 2, 3, 3), np.int8), weight_bits=4, padding=1), "groups=1"),
        (lambda: Conv2d(name="c", input_shape=(2, 8, 8), output_shape=(4, 4, 4), weight=np.ones((4, 2, 3, 3), np.int8), weight_bits=4, stride=2), r"expected \(4, 3, 3\)"),
        (lambda: Add(name="a", inputs=("x",), input_shape=(3,), output_shape=(3,)), "two or more inputs"),
        (lambda: Activity(spikes=-1.0, synops=0.0, measured=True), "spikes must be a finite number >= 0"),
    ],
)
def test_inconsistent_layers_are_rejected_with_the_reason(build, message):
    with pytest.raises(IRError, match=message):
        build()


def test_a_network_checks_names_and_connections():
    d = lambda name, src, n_in=3: Dense(name=name, inputs=(src,), input_shape=(n_in,), output_shape=(3,), weight=np.ones((3, n_in), np.int8), weight_bits=4)  # noqa: E731
    with pytest.raises(IRError, match="'b' reads 'nowhere'"):
        Network(name="n", input_shape=(3,), time_steps=2, coding="rate", layers=(d("a", "input"), d("b", "nowhere")))
    with pytest.raises(IRError, match="used twice"):
        Network(name="n", input_shape=(3,), time_steps=2, coding="rate", layers=(d("a", "input"), d("a", "a")))
    with pytest.raises(IRError, match=r"expects input_shape \(4,\) but 'a' gives \(3,\)"):
        Network(name="n", input_shape=(3,), time_steps=2, coding="rate", layers=(d("a", "input"), d("b", "a", 4)))
    with pytest.raises(IRError, match="unknown coding 'rat'"):
        Network(name="n", input_shape=(3,), time_steps=2, coding="rat", layers=(d("a", "input"),))


def test_connections_exclude_padding():
    # 3x3 input, 3x3 kernel, padding 1: per axis the three outputs see 2 + 3 + 2 = 7 taps
    conv = Conv2d(name="c", input_shape=(2, 3, 3), output_shape=(5, 3, 3), weight=np.ones((5, 2, 3, 3), np.int8), weight_bits=2, padding=1)
    assert conv.connections() == 5 * 2 * 7 * 7
    assert conv.matrix_shape() == (1, 18, 5) and conv.positions() == 9


def test_log2_codes_become_exact_integer_weights():
    layer = Dense(name="d", input_shape=(4,), output_shape=(1,), weight=np.array([[0, 1, -2, 4]], np.int8), weight_bits=4, synapse="log2")
    values, factor = layer.integer_weight()
    # |c| = e + 1 means 2^-e: codes 1, -2, 4 are 1, -1/2, 1/8 = (8, -4, 1) * 2^-3
    assert values.tolist() == [[0, 8, -4, 1]] and factor == 2.0**-3
