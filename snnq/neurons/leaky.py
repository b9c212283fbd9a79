r"""Integrate-and-fire (``if``), leaky integrate-and-fire (``lif``) and parametric LIF (``plif``) neurons.

Float mode (``bits=None``), one step with input current :math:`x_t`:

.. math::
    h_t = \beta u_{t-1} + x_t, \qquad s_t = [h_t \ge \theta], \qquad
    u_t = h_t - \theta s_t \ \text{(reset by subtraction)} \quad\text{or}\quad u_t = h_t (1 - s_t) \ \text{(to zero)}

Quantized mode (``bits=b``): the membrane is a ``b``-bit saturating integer in codes of ``theta / theta_int``
(see `IntegerMembrane`), and one step is exactly what integer hardware does:

.. math::
    c_t = \lfloor x_t / \mathrm{scale} + \tfrac12 \rfloor, \quad
    h_t = \mathrm{sat}_b(\mathrm{leak}(u_{t-1}) + c_t), \quad s_t = [h_t \ge \theta_{int}], \quad
    u_t = h_t - \theta_{int} s_t \ \text{or}\ h_t (1 - s_t)

with ``leak`` an arithmetic shift (``u - (u >> k)``), a fixed-point factor (``(m u + 2^{F-1}) >> F``) or none.
The training path computes the same integers in float tensors, with straight-through gradients for the
roundings and the saturation and a surrogate gradient for the spike, so its spikes and membrane codes equal
the integer path's bit for bit (tested). The initial membrane is ``precharge * theta`` (QCFS uses 1/2).
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import Tensor

from snnq.errors import ConfigError, UnknownNameError
from snnq.neurons.base import Neuron, State
from snnq.neurons.leaky_sequence import leaky_sequence
from snnq.neurons.membrane import FactorLeak, IntegerMembrane, Leak, NoLeak, ShiftLeak
from snnq.neurons.surrogate import Surrogate
from snnq.neurons.cpu_lif import CpuKernels
from snnq.neurons.fused_lif import fused_leaky_sequence, supports
from snnq.neurons.triton_lif import TritonKernels
from snnq.registry import NEURONS

RESETS = ("subtract", "zero")
FUSED_KERNELS = (TritonKernels(), CpuKernels())  # the first usable for the input runs (`snnq.neurons.fused_lif`)


class LeakyNeuron(Neuron):
    """The shared machinery of ``if``, ``lif`` and ``plif``; subclasses choose the leak."""

    def __init__(
        self,
        *,
        threshold: float,
        reset: str,
        precharge: float,
        detach_reset: bool,
        bits: int | None,
        threshold_code: int | None,
        surrogate: str | Surrogate,
        alpha: float | None,
    ):
        super().__init__(threshold=threshold, surrogate=surrogate, alpha=alpha)
        if reset not in RESETS:
            raise UnknownNameError(f"{self.registry_name} reset", reset, RESETS)
        if isinstance(precharge, bool) or not isinstance(precharge, (int, float)) or not 0 <= precharge < 1:
            raise ConfigError(f"{self.registry_name}: precharge={precharge!r} is invalid; expected a fraction of the threshold in [0, 1)")
        self.reset, self.precharge, self.detach_reset = reset, float(precharge), bool(detach_reset)
        self.bits, self.threshold_code = bits, threshold_code
        self.membrane = None if bits is None else IntegerMembrane.build(self.registry_name, bits, self.threshold, threshold_code)
        self.leak: Leak = NoLeak()

    @property
    def quantized(self) -> bool:
        return self.membrane is not None

    # -- training path ----------------------------------------------------------------------------------------
    def initial_state(self, x: Tensor) -> State:
        if self.membrane is None:
            return {"membrane": torch.full_like(x, self.precharge * self.threshold)}
        return {"membrane": torch.full_like(x, float(self.precharge_code))}

    @property
    def precharge_code(self) -> int:
        assert self.membrane is not None
        return int(self.precharge * self.membrane.threshold_code + 0.5)

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        u = state["membrane"]
        if self.membrane is None:
            factor = self.leak.float_factor()
            h = torch.add(x, u, alpha=factor) if isinstance(factor, float) else torch.addcmul(x, u, factor)
            spike = self.surrogate.spike(h - self.threshold)
            return spike, {"membrane": self._reset(h, spike, self.threshold)}
        grid = self.membrane
        h = _saturate(self.leak.codes(u) + grid.codes_of(x), grid.low, grid.high)
        spike = self.surrogate.spike((h - grid.threshold_code) * grid.scale)
        return spike, {"membrane": self._reset(h, spike, float(grid.threshold_code))}

    def _reset(self, h: Tensor, spike: Tensor, threshold: float) -> Tensor:
        s = spike.detach() if self.detach_reset else spike
        if self.reset == "subtract":
            return torch.sub(h, s, alpha=threshold)
        return h * (1 - s)

    def multi_step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """All steps in one fused kernel: Triton on CUDA devices, compiled C on the CPU, else the eager fused path
        (also under ``torch.compile``, which fuses its operations itself where an opaque kernel would break its graph)."""
        u0 = state["membrane"].detach()
        usable = supports(self) and not torch.compiler.is_compiling()
        kernels = next((k for k in FUSED_KERNELS if k.usable(x)), None) if usable else None
        if kernels is None:
            spikes, membrane = leaky_sequence(self, x, u0)
        else:
            spikes, membrane = fused_leaky_sequence(kernels, self, x, u0)
        return spikes, {"membrane": membrane}

    @property
    def code_value(self) -> float:
        return 1.0 if self.membrane is None else self.membrane.scale

    # -- integer path -----------------------------------------------------------------------------------------
    def input_codes(self, x: Tensor) -> Tensor:
        if self.membrane is None:
            raise self._not_quantized()
        return self.membrane.integer_codes_of(x)

    def integer_initial_state(self, codes: Tensor) -> State:
        return {"membrane": torch.full_like(codes, self.precharge_code, dtype=torch.int64)}

    def integer_step(self, codes: Tensor, state: State) -> tuple[Tensor, State]:
        grid = self.membrane
        if grid is None:
            raise self._not_quantized()
        h = (self.leak.integer(state["membrane"]) + codes).clamp(grid.low, grid.high)
        spike = h >= grid.threshold_code
        u = h - grid.threshold_code * spike if self.reset == "subtract" else torch.where(spike, 0, h)
        return spike.to(torch.int8), {"membrane": u}

    def state_codes(self, state: State) -> State:
        return {"membrane": state["membrane"]}


class _SaturateSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: Tensor, low: float, high: float) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.bounds = (low, high)
        return x.clamp(low, high)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        low, high = ctx.bounds
        return saturation_mask(x, low, high).mul_(grad), None, None


def saturation_mask(x: Tensor, low: float, high: float) -> Tensor:
    """1.0 where ``low <= x <= high`` (the membrane did not saturate), else 0.0."""
    return torch.sub(x, (low + high) / 2).abs_().le_((high - low) / 2)


def _saturate(x: Tensor, low: int, high: int) -> Tensor:
    return _SaturateSTE.apply(x, float(low), float(high))


@NEURONS.register("if")
class IFNeuron(LeakyNeuron):
    """Integrate-and-fire: no leak (``beta = 1``). With ``precharge=0.5`` and reset by subtraction it is the
    converted neuron of QCFS (S3); with integer thresholds it reproduces rate-coded integers (S0).

    Args:
        threshold: ``theta`` (value units).
        reset: ``subtract`` (keep the surplus) or ``zero``.
        precharge: initial membrane as a fraction of ``theta`` (0.5 for QCFS).
        detach_reset: no gradient through the reset (the usual choice).
        bits: membrane width for the integer mode (None: float).
        threshold_code: the threshold in membrane codes (default ``2^(bits-2)``).
        surrogate, alpha: the surrogate gradient.
    """

    def __init__(
        self,
        *,
        threshold: float = 1.0,
        reset: str = "subtract",
        precharge: float = 0.0,
        detach_reset: bool = True,
        bits: int | None = None,
        threshold_code: int | None = None,
        surrogate: str | Surrogate = "atan",
        alpha: float | None = None,
    ):
        super().__init__(
            threshold=threshold, reset=reset, precharge=precharge, detach_reset=detach_reset, bits=bits,
            threshold_code=threshold_code, surrogate=surrogate, alpha=alpha,
        )


@NEURONS.register("lif")
class LIFNeuron(LeakyNeuron):
    """Leaky integrate-and-fire with a hardware leak: a fixed-point factor ``beta`` (``leak_bits`` fractional bits
    when quantized) or, with ``leak_shift=k``, an arithmetic shift (``beta = 1 - 2^-k``).

    Args:
        beta: leak factor in (0, 1) (ignored when ``leak_shift`` is set).
        leak_shift: ``k`` for the shift leak ``u - (u >> k)``.
        leak_bits: fractional bits ``F`` of the factor leak in the integer mode (``m = round(beta 2^F)``).
        threshold, reset, precharge, detach_reset, bits, threshold_code, surrogate, alpha: as for ``if``.
    """

    learnable_leak: ClassVar[bool] = False

    def __init__(
        self,
        *,
        beta: float = 0.9,
        leak_shift: int | None = None,
        leak_bits: int = 8,
        threshold: float = 1.0,
        reset: str = "subtract",
        precharge: float = 0.0,
        detach_reset: bool = True,
        bits: int | None = None,
        threshold_code: int | None = None,
        surrogate: str | Surrogate = "atan",
        alpha: float | None = None,
    ):
        super().__init__(
            threshold=threshold, reset=reset, precharge=precharge, detach_reset=detach_reset, bits=bits,
            threshold_code=threshold_code, surrogate=surrogate, alpha=alpha,
        )
        if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not 0 < beta < 1:
            raise ConfigError(f"{self.registry_name}: beta={beta!r} is invalid; expected a leak factor in (0, 1)")
        self.beta, self.leak_shift = float(beta), leak_shift
        self.leak_bits = self.check_int("leak_bits", leak_bits, 1, 8, "m * u must stay exact in float32")
        if leak_shift is not None:
            self.leak = ShiftLeak(self.check_int("leak_shift", leak_shift, 1, 8, "u * (1 - 2^-k) must stay exact in float32"))
        else:
            self.leak = FactorLeak(self.beta, self.leak_bits, learnable=self.learnable_leak)


@NEURONS.register("plif")
class PLIFNeuron(LIFNeuron):
    """Parametric LIF (Fang et al., 2021): ``beta = sigmoid(w)`` is trained with the network (initialised to
    ``beta``); in the integer mode the factor is ``round(beta 2^F) / 2^F``. The S4 event-data networks use it."""

    learnable_leak = True

    def __init__(
        self,
        *,
        beta: float = 0.5,
        leak_bits: int = 8,
        threshold: float = 1.0,
        reset: str = "subtract",
        precharge: float = 0.0,
        detach_reset: bool = True,
        bits: int | None = None,
        threshold_code: int | None = None,
        surrogate: str | Surrogate = "atan",
        alpha: float | None = None,
    ):
        super().__init__(
            beta=beta, leak_shift=None, leak_bits=leak_bits, threshold=threshold, reset=reset, precharge=precharge,
            detach_reset=detach_reset, bits=bits, threshold_code=threshold_code, surrogate=surrogate, alpha=alpha,
        )
