"""``rate``: integer inter-layer signals as spike counts over a window of ``2^b - 1`` steps (S0, Liu & Liu 2018)."""

from __future__ import annotations

from torch import nn

from snnq.conversion.base import Converter
from snnq.conversion.layers import RateActivation
from snnq.errors import ConversionError
from snnq.quant.apply import QuantizedActivation
from snnq.registry import CONVERTERS


@CONVERTERS.register("rate")
class RateConverter(Converter):
    """Lossless rate coding: each unsigned ``b``-bit activation ``a = s n`` becomes ``n`` spikes of value ``s`` in a
    window of ``N = 2^b - 1`` steps, produced by integer IF neurons that fire after their layer's window has been
    integrated (no "unevenness" error: see `RateActivation`). Weights stay integer codes (the synapses).

    The converted network's outputs equal the quantized ANN's integer reference (`IntegerReference`) bit for bit,
    and so do its synaptic accumulators (checked by `snnq.verify`).

    Args:
        steps: window length ``T``; default the largest activation code ``N``. A shorter window cannot carry the
            activations and is refused.
    """

    def __init__(self, *, steps: int | None = None):
        self.steps = self.check_positive_int("steps", steps)

    def spiking_activation(self, name: str, activation: QuantizedActivation) -> RateActivation:
        _, step, levels = self.grid_of(name, activation)
        return RateActivation(step=step, levels=levels, steps=self.steps or levels, source=name)

    def check_steps(self, layers: dict[str, nn.Module]) -> None:
        budget = max(layer.levels for layer in layers.values())
        window = self.steps or budget
        short = [f"{name} ({layer.levels} levels)" for name, layer in layers.items() if layer.levels > window]
        if short:
            raise ConversionError(
                f"rate: steps={window} is smaller than the spike budget of {', '.join(short)}: a window of T steps "
                f"carries at most T spikes per neuron; use steps >= {budget}"
            )
        for layer in layers.values():
            layer.steps = window
