"""`quantize_`, `integer_weights` and `unquantize_` on ordinary PyTorch networks."""

import io

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import snnq
from snnq.quant import QuantConfig, QuantizedActivation


def lenet() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Conv2d(1, 6, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.AvgPool2d(2),
        nn.Flatten(), nn.Linear(256, 120), nn.ReLU(), nn.Linear(120, 10),
    )


def test_weights_and_activations_are_quantized_and_train():
    net = lenet()
    snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 4}, "activation": {"name": "uniform", "bits": 4}})
    assert all(parametrize.is_parametrized(net[i], "weight") for i in (0, 3, 7, 9))
    assert [i for i, m in enumerate(net) if isinstance(m, QuantizedActivation)] == [1, 4, 8]
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.rand(8, 1, 28, 28)
    before = net[0].parametrizations.weight.original.clone()
    nn.functional.cross_entropy(net(x), torch.arange(8)).backward()
    optimizer.step()
    assert not torch.equal(before, net[0].parametrizations.weight.original)  # the float weights train
    for i in (0, 3, 7, 9):  # ... while the layer computes with 4-bit fixed-point weights
        codes = net[i].weight * 2.0 ** snnq.integer_weights(net)[str(i)].frac_bits
        assert torch.equal(codes, codes.round()) and codes.abs().max() <= 8


def test_integer_weights_rebuild_the_quantized_weights_exactly():
    net = lenet()
    snnq.quantize_(net, {"weight": "ternary", "per_channel": True})
    net.eval()
    forms = snnq.integer_weights(net)
    assert sorted(forms) == ["0", "3", "7", "9"]
    for name, form in forms.items():
        layer = net.get_submodule(name)
        assert torch.equal(form.dequantize(), layer.weight)
        assert set(form.codes.unique().tolist()) <= {-1, 0, 1}
        assert form.scale.shape[0] == layer.weight.shape[0]  # one scale per output channel


def test_filter_fn_keeps_first_and_last_layers_float():
    net = lenet()
    snnq.quantize_(net, {"weight": "binary"}, filter_fn=lambda module, name: name not in ("0", "9"))
    assert sorted(snnq.integer_weights(net)) == ["3", "7"]


def test_per_channel_transposed_convolution_uses_the_output_axis():
    net = nn.Sequential(nn.ConvTranspose2d(3, 5, 3))
    snnq.quantize_(net, {"weight": "fixed_point", "per_channel": True})
    assert snnq.integer_weights(net)["0"].channel_axis == 1


def test_unquantize_bakes_or_restores():
    net = lenet()
    float_weight = net[7].weight.detach().clone()
    snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 3}, "activation": "uniform"})
    quantized = net[7].weight.detach().clone()
    baked = lenet()
    snnq.quantize_(baked, {"weight": {"name": "fixed_point", "bits": 3}, "activation": "uniform"})
    snnq.unquantize_(baked)
    assert torch.equal(baked[7].weight, quantized) and type(baked[1]) is nn.ReLU
    snnq.unquantize_(net, bake_weights=False)
    assert torch.equal(net[7].weight, float_weight) and not parametrize.is_parametrized(net[7])


def test_a_quantized_network_saves_and_loads():
    net = lenet()
    config = QuantConfig.from_dict({"weight": {"name": "lsq", "bits": 4}, "activation": {"name": "uniform", "bits": 4}})
    snnq.quantize_(net, config)
    x = torch.rand(2, 1, 28, 28)
    net(x)  # calibrates the activation quantizers
    net.eval()
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    buffer.seek(0)
    fresh = lenet()
    with torch.no_grad():
        for parameter in fresh.parameters():
            parameter.mul_(-2.0)  # different float weights: only the checkpoint can make the outputs equal
    snnq.quantize_(fresh, config)
    assert not torch.equal(fresh(x), net(x))
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    fresh.eval()
    assert torch.equal(fresh(x), net(x))


def test_config_round_trips_through_a_dict():
    config = QuantConfig.from_dict({"weight": {"name": "log2", "bits": 4}, "activation": "uniform", "per_channel": True})
    assert QuantConfig.from_dict(config.to_dict()) == config


def test_quantize_warns_when_nothing_matches():
    with pytest.warns(UserWarning, match="found no layer"):
        snnq.quantize_(nn.Sequential(nn.Tanh()), {"activation": "uniform"})


def test_biases_and_the_input_get_their_own_quantizers():
    from snnq.models import LeNet5

    net = LeNet5()
    snnq.quantize_(
        net,
        {
            "weight": {"name": "fixed_point", "bits": 4},
            "bias": {"name": "fixed_point", "bits": 16, "frac_bits": 8},
            "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8},
        },
    )
    biases = snnq.integer_weights(net, "bias")
    assert sorted(biases) == ["classifier.1", "classifier.3", "classifier.5", "features.0", "features.3"]
    assert all(form.frac_bits == 8 for form in biases.values())
    assert isinstance(net.input, QuantizedActivation)
    codes = net.input.quantizer.integer_form(torch.rand(2, 1, 28, 28)).codes
    assert codes.min() >= 0 and codes.max() <= 255
    snnq.unquantize_(net)
    assert not parametrize.is_parametrized(net.features[0]) and isinstance(net.input, torch.nn.Identity)


def test_an_input_quantizer_needs_an_identity_input_module():
    from snnq.errors import ConfigError

    with pytest.raises(ConfigError, match=r"an input quantizer goes into an nn.Identity module named 'input'"):
        snnq.quantize_(nn.Sequential(nn.Linear(3, 3)), {"input": "uniform"})
