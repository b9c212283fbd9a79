"""The exact integer form of a quantized tensor: integer codes plus the scale that turns them back into floats.

Converters and hardware backends consume this form; the contract tests check that decoding it gives back, bit
for bit, the float tensor that the quantizer's forward pass produced.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from snnq.errors import ConfigError


@dataclass(frozen=True)
class CodeSet:
    """The integer codes a quantizer may emit: every integer in ``[low, high]``, or exactly ``values``."""

    low: int
    high: int
    values: tuple[int, ...] | None = None

    @classmethod
    def of(cls, values: list[int] | tuple[int, ...]) -> CodeSet:
        ordered = tuple(sorted(set(int(v) for v in values)))
        return cls(ordered[0], ordered[-1], ordered)

    def contains(self, codes: Tensor) -> Tensor:
        """Elementwise membership (a bool tensor of the same shape)."""
        if self.values is not None:
            return torch.isin(codes, torch.tensor(self.values, dtype=codes.dtype, device=codes.device))
        return (codes >= self.low) & (codes <= self.high)

    def __len__(self) -> int:
        return len(self.values) if self.values is not None else self.high - self.low + 1

    @property
    def bits(self) -> int:
        """Storage bits per code: ``ceil(log2(number of codes))`` (b for a b-bit grid, 1 for binary, 2 for ternary)."""
        return max(1, math.ceil(math.log2(len(self))))

    def dtype(self) -> torch.dtype:
        """The smallest signed torch integer dtype that holds every code."""
        for dtype in (torch.int8, torch.int16, torch.int32):
            info = torch.iinfo(dtype)
            if info.min <= self.low and self.high <= info.max:
                return dtype
        return torch.int64


def _decode_linear(codes: Tensor, scale: Tensor) -> Tensor:
    return codes * scale


def _decode_log2(codes: Tensor, scale: Tensor) -> Tensor:
    # |code| = e + 1 encodes the magnitude 2^-e; code 0 is zero. Multiplying by a power of two is exact.
    magnitude = torch.exp2(1.0 - codes.abs())
    return torch.where(codes == 0, torch.zeros_like(magnitude), torch.sign(codes) * magnitude) * scale


DECODERS: Mapping[str, Callable[[Tensor, Tensor], Tensor]] = MappingProxyType(
    {"linear": _decode_linear, "log2": _decode_log2}
)
"""How codes become values. ``linear``: ``codes * scale``. ``log2``: ``sign(c) * scale * 2^-(|c| - 1)``, 0 for c = 0."""


@dataclass(frozen=True, eq=False)
class IntegerTensor:
    """Integer codes and the scale that rebuild a fake-quantized tensor exactly.

    ``encoding="linear"``: ``value = codes * scale``; ``encoding="log2"``: ``value = sign(codes) * scale *
    2^-(|codes| - 1)`` with code 0 meaning 0 (a sign bit plus an exponent field with one code kept for zero).
    ``scale`` is float32 and broadcasts against ``codes`` (a scalar per tensor, or one value per channel along
    ``channel_axis``).

    Example:
        >>> import snnq, torch
        >>> q = snnq.quantizer("fixed_point", bits=4, frac_bits=2)
        >>> form = q.integer_form(torch.tensor([0.3, -1.0, 5.0]))
        >>> form.codes.tolist(), form.frac_bits
        ([1, -4, 7], 2)
        >>> form.dequantize().tolist()
        [0.25, -1.0, 1.75]
    """

    codes: Tensor
    scale: Tensor
    codeset: CodeSet
    encoding: str = "linear"
    channel_axis: int | None = None

    def __post_init__(self) -> None:
        if self.codes.is_floating_point() or self.codes.is_complex():
            raise ConfigError(f"IntegerTensor codes must have an integer dtype, got {self.codes.dtype}")
        if self.encoding not in DECODERS:
            raise ConfigError(f"unknown encoding {self.encoding!r}; valid: {', '.join(DECODERS)}")

    @property
    def bits(self) -> int:
        """Storage bits of one code (see `CodeSet.bits`)."""
        return self.codeset.bits

    @property
    def exponent(self) -> Tensor | None:
        """``log2(scale)`` as integers when every scale is a power of two (a shift in hardware), else None."""
        mantissa, exponent = torch.frexp(self.scale)
        if bool((mantissa == 0.5).all()):
            return (exponent - 1).to(torch.int32)
        return None

    @property
    def frac_bits(self) -> int | Tensor | None:
        """Fractional bits ``f`` with ``scale = 2^-f``: an int per tensor, a vector per channel, None if not fixed point."""
        exponent = self.exponent
        if exponent is None:
            return None
        return int(-exponent) if exponent.numel() == 1 else -exponent.flatten()

    def dequantize(self, dtype: torch.dtype = torch.float32) -> Tensor:
        """The float tensor these codes stand for, computed exactly as the quantizer computed it."""
        return DECODERS[self.encoding](self.codes.to(dtype), self.scale.to(dtype))

    def to_numpy(self) -> dict[str, Any]:
        """Plain arrays and numbers (for ``.npz`` files and JSON manifests)."""
        return {
            "codes": self.codes.cpu().numpy(),
            "scale": np.asarray(self.scale.detach().cpu().numpy(), dtype=np.float32),
            "encoding": self.encoding,
            "bits": self.bits,
            "code_low": self.codeset.low,
            "code_high": self.codeset.high,
            "channel_axis": self.channel_axis,
        }
