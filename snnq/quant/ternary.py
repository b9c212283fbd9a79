"""Ternary {-a, 0, +a} synapses (S1)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from snnq.errors import UnknownNameError
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.quant.uniform import MIN_STEP
from snnq.quant.ste import round_clamp_ste
from snnq.registry import QUANTIZERS

MODES = ("threshold", "learned")


@QUANTIZERS.register("ternary")
class TernaryQuantizer(Quantizer):
    r"""Ternary values ``{-a, 0, +a}``: the synapses of the scatter-and-gather SNN (S1).

    ``mode="threshold"`` (ternary weight networks, Li et al., 2016), recomputed from every tensor:

    .. math:: \Delta = t \cdot \mathrm{mean}|w|, \quad c = \mathrm{sign}(w)\,[|w| > \Delta], \quad
              a = \mathrm{mean}\{|w| : |w| > \Delta\}, \quad q(w) = a\,c

    with an identity (straight-through) gradient to ``w``. ``mode="learned"``: ``a`` is a trained step and
    ``c = clip(round(w / a), -1, 1)`` (threshold ``a/2``) with LSQ-style gradients; with ``learn_scale=False``
    and ``scale=1`` it is the fixed ``{-1, 0, 1}`` synapse of S1.

    Args:
        mode: ``threshold`` or ``learned``.
        delta_factor: ``t`` of the threshold rule (0.7 in the TWN paper).
        scale: initial ``a`` for the learned mode; None takes the threshold rule's ``a`` from the first tensor.
        learn_scale: learned mode only: train ``a`` or keep it fixed.
        channel_axis: None (one ``a`` per tensor) or the channel axis.
    """

    def __init__(
        self,
        *,
        mode: str = "threshold",
        delta_factor: float = 0.7,
        scale: float | None = None,
        learn_scale: bool = True,
        channel_axis: int | None = None,
    ):
        super().__init__(channel_axis=channel_axis)
        if mode not in MODES:
            raise UnknownNameError("ternary mode", mode, MODES)
        self.mode = mode
        self.delta_factor = self.check_positive("delta_factor", delta_factor)
        if scale is not None:
            self.check_positive("scale", scale)
        self.scale = scale
        self.learn_scale = bool(learn_scale)
        initial = torch.tensor(float(scale)) if scale is not None else torch.ones(() if channel_axis is None else (0,))
        if mode == "learned" and self.learn_scale:
            self.step = nn.Parameter(initial)
        else:
            self.register_buffer("step", initial)
        if mode == "learned" and scale is None:
            self.require_calibration()

    def codeset(self) -> CodeSet:
        return CodeSet(-1, 1)

    def _threshold_rule(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Codes and scale of the TWN rule (no gradient).

        The means are taken in float64, where a sum of n copies of one float32 value is exact: a tensor that is
        already ternary then gives back its own ``a`` bit for bit, so quantizing twice changes nothing.
        """
        magnitude = x.detach().abs().double()
        delta = self.per_channel(self.delta_factor * self.reduce(magnitude, "mean"), x)
        kept = magnitude > delta
        kept_sum = self.per_channel(self.reduce(magnitude * kept, "sum"), x)
        kept_count = self.per_channel(self.reduce(kept.double(), "sum"), x)
        scale = torch.where(kept_count > 0, kept_sum / kept_count.clamp_min(1), torch.zeros_like(kept_sum))
        return (torch.sign(x) * kept).to(x.dtype), scale.to(x.dtype)

    def initialize_(self, x: Tensor) -> None:
        _, scale = self._threshold_rule(x)
        scale = scale.reshape(-1) if self.channel_axis is not None else scale.reshape(())
        self.step.data = torch.where(scale > 0, scale, torch.ones_like(scale)).float()

    def encode(self, x: Tensor) -> Encoding:
        if self.mode == "threshold":
            with torch.no_grad():
                codes, scale = self._threshold_rule(x)
            return Encoding(codes, scale, passthrough=True)
        step = self.step.clamp_min(MIN_STEP) if self.learn_scale else self.step
        step = self.per_channel(step.to(x.dtype), x)
        return Encoding(round_clamp_ste(x / step, -1, 1), step)
