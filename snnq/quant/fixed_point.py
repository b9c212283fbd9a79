"""Fixed point (S0 weights) and dynamic fixed point (S0's 8-bit baseline): power-of-two steps."""

from __future__ import annotations

import torch
from torch import Tensor

from snnq.errors import ConfigError
from snnq.quant import distributed
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.fused_fake_quant import fixed_point_range
from snnq.quant.integer import CodeSet
from snnq.quant.ste import fixed_step_fake_quant, round_clamp_ste, rounding_function
from snnq.registry import QUANTIZERS

MAX_BITS = 24  # codes beyond 2^24 are no longer exact in float32
MAX_FRAC_BITS = 126  # the step 2^-f stays a normal float32


def min_frac_bits(bits: int) -> int:
    """The smallest ``f`` whose largest value ``2^(b-1) * 2^-f`` stays below float32's overflow (2^128)."""
    return bits - 128


def frac_bits_for(max_abs: Tensor, bits: int, signed: bool) -> Tensor:
    """The largest fractional length ``f`` whose code range holds ``max_abs``: ``f = (b - s) - ceil(log2 max|x|)``.

    ``s`` is 1 for a sign bit, else 0. ``ceil(log2)`` is taken exactly from the float's exponent (``frexp``),
    so powers of two land where they should. An all-zero tensor gets ``f = b - s`` (a range of +-1).
    """
    mantissa, exponent = torch.frexp(max_abs.float())  # frexp(0) = (0, 0): zero needs no case of its own
    ceil_log2 = torch.where(mantissa == 0.5, exponent - 1, exponent)
    frac = (bits - int(signed)) - ceil_log2
    return frac.clamp(min_frac_bits(bits), MAX_FRAC_BITS).to(torch.int32)


@QUANTIZERS.register("fixed_point")
class FixedPointQuantizer(Quantizer):
    r"""Signed (or unsigned) b-bit fixed point with a power-of-two step, the weights of S0 (Liu & Liu, 2018).

    .. math:: q(x) = 2^{-f} \cdot \mathrm{clip}(\mathrm{round}(x \cdot 2^{f}), -2^{b-1}, 2^{b-1} - 1)

    (unsigned: ``clip(., 0, 2^b - 1)``). The fractional length ``f`` is fixed per tensor (or per channel): given
    as ``frac_bits``, or chosen from the first tensor seen as the largest ``f`` whose range holds ``max|x|``
    (see `frac_bits_for`) and then kept. Gradient: straight-through inside the range, zero where clipped.

    Args:
        bits: word length ``b`` in [2, 24] (signed) or [1, 24] (unsigned).
        frac_bits: fractional length ``f`` in [bits - 128, 126] (float32's range), or None to calibrate it from data.
        signed: two's-complement codes (default) or unsigned ones.
        channel_axis: None (one ``f`` per tensor) or the channel axis (one ``f`` per channel).
        rounding: a mode of `snnq.quant.ste.ROUNDING` (default ``half_up``).
    """

    def __init__(
        self,
        *,
        bits: int = 8,
        frac_bits: int | None = None,
        signed: bool = True,
        channel_axis: int | None = None,
        rounding: str = "half_up",
    ):
        super().__init__(channel_axis=channel_axis)
        self.signed = bool(signed)
        self.bits = self.check_int("bits", bits, 2 if signed else 1, MAX_BITS, "codes must stay exact in float32")
        if frac_bits is not None:
            self.check_int("frac_bits", frac_bits, min_frac_bits(self.bits), MAX_FRAC_BITS, "the range must stay inside float32")
        rounding_function(rounding)
        self.rounding = rounding
        self.frac_bits = frac_bits
        if frac_bits is not None:  # one f, shared by every channel
            self.register_buffer("fractional_length", torch.tensor(frac_bits, dtype=torch.int32))
        else:  # calibrated on the first call; per-channel buffers take their size then
            self.register_buffer("fractional_length", torch.zeros(() if channel_axis is None else (0,), dtype=torch.int32))
            self.require_calibration()

    def codeset(self) -> CodeSet:
        if self.signed:
            return CodeSet(-(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1)
        return CodeSet(0, 2**self.bits - 1)

    def initialize_(self, x: Tensor) -> None:
        self.fractional_length = frac_bits_for(self.reduce(x.abs(), "amax"), self.bits, self.signed)

    def step(self, x: Tensor) -> Tensor:
        """``2^-f``, broadcastable against ``x``."""
        return torch.exp2(-self.per_channel(self.fractional_length, x).to(x.dtype))

    def fixed_step(self) -> float | None:
        if not self._initialized or self.fractional_length.numel() != 1:
            return None
        return float(torch.exp2(-self.fractional_length.float()))

    def step_for(self, x: Tensor) -> Tensor:
        """The step `encode` and `fake_quantize` use on ``x``: ``2^-f``, computed once per fractional length (three
        operations less per call) and again when ``fractional_length`` is replaced or written in place (a loaded
        state dict) or ``x`` differs in dtype or rank. Dynamic fixed point follows ``x`` first."""
        if torch.compiler.is_compiling():
            return self.step(x)
        f = self.fractional_length
        key = (f._version, x.dtype, x.dim(), f.device)
        cached = self.__dict__.get("_cached_step")  # a plain attribute: not in the state dict
        if cached is None or cached[0] is not f or cached[1] != key:
            cached = self.__dict__["_cached_step"] = (f, key, self.step(x).detach())
        return cached[2]

    def encode(self, x: Tensor) -> Encoding:
        step, codeset = self.step_for(x), self.codeset()
        return Encoding(round_clamp_ste(x / step, codeset.low, codeset.high, self.rounding), step)

    def fake_quantize(self, x: Tensor) -> Tensor:
        codeset = self.codeset()
        return fixed_step_fake_quant(x, self.step_for(x), codeset.low, codeset.high, self.rounding)


@QUANTIZERS.register("dynamic_fixed_point")
class DynamicFixedPointQuantizer(FixedPointQuantizer):
    r"""Dynamic fixed point: fixed point whose fractional length follows the tensor's range (S0's baseline).

    .. math:: f = (b - 1) - \lceil \log_2 \max|x| \rceil, \qquad q(x) = 2^{-f}\,\mathrm{clip}(\mathrm{round}(x 2^f), -2^{b-1}, 2^{b-1}-1)

    ``f`` is recomputed from every tensor (weights: per layer, as Ristretto-style dynamic fixed point does). For
    activations, set ``momentum`` to track a running maximum in training and use it in eval, so that inference
    does not depend on the batch. The last ``f`` is kept in the ``fractional_length`` buffer for export.

    Args:
        bits: word length ``b`` in [2, 24] (signed) or [1, 24] (unsigned).
        signed: two's-complement codes (default) or unsigned ones.
        momentum: None (range of each tensor) or the running-maximum update factor in (0, 1].
        channel_axis: None (one ``f`` per tensor) or the channel axis.
        rounding: a mode of `snnq.quant.ste.ROUNDING`.
    """

    def __init__(
        self,
        *,
        bits: int = 8,
        signed: bool = True,
        momentum: float | None = None,
        channel_axis: int | None = None,
        rounding: str = "half_up",
    ):
        super().__init__(bits=bits, frac_bits=None, signed=signed, channel_axis=channel_axis, rounding=rounding)
        if momentum is not None and not (isinstance(momentum, (int, float)) and 0 < momentum <= 1):
            raise ConfigError(f"{self.registry_name}: momentum={momentum!r} is invalid; expected None or a number in (0, 1]")
        self.momentum = momentum
        self.register_buffer("running_max", torch.zeros(() if channel_axis is None else (0,)))
        if momentum is None:  # the range comes from each tensor: nothing to calibrate
            self.initialized.fill_(True)
            self._initialized = True

    def initialize_(self, x: Tensor) -> None:
        self.running_max = self.reduce(x.abs(), "amax").float()
        super().initialize_(x)

    def fixed_step(self) -> float | None:
        return None  # the step follows every input (or, with momentum, every training batch)

    def step_for(self, x: Tensor) -> Tensor:
        """Follows ``x``'s range (or, with ``momentum``, the running maximum), then ``2^-f``. Without momentum
        the fractional lengths and steps come from one fused kernel call where one applies
        (`snnq.quant.fused_fake_quant.fixed_point_range`: one call for eleven operations), with the same values."""
        with torch.no_grad():
            if self.momentum is None and not (self.training and distributed.active()):  # synchronized: the global range
                fused = fixed_point_range(x, self._axis(x), self.bits - int(self.signed), min_frac_bits(self.bits), MAX_FRAC_BITS)
                if fused is not None:
                    self.fractional_length, step = fused
                    return self.per_channel(step, x).to(x.dtype)
            max_abs = self.reduce(x.detach().abs(), "amax").float()
            if self.momentum is not None:
                if self.training:
                    self.running_max = torch.lerp(self.running_max.to(max_abs), max_abs, self.momentum)
                max_abs = self.running_max
            self.fractional_length = frac_bits_for(max_abs, self.bits, self.signed)
        return self.step(x)
