"""`snnq.verify` must be able to disagree: a corrupted synapse or spike in a converted network is reported, the
default is the event-by-event simulation, and the reported synaptic values and spikes are what the simulation used."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import snnq
from snnq.conversion import IntegerReference

CONFIG = {
    "weight": {"name": "fixed_point", "bits": 4, "frac_bits": 3},
    "activation": {"name": "uniform", "levels": 4, "scale": 0.5},
    "input": {"name": "fixed_point", "bits": 4, "signed": False, "frac_bits": 4},
}


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.input = nn.Identity()
        self.fc1 = nn.Linear(12, 16)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(self.input(x))))


@pytest.fixture
def model() -> nn.Module:
    torch.manual_seed(0)
    net = Net()
    snnq.quantize_(net, CONFIG)
    net(torch.rand(64, 12))
    return net.eval()


@pytest.fixture
def data() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(1)
    return [(torch.rand(32, 12, generator=generator), torch.randint(0, 4, (32,), generator=generator)) for _ in range(2)]


def busiest_hidden_neuron(model: nn.Module, data) -> int:
    """The hidden neuron that is active most often (so that its outgoing synapses matter)."""
    activity = snnq.conversion.Activity()
    snn = snnq.convert(model, method="rate")
    for x, _ in data:
        snn(x, activity=activity)
    return int(activity.layers["act"].spikes.argmax())


def test_the_default_is_the_step_simulation_and_only_it_claims_exactness(model, data):
    snn = snnq.convert(model, method="rate")
    report = snnq.verify(model, snn, data, progress=False)
    assert report.mode == "step" and report.exact
    assert report.accumulator_mismatches == {"fc1": 0, "fc2": 0} and not report.unchecked_layers
    window = snnq.verify(model, snn, data, mode="window", progress=False)
    assert window.logit_mismatches == 0 and not window.exact  # a fast check, no exactness claim


@pytest.mark.parametrize("method, options", [("rate", {}), ("scatter_gather", {"spike_budget": 4})])
def test_a_corrupted_synapse_is_reported(model, data, method, options):
    snn = snnq.convert(model, method=method, **options)
    neuron = busiest_hidden_neuron(model, data)
    weights = snn.synapses["fc2"].weights
    with torch.no_grad():
        if snn.synapses["fc2"].unary:  # one unit synapse of the first plane: 0 -> 1 or +-1 -> 0
            weights[0, 0, neuron] = 1 - weights[0, 0, neuron].abs()
        else:
            weights[0, neuron] += -1 if weights[0, neuron] > 0 else 1
    report = snnq.verify(model, snn, data, progress=False)
    assert report.accumulator_mismatches["fc2"] > 0 and report.accumulator_mismatches["fc1"] == 0
    assert report.logit_mismatches > 0 and not report.exact


def test_a_corrupted_spike_is_reported_by_the_step_simulation_only(model, data):
    snn = snnq.convert(model, method="rate")
    neuron = busiest_hidden_neuron(model, data)
    layer = snn.spiking_layers()["act"]
    honest = layer.neuron.forward

    def one_spike_more(x):
        spikes = honest(x).clone()
        spikes[-1, 0, neuron] = 2.0  # neuron `neuron` of the first sample fires twice in the window's last step
        return spikes

    layer.neuron.forward = one_spike_more
    report = snnq.verify(model, snn, data, progress=False)
    assert report.accumulator_mismatches["fc2"] > 0 and report.logit_mismatches > 0 and not report.exact
    assert report.max_spikes_per_step == 2  # from the spikes the neurons emitted, not from the codes
    window = snnq.verify(model, snn, data, mode="window", progress=False)
    assert window.logit_mismatches == 0 and window.max_spikes_per_step == 1  # the closed form never sees the neuron


def test_synaptic_values_are_the_values_the_simulated_synapses_held(model, data):
    rate = snnq.convert(model, method="rate")
    codes = {name: sorted(torch.unique(s.weights).tolist()) for name, s in rate.synapses.items()}
    assert snnq.verify(model, rate, data, progress=False).synaptic_values == codes
    scatter = snnq.convert(model, method="scatter_gather", spike_budget=4)
    assert set(map(tuple, snnq.verify(model, scatter, data, progress=False).synaptic_values.values())) == {(-1, 0, 1)}
    with torch.no_grad():
        scatter.synapses["fc1"].weights[0, 0, 0] = 2  # no longer a ternary synapse: the report must say so
    report = snnq.verify(model, scatter, data, progress=False)
    assert 2 in report.synaptic_values["fc1"] and report.accumulator_mismatches["fc1"] > 0


def test_the_reference_does_not_depend_on_the_summation_order():
    """The float32 ANN's sum depends on its order; the integer reference's does not: permuting the fan-in (the same
    network, the same inputs) leaves every reference output bit unchanged."""
    torch.manual_seed(3)
    layer = nn.Sequential(nn.Identity(), nn.Linear(256, 8), nn.ReLU(), nn.Linear(8, 3))
    config = {"weight": {"name": "uniform", "bits": 4, "signed": True}, "per_channel": True, "activation": CONFIG["activation"]}
    permutation = torch.randperm(256)
    permuted = nn.Sequential(nn.Identity(), nn.Linear(256, 8), nn.ReLU(), nn.Linear(8, 3))
    permuted.load_state_dict(layer.state_dict())
    with torch.no_grad():
        permuted[1].weight.copy_(layer[1].weight[:, permutation])
    for net in (layer, permuted):
        snnq.quantize_(net, config)
    x = torch.rand(64, 256)
    for net, inputs in ((layer, x), (permuted, x[:, permutation])):
        net(inputs)
        net.eval()
    assert torch.equal(IntegerReference(layer)(x), IntegerReference(permuted)(x[:, permutation]))
