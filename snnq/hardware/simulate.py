"""A small exact integer simulator of an IR network over T time steps (numpy), and calibration of its activity.

It is the reference the hardware models are held to: the crossbar simulation replaces only the synaptic
matrix products (`SynapseOp`), so with no non-idealities it reproduces these integers exactly. Layers run one
after another over all T steps at once (the network is feed-forward, so this equals running step by step),
then each layer's neurons update step by step with the integer rules of `snnq.hardware.ir.Neuron`.

Inputs are integer tensors ``[T, B, *input_shape]`` (spike trains, or multi-level input drivers);
`rate_encode` turns integer intensities ``a in [0, T]`` into evenly spaced spike trains with exactly ``a`` spikes.
The network's scores are the last layer's outputs summed over the T steps; the prediction is their argmax.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from snnq.hardware.errors import IRError
from snnq.hardware.ir import INPUT, Activity, Conv2d, Layer, Network, Neuron, WeightedLayer

SynapseOp = Callable[[WeightedLayer, int, np.ndarray], np.ndarray]
"""``op(layer, group, x) -> currents``: ``x`` int64 ``[N, P, rows]`` (P positions) to int64 ``[N, P, cols]``, bias excluded."""

_EXACT_FLOAT = 2.0**52


def rate_encode(values: np.ndarray, time_steps: int) -> np.ndarray:
    """Spike trains ``[T, *values.shape]`` (int8) with exactly ``values`` spikes each, evenly spaced.

    ``s[t] = floor((t + 1) a / T) - floor(t a / T)`` for integers ``a in [0, T]``.
    """
    a = np.asarray(values)
    if not np.issubdtype(a.dtype, np.integer) or a.min(initial=0) < 0 or a.max(initial=0) > time_steps:
        raise IRError(f"rate_encode needs integers in [0, {time_steps}]")
    t = np.arange(time_steps + 1).reshape((-1,) + (1,) * a.ndim)
    cumulative = (t * a.astype(np.int64)) // time_steps
    return np.diff(cumulative, axis=0).astype(np.int8)


def integer_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` exactly in integers: through float64 (BLAS) when no partial sum can reach 2^52, else int64."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).max(initial=0)) * w.shape[0]
    if bound < _EXACT_FLOAT:
        return np.rint(x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.astype(np.int64)


def weight_matrix(layer: WeightedLayer, group: int) -> np.ndarray:
    """The unrolled integer weight matrix of one group: ``[rows, cols]`` (rows ordered channel, kernel row, kernel column)."""
    w, _ = layer.integer_weight()
    groups, rows, cols = layer.matrix_shape()
    return w[group * cols : (group + 1) * cols].reshape(cols, rows).T


def exact_synapse_op(layer: WeightedLayer, group: int, x: np.ndarray) -> np.ndarray:
    """The ideal synaptic product: an exact integer matrix product."""
    return integer_matmul(x, weight_matrix(layer, group))


def unfold(layer: WeightedLayer, x: np.ndarray) -> np.ndarray:
    """``[groups, N, P, rows]`` input patches of a weighted layer (im2col; zero padding)."""
    if not isinstance(layer, Conv2d):
        return x.reshape(1, x.shape[0], 1, -1)
    n, c, _, _ = x.shape
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    _, ho, wo = layer.output_shape
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    win = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
    g = layer.groups
    win = win.reshape(n, g, c // g, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
    return win.reshape(g, n, ho * wo, (c // g) * kh * kw)


def _weighted(layer: WeightedLayer, inputs: list[np.ndarray], op: SynapseOp, stats: dict[str, float]) -> np.ndarray:
    x = inputs[0]
    patches = unfold(layer, x)
    groups, _, cols = layer.matrix_shape()
    out = np.stack([op(layer, g, patches[g]) for g in range(groups)])  # [G, N, P, cols]
    stats["synops"] = float(np.abs(patches).sum(dtype=np.int64)) * cols
    n = x.shape[0]
    out = out.transpose(1, 0, 3, 2).reshape((n,) + layer.output_shape)
    if layer.shift:
        out = np.left_shift(out, layer.shift)
    if layer.bias is not None:
        out = out + layer.bias.astype(np.int64).reshape((-1,) + (1,) * (len(layer.output_shape) - 1))
    return out


def _pool_windows(layer: Any, x: np.ndarray, fill: int) -> np.ndarray:
    (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
    _, ho, wo = layer.output_shape
    padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    return sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]


def _maxpool(layer: Any, inputs: list[np.ndarray], op: SynapseOp, stats: dict[str, float]) -> np.ndarray:
    return _pool_windows(layer, inputs[0], int(np.iinfo(inputs[0].dtype).min)).max(axis=(-2, -1))


def _avgpool(layer: Any, inputs: list[np.ndarray], op: SynapseOp, stats: dict[str, float]) -> np.ndarray:
    return _pool_windows(layer, inputs[0], 0).sum(axis=(-2, -1), dtype=np.int64)


def _flatten(layer: Layer, inputs: list[np.ndarray], op: SynapseOp, stats: dict[str, float]) -> np.ndarray:
    return inputs[0].reshape(inputs[0].shape[0], -1)


def _add(layer: Layer, inputs: list[np.ndarray], op: SynapseOp, stats: dict[str, float]) -> np.ndarray:
    return np.sum(np.stack(inputs), axis=0, dtype=np.int64)


FORWARD: Mapping[str, Callable[..., np.ndarray]] = MappingProxyType(
    {"dense": _weighted, "conv2d": _weighted, "maxpool2d": _maxpool, "avgpool2d": _avgpool, "flatten": _flatten, "add": _add}
)
"""Integer forward function of each layer kind: ``f(layer, inputs [N, *shape], op, stats) -> [N, *output_shape]``."""


def _integrate(u: np.ndarray, i: np.ndarray, neuron: Neuron) -> np.ndarray:
    return u + i


def _leaky(u: np.ndarray, i: np.ndarray, neuron: Neuron) -> np.ndarray:
    return u - (u >> neuron.leak_shift) + i


def _stateless(u: np.ndarray, i: np.ndarray, neuron: Neuron) -> np.ndarray:
    return i


NEURON_CHARGE: Mapping[str, Callable[[np.ndarray, np.ndarray, Neuron], np.ndarray]] = MappingProxyType(
    {"if": _integrate, "lif": _leaky, "sg_stateless": _stateless, "ttfs": _integrate}
)
"""Charge rule of each neuron kind (before saturation); fire and reset are shared (`run_neurons`)."""


def run_neurons(neuron: Neuron, current: np.ndarray) -> np.ndarray:
    """Spikes ``[T, B, *shape]`` (int8) of integer neurons driven by ``current`` ``[T, B, *shape]``."""
    shape = current.shape[2:]
    if neuron.level_thresholds is not None:
        raise IRError("sg_stateless neurons with level_thresholds run on the layerwise schedule only")
    theta = neuron.threshold_for(shape).astype(np.int64)
    low, high = -(2 ** (neuron.membrane_bits - 1)), 2 ** (neuron.membrane_bits - 1) - 1
    charge = NEURON_CHARGE[neuron.kind]
    u = np.broadcast_to(neuron.threshold_for(shape, "initial"), current.shape[1:]).astype(np.int64)
    may_fire = np.ones(current.shape[1:], dtype=bool)
    spikes = np.zeros(current.shape, dtype=np.int8)
    once = neuron.kind == "ttfs"
    for t in range(current.shape[0]):
        u = np.clip(charge(u, current[t], neuron), low, high)
        fire = (u >= theta) & may_fire
        u = u - theta * fire
        spikes[t] = fire
        if once:
            may_fire &= ~fire
    return spikes


def _parallel_layer(network: Network, layer: Layer, inputs: list[np.ndarray], op: SynapseOp) -> tuple[np.ndarray, float]:
    """Every step through the layer (bias at every step), then the neurons step by step."""
    steps, batch = inputs[0].shape[:2]
    stats: dict[str, float] = {"synops": 0.0}
    flat = [x.reshape((steps * batch,) + x.shape[2:]) for x in inputs]
    y = FORWARD[layer.kind](layer, flat, op, stats).reshape((steps, batch) + layer.output_shape)
    if layer.neuron is not None:
        y = run_neurons(layer.neuron, y)
    return y, stats["synops"]


def _time_values(network: Network, steps: int) -> np.ndarray | None:
    """The integer value of a spike at each step: ``2^(T-1-t)`` for time-to-first-spike coding, else None (1)."""
    if network.coding != "ttfs":
        return None
    return np.left_shift(np.int64(1), np.arange(steps - 1, -1, -1, dtype=np.int64))


def _layerwise_layer(network: Network, layer: Layer, inputs: list[np.ndarray], op: SynapseOp) -> tuple[np.ndarray, float]:
    """A weighted layer integrates its input window (spikes times their value, bias once); pooling, flatten and
    add act on every step; a neuron fires its window from the integrated input (`run_layerwise_neurons`).

    Outputs are trains ``[T, B, ...]``; a layer without neurons emits its integral at step 0 (the output layer's
    integral is the score)."""
    steps, batch = inputs[0].shape[:2]
    stats: dict[str, float] = {"synops": 0.0}
    if isinstance(layer, WeightedLayer):
        values = None if layer.inputs[0] == INPUT else _time_values(network, steps)  # the input is multi-level codes
        x = inputs[0] if values is None else inputs[0] * values.reshape((-1,) + (1,) * (inputs[0].ndim - 1))
        flat = x.reshape((steps * batch,) + x.shape[2:])
        bias = layer.bias
        unbiased = layer if bias is None else _without_bias(layer)
        current = FORWARD[layer.kind](unbiased, [flat], op, stats).reshape((steps, batch) + layer.output_shape).sum(axis=0)
        if values is not None:  # synaptic operations count events, not their values
            stats["synops"] = float(np.abs(unfold(layer, inputs[0].reshape(flat.shape))).sum(dtype=np.int64)) * layer.matrix_shape()[2]
        if bias is not None:
            current = current + bias.astype(np.int64).reshape((-1,) + (1,) * (len(layer.output_shape) - 1))
    else:
        flat = [v.reshape((steps * batch,) + v.shape[2:]) for v in inputs]
        if layer.kind == "maxpool2d" and network.coding == "ttfs":
            pooled = FORWARD[layer.kind](layer, flat, op, stats).reshape((steps, batch) + layer.output_shape)
            first = np.cumsum(pooled, axis=0) > 0  # the earliest input spike wins; later ones are not passed on
            y = np.diff(first.astype(np.int64), axis=0, prepend=0)
        else:
            y = FORWARD[layer.kind](layer, flat, op, stats).reshape((steps, batch) + layer.output_shape)
        if layer.neuron is None:
            return y, stats["synops"]
        current = y.sum(axis=0)
    if layer.neuron is None:
        train = np.zeros((steps, batch) + layer.output_shape, dtype=np.int64)
        train[0] = current
        return train, stats["synops"]
    return run_layerwise_neurons(layer.neuron, current, steps), stats["synops"]


def _without_bias(layer: WeightedLayer) -> WeightedLayer:
    from dataclasses import replace

    return replace(layer, bias=None)


def run_layerwise_neurons(neuron: Neuron, current: np.ndarray, steps: int) -> np.ndarray:
    """The firing window ``[T, B, *shape]`` of neurons given their integrated input ``current`` ``[B, *shape]``.

    ``if``: the membrane starts at ``sat(initial + current)`` and fires one spike per step while it holds a
    threshold, subtracting it (a burst of ``clip(floor((current + initial) / theta), 0, T)`` spikes).
    ``sg_stateless``: at step 0, the number of the group's thresholds ``theta + k spacing`` that ``sat(current)``
    reaches, or with ``level_thresholds`` ``L`` and ``polarity`` ``p``: ``sum_k [sat(p current) >= L_k]``. ``ttfs``: one spike, at the first step ``t`` with ``sat(current) >= step_thresholds[t]``.
    """
    shape = current.shape[1:]
    low, high = -(2 ** (neuron.membrane_bits - 1)), 2 ** (neuron.membrane_bits - 1) - 1
    spikes = np.zeros((steps,) + current.shape, dtype=np.int64)
    if neuron.kind == "if":
        theta = neuron.threshold_for(shape).astype(np.int64)
        u = np.clip(current.astype(np.int64) + neuron.threshold_for(shape, "initial"), low, high)
        for t in range(steps):
            fire = u >= theta
            u = u - theta * fire
            spikes[t] = fire
        return spikes
    if neuron.kind == "sg_stateless" and neuron.level_thresholds is not None:  # batch norm folded in (S1)
        u = np.clip(current.astype(np.int64) * neuron.threshold_for(shape, "polarity"), low, high)
        table = np.asarray(neuron.level_thresholds, dtype=np.int64)
        per_channel = (lambda row: row) if table.ndim == 1 else (lambda row: row.reshape((-1,) + (1,) * (len(shape) - 1)))  # noqa: E731
        spikes[0] = sum((u >= per_channel(table[k])).astype(np.int64) for k in range(neuron.levels))
        return spikes
    u = np.clip(current.astype(np.int64), low, high)
    if neuron.kind == "sg_stateless":
        theta = neuron.threshold_for(shape).astype(np.int64)
        spacing = neuron.threshold_for(shape, "spacing")
        spikes[0] = sum((u >= theta + k * spacing).astype(np.int64) for k in range(neuron.levels))
        return spikes
    if neuron.kind == "ttfs" and neuron.step_thresholds is not None:
        table = np.asarray(neuron.step_thresholds, dtype=np.int64)
        fired = np.zeros(current.shape, dtype=bool)
        for t in range(steps):
            bound = table[t] if table.ndim == 1 else table[t].reshape((-1,) + (1,) * (len(shape) - 1))
            fire = (u >= bound) & ~fired
            spikes[t] = fire
            fired |= fire
        return spikes
    raise IRError(f"{neuron.kind!r} neurons cannot run on the layerwise schedule (ttfs needs step_thresholds)")


SCHEDULE_STEP: Mapping[str, Callable[..., tuple[np.ndarray, float]]] = MappingProxyType(
    {"parallel": _parallel_layer, "layerwise": _layerwise_layer}
)
"""How one layer computes under each schedule: ``f(network, layer, inputs [T, B, ...], op) -> (output train, synops)``."""


@dataclass(frozen=True)
class SimulationResult:
    """What `simulate` returns.

    Attributes:
        scores: the last layer's outputs summed over the T steps, ``[B, *output_shape]`` (int64).
        predictions: ``argmax`` of the scores over the flattened output, ``[B]``.
        activity: measured `Activity` per layer name, and ``"input"`` for the input events.
        outputs: every layer's output ``[T, B, *shape]`` when ``record=True``, else empty.
    """

    scores: np.ndarray
    predictions: np.ndarray
    activity: Mapping[str, Activity]
    outputs: Mapping[str, np.ndarray] = field(default_factory=dict)


def _activity(y: np.ndarray, synops: float, source: str) -> Activity:
    batch = y.shape[1]
    magnitude = np.abs(y.astype(np.int64))
    per_step = magnitude.reshape(y.shape[0], batch, -1).sum(axis=2)
    return Activity(
        spikes=float(magnitude.sum()) / batch,
        synops=synops / batch,
        measured=True,
        per_neuron=magnitude.sum(axis=0).mean(axis=0),
        peak_step=float(per_step.max(initial=0)),
        source=source,
    )


def simulate(
    network: Network,
    inputs: np.ndarray,
    *,
    synapse_op: SynapseOp = exact_synapse_op,
    record: bool = False,
    source: str = "",
) -> SimulationResult:
    """Runs ``network`` on integer ``inputs`` ``[T, B, *input_shape]`` with exact integer arithmetic.

    Args:
        synapse_op: the synaptic matrix product (the crossbar simulation passes a non-ideal one).
        record: keep every layer's output in the result.
        source: text stored in the measured activities (what the inputs were).
    """
    x = np.asarray(inputs)
    if not np.issubdtype(x.dtype, np.integer):
        raise IRError(f"inputs must be integers (spike trains), got dtype {x.dtype}")
    steps, batch = network.time_steps, x.shape[1] if x.ndim > 1 else 0
    if x.shape != (steps, batch) + network.input_shape:
        raise IRError(f"inputs must have shape [T={steps}, B, *{network.input_shape}], got {x.shape}")
    values: dict[str, np.ndarray] = {INPUT: x.astype(np.int64)}
    activity: dict[str, Activity] = {INPUT: _activity(x, 0.0, source)}
    remaining = {layer.name: 0 for layer in network}
    for layer in network:
        for src in layer.inputs:
            remaining[src] = remaining.get(src, 0) + 1
    step_layer = SCHEDULE_STEP[network.schedule]
    for layer in network:
        y, synops = step_layer(network, layer, [values[src] for src in layer.inputs], synapse_op)
        values[layer.name] = y
        activity[layer.name] = _activity(y, synops, source)
        for src in layer.inputs:  # free what no later layer reads
            remaining[src] -= 1
            if remaining[src] == 0 and not record and src != network.output.name:
                values.pop(src, None)
    scores = values[network.output.name].sum(axis=0, dtype=np.int64)  # layerwise: the output's window integral
    predictions = scores.reshape(batch, -1).argmax(axis=1)
    outputs = {k: v for k, v in values.items() if k != INPUT} if record else {}
    return SimulationResult(scores=scores, predictions=predictions, activity=MappingProxyType(activity), outputs=MappingProxyType(outputs))


def calibrate(network: Network, inputs: np.ndarray, *, source: str = "calibration run") -> Network:
    """``network`` with every layer's `Activity` (and the input's) measured by running it on ``inputs``."""
    result = simulate(network, inputs, source=f"{source} ({inputs.shape[1]} samples)")
    layers = tuple(layer.with_activity(result.activity[layer.name]) for layer in network)
    return network.with_layers(layers, input_activity=result.activity[INPUT])
