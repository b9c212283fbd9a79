"""``qcfs``: clip-floor-shift conversion with a chosen number of steps (S3-style; Bu et al., ICLR 2022)."""

from __future__ import annotations

from torch import nn

from snnq.conversion.base import Converter
from snnq.conversion.layers import QCFSActivation
from snnq.quant.apply import QuantizedActivation
from snnq.registry import CONVERTERS


@CONVERTERS.register("qcfs")
class QCFSConverter(Converter):
    """The ANN's ``L``-level clip-floor-shift activations (``uniform`` with ``levels=L``, learned step) become IF
    neurons with threshold ``lambda = L s``, membrane pre-charged to ``lambda / 2``, reset by subtraction; every layer
    integrates and fires at every one of ``T`` steps and the output is averaged over them. Not lossless: the
    accuracy approaches the ANN's as ``T`` grows (``snnq.verify`` reports the differences). Weights may be float
    or quantized; BatchNorm runs as a per-step affine (fold it into the synapses for hardware).

    Args:
        steps: ``T``, the number of time steps.
    """

    lossless = False
    schedule = "parallel"

    def __init__(self, *, steps: int = 8):
        self.steps = self.check_positive_int("steps", steps)

    def spiking_activation(self, name: str, activation: QuantizedActivation) -> QCFSActivation:
        _, step, levels = self.grid_of(name, activation)
        return QCFSActivation(clip=step * levels, steps=self.steps, source=name)

    def check_synapse(self, name: str, module: nn.Module) -> str | None:
        return None  # float or quantized weights alike

    def steps_of(self, layers: dict[str, nn.Module]) -> int:
        return self.steps
