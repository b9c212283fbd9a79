"""What converters refuse, and how they say it; the input model is never modified."""

import copy
import time

import pytest
import torch
from torch import nn

import snnq
from snnq.conversion import IntegerReference
from snnq.errors import ConfigError, ConversionError, UnknownNameError, UnsupportedOperationsError
from snnq.models import VGG, LeNet5
from tests.conversion.conftest import RATE_CONFIG


def quantized(model: nn.Module, config: dict = RATE_CONFIG) -> nn.Module:
    snnq.quantize_(model, config)
    model(torch.rand(4, *((1, 28, 28) if isinstance(model, LeNet5) else (3, 32, 32))))
    return model.eval()


class Odd(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.act = nn.ReLU()
        self.norm = nn.LayerNorm(26)
        self.gate = nn.Sigmoid()

    def forward(self, x):
        y = self.act(self.conv(x))
        return torch.tanh(self.norm(y)) * self.gate(y)


def test_unsupported_operations_are_all_listed_by_name_and_type():
    model = Odd()
    snnq.quantize_(model, RATE_CONFIG)
    with pytest.raises(UnsupportedOperationsError) as error:
        snnq.convert(model, method="rate")
    assert set(error.value.operations) == {("norm", "LayerNorm"), ("tanh", "tanh"), ("gate", "Sigmoid"), ("mul", "mul")}
    assert "4 unsupported operation(s)" in str(error.value)


def test_a_float_network_is_refused_with_every_missing_quantizer_named():
    with pytest.raises(ConversionError) as error:
        snnq.convert(LeNet5(), method="rate")
    message = str(error.value)
    for layer in ["features.0", "features.3", "classifier.1", "classifier.3", "classifier.5"]:
        assert f"layer {layer!r}" in message and "lacks a weight quantizer" in message
    for activation in ["features.1", "features.4", "classifier.2", "classifier.4"]:
        assert f"activation {activation!r} (ReLU) lacks an activation quantizer" in message


def test_weights_only_quantization_is_refused_for_lossless_methods():
    model = LeNet5()
    snnq.quantize_(model, {"weight": "fixed_point"})
    with pytest.raises(ConversionError, match=r"activation 'features.1' \(ReLU\) lacks an activation quantizer"):
        snnq.convert(model, method="scatter_gather")


def test_a_window_shorter_than_the_spike_budget_is_refused():
    model = quantized(LeNet5())
    with pytest.raises(ConversionError, match=r"rate: steps=8 is smaller than the spike budget of features.1 \(15 levels\)"):
        snnq.convert(model, method="rate", steps=8)
    assert snnq.convert(model, method="rate", steps=20).steps == 20


def test_bits_the_method_cannot_express_are_refused():
    model = quantized(LeNet5())
    with pytest.raises(ConversionError, match=r"activation 'features.1' has 15 levels; a spike budget of 4 expresses at most 4"):
        snnq.convert(model, method="scatter_gather", spike_budget=4)
    two_bit = quantized(LeNet5(), {**RATE_CONFIG, "activation": {"name": "uniform", "levels": 4, "scale": 0.5}})
    snnq.convert(two_bit, method="scatter_gather", spike_budget=4)  # S1's "four-spike" network
    with pytest.raises(ConversionError, match=r"ttfs needs the CAT activation, an unsigned log2 quantizer"):
        snnq.convert(two_bit, method="ttfs")


def test_activation_quantizers_that_cannot_become_neurons_are_refused():
    dynamic = quantized(LeNet5(), {**RATE_CONFIG, "activation": {"name": "dynamic_fixed_point", "bits": 4, "signed": False}})
    with pytest.raises(ConversionError, match=r"the step must be one calibrated number per tensor"):
        snnq.convert(dynamic, method="rate")
    even = quantized(LeNet5(), {**RATE_CONFIG, "activation": {"name": "uniform", "bits": 4, "rounding": "half_even"}})
    with pytest.raises(ConversionError, match=r"rounding 'half_even'; the neurons round half up"):
        snnq.convert(even, method="rate")


def test_bad_options():
    model = quantized(LeNet5())
    with pytest.raises(UnknownNameError, match=r"unknown converter 'rates' \(did you mean 'rate'\?\)"):
        snnq.convert(model, method="rates")
    with pytest.raises(ConfigError, match=r"converter 'rate': unknown option 'T'"):
        snnq.convert(model, method="rate", T=4)
    with pytest.raises(ConfigError, match=r"qcfs: steps=0 is invalid; expected an integer >= 1"):
        snnq.convert(model, method="qcfs", steps=0)
    with pytest.raises(UnknownNameError, match=r"unknown simulation mode 'stepwise'"):
        snnq.convert(model, method="rate")(torch.rand(1, 1, 28, 28), mode="stepwise")


def test_the_input_model_is_untouched():
    model = quantized(LeNet5())
    before = copy.deepcopy(model.state_dict())
    structure = repr(model)
    for method, options in [("rate", {}), ("scatter_gather", {"spike_budget": 15}), ("qcfs", {"steps": 4})]:
        snnq.convert(model, method=method, **options)
    assert repr(model) == structure
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_batchnorm_max_pooling_dropout_and_residual_additions_convert_exactly():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3, padding=1)
            self.bn = nn.BatchNorm2d(8)
            self.act = nn.ReLU()
            self.conv2 = nn.Conv2d(8, 8, 3, padding=1)
            self.act2 = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            self.drop = nn.Dropout(0.3)
            self.fc = nn.Linear(8 * 8 * 8, 5)

        def forward(self, x):
            a = self.act(self.bn(self.conv(x)))
            b = self.act2(self.conv2(a) + a)  # a residual sum of a spike train and a current
            return self.fc(torch.flatten(self.drop(self.pool(b)), 1))

    torch.manual_seed(0)
    model = Block()
    snnq.quantize_(model, {**RATE_CONFIG, "activation": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 3}})
    model.train()
    model(torch.rand(16, 3, 16, 16))
    model.eval()
    x = torch.rand(16, 3, 16, 16)
    expected = IntegerReference(model)(x)  # float biases: the float32 ANN's last bits follow the BLAS's order
    for method, options in [("rate", {}), ("scatter_gather", {"spike_budget": 7})]:
        snn = snnq.convert(model, method=method, **options)
        for mode in ("window", "step"):
            assert torch.equal(snn(x, mode=mode), expected), (method, mode)


def test_vgg16_converts_in_under_five_seconds():
    model = quantized(VGG("vgg16"))
    start = time.perf_counter()
    snn = snnq.convert(model, method="rate")
    elapsed = time.perf_counter() - start
    assert elapsed < 5.0, f"VGG-16 conversion took {elapsed:.2f} s"
    x = torch.rand(2, 3, 32, 32)
    assert torch.equal(snn(x), IntegerReference(model)(x))


def test_an_input_quantizer_encodes_the_input_and_is_no_neuron_layer():
    model = LeNet5()
    config = {**RATE_CONFIG, "bias": {"name": "fixed_point", "bits": 16, "frac_bits": 8}, "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8}}
    snnq.quantize_(model, config)
    model(torch.rand(8, 1, 28, 28))
    model.eval()
    snn = snnq.convert(model, method="rate")
    assert "input" not in snn.spiking_layers() and len(snn.spiking_layers()) == 4
    x = torch.rand(8, 1, 28, 28)
    for mode in ("window", "step"):  # integer inputs and biases on the accumulators' grids: the float ANN is exact too
        assert torch.equal(snn(x, mode=mode), model(x))
