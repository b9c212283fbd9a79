"""The spiking layers that take the place of a quantized ANN's activations in a converted network.

Each wraps one of snnq's registered neurons. In the layer-by-layer codings (rate, scatter-and-gather, TTFS) a
layer receives the current its synapses integrated over the previous window and emits its spikes in the next
window; in the QCFS coding every layer integrates and fires at every step.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

import snnq
from snnq.conversion.activity import Train
from snnq.neurons.base import Neuron
from snnq.quant.ste import ROUND_IN_PLACE, ROUNDING


class SpikingActivation(nn.Module):
    """The base of the replacements; ``neuron`` is the snnq neuron that produces the spikes."""

    coding = "none"
    group_axis = False
    unit: float | None = None  # what one spike is worth, in integer codes of the activation it replaced

    def __init__(self, neuron: Neuron, *, steps: int, source: str):
        super().__init__()
        self.neuron = neuron
        self.steps = steps
        self.source = source  # the replaced activation, for reports

    def fire(self, current: Tensor, *, record: bool = True, steps_needed: bool = True) -> Train:
        """Spikes for one window from the integrated input current ``[B, ...]``, step by step through the neuron
        (layer-by-layer codings). ``record=False``: nobody reads the individual spikes (an inference without an
        `Activity`); a layer may then leave them out of the train and keep what its synapses read.
        ``steps_needed=False``: what follows reads only the window's integral and counts (linear operations up to
        the next synapses), not the values of each step."""
        raise NotImplementedError

    def closed_form(self, current: Tensor) -> Train:
        """What `fire` produces, as the window's integral and spike counts, computed directly (the fast path of the
        ``window`` simulation; the tests check it against `fire`)."""
        raise NotImplementedError

    def spike_record(self, train: Train) -> Tensor:
        """The per-step spikes ``[T, B, ...]`` behind a `closed_form` result (for activity records)."""
        raise NotImplementedError

    def run(self, currents: Train) -> Train:
        """Spikes from a current at every step ``[T, B, ...]`` (integrate-and-fire at every step)."""
        raise NotImplementedError

    def pulse(self, current: Tensor, length: int) -> Tensor:
        """``[length, B, ...]`` holding ``current`` at step 0 and zeros after: the integrated charge, delivered at once."""
        train = current.new_zeros((length, *current.shape))
        train[0] = current
        return train

    def extra_repr(self) -> str:
        return f"coding={self.coding}, steps={self.steps}, source={self.source!r}"


class RateActivation(SpikingActivation):
    r"""Rate coding of an unsigned integer activation (S0): an integer IF neuron whose threshold is one code
    (``threshold = s``, the activation's step; membrane code = one step) receives the window's integrated current
    at once, ``c = floor(V / s + 1/2)`` codes, and fires one spike per step while its membrane holds a code:
    ``min(max(c, 0), N)`` spikes in the first steps of a window of ``N = 2^b - 1`` steps (a burst, so that the
    trains of a layer are thermometer codes in time and max-pooling is a per-step OR). Each spike is worth ``s``.
    """

    coding = "rate"

    def __init__(self, *, step: float, levels: int, steps: int, source: str):
        bits = max(2, levels.bit_length() + 1)
        neuron = snnq.neuron("if", threshold=step, threshold_code=1, bits=bits, reset="subtract")
        super().__init__(neuron, steps=steps, source=source)
        self.step, self.levels = step, levels
        self.unit = step

    def fire(self, current: Tensor, *, record: bool = True, steps_needed: bool = True) -> Train:
        self.neuron.reset_state()
        if not (record or steps_needed):
            counts = self.burst_counts(current)
            return Train(summed=counts * self.step, counted=counts)
        spikes = self.neuron(self.pulse(current, self.steps))
        return Train(spikes * self.step, spikes, spikes.sum(0) * self.step)

    def burst_counts(self, current: Tensor) -> Tensor:
        r"""The spikes the integer IF neuron emits over the window, step by step, without keeping each step's spikes
        (for an inference that reads only the window's counts): with the charge ``c = codes(V)`` arriving at step 0,
        ``h_0 = sat(u_0 + c)`` and no input after, every step is ``s_t = [u_t >= \theta]``, ``u_{t+1} = u_t - \theta s_t``
        (``u_t`` stays within the membrane's range, so the saturation of the later steps does nothing): the
        neuron's own step (`snnq.neurons.leaky.LeakyNeuron.step`) with zero input, three passes a step. Tested equal
        to ``fire(current).counted``."""
        grid, theta = self.neuron.membrane, self.neuron.membrane.threshold_code
        membrane = ROUND_IN_PLACE["half_up"](torch.div(current, grid.scale))  # grid.codes_of's operations, in one buffer
        membrane.clamp_(-grid.input_limit, grid.input_limit).add_(self.neuron.precharge_code).clamp_(grid.low, grid.high)
        fired = torch.ge(membrane, theta, out=torch.empty_like(membrane))  # step 0's spikes (a float 0/1 compare)
        counts = fired.clone()
        for _ in range(self.steps - 1):
            membrane.sub_(fired, alpha=theta)  # the previous step's reset by subtraction
            counts.add_(torch.ge(membrane, theta, out=fired))
        return counts

    def closed_form(self, current: Tensor) -> Train:
        count = torch.div(current, self.step).add_(0.5).floor_().clamp_(0, self.levels)  # the neuron's input rounding
        return Train(summed=count * self.step, counted=count)

    def spike_record(self, train: Train) -> Tensor:
        steps = torch.arange(self.steps, dtype=train.counted.dtype, device=train.counted.device)
        return (train.counted.unsqueeze(0) > steps.reshape(-1, *[1] * train.counted.dim())).to(train.counted.dtype)


class ScatterGatherActivation(SpikingActivation):
    r"""Scatter (S1): a stateless group of ``N`` sub-neurons with thresholds ``(k - 1/2) s``, ``k = 1..N``, fires
    the thermometer code of ``clip(R(V / s), 0, N)`` in one step (each sub-neuron at most once); the next layer
    gathers the group's count through ternary synapses.

    ``R`` is the activation quantizer's rounding, and with it the tie rule of the levels (`TIE_RULES` of the
    ``sg_stateless`` neuron): ``half_up`` (``R(v) = floor(v + 1/2)``: level ``k`` fires when ``V >= (k - 1/2) s``) or
    ``half_even`` (S1's ``tf.round``: level ``k`` fires when ``V > (k - 1/2) s``, and at equality only for even
    ``k``). The neuron computes ``R(V / s)`` with the quantizer's own division, so the count equals the quantized
    ANN's code ``clip(R(V / s), 0, N)`` for every float ``V``, ties included."""

    coding = "scatter_gather"
    group_axis = True

    def __init__(self, *, step: float, levels: int, source: str, rounding: str = "half_up"):
        bits = max(2, levels.bit_length() + 1)
        neuron = snnq.neuron("sg_stateless", levels=levels, threshold=step, spacing=step, scale=step, bits=bits, rounding=rounding)
        super().__init__(neuron, steps=1, source=source)
        self.step, self.levels, self.rounding = step, levels, rounding
        self.unit = step

    def fire(self, current: Tensor, *, record: bool = True, steps_needed: bool = True) -> Train:
        self.neuron.reset_state()
        if not record:  # every sub-neuron's comparison, added per group without storing each spike
            counts = self.neuron.group_counts(current.unsqueeze(0))
            return Train(counts * self.step, None, counts.sum(0) * self.step)
        spikes = self.neuron(current.unsqueeze(0))  # [1, B, ..., N]
        counts = spikes.sum(-1)  # each group's spikes of the step
        return Train(counts * self.step, spikes, counts.sum(0) * self.step)

    def closed_form(self, current: Tensor) -> Train:
        count = ROUNDING[self.rounding](torch.div(current, self.step)).clamp_(0, self.levels)
        return Train(summed=count * self.step, counted=count)

    def spike_record(self, train: Train) -> Tensor:
        levels = torch.arange(1, self.levels + 1, dtype=train.counted.dtype, device=train.counted.device)
        return (train.counted.unsqueeze(-1) >= levels).to(train.counted.dtype).unsqueeze(0)


class TTFSActivation(SpikingActivation):
    r"""Time-to-first-spike (S2): the neuron fires once in the window after it integrated its input, at the step
    ``t`` with ``V / x_max >= r 2^-t`` (the decision of the log2 quantizer it replaces, with its float constants),
    and the spike is worth ``x_max 2^-t``."""

    coding = "ttfs"

    def __init__(self, *, x_max: float, levels: int, rounding: str, source: str):
        neuron = snnq.neuron("ttfs", window=levels, threshold=x_max, rounding=rounding)
        super().__init__(neuron, steps=levels, source=source)
        self.x_max, self.levels = x_max, levels
        self.unit = x_max * 2.0 ** -(levels - 1)  # a spike at step t is worth 2^(levels - 1 - t) units
        self.register_buffer("values", x_max * torch.exp2(-torch.arange(levels, dtype=torch.float32)), persistent=False)

    def fire(self, current: Tensor, *, record: bool = True, steps_needed: bool = True) -> Train:
        self.neuron.reset_state()
        spikes = self.neuron(self.pulse(current, 2 * self.steps))[self.steps :]  # the firing window
        values = spikes * self.values.to(spikes.dtype).reshape(-1, *[1] * (spikes.dim() - 1))
        return Train(values, spikes)

    def closed_form(self, current: Tensor) -> Train:
        reached = self._reached_by_step(current)
        fired = reached.any(0)
        first = reached.to(torch.uint8).argmax(0)  # the first step whose threshold the potential reaches
        value = torch.where(fired, self.values.to(current.dtype)[first], torch.zeros_like(current))
        return Train(summed=value, counted=fired.to(current.dtype))

    def spike_record(self, train: Train) -> Tensor:
        steps = torch.arange(self.steps, device=train.summed.device).reshape(-1, *[1] * train.summed.dim())
        times = torch.round(-torch.log2(train.summed.clamp_min(1e-30) / self.x_max)).to(torch.long)
        return ((times.unsqueeze(0) == steps) & (train.counted.unsqueeze(0) > 0)).to(train.summed.dtype)

    def _reached_by_step(self, current: Tensor) -> Tensor:
        from snnq.neurons.ttfs import ROUND_UP_AT_FLOAT32

        bounds = ROUND_UP_AT_FLOAT32[self.neuron.rounding] * torch.exp2(-torch.arange(self.steps, dtype=torch.float64))
        ratio = (current / self.x_max).unsqueeze(0)
        return ratio >= bounds.to(current.dtype).reshape(-1, *[1] * current.dim())


class QCFSActivation(SpikingActivation):
    r"""QCFS conversion (S3 style): an IF neuron with threshold ``lambda`` (the trained clip), membrane pre-charged
    to ``lambda / 2`` and reset by subtraction integrates and fires at every step; a spike is worth ``lambda``.
    Over ``T`` steps its spike count approximates the ``L``-level clip-floor-shift activation."""

    coding = "qcfs"

    def __init__(self, *, clip: float, steps: int, source: str):
        neuron = snnq.neuron("if", threshold=clip, precharge=0.5, reset="subtract")
        super().__init__(neuron, steps=steps, source=source)
        self.clip = clip

    def run(self, currents: Train) -> Train:
        self.neuron.reset_state()
        spikes = self.neuron(currents.values)
        return Train(spikes * self.clip, spikes)


class OffChipLayer(nn.Module):
    r"""A synaptic layer computed off chip, in the host's precision: S1's full-precision first and output layers
    (``model.off_chip_layers()``).

    ``forward(x) = layer(x)``: the wrapped module's own float operation on what reaches it (the window's integral
    ``sum_t values[t]``, i.e. spike counts times their value, for spikes), exactly as the quantized ANN and its
    integer reference compute it. It is no synapse of the spiking network: the spiking network's synaptic counts
    and the hardware mapping (`snnq.conversion.to_ir`) leave it out; it stays in the end-to-end outputs and in
    `snnq.verify`.
    """

    def __init__(self, layer: nn.Module, *, source: str):
        super().__init__()
        self.layer = layer
        self.source = source

    def forward(self, x: Tensor) -> Tensor:
        return self.layer(x)

    def extra_repr(self) -> str:
        return f"off chip, source={self.source!r}"
