r"""Time-to-first-spike neuron (S2, Lew et al. 2022) [R]: fires at most once per window, at the step that
encodes its potential logarithmically.

Layers run one window of ``T`` steps after another (a neuron can choose its spike time only once its inputs
have arrived). Within a window the neuron integrates its input; in the next window it fires once, at the
first step ``t`` whose threshold it reaches:

.. math:: v \ge r\, x_{max}\, 2^{-t}, \qquad t = 0 .. T-1

so a spike at ``t`` stands for ``x_max * 2^-t`` and no spike for 0, as in S2's CAT activation
``x_max * 2^-clip(round(-log2(v / x_max)), 0, T-1)``. The rounding factor ``r`` is that of the ``log2``
quantizer's modes: ``nearest`` 3/4 (the nearest power of two), ``log_nearest`` sqrt(1/2) (the nearest on the log
scale, the CAT formula), ``floor`` 1. The float mode decides exactly as the ``log2`` quantizer does
(``x / x_max`` against its float32 factors), so converted spike times equal the quantizer's exponents. The output of window ``w`` encodes the input of window ``w - 1``; the
first window is silent.

Quantized mode (``bits=b``): the potential is an integer in codes of ``x_max / threshold_code`` and every
threshold comparison is exact integer arithmetic (``4 v 2^t >= 3 theta``; ``2 v^2 4^t >= theta^2``; ``v 2^t >= theta``).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from snnq.errors import UnknownNameError
from snnq.neurons.base import Neuron, State
from snnq.neurons.leaky import _saturate
from snnq.neurons.surrogate import Surrogate
from snnq.quant.log2 import _SQRT_HALF
from snnq.quant.ste import round_ste
from snnq.registry import NEURONS

ROUND_UP_AT = {"nearest": 0.75, "log_nearest": math.sqrt(0.5), "floor": 1.0}
"""The rounding factors ``r`` as real numbers (the integer mode compares exactly against them)."""

ROUND_UP_AT_FLOAT32 = {"nearest": 0.75, "log_nearest": _SQRT_HALF, "floor": 1.0}
"""The same factors as the ``log2`` quantizer holds them (float32), used by the float mode so that its spike
times are the quantizer's exponents bit for bit."""


@NEURONS.register("ttfs")
class TTFSNeuron(Neuron):
    """Fires at most once per window, at ``t`` such that the spike means ``x_max * 2^-t``.

    Args:
        window: ``T``, steps per window (the number of non-zero levels), 1..15.
        threshold: ``x_max``, the value of a spike at ``t = 0``.
        rounding: ``nearest``, ``log_nearest`` or ``floor`` (see the module docstring).
        bits: width of the integer potential (None: float).
        threshold_code: ``x_max`` in potential codes (default ``2^(bits-2)``).
        surrogate, alpha: the surrogate gradient of the spike with respect to the potential.
    """

    def __init__(
        self,
        *,
        window: int = 8,
        threshold: float = 1.0,
        rounding: str = "log_nearest",
        bits: int | None = None,
        threshold_code: int | None = None,
        surrogate: str | Surrogate = "atan",
        alpha: float | None = None,
    ):
        super().__init__(threshold=threshold, surrogate=surrogate, alpha=alpha)
        self.window = self.check_int("window", window, 1, 15)
        if rounding not in ROUND_UP_AT:
            raise UnknownNameError("ttfs rounding mode", rounding, ROUND_UP_AT)
        self.rounding, self.bits, self.threshold_code = rounding, bits, threshold_code
        if bits is not None:
            self.check_int("bits", bits, 2, 16)
            code = 2 ** (bits - 2) if threshold_code is None else threshold_code
            self.check_int("threshold_code", code, 1, 2 ** (bits - 1) - 1, f"a {bits}-bit potential must hold the threshold")
            self.code = code

    @property
    def quantized(self) -> bool:
        return self.bits is not None

    primary_state = "potential"

    @property
    def code_value(self) -> float:
        return self.threshold / self.code if self.bits is not None else 1.0

    # -- training path ----------------------------------------------------------------------------------------
    def initial_state(self, x: Tensor) -> State:
        zeros = torch.zeros_like(x)
        return {"accumulator": zeros, "potential": zeros, "fired": zeros, "phase": zeros}

    def _reached(self, potential: Tensor, phase: int) -> Tensor:
        """Exact ``potential >= r x_max 2^-phase`` (potential in codes when quantized), as a 0./1. tensor."""
        if self.bits is None:  # the log2 quantizer's decision: |x| / x_max against r 2^-t, in the input's precision
            return torch.ge(potential / self.threshold, ROUND_UP_AT_FLOAT32[self.rounding] * 2.0**-phase, out=torch.empty_like(potential))
        v = potential.double()
        if self.rounding == "log_nearest":  # v >= sqrt(1/2) theta 2^-t  <=>  v >= 0 and v^2 >= theta^2 2^-(2t+1)
            reached = (v >= 0) & (v * v >= float(self.code) ** 2 * 2.0 ** -(2 * phase + 1))
        else:
            reached = v >= ROUND_UP_AT[self.rounding] * self.code * 2.0**-phase  # a dyadic bound: exact in float64
        return reached.to(potential.dtype)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        phase = int(state["phase"].flatten()[0]) if state["phase"].numel() else 0
        potential, fired = state["potential"], state["fired"]
        reached = self._reached(potential.detach(), phase)
        factor = ROUND_UP_AT_FLOAT32 if self.bits is None else ROUND_UP_AT
        bound = factor[self.rounding] * self.threshold * 2.0**-phase / self.code_value
        # the spike's value is the exact decision; its gradient is the surrogate's at the distance to the bound
        smooth = self.surrogate.spike((potential - bound) * self.code_value)
        spike = (smooth + (reached - smooth).detach()) * (1 - fired)
        if self.bits is None:
            accumulator = state["accumulator"] + x
        else:
            low, high = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
            codes = round_ste(x / self.code_value).clamp(4 * low, 4 * high)
            accumulator = _saturate(state["accumulator"] + codes, low, high)
        fired = fired + spike.detach()
        if phase == self.window - 1:  # the window closes: what was integrated fires in the next one
            zeros = torch.zeros_like(accumulator)
            return spike, {"accumulator": zeros, "potential": accumulator, "fired": zeros, "phase": zeros}
        return spike, {"accumulator": accumulator, "potential": potential, "fired": fired, "phase": state["phase"] + 1}

    # -- integer path -----------------------------------------------------------------------------------------
    def input_codes(self, x: Tensor) -> Tensor:
        if self.bits is None:
            raise self._not_quantized()
        low, high = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        with torch.no_grad():
            return torch.floor(x / self.code_value + 0.5).clamp(4 * low, 4 * high).to(torch.int64)

    def integer_initial_state(self, codes: Tensor) -> State:
        zeros = torch.zeros_like(codes, dtype=torch.int64)
        return {"accumulator": zeros, "potential": zeros, "fired": zeros, "phase": zeros}

    def integer_step(self, codes: Tensor, state: State) -> tuple[Tensor, State]:
        phase = int(state["phase"].flatten()[0]) if state["phase"].numel() else 0
        v, fired = state["potential"], state["fired"]
        scaled = v << phase  # v 2^t, exact
        if self.rounding == "log_nearest":
            reached = (v >= 0) & (2 * scaled * scaled >= self.code**2)
        elif self.rounding == "nearest":
            reached = 4 * scaled >= 3 * self.code
        else:
            reached = scaled >= self.code
        spike = (reached & (fired == 0)).to(torch.int64)
        low, high = -(2 ** (self.bits - 1)), 2 ** (self.bits - 1) - 1
        accumulator = (state["accumulator"] + codes).clamp(low, high)
        fired = fired + spike
        if phase == self.window - 1:
            zeros = torch.zeros_like(accumulator)
            return spike.to(torch.int8), {"accumulator": zeros, "potential": accumulator, "fired": zeros, "phase": zeros}
        return spike.to(torch.int8), {"accumulator": accumulator, "potential": v, "fired": fired, "phase": state["phase"] + 1}

    def state_codes(self, state: State) -> State:
        return {name: state[name] for name in ("accumulator", "potential", "fired")}
