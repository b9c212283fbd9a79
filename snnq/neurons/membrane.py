"""Integer membranes and leaks: the arithmetic that quantized neurons share with integer hardware."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from snnq.errors import ConfigError
from snnq.quant.ste import round_ste


@dataclass(frozen=True)
class IntegerMembrane:
    r"""A ``bits``-bit two's-complement saturating membrane on which the threshold is the integer ``threshold_code``.

    One code is worth ``scale = threshold / threshold_code`` in value units; the membrane holds codes in
    ``[-2^{b-1}, 2^{b-1} - 1]``. Input currents become codes by ``c = floor(x / scale + 1/2)`` (round half up),
    clipped to ``+-2^{b+1}`` first (a larger input saturates the membrane anyway; the clip keeps every
    intermediate value exact in float32).
    """

    bits: int
    threshold_code: int
    scale: float

    @classmethod
    def build(cls, owner: str, bits: int, threshold: float, threshold_code: int | None) -> IntegerMembrane:
        if isinstance(bits, bool) or not isinstance(bits, int) or not 2 <= bits <= 16:
            raise ConfigError(f"{owner}: bits={bits!r} is invalid; expected an integer in [2, 16] (membrane width)")
        code = 2 ** (bits - 2) if threshold_code is None else threshold_code
        if isinstance(code, bool) or not isinstance(code, int) or code < 1:
            raise ConfigError(f"{owner}: threshold_code={threshold_code!r} is invalid; expected an integer >= 1")
        if code > 2 ** (bits - 1) - 1:
            raise ConfigError(
                f"{owner}: bits={bits} is too small to hold the threshold: a {bits}-bit membrane holds codes up to "
                f"{2 ** (bits - 1) - 1}, the threshold code is {code}; use more bits or a smaller threshold_code"
            )
        return cls(bits, code, threshold / code)

    @property
    def low(self) -> int:
        return -(2 ** (self.bits - 1))

    @property
    def high(self) -> int:
        return 2 ** (self.bits - 1) - 1

    @property
    def input_limit(self) -> int:
        return 2 ** (self.bits + 1)

    def codes_of(self, x: Tensor) -> Tensor:
        """Input codes on the training path (integer-valued floats, straight-through gradient ``1 / scale``)."""
        return round_ste(x / self.scale).clamp(-self.input_limit, self.input_limit)

    def integer_codes_of(self, x: Tensor) -> Tensor:
        """The same codes as int64 for the integer path (computed by the same float operations)."""
        with torch.no_grad():
            return torch.floor(x / self.scale + 0.5).clamp(-self.input_limit, self.input_limit).to(torch.int64)


class Leak(nn.Module):
    """How the membrane decays between steps, in the three arithmetics a neuron needs.

    ``float_factor``: the multiplier of the float (unquantized) neuron; ``codes``: the decay of a membrane held in
    integer codes on the training path (straight-through rounding); ``integer``: the same on int64 tensors;
    ``slope``: the derivative used by the fused backward pass.
    """

    def float_factor(self) -> float | Tensor:
        raise NotImplementedError

    def codes(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def integer(self, u: Tensor) -> Tensor:
        raise NotImplementedError

    def slope(self) -> float | Tensor:
        raise NotImplementedError

    def prepare_codes(self, codes: Tensor) -> Tensor:
        """Input codes as `charge_forward` wants them (modified in place); see there."""
        return codes

    def charge_forward(self, u: Tensor, prepared: Tensor, out: Tensor) -> Tensor:
        """``codes(u) + c`` into ``out`` without autograd, for fused forward loops: the same integers as the
        training path (every intermediate value is an integer or dyadic rational that float32 holds exactly)."""
        return torch.add(self.codes(u), prepared, out=out)


class NoLeak(Leak):
    """Integrate-and-fire: the membrane keeps its value."""

    def float_factor(self) -> float:
        return 1.0

    def codes(self, u: Tensor) -> Tensor:
        return u

    def charge_forward(self, u: Tensor, prepared: Tensor, out: Tensor) -> Tensor:
        return torch.add(u, prepared, out=out)

    def integer(self, u: Tensor) -> Tensor:
        return u

    def slope(self) -> float:
        return 1.0


class ShiftLeak(Leak):
    r"""Hardware leak by an arithmetic shift: :math:`u \leftarrow u - (u \gg k)`, i.e. ``beta = 1 - 2^-k``.

    ``u >> k`` is ``floor(u / 2^k)``, so a negative membrane decays towards zero as well.
    """

    def __init__(self, shift: int):
        super().__init__()
        self.shift = shift

    def float_factor(self) -> float:
        return 1.0 - 2.0**-self.shift

    def codes(self, u: Tensor) -> Tensor:
        return u - round_ste(u * 2.0**-self.shift, "floor")

    def charge_forward(self, u: Tensor, prepared: Tensor, out: Tensor) -> Tensor:
        # u - floor(u 2^-k) + c = ceil(u (1 - 2^-k) + c) for integers u, c: one multiply-add and one rounding
        return torch.add(prepared, u, alpha=1.0 - 2.0**-self.shift, out=out).ceil_()

    def integer(self, u: Tensor) -> Tensor:
        return u - (u >> self.shift)

    def slope(self) -> float:
        return self.float_factor()


class FactorLeak(Leak):
    r"""A fixed-point leak factor ``m / 2^F`` with ``m = round(beta 2^F)``, rounded half up:
    :math:`u \leftarrow (m u + 2^{F-1}) \gg F`.

    With ``learnable=True`` (PLIF) ``beta = sigmoid(w)`` is trained; ``m`` follows it by a straight-through round.
    """

    def __init__(self, beta: float, frac_bits: int, *, learnable: bool = False):
        super().__init__()
        self.frac_bits = frac_bits
        self.learnable = learnable
        if learnable:
            self.weight = nn.Parameter(torch.tensor(math.log(beta / (1 - beta))))  # sigmoid(w) = beta
        else:
            self.register_buffer("weight", torch.tensor(float(beta)))
        self._remember_fixed_beta()

    def _remember_fixed_beta(self) -> None:
        # host copies of a fixed leak: reading the buffer on a GPU every step would synchronise the device
        if not self.learnable:
            self._fixed_beta = float(self.weight)
            self._fixed_multiplier = float(round_ste(torch.tensor(self._fixed_beta) * 2.0**self.frac_bits))

    def _load_from_state_dict(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        super()._load_from_state_dict(*args, **kwargs)
        self._remember_fixed_beta()

    def beta(self) -> Tensor:
        return torch.sigmoid(self.weight) if self.learnable else self.weight

    def float_factor(self) -> float | Tensor:
        return self.beta() if self.learnable else self._fixed_beta

    def multiplier(self) -> Tensor:
        """``m = round(beta 2^F)`` (straight-through when learned)."""
        return round_ste(self.beta() * 2.0**self.frac_bits)

    def multiplier_value(self) -> float:
        """``m`` as a number (a device synchronisation only when it is learned)."""
        return float(self.multiplier().detach()) if self.learnable else self._fixed_multiplier

    def codes(self, u: Tensor) -> Tensor:
        half = 2.0 ** (self.frac_bits - 1)
        return round_ste((self.multiplier() * u + half) * 2.0**-self.frac_bits, "floor")

    def prepare_codes(self, codes: Tensor) -> Tensor:
        return codes.add_(0.5)  # the rounding half of (m u + 2^(F-1)) >> F, moved onto the integer input

    def charge_forward(self, u: Tensor, prepared: Tensor, out: Tensor) -> Tensor:
        # floor((m u + 2^(F-1)) 2^-F) + c = floor(u (m 2^-F) + (c + 1/2)): exact, m u has at most 23 bits
        factor = self.multiplier_value() * 2.0**-self.frac_bits
        return torch.add(prepared, u, alpha=factor, out=out).floor_()

    def integer(self, u: Tensor) -> Tensor:
        m = int(self.multiplier_value())
        return (m * u + 2 ** (self.frac_bits - 1)) >> self.frac_bits

    def slope(self) -> float | Tensor:
        if not self.learnable:
            return self._fixed_multiplier * 2.0**-self.frac_bits
        return self.multiplier() * 2.0**-self.frac_bits
