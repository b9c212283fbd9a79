"""The integer IR of a converted network computes its outputs bit for bit, with integers only."""

import numpy as np
import pytest
import torch
from torch import nn

import snnq
from snnq.conversion import Activity
from snnq.conversion.to_ir import input_codes, to_ir
from snnq.errors import ConversionError
from snnq.hardware import load_ir, save_ir
from snnq.hardware.simulate import simulate
from snnq.models import LeNet5
from tests.conversion.conftest import RATE_CONFIG

CASES = [("rate", "rate", {}), ("rate", "scatter_gather", {"spike_budget": 15}), ("ttfs", "ttfs", {})]


@pytest.mark.parametrize("model, method, options", CASES)
def test_integer_ir_reproduces_the_spiking_network(integer_lenets, mnist, tmp_path, model, method, options):
    snn = snnq.convert(integer_lenets[model], method=method, **options)
    images = mnist["test"][0][:200]
    activity = Activity()
    logits = snn(images, activity=activity).double().numpy()
    network = to_ir(snn, input_shape=(1, 28, 28), name=f"lenet5_{method}")
    assert network.metadata["exact"] is True and network.schedule == "layerwise"
    save_ir(network, tmp_path)
    network = load_ir(tmp_path)  # what a hardware backend reads
    result = simulate(network, input_codes(snn, images))
    assert result.scores.dtype == np.int64
    scores = result.scores.astype(np.float64) * np.asarray(network.metadata["output_unit"])
    assert np.array_equal(scores, logits)  # bit for bit, from integers alone
    neuron_layers = [layer.name for layer in network.layers if layer.neuron is not None]
    spikes_ir = [result.activity[name].spikes for name in neuron_layers]
    spikes_snn = [layer.summary()["spikes_per_inference"] for layer in activity.layers.values()]
    assert spikes_ir == pytest.approx(spikes_snn, rel=1e-12)


def test_weights_and_thresholds_are_integers_of_the_stated_widths(integer_lenets):
    network = to_ir(snnq.convert(integer_lenets["rate"], method="rate"), input_shape=(1, 28, 28))
    assert network.input_bits == 8
    for layer in network.weighted_layers():
        assert layer.weight.dtype == np.int64 and layer.weight_bits == 4
        assert layer.weight.min() >= -8 and layer.weight.max() <= 7
        if layer.neuron is not None:
            assert np.asarray(layer.neuron.threshold).dtype.kind == "i" and np.all(np.asarray(layer.neuron.threshold) >= 1)


def test_a_bias_finer_than_the_accumulator_shifts_it_and_stays_exact():
    torch.manual_seed(0)
    model = LeNet5()
    fine = {**RATE_CONFIG, "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8}, "bias": {"name": "fixed_point", "bits": 24, "frac_bits": 20}}
    snnq.quantize_(model, fine)
    model(torch.rand(8, 1, 28, 28) * 3)
    snn = snnq.convert(model.eval(), method="rate")
    network = to_ir(snn, input_shape=(1, 28, 28))
    assert max(layer.shift for layer in network.weighted_layers()) > 0
    x = torch.rand(16, 1, 28, 28)
    scores = simulate(network, input_codes(snn, x)).scores * np.asarray(network.metadata["output_unit"])
    assert np.array_equal(scores, snn(x).double().numpy())


def test_what_has_no_integer_form_is_refused():
    def convertible(config, model=None):
        model = model or LeNet5()
        snnq.quantize_(model, config)
        model(torch.rand(4, 1, 28, 28))
        return snnq.convert(model.eval(), method="rate")

    with pytest.raises(ConversionError, match="the network's input is not quantized"):
        to_ir(convertible(RATE_CONFIG), input_shape=(1, 28, 28))
    integer_input = {"input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8}}
    float_bias = convertible({**RATE_CONFIG, **integer_input})
    with pytest.raises(ConversionError, match=r"the bias of layer '[a-z.0-9]+' is not an integer number of accumulator units even after"):
        to_ir(float_bias, input_shape=(1, 28, 28))

    class WithNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.input = nn.Identity()
            self.conv = nn.Conv2d(1, 4, 3, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.act = nn.ReLU()
            self.fc = nn.Linear(4 * 26 * 26, 3, bias=False)

        def forward(self, x):
            return self.fc(torch.flatten(self.act(self.bn(self.conv(self.input(x)))), 1))

    config = {**RATE_CONFIG, "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8}}
    with pytest.raises(ConversionError, match=r"'bn' \(BatchNorm2d\) has no integer description"):
        to_ir(convertible(config, WithNorm()), input_shape=(1, 28, 28))
