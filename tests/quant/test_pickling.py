"""Quantized networks pickle (what ``trainer.strategy=ddp_spawn`` does to send them to its processes) and come back
exactly: the same parametrized layers, every quantizer's state bit for bit, the same outputs, and training goes on
as it would have."""

from __future__ import annotations

import copy
import pickle
from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.nn.utils import parametrize

import snnq
from snnq.quant import QuantizedActivation, Quantizer

NAMES = snnq.QUANTIZERS.names()


def network(name: str) -> nn.Sequential:
    """A small MLP with ``name`` on its weights (per channel), biases, activations and input."""
    torch.manual_seed(0)
    net = nn.Sequential(OrderedDict(input=nn.Identity(), hidden=nn.Linear(6, 5), relu=nn.ReLU(), out=nn.Linear(5, 3)))
    snnq.quantize_(net, {"weight": {"name": name}, "per_channel": True, "bias": {"name": name},
                         "activation": {"name": name}, "input": {"name": name}})
    return net


def every_tensor(net: nn.Module) -> dict[str, torch.Tensor]:
    """Parameters and buffers, the non-persistent ones too (the state dict leaves those out)."""
    return {**dict(net.named_parameters()), **dict(net.named_buffers())}


def assert_same_state(loaded: nn.Module, net: nn.Module) -> None:
    before, after = every_tensor(net), every_tensor(loaded)
    assert after.keys() == before.keys()
    for key in before:
        assert after[key].dtype == before[key].dtype and torch.equal(after[key], before[key]), key
    state, loaded_state = net.state_dict(), loaded.state_dict()
    assert loaded_state.keys() == state.keys()
    assert all(torch.equal(loaded_state[key], state[key]) for key in state)
    # the Python mirrors of the `initialized` buffers (read by forward, never synchronised from the buffer there)
    mirrors = {name: m._initialized for name, m in net.named_modules() if isinstance(m, Quantizer)}
    assert {name: m._initialized for name, m in loaded.named_modules() if isinstance(m, Quantizer)} == mirrors


def assert_still_quantized(loaded: nn.Sequential, net: nn.Sequential) -> None:
    """The loaded layers are parametrized by the same kinds of quantizers, which give ``weight`` and ``bias``
    (in eval mode): not float tensors baked in."""
    for name in ("hidden", "out"):
        layer = loaded.get_submodule(name)
        for tensor in ("weight", "bias"):
            assert parametrize.is_parametrized(layer, tensor), f"{name}.{tensor}: the parametrization was lost"
            chain, source = getattr(layer.parametrizations, tensor), getattr(net.get_submodule(name).parametrizations, tensor)
            assert [type(step) for step in chain] == [type(step) for step in source] and isinstance(chain[0], Quantizer)
            with torch.no_grad():
                assert torch.equal(getattr(layer, tensor), chain[0](chain.original))
    assert isinstance(loaded.relu, QuantizedActivation) and isinstance(loaded.input, QuantizedActivation)


@pytest.mark.parametrize("name", NAMES)
def test_a_quantized_network_pickles_bit_for_bit(name):
    net = network(name)
    x = torch.randn(4, 6, generator=torch.Generator().manual_seed(1)) * 3
    net.train()(x)  # lazily initialised state: activation and input scales, observers, fractional lengths
    net.eval()
    loaded = pickle.loads(pickle.dumps(net))
    assert_same_state(loaded, net)
    assert_still_quantized(loaded, net)
    assert type(loaded.hidden) is not nn.Linear and isinstance(loaded.hidden, nn.Linear)  # PyTorch's parametrized class
    assert torch.equal(loaded(x), net(x))
    assert_same_state(pickle.loads(pickle.dumps(loaded)), net)  # and again, from the loaded one
    assert snnq.integer_weights(loaded).keys() == snnq.integer_weights(net).keys()


@pytest.mark.parametrize("name", NAMES)
def test_a_pickled_network_trains_on_as_the_original(name):
    """Before any call (activation quantizers not yet calibrated) and through a training step: the loaded copy
    calibrates on the same input and takes the same step, and its parameters are its own."""
    net = network(name)
    loaded = pickle.loads(pickle.dumps(net))
    assert_same_state(loaded, net)
    x, y = torch.randn(8, 6, generator=torch.Generator().manual_seed(2)) * 3, torch.arange(8) % 3
    for model in (net, loaded):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        nn.functional.cross_entropy(model.train()(x), y).backward()
        optimizer.step()
    assert_same_state(loaded, net)
    assert not any(a.data_ptr() == b.data_ptr() for a, b in zip(net.parameters(), loaded.parameters()))


def test_the_loaded_network_is_a_parametrized_module_not_a_baked_one():
    net = network("uniform")
    loaded = pickle.loads(pickle.dumps(net))
    with torch.no_grad():  # a new float weight is quantized again: the quantizer is still in the path
        loaded.hidden.parametrizations.weight.original.add_(0.37)
        net.hidden.parametrizations.weight.original.add_(0.37)
    assert torch.equal(loaded.hidden.weight, net.hidden.weight)
    assert [entry.name for entry in snnq.quantized_weights(loaded)] == ["hidden", "out"]


def test_deepcopy_still_uses_pytorchs_copy():
    net = network("lsq")
    x = torch.randn(4, 6)
    net(x)
    copied = copy.deepcopy(net)
    assert type(copied.hidden) is type(net.hidden)  # deepcopy keeps the very parametrized class; pickling makes a new one
    assert_same_state(copied, net)
    assert torch.equal(copied.eval()(x), net.eval()(x))


def test_a_fully_unquantized_layer_pickles_as_its_plain_class():
    net = network("fixed_point")
    snnq.unquantize_(net)
    loaded = pickle.loads(pickle.dumps(net))
    assert type(loaded.hidden) is nn.Linear and torch.equal(loaded.hidden.weight, net.hidden.weight)
