"""The base of snnq's spiking neurons: a multi-step module with explicit state and an integer reference.

A neuron is defined by three functions of one time step, which every subclass writes once:

- `Neuron.step`: the training path (float, or fake-quantized with straight-through and surrogate gradients),
- `Neuron.integer_step`: the integer reference for quantized neurons (int64 tensors; what hardware computes),
- `Neuron.initial_state` / `Neuron.integer_initial_state`: the state before the first step.

The module's forward takes ``[T, B, ...]`` and may run a fused multi-step kernel, but it must give the spikes
of looping `step`; snnTorch and SpikingJelly adapters call the same functions (`snnq.integrations`).
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

from snnq.errors import ConfigError, TensorTypeError
from snnq.neurons.surrogate import Surrogate, surrogate as make_surrogate

State = dict[str, Tensor]


class Neuron(nn.Module):
    """A layer of spiking neurons, multi-step: ``forward(x)`` maps input currents ``[T, B, ...]`` to spikes.

    The state after a call is kept (``self.state``), so a long sequence can be fed in chunks; `reset_state` (or
    `snnq.reset_state` on a whole model) clears it. State carried from one call to the next is detached
    (truncated back-propagation through time).

    Args:
        threshold: firing threshold ``theta`` in the membrane's value units (> 0).
        surrogate: surrogate gradient name (``snnq.neurons.SURROGATES``) or instance.
        alpha: the surrogate's sharpness (its default when None).
    """

    registry_name: ClassVar[str] = "neuron"
    output_group: ClassVar[bool] = False  # True when each neuron emits a group of spikes along a new last axis
    primary_state: ClassVar[str] = "membrane"  # what snnTorch code calls ``mem``

    def __init__(self, *, threshold: float = 1.0, surrogate: str | Surrogate = "atan", alpha: float | None = None):
        super().__init__()
        self.threshold = self.check_positive("threshold", threshold)
        self.surrogate = make_surrogate(surrogate, **({} if alpha is None else {"alpha": alpha}))
        self.alpha = alpha
        self.state: State | None = None

    # -- what subclasses define -------------------------------------------------------------------------------
    @property
    def quantized(self) -> bool:
        """True when the neuron computes with an integer membrane (and has `integer_step`)."""
        return False

    @property
    def code_value(self) -> float:
        """The value (in input units) of one integer state code; 1.0 for float neurons, whose state is a value."""
        return 1.0

    def state_value(self, state: State, name: str | None = None) -> Tensor:
        """A state in value units (codes times `code_value` for quantized neurons)."""
        value = state[name or self.primary_state]
        return value * self.code_value if self.quantized else value

    def initial_state(self, x: Tensor) -> State:
        """The state before the first step, for one step's input ``x`` (``[B, ...]``)."""
        raise NotImplementedError

    def step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """One time step of the training path: spikes (0./1.) and the new state."""
        raise NotImplementedError

    def input_codes(self, x: Tensor) -> Tensor:
        """The integer codes (int64) that the integer path receives for float input currents ``x``."""
        raise self._not_quantized()

    def integer_initial_state(self, codes: Tensor) -> State:
        raise self._not_quantized()

    def integer_step(self, codes: Tensor, state: State) -> tuple[Tensor, State]:
        """One time step of the integer reference (int64 codes in, int64 state): spikes as int8."""
        raise self._not_quantized()

    def state_codes(self, state: State) -> State:
        """The training-path state as the integer reference holds it (integer-valued, for exactness checks)."""
        raise self._not_quantized()

    def multi_step(self, x: Tensor, state: State) -> tuple[Tensor, State]:
        """All time steps of ``x`` (``[T, B, ...]``); subclasses may replace the loop by a fused kernel."""
        spikes = []
        for t in range(x.shape[0]):
            spike, state = self.step(x[t], state)
            spikes.append(spike)
        return torch.stack(spikes), state

    # -- the module interface ---------------------------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        self.check_sequence(x)
        state = self._current_state(x[0])
        spikes, state = self.multi_step(x, state)
        self.state = {name: value.detach() for name, value in state.items()}
        return spikes

    def reset_state(self) -> None:
        """Forgets the state: the next call starts from `initial_state`."""
        self.state = None

    def reset_snnq_state(self) -> None:
        """The hook `snnq.reset_state` calls on every module that has it."""
        self.reset_state()

    def _current_state(self, x0: Tensor) -> State:
        if self.state is None:
            return self.initial_state(x0)
        for name, value in self.state.items():
            if value.shape[: x0.dim()] != x0.shape:
                raise TensorTypeError(
                    f"{self.registry_name}: input of shape {tuple(x0.shape)} per step does not match the state {name!r} "
                    f"of shape {tuple(value.shape)} left by the previous call; reset the state between batches "
                    "(snnq.reset_state(model))"
                )
            if value.is_floating_point() and value.dtype != x0.dtype:
                raise TensorTypeError(
                    f"{self.registry_name}: mismatched dtypes: input {x0.dtype}, state {name!r} {value.dtype}; "
                    "reset the state (snnq.reset_state(model)) or convert the input"
                )
        return dict(self.state)

    # -- references used by tests, converters and hardware ----------------------------------------------------
    def run_integer(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """The integer reference over a whole sequence: spikes ``[T, ...]`` (int8) and every state's trace (int64)."""
        self.check_sequence(x)
        codes = self.input_codes(x)
        state = self.integer_initial_state(codes[0])
        spikes, traces = [], {name: [] for name in state}
        for t in range(codes.shape[0]):
            spike, state = self.integer_step(codes[t], state)
            spikes.append(spike)
            for name, value in state.items():
                traces[name].append(value)
        return torch.stack(spikes), {name: torch.stack(values) for name, values in traces.items()}

    def run_training_path(self, x: Tensor) -> tuple[Tensor, dict[str, Tensor]]:
        """Loops `step` over ``x`` from the initial state: spikes and, for quantized neurons, the state traces in
        integer codes (as float tensors), to compare with `run_integer`."""
        self.check_sequence(x)
        state = self.initial_state(x[0])
        spikes, traces = [], {}
        for t in range(x.shape[0]):
            spike, state = self.step(x[t], state)
            spikes.append(spike)
            if self.quantized:
                for name, value in self.state_codes(state).items():
                    traces.setdefault(name, []).append(value)
        return torch.stack(spikes), {name: torch.stack(values) for name, values in traces.items()}

    # -- checks -----------------------------------------------------------------------------------------------
    def check_sequence(self, x: Any) -> None:
        """Raises a `TensorTypeError` naming the neuron if ``x`` is not a float ``[T, B, ...]`` tensor with T > 0."""
        name = self.registry_name
        if not isinstance(x, Tensor):
            raise TensorTypeError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TensorTypeError(f"{name}: expected floating-point input currents, got {x.dtype}")
        if x.dim() < 2:
            raise TensorTypeError(
                f"{name}: expected a multi-step input [T, B, ...] (at least 2 dimensions), got shape {tuple(x.shape)}"
            )
        if x.shape[0] == 0:
            raise TensorTypeError(f"{name}: the input has T = 0 time steps (shape {tuple(x.shape)})")

    def check_step_input(self, x: Any) -> None:
        """The same checks for one time step ``[B, ...]`` (used by the framework adapters)."""
        name = self.registry_name
        if not isinstance(x, Tensor) or not x.is_floating_point():
            kind = x.dtype if isinstance(x, Tensor) else type(x).__name__
            raise TensorTypeError(f"{name}: expected a floating-point tensor for one time step, got {kind}")
        if x.dim() < 1:
            raise TensorTypeError(f"{name}: expected one time step [B, ...], got a 0-dimensional tensor")

    @classmethod
    def check_positive(cls, option: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
            raise ConfigError(f"{cls.registry_name}: {option}={value!r} is invalid; expected a finite number > 0")
        return float(value)

    @classmethod
    def check_int(cls, option: str, value: Any, low: int, high: int, why: str = "") -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = f" ({why})" if why else ""
            raise ConfigError(f"{cls.registry_name}: {option}={value!r} is invalid; expected an integer in [{low}, {high}]{reason}")
        return value

    def _not_quantized(self) -> ConfigError:
        return ConfigError(f"{self.registry_name}: this neuron is not quantized (set bits=...) and has no integer path")

    def config(self) -> dict[str, Any]:
        """The constructor options that rebuild this neuron: ``snnq.neuron(n.registry_name, **n.config())``."""
        parameters = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())
