"""Fixed point and dynamic fixed point follow S0's formula, with ``f`` chosen exactly from the range."""

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import snnq
from snnq.quant.fixed_point import frac_bits_for


def test_formula_with_given_fractional_length():
    q = snnq.quantizer("fixed_point", bits=4, frac_bits=2)  # step 0.25, codes -8..7
    x = torch.tensor([0.3, 0.375, -0.125, 1.9, -5.0, 0.124])
    # half_up rounding: 0.375*4 = 1.5 -> 2, -0.125*4 = -0.5 -> 0
    assert torch.equal(q(x), torch.tensor([0.25, 0.5, 0.0, 1.75, -2.0, 0.0]))
    form = q.integer_form(x)
    assert form.codes.tolist() == [1, 2, 0, 7, -8, 0] and form.frac_bits == 2 and form.bits == 4


def test_rounding_modes_differ_only_on_ties():
    x = torch.tensor([0.5, 1.5, -0.5, 0.7]) / 4
    results = {m: snnq.quantizer("fixed_point", bits=4, frac_bits=2, rounding=m)(x) * 4 for m in ("half_up", "half_even", "floor")}
    assert results["half_up"].tolist() == [1.0, 2.0, 0.0, 1.0]
    assert results["half_even"].tolist() == [0.0, 2.0, -0.0, 1.0]
    assert results["floor"].tolist() == [0.0, 1.0, -1.0, 0.0]


@pytest.mark.parametrize(
    ("peak", "bits", "expected"),
    [(1.0, 8, 7), (0.99, 8, 7), (1.01, 8, 6), (0.5, 8, 8), (0.26, 4, 4), (3.0, 4, 1), (0.0, 8, 7), (1000.0, 8, -3)],
)
def test_fractional_length_is_the_largest_that_holds_the_range(peak, bits, expected):
    assert int(frac_bits_for(torch.tensor(peak), bits, signed=True)) == expected


@given(st.floats(1e-30, 1e30, allow_nan=False), st.integers(2, 16))
def test_the_chosen_range_holds_the_peak_and_a_finer_one_would_not(peak, bits):
    f = int(frac_bits_for(torch.tensor(peak, dtype=torch.float32), bits, signed=True))
    peak32 = float(torch.tensor(peak, dtype=torch.float32))
    assert peak32 <= 2.0 ** (bits - 1 - f)  # fits (the top code may saturate by one step at exact powers of two)
    assert peak32 > 2.0 ** (bits - 2 - f)  # one more fractional bit would not


def test_fixed_point_calibrates_once_and_keeps_f():
    q = snnq.quantizer("fixed_point", bits=8)
    q(torch.tensor([0.9, -0.3]))
    assert int(q.fractional_length) == 7
    q(torch.tensor([100.0]))  # a larger tensor later does not move f: it saturates
    assert int(q.fractional_length) == 7
    assert float(q(torch.tensor([100.0]))) == 127 / 128


def test_the_step_is_computed_once_per_fractional_length():
    q = snnq.quantizer("fixed_point", bits=4, channel_axis=0)
    w = torch.randn(6, 3, 3, 3)
    q(w)
    first = q.step_for(w)
    assert q.step_for(w) is first and torch.equal(first, q.step(w))  # kept while f is unchanged
    other = snnq.quantizer("fixed_point", bits=4, channel_axis=0)
    other(w * 8)
    q.load_state_dict(other.state_dict())  # f written in place
    assert torch.equal(q.step_for(w), other.step(w)) and not torch.equal(q.step_for(w), first)
    assert torch.equal(q(w), other(w))
    assert q.step_for(w.double()).dtype == torch.float64  # another dtype: computed again
    q.fractional_length = q.fractional_length + 1  # a new tensor
    assert torch.equal(q.step_for(w), other.step(w) / 2)


def test_dynamic_fixed_point_follows_every_tensor():
    q = snnq.quantizer("dynamic_fixed_point", bits=8)
    assert float(q(torch.tensor([100.0, 1.0]))[0]) == 100.0 and int(q.fractional_length) == 0
    assert int(frac_bits_for(torch.tensor(0.01), 8, True)) == 13
    q(torch.tensor([0.01]))
    assert int(q.fractional_length) == 13


def test_dynamic_fixed_point_with_momentum_uses_the_running_range_in_eval():
    q = snnq.quantizer("dynamic_fixed_point", bits=8, momentum=0.5)
    q.train()
    q(torch.tensor([4.0]))
    q(torch.tensor([2.0]))  # running max 3.0
    assert float(q.running_max) == 3.0
    q.eval()
    q(torch.tensor([0.01]))  # eval does not follow the batch
    assert int(q.fractional_length) == 5 and float(q.running_max) == 3.0


def test_per_channel_fractional_lengths():
    q = snnq.quantizer("fixed_point", bits=8, channel_axis=0)
    w = torch.tensor([[0.9, -0.1], [9.0, 3.0], [0.05, 0.0]])
    q(w)
    assert q.fractional_length.tolist() == [7, 3, 11]
    assert q.integer_form(w).frac_bits.tolist() == [7, 3, 11]


def test_unsigned_fixed_point_has_no_negative_codes():
    q = snnq.quantizer("fixed_point", bits=4, frac_bits=0, signed=False)
    assert q(torch.tensor([-3.0, 7.4, 20.0])).tolist() == [0.0, 7.0, 15.0]
