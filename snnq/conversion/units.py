"""Which values of a quantized ANN (or of the spiking network converted from it) are integer codes, and of what unit.

A value is ``n u`` with ``n`` an integer and ``u`` its unit when it comes from a quantized activation (``u`` its
step; for ``log2`` codes ``x_max 2^-(L-1)``, so that ``x_max 2^-e`` is the integer ``2^(L-1-e)``), from the spikes
of a neuron layer (the unit of the activation it replaced), or from such a value through an operation that keeps
the grid: a max-pooling, a flatten or reshape, a sum of values of one unit, or of power-of-two units (the finest
unit), and an average pooling over ``k`` inputs (unit ``u / k``). Everything else (the input when it is not
quantized, synaptic currents, batch norm) has no unit: a synaptic layer reading it computes in the host's float
arithmetic, the same call on both sides of a comparison.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import fx, nn

from snnq.conversion.activity import Train
from snnq.conversion.integer_synapse import is_power_of_two
from snnq.conversion.trace import REMOVED
from snnq.quant.apply import QuantizedActivation
from snnq.quant.base import Quantizer

KEEPING_MODULES = (nn.Flatten, nn.Identity, nn.Unflatten, nn.MaxPool1d, nn.MaxPool2d) + REMOVED
AVERAGING_MODULES = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
KEEPING_FUNCTIONS = {torch.flatten}
KEEPING_METHODS = {"view", "reshape", "flatten", "contiguous"}
SUMS = {operator.add, torch.add}


def code_unit(quantizer: Quantizer) -> float | None:
    """The unit of ``quantizer``'s codes when it is one number that does not depend on the input, else None."""
    if quantizer.encoding == "log2":
        scale = quantizer.fixed_scale()
        return None if scale is None else scale * 2.0**-quantizer.max_exponent
    return quantizer.fixed_step()


def _per_sample(value: Any) -> int | None:
    """Elements per sample of a tensor ``[B, ...]`` or of a spike train."""
    if isinstance(value, Train):
        return value.values[0, 0].numel() if value.values is not None else value.summed[0].numel()
    return value[0].numel() if isinstance(value, torch.Tensor) and value.dim() > 0 else None


def _sum_unit(units: list[float | None]) -> float | None:
    if any(u is None for u in units):
        return None
    if len(set(units)) == 1:
        return units[0]
    return min(units) if all(is_power_of_two(u) for u in units) else None


class UnitTracking:
    """Mixin for an `fx.Interpreter`: records the unit of every node's value as the graph runs (``self.units``)
    and which node runs (``self.node``). Subclasses name their neuron layers' units in `module_unit`."""

    units: dict[fx.Node, float | None]
    node: fx.Node | None = None

    def run_node(self, node: fx.Node) -> Any:
        if not hasattr(self, "units"):
            self.units = {}
        self.node = node
        out = super().run_node(node)  # type: ignore[misc]
        self.units[node] = self._unit_of(node, out)
        return out

    def input_unit(self) -> float | None:
        """The unit of the running node's first argument."""
        first = self.node.args[0] if self.node is not None and self.node.args else None
        return self.units.get(first) if isinstance(first, fx.Node) else None

    def module_unit(self, module: nn.Module) -> float | None:
        """The unit of what ``module`` (a neuron-like module) emits; quantized activations by default."""
        return code_unit(module.quantizer) if isinstance(module, QuantizedActivation) else None

    def _unit_of(self, node: fx.Node, out: Any) -> float | None:
        first = self.input_unit()
        if node.op == "call_module":
            module = self.fetch_attr(node.target)  # type: ignore[attr-defined]
            if isinstance(module, KEEPING_MODULES):
                return first
            if isinstance(module, AVERAGING_MODULES) and first is not None:
                before, after = _per_sample(self.env[node.args[0]]), _per_sample(out)  # type: ignore[attr-defined]
                channels_kept = before is not None and after and before % after == 0
                return first / (before // after) if channels_kept else None
            return self.module_unit(module)
        if node.op == "call_function" and node.target in KEEPING_FUNCTIONS:
            return first
        if node.op == "call_method" and node.target in KEEPING_METHODS:
            return first
        if node.op == "call_function" and node.target in SUMS and all(isinstance(a, fx.Node) for a in node.args):
            return _sum_unit([self.units.get(a) for a in node.args])
        return None
