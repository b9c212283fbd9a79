"""Tracing a network with ``torch.fx`` for conversion, and sorting its operations into what converters know."""

from __future__ import annotations

import copy
import operator
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.nn.utils import parametrize

from snnq.errors import ConversionError
from snnq.neurons.base import Neuron
from snnq.quant.apply import QuantizedActivation
from snnq.quant.base import Quantizer

SYNAPTIC = (nn.Linear, nn.Conv1d, nn.Conv2d)
"""Layers whose weights become synapses."""

PASSIVE_MODULES = (
    nn.BatchNorm1d, nn.BatchNorm2d, nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.MaxPool1d, nn.MaxPool2d,
    nn.Flatten, nn.Identity, nn.Unflatten,
)
"""Modules that act between neurons without being neurons or synapses."""

REMOVED = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.AlphaDropout)
"""Modules that do nothing at inference and are dropped."""

PASSIVE_FUNCTIONS = {operator.add, torch.add, torch.flatten, torch.cat, operator.getitem}
PASSIVE_METHODS = {"view", "reshape", "flatten", "size", "contiguous", "add"}


class ConversionTracer(fx.Tracer):
    """Keeps snnq's quantizers, quantized activations and neurons as leaves (their Python control flow is not
    traceable, and converters replace them whole)."""

    def is_leaf_module(self, module: nn.Module, name: str) -> bool:
        if isinstance(module, (Quantizer, QuantizedActivation, Neuron)):
            return True
        return super().is_leaf_module(module, name)


def trace(model: nn.Module) -> fx.GraphModule:
    """A deep copy of ``model`` (eval mode) as a GraphModule; the input model is not touched."""
    copied = copy.deepcopy(model).eval()
    try:
        graph = ConversionTracer().trace(copied)
    except Exception as error:  # fx's own messages name the Python construct it could not follow
        raise ConversionError(f"torch.fx could not trace {type(model).__name__}: {error}") from error
    return fx.GraphModule(copied, graph, class_name=f"Spiking{type(model).__name__}")


def layer_type(module: nn.Module) -> type:
    """The class a user wrote (not ``ParametrizedLinear``)."""
    return type(module).__bases__[0] if parametrize.is_parametrized(module) else type(module)


def weight_quantizer(module: nn.Module) -> Quantizer | None:
    if not parametrize.is_parametrized(module, "weight"):
        return None
    return next((p for p in module.parametrizations.weight if isinstance(p, Quantizer)), None)


@dataclass(frozen=True)
class Operation:
    """One node of the traced graph, with the module it calls (if any)."""

    node: fx.Node
    module: nn.Module | None

    @property
    def kind(self) -> str:
        if self.module is not None:
            return layer_type(self.module).__name__
        target = self.node.target
        return getattr(target, "__name__", str(target))


def operations(graph_module: fx.GraphModule) -> list[Operation]:
    modules = dict(graph_module.named_modules())
    return [
        Operation(node, modules.get(node.target) if node.op == "call_module" else None)
        for node in graph_module.graph.nodes
        if node.op not in ("placeholder", "output", "get_attr")
    ]


def is_passive(operation: Operation) -> bool:
    node, module = operation.node, operation.module
    if node.op == "call_module":
        return isinstance(module, PASSIVE_MODULES + REMOVED)
    if node.op == "call_function":
        return node.target in PASSIVE_FUNCTIONS
    if node.op == "call_method":
        return node.target in PASSIVE_METHODS
    return False


def drop_removed_modules_(graph_module: fx.GraphModule) -> None:
    """Replaces dropout nodes by their input."""
    modules = dict(graph_module.named_modules())
    for node in list(graph_module.graph.nodes):
        if node.op == "call_module" and isinstance(modules[node.target], REMOVED):
            node.replace_all_uses_with(node.args[0])
            graph_module.graph.erase_node(node)
    graph_module.graph.lint()
    graph_module.recompile()


def replace_modules_(graph_module: fx.GraphModule, replacements: dict[str, nn.Module]) -> None:
    """Swaps the modules that call_module nodes name (keeping the names, so the graph stays valid)."""
    for name, module in replacements.items():
        parent, _, child = name.rpartition(".")
        setattr(graph_module.get_submodule(parent) if parent else graph_module, child, module)
    graph_module.recompile()


Check = Callable[[Operation], str | None]
"""Returns why an operation cannot be converted, or None when it can."""
