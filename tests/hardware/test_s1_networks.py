"""The zou2021_chip preset's shape-only S1 networks are the converted models' on-chip layers, and model them alike.

The preset's checks describe S1's LeNet and VGG by shape (`snnq.hardware.networks.s1_network`) plus the activity
a recipe run measured; these tests tie that description to the torch models: the same layers, shapes, synapse
encoding and threshold groups as `to_ir` writes for the converted `s1_lenet` / `s1_vgg`, and the same modelled
latency and energy as the converted IR itself given the same counts.
"""

import numpy as np
import pytest
import torch
from torch import nn

import snnq
from snnq.conversion import input_codes, to_ir
from snnq.hardware import calibrate, load_preset, save_ir
from snnq.hardware.figures import FIGURES
from snnq.hardware.networks import paper_network
from snnq.models.s1 import s1_lenet, s1_vgg

S1_QUANT = {"weight": {"name": "s1_ternary"}, "activation": {"name": "s1_median", "k": 1, "bound": 2, "rounding": "half_even"}}
MODELS = {"s1_lenet_mnist": (s1_lenet, (1, 28, 28)), "s1_vgg_cifar10": (s1_vgg, (3, 24, 24))}


def converted_ir(name: str, images: int = 4):
    """The integer IR of the untrained, converted torch model of ``name``, calibrated on random images."""
    build, shape = MODELS[name]
    torch.manual_seed(0)
    model = build()
    off_chip = set(model.off_chip_layers())
    snnq.quantize_(model, S1_QUANT, filter_fn=lambda module, layer: layer not in off_chip)
    for module in model.modules():  # spread the pre-activations over the four levels
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            module.running_var.data.fill_(0.01 if isinstance(module, nn.BatchNorm2d) else 1.0)
            module.bias.data.fill_(0.5)
    snn = snnq.convert(model.eval(), method="scatter_gather")
    x = torch.rand(images, *shape)
    return calibrate(to_ir(snn, input_shape=shape), input_codes(snn, x))


@pytest.mark.parametrize("name", list(MODELS))
def test_shape_only_network_is_the_converted_models_on_chip_part(name):
    ir, shape_only = converted_ir(name, images=1), paper_network(name)
    assert ir.input_shape == shape_only.input_shape
    assert [(type(a).__name__, a.output_shape) for a in ir] == [(type(b).__name__, b.output_shape) for b in shape_only]
    for a, b in zip(ir.weighted_layers(), shape_only.weighted_layers()):
        assert (a.stride, a.padding) == (b.stride, b.padding) if hasattr(a, "stride") else True
        assert int(np.abs(a.integer_weight()[0]).max()) <= 1 and b.synapse == "ternary"  # {-1, 0, 1}: no replication
        assert (a.neuron.kind, a.neuron.levels) == (b.neuron.kind, b.neuron.levels) == ("sg_stateless", 4)
    assert (ir.time_steps, ir.coding, ir.schedule) == (shape_only.time_steps, shape_only.coding, shape_only.schedule)


def test_shape_only_lenet_with_the_ir_counts_models_what_the_ir_models():
    """Same counts, same chip figures: latency exactly (counts and shapes decide it); energy up to the neurons'
    per-bit term (the converter sizes each layer's membrane, the shape-only network uses one width)."""
    ir = converted_ir("s1_lenet_mnist")
    options = {"input_spikes": float(ir.input_activity.spikes),
               "measured": {b: {"spikes": float(a.activity.spikes), "synops": float(a.activity.synops)}
                            for a, b in zip(ir, [layer.name for layer in paper_network("s1_lenet_mnist")])}}
    preset = load_preset("zou2021_chip")
    backend = preset.backend_instance(preset.hardware)
    from_ir, from_shapes = backend.evaluate(ir), backend.evaluate(paper_network("s1_lenet_mnist", **options))
    latency, energy = FIGURES["latency_ms"], FIGURES["energy_mj"]
    assert latency.value(from_shapes, None) == latency.value(from_ir, None)
    assert energy.value(from_shapes, None) == pytest.approx(energy.value(from_ir, None), rel=1e-4)
    doubled = {**options, "measured": {k: {"spikes": 2 * v["spikes"], "synops": 2 * v["synops"]} for k, v in options["measured"].items()}}
    assert latency.value(backend.evaluate(paper_network("s1_lenet_mnist", **doubled)), None) > 1.2 * latency.value(from_ir, None)


def test_bench_reads_the_runs_counts_under_the_shape_only_names_and_refuses_another_network(tmp_path):
    from bench.s1_activity import activity

    ir = converted_ir("s1_lenet_mnist")
    save_ir(ir, tmp_path)
    options = activity(tmp_path, "lenet")
    assert list(options["measured"]) == [layer.name for layer in paper_network("s1_lenet_mnist")]
    assert options["measured"]["conv1"]["synops"] == round(float(ir.layers[0].activity.synops), 1)
    assert options["input_spikes"] == round(float(ir.input_activity.spikes), 1)
    with pytest.raises(RuntimeError, match="does not line up with s1_vgg_cifar10"):
        activity(tmp_path, "vgg")
