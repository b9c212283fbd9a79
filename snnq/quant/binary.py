"""Binary {-a, +a} values (the binary-weight networks of S4)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.quant.uniform import MIN_STEP
from snnq.registry import QUANTIZERS


@QUANTIZERS.register("binary")
class BinaryQuantizer(Quantizer):
    r"""Binary values ``{-a, +a}`` with a straight-through gradient.

    .. math:: q(w) = a \cdot \mathrm{sign}(w), \qquad \mathrm{sign}(0) = +1

    ``a`` is ``mean|w|`` of every tensor (XNOR-Net's scale, per tensor or per channel) when ``scale`` is None,
    or a fixed or learned value otherwise. The input's gradient is passed straight through where
    ``|w| <= clip`` (BinaryConnect's hard-tanh window, relative to ``a``) and is zero outside it.

    Args:
        scale: None for ``a = mean|w|`` of each tensor; a number for a fixed (or initial, if learned) ``a``.
        learn_scale: train ``a`` (needs ``scale``, or takes ``mean|w|`` of the first tensor).
        clip: gradient window in units of ``a``; None passes every gradient.
        channel_axis: None (one ``a`` per tensor) or the channel axis.
    """

    def __init__(
        self,
        *,
        scale: float | None = None,
        learn_scale: bool = False,
        clip: float | None = None,
        channel_axis: int | None = None,
    ):
        super().__init__(channel_axis=channel_axis)
        if scale is not None:
            self.check_positive("scale", scale)
        if clip is not None:
            self.check_positive("clip", clip)
        self.scale, self.learn_scale, self.clip = scale, bool(learn_scale), clip
        initial = torch.tensor(float(scale)) if scale is not None else torch.ones(() if channel_axis is None else (0,))
        if self.learn_scale:
            self.step = nn.Parameter(initial)
            if scale is None:
                self.require_calibration()
        else:
            self.register_buffer("step", initial)

    def codeset(self) -> CodeSet:
        return CodeSet.of((-1, 1))

    def _mean_magnitude(self, x: Tensor) -> Tensor:
        # float64: the mean of n copies of one float32 value is that value, so binarising twice changes nothing
        return self.per_channel(self.reduce(x.detach().abs().double(), "mean"), x).to(x.dtype)

    def initialize_(self, x: Tensor) -> None:
        scale = self._mean_magnitude(x).reshape(-1 if self.channel_axis is not None else ())
        self.step.data = torch.where(scale > 0, scale, torch.ones_like(scale)).float()

    def encode(self, x: Tensor) -> Encoding:
        if self.scale is None and not self.learn_scale:
            scale = self._mean_magnitude(x)
        else:
            step = self.step.clamp_min(MIN_STEP) if self.learn_scale else self.step
            scale = self.per_channel(step.to(x.dtype), x)
        codes = torch.where(x >= 0, 1.0, -1.0).to(x.dtype)
        passthrough = True if self.clip is None else (x.detach().abs() <= self.clip * scale.detach()).to(x.dtype)
        return Encoding(codes, scale, passthrough)
