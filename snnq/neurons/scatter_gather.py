r"""The stateless multi-threshold neuron group of the scatter-and-gather SNN (S1, Zou et al. 2021) [R].

Every time step is independent (the neuron is reset every step) and each of its ``N`` sub-neurons fires at
most once per step. Sub-neuron ``k`` fires when the input reaches its threshold:

.. math:: s_k = [x \ge \theta + (k - 1)\,\Delta], \qquad k = 1..N \quad (\Delta = \text{spacing})

so the spikes are a thermometer code and their count is the integer activation
``a = clip(floor((x - theta) / Delta) + 1, 0, N)``: with ``theta = Delta / 2`` this is ``clip(round(x / Delta), 0, N)``,
the quantized ANN's activation (S1's "scatter"). The next layer sums the ternary-weighted spikes of all
sub-neurons in one step ("gather"). Output: ``[T, B, ..., N]``, the group along a new last axis.

**Ties** (``rounding``, a rule of `TIE_RULES`): at ``x = theta_k = theta + (k - 1) Delta`` exactly, sub-neuron ``k``
fires only when ``TIE_RULES[rounding](k)``; elsewhere the comparison above decides. With ``theta = Delta / 2``:

- ``half_up`` (default): every level fires at equality, ``s_k = [x >= (k - 1/2) Delta]``: the count is
  ``clip(floor(x / Delta + 1/2), 0, N)``;
- ``half_even`` (S1's ``tf.round``): level ``k`` fires at equality only when ``k`` is even,
  ``s_k = [x > (k - 1/2) Delta] + [x = (k - 1/2) Delta][k even]``: the count is ``clip(round_half_even(x / Delta), 0, N)``
  (``x / Delta = k - 1/2`` rounds to ``k`` exactly when ``k`` is even).

Quantized mode (``bits=b``): the input is the integer ``c = sat_b(R(x / scale))``, ``R`` the rounding function of
``rounding`` (`snnq.quant.ste.ROUNDING`: ``floor(v + 1/2)`` or round-half-to-even), and the thresholds are the
integers ``theta / scale + (k - 1) Delta / scale``; ``scale`` defaults to ``theta``. With ``scale = Delta`` and
``theta = Delta`` the count is ``clip(R(x / Delta), 0, N)``: the tie is decided by the input rounding, the same rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

import torch
from torch import Tensor

from snnq.errors import ConfigError
from snnq.neurons.base import Neuron, State
from snnq.neurons.leaky import _saturate
from snnq.neurons.surrogate import Surrogate
from snnq.quant.ste import ROUND_IN_PLACE, ROUNDING, round_ste
from snnq.registry import NEURONS

TIE_RULES: Mapping[str, Callable[[int], bool]] = MappingProxyType(
    {"half_up": lambda level: True, "half_even": lambda level: level % 2 == 0}
)
"""Whether sub-neuron ``k`` (1-based) fires when its input equals its threshold exactly, by rounding mode (the
integer mode rounds its input with `snnq.quant.ste.ROUNDING` of the same name)."""


@NEURONS.register("sg_stateless")
class ScatterGatherNeuron(Neuron):
    """Stateless group of ``levels`` threshold neurons whose spike count is the integer activation.

    Args:
        levels: ``N``, the spike budget (sub-neurons per group; 4 for S1's "four-spike" networks).
        threshold: ``theta``, the first sub-neuron's threshold.
        spacing: ``Delta``, the distance between consecutive thresholds.
        bits: accumulator width for the integer mode (None: float).
        scale: value of one accumulator code in the integer mode (default ``threshold``); ``threshold`` and
            ``spacing`` must be integer multiples of it.
        rounding: the tie rule, a name of `TIE_RULES` (``half_up``: every level fires at equality; ``half_even``:
            only even levels do, S1's ``tf.round``).
        surrogate, alpha: the surrogate gradient.
    """

    output_group = True
    primary_state = "accumulator"

    def __init__(
        self,
        *,
        levels: int = 4,
        threshold: float = 0.5,
        spacing: float = 1.0,
        bits: int | None = None,
        scale: float | None = None,
        rounding: str = "half_up",
        surrogate: str | Surrogate = "atan",
        alpha: float | None = None,
    ):
        super().__init__(threshold=threshold, surrogate=surrogate, alpha=alpha)
        self.levels = self.check_int("levels", levels, 1, 255)
        self.spacing = self.check_positive("spacing", spacing)
        if rounding not in TIE_RULES:
            raise ConfigError(f"{self.registry_name}: rounding={rounding!r} is invalid; expected one of {', '.join(TIE_RULES)}")
        self.rounding = rounding
        self.bits, self.scale = bits, scale
        self.register_buffer("offsets", torch.arange(self.levels, dtype=torch.float32) * self.spacing + self.threshold, persistent=False)
        strict = [not TIE_RULES[rounding](level) for level in range(1, self.levels + 1)]
        self.register_buffer("strict", torch.tensor(strict, dtype=torch.float32), persistent=False)  # 1: no spike at equality
        self.any_strict = any(strict)
        if bits is None:
            return
        self.check_int("bits", bits, 2, 24)
        unit = self.threshold if scale is None else self.check_positive("scale", scale)
        threshold_code, step_code = self.threshold / unit, self.spacing / unit
        if threshold_code != round(threshold_code) or step_code != round(step_code):
            raise ConfigError(
                f"{self.registry_name}: threshold={self.threshold} and spacing={self.spacing} must be integer multiples of "
                f"scale={unit} in the integer mode"
            )
        top = int(threshold_code) + (self.levels - 1) * int(step_code)
        if top > 2 ** (bits - 1) - 1:
            raise ConfigError(
                f"{self.registry_name}: bits={bits} is too small to hold the thresholds: the highest is {top} codes, a "
                f"{bits}-bit accumulator holds up to {2 ** (bits - 1) - 1}"
            )
        self.unit = unit
        self.register_buffer("threshold_codes", torch.arange(self.levels, dtype=torch.float32) * step_code + threshold_code, persistent=False)

    @property
    def quantized(self) -> bool:
        return self.bits is not None

    @property
    def code_value(self) -> float:
        return self.unit if self.bits is not None else 1.0

    @property
    def bounds(self) -> tuple[int, int]:
        assert self.bits is not None
        return -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1

    def initial_state(self, x: Tensor) -> State:
        return {"accumulator": torch.zeros_like(x)}

    def step_fn(self, x: Tensor) -> tuple[Tensor, Tensor]:
        if self.bits is None:
            distance = x.unsqueeze(-1) - self.offsets.to(x.dtype)
            spikes = self.surrogate.spike(distance)
            if not self.any_strict:  # every level fires at equality: the comparison alone
                return spikes, x
            return spikes - (distance == 0).to(x.dtype) * self.strict.to(x.dtype), x  # strict levels: not at a tie
        low, high = self.bounds
        if not (torch.is_grad_enabled() and x.requires_grad):  # inference: the same values, without autograd's functions
            codes = ROUNDING[self.rounding](x / self.unit).clamp_(low, high)
            levels = codes.unsqueeze(-1)
            spikes = torch.empty(levels.shape[:-1] + (self.levels,), dtype=x.dtype, device=x.device)  # a float 0/1 compare:
            return torch.ge(levels, self.threshold_codes.to(x.dtype), out=spikes), codes  # faster than a boolean one
        codes = _saturate(round_ste(x / self.unit, self.rounding).clamp(4 * low, 4 * high), low, high)
        spikes = self.surrogate.spike((codes.unsqueeze(-1) - self.threshold_codes.to(x.dtype)) * self.unit)
        return spikes, codes

    def group_counts(self, x: Tensor) -> Tensor:
        """The spikes of each group, ``forward(x).sum(-1)``, for inference in the quantized mode without storing every
        sub-neuron's spike: each level's comparison ``c >= theta_k`` is evaluated and added in turn (``N`` passes
        over ``x`` instead of one over an ``N`` times larger tensor). The float mode sums `forward`'s spikes."""
        self.check_sequence(x)
        if self.bits is None or (torch.is_grad_enabled() and x.requires_grad):
            return self.forward(x).sum(-1)
        low, high = self.bounds
        codes = ROUND_IN_PLACE[self.rounding](torch.div(x, self.unit)).clamp_(low, high)
        first, *others = self.threshold_codes.tolist()
        counts, fired = torch.ge(codes, first, out=torch.empty_like(codes)), torch.empty_like(codes)
        for threshold in others:
            counts.add_(torch.ge(codes, threshold, out=fired))  # sub-neuron k: c >= theta_k (a float 0/1 compare)
        return counts

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:  # type: ignore[override]
        spikes, accumulator = self.step_fn(x)
        return spikes, {"accumulator": accumulator}

    def multi_step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        spikes, accumulator = self.step_fn(x)  # stateless: all steps at once
        return spikes, {"accumulator": accumulator[-1]}

    def input_codes(self, x: Tensor) -> Tensor:
        if self.bits is None:
            raise self._not_quantized()
        low, high = self.bounds
        with torch.no_grad():
            return ROUNDING[self.rounding](x / self.unit).clamp(4 * low, 4 * high).to(torch.int64)

    def integer_initial_state(self, codes: Tensor) -> State:
        return {"accumulator": torch.zeros_like(codes)}

    def integer_step(self, codes: Tensor, state: State) -> tuple[Tensor, State]:
        low, high = self.bounds
        accumulator = codes.clamp(low, high)
        spikes = accumulator.unsqueeze(-1) >= self.threshold_codes.to(torch.int64)
        return spikes.to(torch.int8), {"accumulator": accumulator}

    def state_codes(self, state: State) -> State:
        return state
