"""One-pass fake quantization: ``q = clamp(round(x / s), low, high) * s`` and its straight-through gradients.

`snnq.quant.ste`'s fused autograd functions (`fixed_step_fake_quant`, `learned_step_fake_quant`) run these kernels
where one applies and their PyTorch operations elsewhere (five passes forward, three backward). Two
implementations, the first usable one runs:

- ``triton`` (`snnq.quant.triton_fake_quant`): CUDA tensors (fp32, bf16, fp16; computed in fp32), and the CPU
  under Triton's interpreter (tests);
- ``cpu`` (`snnq.quant.cpu_fake_quant`): float32 CPU tensors, C compiled on first use (`snnq.native`).

On float32 tensors both give the PyTorch path's values and input gradients bit for bit (tested with ``torch.equal``);
a learned step's gradient is a sum over the elements it scales, added in another order than PyTorch's reduction,
so it agrees to float rounding only (tested: relative 1e-4). The step ``s`` is one value or one
per channel of one axis; a learned step takes the kernels when it is one value (QCFS, per-tensor LSQ) on CUDA,
and per channel as well on the CPU.
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
from torch import Tensor

from snnq.quant.cpu_fake_quant import CpuFakeQuant
from snnq.quant.triton_fake_quant import TritonFakeQuant

MODES = {"half_up": 0, "half_even": 1, "floor": 2}  # the rounding modes' codes in the kernels


def step_layout(x: Tensor, step: Tensor) -> tuple[int, int] | None:
    """``(inner, channels)``: ``step[(i / inner) % channels]`` is the step of the ``i``-th element of contiguous ``x``;
    None when ``step`` is not one value or one per channel of one axis of ``x``."""
    if step.numel() == 1:
        return max(x.numel(), 1), 1
    if step.dim() > x.dim():
        return None
    shape = (1,) * (x.dim() - step.dim()) + tuple(step.shape)
    axes = [axis for axis, size in enumerate(shape) if size != 1]
    if len(axes) != 1 or shape[axes[0]] != x.shape[axes[0]]:
        return None
    return math.prod(x.shape[axes[0] + 1 :]), x.shape[axes[0]]


class FakeQuantKernels(Protocol):
    name: str

    def range_usable(self, x: Tensor) -> bool: ...

    def fixed_point_range(self, x: Tensor, layout: tuple[int, int], bits_minus_sign: int, min_frac: int, max_frac: int) -> tuple[Tensor, Tensor]:
        """Per channel, ``f = clamp(bits_minus_sign - ceil(log2 max|x|), min_frac, max_frac)`` (int32) and ``2^-f``
        (float32), as `snnq.quant.fixed_point.frac_bits_for` computes them."""

    def usable(self, x: Tensor, step: Tensor, layout: tuple[int, int], *, learned: bool) -> bool: ...

    def forward(self, x: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int]) -> Tensor:
        """``clamp(round(x / step), low, high) * step`` (a new tensor of ``x``'s dtype; ``mode`` from `MODES`)."""

    def backward(
        self, x: Tensor, grad: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int], *, learned: bool
    ) -> tuple[Tensor, Tensor | None]:
        """The input's gradient (straight through inside the range) and, when ``learned``, the step's (shaped as
        ``step``): ``round(x/s) - x/s`` inside the range, the clipped code outside, times the gradient, summed."""


KERNELS: tuple[FakeQuantKernels, ...] = (TritonFakeQuant(), CpuFakeQuant())


def _kernels_may_take(x: Tensor) -> bool:
    """Not under ``torch.compile`` (the compiler fuses the PyTorch operations itself, and an opaque kernel would
    break its graph), and ``x`` contiguous and not empty."""
    return not torch.compiler.is_compiling() and x.is_contiguous() and x.numel() > 0


def kernels_for(x: Tensor, step: Tensor, *, learned: bool) -> tuple[FakeQuantKernels, tuple[int, int]] | None:
    """The kernels that take ``x`` with ``step`` and the layout they use, or None (the PyTorch operations run)."""
    if not _kernels_may_take(x) or not step.is_floating_point():
        return None
    layout = step_layout(x, step)
    if layout is None:
        return None
    for kernels in KERNELS:
        if kernels.usable(x, step, layout, learned=learned):
            return kernels, layout
    return None


def fixed_point_range(x: Tensor, axis: int | None, bits_minus_sign: int, min_frac: int, max_frac: int) -> tuple[Tensor, Tensor] | None:
    """Dynamic fixed point's fractional lengths and steps, one per channel of ``axis`` (shape ``(C,)``) or one for
    the tensor (shape ``()``), in one kernel call where the PyTorch path dispatches eleven operations; None where no
    kernel applies (under ``torch.compile``, non-contiguous or empty ``x``, other dtypes)."""
    if not _kernels_may_take(x):
        return None
    layout = (x.numel(), 1) if axis is None else (math.prod(x.shape[axis + 1 :]), x.shape[axis])
    for kernels in KERNELS:
        if kernels.range_usable(x):
            frac, step = kernels.fixed_point_range(x.detach(), layout, bits_minus_sign, min_frac, max_frac)
            return (frac.reshape(()), step.reshape(())) if axis is None else (frac, step)
    return None
