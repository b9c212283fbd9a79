"""The converter base class and `snnq.convert`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

from torch import nn

from snnq.conversion.integer_synapse import IntegerSynapse
from snnq.conversion.layers import OffChipLayer, SpikingActivation
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

    **Off-chip layers.** The synaptic layers named by ``model.off_chip_layers()`` (S1's full-precision first and
    output layers, `snnq.models.s1`) and by the ``off_chip`` argument are computed off chip, in the host's
    precision. A float one (no weight quantizer) becomes an `OffChipLayer`: the module's own float operation on the
    values that reach it, as in the quantized ANN (so it counts in the end-to-end outputs and in `snnq.verify`),
    and no synapse of the spiking network (left out of its synaptic operations and of `snnq.conversion.to_ir`). A
    weight-quantized one stays an `IntegerSynapse` (exact on the host too) and is only listed as off chip.
    ``SpikingNetwork.off_chip`` holds the names of all of them.
    """

    registry_name: ClassVar[str] = "converter"
    lossless: ClassVar[bool] = True
    schedule: ClassVar[str] = "layerwise"
    ternary: ClassVar[bool] = False
    first_spike_pooling: ClassVar[bool] = False

    def convert(self, model: nn.Module, *, off_chip: Iterable[str] = ()) -> SpikingNetwork:
        if not isinstance(model, nn.Module):
            raise ConversionError(f"{self.registry_name}: expected an nn.Module, got {type(model).__name__}")
        off_chip = off_chip_layers(model, off_chip)
        graph_module = trace(model)
        drop_removed_modules_(graph_module)
        problems: list[str] = []
        unsupported: list[tuple[str, str]] = []
        replacements: dict[str, nn.Module] = {}
        synapses = {}
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
            elif isinstance(module, SYNAPTIC) and node.target in off_chip:
                if weight_quantizer(module) is None:
                    replacements[node.target] = OffChipLayer(module, source=node.target)
                else:
                    synapses[node.target] = IntegerSynapse.of(node.target, module, unary=self.ternary)
            elif isinstance(module, SYNAPTIC):
                problem = self.check_synapse(node.target, module)
                if problem:
                    problems.append(problem)
                elif weight_quantizer(module) is not None:
                    synapses[node.target] = IntegerSynapse.of(node.target, module, unary=self.ternary)
            elif isinstance(module, UNQUANTIZED_ACTIVATIONS) or getattr(node.target, "__name__", "") in ("relu", "relu_"):
                problems.append(self.unquantized_activation(label, operation))
            elif not is_passive(operation):
                unsupported.append((label, operation.kind))
        if unsupported:
            raise UnsupportedOperationsError(self.registry_name, unsupported)
        if problems:
            raise ConversionError(f"{self.registry_name}: cannot convert this network:\n- " + "\n- ".join(problems))
        neurons = {name: layer for name, layer in replacements.items() if isinstance(layer, SpikingActivation)}
        if not neurons:
            raise ConversionError(f"{self.registry_name}: the network has no quantized activation to turn into neurons")
        replace_modules_(graph_module, replacements)
        self.check_steps(neurons)
        snn = SpikingNetwork(
            graph_module, coding=self.registry_name, schedule=self.schedule, steps=self.steps_of(neurons),
            synapses=synapses, first_spike_pooling=self.first_spike_pooling,
        )
        snn.off_chip = frozenset(off_chip)
        return snn

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

    def unquantized_activation(self, label: str, operation: Operation) -> str:
        return f"activation {label!r} ({operation.kind}) lacks an activation quantizer (snnq.quantize_ with an 'activation' spec)"

    def check_steps(self, layers: dict[str, nn.Module]) -> None:
        """Raises when the options cannot express what the layers need (e.g. a window shorter than a spike budget)."""

    def steps_of(self, layers: dict[str, nn.Module]) -> int:
        return max(layer.steps for layer in layers.values())

    # -- shared checks ----------------------------------------------------------------------------------------
    def grid_of(self, name: str, activation: QuantizedActivation, *, roundings: Iterable[str] = ("half_up",)) -> tuple[Quantizer, float, int]:
        """The activation's quantizer, its fixed step and its largest code, for unsigned linear grids whose rounding
        is one of ``roundings`` (the tie rules the converter's neurons reproduce)."""
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
        roundings = tuple(roundings)
        if getattr(quantizer, "rounding", "half_up") not in roundings:
            modes = " or ".join(mode.replace("_", " ") for mode in roundings)
            raise ConversionError(f"{label}: rounding {quantizer.rounding!r}; the neurons round {modes} (threshold at half a step)")
        return quantizer, step, codeset.high

    @classmethod
    def check_positive_int(cls, option: str, value: Any) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{cls.registry_name}: {option}={value!r} is invalid; expected an integer >= 1")
        return value


def off_chip_layers(model: nn.Module, named: Iterable[str] = ()) -> set[str]:
    """The synaptic layers of ``model`` computed off chip: ``model.off_chip_layers()`` (when the model has it) and
    ``named``; each must name a ``Linear``/``Conv1d``/``Conv2d`` of the model."""
    method = getattr(model, "off_chip_layers", None)
    names = set(method() if callable(method) else ()) | set(named)
    modules = dict(model.named_modules())
    wrong = sorted(n for n in names if not isinstance(modules.get(n), SYNAPTIC))
    if wrong:
        raise ConversionError(f"off-chip layers must name synaptic layers (Linear, Conv1d, Conv2d) of {type(model).__name__}; not: {', '.join(wrong)}")
    return names


def is_input_quantizer(node: Any) -> bool:
    """A quantized activation applied to the network's input itself: it encodes the input, it is no neuron."""
    return bool(node.args) and getattr(node.args[0], "op", None) == "placeholder"


def convert(model: nn.Module, method: str = "rate", **options: Any) -> SpikingNetwork:
    """Converts ``model`` with the converter registered as ``method`` (``snnq list converters``).

    Returns a new `SpikingNetwork` made of snnq neurons; ``model`` is not modified. ``off_chip`` (an option of
    every converter) names synaptic layers computed off chip in addition to ``model.off_chip_layers()`` (see
    `Converter`).

    Example:
        >>> import snnq, torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        >>> snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 4},
        ...                      "activation": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 2}})
        >>> snn = snnq.convert(net, method="rate")
        >>> x = torch.rand(5, 4)
        >>> torch.equal(snn(x), snnq.conversion.IntegerReference(net.eval())(x))
        True
    """
    off_chip = options.pop("off_chip", None) or ()
    return CONVERTERS.build(method, **options).convert(model, off_chip=off_chip)
