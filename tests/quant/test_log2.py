"""Logarithmic quantization: S2's 5-bit weights and the CAT/TTFS activation."""

import math

import pytest
import torch

import snnq


def test_five_bit_weights_have_fifteen_exponents_and_a_zero():
    q = snnq.quantizer("log2", bits=4, scale=1.0)
    form = q.integer_form(torch.tensor([1.0, -0.5, 2.0**-14, 2.0**-16, 0.0]))
    assert form.codes.tolist() == [1, -2, 15, 0, 0] and form.bits == 5
    assert form.dequantize().tolist() == [1.0, -0.5, 2.0**-14, 0.0, 0.0]


@pytest.mark.parametrize(
    ("rounding", "ratio_up"),
    [("nearest", 0.75), ("log_nearest", math.sqrt(0.5)), ("floor", 1.0)],
)
def test_rounding_thresholds(rounding, ratio_up):
    """Between 2^-3 and 2^-2 a value rounds up to 2^-2 at ``ratio_up * 2^-2``."""
    q = snnq.quantizer("log2", bits=4, scale=1.0, rounding=rounding)
    edge = ratio_up * 0.25
    below, above = torch.nextafter(torch.tensor(edge), torch.tensor(0.0)), torch.tensor(edge)
    assert float(q(below)) == 0.125
    assert float(q(above)) == (0.25 if rounding != "floor" else 0.25)
    if rounding == "floor":
        assert float(q(torch.tensor(0.2499))) == 0.125


def test_log_nearest_matches_the_cat_formula():
    """S2: phi(x) = x_max * 2^-clip(round(-log2(x / x_max)), 0, T - 1) above the smallest level."""
    x_max, steps = 2.0, 6
    q = snnq.quantizer("log2", levels=steps, signed=False, scale=x_max, rounding="log_nearest")
    x = torch.linspace(0.08, 3.0, 500)
    exponent = torch.clamp(torch.round(-torch.log2(x / x_max)), 0, steps - 1)
    reference = x_max * torch.exp2(-exponent)
    smallest = x_max * 2.0 ** -(steps - 1) * math.sqrt(0.5)  # below this the CAT activation is 0
    reference = torch.where(x < smallest, torch.zeros_like(x), reference)
    far_from_ties = (torch.log2(x / x_max) * 2).frac().abs().sub(0.5).abs() > 1e-4
    assert torch.equal(q(x)[far_from_ties], reference[far_from_ties])


def test_unsigned_maps_negative_inputs_to_zero_and_learns_its_scale():
    q = snnq.quantizer("log2", levels=8, signed=False, scale=1.0, learn_scale=True)
    x = torch.tensor([-1.0, 0.3, 0.9])
    y = q(x)
    assert y[0] == 0 and y[1] == 0.25 and y[2] == 1.0
    y.sum().backward()
    assert q.step.grad == pytest.approx(1.25)


def test_power_of_two_scale():
    q = snnq.quantizer("log2", bits=3, pow2_scale=True)
    form = q.integer_form(torch.tensor([0.6, -0.3]))
    assert float(form.scale) == 1.0 and form.exponent is not None
