"""S1's networks convert exactly: half-to-even ties, off-chip first and output layers, batch norm folded into
per-channel, per-level integer thresholds of the IR (with negative scales), stride-2 convolutions."""

import numpy as np
import pytest
import torch
from torch import nn

import snnq
from snnq.conversion import Activity, ScatterGatherActivation
from snnq.conversion.layers import OffChipLayer
from snnq.conversion.to_ir import _folded_levels, _Signal, chip_output, input_codes, to_ir
from snnq.errors import ConversionError
from snnq.hardware import load_ir, save_ir
from snnq.hardware.simulate import simulate
from snnq.models.s1 import Conv, S1Net
from snnq.quant.s1 import S1MedianQuantizer

S1_QUANT = {"weight": {"name": "s1_ternary"}, "activation": {"name": "s1_median", "k": 1, "bound": 2, "rounding": "half_even"}}
TIES = torch.tensor([0.25, 0.75, 1.25, 1.75])  # V / step = k - 1/2 for k = 1..4 (step 0.5)


def test_half_even_ties_fire_only_even_levels():
    half_even = ScatterGatherActivation(step=0.5, levels=4, source="a", rounding="half_even")
    x = torch.cat([TIES, torch.nextafter(TIES, TIES + 1), torch.nextafter(TIES, TIES - 1), torch.linspace(-1, 3, 401)])
    train = half_even.fire(x)
    counts = train.spikes.sum((0, -1))
    assert torch.equal(counts[:4], torch.tensor([0.0, 2.0, 2.0, 4.0]))  # round(0.5)=0, round(1.5)=2, round(2.5)=2, round(3.5)=4
    assert torch.equal(counts, S1MedianQuantizer().encode(torch.relu(x)).codes)  # the quantized ANN's codes, everywhere
    assert torch.equal(half_even.closed_form(x).counted, counts)
    assert torch.equal(train.spikes[0, 1], torch.tensor([1.0, 1.0, 0.0, 0.0]))  # at 0.75 level 2 (even) fires, level 1 too
    half_up = ScatterGatherActivation(step=0.5, levels=4, source="a")  # unchanged: every level fires at its tie
    assert torch.equal(half_up.fire(TIES).spikes.sum((0, -1)), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    floating = snnq.neuron("sg_stateless", levels=4, threshold=0.25, spacing=0.5, rounding="half_even")  # float mode
    assert torch.equal(floating(TIES.unsqueeze(0)).sum((0, -1)), torch.tensor([0.0, 2.0, 2.0, 4.0]))


def s1_net(seed: int, *, gamma_scale: float = 0.5) -> nn.Module:
    """A small S1-style network (off-chip first and output layers, stride-2 conv) with random batch-norm statistics,
    about half of the scales negative."""
    torch.manual_seed(seed)
    model = S1Net((Conv(4, 3), Conv(6, 3), Conv(6, 2, 2), Conv(8, 3, 1, False)), (12,), in_channels=1, num_classes=3, input_size=8)
    off = set(model.off_chip_layers())
    snnq.quantize_(model, S1_QUANT, filter_fn=lambda module, name: name not in off)
    for module in model.modules():
        if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = module.num_features
            module.weight.data = torch.randn(c) * gamma_scale
            module.bias.data = torch.randn(c) * 0.5 + 0.5
            module.running_mean.data = torch.randn(c) * 2
            module.running_var.data = torch.rand(c) * 10 + 0.5
    return model.eval()


def on_chip(model: nn.Module) -> list[str]:
    return [name for name, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and name not in model.off_chip_layers()]


def test_off_chip_layers_are_computed_on_the_host_verified_and_not_counted():
    model = s1_net(0)
    snn = snnq.convert(model, method="scatter_gather")
    assert snn.off_chip == {"features.conv0", "classifier.fc5"}
    assert all(isinstance(snn.graph_module.get_submodule(name), OffChipLayer) for name in snn.off_chip)
    assert set(snn.synapses) == set(on_chip(model))
    x = torch.rand(32, 1, 8, 8)
    report = snnq.verify(model, snn, [(x, torch.zeros(32, dtype=torch.long))], progress=False)
    assert report.exact and report.logit_mismatches == 0 and report.samples == 32
    assert set(report.accumulator_mismatches) == set(on_chip(model))
    assert set(report.synaptic_operations) == set(on_chip(model))  # the off-chip output layer reads spikes, uncounted
    assert torch.equal(snn(x), snnq.conversion.IntegerReference(model)(x))  # the logits, off-chip layers included
    with pytest.raises(ConversionError, match="lacks a weight quantizer"):  # not marked off chip: refused as before
        snnq.convert(nn.Sequential(model.features, nn.Flatten(), nn.Linear(8 * 2 * 2, 3)), method="scatter_gather")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_batch_norm_folded_into_level_thresholds_reproduces_the_snn(seed, tmp_path):
    model = s1_net(seed)
    snn = snnq.convert(model, method="scatter_gather")
    network = to_ir(snn, input_shape=(1, 8, 8), name="s1_small")
    assert [layer.name for layer in network.weighted_layers()] == on_chip(model)  # off-chip layers not mapped
    assert network.metadata["chip_input"] == "features.relu0" and network.metadata["chip_output"] == "classifier.relu4"
    assert network.input_shape == (4, 8, 8) and network.input_bits == 3
    assert network.layer("features.conv2").stride == (2, 2)
    for layer in network.weighted_layers():  # the synapses stay ternary: batch norm is in the neurons
        assert np.array_equal(layer.weight, snn.synapses[layer.name].integer_weights().numpy())
        assert set(np.unique(layer.weight)) <= {-1, 0, 1} and layer.bias is None
        assert layer.neuron.level_thresholds.shape == (4, layer.output_shape[0])
    polarity = np.concatenate([np.atleast_1d(layer.neuron.polarity) for layer in network.weighted_layers()])
    assert (polarity == -1).any() and (polarity == 1).any()  # negative batch-norm scales are folded too
    save_ir(network, tmp_path)
    network = load_ir(tmp_path)
    x = torch.rand(64, 1, 8, 8)
    activity = Activity(keep_activations=True)
    snn(x, activity=activity)
    result = simulate(network, input_codes(snn, x), record=True)
    counts = []
    for layer in network.weighted_layers():
        neuron = layer.name.replace("conv", "relu").replace("fc", "relu")
        expected = (activity.activations[neuron] / 0.5).round().to(torch.int64).numpy()
        assert np.array_equal(result.outputs[layer.name][0], expected), layer.name  # every neuron's spike count
        counts.append(expected)
    assert len(np.unique(np.concatenate([c.ravel() for c in counts]))) == 5  # every level 0..4 occurs: a real check
    scores = result.scores * np.asarray(network.metadata["output_unit"])
    assert np.array_equal(scores, chip_output(snn, network, x))


def test_ties_after_batch_norm_become_the_stated_integer_thresholds():
    """BN(V) = V / 4 exactly (eps 0, var 1): the count is round(acc / 4) with acc / 4 = k - 1/2 at acc = 4k - 2, so
    half to even puts level k at acc >= 4k - 1 (odd k) or 4k - 2 (even k); a negative scale mirrors it."""
    model = s1_net(0)
    bn = model.features.bn1
    bn.eps = 0.0
    bn.running_mean.zero_(), bn.running_var.fill_(1.0), bn.bias.data.zero_()
    bn.weight.data = torch.tensor([0.25, -0.25, 0.25, 0.25, 0.25, 0.25])
    network = to_ir(snnq.convert(model, method="scatter_gather"), input_shape=(1, 8, 8))
    neuron = network.layer("features.conv1").neuron
    assert np.array_equal(neuron.polarity, [1, -1, 1, 1, 1, 1])
    assert np.array_equal(neuron.level_thresholds[:, 0], [3, 6, 11, 14])
    assert np.array_equal(neuron.level_thresholds[:, 1], [3, 6, 11, 14])  # on -acc
    model.features.relu1.quantizer.rounding = "half_up"
    neuron = to_ir(snnq.convert(model, method="scatter_gather"), input_shape=(1, 8, 8)).layer("features.conv1").neuron
    assert np.array_equal(neuron.level_thresholds[:, 0], [2, 6, 10, 14])


def test_a_decision_without_thresholds_is_refused():
    model = s1_net(0)
    snn = snnq.convert(model, method="scatter_gather")

    class Wavy(nn.Module):
        def forward(self, x):
            return torch.cos(x) + 1

    source = _Signal("features.conv1", np.array([1]), 64, False, (6, 8, 8), synapse="features.conv1", in_unit=0.5, acc_bound=16,
                     transforms=(("wavy", Wavy()),))
    with pytest.raises(ConversionError, match="not monotone in the accumulator"):
        _folded_levels(snn, snn.graph_module.get_submodule("features.relu1"), source, "neuron layer 'features.relu1'")
