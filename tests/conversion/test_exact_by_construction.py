"""Exactness by construction: random small networks, every lossless converter, the step simulation, compared as
integers with the quantized ANN's integer reference, under every BLAS path this process can choose (mkldnn on and
off, one and two threads). CI runs this file again under ``ATEN_CPU_CAPABILITY=default`` and ``OMP_NUM_THREADS=1``
(.ci/run)."""

from __future__ import annotations

import itertools

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

import snnq
from snnq.conversion import IntegerReference

WEIGHTS = {
    "fixed_point per tensor": {"weight": {"name": "fixed_point", "bits": 4, "frac_bits": 3}},
    "dynamic fixed point per channel": {"weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True},
    "uniform per channel (scales the integers cannot carry)": {"weight": {"name": "uniform", "bits": 4, "signed": True}, "per_channel": True},
}
ACTIVATIONS = {
    "fixed_point 3 bits": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 3},
    "uniform 4 levels": {"name": "uniform", "levels": 4, "scale": 0.5},
    "uniform 3 levels, step 0.3": {"name": "uniform", "levels": 3, "scale": 0.9},
}
BLAS_SETTINGS = list(itertools.product((True, False), (1, 2)))  # (mkldnn enabled, threads)
pytestmark = pytest.mark.filterwarnings("ignore:TF32 acceleration on top of oneDNN:UserWarning")  # mkldnn.flags' notice


class RandomNet(nn.Module):
    """conv (+BN) -> act -> [conv + residual] -> act -> pool -> linear, with or without biases."""

    def __init__(self, channels: int, bias: bool, batch_norm: bool, residual: bool, pool: str):
        super().__init__()
        self.input = nn.Identity()  # where an input quantizer goes
        self.conv = nn.Conv2d(2, channels, 3, padding=1, bias=bias)
        self.norm = nn.BatchNorm2d(channels) if batch_norm else nn.Identity()
        self.act = nn.ReLU()
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1, bias=bias)
        self.act2 = nn.ReLU()
        self.pool = {"max": nn.MaxPool2d(2), "avg": nn.AvgPool2d(2), "none": nn.Identity()}[pool]
        self.residual = residual
        self.fc = nn.Linear(channels * (4 if pool != "none" else 8) ** 2, 5, bias=bias)

    def forward(self, x):
        a = self.act(self.norm(self.conv(self.input(x))))
        b = self.conv2(a)
        b = self.act2(b + a if self.residual else b)
        return self.fc(torch.flatten(self.pool(b), 1))


def build(seed: int, channels: int, bias: bool, batch_norm: bool, residual: bool, pool: str, weights: str, activation: str, input_codes: bool) -> nn.Module:
    torch.manual_seed(seed)
    model = RandomNet(channels, bias, batch_norm, residual, pool)
    config = {**WEIGHTS[weights], "activation": ACTIVATIONS[activation]}
    if input_codes:
        config["input"] = {"name": "fixed_point", "bits": 6, "signed": False, "frac_bits": 6}
    snnq.quantize_(model, config)
    model.train()
    with torch.no_grad():
        for _ in range(2):  # calibrates the quantizers and moves BN's running statistics off their initial values
            model(torch.rand(8, 2, 8, 8) * 2)
    return model.eval()


def assert_equal_to_the_reference(model: nn.Module, snn, x: torch.Tensor) -> None:
    reference = IntegerReference(model)
    for mkldnn, threads in BLAS_SETTINGS:
        previous = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            with torch.backends.mkldnn.flags(enabled=mkldnn):
                expected = reference(x)
                activity = snnq.conversion.Activity()
                got = snn(x, mode="step", activity=activity)
                without_record = snn(x, mode="step")  # inference without an Activity keeps fewer spikes
        finally:
            torch.set_num_threads(previous)
        setting = f"mkldnn={mkldnn}, threads={threads}"
        assert torch.equal(got, expected) and torch.equal(without_record, expected), setting
        assert reference.accumulators.keys() == activity.accumulators.keys(), setting
        for name, accumulator in reference.accumulators.items():
            assert torch.equal(activity.accumulators[name].to(torch.int64), accumulator.to(torch.int64)), (setting, name)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**16), channels=st.integers(2, 5), bias=st.booleans(), batch_norm=st.booleans(), residual=st.booleans(),
    pool=st.sampled_from(["max", "avg", "none"]), weights=st.sampled_from(sorted(WEIGHTS)), activation=st.sampled_from(sorted(ACTIVATIONS)),
    input_codes=st.booleans(),
)
def test_rate_and_scatter_gather_equal_the_integer_reference_on_any_blas_path(seed, channels, bias, batch_norm, residual, pool, weights, activation, input_codes):
    model = build(seed, channels, bias, batch_norm, residual, pool, weights, activation, input_codes)
    x = torch.rand(6, 2, 8, 8) * 2
    levels = 7 if activation.startswith("fixed_point") else 4
    for method, options in [("rate", {}), ("scatter_gather", {"spike_budget": levels})]:
        assert_equal_to_the_reference(model, snnq.convert(model, method=method, **options), x)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**16), channels=st.integers(2, 5), bias=st.booleans(), pow2_scale=st.booleans())
def test_ttfs_equals_the_integer_reference_on_any_blas_path(seed, channels, bias, pow2_scale):
    torch.manual_seed(seed)
    model = RandomNet(channels, bias, batch_norm=False, residual=False, pool="max")
    snnq.quantize_(model, {
        "weight": {"name": "log2", "bits": 4, "pow2_scale": True},
        "activation": {"name": "log2", "levels": 6, "signed": False, "scale": 1.5, "learn_scale": True, "pow2_scale": pow2_scale, "rounding": "log_nearest"},
    })
    model(torch.rand(8, 2, 8, 8))
    model.eval()
    assert_equal_to_the_reference(model, snnq.convert(model, method="ttfs"), torch.rand(6, 2, 8, 8) * 2)


def test_a_float_bias_is_added_once_after_the_exact_accumulator():
    """The reference's float operation is stated: float32(acc) * float32(u s) + b, in that order."""
    torch.manual_seed(1)
    layer = nn.Linear(3, 2)
    snnq.quantize_(layer, {"weight": {"name": "fixed_point", "bits": 4, "frac_bits": 2}})
    synapse = snnq.conversion.IntegerSynapse.of("fc", layer)
    codes = torch.tensor([[1.0, 2.0, 3.0]])
    acc, current = synapse(codes, 0.5)
    expected_acc = codes.double() @ synapse.integer_weights().double().T
    assert torch.equal(acc.double(), expected_acc)
    assert torch.equal(current, acc.float() * torch.tensor(0.5 * 0.25, dtype=torch.float32) + layer.bias.detach())


def test_an_accumulator_too_large_for_float64_is_refused():
    layer = nn.Linear(2, 1, bias=False)
    snnq.quantize_(layer, {"weight": {"name": "fixed_point", "bits": 8, "frac_bits": 0}})
    with torch.no_grad():
        layer.parametrizations.weight.original.fill_(100.0)
    synapse = snnq.conversion.IntegerSynapse.of("fc", layer)
    assert synapse(torch.tensor([[2.0**20, 1.0]]), 1.0)[0].dtype == torch.float64  # beyond 2^24: float64
    with pytest.raises(snnq.errors.ConversionError, match=r"layer 'fc': its accumulator can reach .* beyond the 2\^53"):
        synapse.accumulate(torch.tensor([[2.0**50, 1.0]]))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), levels=st.integers(1, 15), extra_steps=st.integers(0, 3), step=st.sampled_from([0.25, 0.5, 0.3, 1.7]))
def test_the_rate_layers_count_only_simulation_is_its_neuron_step_by_step(seed, levels, extra_steps, step):
    """An inference that reads only the window's counts runs the IF neuron's steps without keeping each step's
    spikes (`RateActivation.burst_counts`); it must give the spike counts of the neuron's own multi-step run."""
    generator = torch.Generator().manual_seed(seed)
    current = (torch.rand(64, 9, generator=generator) * 2 - 0.5) * step * (levels + 2)
    current[:4] = torch.arange(4).reshape(-1, 1) * step + step / 2  # ties of the input rounding
    layer = snnq.conversion.RateActivation(step=step, levels=levels, steps=levels + extra_steps, source="act")
    recorded = layer.fire(current)
    assert torch.equal(layer.burst_counts(current), recorded.spikes.sum(0))
    counted = layer.fire(current, record=False, steps_needed=False)
    assert counted.values is None and torch.equal(counted.counted, recorded.spikes.sum(0))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), levels=st.integers(1, 8), rounding=st.sampled_from(["half_up", "half_even"]))
def test_the_scatter_groups_count_only_simulation_is_its_sub_neurons_summed(seed, levels, rounding):
    """`ScatterGatherNeuron.group_counts` (every sub-neuron's comparison, added per group) equals the group's spikes
    from the neuron's own forward pass, ties included."""
    generator = torch.Generator().manual_seed(seed)
    neuron = snnq.neuron("sg_stateless", levels=levels, threshold=0.5, spacing=0.5, scale=0.5, bits=6, rounding=rounding)
    x = torch.randint(-40, 80, (1, 32, 9), generator=generator).float() * 0.125  # many inputs exactly at a threshold
    with torch.no_grad():
        assert torch.equal(neuron.group_counts(x), neuron(x).sum(-1))
