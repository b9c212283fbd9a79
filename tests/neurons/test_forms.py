"""Fed the same input sequence, snnq's module, the snnTorch adapter and the SpikingJelly adapter (single- and
multi-step) give identical spikes, for every registered neuron, float and quantized."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from snntorch import utils as snntorch_utils
from spikingjelly.activation_based import functional, layer
from torch import nn

import snnq

NAMES = snnq.NEURONS.names()
MODES = [{}, {"bits": 8}]

sequences = arrays(
    np.float32, st.tuples(st.integers(1, 12), st.integers(1, 3), st.integers(1, 5)),
    elements=st.floats(-3, 3, allow_nan=False, width=32),
).map(torch.from_numpy)


def test_every_documented_neuron_is_registered():
    assert {"if", "lif", "plif", "sg_stateless", "ttfs"} <= set(NAMES)


def run_all_forms(name: str, options: dict, x: torch.Tensor) -> dict[str, torch.Tensor]:
    own = snnq.neuron(name, **options)
    in_snntorch = snnq.neuron(name, framework="snntorch", init_hidden=True, **options)
    jelly_single = snnq.neuron(name, framework="spikingjelly", step_mode="s", **options)
    jelly_multi = snnq.neuron(name, framework="spikingjelly", step_mode="m", **options)
    return {
        "snnq": own(x),
        "snntorch": torch.stack([in_snntorch(x[t]) for t in range(x.shape[0])]),
        "spikingjelly s": torch.stack([jelly_single(x[t]) for t in range(x.shape[0])]),
        "spikingjelly m": jelly_multi(x),
    }


@pytest.mark.parametrize("mode", MODES, ids=["float", "8-bit"])
@pytest.mark.parametrize("name", NAMES)
@given(x=sequences)
def test_three_forms_give_identical_spikes(name, mode, x):
    spikes = run_all_forms(name, mode, x)
    reference = spikes.pop("snnq")
    for form, value in spikes.items():
        assert torch.equal(value, reference), f"{name} {mode}: {form} differs from snnq's module"


@pytest.mark.parametrize("name", NAMES)
def test_snntorch_adapter_behaves_like_an_snntorch_neuron(name):
    import snntorch

    lif = snnq.neuron(name, framework="snntorch", init_hidden=True)
    out = snnq.neuron(name, framework="snntorch", init_hidden=True, output=True)
    assert isinstance(lif, snntorch.SpikingNeuron)
    width = 6
    net = nn.Sequential(nn.Linear(4, width), lif, nn.Flatten(), nn.LazyLinear(3), out)
    x = torch.rand(5, 2, 4)
    spk, mem = net(x[0])  # init_hidden + output: (spk, mem), as snnTorch's output layers return
    assert spk.shape[0] == 2 and mem.shape[0] == 2
    lif.reset_mem()
    assert lif.mem.numel() == 0
    plain = snnq.neuron(name, framework="snntorch")  # without init_hidden: (spk, mem) and mem may be passed in
    spk, mem = plain(torch.ones(2, 3))
    spk2, mem2 = plain(torch.ones(2, 3), mem)
    assert spk2.shape == spk.shape and mem2.shape == (2, 3)


def test_snntorch_membrane_passed_in_sets_the_state():
    lif = snnq.neuron("lif", framework="snntorch", beta=0.5, bits=8)
    _, mem = lif(torch.zeros(1, 2), torch.tensor([[0.75, -0.25]]))
    assert mem.tolist() == [[0.375, -0.125]]  # (m u + 2^(F-1)) >> F with m = 128: halves the codes 48 and -16


@pytest.mark.parametrize("name", NAMES)
def test_spikingjelly_adapter_works_with_reset_net_and_seq_to_ann_container(name):
    torch.manual_seed(0)
    neuron = snnq.neuron(name, framework="spikingjelly", step_mode="m")
    net = nn.Sequential(layer.SeqToANNContainer(nn.Linear(4, 6)), neuron)
    x = torch.rand(5, 2, 4) * 2
    first = net(x)
    assert neuron.snnq_state is not None
    functional.reset_net(net)
    assert neuron.snnq_state is None
    assert torch.equal(net(x), first)  # a reset network starts afresh
    functional.reset_net(net)
    single = nn.Sequential(net[0][0], neuron)  # the same layer and neuron, one step at a time
    functional.set_step_mode(single, "s")
    stepped = torch.stack([single(x[t]) for t in range(5)])
    assert torch.equal(stepped, first)


def test_reset_state_resets_only_the_given_model():
    a = nn.Sequential(nn.Linear(3, 3), snnq.neuron("lif"), snnq.neuron("if", framework="snntorch", init_hidden=True))
    b = nn.Sequential(nn.Linear(3, 3), snnq.neuron("lif"), snnq.neuron("if", framework="spikingjelly", step_mode="m"))
    x = torch.rand(4, 2, 3)
    a[1](x), a[2](x[0]), b[1](x), b[2](x)
    snnq.reset_state(a)
    assert a[1].state is None and a[2].snnq_state is None
    assert b[1].state is not None and b[2].snnq_state is not None
    snnq.reset_state(b)
    assert b[1].state is None and b[2].snnq_state is None


def test_snntorch_utils_reset_ignores_snnq_neurons_so_use_snnq_reset_state():
    """The documented pitfall: snnTorch's utils.reset only knows snnTorch's own classes."""
    net = nn.Sequential(nn.Linear(3, 3), snnq.neuron("lif", framework="snntorch", init_hidden=True))
    net(torch.rand(2, 3) * 5)
    snntorch_utils.reset(net)
    assert net[1].snnq_state is not None  # untouched by snnTorch
    snnq.reset_state(net)
    assert net[1].snnq_state is None


def test_state_carries_over_between_calls_until_reset():
    lif = snnq.neuron("lif", beta=0.9)
    x = torch.rand(10, 2, 4)
    whole = lif(x)
    lif.reset_state()
    chunks = torch.cat([lif(x[:4]), lif(x[4:])])
    assert torch.equal(whole, chunks)
