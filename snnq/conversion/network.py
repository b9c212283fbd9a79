"""`SpikingNetwork`: a converted network, run over time on the traced graph of the network it came from.

Two schedules:

- ``layerwise`` (rate, scatter-and-gather, TTFS): each neuron layer integrates one window of input, then fires
  in the next window, as a hardware pipeline does. Every synaptic layer that reads integer codes (spikes, the
  input quantizer's codes) is an `IntegerSynapse`: it holds the integer weights the hardware stores (unary
  planes of {-1, 0, 1} synapses for ternary codings), accumulates exactly in integers, and turns the accumulator
  into the float current by the one stated operation the quantized ANN's integer reference uses too.
  ``mode="step"`` (the default, and the only basis of an exactness claim) simulates every neuron step by step and
  accumulates every spike it emits: each event adds its synapses' values to the accumulator (a neuron's events of
  one window add ``count x value``, the same integer in any order; linear operations between neurons and
  synapses, average pooling and reshapes, act on the window's event counts for the same reason, max pooling
  acts step by step). ``mode="window"`` is a fast check: the spike counts come from the activation's closed
  form instead of the neurons.
- ``parallel`` (QCFS): every layer integrates and fires at every step, the input current is presented at every
  step, and the output is the mean over the ``T`` steps.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
from torch import Tensor, fx, nn

from snnq.conversion.activity import Activity, Train
from snnq.conversion.integer_synapse import IntegerSynapse, linear_op
from snnq.conversion.layers import OffChipLayer, SpikingActivation
from snnq.conversion.reference import grid_codes
from snnq.conversion.trace import SYNAPTIC
from snnq.conversion.units import UnitTracking
from snnq.errors import UnknownNameError
from snnq.neurons.build import reset_state

MODES = ("window", "step")
AVERAGE_POOLS = (nn.AvgPool1d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)
PER_STEP_MODULES = (nn.Flatten, nn.Identity, nn.Unflatten)
PER_STEP_METHODS = {"view", "reshape", "flatten", "contiguous"}
PER_STEP_FUNCTIONS = {torch.flatten}


class SpikingNetwork(nn.Module):
    """A converted network. ``forward(x)`` takes what the source network took (images ``[B, ...]``) and returns
    its outputs; pass an `Activity` to record spikes and synaptic operations.

    Attributes:
        coding: the converter's name (``rate``, ``scatter_gather``, ``ttfs``, ``qcfs``).
        schedule: ``layerwise`` or ``parallel``.
        steps: time steps per window (layerwise) or in total (parallel).
        synapses: per weight-quantized synaptic layer, the `IntegerSynapse` holding the integer weights the
            hardware stores (see the converter).
    """

    def __init__(self, graph_module: fx.GraphModule, *, coding: str, schedule: str, steps: int, synapses: dict[str, IntegerSynapse], first_spike_pooling: bool = False):
        super().__init__()
        self.graph_module = graph_module
        self.coding, self.schedule, self.steps = coding, schedule, steps
        self.synapses = synapses
        self.first_spike_pooling = first_spike_pooling
        self.off_chip: frozenset[str] = frozenset()  # layers computed on the host: no synaptic operations counted

    def spiking_layers(self) -> dict[str, SpikingActivation]:
        return {name: m for name, m in self.graph_module.named_modules() if isinstance(m, SpikingActivation)}

    def forward(self, x: Tensor, *, mode: str = "step", activity: Activity | None = None) -> Tensor:
        if mode not in MODES:
            raise UnknownNameError("simulation mode", mode, MODES)
        reset_state(self.graph_module)  # every inference starts from the neurons' initial state
        with torch.no_grad():
            return _Runner(self, mode, activity).run(x)

    def latency_steps(self) -> int:
        """Time steps from input to output: one window per neuron layer on the layerwise schedule."""
        if self.schedule == "parallel":
            return self.steps
        return sum(layer.steps for layer in self.spiking_layers().values()) + max(
            (layer.steps for layer in self.spiking_layers().values()), default=0
        )

    def extra_repr(self) -> str:
        return f"coding={self.coding}, schedule={self.schedule}, steps={self.steps}"


class _Runner(UnitTracking, fx.Interpreter):
    """Runs the graph with `Train` values where spikes flow (see the module docstring for the semantics)."""

    def __init__(self, network: SpikingNetwork, mode: str, activity: Activity | None):
        super().__init__(network.graph_module)
        self.network, self.mode, self.activity = network, mode, activity
        self.parallel = network.schedule == "parallel"

    def run(self, x: Tensor) -> Tensor:  # type: ignore[override]
        if self.parallel:
            x = Train(x.unsqueeze(0).expand(self.network.steps, *x.shape).contiguous())
        out = super().run(x)
        if isinstance(out, Train):
            return out.values.mean(0) if self.parallel else out.total()
        return out

    # -- helpers ----------------------------------------------------------------------------------------------
    def collapse(self, value: Any) -> Any:
        if isinstance(value, Train):
            return value.total()
        if isinstance(value, (tuple, list)):
            return type(value)(self.collapse(v) for v in value)
        return value

    def linear_input(self, train: Train) -> Train:
        """What a linear operation between neurons and synapses (average pooling, flatten, reshape) needs of a
        layerwise train: its window integral (and, for an `Activity`, its counts), the exact sums of the simulated
        events. A linear map of the steps' events summed over the window is the linear map of their sum, so the
        steps need not be kept; the parallel schedule keeps them (its synapses act at every step)."""
        if self.parallel:
            return train
        counts = train.counts() if self.activity is not None else None  # only an Activity counts synaptic events
        return Train(summed=train.total(), counted=counts)

    def per_step(self, fn, args: tuple, kwargs: dict) -> Train:  # noqa: ANN001
        train = args[0]
        rest = args[1:]
        return train.map(lambda x: fn(x, *rest, **kwargs))

    # -- node kinds -------------------------------------------------------------------------------------------
    def call_module(self, target: str, args: tuple, kwargs: dict) -> Any:
        module = self.fetch_attr(target)
        value = args[0] if args else None
        if isinstance(module, SpikingActivation):
            return self.neuron_layer(target, module, value)
        if isinstance(module, SYNAPTIC) and (isinstance(value, Train) or not self.parallel):
            return self.synapses(target, module, value)
        if isinstance(value, Train):
            if isinstance(module, AVERAGE_POOLS):
                return sum_pool_spikes(module, self.linear_input(value))
            if isinstance(module, PER_STEP_MODULES):
                return self.linear_input(value).map(module)
            if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)) and not self.network.first_spike_pooling:
                return self.per_step(module, args, kwargs)
            if isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)):
                return first_spike_pool(module, value)
            if self.parallel:
                return self.per_step(module, args, kwargs)
        return module(*self.collapse(args), **kwargs)

    def call_function(self, target: Any, args: tuple, kwargs: dict) -> Any:
        trains = [a for a in args if isinstance(a, Train)]
        if target in (operator.add, torch.add) and len(trains) == 2:  # a residual sum of two trains
            return add_trains(*args)
        if trains and (self.parallel or target in PER_STEP_FUNCTIONS) and isinstance(args[0], Train):
            return self.per_step(target, (self.linear_input(args[0]), *args[1:]), kwargs)
        return target(*self.collapse(args), **kwargs)

    def call_method(self, target: str, args: tuple, kwargs: dict) -> Any:
        if isinstance(args[0], Train) and (self.parallel or target in PER_STEP_METHODS):
            train = self.linear_input(args[0])
            if target in ("view", "reshape"):  # the batch size changes with time folded in: keep dim 0 free
                shape = list(args[1:]) if not isinstance(args[1], (tuple, list)) else list(args[1])
                return train.map(lambda x: getattr(x, target)(x.shape[0], *shape[1:]))
            return train.map(lambda x: getattr(x, target)(*args[1:], **kwargs))
        if isinstance(args[0], Train) and target == "size":
            size = (args[0].values.shape[1:] if args[0].values is not None else args[0].summed.shape)
            return size if len(args) == 1 else size[args[1]]
        collapsed = self.collapse(args)
        return getattr(collapsed[0], target)(*collapsed[1:], **kwargs)

    def neuron_layer(self, name: str, layer: SpikingActivation, value: Any) -> Train:
        if self.parallel:
            train = value if isinstance(value, Train) else Train(value.unsqueeze(0).expand(layer.steps, *value.shape).contiguous())
            out = layer.run(train)
        elif self.mode == "step":
            out = layer.fire(self.collapse(value), record=self.activity is not None, steps_needed=self.steps_needed(self.node))
        else:
            out = layer.closed_form(self.collapse(value))
        if self.activity is not None:
            spikes = out.spikes if out.spikes is not None else layer.spike_record(out)
            self.activity.neuron_layer(name, layer.coding).add(spikes, group_axis=layer.group_axis)
            if self.activity.keep_activations:
                self.activity.activations[name] = out.values.mean(0) if self.parallel else out.total()
        if self.activity is None and out.values is not None:  # the values carry the events; nobody counts them
            return Train(out.values, None, out.summed)
        if layer.group_axis and out.spikes is not None:  # downstream a group's spikes drive the same synapses
            out = Train(out.values, out.spikes.sum(-1), out.summed)
        return out

    def steps_needed(self, node: fx.Node) -> bool:
        """Whether anything between this neuron layer and the next synapses reads single steps (max pooling, first-
        spike pooling, an operation this runner does not know to be linear); linear ones read the window's sums."""
        pending = list(node.users)
        while pending:
            user = pending.pop()
            module = self.fetch_attr(user.target) if user.op == "call_module" else None
            if isinstance(module, (SYNAPTIC, SpikingActivation, OffChipLayer)) or user.op == "output":
                continue
            linear = (
                isinstance(module, AVERAGE_POOLS + PER_STEP_MODULES)
                or (user.op == "call_function" and user.target in PER_STEP_FUNCTIONS | {operator.add, torch.add})
                or (user.op == "call_method" and user.target in PER_STEP_METHODS)
            )
            if not linear:
                return True
            pending.extend(user.users)
        return False

    def module_unit(self, module: nn.Module) -> float | None:
        return module.unit if isinstance(module, SpikingActivation) else super().module_unit(module)

    def synapses(self, name: str, module: nn.Module, value: Any) -> Any:
        """A synaptic layer: spike events through its integer synapses (layerwise), per step (parallel), or, for
        an input without integer codes, the layer's own float arithmetic."""
        synapse = self.network.synapses.get(name)
        if self.activity is not None and name not in self.network.off_chip and isinstance(value, Train) and value.counts() is not None:
            self.activity.add_synaptic_operations(name, synaptic_events(synapse, module, value))
        if self.parallel:
            return value.map(module)
        unit = self.input_unit()
        if synapse is None or unit is None:
            return module(self.collapse(value))
        if isinstance(value, Train) and self.mode == "step" and value.values is not None:
            codes = grid_codes(value.values, unit).sum(0)  # every event of the window, step by step
        else:
            codes = grid_codes(self.collapse(value), unit)
        acc, current = synapse(codes, unit)
        if self.activity is not None:
            self.activity.add_accumulator(name, acc, synapse)
        return current


def synaptic_events(synapse: IntegerSynapse | None, module: nn.Module, train: Train) -> float:
    """Synaptic operations of one window: every presynaptic spike times the synapses it drives (each of the
    ``|W|`` unit synapses of a ternary decomposition counts once)."""
    fan = (module.weight.detach() != 0).float() if synapse is None else synapse.fan()
    return float(linear_op(module)(train.counts().float(), fan).sum())


def add_trains(first: Train, second: Train) -> Train:
    """The sum of two trains: step by step where both have steps, else of their window integrals and counts."""
    if first.values is not None and second.values is not None:
        return Train(first.values + second.values)
    counts = (first.counts(), second.counts())
    return Train(summed=first.total() + second.total(), counted=None if None in counts else counts[0] + counts[1])


def sum_pool_spikes(module: nn.Module, train: Train) -> Train:
    """Average pooling of a train: the values are averaged (as the ANN does); the spike record becomes the sum over
    each pooling window, i.e. every spike that reaches the pooled site (the synapses behind it count each one)."""
    pooled = train.map(module)
    inputs, outputs = (train.values[0], pooled.values[0]) if train.values is not None else (train.summed, pooled.summed)
    area = inputs[0].numel() / outputs[0].numel()  # inputs per output (the channels cancel)
    if pooled.spikes is not None:
        return Train(pooled.values, pooled.spikes * area)
    return Train(summed=pooled.summed, counted=None if pooled.counted is None else pooled.counted * area)


def first_spike_pool(module: nn.Module, train: Train) -> Train:
    """Max-pooling of time-to-first-spike trains: the pooled output fires once, when the earliest input does."""
    pooled = train.map(module)
    if pooled.values is None:  # summed: the earliest spike carries the largest value
        return pooled
    spikes = pooled.spikes if pooled.spikes is not None else (pooled.values != 0)  # a spike's value is never 0
    fired = (spikes.cumsum(0) > 0).to(pooled.values.dtype)
    first = fired - torch.cat([torch.zeros_like(fired[:1]), fired[:-1]])
    values = pooled.values.amax(0, keepdim=True).expand_as(first) * first
    return Train(values, first)
