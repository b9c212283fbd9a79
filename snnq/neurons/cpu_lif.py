"""The fused multi-step ``if``/``lif``/``plif`` kernels for the CPU (see `snnq.neurons.fused_lif`): ``cpu_lif.c``
beside this file, compiled on first use (`snnq.native`). Without a compiler (or with ``SNNQ_CPU_KERNELS=0``)
neurons use the eager fused path (`snnq.neurons.leaky_sequence`): the same spikes, more slowly.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import torch
from torch import Tensor

from snnq import native
from snnq.neurons.fused_lif import LeakyPlan

SOURCE = Path(__file__).with_name("cpu_lif.c")


class _Plan(ctypes.Structure):
    """The C ``Plan`` of cpu_lif.c (field order and types must match)."""

    _fields_ = [(name, ctypes.c_float) for name in ("factor", "threshold", "scale", "offset", "low", "high", "limit", "slope", "alpha")] + [
        (name, ctypes.c_int) for name in ("quant", "leak_round", "zero_reset", "surrogate", "want_factor")
    ]

    @classmethod
    def of(cls, plan: LeakyPlan, *, want_factor: bool = False) -> _Plan:
        return cls(
            plan.factor, plan.threshold, plan.scale, plan.offset, plan.low, plan.high, plan.limit, plan.slope, plan.alpha,
            int(plan.quant), plan.leak_rounding, int(plan.zero_reset), plan.surrogate, int(want_factor),
        )


def compile_error() -> str | None:
    """Why the CPU kernels are not in use (None when they are)."""
    library = native.load(SOURCE)
    return library if isinstance(library, str) else None


class CpuKernels:
    name = "cpu"

    def usable(self, x: Tensor) -> bool:
        return x.device.type == "cpu" and x.dtype == torch.float32 and compile_error() is None

    def recomputes(self, plan: LeakyPlan, steps: int) -> bool:
        return False  # a CPU reads its caches: storing costs little there

    def stored_dtype(self, plan: LeakyPlan) -> torch.dtype:
        return torch.float32  # the C kernels take float buffers only

    def forward(self, plan: LeakyPlan, x: Tensor, u0: Tensor, spikes: Tensor, stored: Tensor, u_last: Tensor) -> None:
        steps, n = x.shape
        native.load(SOURCE).snnq_lif_forward(
            native.pointer(x), native.pointer(u0), native.pointer(spikes), native.pointer(stored), native.pointer(u_last),
            ctypes.c_int64(n), ctypes.c_int64(steps), ctypes.byref(_Plan.of(plan)), native.threads(),
        )

    def backward(self, plan: LeakyPlan, grad_spikes: Tensor, stored: Tensor, u0: Tensor, grad_x: Tensor, grad_factor: Tensor | None) -> None:
        steps, n = stored.shape
        grad = grad_spikes.float()
        if grad.stride(1) not in (0, 1):  # the kernel reads rows that are contiguous or one value expanded
            grad = grad.contiguous()
        native.load(SOURCE).snnq_lif_backward(
            native.pointer(grad), ctypes.c_int64(grad.stride(0)), ctypes.c_int64(grad.stride(1)), native.pointer(stored),
            native.pointer(grad_x), native.pointer(grad_factor), native.pointer(u0), ctypes.c_int64(n), ctypes.c_int64(steps),
            ctypes.byref(_Plan.of(plan, want_factor=grad_factor is not None)), native.threads(),
        )
