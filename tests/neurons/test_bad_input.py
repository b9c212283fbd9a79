"""Bad input to a neuron gets an error that names the neuron and the problem."""

import pytest
import torch

import snnq
from snnq.errors import ConfigError, TensorTypeError, UnknownNameError

NAMES = snnq.NEURONS.names()


@pytest.mark.parametrize("name", NAMES)
def test_wrong_rank_for_the_step_mode(name):
    with pytest.raises(TensorTypeError, match=rf"^{name}: expected a multi-step input \[T, B, ...\].*shape \(5,\)"):
        snnq.neuron(name)(torch.ones(5))
    jelly = snnq.neuron(name, framework="spikingjelly", step_mode="m")
    with pytest.raises(TensorTypeError, match=rf"^{name}: expected a multi-step input"):
        jelly(torch.ones(5))


@pytest.mark.parametrize("name", NAMES)
def test_zero_time_steps(name):
    with pytest.raises(TensorTypeError, match=rf"^{name}: the input has T = 0 time steps"):
        snnq.neuron(name)(torch.ones(0, 2, 3))


@pytest.mark.parametrize("name", NAMES)
def test_integer_inputs_and_mismatched_dtypes(name):
    neuron = snnq.neuron(name)
    with pytest.raises(TensorTypeError, match=rf"^{name}: expected floating-point input currents, got torch.int64"):
        neuron(torch.ones(3, 2, dtype=torch.int64))
    neuron(torch.ones(3, 2))
    with pytest.raises(TensorTypeError, match=rf"^{name}: mismatched dtypes: input torch.float64, state"):
        neuron(torch.ones(3, 2, dtype=torch.float64))
    with pytest.raises(TensorTypeError, match=rf"^{name}: input of shape \(4,\) per step does not match the state"):
        neuron(torch.ones(3, 4))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("threshold", [0, -1.0, float("nan"), float("inf")])
def test_thresholds_must_be_positive(name, threshold):
    with pytest.raises(ConfigError, match=rf"^{name}: threshold={threshold!r} is invalid; expected a finite number > 0"):
        snnq.neuron(name, threshold=threshold)


def test_bit_widths_too_small_to_hold_the_threshold():
    with pytest.raises(ConfigError, match=r"^lif: bits=4 is too small to hold the threshold: a 4-bit membrane holds codes up to 7, the threshold code is 20"):
        snnq.neuron("lif", bits=4, threshold_code=20)
    with pytest.raises(ConfigError, match=r"^sg_stateless: bits=4 is too small to hold the thresholds"):
        snnq.neuron("sg_stateless", bits=4, levels=15)
    with pytest.raises(ConfigError, match=r"^ttfs: threshold_code=600 is invalid; expected an integer in \[1, 511\]"):
        snnq.neuron("ttfs", bits=10, threshold_code=600)
    with pytest.raises(ConfigError, match=r"^if: bits=1 is invalid; expected an integer in \[2, 16\]"):
        snnq.neuron("if", bits=1)


def test_other_bad_options_name_the_choice():
    with pytest.raises(UnknownNameError, match=r"unknown lif reset 'substract' \(did you mean 'subtract'\?\)"):
        snnq.neuron("lif", reset="substract")
    with pytest.raises(UnknownNameError, match=r"unknown surrogate 'arctan'"):
        snnq.neuron("lif", surrogate="arctan")
    with pytest.raises(ConfigError, match=r"^lif: beta=1.5 is invalid"):
        snnq.neuron("lif", beta=1.5)
    with pytest.raises(ConfigError, match=r"neuron 'lif': unknown option 'tau'"):
        snnq.neuron("lif", tau=2.0)
    with pytest.raises(UnknownNameError, match=r"unknown framework 'snntroch' \(did you mean 'snntorch'\?\)"):
        snnq.neuron("lif", framework="snntroch")
