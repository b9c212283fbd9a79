"""The fused multi-step ``if``/``lif``/``plif`` kernels for CUDA devices, in Triton (see `snnq.neurons.fused_lif`).

The kernels themselves are in `snnq.neurons.triton_kernels`; they also run on the CPU under ``TRITON_INTERPRET=1``
(how the tests check them on machines without a GPU).
"""

from __future__ import annotations

import torch
from torch import Tensor

from snnq import native
from snnq.neurons.fused_lif import LeakyPlan

BLOCK = 1024


class TritonKernels:
    name = "triton"

    def usable(self, x: Tensor) -> bool:
        return native.triton_runs_on(x)

    def stored_dtype(self, plan: LeakyPlan) -> torch.dtype:
        return plan.compact_dtype  # 2 bytes less per element each way on a memory-bound kernel

    def forward(self, plan: LeakyPlan, x: Tensor, u0: Tensor, spikes: Tensor, stored: Tensor, u_last: Tensor) -> None:
        import triton

        from snnq.neurons.triton_kernels import forward_kernel  # imported on first use: Triton is slow to import

        steps, n = x.shape
        forward_kernel[(triton.cdiv(n, BLOCK),)](
            x, u0, spikes, stored, u_last, n, steps,
            plan.factor, plan.threshold, plan.scale, plan.offset, plan.low, plan.high, plan.limit,
            QUANT=plan.quant, LEAK_ROUND=plan.leak_rounding, ZERO_RESET=plan.zero_reset, BLOCK=BLOCK,
        )

    def backward(self, plan: LeakyPlan, grad_spikes: Tensor, stored: Tensor, u0: Tensor, grad_x: Tensor, grad_factor: Tensor | None) -> None:
        import triton

        from snnq.neurons.triton_kernels import backward_kernel

        steps, n = stored.shape
        backward_kernel[(triton.cdiv(n, BLOCK),)](
            grad_spikes, stored, grad_x, grad_x if grad_factor is None else grad_factor, u0,
            n, steps, grad_spikes.stride(0), grad_spikes.stride(1),
            plan.slope, plan.threshold, plan.scale, plan.alpha, plan.low, plan.high,
            QUANT=plan.quant, ZERO_RESET=plan.zero_reset, SURROGATE=plan.surrogate,
            WANT_FACTOR=grad_factor is not None, BLOCK=BLOCK,
        )
