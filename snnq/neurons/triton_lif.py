"""The fused multi-step ``if``/``lif``/``plif`` kernels for CUDA devices, in Triton (see `snnq.neurons.fused_lif`).

The kernels themselves are in `snnq.neurons.triton_kernels`; they also run on the CPU under ``TRITON_INTERPRET=1``
(how the tests check them on machines without a GPU).

For a float membrane over up to `RECOMPUTE_MAX_STEPS` steps the forward kernel stores nothing for the backward
one, which recomputes the membrane from the input in registers: per element and fwd+bwd, fp32 moves 16 bytes
instead of 20 (input, spikes; input, gradient) and bf16 8 instead of 14. Otherwise the forward kernel stores
each step's raw membrane: float32, or int16 for a quantized membrane where that is exact
(`LeakyPlan.compact_dtype`: fp32 then moves 16 bytes as well).
"""

from __future__ import annotations

import torch
from torch import Tensor

from snnq import native
from snnq.neurons.fused_lif import LeakyPlan

BLOCK = 1024
RECOMPUTE_MAX_STEPS = 16  # the recomputing backward holds T raw sums per neuron in registers


def recompute_block(steps: int) -> int:
    """Neurons per program of the recomputing backward: at most 32 raw sums per thread (4 warps of 32), so
    that the registers leave room for several programs per multiprocessor and nothing spills on sm_80/sm_90
    (tests/neurons/test_fused_kernels.py reads ptxas's report)."""
    return max(128, min(1024, 4096 >> (steps - 1).bit_length()))


class TritonKernels:
    """``recompute_max_steps``: the longest float sequence whose membrane the backward kernel recomputes (0: store
    it always, as `bench/neuron_speed.py` does to compare the two on a GPU)."""

    name = "triton"

    def __init__(self, recompute_max_steps: int = RECOMPUTE_MAX_STEPS):
        self.recompute_max_steps = recompute_max_steps

    def usable(self, x: Tensor) -> bool:
        return native.triton_runs_on(x)

    def recomputes(self, plan: LeakyPlan, steps: int) -> bool:
        # float membranes only: a quantized one stores 2-byte integers (as many bytes as recomputing moves in
        # fp32) and its step's arithmetic would need more registers than a program has
        return not plan.quant and steps <= self.recompute_max_steps

    def stored_dtype(self, plan: LeakyPlan) -> torch.dtype:
        return plan.compact_dtype  # 2 bytes less per element each way on a memory-bound kernel

    def forward(self, plan: LeakyPlan, x: Tensor, u0: Tensor, spikes: Tensor, stored: Tensor | None, u_last: Tensor) -> None:
        import triton

        from snnq.neurons.triton_kernels import forward_kernel  # imported on first use: Triton is slow to import

        steps, n = x.shape
        forward_kernel[(triton.cdiv(n, BLOCK),)](
            x, u0, spikes, spikes if stored is None else stored, u_last, n, steps,
            plan.factor, plan.threshold, plan.scale, plan.offset, plan.low, plan.high, plan.limit,
            QUANT=plan.quant, LEAK_ROUND=plan.leak_rounding, ZERO_RESET=plan.zero_reset, STORE=stored is not None, BLOCK=BLOCK,
        )

    def backward(self, plan: LeakyPlan, grad_spikes: Tensor, saved: Tensor, u0: Tensor, grad_x: Tensor, grad_factor: Tensor | None) -> None:
        import triton

        from snnq.neurons.triton_kernels import backward_kernel, backward_recompute_kernel

        steps, n = saved.shape
        factor_out = grad_x if grad_factor is None else grad_factor
        if self.recomputes(plan, steps):
            block = recompute_block(steps)
            backward_recompute_kernel[(triton.cdiv(n, block),)](
                grad_spikes, saved, grad_x, factor_out, u0, n, grad_spikes.stride(0), grad_spikes.stride(1),
                plan.factor, plan.scale, plan.offset, plan.limit, plan.slope, plan.threshold, plan.alpha, plan.low, plan.high,
                T=steps, QUANT=plan.quant, LEAK_ROUND=plan.leak_rounding, ZERO_RESET=plan.zero_reset,
                SURROGATE=plan.surrogate, WANT_FACTOR=grad_factor is not None, BLOCK=block,
            )
            return
        backward_kernel[(triton.cdiv(n, BLOCK),)](
            grad_spikes, saved, grad_x, factor_out, u0,
            n, steps, grad_spikes.stride(0), grad_spikes.stride(1),
            plan.slope, plan.threshold, plan.scale, plan.alpha, plan.low, plan.high,
            QUANT=plan.quant, ZERO_RESET=plan.zero_reset, SURROGATE=plan.surrogate,
            WANT_FACTOR=grad_factor is not None, BLOCK=BLOCK,
        )
