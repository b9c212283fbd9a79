"""S1's LeNet and VGG in the authors' layouts (PAPERS.md S1, "[V, from the authors' public code]")."""

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import snnq
from snnq.errors import ConfigError
from snnq.experiment.pipeline import apply_quantization
from snnq.quant.apply import QuantizedActivation

S1_QUANT = {"weight": {"name": "s1_ternary"}, "activation": {"name": "s1_median"}}


def synaptic(model):
    return [(name, m) for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def output_sides(model, x):
    """Each synaptic layer's output shape (without the batch) for input ``x``."""
    shapes = {}
    hooks = [m.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:]))) for name, m in synaptic(model)]
    model.eval()(x)
    for hook in hooks:
        hook.remove()
    return shapes


def test_lenet_layout_shapes_and_strides():
    model = snnq.MODELS.build("s1_lenet")
    assert output_sides(model, torch.rand(2, 1, 28, 28)) == {
        "features.conv0": (16, 28, 28), "features.conv1": (16, 24, 24), "features.conv2": (16, 12, 12),
        "features.conv3": (32, 8, 8), "features.conv4": (32, 4, 4), "classifier.fc5": (256,), "classifier.fc6": (10,),
    }
    convs = {name: (m.kernel_size, m.stride) for name, m in synaptic(model) if isinstance(m, nn.Conv2d)}
    assert convs == {
        "features.conv0": ((5, 5), (1, 1)), "features.conv1": ((5, 5), (1, 1)), "features.conv2": ((2, 2), (2, 2)),
        "features.conv3": ((5, 5), (1, 1)), "features.conv4": ((2, 2), (2, 2)),
    }
    assert not any(isinstance(m, (nn.MaxPool2d, nn.AvgPool2d)) for m in model.modules())  # stride-2 convs instead


def test_vgg_layout_on_24_pixel_crops_has_the_authors_parameter_count():
    model = snnq.MODELS.build("s1_vgg")
    sides = output_sides(model, torch.rand(2, 3, 24, 24))
    assert [sides[f"features.conv{i}"] for i in range(12)] == [
        (64, 24, 24), (64, 24, 24), (64, 24, 24), (64, 12, 12), (128, 12, 12), (128, 12, 12), (128, 6, 6),
        (256, 6, 6), (256, 6, 6), (256, 3, 3), (512, 3, 3), (512, 1, 1)]
    assert sides["classifier.fc12"] == (10,)
    strided = [name for name, m in synaptic(model) if isinstance(m, nn.Conv2d) and m.stride == (2, 2)]
    assert strided == ["features.conv3", "features.conv6", "features.conv9"]
    weights = sum(m.weight.numel() for _, m in synaptic(model))
    norms = sum(m.num_features for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    assert weights + 4 * norms == 5_079_272  # the authors' count: weights + BN's beta, gamma, mean, variance


@pytest.mark.parametrize(("name", "last"), [("s1_lenet", "classifier.fc6"), ("s1_vgg", "classifier.fc12")])
def test_no_bias_batch_norm_after_every_layer_and_relu_after_every_hidden_one(name, last):
    model = snnq.MODELS.build(name)
    layers = [(n, m) for n, m in model.named_modules() if not list(m.children())]
    for index, (n, module) in enumerate(layers):
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            assert module.bias is None, n
            assert isinstance(layers[index + 1][1], nn.modules.batchnorm._BatchNorm), n
            if n != last:
                assert isinstance(layers[index + 2][1], nn.ReLU), n
    assert isinstance(layers[-1][1], nn.BatchNorm1d) and layers[-2][0] == last  # the logits: no ReLU after BN


@pytest.mark.parametrize(("name", "off_chip"), [("s1_lenet", ("features.conv0", "classifier.fc6")), ("s1_vgg", ("features.conv0", "classifier.fc12"))])
def test_the_first_and_the_last_synaptic_layers_are_off_chip(name, off_chip):
    model = snnq.MODELS.build(name)
    layers = [n for n, _ in synaptic(model)]
    assert model.off_chip_layers() == off_chip == (layers[0], layers[-1])


def test_s1_quantization_leaves_the_off_chip_layers_in_float():
    model = snnq.MODELS.build("s1_lenet")
    apply_quantization(model, {**S1_QUANT, "keep_float": list(model.off_chip_layers())})
    quantized = {n for n, m in synaptic(model) if parametrize.is_parametrized(m, "weight")}
    assert quantized == {"features.conv1", "features.conv2", "features.conv3", "features.conv4", "classifier.fc5"}
    for n in quantized:
        assert set(model.get_submodule(n).weight.unique().tolist()) <= {-1.0, 0.0, 1.0}
    activations = [n for n, m in model.named_modules() if isinstance(m, QuantizedActivation)]
    assert activations == [f"features.relu{i}" for i in range(5)] + ["classifier.relu5"]  # the first layer's spikes too
    assert model(torch.rand(3, 1, 28, 28)).shape == (3, 10)


def test_stride_two_layers_need_an_even_side():
    with pytest.raises(ConfigError, match=r"conv6: a 2x2/2 layer needs a side divisible by its stride and kernel = stride; got side 13"):
        snnq.MODELS.build("s1_vgg", input_size=26)  # 26 -> 13 after conv3: the second 2x2/2 layer meets an odd side
