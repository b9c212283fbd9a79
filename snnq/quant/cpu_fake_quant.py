"""Fused fake quantization on the CPU (see `snnq.quant.fused_fake_quant`): ``cpu_fake_quant.c``, compiled on first
use (`snnq.native`); one pass forward and one backward, bit for bit the PyTorch path's values and input gradients
(a learned step's gradient, a sum, to float rounding: `snnq.quant.fused_fake_quant`)."""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch
from torch import Tensor

from snnq import native

SOURCE = Path(__file__).with_name("cpu_fake_quant.c")
PIECE = 16384  # as in the C source


class CpuFakeQuant:
    name = "cpu"

    def range_usable(self, x: Tensor) -> bool:
        return x.device.type == "cpu" and x.dtype == torch.float32 and not isinstance(native.load(SOURCE), str)

    def usable(self, x: Tensor, step: Tensor, layout: tuple[int, int], *, learned: bool) -> bool:
        return step.dtype == torch.float32 and self.range_usable(x)

    def fixed_point_range(self, x: Tensor, layout: tuple[int, int], bits_minus_sign: int, min_frac: int, max_frac: int) -> tuple[Tensor, Tensor]:
        inner, channels = layout
        frac = torch.empty(channels, dtype=torch.int32)
        step = torch.empty(channels, dtype=torch.float32)
        native.load(SOURCE).snnq_fixed_point_range(
            native.pointer(x), ctypes.c_int64(x.numel()), ctypes.c_int64(inner), ctypes.c_int64(channels),
            ctypes.c_int(bits_minus_sign), ctypes.c_int(min_frac), ctypes.c_int(max_frac), native.pointer(frac), native.pointer(step),
        )
        return frac, step

    def forward(self, x: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int]) -> Tensor:
        inner, channels = layout
        y = torch.empty_like(x)
        step = step.detach().contiguous()
        native.load(SOURCE).snnq_fake_quant_forward(
            native.pointer(x), native.pointer(step), ctypes.c_int64(x.numel()), ctypes.c_int64(inner), ctypes.c_int64(channels),
            ctypes.c_float(low), ctypes.c_float(high), ctypes.c_int(mode), native.pointer(y),
        )
        return y

    def backward(
        self, x: Tensor, grad: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int], *, learned: bool
    ) -> tuple[Tensor, Tensor | None]:
        inner, channels = layout
        grad = grad.float().contiguous()
        grad_x = torch.empty_like(x)
        runs = -(-x.numel() // inner)
        pieces = torch.empty(runs * -(-inner // PIECE), dtype=torch.float64) if learned else None
        flat_step = step.detach().contiguous()  # a name, so that a copy lives until the call returns
        native.load(SOURCE).snnq_fake_quant_backward(
            native.pointer(x), native.pointer(grad), native.pointer(flat_step), ctypes.c_int64(x.numel()),
            ctypes.c_int64(inner), ctypes.c_int64(channels), ctypes.c_float(low), ctypes.c_float(high), ctypes.c_int(mode),
            native.pointer(grad_x), native.pointer(pieces),
        )
        if pieces is None:
            return grad_x, None
        per_run = pieces.reshape(runs, -1).sum(1)
        per_channel = per_run.reshape(-1, channels).sum(0)  # run r is channel r % C
        return grad_x, per_channel.to(step.dtype).reshape(step.shape)
