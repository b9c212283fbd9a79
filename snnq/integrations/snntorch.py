"""snnq neurons as ``snntorch.SpikingNeuron`` subclasses: single-step, like ``snntorch.Leaky``.

    lif = snnq.neuron("lif", framework="snntorch", beta=0.9, bits=8, init_hidden=True)
    net = nn.Sequential(nn.Linear(784, 100), lif, nn.Linear(100, 10), snnq.neuron("lif", framework="snntorch", output=True, init_hidden=True))

The spikes are those of snnq's own module fed the same sequence (tested for every registered neuron); the
arithmetic is snnq's (`Neuron.step`), not snnTorch's ``Leaky`` update. Reset with ``reset_mem()``, or the whole
model with `snnq.reset_state` (snnTorch's ``utils.reset`` knows only snnTorch's own classes).
"""

from __future__ import annotations

from typing import Any

import snntorch
import torch
from torch import Tensor

from snnq.neurons.base import Neuron, State

OPTIONS = ("init_hidden", "output")


class SnnTorchNeuron(snntorch.SpikingNeuron):
    """A registered snnq neuron behind snnTorch's single-step interface.

    ``forward(input_, mem=None)`` takes one time step ``[B, ...]``; it returns ``spk`` when ``init_hidden`` is set
    (and not ``output``), else ``(spk, mem)``, as snnTorch's neurons do. ``mem`` is the neuron's membrane in value
    units (for quantized neurons: codes times the code value); passing ``mem`` sets the membrane.
    """

    def __init__(self, neuron: Neuron, *, init_hidden: bool = False, output: bool = False):
        super().__init__(threshold=neuron.threshold, init_hidden=init_hidden, output=output)
        self.neuron = neuron
        self.snnq_state: State | None = None

    @property
    def registry_name(self) -> str:
        return self.neuron.registry_name

    @property
    def mem(self) -> Tensor:
        """The membrane (the neuron's primary state) in value units; empty before the first step."""
        return torch.zeros(0) if self.snnq_state is None else self.neuron.state_value(self.snnq_state)

    def forward(self, input_: Tensor, mem: Tensor | None = None) -> Any:
        if self.init_hidden and mem is not None:
            raise TypeError("`mem` should not be passed as an argument while `init_hidden=True`")
        self.neuron.check_step_input(input_)
        state = self.snnq_state
        if state is None or next(iter(state.values())).shape[: input_.dim()] != input_.shape:
            state = self.neuron.initial_state(input_)
        if mem is not None:
            state = dict(state)
            codes = torch.round(mem / self.neuron.code_value) if self.neuron.quantized else mem
            state[self.neuron.primary_state] = codes
        spike, self.snnq_state = self.neuron.step(input_, state)
        if self.output or not self.init_hidden:
            return spike, self.mem
        return spike

    def reset_mem(self) -> Tensor:
        """Clears the state (snnTorch's name for it); returns the empty membrane."""
        self.snnq_state = None
        return self.mem

    def init_leaky(self) -> Tensor:  # snnTorch's deprecated alias
        return self.reset_mem()

    def reset_snnq_state(self) -> None:
        self.reset_mem()

    def detach_hidden_(self) -> None:
        """Detaches the state from the graph (truncated back-propagation through time)."""
        if self.snnq_state is not None:
            self.snnq_state = {k: v.detach() for k, v in self.snnq_state.items()}


def wrap(neuron: Neuron, *, init_hidden: bool = False, output: bool = False) -> SnnTorchNeuron:
    return SnnTorchNeuron(neuron, init_hidden=init_hidden, output=output)
