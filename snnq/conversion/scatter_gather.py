"""``scatter_gather``: ternary synapses and stateless multi-threshold neurons (S1, Zou et al. 2021) [R]."""

from __future__ import annotations

from torch import nn

from snnq.conversion.base import Converter
from snnq.conversion.layers import ScatterGatherActivation
from snnq.errors import ConversionError
from snnq.neurons.scatter_gather import TIE_RULES
from snnq.quant.apply import QuantizedActivation
from snnq.registry import CONVERTERS


@CONVERTERS.register("scatter_gather")
class ScatterGatherConverter(Converter):
    """Lossless scatter-and-gather-style conversion.

    Scatter: each integer activation ``a in 0..N`` is carried by a stateless group of ``N`` sub-neurons, each firing
    at most one spike per step, whose spike count is ``a`` (`ScatterGatherActivation`). Gather: every integer
    weight ``W`` becomes ``|W|`` parallel synapses of value ``sign(W)`` (fan-in replication), so every synapse is in
    {-1, 0, 1} and the next layer sums all its ternary-weighted spikes in one step, then resets. One step per
    layer. The converted network's outputs equal the quantized ANN's bit for bit. The activation's rounding is
    kept: ``half_up`` or ``half_even`` (S1's ``tf.round``; at a tie ``V = (k - 1/2) s`` only even levels fire).

    Args:
        spike_budget: the most spikes a group may emit (S1's "four-spike" networks: 4); an activation with more
            levels cannot be expressed and is refused.
    """

    ternary = True

    def __init__(self, *, spike_budget: int = 4):
        self.spike_budget = self.check_positive_int("spike_budget", spike_budget)

    def spiking_activation(self, name: str, activation: QuantizedActivation) -> ScatterGatherActivation:
        quantizer, step, levels = self.grid_of(name, activation, roundings=TIE_RULES)
        if levels > self.spike_budget:
            raise ConversionError(
                f"activation {name!r} has {levels} levels; a spike budget of {self.spike_budget} expresses at most "
                f"{self.spike_budget} (quantize it with levels <= {self.spike_budget}, or raise spike_budget)"
            )
        return ScatterGatherActivation(step=step, levels=levels, source=name, rounding=getattr(quantizer, "rounding", "half_up"))

    def steps_of(self, layers: dict[str, nn.Module]) -> int:
        return 1
