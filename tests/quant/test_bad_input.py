"""Bad input gets a clear error that names the quantizer (or layer) and the problem, and changes nothing."""

import copy

import pytest
import torch
from torch import nn

import snnq
from snnq.errors import ConfigError, NonFiniteError, TensorTypeError, UnknownNameError

BITS_OPTION = {  # quantizer -> (option, first invalid value above its range)
    "fixed_point": ("bits", 25),
    "dynamic_fixed_point": ("bits", 25),
    "uniform": ("bits", 17),
    "lsq": ("bits", 17),
    "log2": ("bits", 7),
    "sigmoid_sum": ("bits", 9),
}


@pytest.mark.parametrize("name", sorted(BITS_OPTION))
@pytest.mark.parametrize("which", ["zero", "negative", "too_large", "not_an_int"])
def test_bit_widths_that_make_no_sense(name, which):
    option, too_large = BITS_OPTION[name]
    value = {"zero": 0, "negative": -3, "too_large": too_large, "not_an_int": 4.5}[which]
    with pytest.raises(ConfigError, match=rf"^{name}: {option}={value!r} is invalid; expected an integer in \["):
        snnq.quantizer(name, **{option: value})


def test_the_largest_valid_bit_width_is_accepted():
    for name, (option, too_large) in BITS_OPTION.items():
        snnq.quantizer(name, **{option: too_large - 1})


@pytest.mark.parametrize("name", snnq.QUANTIZERS.names())
@pytest.mark.parametrize("dtype", [torch.int64, torch.int8, torch.bool])
def test_integer_tensors_are_refused(name, dtype):
    with pytest.raises(TensorTypeError, match=rf"^{name}: expected a floating-point tensor, got torch\.{str(dtype).split('.')[1]}"):
        snnq.quantizer(name)(torch.ones(3, dtype=dtype))


@pytest.mark.parametrize("name", snnq.QUANTIZERS.names())
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_values_are_refused_by_calibration_and_export(name, bad):
    x = torch.tensor([0.5, bad, -1.0])
    with pytest.raises(NonFiniteError, match=rf"^{name}: input holds 1 NaN/inf value\(s\) of 3"):
        snnq.quantizer(name).integer_form(x)


def test_calibrating_on_nan_leaves_the_quantizer_uncalibrated():
    q = snnq.quantizer("uniform", bits=4)
    with pytest.raises(NonFiniteError):
        q(torch.tensor([float("nan"), 1.0]))
    assert not bool(q.initialized)
    q(torch.tensor([3.0]))
    assert float(q.step) == pytest.approx(3.0 / 15)


def test_bad_option_values_name_the_option():
    with pytest.raises(ConfigError, match=r"^ternary: delta_factor=-1 is invalid; expected a finite number > 0"):
        snnq.quantizer("ternary", delta_factor=-1)
    with pytest.raises(UnknownNameError, match=r"unknown ternary mode 'learnt' \(did you mean 'learned'\?\)"):
        snnq.quantizer("ternary", mode="learnt")
    with pytest.raises(UnknownNameError, match=r"unknown rounding mode 'nearest'"):
        snnq.quantizer("uniform", rounding="nearest")
    with pytest.raises(ConfigError, match=r"^sigmoid_sum: levels=\[1, 1\] is invalid"):
        snnq.quantizer("sigmoid_sum", levels=[1, 1])
    with pytest.raises(ConfigError, match=r"^fixed_point: frac_bits=200 is invalid"):
        snnq.quantizer("fixed_point", frac_bits=200)
    with pytest.raises(TensorTypeError, match=r"channel_axis=2 does not exist in a tensor of shape \(3, 4\)"):
        snnq.quantizer("binary", channel_axis=2)(torch.ones(3, 4))


def _net() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))


def _same(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa) and repr(a) == repr(b)


def test_nan_weights_are_refused_and_nothing_changes():
    net = _net()
    with torch.no_grad():
        net[2].weight[0, 3] = float("nan")
    before = copy.deepcopy(net)
    with pytest.raises(NonFiniteError, match=r"^quantize_: layer '2' \(Linear\) has 1 NaN/inf weight value\(s\)"):
        snnq.quantize_(net, {"weight": "fixed_point", "activation": "uniform"})
    assert torch.equal(net[0].weight, before[0].weight) and repr(net) == repr(before)  # not even layer 0 changed


def test_integer_weights_are_refused_and_nothing_changes():
    net = _net()
    net[0].weight = nn.Parameter(torch.ones(8, 4, dtype=torch.int32), requires_grad=False)
    before = copy.deepcopy(net)
    with pytest.raises(TensorTypeError, match=r"layer '0' \(Linear\) has a torch.int32 weight"):
        snnq.quantize_(net, {"weight": "ternary"})
    assert _same(net, before)


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"weights": "ternary"}, r"QuantConfig: unknown key 'weights' \(did you mean 'weight'\?\)"),
        ({"weight": {"name": "ternary", "treshold": 0.5}}, r"quantizer 'ternary': unknown option 'treshold'"),
        ({"weight": {"bits": 4}}, r"a quantizer spec needs a 'name' key"),
        ({"weight": {"name": "fixed_point", "bits": 0}}, r"fixed_point: bits=0 is invalid"),
        ({"weight": "ternery"}, r"unknown quantizer 'ternery' \(did you mean 'ternary'\?\)"),
        ({}, r"QuantConfig needs at least one of 'weight', 'activation', 'bias' and 'input'"),
        ({"weight": "binary", "version": 7}, r"QuantConfig: version 7 is not supported"),
    ],
)
def test_bad_configs_are_refused_and_nothing_changes(config, message):
    net = _net()
    before = copy.deepcopy(net)
    with pytest.raises((ConfigError, UnknownNameError), match=message):
        snnq.quantize_(net, config)
    assert _same(net, before)


def test_quantizing_a_layer_twice_is_refused():
    net = _net()
    snnq.quantize_(net, {"weight": "binary"})
    with pytest.raises(ConfigError, match=r"layer '0' \(Linear\) is already quantized"):
        snnq.quantize_(net, {"weight": "ternary"})
