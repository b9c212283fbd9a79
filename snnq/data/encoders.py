"""Encoders that turn a batch of static images into a time-first input ``[T, B, ...]`` for a spiking network.

Registered by name in `ENCODERS` (entry-point group ``snnq.encoders`` for plug-ins)::

    >>> import torch
    >>> from snnq.data.encoders import ENCODERS
    >>> ENCODERS.names()
    ['direct', 'rate']
    >>> ENCODERS.build("direct", num_steps=4)(torch.rand(2, 1, 28, 28)).shape
    torch.Size([4, 2, 1, 28, 28])
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from snnq.errors import ConfigError, NonFiniteError, TensorTypeError, UnknownNameError
from snnq.registry import ENCODERS


DISTRIBUTIONS = ("bernoulli", "poisson")


class Encoder(nn.Module):
    """Base of the encoders: ``forward(x [B, ...]) -> [num_steps, B, ...]``.

    Args:
        num_steps: number of time steps ``T``.
    """

    registry_name = "encoder"

    def __init__(self, *, num_steps: int):
        super().__init__()
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise ConfigError(f"{self.registry_name}: num_steps={num_steps!r} is invalid; expected an integer >= 1")
        self.num_steps = num_steps

    def check_input(self, x: Tensor) -> Tensor:
        """``x`` when it is a finite floating-point batch ``[B, ...]``; a typed error naming the encoder otherwise."""
        if not isinstance(x, Tensor) or not x.is_floating_point():
            got = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TensorTypeError(f"{self.registry_name}: expected a floating-point tensor, got {got}")
        if x.dim() < 1:
            raise TensorTypeError(f"{self.registry_name}: expected a batch [B, ...], got a scalar")
        if not torch.isfinite(x).all():
            raise NonFiniteError(f"{self.registry_name}: the input holds NaN or infinity")
        return x

    def extra_repr(self) -> str:
        return f"num_steps={self.num_steps}"


@ENCODERS.register("direct")
class DirectEncoder(Encoder):
    """The analog image at every step: ``out[t] = x`` for ``t < T`` (direct or "real-valued" input coding).

    The result is a broadcast view of ``x`` (no copy); clone it before writing into it.
    """

    def forward(self, x: Tensor) -> Tensor:
        x = self.check_input(x)
        return x.unsqueeze(0).expand(self.num_steps, *x.shape)


@ENCODERS.register("rate")
class RateEncoder(Encoder):
    r"""Stochastic rate coding of intensities ``x`` in [0, 1].

    ``bernoulli``: ``out[t] ~ Bernoulli(clamp(gain * x, 0, 1))``, binary spikes whose mean over time
    approaches ``gain * x``. ``poisson``: ``out[t] ~ Poisson(gain * x)``, spike counts per step with that mean.
    Draws come from a generator seeded with ``seed`` (per device), so an encoder built with the same seed
    produces the same spikes for the same inputs; each call continues the stream.

    Args:
        num_steps: number of time steps ``T``.
        gain: rate per unit intensity.
        distribution: ``bernoulli`` or ``poisson``.
        seed: seed of the random stream; None draws from PyTorch's global generator.
    """

    def __init__(self, *, num_steps: int, gain: float = 1.0, distribution: str = "bernoulli", seed: int | None = 0):
        super().__init__(num_steps=num_steps)
        if distribution not in DISTRIBUTIONS:
            raise UnknownNameError("rate distribution", distribution, DISTRIBUTIONS)
        if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not gain > 0:
            raise ConfigError(f"rate: gain={gain!r} is invalid; expected a number > 0")
        self.gain = float(gain)
        self.distribution = distribution
        self.seed = seed
        self._generators: dict[str, torch.Generator] = {}

    def forward(self, x: Tensor) -> Tensor:
        x = self.check_input(x)
        low, high = x.min().item(), x.max().item()
        if low < 0 or high > 1:
            raise ConfigError(
                f"rate: intensities must lie in [0, 1], got values in [{low:g}, {high:g}] "
                "(turn off normalisation, e.g. normalize=False on the data module)"
            )
        rate = (self.gain * x).unsqueeze(0).expand(self.num_steps, *x.shape)
        generator = self._generator(x.device)
        if self.distribution == "poisson":
            return torch.poisson(rate.contiguous(), generator=generator)
        draws = torch.rand(rate.shape, generator=generator, device=x.device, dtype=x.dtype)
        return (draws < rate.clamp(max=1)).to(x.dtype)

    def _generator(self, device: torch.device) -> torch.Generator | None:
        if self.seed is None:
            return None
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed)
        return self._generators[key]

    def extra_repr(self) -> str:
        return f"num_steps={self.num_steps}, gain={self.gain}, distribution={self.distribution!r}, seed={self.seed}"


def encode(name: str, x: Tensor, /, **options: Any) -> Tensor:
    """Builds the encoder registered as ``name`` with ``options`` and applies it to ``x``."""
    return ENCODERS.build(name, **options)(x)
