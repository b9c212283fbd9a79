"""Quantizers (registered by name), their integer forms, and `quantize_`.

Importing this package registers the built-in quantizers: ``fixed_point``, ``dynamic_fixed_point``,
``uniform``, ``lsq``, ``ternary``, ``binary``, ``log2``, ``sigmoid_sum``, and S1's own ``s1_ternary`` and ``s1_median``.
"""

from snnq.quant.apply import (
    QuantizedActivation,
    QuantizedTensor,
    integer_weights,
    quantize_,
    quantized_weights,
    unquantize_,
)
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.binary import BinaryQuantizer
from snnq.quant.config import QuantConfig, QuantizerSpec
from snnq.quant.fixed_point import DynamicFixedPointQuantizer, FixedPointQuantizer
from snnq.quant.integer import CodeSet, IntegerTensor
from snnq.quant.log2 import Log2Quantizer
from snnq.quant.membrane import membrane_quantizer
from snnq.quant.s1 import S1MedianQuantizer, S1TernaryQuantizer
from snnq.quant.sigmoid_sum import SigmoidSumQuantizer
from snnq.quant.ternary import TernaryQuantizer
from snnq.quant.uniform import LSQQuantizer, UniformQuantizer

__all__ = [
    "BinaryQuantizer",
    "CodeSet",
    "DynamicFixedPointQuantizer",
    "Encoding",
    "FixedPointQuantizer",
    "IntegerTensor",
    "LSQQuantizer",
    "Log2Quantizer",
    "QuantConfig",
    "QuantizedActivation",
    "QuantizedTensor",
    "Quantizer",
    "QuantizerSpec",
    "S1MedianQuantizer",
    "S1TernaryQuantizer",
    "SigmoidSumQuantizer",
    "TernaryQuantizer",
    "UniformQuantizer",
    "integer_weights",
    "membrane_quantizer",
    "quantize_",
    "quantized_weights",
    "unquantize_",
]
