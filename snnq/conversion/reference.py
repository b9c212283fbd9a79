"""The integer reference of a quantized ANN: what "lossless" is measured against.

A quantized ANN run in float32 is not one well-defined number per output: its layers sum products in whatever
order the BLAS picks, and a float bias or a scale the integers cannot carry makes that order show in the last bit.
`IntegerReference` runs the same network with every synaptic layer that reads integer codes computed as an
`IntegerSynapse` (exact integer accumulator, then ``float32(acc) * float32(u s) + b``); every other operation (the
quantized activations, batch norm, pooling, residual sums, a first layer that reads unquantized inputs) runs as the
network's own module, on the same values the spiking network gives it. It records every accumulator, so that
`snnq.verify` compares the spiking network's with it as integers.

Example:
    >>> import snnq, torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> _ = snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 4},
    ...                          "activation": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 2}})
    >>> reference = snnq.conversion.IntegerReference(net.eval())
    >>> x = torch.rand(5, 4)
    >>> torch.equal(reference(x), snnq.convert(net, method="rate")(x))
    True
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, fx, nn

from snnq.conversion.integer_synapse import IntegerSynapse
from snnq.conversion.trace import SYNAPTIC, trace, weight_quantizer
from snnq.conversion.units import UnitTracking


def grid_codes(values: Tensor, unit: float) -> Tensor:
    """The integer codes ``round(values / unit)`` of values on a grid of ``unit`` (exact for the float32 products of
    small integers and a unit, dyadic or not)."""
    return torch.div(values, unit).round_()


class IntegerReference(nn.Module):
    """``model`` (a quantized ANN) evaluated with exact integer synapses; ``accumulators`` holds the last call's."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.graph_module = trace(model)
        self.synapses = {
            name: IntegerSynapse.of(name, module)
            for name, module in self.graph_module.named_modules()
            if isinstance(module, SYNAPTIC) and weight_quantizer(module) is not None
        }
        self.accumulators: dict[str, Tensor] = {}

    def forward(self, x: Tensor) -> Tensor:
        self.accumulators = {}
        with torch.no_grad():
            return _ReferenceRunner(self).run(x)


class _ReferenceRunner(UnitTracking, fx.Interpreter):
    def __init__(self, reference: IntegerReference):
        super().__init__(reference.graph_module)
        self.reference = reference

    def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
        synapse = self.reference.synapses.get(target)
        unit = self.input_unit()
        if synapse is None or unit is None:
            return super().call_module(target, args, kwargs)
        acc, current = synapse(grid_codes(args[0], unit), unit)
        self.reference.accumulators[target] = acc
        return current
