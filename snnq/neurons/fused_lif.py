"""The fused multi-step ``if``/``lif``/``plif`` kernels: one autograd node for all ``T`` steps, two kernels.

One kernel program handles a block of neurons for all ``T`` steps, keeping the membrane in registers (GPU) or
in a small local array (CPU): the forward pass reads the input once and writes the spikes and the pre-reset
membrane ("raw" sum, before saturation) once per step (in quantized mode an integer, stored as int16 by the
Triton kernels where it fits: `LeakyPlan.compact_dtype`); the backward pass runs back through time reading the
stored membrane. Where the kernels recompute (Triton, float membranes, up to 16 steps) the forward pass stores
no membrane and the backward one first runs the forward recursion again from the saved input. Both the float
and the quantized (integer-code) arithmetic of `snnq.neurons.leaky` are implemented; the integer arithmetic is
exact, so the spikes and the quantized membranes equal the eager path's bit for bit (tested with ``torch.equal``).
The float arithmetic uses the fused multiply-add that ``torch.add(alpha=)`` uses: the C kernels' float membranes
are the eager path's bit for bit too (tested); the Triton kernels' agree to float rounding (tested: 1e-6), as
Triton's compiler decides which products it contracts. The gradients agree to float rounding,
not bit for bit (tested: relative 1e-4): the backward kernels evaluate the recursion below with the surrogate's
derivative in one expression where autograd chains separate operations, and PLIF's leak gradient is a sum over
neurons and steps taken in another order.

Two implementations of the same two kernels (`snnq.neurons.leaky.FUSED_KERNELS`, the first usable one runs):

- ``triton`` (`snnq.neurons.triton_lif`): CUDA devices (and Triton's interpreter on the CPU, for tests);
- ``cpu`` (`snnq.neurons.cpu_lif`): float32 CPU tensors, C compiled on first use (`snnq.native`).

`snnq.neurons.leaky_sequence` is the eager reference and the fallback (no kernel, ``detach_reset=False``,
other dtypes on the CPU).

Backward recursion (``g`` = gradient, ``sg_t`` = the surrogate's derivative in membrane units, ``c_t`` = 0 where a
reset to zero fired else 1, ``m_t`` = 1 where the membrane did not saturate, ``lambda`` = the leak's slope)::

    d_t      = (g_spike_t * sg_t + g_u_t * c_t) * m_t        # dL/d(pre-saturation membrane)
    g_x_t    = d_t / scale                                   # through the input rounding (straight-through)
    g_u_t-1  = lambda * d_t
    g_lambda = sum_t d_t * u_t-1                             # PLIF's learned leak
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import torch
from torch import Tensor

if TYPE_CHECKING:
    from snnq.neurons.leaky import LeakyNeuron

SURROGATE_IDS = {"atan": 0, "sigmoid": 1, "triangle": 2, "rectangle": 3}
LEAK_ROUNDING = {"none": 0, "floor": 1, "ceil": 2}


@dataclass(frozen=True)
class LeakyPlan:
    """Every number the two kernels need: the step is ``r = round(c + offset + factor * u)``, then saturation to
    ``[low, high]`` (quantized) and the threshold; ``c`` is the input (float) or its code ``floor(x / scale + 1/2)``
    clipped to ``+-limit`` (quantized)."""

    quant: bool
    factor: float
    leak_rounding: int
    offset: float
    threshold: float
    scale: float
    low: float
    high: float
    limit: float
    zero_reset: bool
    slope: float
    surrogate: int
    alpha: float

    @property
    def compact_dtype(self) -> torch.dtype:
        """The narrowest exact type of the stored raw membrane: in quantized mode it is an integer of magnitude at
        most ``limit + max(-low, high) + 1`` (int16 for membranes of up to 13 bits), else float32."""
        if self.quant and self.limit + max(-self.low, self.high) + 1 <= torch.iinfo(torch.int16).max:
            return torch.int16
        return torch.float32

    @classmethod
    def of(cls, neuron: LeakyNeuron) -> LeakyPlan:
        from snnq.neurons.membrane import FactorLeak, NoLeak, ShiftLeak

        leak, grid = neuron.leak, neuron.membrane
        surrogate = (SURROGATE_IDS[neuron.surrogate.registry_name], neuron.surrogate.alpha)
        zero_reset = neuron.reset == "zero"
        if grid is None:
            factor = leak.float_factor()
            factor = float(factor.detach() if isinstance(factor, Tensor) else factor)
            return cls(False, factor, LEAK_ROUNDING["none"], 0.0, neuron.threshold, 1.0, 0.0, 0.0, 0.0, zero_reset, factor, *surrogate)
        if isinstance(leak, NoLeak):
            factor, rounding, offset = 1.0, LEAK_ROUNDING["none"], 0.0
        elif isinstance(leak, ShiftLeak):
            factor, rounding, offset = 1.0 - 2.0**-leak.shift, LEAK_ROUNDING["ceil"], 0.0
        else:
            assert isinstance(leak, FactorLeak)
            factor, rounding, offset = leak.multiplier_value() * 2.0**-leak.frac_bits, LEAK_ROUNDING["floor"], 0.5
        slope = leak.slope()
        slope = float(slope.detach() if isinstance(slope, Tensor) else slope)
        return cls(
            True, factor, rounding, offset, float(grid.threshold_code), grid.scale, float(grid.low), float(grid.high),
            float(grid.input_limit), zero_reset, slope, *surrogate,
        )


class LeakyKernels(Protocol):
    """The two kernels over ``[T, N]`` buffers (N neurons flattened; ``x``, spikes and ``stored`` contiguous)."""

    def recomputes(self, plan: LeakyPlan, steps: int) -> bool:
        """True when the backward kernel recomputes the membrane from the input: the forward kernel then stores
        nothing (``stored`` is None) and the backward one gets the input as ``saved``."""

    def stored_dtype(self, plan: LeakyPlan) -> torch.dtype:
        """The type of the raw membrane the forward kernel stores for the backward one."""

    def forward(self, plan: LeakyPlan, x: Tensor, u0: Tensor, spikes: Tensor, stored: Tensor | None, u_last: Tensor) -> None:
        """Writes the spikes, the raw membrane of every step (unless ``stored`` is None) and the final membrane
        (after the reset)."""

    def backward(self, plan: LeakyPlan, grad_spikes: Tensor, saved: Tensor, u0: Tensor, grad_x: Tensor, grad_factor: Tensor | None) -> None:
        """Writes the input's gradient and, when ``grad_factor`` is given, each neuron's ``sum_t d_t u_t-1``, from
        ``saved``: the stored raw membrane, or the input where the kernels recompute. ``grad_spikes`` may have any
        strides (the gradient of ``.sum()`` is one value expanded)."""


def supports(neuron: LeakyNeuron) -> bool:
    return neuron.detach_reset and neuron.surrogate.registry_name in SURROGATE_IDS


def fused_leaky_sequence(kernels: LeakyKernels, neuron: LeakyNeuron, x: Tensor, u0: Tensor) -> tuple[Tensor, Tensor]:
    """Spikes ``[T, ...]`` and the final membrane (detached) of ``neuron`` over ``x`` from membrane ``u0``."""
    weight = getattr(neuron.leak, "weight", None)
    learnable = weight is not None and weight.requires_grad
    return _FusedLeakySequence.apply(x, u0, weight if learnable else None, neuron, kernels)


class _FusedLeakySequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, u0: Tensor, weight: Tensor | None, neuron: LeakyNeuron, kernels: LeakyKernels) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        plan = LeakyPlan.of(neuron)
        steps = x.shape[0]
        flat = x.contiguous().reshape(steps, -1)
        spikes = torch.empty_like(flat)
        recompute = kernels.recomputes(plan, steps)
        keep = any(ctx.needs_input_grad) and not recompute  # inference (no gradient wanted) stores nothing
        stored = torch.empty(flat.shape, dtype=kernels.stored_dtype(plan), device=x.device) if keep else None
        u_last = torch.empty(flat.shape[1], dtype=torch.float32, device=x.device)
        u0_flat = u0.contiguous().reshape(-1).float()
        kernels.forward(plan, flat, u0_flat, spikes, stored, u_last)
        ctx.neuron, ctx.kernels, ctx.plan, ctx.shape = neuron, kernels, plan, x.shape
        ctx.save_for_backward(flat if recompute else stored, u0_flat, weight)
        ctx.mark_non_differentiable(u_last)
        return spikes.reshape(x.shape), u_last.reshape(u0.shape).to(x.dtype)

    @staticmethod
    def backward(ctx, grad_spikes: Tensor, grad_last: Tensor | None) -> tuple[Tensor, None, Tensor | None, None, None]:  # type: ignore[override]
        saved, u0, weight = ctx.saved_tensors
        steps, n = saved.shape
        grad_x = torch.empty(saved.shape, dtype=grad_spikes.dtype, device=saved.device)
        grad_factor = torch.empty(n, dtype=torch.float32, device=saved.device) if weight is not None else None
        # a view where the layout allows: the gradient of `.sum()` is one value expanded (strides 0), read in place
        ctx.kernels.backward(ctx.plan, grad_spikes.reshape(steps, n), saved, u0, grad_x, grad_factor)
        grad_weight = None
        if weight is not None:
            neuron: LeakyNeuron = ctx.neuron
            with torch.enable_grad():
                slope_of_weight = neuron.leak.float_factor() if neuron.membrane is None else neuron.leak.slope()
                (grad_weight,) = torch.autograd.grad(slope_of_weight, weight, grad_factor.sum())
        return grad_x.reshape(ctx.shape), None, grad_weight, None, None
