"""All time steps of an ``if``/``lif``/``plif`` layer in one autograd node, in PyTorch operations: the reference
of the compiled kernels (`snnq.neurons.fused_lif`) and the path where none can run.

The forward loop writes each step's membrane and spikes straight into preallocated ``[T, ...]`` buffers with
the very operations of `LeakyNeuron.step` (so the spikes are bit for bit those of the step-by-step path); the
backward pass evaluates the surrogate for all steps at once and runs back through time with two or three
element-wise operations per step, instead of autograd's graph of a dozen nodes per step.

Backward recursion (``g`` = gradient, ``sg_t = surrogate'((h_t - theta) s) s`` in membrane units, ``c_t`` =
du_t/dh_t from the reset, ``m_t`` = 1 where the membrane did not saturate, ``lambda`` = the leak's slope)::

    d_t      = (g_spike_t * sg_t + g_u_t * c_t) * m_t        # dL/d(pre-saturation membrane)
    g_x_t    = d_t / scale                                   # through the input rounding (straight-through)
    g_u_t-1  = lambda * d_t
    g_lambda = sum_t d_t * u_t-1                             # PLIF's learned leak
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import Tensor

if TYPE_CHECKING:
    from snnq.neurons.leaky import LeakyNeuron


def leaky_sequence(neuron: LeakyNeuron, x: Tensor, u0: Tensor) -> tuple[Tensor, Tensor]:
    """Spikes ``[T, ...]`` and the final membrane (detached) of ``neuron`` over ``x`` from membrane ``u0``."""
    weight = getattr(neuron.leak, "weight", None)
    learnable = weight is not None and weight.requires_grad
    return _LeakySequence.apply(x, u0, weight if learnable else None, neuron)


class _LeakySequence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, u0: Tensor, weight: Tensor | None, neuron: LeakyNeuron) -> tuple[Tensor, Tensor]:  # type: ignore[override]
        grid = neuron.membrane
        steps = x.shape[0]
        spikes, membrane = torch.empty_like(x), torch.empty_like(x)  # membrane: h_t, after saturation
        previous = torch.empty_like(x) if weight is not None else None
        u = u0
        if grid is None:
            factor = neuron.leak.float_factor()
            factor = factor if isinstance(factor, float) else factor.detach()
            threshold = neuron.threshold
            raw = None
            for t in range(steps):
                if previous is not None:
                    previous[t].copy_(u)
                if isinstance(factor, float):
                    torch.add(x[t], u, alpha=factor, out=membrane[t])
                else:
                    torch.addcmul(x[t], u, factor, out=membrane[t])
                torch.ge(membrane[t], threshold, out=spikes[t])
                u = _reset(neuron.reset, membrane[t], spikes[t], threshold)
        else:
            threshold = float(grid.threshold_code)
            codes = torch.div(x, grid.scale).add_(0.5).floor_().clamp_(-grid.input_limit, grid.input_limit)
            codes = neuron.leak.prepare_codes(codes)
            raw = torch.empty_like(x)
            for t in range(steps):
                if previous is not None:
                    previous[t].copy_(u)
                neuron.leak.charge_forward(u, codes[t], out=raw[t])
                torch.clamp(raw[t], grid.low, grid.high, out=membrane[t])
                torch.ge(membrane[t], threshold, out=spikes[t])
                u = _reset(neuron.reset, membrane[t], spikes[t], threshold)
            # nothing saturated (the usual case): no mask in the backward pass (a data-dependent test that would break
            # a torch.compile graph: there the mask stays)
            if not torch.compiler.is_compiling() and torch.equal(raw, membrane):
                raw = None
        ctx.neuron = neuron
        ctx.save_for_backward(membrane, spikes, raw, previous, weight)
        ctx.mark_non_differentiable(u)
        return spikes, u

    @staticmethod
    def backward(ctx, grad_spikes: Tensor, grad_last: Tensor | None) -> tuple[Tensor | None, None, Tensor | None, None]:  # type: ignore[override]
        neuron: LeakyNeuron = ctx.neuron
        membrane, spikes, raw, previous, weight = ctx.saved_tensors
        grid = neuron.membrane
        scale = 1.0 if grid is None else grid.scale
        threshold = neuron.threshold if grid is None else float(grid.threshold_code)

        # d spike / d membrane code = S g_a(S (h - theta)) = g_{aS}(h - theta): every surrogate has the form a f(a x)
        # with a detached reset the recursion is linear in the surrogate: carried divided by the scale, it yields
        # the input's gradient d / scale directly (an attached reset's carry needs the surrogate itself)
        folded = neuron.detach_reset
        gain = 1.0 / scale if folded else 1.0
        surrogate = neuron.surrogate.rescaled(scale).derivative_(torch.sub(membrane, threshold), gain=gain)
        drive = surrogate * grad_spikes if not neuron.detach_reset else surrogate.mul_(grad_spikes)
        if not neuron.detach_reset:
            carry = 1 - threshold * surrogate if neuron.reset == "subtract" else (1 - spikes) - membrane * surrogate
        elif neuron.reset == "zero":
            carry = 1 - spikes
        else:
            carry = None
        mask = None if raw is None else torch.eq(raw, membrane, out=torch.empty_like(membrane))  # 1 where not saturated
        slope = neuron.leak.float_factor() if grid is None else neuron.leak.slope()
        slope = float(slope) if not isinstance(slope, float) else slope

        if mask is not None and carry is not None:  # d_t = drive_t m_t + g_u (c_t m_t): one multiply-add per step
            drive.mul_(mask)
            carry.mul_(mask)
            mask = None
        grad = torch.empty_like(membrane)
        g_u = grad_last * gain if grad_last is not None else torch.zeros_like(membrane[0])
        for t in range(membrane.shape[0] - 1, -1, -1):
            if carry is not None:
                d = torch.addcmul(drive[t], g_u, carry[t], out=grad[t])
            else:  # reset by subtraction: d_t = (drive_t + g_u) m_t
                d = torch.add(drive[t], g_u, out=grad[t])
                if mask is not None:
                    d.mul_(mask[t])
            g_u = d * slope

        grad_weight = None
        if weight is not None:
            grad_slope = (grad * previous).sum() * (scale if folded else 1.0)
            with torch.enable_grad():
                slope_of_weight = neuron.leak.float_factor() if grid is None else neuron.leak.slope()
                (grad_weight,) = torch.autograd.grad(slope_of_weight, weight, grad_slope)
        grad_x = grad if folded or scale == 1.0 else grad.div_(scale)
        return grad_x, None, grad_weight, None


def _reset(mode: str, h: Tensor, spike: Tensor, threshold: float) -> Tensor:
    if mode == "subtract":
        return torch.sub(h, spike, alpha=threshold)
    return h * (1 - spike)
