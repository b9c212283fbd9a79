"""``ttfs``: time-to-first-spike coding of a CAT-trained network with logarithmic weights (S2, Lew et al. 2022) [R]."""

from __future__ import annotations

from torch import nn

from snnq.conversion.base import Converter
from snnq.conversion.layers import TTFSActivation
from snnq.conversion.trace import layer_type, weight_quantizer
from snnq.errors import ConversionError
from snnq.quant.apply import QuantizedActivation
from snnq.quant.log2 import Log2Quantizer
from snnq.registry import CONVERTERS


@CONVERTERS.register("ttfs")
class TTFSConverter(Converter):
    """Converts a network trained with the conversion-aware (CAT) activation: ReLU followed by an unsigned ``log2``
    quantizer with ``levels=T`` (``x_max 2^-e``, ``e in 0..T-1``). Each such activation becomes a TTFS neuron that
    fires once, at ``t = e``, in the window after its layer integrated its input; max-pooling keeps the earliest
    spike. With logarithmic weights (``log2`` codes) each synaptic event is a shift and an add.

    A spike at step ``t`` is ``2^(T-1-t)`` integer units of ``x_max 2^-(T-1)``, and a log2 weight an integer power of
    two times its step, so every synaptic layer is an exact integer accumulator (`IntegerSynapse`): the outputs
    equal the network's integer reference (`IntegerReference`) bit for bit. The network's own float32 evaluation
    can differ from it where float32 rounded a layer's sum across a spike-time threshold (`snnq.verify` reports
    that distance as ``float_ann_*``).

    Args:
        steps: the window ``T``; default each activation's own level count, and it must equal it.
    """

    first_spike_pooling = True

    def __init__(self, *, steps: int | None = None):
        self.steps = self.check_positive_int("steps", steps)

    def spiking_activation(self, name: str, activation: QuantizedActivation) -> TTFSActivation:
        quantizer = activation.quantizer
        label = f"activation {name!r} ({quantizer.registry_name})"
        if not isinstance(quantizer, Log2Quantizer) or quantizer.signed:
            raise ConversionError(f"{label}: ttfs needs the CAT activation, an unsigned log2 quantizer (levels=T)")
        if not isinstance(activation.activation, (nn.ReLU, nn.Identity)):
            raise ConversionError(f"{label}: ttfs converts ReLU (or identity) activations")
        x_max = quantizer.fixed_scale()
        if x_max is None:
            raise ConversionError(f"{label}: x_max must be a calibrated per-tensor scale (scale=... or learn_scale=True)")
        levels = quantizer.max_exponent + 1
        if self.steps is not None and self.steps != levels:
            raise ConversionError(f"{label}: steps={self.steps} differs from the activation's {levels} levels (one spike time per level)")
        return TTFSActivation(x_max=x_max, levels=levels, rounding=quantizer.rounding, source=name)

    def check_synapse(self, name: str, module: nn.Module) -> str | None:
        if weight_quantizer(module) is None:
            return f"layer {name!r} ({layer_type(module).__name__}) lacks a weight quantizer (log2 weights: snnq.quantize_ with 'log2')"
        return None
