"""``snnq.neuron``: one registered neuron, as snnq's own module or inside snnTorch or SpikingJelly."""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Any

from torch import nn

from snnq.errors import UnknownNameError
from snnq.registry import NEURONS

FRAMEWORKS = MappingProxyType({"snntorch": "snnq.integrations.snntorch", "spikingjelly": "snnq.integrations.spikingjelly"})
"""Framework name -> module whose ``wrap(neuron, **framework_options)`` returns that framework's neuron."""


def neuron(name: str, /, framework: str | None = None, **options: Any) -> nn.Module:
    """Builds the neuron registered as ``name``.

    ``framework=None``: snnq's own multi-step module (``[T, B, ...]`` in, spikes out). ``"snntorch"``: a
    ``snntorch.SpikingNeuron`` subclass (``init_hidden``, ``output``, ``reset_mem()``; options ``init_hidden`` and
    ``output`` go to it). ``"spikingjelly"``: a SpikingJelly 2.x memory module (``step_mode='s'|'m'``,
    ``functional.reset_net``; option ``step_mode``). All three compute the same spikes.

    Example:
        >>> import snnq, torch
        >>> lif = snnq.neuron("lif", beta=0.875, bits=8)
        >>> lif(torch.full((4, 1, 3), 0.6)).squeeze(1)[:, 0].tolist()
        [0.0, 1.0, 0.0, 1.0]
    """
    if framework is None:
        return NEURONS.build(name, **options)
    if framework not in FRAMEWORKS:
        raise UnknownNameError("framework", framework, FRAMEWORKS)
    adapter = importlib.import_module(FRAMEWORKS[framework])
    framework_options = {k: options.pop(k) for k in list(options) if k in adapter.OPTIONS}
    return adapter.wrap(NEURONS.build(name, **options), **framework_options)


def reset_state(model: nn.Module) -> None:
    """Resets every snnq neuron in ``model`` (and only there): snnq's own modules and the snnTorch/SpikingJelly
    adapters alike.

    snnTorch's ``utils.reset`` only knows snnTorch's own neuron classes (it ignores classes defined elsewhere,
    snnq's adapters included), and SpikingJelly's ``functional.reset_net`` resets its memory modules; this one
    call resets the snnq neurons in a network that mixes them.
    """
    for module in model.modules():
        reset = getattr(module, "reset_snnq_state", None)
        if callable(reset):
            reset()
