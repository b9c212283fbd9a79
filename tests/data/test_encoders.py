"""Encoders of static images: registered by name, time-first output, seeded randomness, clear errors."""

from __future__ import annotations

import pytest
import torch

from snnq.data.encoders import ENCODERS, DirectEncoder, RateEncoder, encode
from snnq.errors import ConfigError, NonFiniteError, TensorTypeError, UnknownNameError


def test_the_built_in_encoders_are_registered():
    assert {"direct", "rate"} <= set(ENCODERS.names())
    assert ENCODERS.get("direct") is DirectEncoder and ENCODERS.get("rate") is RateEncoder


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownNameError, match=r"unknown encoder 'rates' \(did you mean 'rate'\?\); valid: direct, rate"):
        ENCODERS.get("rates")
    with pytest.raises(ConfigError, match=r"encoder 'direct': unknown option 'steps'.*valid options: num_steps"):
        ENCODERS.build("direct", steps=3)


def test_direct_repeats_the_image_at_every_step():
    x = torch.rand(5, 3, 8, 8)
    out = encode("direct", x, num_steps=4)
    assert out.shape == (4, 5, 3, 8, 8)
    assert all(torch.equal(out[t], x) for t in range(4))


@pytest.mark.parametrize("distribution", ["bernoulli", "poisson"])
def test_rate_coding_is_time_first_seeded_and_has_the_right_mean(distribution):
    x = torch.rand(16, 1, 28, 28)
    first = RateEncoder(num_steps=200, distribution=distribution, seed=3)(x)
    again = RateEncoder(num_steps=200, distribution=distribution, seed=3)(x)
    other = RateEncoder(num_steps=200, distribution=distribution, seed=4)(x)
    assert first.shape == (200, 16, 1, 28, 28) and first.dtype == x.dtype
    assert torch.equal(first, again) and not torch.equal(first, other)
    # the firing rate encodes the intensity: mean absolute error near the sampling noise sqrt(var / T)
    tolerance = {"bernoulli": 0.03, "poisson": 0.05}[distribution]
    assert (first.mean(0) - x).abs().mean() < tolerance
    if distribution == "bernoulli":
        assert set(first.unique().tolist()) == {0.0, 1.0}
    else:
        assert first.max() >= 2  # counts, not just spikes


def test_rate_coding_continues_its_stream_between_calls():
    encoder = RateEncoder(num_steps=5, seed=0)
    x = torch.full((2, 10), 0.5)
    assert not torch.equal(encoder(x), encoder(x))


def test_zero_and_one_intensities_are_silent_and_saturated():
    x = torch.tensor([[0.0, 1.0]])
    out = RateEncoder(num_steps=50, seed=1)(x)
    assert out[:, 0, 0].sum() == 0 and out[:, 0, 1].sum() == 50


def test_normalised_images_are_refused_by_rate_coding():
    with pytest.raises(ConfigError, match=r"rate: intensities must lie in \[0, 1\].*normalize=False"):
        RateEncoder(num_steps=4)(torch.tensor([[-0.4, 0.5]]))


@pytest.mark.parametrize("steps", [0, -1, 2.5, True])
def test_num_steps_must_be_a_positive_integer(steps):
    with pytest.raises(ConfigError, match=rf"direct: num_steps={steps!r} is invalid"):
        DirectEncoder(num_steps=steps)


def test_bad_inputs_are_typed_errors():
    with pytest.raises(TensorTypeError, match="direct: expected a floating-point tensor, got torch.uint8"):
        DirectEncoder(num_steps=2)(torch.zeros(2, 3, dtype=torch.uint8))
    with pytest.raises(NonFiniteError, match="rate: the input holds NaN"):
        RateEncoder(num_steps=2)(torch.tensor([[float("nan")]]))
    with pytest.raises(UnknownNameError, match=r"unknown rate distribution 'gauss'; valid: bernoulli, poisson"):
        RateEncoder(num_steps=2, distribution="gauss")
