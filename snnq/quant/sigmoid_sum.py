"""The differentiable sigmoid-sum quantizer of Quantization Networks (Yang et al., 2019), used by S4."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from snnq.errors import ConfigError
from snnq.quant.base import Encoding, Quantizer
from snnq.quant.integer import CodeSet
from snnq.registry import QUANTIZERS

ARGUMENT_CLAMP = 10.0  # the reference code clamps each sigmoid's argument to +-10


@QUANTIZERS.register("sigmoid_sum")
class SigmoidSumQuantizer(Quantizer):
    r"""A linear combination of sigmoids that becomes a step function onto integer target levels.

    Training (soft) form, with target levels ``v_0 < ... < v_n``, gaps ``s_i = v_i - v_{i-1}`` and biases
    ``b_i = (v_{i-1} + v_i) / 2`` (the midpoints):

    .. math:: \hat w = \alpha \left(v_0 + \sum_{i=1}^{n} s_i\,\sigma(\mathrm{clip}(T(\beta w - b_i), -10, 10))\right)

    (for symmetric levels ``v_0 = -\sum s_i / 2``, the offset ``o`` of the paper). In eval mode each sigmoid is a
    step, ``[\beta w \ge b_i]``, so ``q(w) = \alpha v_j``: integer code ``v_j``, scale ``alpha``.

    ``alpha`` and ``beta`` are learned, initialised on the first tensor as ``beta = 1.25 max|v| / max|w|`` and
    ``alpha = 1 / beta``. The temperature follows ``T = min((epoch + 1) T_0, T_max)``: call `set_epoch` at the
    start of each epoch (the Lightning modules of snnq do). Binary weights are ``bits=1`` (levels ``{-1, 1}``);
    ``bits=k >= 2`` gives the symmetric integers ``-(2^{k-1} - 1) .. 2^{k-1} - 1``; ``levels`` sets any integers.

    Note: the eval-mode map is a projection (quantizing twice changes nothing) while ``alpha * beta`` keeps each
    level inside its own bin, which holds at initialisation and always for binary levels; training may move
    ``alpha * beta`` outside that window for multi-level targets, as the paper's free ``alpha`` and ``beta`` allow.

    Args:
        bits: 1 for binary, 2..8 for symmetric integer levels; ignored when ``levels`` is given.
        levels: explicit integer target values (at least two).
        temperature: ``T_0``.
        max_temperature: ``T_max`` (2000 in the reference code).
        channel_axis: None (one ``alpha``/``beta`` per tensor) or the channel axis.
    """

    def __init__(
        self,
        *,
        bits: int = 1,
        levels: Sequence[int] | None = None,
        temperature: float = 5.0,
        max_temperature: float = 2000.0,
        channel_axis: int | None = None,
    ):
        super().__init__(channel_axis=channel_axis)
        self.bits = self.check_int("bits", bits, 1, 8)
        if levels is not None:
            values = list(levels)
            if len(values) < 2 or any(isinstance(v, bool) or int(v) != v for v in values) or len(set(values)) != len(values):
                raise ConfigError(f"{self.registry_name}: levels={levels!r} is invalid; expected two or more distinct integers")
            levels = tuple(sorted(int(v) for v in values))
        self.levels = levels
        self.temperature = self.check_positive("temperature", temperature)
        self.max_temperature = self.check_positive("max_temperature", max_temperature)
        targets = torch.tensor(self.target_levels(), dtype=torch.float32)
        self.register_buffer("targets", targets, persistent=False)
        self.register_buffer("gaps", targets[1:] - targets[:-1], persistent=False)
        self.register_buffer("biases", (targets[1:] + targets[:-1]) / 2, persistent=False)
        self.register_buffer("current_temperature", torch.tensor(self.temperature))
        shape = () if channel_axis is None else (0,)
        self.alpha = nn.Parameter(torch.ones(shape))
        self.beta = nn.Parameter(torch.ones(shape))
        self.require_calibration()

    def target_levels(self) -> tuple[int, ...]:
        if self.levels is not None:
            return self.levels
        if self.bits == 1:
            return (-1, 1)
        top = 2 ** (self.bits - 1) - 1
        return tuple(range(-top, top + 1))

    def codeset(self) -> CodeSet:
        return CodeSet.of(self.target_levels())

    def set_epoch(self, epoch: int) -> None:
        """Sets the temperature for ``epoch`` (counted from 0): ``T = min((epoch + 1) T_0, T_max)``."""
        self.current_temperature.fill_(min((epoch + 1) * self.temperature, self.max_temperature))

    def initialize_(self, x: Tensor) -> None:
        peak = self.reduce(x.abs(), "amax").float()
        # an all-zero tensor gets the unit range; subnormal ranges the smallest normal one, so 1/beta stays finite
        peak = torch.where(peak > 0, peak.clamp_min(torch.finfo(torch.float32).tiny), torch.ones_like(peak))
        beta = 1.25 * float(self.targets.abs().max()) / peak
        self.beta.data = beta
        self.alpha.data = 1.0 / beta

    def forward(self, x: Tensor) -> Tensor:
        if not self.training:
            return super().forward(x)
        self.check_input(x)
        if not self._initialized:
            self.calibrate_(x)
        alpha, beta = self.per_channel(self.alpha, x), self.per_channel(self.beta, x)
        argument = self.current_temperature * ((beta * x).unsqueeze(-1) - self.biases)
        soft = (self.gaps * torch.sigmoid(argument.clamp(-ARGUMENT_CLAMP, ARGUMENT_CLAMP))).sum(-1)
        return alpha * (self.targets[0] + soft)

    def encode(self, x: Tensor) -> Encoding:
        beta = self.per_channel(self.beta.detach(), x)
        steps = ((beta * x.detach()).unsqueeze(-1) >= self.biases).to(x.dtype)
        codes = self.targets[0] + (self.gaps.to(x.dtype) * steps).sum(-1)
        return Encoding(codes, self.per_channel(self.alpha, x).to(x.dtype), passthrough=True)
