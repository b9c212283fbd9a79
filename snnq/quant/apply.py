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
class QuantizedWeight:
    """One quantized weight found in a network."""

    name: str
    module: nn.Module
    quantizer: Quantizer

    def float_weight(self) -> Tensor:
        """The weight as the quantizer sees it (after any parametrization registered before it)."""
        chain = self.module.parametrizations.weight
        value = chain.original
        for step in chain:
            if step is self.quantizer:
                return value
            value = step(value)
        raise AssertionError("unreachable: the quantizer is in the chain")

    def integer_form(self) -> IntegerTensor:
        return self.quantizer.integer_form(self.float_weight().detach())


def quantize_(model: nn.Module, config: QuantConfig | Mapping[str, Any], filter_fn: FilterFn | None = None) -> None:
    """Quantizes ``model`` in place: weight quantizers as parametrizations, activation quantizers after activations.

    Every ``nn.Linear`` / ``nn.Conv*`` (including subclasses, e.g. SpikingJelly's layer wrappers) accepted by
    ``filter_fn(module, name)`` gets ``config.weight`` through ``torch.nn.utils.parametrize``, so ``module.weight``
    is the fake-quantized weight while the float one trains underneath (``parametrizations.weight.original``).
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
    weight_plan: list[tuple[str, nn.Module, Quantizer]] = []
    activation_plan: list[tuple[str, nn.Module, Quantizer]] = []
    for name, module in model.named_modules():
        if isinstance(module, QuantizedActivation) or (filter_fn is not None and not filter_fn(module, name)):
            continue
        if config.weight is not None and isinstance(module, WEIGHTED_LAYERS):
            weight_plan.append((name, module, _weight_quantizer(name, module, config)))
        elif config.activation is not None and type(module).__name__ in config.activations:
            if _inside_quantized_activation(model, name):
                raise ConfigError(f"quantize_: activation {name!r} is already quantized")
            activation_plan.append((name, module, config.activation.build()))
    if not weight_plan and not activation_plan:
        warnings.warn("quantize_ found no layer to quantize (check filter_fn and config.activations)", stacklevel=2)
    for _, module, quantizer in weight_plan:
        parametrize.register_parametrization(module, "weight", quantizer)
    for name, module, quantizer in activation_plan:
        parent, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent), child, QuantizedActivation(module, quantizer))


def _weight_quantizer(name: str, module: nn.Module, config: QuantConfig) -> Quantizer:
    assert config.weight is not None
    cls = type(module).__bases__[0] if parametrize.is_parametrized(module) else type(module)  # not "Parametrized..."
    label = f"layer {name!r} ({cls.__name__})"
    if parametrize.is_parametrized(module, "weight") and any(
        isinstance(p, Quantizer) for p in module.parametrizations.weight
    ):
        raise ConfigError(f"quantize_: {label} is already quantized; call snnq.unquantize_ first")
    weight = module.weight.detach()
    if not weight.is_floating_point():
        raise TensorTypeError(f"quantize_: {label} has a {weight.dtype} weight; quantizers need floating-point weights")
    if not bool(torch.isfinite(weight).all()):
        bad = int((~torch.isfinite(weight)).sum())
        raise NonFiniteError(f"quantize_: {label} has {bad} NaN/inf weight value(s); fix the weights before quantizing")
    axis = 1 if getattr(module, "transposed", False) else 0
    quantizer = config.weight.build(**({"channel_axis": axis} if config.per_channel else {}))
    if quantizer._initialized:
        quantizer.check_input(weight)
    else:
        quantizer.calibrate_(weight)
    return quantizer


def _inside_quantized_activation(model: nn.Module, name: str) -> bool:
    parent = name.rpartition(".")[0]
    return bool(name) and isinstance(model.get_submodule(parent), QuantizedActivation)


def quantized_weights(model: nn.Module) -> Iterator[QuantizedWeight]:
    """Every weight of ``model`` that carries an snnq quantizer, in module order."""
    for name, module in model.named_modules():
        if parametrize.is_parametrized(module, "weight"):
            for step in module.parametrizations.weight:
                if isinstance(step, Quantizer):
                    yield QuantizedWeight(name, module, step)


def integer_weights(model: nn.Module) -> dict[str, IntegerTensor]:
    """The integer codes and scales of every quantized weight, by module name (eval-mode quantization)."""
    return {entry.name: entry.integer_form() for entry in quantized_weights(model)}


def unquantize_(model: nn.Module, *, bake_weights: bool = True) -> None:
    """Removes what `quantize_` added.

    ``bake_weights=True`` leaves each weight holding its quantized values (eval-mode quantization: exactly the
    values of `integer_weights`); ``False`` restores the float weights that were being trained.
    Activation quantizers are removed and their activation modules put back.
    """
    for entry in list(quantized_weights(model)):
        entry.quantizer.eval()
        parametrize.remove_parametrizations(entry.module, "weight", leave_parametrized=bake_weights)
    for name, module in list(model.named_modules()):
        if isinstance(module, QuantizedActivation):
            parent, _, child = name.rpartition(".")
            setattr(model.get_submodule(parent), child, module.activation)
