r"""Surrogate gradients: a Heaviside step forward, a smooth derivative backward.

Each surrogate is registered by name and takes a sharpness ``alpha``; ``x`` is the distance to threshold in
the membrane's value units (``u - theta``). A spike is emitted at ``x >= 0``. Every derivative has the form
``g_alpha(x) = alpha f(alpha x)`` (so a change of units is a change of ``alpha``: `Surrogate.rescaled`); a
registered plug-in surrogate must keep that form.

============  ============================================================  =============
name          derivative :math:`g'(x)`                                      default alpha
============  ============================================================  =============
atan          :math:`\frac{\alpha}{2} / (1 + (\frac{\pi}{2}\alpha x)^2)`    2
sigmoid       :math:`\alpha\,\sigma(\alpha x)(1 - \sigma(\alpha x))`        4
triangle      :math:`\alpha \max(0, 1 - \alpha|x|)`                         1
rectangle     :math:`\alpha\,[|x| < \frac{1}{2\alpha}]`                     1
============  ============================================================  =============

(atan and sigmoid are snnTorch's and SpikingJelly's defaults with the same parameterisation.)
"""

from __future__ import annotations

import math
from typing import ClassVar

import torch
from torch import Tensor

from snnq.errors import ConfigError
from snnq.registry import Registry

SURROGATES: Registry[type[Surrogate]] = Registry("surrogate", group="snnq.surrogates", builtins="snnq.neurons.surrogate")


class Surrogate:
    """A surrogate gradient: `derivative` is applied in the backward pass of `spike`."""

    registry_name: ClassVar[str] = "surrogate"
    default_alpha: ClassVar[float] = 1.0

    def __init__(self, alpha: float | None = None):
        alpha = self.default_alpha if alpha is None else alpha
        if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < float("inf"):
            raise ConfigError(f"surrogate {self.registry_name!r}: alpha={alpha!r} is invalid; expected a number > 0")
        self.alpha = float(alpha)

    def derivative(self, x: Tensor) -> Tensor:
        """The surrogate's derivative at ``x`` (a new tensor)."""
        return self.derivative_(x.clone())

    def derivative_(self, x: Tensor, gain: float = 1.0) -> Tensor:
        """``gain`` times the derivative, computed in place in ``x`` (for fused kernels that own ``x``; the gain
        folds a constant factor of the backward pass into the last multiplication)."""
        raise NotImplementedError

    def rescaled(self, factor: float) -> Surrogate:
        """The surrogate for an argument measured in units ``factor`` times smaller: every registered surrogate has
        the form ``g_a(x) = a f(a x)``, so ``factor * g_a(factor * x) = g_{a factor}(x)``."""
        return self if factor == 1.0 else type(self)(self.alpha * factor)

    def spike(self, x: Tensor) -> Tensor:
        """``1.0`` where ``x >= 0`` else ``0.0``, differentiable through `derivative`."""
        return _Spike.apply(x, self)

    def __repr__(self) -> str:
        return f"{self.registry_name}(alpha={self.alpha:g})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and other.alpha == self.alpha  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((type(self), self.alpha))


def heaviside(x: Tensor) -> Tensor:
    """``x >= 0`` as floats of ``x``'s dtype (a float compare into a float buffer: faster than a bool tensor)."""
    return torch.ge(x, 0, out=torch.empty_like(x))


class _Spike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, surrogate: Surrogate) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.surrogate = surrogate
        return heaviside(x)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * ctx.surrogate.derivative(x), None


@SURROGATES.register("atan")
class ATan(Surrogate):
    default_alpha = 2.0

    def derivative_(self, x: Tensor, gain: float = 1.0) -> Tensor:
        # (a/2) / (1 + (pi a x / 2)^2) in two passes: 1 + c x x, then a scalar divided by it
        one = torch.ones((), dtype=x.dtype, device=x.device)
        torch.addcmul(one, x, x, value=(math.pi / 2 * self.alpha) ** 2, out=x)
        return torch.div(one * (gain * self.alpha / 2), x, out=x)


@SURROGATES.register("sigmoid")
class Sigmoid(Surrogate):
    default_alpha = 4.0

    def derivative_(self, x: Tensor, gain: float = 1.0) -> Tensor:
        s = x.mul_(self.alpha).sigmoid_()
        return s.mul_(1 - s).mul_(gain * self.alpha)


@SURROGATES.register("triangle")
class Triangle(Surrogate):
    default_alpha = 1.0

    def derivative_(self, x: Tensor, gain: float = 1.0) -> Tensor:
        return x.abs_().mul_(-self.alpha).add_(1).clamp_(min=0).mul_(gain * self.alpha)


@SURROGATES.register("rectangle")
class Rectangle(Surrogate):
    default_alpha = 1.0

    def derivative_(self, x: Tensor, gain: float = 1.0) -> Tensor:
        return x.abs_().lt_(0.5 / self.alpha).mul_(gain * self.alpha)


def surrogate(spec: str | Surrogate, /, **options: float) -> Surrogate:
    """A surrogate from a registered name (with options such as ``alpha``) or an instance, returned as is."""
    if isinstance(spec, Surrogate):
        return spec
    return SURROGATES.build(spec, **options)
