"""Fused fake quantization on the CPU: ``cpu_fake_quant.c``, compiled on first use (`snnq.native`).

`layout` says whether a tensor and its step suit the kernels (float32, contiguous, a step that is one value or
one per channel of one axis); `fake_quant_forward` and `fake_quant_backward` then compute in one pass each what
`snnq.quant.ste`'s fused autograd functions compute in five and three (bit for bit the same values).
"""

from __future__ import annotations

import ctypes
import math
from pathlib import Path

import torch
from torch import Tensor

from snnq import native

SOURCE = Path(__file__).with_name("cpu_fake_quant.c")
MODES = {"half_up": 0, "half_even": 1, "floor": 2}
PIECE = 16384  # as in the C source


def layout(x: Tensor, step: Tensor) -> tuple[int, int] | None:
    """``(inner, channels)`` of ``step`` against ``x`` for the kernels, or None where they do not apply."""
    if x.device.type != "cpu" or x.dtype != torch.float32 or step.dtype != torch.float32 or not x.is_contiguous() or x.numel() == 0:
        return None
    if isinstance(native.load(SOURCE), str):
        return None
    if step.numel() == 1:
        return x.numel(), 1
    shape = (1,) * (x.dim() - step.dim()) + tuple(step.shape)
    axes = [axis for axis, size in enumerate(shape) if size != 1]
    if len(axes) != 1 or shape[axes[0]] != x.shape[axes[0]]:
        return None
    return math.prod(x.shape[axes[0] + 1 :]), x.shape[axes[0]]


def _call(function: str, *args: object) -> None:
    getattr(native.load(SOURCE), function)(*args)


def fake_quant_forward(x: Tensor, step: Tensor, low: float, high: float, mode: str, where: tuple[int, int]) -> Tensor:
    """``clamp(round(x / step), low, high) * step``."""
    inner, channels = where
    y = torch.empty_like(x)
    step = step.detach().contiguous()
    _call("snnq_fake_quant_forward", native.pointer(x), native.pointer(step), ctypes.c_int64(x.numel()), ctypes.c_int64(inner),
          ctypes.c_int64(channels), ctypes.c_float(low), ctypes.c_float(high), ctypes.c_int(MODES[mode]), native.pointer(y))
    return y


def fake_quant_backward(
    x: Tensor, grad: Tensor, step: Tensor, low: float, high: float, mode: str, where: tuple[int, int], *, learned: bool
) -> tuple[Tensor, Tensor | None]:
    """The input's gradient (straight through inside the range) and, when ``learned``, the step's (shaped as ``step``)."""
    inner, channels = where
    grad = grad.float().contiguous()
    grad_x = torch.empty_like(x)
    runs = -(-x.numel() // inner)
    pieces = torch.empty(runs * -(-inner // PIECE), dtype=torch.float64) if learned else None
    flat_step = step.detach().contiguous()
    _call("snnq_fake_quant_backward", native.pointer(x), native.pointer(grad), native.pointer(flat_step), ctypes.c_int64(x.numel()),
          ctypes.c_int64(inner), ctypes.c_int64(channels), ctypes.c_float(low), ctypes.c_float(high), ctypes.c_int(MODES[mode]),
          native.pointer(grad_x), native.pointer(pieces))
    if pieces is None:
        return grad_x, None
    per_run = pieces.reshape(runs, -1).sum(1)
    per_channel = per_run.reshape(-1, channels).sum(0)  # run r is channel r % C
    return grad_x, per_channel.to(step.dtype).reshape(step.shape)
