"""snnq neurons as SpikingJelly 2.x memory modules: ``step_mode='s'`` (``[B, ...]``) or ``'m'`` (``[T, B, ...]``).

    lif = snnq.neuron("lif", framework="spikingjelly", beta=0.9, bits=8, step_mode="m")
    net = nn.Sequential(layer.SeqToANNContainer(nn.Conv2d(2, 8, 3)), lif)
    out = net(x_seq); functional.reset_net(net)

Works with ``functional.set_step_mode``, ``functional.reset_net`` and ``layer.SeqToANNContainer``; the spikes are
those of snnq's own module fed the same sequence (the multi-step mode runs snnq's fused kernel).
"""

from __future__ import annotations

from spikingjelly.activation_based import base
from torch import Tensor

from snnq.errors import TensorTypeError
from snnq.neurons.base import Neuron

OPTIONS = ("step_mode",)


class SpikingJellyNeuron(base.MemoryModule):
    """A registered snnq neuron behind SpikingJelly's memory-module interface; its state is the memory
    ``snnq_state`` (cleared by ``reset()``/``functional.reset_net``). ``v`` is the membrane in value units."""

    def __init__(self, neuron: Neuron, *, step_mode: str = "s"):
        super().__init__()
        self.neuron = neuron
        self.step_mode = step_mode
        self.register_memory("snnq_state", None)

    @property
    def registry_name(self) -> str:
        return self.neuron.registry_name

    @property
    def v(self) -> Tensor | None:
        return None if self.snnq_state is None else self.neuron.state_value(self.snnq_state)

    def _state_for(self, x: Tensor) -> dict[str, Tensor]:
        state = self.snnq_state
        if state is None:
            return self.neuron.initial_state(x)
        shape = next(iter(state.values())).shape[: x.dim()]
        if shape != x.shape:
            raise TensorTypeError(
                f"{self.registry_name}: input of shape {tuple(x.shape)} per step does not match the state of shape "
                f"{tuple(shape)}; call functional.reset_net(net) between batches"
            )
        return state

    def single_step_forward(self, x: Tensor) -> Tensor:
        self.neuron.check_step_input(x)
        spike, self.snnq_state = self.neuron.step(x, self._state_for(x))
        return spike

    def multi_step_forward(self, x_seq: Tensor) -> Tensor:
        self.neuron.check_sequence(x_seq)
        spikes, self.snnq_state = self.neuron.multi_step(x_seq, self._state_for(x_seq[0]))
        return spikes

    def reset_snnq_state(self) -> None:
        self.reset()

    def extra_repr(self) -> str:
        return f"{self.neuron.registry_name}({self.neuron.extra_repr()}), step_mode={self.step_mode}"


def wrap(neuron: Neuron, *, step_mode: str = "s") -> SpikingJellyNeuron:
    return SpikingJellyNeuron(neuron, step_mode=step_mode)
