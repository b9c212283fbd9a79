"""S1's own quantizers (PAPERS.md S1, "[V, from the authors' public code]"): ternary weights with the TWN threshold
and no scale, and the four-spike "median" activations with tf.round's half-to-even ties."""

import pytest
import torch

import snnq
from snnq.errors import ConfigError
from snnq.quant.s1 import STE_GAIN, S1MedianQuantizer, S1TernaryQuantizer, ternarize


# -- s1_ternary ------------------------------------------------------------------------------------------------


def test_ternary_weights_are_minus_one_zero_one_with_no_scale():
    torch.manual_seed(0)
    w = torch.randn(16, 8, 3, 3) * 0.02
    q = snnq.quantizer("s1_ternary")
    y = q(w)
    assert set(y.unique().tolist()) == {-1.0, 0.0, 1.0}  # a scale a != 1 would give {-a, 0, a}
    form = q.integer_form(w)
    assert set(form.codes.unique().tolist()) == {-1, 0, 1} and form.codes.dtype == torch.int8
    assert float(form.scale) == 1.0 and form.scale.numel() == 1  # a linear integer grid with step 1
    assert (form.codeset.low, form.codeset.high, form.encoding) == (-1, 1, "linear")
    assert torch.equal(form.dequantize(torch.float32), y)


def test_twn_threshold_hand_computed():
    # mean|w| = (0.1 + 0.2 + 0.3 + 0.4 + 0.05 + 0 + 1 + 0.7) / 8 = 0.34375; Delta = 0.7 * 0.34375 = 0.240625
    w = torch.tensor([0.1, -0.2, 0.3, -0.4, 0.05, 0.0, 1.0, -0.7])
    q = snnq.quantizer("s1_ternary")
    assert float(q.threshold(w)) == pytest.approx(0.240625, abs=1e-9)
    assert q(w).tolist() == [0.0, 0.0, 1.0, -1.0, 0.0, 0.0, 1.0, -1.0]  # -0.2 stays 0 (it would not at t = 0.5)


def test_twn_threshold_is_one_per_layer_not_per_channel():
    # per layer: mean|w| = 1.45 / 4, Delta = 0.25375: [[1, 1], [0, 0]]; per output channel the second row's
    # Delta would be 0.0525 (0.1 -> 1) and the first row's 0.455 (0.3 -> 0)
    w = torch.tensor([[1.0, 0.3], [0.1, 0.05]])
    assert snnq.quantizer("s1_ternary")(w).tolist() == [[1.0, 1.0], [0.0, 0.0]]


def test_the_threshold_itself_maps_to_the_nonzero_codes():
    # S1's sign(sign(w + D) + sign(w - D)): w = D gives sign(1 + 0) = 1, w = -D gives sign(0 - 1) = -1
    w = torch.tensor([0.25, -0.25, 0.2499, -0.2499, 0.0])
    assert ternarize(w, 0.25).tolist() == [1.0, -1.0, 0.0, 0.0, 0.0]


def test_ternary_gradient_is_the_authors_straight_through_sum_of_two_identities():
    w = torch.tensor([0.01, -0.5, 3.0, -7.0, 0.0, 0.2], requires_grad=True)  # inside, outside and beyond |w| = 1
    upstream = torch.tensor([1.0, -2.0, 0.5, 3.0, -1.0, 4.0])
    snnq.quantizer("s1_ternary")(w).backward(upstream)
    assert STE_GAIN == 2.0
    assert torch.equal(w.grad, 2.0 * upstream)  # no clipping window, nothing through Delta


def test_ternary_quantizer_has_no_trainable_state():
    q = S1TernaryQuantizer()
    assert list(q.parameters()) == [] and q.config() == {"channel_axis": None}


# -- s1_median --------------------------------------------------------------------------------------------------


def test_median_levels_are_four_spikes_of_half_a_unit():
    q = snnq.quantizer("s1_median")
    x = torch.linspace(0.0, 3.0, 301)
    assert set(q(x).unique().tolist()) == {0.0, 0.5, 1.0, 1.5, 2.0}
    form = q.integer_form(x)
    assert set(form.codes.unique().tolist()) == {0, 1, 2, 3, 4}
    assert (form.codeset.low, form.codeset.high, form.encoding) == (0, 4, "linear")
    assert q.fixed_step() == 0.5 and float(form.scale) == 0.5


def test_median_ties_round_half_to_even_as_tf_round():
    # x * 2 = 0.5, 1.5, 2.5, 3.5 -> 0, 2, 2, 4 (half up would give 1, 2, 3, 4)
    q = snnq.quantizer("s1_median")
    assert q(torch.tensor([0.25, 0.75, 1.25, 1.75])).tolist() == [0.0, 1.0, 1.0, 2.0]
    assert q.rounding == "half_even"


def test_median_equals_the_authors_expression_bit_for_bit_after_relu():
    torch.manual_seed(1)
    x = torch.cat([torch.rand(4000) * 3.0, torch.arange(0, 13) * 0.25])  # every tie, and clipping above 2
    authors = torch.round(torch.clamp(x, -2.0, 2.0) * 2.0) / 2.0
    assert torch.equal(snnq.quantizer("s1_median")(x), authors)


def test_median_gradient_passes_inside_the_clip_bounds_included():
    x = torch.tensor([0.1, 1.0, 1.24, 2.0, 2.1, 5.0], requires_grad=True)
    snnq.quantizer("s1_median").train()(x).backward(torch.full((6,), 3.0))
    assert x.grad.tolist() == [3.0, 3.0, 3.0, 3.0, 0.0, 0.0]


def test_median_options():
    assert S1MedianQuantizer(k=2, bound=1.0).codeset().high == 4 and S1MedianQuantizer(k=2, bound=1.0).fixed_step() == 0.25
    with pytest.raises(ConfigError, match=r"^s1_median: bound=1.3 is invalid; bound \* 2\^k must be an integer"):
        S1MedianQuantizer(k=1, bound=1.3)
    assert snnq.quantizer("s1_median", **snnq.quantizer("s1_median").config()).config() == {
        "k": 1, "bound": 2.0, "rounding": "half_even", "channel_axis": None}
