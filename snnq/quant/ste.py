"""Rounding modes and straight-through estimators.

Hardware rounds in a stated way, so every quantizer takes a ``rounding`` option from `ROUNDING`:

- ``half_up``: ``floor(x + 0.5)`` (add half an LSB, then truncate: what an adder followed by a shift does).
- ``half_even``: round half to even (IEEE default, ``torch.round``).
- ``floor``: ``floor(x)`` (plain truncation of two's-complement bits).

The straight-through estimators return the rounded value in the forward pass and pass the gradient through
unchanged in the backward pass (Bengio et al., 2013).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import torch
from torch import Tensor

from snnq.errors import UnknownNameError
from snnq.quant import fused_fake_quant


def _round_half_up(x: Tensor) -> Tensor:
    return torch.floor(x + 0.5)


ROUNDING: Mapping[str, Callable[[Tensor], Tensor]] = MappingProxyType(
    {"half_up": _round_half_up, "half_even": torch.round, "floor": torch.floor}
)


ROUND_IN_PLACE: Mapping[str, Callable[[Tensor], Tensor]] = MappingProxyType(
    {"half_up": lambda t: t.add_(0.5).floor_(), "half_even": torch.Tensor.round_, "floor": torch.Tensor.floor_}
)
"""The functions of `ROUNDING`, rounding a tensor in place (the same float operations; for inference paths that
avoid allocating a buffer per operation)."""


def rounding_function(name: str) -> Callable[[Tensor], Tensor]:
    """The rounding function called ``name``; unknown names raise with the valid ones listed."""
    if name not in ROUNDING:
        raise UnknownNameError("rounding mode", name, ROUNDING)
    return ROUNDING[name]


class _RoundSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, mode: str) -> Tensor:  # type: ignore[override]
        return ROUNDING[mode](x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad, None


def round_ste(x: Tensor, mode: str = "half_up") -> Tensor:
    """Rounds ``x`` with ``mode`` in the forward pass; identity gradient in the backward pass."""
    return _RoundSTE.apply(x, mode)


_ROUNDED_COPY: dict[str, Callable[[Tensor], Tensor]] = {
    "half_up": lambda t: torch.add(t, 0.5).floor_(), "half_even": torch.round, "floor": torch.floor
}
"""Each rounding mode as a function returning a new tensor in as few passes as possible (for fused kernels). A
plain dict, private: ``torch.compile`` breaks its graph on a mapping proxy read inside an autograd function."""


def _inside(x: Tensor, low: float, high: float) -> Tensor:
    """1.0 where ``low <= x <= high`` else 0.0 (float compares: faster than boolean tensors on the CPU)."""
    return torch.eq(x.clamp(low, high), x, out=torch.empty_like(x))


class _RoundClampSTE(torch.autograd.Function):
    # Written for speed on CPU: in-place float ops on one fresh buffer, and a float 0/1 mask built in the
    # backward pass (boolean comparisons are several times slower than float arithmetic there).
    @staticmethod
    def forward(ctx, x: Tensor, low: float, high: float, mode: str) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bounds = (low, high)
        return _ROUNDED_COPY[mode](x).clamp_(low, high)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return _inside(x, *ctx.bounds).mul_(grad), None, None, None


def round_clamp_ste(x: Tensor, low: float, high: float, mode: str = "half_up") -> Tensor:
    """``clamp(round(x), low, high)``; the gradient passes unchanged where ``low <= x <= high`` (bounds included,
    unlike ``torch.clamp``'s) and is zero outside."""
    return _RoundClampSTE.apply(x, low, high, mode)


def _fused_forward(ctx, x: Tensor, step: Tensor, low: float, high: float, mode: str, *, learned: bool) -> Tensor | None:
    """The fake-quantized ``x`` from one-pass kernels (`snnq.quant.fused_fake_quant`), or None where none applies;
    records on ``ctx`` what `_fused_backward` needs."""
    ctx.bounds, ctx.mode = (low, high), fused_fake_quant.MODES[mode]
    ctx.fused = fused_fake_quant.kernels_for(x, step, learned=learned)
    if ctx.fused is None:
        return None
    kernels, layout = ctx.fused
    ctx.save_for_backward(x, step)
    return kernels.forward(x, step, low, high, ctx.mode, layout)


def _fused_backward(ctx, grad: Tensor, *, learned: bool) -> tuple[Tensor, Tensor | None]:
    (kernels, layout), (x, step) = ctx.fused, ctx.saved_tensors
    return kernels.backward(x, grad, step, *ctx.bounds, ctx.mode, layout, learned=learned)


class _FixedStepFakeQuant(torch.autograd.Function):
    # one-pass kernels where they apply (snnq.quant.fused_fake_quant), else PyTorch operations
    @staticmethod
    def forward(ctx, x: Tensor, step: Tensor, low: float, high: float, mode: str) -> Tensor:  # type: ignore[override]
        fused = _fused_forward(ctx, x, step, low, high, mode, learned=False)
        if fused is not None:
            return fused
        scaled = torch.div(x, step)
        ctx.save_for_backward(scaled)
        return _ROUNDED_COPY[mode](scaled).clamp_(low, high).mul_(step)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None, None, None]:  # type: ignore[override]
        if ctx.fused is not None:
            return _fused_backward(ctx, grad, learned=False)[0], None, None, None, None
        (scaled,) = ctx.saved_tensors
        return _inside(scaled, *ctx.bounds).mul_(grad), None, None, None, None


def fixed_step_fake_quant(x: Tensor, step: Tensor, low: float, high: float, mode: str = "half_up") -> Tensor:
    """``clamp(round(x / step), low, high) * step`` for a step that is not trained, in one autograd node.

    The same arithmetic, in the same order, as decoding `round_clamp_ste(x / step, ...)` codes, so the result is
    bit for bit the one the integer form rebuilds; the gradient to ``x`` is 1 inside the range and 0 outside.
    """
    return _FixedStepFakeQuant.apply(x, step, low, high, mode)


class _LearnedStepFakeQuant(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, step: Tensor, low: float, high: float, mode: str) -> Tensor:  # type: ignore[override]
        ctx.step_shape = step.shape
        fused = _fused_forward(ctx, x, step, low, high, mode, learned=True)
        if fused is not None:
            return fused
        scaled = torch.div(x, step)
        codes = _ROUNDED_COPY[mode](scaled).clamp_(low, high)
        ctx.save_for_backward(scaled, codes)
        return codes * step

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, Tensor, None, None, None]:  # type: ignore[override]
        if ctx.fused is not None:
            return *_fused_backward(ctx, grad, learned=True), None, None, None
        scaled, codes = ctx.saved_tensors
        inside = _inside(scaled, *ctx.bounds)
        grad_x = inside * grad
        # d(codes s)/ds = codes - x/s inside the range (round(x/s) - x/s), the clipped code outside it
        grad_step = inside.mul_(scaled).neg_().add_(codes).mul_(grad).sum_to_size(ctx.step_shape)
        return grad_x, grad_step, None, None, None


def learned_step_fake_quant(x: Tensor, step: Tensor, low: float, high: float, mode: str = "half_up") -> Tensor:
    r"""``clamp(round(x / s), low, high) * s`` with a trained step ``s`` (LSQ, QCFS), in one autograd node.

    The values are bit for bit those of decoding `round_clamp_ste(x / s, ...)` codes; the gradients are the
    straight-through ones of that graph, :math:`\partial y / \partial x = [low \le x/s \le high]` and
    :math:`\partial y / \partial s = q - x/s` inside the range, :math:`q` (the clipped code) outside it, summed
    over the elements that share ``s``. Where `snnq.quant.fused_fake_quant` has kernels for ``x`` (CUDA, float32 on
    the CPU) a call is one kernel forward and one backward (plus a sum); elsewhere 14 PyTorch kernels, where the
    unfused graph launches 19.
    """
    return _LearnedStepFakeQuant.apply(x, step, low, high, mode)


def straight_through(x: Tensor, value: Tensor, mask: Tensor | None = None) -> Tensor:
    """Returns ``value`` exactly, with the gradient of ``value`` plus an identity gradient to ``x``.

    ``mask`` (0/1, broadcastable) zeroes the identity gradient where the quantizer clips. The forward result is
    ``value + 0`` computed as ``value + (x - x)``, which is exactly ``value`` for finite ``x``.
    """
    passthrough = x - x.detach()
    if mask is not None:
        passthrough = passthrough * mask
    return value + passthrough


class _ScaleGrad(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, factor: float) -> Tensor:  # type: ignore[override]
        ctx.factor = factor
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad * ctx.factor, None


def scale_grad(x: Tensor, factor: float) -> Tensor:
    """Identity in the forward pass (bit for bit); multiplies the gradient by ``factor`` (LSQ's step-size scale)."""
    return _ScaleGrad.apply(x, factor)
