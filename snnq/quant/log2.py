"""Logarithmic (power-of-two) values: S2's 5-bit weights and its conversion-aware activation."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import MappingProxyType

import torch
from torch import Tensor, nn

from snnq.errors import UnknownNameError
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.quant.uniform import MIN_STEP
from snnq.registry import QUANTIZERS

_SQRT_HALF = float(torch.tensor(math.sqrt(0.5), dtype=torch.float32))  # the float32 value, stated once


def _round_up_at(threshold: float) -> Callable[[Tensor], Tensor]:
    return lambda mantissa: (mantissa >= threshold).to(torch.int32)


LOG_ROUNDING = MappingProxyType(
    {
        "nearest": _round_up_at(0.75),  # nearest power of two on the linear scale: exact thresholds 0.75 * 2^-e
        "log_nearest": _round_up_at(_SQRT_HALF),  # nearest on the log scale, round(-log2 r): thresholds 2^-(e+1/2)
        "floor": lambda mantissa: torch.zeros_like(mantissa, dtype=torch.int32),  # leading-one detector
    }
)
"""Given the frexp mantissa ``m`` in [0.5, 1) of ``r = |x| / s``, 1 where ``r`` rounds up to the next power of two."""


@QUANTIZERS.register("log2")
class Log2Quantizer(Quantizer):
    r"""Sign plus exponent, with one code kept for zero: ``q(x) = sign(x) * s * 2^-e``, ``e in {0..E}``.

    With ``r = |x| / s``: ``e = clip(round(-log2 r), 0, E)`` and ``q(x) = 0`` when ``r`` rounds below ``2^-E``.
    ``rounding`` picks how ``-log2 r`` is rounded, each with thresholds taken exactly from the float's
    exponent and mantissa (no ``log2`` call, so hardware can reproduce them with a leading-one detector and a
    compare): ``nearest`` rounds to the nearest power of two on the linear scale (default), ``log_nearest`` to the
    nearest on the log scale (the ``round(-log2(x / x_max))`` of S2's conversion-aware activation), ``floor``
    to the power of two at or below ``r``.

    Codes: ``c = sign(x) * (e + 1)``, ``c = 0`` for zero; signed codes take ``1 + bits`` bits (S2's 5-bit weights
    are ``bits=4``: exponents 0..14 and a zero). Unsigned (``signed=False``) maps ``x <= 0`` to 0: with
    ``levels=T`` and ``learn_scale=True`` it is the TTFS/CAT activation of S2 with learnable ``x_max = s``.

    Gradient: straight-through where ``|x| <= s``; the scale (when learned) gets ``q(x) / s``.

    Args:
        bits: exponent-field width in [1, 6]; ``E = 2^bits - 2`` so that one code is left for zero.
        levels: number of non-zero magnitudes ``E + 1`` instead of ``bits`` (e.g. the TTFS window T).
        signed: sign bit (weights) or non-negative values only (activations).
        scale: ``s``: None for ``max|x|`` of every tensor (or, if learned, of the first one); a number to fix it.
        learn_scale: train ``s``.
        pow2_scale: round ``s`` up to a power of two, so that hardware needs shifts only.
        rounding: ``nearest``, ``log_nearest`` or ``floor`` (see above).
        channel_axis: None (one ``s`` per tensor) or the channel axis.
    """

    encoding = "log2"

    def __init__(
        self,
        *,
        bits: int = 4,
        levels: int | None = None,
        signed: bool = True,
        scale: float | None = None,
        learn_scale: bool = False,
        pow2_scale: bool = False,
        rounding: str = "nearest",
        channel_axis: int | None = None,
    ):
        super().__init__(channel_axis=channel_axis)
        self.bits = self.check_int("bits", bits, 1, 6, "2^-(2^bits) must stay inside float32's normal range")
        if levels is not None:
            self.check_int("levels", levels, 1, 63, "2^-levels must stay inside float32's normal range")
        if rounding not in LOG_ROUNDING:
            raise UnknownNameError("log2 rounding mode", rounding, LOG_ROUNDING)
        if scale is not None:
            self.check_positive("scale", scale)
        self.levels, self.signed, self.scale = levels, bool(signed), scale
        self.learn_scale, self.pow2_scale, self.rounding = bool(learn_scale), bool(pow2_scale), rounding
        initial = torch.tensor(float(scale)) if scale is not None else torch.ones(() if channel_axis is None else (0,))
        if self.learn_scale:
            self.step = nn.Parameter(initial)
            if scale is None:
                self.require_calibration()
        else:
            self.register_buffer("step", initial)

    @property
    def max_exponent(self) -> int:
        return (self.levels if self.levels is not None else 2**self.bits - 1) - 1

    def codeset(self) -> CodeSet:
        top = self.max_exponent + 1
        return CodeSet(-top if self.signed else 0, top)

    def _max_magnitude(self, x: Tensor) -> Tensor:
        peak = self.reduce(x.detach().abs() if self.signed else x.detach().clamp_min(0), "amax")
        return torch.where(peak > 0, peak, torch.ones_like(peak))

    def initialize_(self, x: Tensor) -> None:
        self.step.data = self._max_magnitude(x).float()

    def fixed_scale(self) -> float | None:
        """``s`` (x_max) as the forward pass uses it when it does not depend on the input (per tensor), else None."""
        if (self.scale is None and not self.learn_scale) or not self._initialized or self.step.numel() != 1:
            return None
        return float(self.current_scale(torch.zeros(())).detach())

    def current_scale(self, x: Tensor) -> Tensor:
        if self.scale is None and not self.learn_scale:
            scale = self._max_magnitude(x)
        else:
            scale = self.step.clamp_min(MIN_STEP) if self.learn_scale else self.step
        if self.pow2_scale:
            mantissa, exponent = torch.frexp(scale.detach())
            rounded = torch.ldexp(torch.ones_like(scale), torch.where(mantissa == 0.5, exponent - 1, exponent))
            scale = scale + (rounded - scale).detach() if self.learn_scale else rounded
        return self.per_channel(scale.to(x.dtype), x)

    def encode(self, x: Tensor) -> Encoding:
        scale = self.current_scale(x)
        with torch.no_grad():
            ratio = x.abs() / scale.detach()
            mantissa, exponent = torch.frexp(ratio)  # ratio = m * 2^exponent, m in [0.5, 1)
            exponent_down = 1 - exponent  # 2^-exponent_down <= ratio < 2^-(exponent_down - 1)
            e = (exponent_down - LOG_ROUNDING[self.rounding](mantissa)).clamp_min(0)
            keep = (ratio > 0) & (e <= self.max_exponent)
            if not self.signed:
                keep &= x > 0
            codes = torch.where(keep, torch.sign(x) * (e + 1).to(x.dtype), torch.zeros_like(x))
        passthrough = (x.detach().abs() <= scale.detach()).to(x.dtype)
        return Encoding(codes, scale, passthrough)
