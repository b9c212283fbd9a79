"""Uniform integer grids with a scale: integer inter-layer signals (S0), QCFS clip-floor-shift (S3), LSQ."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.quant.ste import fixed_step_fake_quant, learned_step_fake_quant, round_clamp_ste, rounding_function, scale_grad
from snnq.registry import QUANTIZERS

_SQRT_HALF = 0.7071067811865476
MIN_STEP = 1e-12  # a learned step is kept above this so that x / s stays finite
MAX_GRID_BITS = 16  # with a float step, (c * s) / s rounds back to c only while c < 2^22; 16 bits leaves margin


@QUANTIZERS.register("uniform")
class UniformQuantizer(Quantizer):
    r"""A signed or unsigned integer grid with a scale ``s``.

    .. math:: q(x) = s \cdot \mathrm{clip}(\mathrm{round}(x / s), q_{min}, q_{max})

    Unsigned: ``[q_min, q_max] = [0, 2^b - 1]`` (or ``[0, L]`` with ``levels=L``); signed: ``[-2^{b-1}, 2^{b-1} - 1]``
    (or ``[-L, L]``). The codes are the integer inter-layer signals of S0; ``s`` folds into the next layer.

    With ``learn_scale=True`` the step is trained (gradient ``round(x/s) - x/s`` inside the range, ``q_max``
    above it), which with ``levels=L`` and ``rounding="half_up"`` is exactly the QCFS activation of S3
    (Bu et al., 2022) with clip ``lambda = L s``:

    .. math:: y = \lambda \cdot \mathrm{clip}(\lfloor x L / \lambda + 0.5 \rfloor / L, 0, 1)

    Args:
        bits: code width ``b`` in [1, 16] (unsigned) or [2, 16] (signed); ignored when ``levels`` is given.
        levels: largest code ``L`` (the QCFS level count) instead of ``bits``.
        signed: signed codes (weights, membranes) or unsigned ones (activations after ReLU).
        scale: initial step; None takes ``max|x| / q_max`` from the first tensor seen.
        learn_scale: train the step (a parameter) or keep it fixed (a buffer).
        pow2_scale: use the power of two nearest to the step (on the log scale), with a straight-through gradient to
            the step: the grid stays dyadic (exact integer hardware) while the range is learned.
        channel_axis: None (one step per tensor) or the channel axis (one step per channel).
        rounding: a mode of `snnq.quant.ste.ROUNDING` (default ``half_up``, the "+0.5 then floor" of QCFS).
    """

    def __init__(
        self,
        *,
        bits: int = 8,
        levels: int | None = None,
        signed: bool = False,
        scale: float | None = None,
        learn_scale: bool = False,
        pow2_scale: bool = False,
        channel_axis: int | None = None,
        rounding: str = "half_up",
    ):
        super().__init__(channel_axis=channel_axis)
        self.pow2_scale = bool(pow2_scale)
        self.signed = bool(signed)
        why = "a float step keeps codes exact only this far"
        self.bits = self.check_int("bits", bits, 2 if signed else 1, MAX_GRID_BITS, why)
        if levels is not None:
            self.check_int("levels", levels, 1, 2**MAX_GRID_BITS - 1, why)
        self.levels = levels
        if scale is not None:
            self.check_positive("scale", scale)
        self.scale = scale
        rounding_function(rounding)
        self.rounding = rounding
        self.learn_scale = bool(learn_scale)
        if scale is not None:
            initial = torch.tensor(float(scale))
        else:
            initial = torch.ones(() if channel_axis is None else (0,))
        if self.learn_scale:
            self.step = nn.Parameter(initial)
        else:
            self.register_buffer("step", initial)
        if scale is None:
            self.require_calibration()

    def codeset(self) -> CodeSet:
        if self.levels is not None:
            return CodeSet(-self.levels if self.signed else 0, self.levels)
        if self.signed:
            return CodeSet(-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)
        return CodeSet(0, 2**self.bits - 1)

    def initialize_(self, x: Tensor) -> None:
        max_abs = self.reduce(x.abs(), "amax").float()
        step = max_abs / self.codeset().high
        self.step.data = torch.where(step > 0, step, torch.ones_like(step))

    def fixed_step(self) -> float | None:
        if not self._initialized or self.step.numel() != 1:
            return None
        return float(self._step().detach())

    def _step(self) -> Tensor:
        step = self.step.clamp_min(MIN_STEP) if self.learn_scale else self.step
        if not self.pow2_scale:
            return step
        mantissa, exponent = torch.frexp(step.detach())  # step = m 2^e, m in [0.5, 1): nearest power on the log scale
        rounded = torch.ldexp(torch.ones_like(step), torch.where(mantissa >= _SQRT_HALF, exponent, exponent - 1))
        return step + (rounded - step).detach()  # exactly `rounded` (the two are within a factor of 2)

    def current_step(self, x: Tensor) -> Tensor:
        """The step used on ``x`` (broadcastable); subclasses adjust its gradient."""
        return self.per_channel(self._step().to(x.dtype), x)

    def encode(self, x: Tensor) -> Encoding:
        step = self.current_step(x)
        codeset = self.codeset()
        codes = round_clamp_ste(x / step, codeset.low, codeset.high, self.rounding)
        return Encoding(codes, step)

    def fake_quantize(self, x: Tensor) -> Tensor:
        codeset = self.codeset()
        fused = learned_step_fake_quant if self.step.requires_grad else fixed_step_fake_quant
        return fused(x, self.current_step(x), codeset.low, codeset.high, self.rounding)


@QUANTIZERS.register("lsq")
class LSQQuantizer(UniformQuantizer):
    r"""Learned step size quantization (Esser et al., ICLR 2020).

    .. math:: \hat v = s \cdot \mathrm{round}(\mathrm{clip}(v / s, -Q_N, Q_P))

    with the step's gradient scaled by ``g = 1 / sqrt(N Q_P)`` (``N`` = elements per step) and the step
    initialised to ``2 mean|v| / sqrt(Q_P)``. Signed: ``Q_N = 2^{b-1}``, ``Q_P = 2^{b-1} - 1``; unsigned:
    ``Q_N = 0``, ``Q_P = 2^b - 1``.

    Args:
        bits: code width in [2, 16] (signed) or [1, 16] (unsigned).
        signed: signed codes (weights, the default) or unsigned ones (activations).
        scale: initial step; None uses the LSQ rule on the first tensor seen.
        channel_axis: None (one step per tensor) or the channel axis.
        rounding: a mode of `snnq.quant.ste.ROUNDING`.
    """

    def __init__(
        self,
        *,
        bits: int = 4,
        signed: bool = True,
        scale: float | None = None,
        channel_axis: int | None = None,
        rounding: str = "half_up",
    ):
        super().__init__(
            bits=bits, signed=signed, scale=scale, learn_scale=True, channel_axis=channel_axis, rounding=rounding
        )

    def initialize_(self, x: Tensor) -> None:
        q_p = self.codeset().high
        step = (2 * self.reduce(x.abs(), "mean") / math.sqrt(q_p)).float()
        self.step.data = torch.where(step > 0, step, torch.ones_like(step))

    def current_step(self, x: Tensor) -> Tensor:
        per_step = x.numel() // max(1, self.step.numel())
        factor = 1.0 / math.sqrt(max(1, per_step) * self.codeset().high)
        return self.per_channel(scale_grad(self.step, factor).clamp_min(MIN_STEP).to(x.dtype), x)
