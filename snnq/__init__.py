"""snnq: quantized spiking neural networks, from quantization-aware training to integer hardware.

A plugin for snnTorch and SpikingJelly. ``import snnq`` loads only torch and snnq's own core; frameworks
(snnTorch, SpikingJelly, Lightning, Hydra, Tonic) are imported by the parts that use them, when used.

    >>> import snnq
    >>> q = snnq.quantizer("ternary")
    >>> snnq.QUANTIZERS.names()[:3]
    ['binary', 'dynamic_fixed_point', 'fixed_point']
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from snnq.errors import ConfigError, NonFiniteError, SnnqError, TensorTypeError, UnknownNameError
from snnq.registry import BACKENDS, CONVERTERS, MODELS, NEURONS, QUANTIZERS, REGISTRIES, Registry

if TYPE_CHECKING:
    from snnq.quant import Quantizer

__version__ = "0.1.0"

_LAZY = {
    "quantize_": "snnq.quant",
    "unquantize_": "snnq.quant",
    "integer_weights": "snnq.quant",
    "quantized_weights": "snnq.quant",
    "QuantConfig": "snnq.quant",
    "QuantizerSpec": "snnq.quant",
    "IntegerTensor": "snnq.quant",
    "Quantizer": "snnq.quant",
    "membrane_quantizer": "snnq.quant",
    "neuron": "snnq.neurons",
    "reset_state": "snnq.neurons",
    "surrogate": "snnq.neurons",
    "convert": "snnq.conversion",
    "verify": "snnq.conversion",
}


def quantizer(name: str, /, **options: Any) -> Quantizer:
    """Builds the quantizer registered as ``name`` (see ``snnq list quantizers``) with ``options``."""
    return QUANTIZERS.build(name, **options)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'snnq' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "BACKENDS",
    "CONVERTERS",
    "ConfigError",
    "MODELS",
    "NEURONS",
    "NonFiniteError",
    "QUANTIZERS",
    "REGISTRIES",
    "Registry",
    "SnnqError",
    "TensorTypeError",
    "UnknownNameError",
    "quantizer",
    *_LAZY,
]
