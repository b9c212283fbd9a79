"""The fused multi-step ``if``/``lif``/``plif`` kernel for CUDA devices, in Triton.

One program handles ``BLOCK`` neurons for all ``T`` steps, keeping the membrane in registers: the forward pass
reads the input once and writes the spikes and the pre-reset membrane once per step; the backward pass runs
back through time reading the stored membrane. Both the float and the quantized (integer-code) arithmetic of
`snnq.neurons.leaky` are implemented; the integer arithmetic is exact, so quantized spikes and membranes
equal the CPU path's bit for bit. Used automatically for CUDA tensors when Triton is importable; the same
kernels run on the CPU under ``TRITON_INTERPRET=1`` (how the tests check them on machines without a GPU).

Not covered (these fall back to the eager fused path): ``detach_reset=False``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from snnq.neurons.leaky import LeakyNeuron

SURROGATE_IDS = {"atan": 0, "sigmoid": 1, "triangle": 2, "rectangle": 3}
LEAK_ROUNDING = {"none": 0, "floor": 1, "ceil": 2}


def triton_usable(x: Tensor) -> bool:
    """True when ``x`` lives where the Triton kernels can run (a CUDA device, or the interpreter on the CPU)."""
    if importlib.util.find_spec("triton") is None:
        return False
    return x.is_cuda or os.environ.get("TRITON_INTERPRET") == "1"


def supports(neuron: LeakyNeuron) -> bool:
    return neuron.detach_reset and neuron.surrogate.registry_name in SURROGATE_IDS


def _kernels():  # imported on first use: Triton is optional and slow to import
    from snnq.neurons import triton_kernels

    return triton_kernels.forward_kernel, triton_kernels.backward_kernel


def _leak_plan(neuron: LeakyNeuron) -> tuple[float, int, float]:
    """(factor, rounding, input offset) so that ``r = round(c + offset + factor * u)`` is the leak plus the input."""
    from snnq.neurons.membrane import FactorLeak, NoLeak, ShiftLeak

    leak = neuron.leak
    if neuron.membrane is None:
        factor = leak.float_factor()
        return float(factor.detach() if isinstance(factor, Tensor) else factor), LEAK_ROUNDING["none"], 0.0
    if isinstance(leak, NoLeak):
        return 1.0, LEAK_ROUNDING["none"], 0.0
    if isinstance(leak, ShiftLeak):
        return 1.0 - 2.0**-leak.shift, LEAK_ROUNDING["ceil"], 0.0
    assert isinstance(leak, FactorLeak)
    return leak.multiplier_value() * 2.0**-leak.frac_bits, LEAK_ROUNDING["floor"], 0.5


class _TritonLeakySequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, u0: Tensor, weight: Tensor | None, neuron: LeakyNeuron) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        import triton

        forward_kernel, _ = _kernels()
        steps = x.shape[0]
        flat = x.contiguous().reshape(steps, -1)
        n = flat.shape[1]
        spikes = torch.empty_like(flat)
        stored = torch.empty(flat.shape, dtype=torch.float32, device=x.device)
        u_last = torch.empty(n, dtype=torch.float32, device=x.device)
        grid_spec = neuron.membrane
        factor, rounding, offset = _leak_plan(neuron)
        quant = grid_spec is not None
        threshold = float(grid_spec.threshold_code) if quant else neuron.threshold
        block = 1024
        forward_kernel[(triton.cdiv(n, block),)](
            flat, u0.contiguous().reshape(-1).float(), spikes, stored, u_last, n, steps,
            factor, threshold, grid_spec.scale if quant else 1.0, offset,
            float(grid_spec.low) if quant else 0.0, float(grid_spec.high) if quant else 0.0,
            float(grid_spec.input_limit) if quant else 0.0,
            QUANT=quant, LEAK_ROUND=rounding, ZERO_RESET=neuron.reset == "zero", BLOCK=block,
        )
        ctx.neuron, ctx.shape, ctx.plan = neuron, x.shape, (factor, threshold)
        ctx.save_for_backward(stored, u0, weight)
        ctx.mark_non_differentiable(u_last)
        return spikes.reshape(x.shape), u_last.reshape(u0.shape).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_spikes: Tensor, grad_last: Tensor | None) -> tuple[Tensor, None, Tensor | None, None]:  # type: ignore[override]
        import triton

        _, backward_kernel = _kernels()
        neuron: LeakyNeuron = ctx.neuron
        stored, u0, weight = ctx.saved_tensors
        steps, n = stored.shape
        grid_spec = neuron.membrane
        quant = grid_spec is not None
        factor, threshold = ctx.plan
        slope = factor if not quant else float(neuron.leak.slope())
        grad_x = torch.empty(stored.shape, dtype=grad_spikes.dtype, device=stored.device)
        grad_factor = torch.empty(n, dtype=torch.float32, device=stored.device) if weight is not None else grad_x
        block = 1024
        # a view where the layout allows: the gradient of `.sum()` is one value expanded (strides 0), read in place
        grad = grad_spikes.reshape(steps, n)
        backward_kernel[(triton.cdiv(n, block),)](
            grad, stored, grad_x, grad_factor, u0.contiguous().reshape(-1).float(),
            n, steps, grad.stride(0), grad.stride(1), slope, threshold, grid_spec.scale if quant else 1.0, neuron.surrogate.alpha,
            float(grid_spec.low) if quant else 0.0, float(grid_spec.high) if quant else 0.0,
            QUANT=quant, ZERO_RESET=neuron.reset == "zero", SURROGATE=SURROGATE_IDS[neuron.surrogate.registry_name],
            WANT_FACTOR=weight is not None, BLOCK=block,
        )
        grad_weight = None
        if weight is not None:
            with torch.enable_grad():
                slope_of_weight = neuron.leak.float_factor() if not quant else neuron.leak.slope()
                (grad_weight,) = torch.autograd.grad(slope_of_weight, weight, grad_factor.sum())
        return grad_x.reshape(ctx.shape), None, grad_weight, None


def triton_leaky_sequence(neuron: LeakyNeuron, x: Tensor, u0: Tensor) -> tuple[Tensor, Tensor]:
    weight = getattr(neuron.leak, "weight", None)
    learnable = weight is not None and weight.requires_grad
    return _TritonLeakySequence.apply(x, u0, weight if learnable else None, neuron)
