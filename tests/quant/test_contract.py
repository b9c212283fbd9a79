"""Every registered quantizer, including plug-ins and future ones, keeps the contract of `check_quantizer`."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays, array_shapes

import snnq
from snnq.testing import check_exactness, check_quantizer

NAMES = snnq.QUANTIZERS.names()

finite_floats = st.floats(-1e4, 1e4, allow_nan=False, allow_infinity=False, width=32)
tensors = arrays(np.float32, array_shapes(min_dims=1, max_dims=4, max_side=6), elements=finite_floats).map(torch.from_numpy)
adversarial = st.sampled_from(
    [
        torch.zeros(5),
        torch.full((4,), 1e-38),
        torch.tensor([0.5, -0.5, 1.5, -1.5, 2.5]),  # rounding ties
        torch.tensor([1.0, 2.0, 4.0, 0.25, -8.0]),  # powers of two
        torch.tensor([1.401298e-45, -1.401298e-45, 0.0]),  # subnormals
    ]
)
extremes = st.sampled_from(
    [
        torch.tensor([3e38, -3e38, 1.0]),  # near float32's largest value
        torch.tensor([3.4028235e38, 1e-45, -1e-30]),  # largest and smallest together
    ]
)


def test_every_builtin_is_registered():
    assert {"fixed_point", "dynamic_fixed_point", "uniform", "ternary", "binary", "log2", "sigmoid_sum", "lsq"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
@given(x=st.one_of(tensors, adversarial))
def test_contract_per_tensor(name, x):
    check_quantizer(snnq.quantizer(name), x)


@pytest.mark.parametrize("name", NAMES)
@given(x=st.one_of(tensors, adversarial, extremes))
def test_integer_form_is_exact_for_any_finite_input(name, x):
    check_exactness(snnq.quantizer(name), x)


@pytest.mark.parametrize("name", NAMES)
@given(x=tensors.filter(lambda t: t.dim() >= 2))
def test_contract_per_channel(name, x):
    check_quantizer(snnq.quantizer(name, channel_axis=0), x)


@pytest.mark.parametrize("name", NAMES)
def test_forward_is_a_module_returning_floats_of_the_same_shape(name):
    quantizer = snnq.quantizer(name)
    assert isinstance(quantizer, torch.nn.Module)
    x = torch.randn(3, 7, dtype=torch.float64)
    y = quantizer(x)
    assert y.shape == x.shape and y.dtype == torch.float64


@pytest.mark.parametrize("name", NAMES)
def test_rebuilds_from_its_config(name):
    quantizer = snnq.quantizer(name)
    assert snnq.quantizer(name, **quantizer.config()).config() == quantizer.config()
