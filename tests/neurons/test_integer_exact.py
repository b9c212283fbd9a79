"""Every quantized neuron: the fake-quantized training path and the integer path give identical spikes and
identical integer state traces, on random and adversarial inputs; the fused multi-step kernel equals the
step-by-step path."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import snnq

NAMES = snnq.NEURONS.names()
CONFIGS = {  # several integer configurations per neuron: leaks, resets, widths, rounding modes
    "if": [{"bits": 8}, {"bits": 4, "reset": "zero"}, {"bits": 8, "precharge": 0.5, "threshold": 0.7}],
    "lif": [{"bits": 8}, {"bits": 6, "leak_shift": 2}, {"bits": 12, "beta": 0.95, "leak_bits": 6, "reset": "zero"}],
    "plif": [{"bits": 8}, {"bits": 10, "beta": 0.7, "threshold_code": 100}],
    "sg_stateless": [{"bits": 8}, {"bits": 7, "levels": 15, "threshold": 0.25, "spacing": 0.5, "scale": 0.125}],
    "ttfs": [{"bits": 8}, {"bits": 10, "window": 6, "rounding": "nearest"}, {"bits": 8, "window": 5, "rounding": "floor"}],
}

random_inputs = arrays(
    np.float32, st.tuples(st.integers(1, 16), st.integers(1, 3), st.integers(1, 4)),
    elements=st.floats(-4, 4, allow_nan=False, width=32),
).map(torch.from_numpy)


def adversarial_inputs(neuron) -> list[torch.Tensor]:
    unit = neuron.code_value
    ties = (torch.arange(-6, 7, dtype=torch.float32) + 0.5) * unit  # exactly half a code: rounding ties
    at_threshold = torch.full((13,), neuron.threshold)
    huge = torch.tensor([1e30, -1e30, 3e38, -3e38, 1e6, -1e6, 0.0, 0.0, 1e-30, -1e-30, 2.0, -2.0, 1.0])
    stacked = torch.stack([ties, at_threshold, huge, -ties, at_threshold * 0.999, huge.flip(0)])
    return [stacked.unsqueeze(1), stacked.repeat(3, 1).unsqueeze(-1)]


def test_every_registered_neuron_has_integer_configurations():
    assert set(NAMES) <= set(CONFIGS)


def check_exact(neuron, x: torch.Tensor) -> None:
    spikes_int, traces_int = neuron.run_integer(x)
    spikes_float, traces_float = neuron.run_training_path(x)
    assert torch.equal(spikes_int.to(spikes_float.dtype), spikes_float), f"{neuron.registry_name}: spikes differ"
    assert traces_float, f"{neuron.registry_name}: no state traced"
    for name, trace in traces_float.items():
        assert torch.equal(trace, trace.round()), f"{neuron.registry_name}: {name} is not integer-valued"
        mismatches = int((traces_int[name] != trace.long()).sum())
        assert mismatches == 0, f"{neuron.registry_name}: {name} differs at {mismatches} places"
    neuron.reset_state()
    assert torch.equal(neuron(x), spikes_float), f"{neuron.registry_name}: the fused forward differs from step()"


@pytest.mark.parametrize("name", NAMES)
@given(x=random_inputs, which=st.integers(0, 2))
def test_integer_path_equals_training_path_on_random_inputs(name, x, which):
    configs = CONFIGS[name]
    check_exact(snnq.neuron(name, **configs[which % len(configs)]), x)


@pytest.mark.parametrize("name", NAMES)
def test_integer_path_equals_training_path_on_adversarial_inputs(name):
    for options in CONFIGS[name]:
        neuron = snnq.neuron(name, **options)
        for x in adversarial_inputs(neuron):
            check_exact(neuron, x)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bits", [None, 8])
def test_fused_forward_and_backward_match_the_step_by_step_graph(name, bits):
    torch.manual_seed(1)
    neuron = snnq.neuron(name, **({} if bits is None else {"bits": bits}))
    x = (torch.randn(12, 3, 20) * 1.5).requires_grad_(True)
    weights = torch.randn(12, 3, 20, *([neuron.levels] if neuron.output_group else []))
    fused = neuron(x)
    neuron.reset_state()
    stepped, _ = neuron.run_training_path(x)
    assert torch.equal(fused, stepped)
    parameters = [x, *neuron.parameters()]
    g_fused = torch.autograd.grad((fused * weights).sum(), parameters)
    g_stepped = torch.autograd.grad((stepped * weights).sum(), parameters)
    assert any(bool((g != 0).any()) for g in g_fused), "no gradient reached the input"
    for a, b in zip(g_fused, g_stepped):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
