"""The converter base class and `snnq.convert`."""

from __future__ import annotations

from typing import Any, ClassVar

from torch import nn

from snnq.conversion.layers import SpikingActivation
from snnq.conversion.network import SpikingNetwork
from snnq.conversion.trace import SYNAPTIC, Operation, drop_removed_modules_, is_passive, layer_type, operations, replace_modules_, trace, weight_quantizer
from snnq.errors import ConfigError, ConversionError, UnsupportedOperationsError
from snnq.quant.apply import QuantizedActivation
from snnq.quant.base import Quantizer
from snnq.registry import CONVERTERS

UNQUANTIZED_ACTIVATIONS = (nn.ReLU,)  # other activations cannot become these neurons at all: unsupported


class Converter:
    """Turns a network into a `SpikingNetwork` built from snnq neurons, leaving the input network untouched.

    Subclasses state what they accept (`check_synapse`, `spiking_activation`) and the schedule they run on. Every
    problem in the network is collected before anything is built, so one error lists them all.
    """

    registry_name: ClassVar[str] = "converter"
    lossless: ClassVar[bool] = True
    schedule: ClassVar[str] = "layerwise"
    ternary: ClassVar[bool] = False
    first_spike_pooling: ClassVar[bool] = False

    def convert(self, model: nn.Module) -> SpikingNetwork:
        if not isinstance(model, nn.Module):
            raise ConversionError(f"{self.registry_name}: expected an nn.Module, got {type(model).__name__}")
        graph_module = trace(model)
        drop_removed_modules_(graph_module)
        problems: list[str] = []
        unsupported: list[tuple[str, str]] = []
        replacements: dict[str, nn.Module] = {}
        synapse_values = {}
        for operation in operations(graph_module):
            node, module = operation.node, operation.module
            label = node.target if node.op == "call_module" else node.name
            if isinstance(module, QuantizedActivation) and is_input_quantizer(node):
                continue  # the input's integer codes drive the first synapses directly (multi-level input)
            if isinstance(module, QuantizedActivation):
                try:
                    replacements[node.target] = self.spiking_activation(node.target, module)
                except ConversionError as error:
                    problems.append(str(error))
            elif isinstance(module, SYNAPTIC):
                problem = self.check_synapse(node.target, module)
                if problem:
                    problems.append(problem)
                else:
                    synapse_values[node.target] = self.synapse_values(module)
            elif isinstance(module, UNQUANTIZED_ACTIVATIONS) or getattr(node.target, "__name__", "") in ("relu", "relu_"):
                problems.append(self.unquantized_activation(label, operation))
            elif not is_passive(operation):
                unsupported.append((label, operation.kind))
        if unsupported:
            raise UnsupportedOperationsError(self.registry_name, unsupported)
        if problems:
            raise ConversionError(f"{self.registry_name}: cannot convert this network:\n- " + "\n- ".join(problems))
        if not replacements:
            raise ConversionError(f"{self.registry_name}: the network has no quantized activation to turn into neurons")
        replace_modules_(graph_module, replacements)
        self.check_steps(replacements)
        return SpikingNetwork(
            graph_module, coding=self.registry_name, schedule=self.schedule, steps=self.steps_of(replacements),
            synapse_values=synapse_values, ternary=self.ternary, first_spike_pooling=self.first_spike_pooling,
        )

    # -- what subclasses decide -------------------------------------------------------------------------------
    def spiking_activation(self, name: str, activation: QuantizedActivation) -> SpikingActivation:
        raise NotImplementedError

    def check_synapse(self, name: str, module: nn.Module) -> str | None:
        """Why this synaptic layer cannot be converted, or None (default: it needs a linear weight quantizer)."""
        quantizer = weight_quantizer(module)
        label = f"layer {name!r} ({layer_type(module).__name__})"
        if quantizer is None:
            return f"{label} lacks a weight quantizer (quantize it with snnq.quantize_)"
        if quantizer.encoding != "linear":
            return f"{label} has {quantizer.registry_name} weights; {self.registry_name} needs a linear integer grid"
        return None

    def synapse_values(self, module: nn.Module) -> Any:
        """The integer synaptic values stored for ``module`` (the weight codes), or None for float synapses."""
        quantizer = weight_quantizer(module)
        if quantizer is None:
            return None
        return quantizer.integer_form(module.parametrizations.weight.original.detach()).codes

    def unquantized_activation(self, label: str, operation: Operation) -> str:
        return f"activation {label!r} ({operation.kind}) lacks an activation quantizer (snnq.quantize_ with an 'activation' spec)"

    def check_steps(self, layers: dict[str, nn.Module]) -> None:
        """Raises when the options cannot express what the layers need (e.g. a window shorter than a spike budget)."""

    def steps_of(self, layers: dict[str, nn.Module]) -> int:
        return max(layer.steps for layer in layers.values())

    # -- shared checks ----------------------------------------------------------------------------------------
    def grid_of(self, name: str, activation: QuantizedActivation) -> tuple[Quantizer, float, int]:
        """The activation's quantizer, its fixed step and its largest code, for unsigned linear grids."""
        quantizer = activation.quantizer
        label = f"activation {name!r} ({quantizer.registry_name})"
        if not isinstance(activation.activation, (nn.ReLU, nn.Identity)):
            raise ConversionError(f"{label}: {self.registry_name} converts ReLU (or identity) activations, not {type(activation.activation).__name__}")
        codeset = quantizer.codeset()
        if quantizer.encoding != "linear" or codeset.low != 0:
            raise ConversionError(f"{label}: {self.registry_name} needs unsigned linear codes (0..N); this quantizer's codes are {codeset.low}..{codeset.high} ({quantizer.encoding})")
        step = quantizer.fixed_step()
        if step is None:
            raise ConversionError(f"{label}: the step must be one calibrated number per tensor that does not follow the input (calibrate it; per-channel and dynamic steps cannot become a neuron threshold)")
        if getattr(quantizer, "rounding", "half_up") != "half_up":
            raise ConversionError(f"{label}: rounding {quantizer.rounding!r}; the neurons round half up (threshold at half a step)")
        return quantizer, step, codeset.high

    @classmethod
    def check_positive_int(cls, option: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{cls.registry_name}: {option}={value!r} is invalid; expected an integer >= 1")
        return value


def is_input_quantizer(node: Any) -> bool:
    """A quantized activation applied to the network's input itself: it encodes the input, it is no neuron."""
    return bool(node.args) and getattr(node.args[0], "op", None) == "placeholder"


def convert(model: nn.Module, method: str = "rate", **options: Any) -> SpikingNetwork:
    """Converts ``model`` with the converter registered as ``method`` (``snnq list converters``).

    Returns a new `SpikingNetwork` made of snnq neurons; ``model`` is not modified.

    Example:
        >>> import snnq, torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 4},
        ...                      "activation": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 2}})
        >>> snn = snnq.convert(net, method="rate")
        >>> x = torch.rand(5, 4)
        >>> torch.equal(snn(x), net.eval()(x))
        True
    """
    return CONVERTERS.build(method, **options).convert(model)
