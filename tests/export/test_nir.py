"""NIR export that keeps quantization, read back by NIR, snnq, snnTorch and SpikingJelly; NIR import into snnq neurons."""

import contextlib
import io
import warnings

import nir
import numpy as np
import pytest
import torch

from snnq.cli.main import main
from snnq.export import ExportError, NIRUnsupportedError
from snnq.export.nir_export import export_nir, graph_inputs, nir_graph, read_meta
from snnq.export.nir_import import import_nir
from snnq.hardware import Add, Conv2d, Dense, Flatten, Network, Neuron, load_ir, simulate
from tests.export.helpers import small_inputs, small_variant

ROUND_TRIP_IMAGES = 30
SNNTORCH_IMAGES = 10


def _inputs(run_dir, count=ROUND_TRIP_IMAGES):
    with np.load(run_dir / "hw_inputs.npz") as data:
        return data["inputs"][:, :count]


def _spikingjelly_scores(graph, x):
    from spikingjelly.activation_based.nir_exchange import import_from_nir

    dtype = torch.float32 if read_meta(graph)["float32_exact"] else torch.float64
    model = import_from_nir(graph, dtype=dtype)
    out, _ = model(torch.as_tensor(x[0], dtype=dtype))
    return out.detach().double().numpy()


def _snntorch_scores(graph, x):
    """snnTorch's importer, image by image: it maps NIR's Flatten(start_dim=0) to torch's, which flattens the batch too
    (snnTorch's own exporter writes start_dim=0 for torch's Flatten(1), so its importer disagrees with it)."""
    import snntorch.utils
    from snntorch.import_nir import import_from_nir

    with contextlib.redirect_stdout(io.StringIO()):  # the importer prints progress
        model = import_from_nir(graph)
    outs = []
    for b in range(x.shape[1]):
        snntorch.utils.reset(model)
        out = model(torch.as_tensor(x[0, b : b + 1], dtype=torch.float32))
        outs.append((out[0] if isinstance(out, tuple) else out).detach().double().numpy().reshape(-1))
    return np.stack(outs)


@pytest.mark.parametrize("coding", ["rate", "scatter_gather", "ttfs"])
def test_layerwise_networks_round_trip_exactly_through_nir_snnq_snntorch_and_spikingjelly(lenet_runs, tmp_path, coding):
    network = load_ir(lenet_runs[coding])
    x = _inputs(lenet_runs[coding])
    expected = simulate(network, x).scores
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = export_nir(lenet_runs[coding], tmp_path / "net.nir")
    graph = nir.read(path)  # what NIR itself reads back
    facts = read_meta(graph)
    assert facts["form"] == "levels" and facts["steps_to_run"] == 1 and facts["time_steps"] == network.time_steps
    assert facts["output_unit"] == list(network.metadata["output_unit"])
    assert np.array_equal(import_nir(graph).integer_scores(x), expected)
    scores = graph_inputs(graph, x)
    assert np.array_equal(_spikingjelly_scores(graph, scores), expected)
    if "snntorch" in facts["exact_in"]:
        assert not caught
        few = SNNTORCH_IMAGES  # one model call per image
        assert np.array_equal(_snntorch_scores(graph, scores[:, :few]), expected[:few].astype(np.float64))
    else:  # the integers pass 2^24: float32 layers cannot promise them, and the export says so
        assert facts["max_magnitude"] >= 2**24 and "float32" in facts["not_exact_in"]["snntorch"]
        assert any("snntorch" in str(w.message) for w in caught)


def test_graph_nodes_carry_bits_scales_and_the_neuron_rule(lenet_runs):
    network = load_ir(lenet_runs["rate"])
    graph = nir_graph(network)
    first = read_meta(graph.nodes["features.0"])
    layer = network.layers[0]
    assert first["weight_bits"] == 4 and first["synapse"] == "signed" and first["weight_scale"] == list(layer.weight_scale)
    assert first["neuron"]["kind"] == "if" and first["neuron"]["membrane_bits"] == layer.neuron.membrane_bits
    assert first["neuron"]["levels"] == network.time_steps
    weight = graph.nodes["features.0"].weight
    assert weight.shape[0] == network.time_steps * layer.output_shape[0]
    assert np.array_equal(weight[: layer.output_shape[0]], layer.weight.astype(np.float32))  # integer codes, exactly
    assert isinstance(graph.nodes["features.0.neuron"], nir.LIF)


def test_parallel_network_exports_native_nodes_exact_in_snnq_and_says_where_not(qcfs_run, tmp_path):
    network = load_ir(qcfs_run)
    assert network.schedule == "parallel" and network.time_steps == 8
    with pytest.warns(UserWarning, match="exact in nir, snnq; not in snntorch"):
        path = export_nir(qcfs_run, tmp_path / "qcfs.nir")
    graph = nir.read(path)
    facts = read_meta(graph)
    assert facts["form"] == "native" and facts["steps_to_run"] == 8
    assert set(facts["not_exact_in"]) == {"snntorch", "spikingjelly"}
    assert "reset by subtraction" in facts["not_exact_in"]["spikingjelly"]
    assert isinstance(graph.nodes["features.0.neuron"], nir.IF)
    x = _inputs(qcfs_run)
    assert np.array_equal(import_nir(graph).integer_scores(x), simulate(network, x).scores)
    with pytest.raises(ExportError, match="not in snntorch"):
        export_nir(qcfs_run, tmp_path / "strict.nir", strict=True)
    with pytest.raises(ExportError, match="layerwise schedule, which NIR nodes cannot state"):
        nir_graph(load_ir(qcfs_run).with_layers(network.layers, schedule="layerwise"), form="native")


@pytest.mark.parametrize("kind, schedule, steps", [
    ("if", "layerwise", 4), ("sg_stateless", "layerwise", 4), ("ttfs", "layerwise", 4),
    ("if", "parallel", 1), ("lif", "parallel", 1), ("sg_stateless", "parallel", 1),
    ("if", "parallel", 4), ("lif", "parallel", 4), ("sg_stateless", "parallel", 4), ("ttfs", "parallel", 4),
])
def test_every_neuron_kind_survives_export_and_import_bit_for_bit(kind, schedule, steps):
    network = small_variant(kind, schedule, steps=steps, shift=2)  # 6- to 8-bit membranes: saturation happens
    x = small_inputs(network, 64, seed=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        graph = nir_graph(network)
    assert np.array_equal(import_nir(graph).integer_scores(x), simulate(network, x).scores)


def test_unsupported_nir_nodes_are_listed():
    shape = np.array([4])
    nodes = {
        "input": nir.Input(input_type={"input": shape}),
        "fc": nir.Affine(weight=np.eye(4, dtype=np.float32), bias=np.zeros(4, dtype=np.float32)),
        "cuba": nir.CubaLIF(tau_syn=np.ones(4), tau_mem=np.ones(4), r=np.ones(4), v_leak=np.zeros(4), v_threshold=np.ones(4)),
        "delay": nir.Delay(delay=np.ones(4)),
        "output": nir.Output(output_type={"output": shape}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "delay"), ("delay", "output")])
    with pytest.raises(NIRUnsupportedError, match=r"2 unsupported: cuba \(CubaLIF: .*delay \(Delay: ") as error:
        import_nir(graph)
    assert [item[:2] for item in error.value.items] == [("cuba", "CubaLIF"), ("delay", "Delay")]


def test_layers_without_nir_counterpart_are_listed_on_export():
    conv = Conv2d(name="conv", input_shape=(1, 4, 4), output_shape=(2, 4, 4), weight=np.ones((2, 1, 3, 3), dtype=np.int8), weight_bits=4,
                  padding=1, neuron=Neuron(kind="if", threshold=3, membrane_bits=8))
    add = Add(name="res", inputs=("conv", "conv"), input_shape=(2, 4, 4), output_shape=(2, 4, 4))
    flat = Flatten(name="flat", inputs=("res",), input_shape=(2, 4, 4), output_shape=(32,))
    out = Dense(name="out", inputs=("flat",), input_shape=(32,), output_shape=(3,), weight=np.ones((3, 32), dtype=np.int8), weight_bits=4)
    network = Network(name="residual", input_shape=(1, 4, 4), time_steps=2, coding="rate", layers=(conv, add, flat, out), schedule="layerwise")
    with pytest.raises(NIRUnsupportedError, match=r"res \(add: .*no NIR counterpart"):
        nir_graph(network)


def test_foreign_lif_graph_follows_nir_equations():
    """A graph not written by snnq: LIF with tau = 2 dt (v = v/2 + I), reset to zero (a threshold no membrane value equals)."""
    rng = np.random.default_rng(0)
    weight = rng.integers(-3, 4, size=(5, 6)).astype(np.float32)
    n = 5
    nodes = {
        "input": nir.Input(input_type={"input": np.array([6])}),
        "fc": nir.Linear(weight=weight),
        "lif": nir.LIF(tau=np.full(n, 2e-4), r=np.full(n, 2.0), v_leak=np.zeros(n), v_threshold=np.full(n, 2.3), v_reset=np.zeros(n)),
        "output": nir.Output(output_type={"output": np.array([n])}),
    }
    graph = nir.NIRGraph(nodes=nodes, edges=[("input", "fc"), ("fc", "lif"), ("lif", "output")])
    x = rng.integers(0, 3, size=(12, 4, 6)).astype(np.float32)
    v = np.zeros((4, n))
    expected = []
    for t in range(12):
        v = 0.5 * v + x[t] @ weight.T
        spikes = v > 2.3
        v = np.where(spikes, 0.0, v)
        expected.append(spikes)
    out = import_nir(graph)(torch.as_tensor(x))
    assert torch.equal(out, torch.as_tensor(np.stack(expected), dtype=out.dtype))


def test_cli_writes_a_nir_file(lenet_runs, tmp_path, capsys):
    assert main(["export", "nir", str(lenet_runs["scatter_gather"]), str(tmp_path / "sg.nir")]) == 0
    out = capsys.readouterr().out
    assert "levels form, 1 step(s), exact in nir, snnq, snntorch, spikingjelly" in out
    assert read_meta(nir.read(tmp_path / "sg.nir"))["coding"] == "scatter_gather"


def _run_sequential(model, x):
    import snnq
    from snnq.models.spiking import STATELESS

    snnq.reset_state(model)
    steps, batch = x.shape[:2]
    for layer in model:
        if isinstance(layer, STATELESS):
            y = layer(x.flatten(0, 1))
            x = y.reshape(steps, batch, *y.shape[1:])
        else:
            x = layer(x)
    return x


def test_trained_snn_with_snnq_neurons_round_trips_exactly(tmp_path):
    import snnq
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), snnq.neuron("if", bits=8, threshold=0.5, precharge=0.5), nn.AvgPool2d(2),
                          nn.Flatten(), nn.Linear(64, 16), snnq.neuron("plif", beta=0.8, bits=10), nn.Linear(16, 3))
    snnq.quantize_(model, {"weight": {"name": "fixed_point", "bits": 4}})
    with torch.no_grad():
        model[5].leak.weight.fill_(1.1)  # a "learned" leak, which must travel with the file
    x = torch.rand(6, 5, 1, 8, 8)
    with torch.no_grad():
        expected = _run_sequential(model.eval(), x)
    with pytest.warns(UserWarning, match="not in snntorch"):
        path = export_nir(model, tmp_path / "trained.nir", input_shape=(1, 8, 8))
    graph = nir.read(path)
    conv = read_meta(graph.nodes["0"])
    assert conv["quantized"] and conv["bits"] == 4 and len(conv["scale"]) >= 1
    assert isinstance(graph.nodes["1"], nir.IF) and isinstance(graph.nodes["5"], nir.LIF)
    assert read_meta(graph.nodes["5"])["snnq_neuron"] == "plif"
    with torch.no_grad():
        assert torch.equal(import_nir(graph)(x), expected)


def test_trained_network_layers_without_nir_counterpart_are_listed():
    import snnq
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), snnq.neuron("if"), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(18, 2))
    with pytest.raises(NIRUnsupportedError, match=r"1 \(BatchNorm2d: batch normalisation .*3 \(MaxPool2d: max pooling"):
        export_nir(model.eval(), "unused.nir", input_shape=(1, 8, 8))
