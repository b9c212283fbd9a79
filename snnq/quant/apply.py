"""`quantize_`: put quantizers into an existing network, and get integers back out of it."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from snnq.errors import ConfigError, NonFiniteError, TensorTypeError
from snnq.quant.base import Quantizer
from snnq.quant.config import QuantConfig
from snnq.quant.integer import IntegerTensor
from snnq.quant.pickling import make_picklable

WEIGHTED_LAYERS: tuple[type[nn.Module], ...] = (nn.Linear, nn.modules.conv._ConvNd)
"""Layers whose ``weight`` `quantize_` quantizes (any subclass too, such as SpikingJelly's ``layer.Conv2d``)."""

FilterFn = Callable[[nn.Module, str], bool]


class QuantizedActivation(nn.Module):
    """An activation module followed by its quantizer: ``y = quantizer(activation(x))``."""

    def __init__(self, activation: nn.Module, quantizer: Quantizer):
        super().__init__()
        self.activation = activation
        self.quantizer = quantizer

    def forward(self, x: Tensor) -> Tensor:
        return self.quantizer(self.activation(x))


@dataclass(frozen=True)
class QuantizedTensor:
    """One quantized parameter (``weight`` or ``bias``) found in a network."""

    name: str
    module: nn.Module
    quantizer: Quantizer
    tensor: str = "weight"

    def float_value(self) -> Tensor:
        """The tensor as the quantizer sees it (after any parametrization registered before it)."""
        chain = getattr(self.module.parametrizations, self.tensor)
        value = chain.original
        for step in chain:
            if step is self.quantizer:
                return value
            value = step(value)
        raise AssertionError("unreachable: the quantizer is in the chain")

    def integer_form(self) -> IntegerTensor:
        return self.quantizer.integer_form(self.float_value().detach())


def quantize_(model: nn.Module, config: QuantConfig | Mapping[str, Any], filter_fn: FilterFn | None = None) -> None:
    """Quantizes ``model`` in place: weight quantizers as parametrizations, activation quantizers after activations.

    Every ``nn.Linear`` / ``nn.Conv*`` (including subclasses, e.g. SpikingJelly's layer wrappers) accepted by
    ``filter_fn(module, name)`` gets ``config.weight`` through ``torch.nn.utils.parametrize``, so ``module.weight``
    is the fake-quantized weight while the float one trains underneath (``parametrizations.weight.original``);
    the quantized layers pickle (`snnq.quant.pickling`), with every quantizer's state.
    Every module whose class name is in ``config.activations`` is replaced by a `QuantizedActivation`.

    Everything is checked before anything changes: on error the model is left exactly as it was. Load float
    checkpoints before calling this (the parametrization renames ``weight`` in the state dict).

    Example:
        >>> import snnq, torch
        >>> net = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU())
        >>> snnq.quantize_(net, {"weight": {"name": "fixed_point", "bits": 4}, "activation": {"name": "uniform", "bits": 4}})
        >>> sorted(snnq.integer_weights(net))
        ['0']
    """
    config = config if isinstance(config, QuantConfig) else QuantConfig.from_dict(config)
    tensor_plan: list[tuple[nn.Module, str, Quantizer]] = []
    activation_plan: list[tuple[str, nn.Module, Quantizer]] = []
    for name, module in model.named_modules():
        if isinstance(module, QuantizedActivation) or (filter_fn is not None and not filter_fn(module, name)):
            continue
        if isinstance(module, WEIGHTED_LAYERS):
            axis = 1 if getattr(module, "transposed", False) else 0
            if config.weight is not None:
                overrides = {"channel_axis": axis} if config.per_channel else {}
                tensor_plan.append((module, "weight", _tensor_quantizer(name, module, "weight", config.weight.build(**overrides))))
            if config.bias is not None and module.bias is not None:
                tensor_plan.append((module, "bias", _tensor_quantizer(name, module, "bias", config.bias.build())))
        elif config.activation is not None and type(module).__name__ in config.activations:
            if _inside_quantized_activation(model, name):
                raise ConfigError(f"quantize_: activation {name!r} is already quantized")
            activation_plan.append((name, module, config.activation.build()))
    if config.input is not None:
        activation_plan.append((config.input_module, _input_module(model, config.input_module), config.input.build()))
    if not tensor_plan and not activation_plan:
        warnings.warn("quantize_ found no layer to quantize (check filter_fn and config.activations)", stacklevel=2)
    for module, tensor_name, quantizer in tensor_plan:
        parametrize.register_parametrization(module, tensor_name, quantizer)
        make_picklable(module)  # whole-model pickling (ddp_spawn) works: PyTorch's parametrized class refuses it
    for name, module, quantizer in activation_plan:
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, QuantizedActivation(module, quantizer))


def _input_module(model: nn.Module, name: str) -> nn.Module:
    try:
        module = model.get_submodule(name)
    except AttributeError:
        module = None
    if not isinstance(module, nn.Identity):
        found = "a " + type(module).__name__ if module is not None else "nothing"
        raise ConfigError(
            f"quantize_: an input quantizer goes into an nn.Identity module named {name!r} at the network's input "
            f"(snnq's models have one); {type(model).__name__} has {found} there"
        )
    return module


def _tensor_quantizer(name: str, module: nn.Module, tensor_name: str, quantizer: Quantizer) -> Quantizer:
    """``quantizer`` calibrated on ``module.<tensor_name>`` after checking that tensor (nothing changes on error)."""
    cls = type(module).__bases__[0] if parametrize.is_parametrized(module) else type(module)  # not "Parametrized..."
    label = f"layer {name!r} ({cls.__name__})"
    if parametrize.is_parametrized(module, tensor_name) and any(
        isinstance(p, Quantizer) for p in getattr(module.parametrizations, tensor_name)
    ):
        raise ConfigError(f"quantize_: {label} is already quantized; call snnq.unquantize_ first")
    tensor = getattr(module, tensor_name).detach()
    if not tensor.is_floating_point():
        raise TensorTypeError(f"quantize_: {label} has a {tensor.dtype} {tensor_name}; quantizers need floating-point {tensor_name}s")
    if not bool(torch.isfinite(tensor).all()):
        bad = int((~torch.isfinite(tensor)).sum())
        raise NonFiniteError(f"quantize_: {label} has {bad} NaN/inf {tensor_name} value(s); fix them before quantizing")
    if quantizer._initialized:
        quantizer.check_input(tensor)
    else:
        quantizer.calibrate_(tensor)
    return quantizer


def _inside_quantized_activation(model: nn.Module, name: str) -> bool:
    parent = name.rpartition(".")[0]
    return bool(name) and isinstance(model.get_submodule(parent), QuantizedActivation)


def quantized_weights(model: nn.Module, tensor: str = "weight") -> Iterator[QuantizedTensor]:
    """Every ``tensor`` (``weight`` or ``bias``) of ``model`` that carries an snnq quantizer, in module order."""
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, tensor):
            for step in getattr(module.parametrizations, tensor):
                if isinstance(step, Quantizer):
                    yield QuantizedTensor(name, module, step, tensor)


def integer_weights(model: nn.Module, tensor: str = "weight") -> dict[str, IntegerTensor]:
    """The integer codes and scales of every quantized weight (or ``tensor="bias"``), by module name (eval mode)."""
    return {entry.name: entry.integer_form() for entry in quantized_weights(model, tensor)}


def unquantize_(model: nn.Module, *, bake_weights: bool = True) -> None:
    """Removes what `quantize_` added.

    ``bake_weights=True`` leaves each weight holding its quantized values (eval-mode quantization: exactly the
    values of `integer_weights`); ``False`` restores the float weights that were being trained.
    Activation quantizers are removed and their activation modules put back.
    """
    for entry in [*quantized_weights(model, "weight"), *quantized_weights(model, "bias")]:
        entry.quantizer.eval()
        parametrize.remove_parametrizations(entry.module, entry.tensor, leave_parametrized=bake_weights)
    for name, module in list(model.named_modules()):
        if isinstance(module, QuantizedActivation):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, module.activation)
