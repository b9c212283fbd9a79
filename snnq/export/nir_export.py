"""NIR export of an snnq integer network (``snnq export nir RUN_DIR FILE``), keeping its quantization.

Every value in the graph is an integer in the units of the IR (`snnq.hardware.ir`): weights are the integers the
hardware accumulates (``W_int 2^shift``, the codes for linear synapses), biases and thresholds are integer codes,
inputs are the input quantizer's integer codes, and the outputs are integer scores; the real values follow from
the scales in the metadata (``value = W_int * factor * weight_scale``, ``real score = score * output_unit``).
Integer values make the graph exact in any float arithmetic wide enough for them (float32: below 2^24, which
the graph's metadata states as ``float32_exact``).

Two forms (``form=``):

``levels`` (default for the layerwise schedule and for one-step networks): one time step, no state. A neuron
layer of the layerwise schedule emits, per element, a value that is a sum of binary *levels* ``[I >= a_k]`` of its
integrated input ``I``: a rate burst has ``n = #{k : sat(I + initial) >= (k + 1) theta}`` spikes, a scatter-gather
group counts its thresholds ``theta + k spacing``, a time-to-first-spike neuron fires at the first ``k`` with
``sat(I) >= table[k]`` and is worth ``2^(T-1-k) = sum_{j >= k} c_j`` with ``c_{T-1} = 1``, ``c_j = 2^(T-2-j)``. Each
level becomes one output channel of the synaptic node (channels level-major: ``k C + c``) with the bias
``b - a_k + 1`` and a one-step NIR ``LIF`` with threshold 1/2 (``tau = 2 dt``, ``r = 2``: ``v = I'`` at the first
step, in snnTorch, SpikingJelly and NIR's own equations alike); the next synaptic node takes every level with the
weight ``c_k W``. Max pooling of such levels is a per-level OR: ``AvgPool2d`` and a one-step ``LIF`` at ``1/(2 k^2)``.
Average (sum) pooling is NIR ``AvgPool2d`` with ``k^2`` folded into the next weights. Saturation is exact too:
a level above the membrane's range never fires. Exact in snnq's import, in SpikingJelly's (``dtype=torch.float64``
where the integers pass 2^24) and in snnTorch's where they fit float32 (its importer maps NIR's ``Flatten(start_dim=0)``
onto the batch axis too, so it takes one image per call).

``native`` (default for the parallel schedule with ``T > 1``): one NIR node per IR layer, run for ``T`` steps:
``IF`` (``r = 1/dt``), ``LIF`` (``tau = 2^k dt`` for the shift leak ``u -= u >> k``), ``Threshold`` for stateless
units, with the snnq semantics NIR cannot state in the node metadata: reset by subtraction (NIR resets to
``v_reset``), the initial membrane (NIR has none), ``>=`` (NIR's threshold is ``v > v_thr``, so it holds
``theta - 1/2``), saturation, the once-only firing of TTFS, scatter-gather levels. `snnq.export.import_nir` honours
them and is exact; snnTorch (which maps ``IF`` to a leaky neuron with beta 0.9 and requires ``r = 1``) and
SpikingJelly (which resets ``IF`` to ``v_reset``) are not, which `portability` states and `export_nir` warns about
(``strict=True`` refuses).

NIR has no max pooling node: the ``native`` form refuses max pooling of multi-step networks unless stateless
(a per-step OR, NIR ``Threshold``, which neither framework imports), and the ``levels`` form needs binary levels
before it. Layers that have no NIR counterpart are listed by `NIRUnsupportedError`.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.export.errors import ExportError, NIRUnsupportedError, refuse_level_thresholds
from snnq.hardware.ir import INPUT, AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, Network, Neuron, WeightedLayer

DT = 1e-4
"""The time step (s) that NIR importers assume for one step (snnTorch, SpikingJelly, Norse)."""
FORMS = ("levels", "native")
FORMAT = "snnq-nir"
FORMAT_VERSION = 1
FLOAT32_EXACT = 2**24


def _nir() -> Any:
    try:
        import nir
    except ImportError as error:  # pragma: no cover - nir is an optional dependency
        raise ExportError("NIR export needs the 'nir' package (pip install 'snnq[nir]')") from error
    return nir


def _meta(**facts: Any) -> dict[str, str]:
    return {"snnq": json.dumps(facts, sort_keys=True, default=_jsonable)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"not JSON-serialisable: {type(value).__name__}")


def read_meta(node: Any) -> dict[str, Any] | None:
    """The snnq facts stored in a NIR node's (or graph's) metadata, or None."""
    text = (getattr(node, "metadata", None) or {}).get("snnq")
    if text is None:
        return None
    return json.loads(text.decode() if isinstance(text, bytes) else str(text))


def _floats(values: np.ndarray, dtype: type) -> np.ndarray:
    return np.asarray(values, dtype=np.int64).astype(dtype)


@dataclass
class _Builder:
    """Nodes and edges of a sequential NIR graph, built layer by layer."""

    nir: Any
    nodes: dict[str, Any] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    magnitude: int = 0

    def add(self, name: str, node: Any) -> None:
        key = name
        while key in self.nodes:
            key += "_"
        self.nodes[key] = node
        self.order.append(key)

    def see(self, weight: np.ndarray, bias: np.ndarray, input_bound: int) -> None:
        """Records the largest integer a synaptic node can produce: ``max_o sum_i |W[o, i]| input_bound + |b[o]|``."""
        w = np.abs(np.asarray(weight, dtype=np.int64)).reshape(weight.shape[0], -1)
        worst = w.sum(axis=1) * input_bound + np.abs(np.asarray(bias, dtype=np.int64))
        self.magnitude = max(self.magnitude, int(worst.max(initial=0)), int(w.max(initial=0)))

    def graph(self, metadata: dict[str, str]) -> Any:
        names = self.order
        edges = [(a, b) for a, b in zip(names[:-1], names[1:])]
        return self.nir.NIRGraph(nodes=dict(self.nodes), edges=edges, metadata=metadata)


def _one_step_lif(nir: Any, shape: tuple[int, ...], threshold: float, meta: dict[str, str]) -> Any:
    """A NIR LIF that, from rest, fires at its first step when its input exceeds ``threshold`` (see the module docstring)."""
    full = lambda v: np.full(shape, v, dtype=np.float64)  # noqa: E731
    return nir.LIF(tau=full(2 * DT), r=full(2.0), v_leak=full(0.0), v_threshold=full(threshold), v_reset=full(0.0), metadata=meta)


def _weighted_meta(layer: WeightedLayer, **extra: Any) -> dict[str, Any]:
    _, factor = layer.integer_weight()
    scale = layer.weight_scale
    return {"layer": layer.name, "weight_bits": layer.weight_bits, "synapse": layer.synapse, "integer_weight_factor": factor,
            "weight_scale": scale.tolist() if isinstance(scale, np.ndarray) else scale, "shift": getattr(layer, "shift", 0),
            "rounding": "half_up (the quantizers' rounding at export; none at run time)", **extra}


def _expand_inputs(weight: np.ndarray, values: list[int] | None, fold: int) -> np.ndarray:
    """Weights for a level-expanded input: ``[c_0 W, c_1 W, ...]`` along the input axis (axis 1), times ``fold``."""
    w = weight.astype(np.int64) * fold
    if values is None:
        return w
    return np.concatenate([c * w for c in values], axis=1)  # conv: input channels; dense: the flattened (k, c, y, x)


# ---------------------------------------------------------------------------------------------------------------
# levels form
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Levels:
    """The binary levels a neuron layer's output is made of: ``a`` ``[L, C]`` integer input thresholds (``I >= a``),
    ``state`` ``[L, C]`` (1 normal, 0 never fires, 2 always fires) and ``values`` ``[L]``, each level's worth."""

    a: np.ndarray
    state: np.ndarray
    values: list[int]


def _per_channel(neuron: Neuron, layer: Layer, field: str) -> np.ndarray:
    value = np.asarray(getattr(neuron, field), dtype=np.int64)
    channels = layer.output_shape[0]
    if value.ndim == 0:
        return np.full(channels, int(value))
    if value.ndim == 1:
        return value
    if len(layer.output_shape) == 1:
        return value.reshape(-1)
    raise NIRUnsupportedError("NIR export", [(layer.name, layer.kind, f"per-element {field}s of a convolution (a NIR bias is per channel)")])


def _levels(network: Network, layer: Layer, neuron: Neuron) -> Levels:
    """The levels of ``layer``'s neurons (equations in the module docstring)."""
    hi, lo = 2 ** (neuron.membrane_bits - 1) - 1, -(2 ** (neuron.membrane_bits - 1))
    theta = _per_channel(neuron, layer, "threshold")
    initial = _per_channel(neuron, layer, "initial")
    steps = network.time_steps
    layerwise = network.schedule == "layerwise"
    if layerwise and neuron.kind == "if":
        reach = np.stack([(t + 1) * theta for t in range(steps)])
        return _levels_of(reach, reach - initial, [1] * steps, hi, lo)
    if layerwise and neuron.kind == "sg_stateless":
        spacing = _per_channel(neuron, layer, "spacing")
        reach = np.stack([theta + k * spacing for k in range(neuron.levels)])
        return _levels_of(reach, reach, [1] * neuron.levels, hi, lo)
    if layerwise and neuron.kind == "ttfs" and neuron.step_thresholds is not None:
        table = np.asarray(neuron.step_thresholds, dtype=np.int64)
        table = np.broadcast_to(table.reshape(steps, -1), (steps, layer.output_shape[0]))
        if np.any(np.diff(table, axis=0) > 0):
            raise NIRUnsupportedError("NIR export", [(layer.name, layer.kind, "ttfs step thresholds that rise with time (levels need a non-increasing table)")])
        values = [2 ** (steps - 2 - t) for t in range(steps - 1)] + [1]
        return _levels_of(table, table, values, hi, lo)
    if layerwise:
        raise NIRUnsupportedError("NIR export", [(layer.name, layer.kind, f"{neuron.kind!r} neurons on the layerwise schedule")])
    if steps != 1:
        raise ExportError(f"the levels form needs the layerwise schedule or one time step; {network.name!r} runs {steps} parallel steps (use form='native')")
    if neuron.kind == "lif":
        reach = theta[None]
        return _levels_of(reach, reach - (initial - (initial >> neuron.leak_shift)), [1], hi, lo)
    if neuron.kind == "sg_stateless":  # the parallel schedule compares with the first threshold only (as simulate does)
        return _levels_of(theta[None], theta[None], [1], hi, lo)
    return _levels_of(theta[None], theta[None] - initial, [1], hi, lo)


def _levels_of(reach: np.ndarray, a: np.ndarray, values: list[int], hi: int, lo: int) -> Levels:
    """``sat(x) >= reach`` is ``x >= a`` when ``lo < reach <= hi``; never when ``reach > hi``; always when ``reach <= lo``."""
    state = np.where(reach > hi, 0, np.where(reach <= lo, 2, 1))
    return Levels(np.asarray(a, dtype=np.int64), state, list(values))


def _levels_graph(network: Network, dtype: type) -> tuple[_Builder, list[str]]:
    nir = _nir()
    b = _Builder(nir)
    notes: list[str] = []
    problems: list[tuple[str, str, str]] = []
    b.add("input", nir.Input(input_type={"input": np.array(network.input_shape)}))
    values: list[int] | None = None  # the levels of the current signal (None: plain integers)
    fold = 1  # sum-pooling divisors to fold into the next weights
    channels = network.input_shape[0]
    previous = INPUT
    for layer in network.layers:
        if layer.inputs != (previous,):
            problems.append((layer.name, layer.kind, f"reads {layer.inputs}; NIR export handles chains of layers"))
        previous = layer.name
        levels_in = 1 if values is None else len(values)
        if isinstance(layer, Flatten):
            shape = (levels_in * layer.input_shape[0],) + tuple(layer.input_shape[1:])
            b.add(layer.name, nir.Flatten(input_type={"input": np.array(shape)}, start_dim=0, end_dim=-1, metadata=_meta(layer=layer.name)))
            channels = int(np.prod(shape)) // levels_in
            continue
        if isinstance(layer, (AvgPool2d, MaxPool2d)):
            if layer.neuron is not None:
                problems.append((layer.name, layer.kind, "a neuron on a pooling layer"))
                continue
            kernel, stride, padding = (np.array(v) for v in (layer.kernel, layer.stride, layer.padding))
            area = int(np.prod(kernel))
            shape = (levels_in * layer.output_shape[0],) + tuple(layer.output_shape[1:])
            if isinstance(layer, MaxPool2d):
                if values is None:
                    problems.append((layer.name, layer.kind, "max pooling of plain integers (NIR has no max pooling; binary levels are pooled by an OR)"))
                    continue
                b.add(layer.name, nir.AvgPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role="max pooling of binary levels: window mean, then > 1/(2 k^2) is an OR")))
                b.add(f"{layer.name}.or", _one_step_lif(nir, shape, 1.0 / (2 * area), _meta(layer=layer.name, role="OR of the window")))
            elif area & (area - 1) == 0:
                b.add(layer.name, nir.AvgPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role=f"sum pooling: the window mean, times {area} in the next weights")))
                fold *= area
            else:
                b.add(layer.name, nir.SumPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role="sum pooling")))
                notes.append(f"{layer.name}: a {area}-element window has no exact mean; written as SumPool2d, which snnTorch and SpikingJelly do not import")
            continue
        if not isinstance(layer, (Conv2d, Dense)):
            problems.append((layer.name, layer.kind, "no NIR counterpart (NIR export handles conv2d, dense, pooling and flatten)"))
            continue
        w_int, _ = layer.integer_weight()
        weight = _expand_inputs(w_int << getattr(layer, "shift", 0), values, fold)
        fold = 1
        input_bound = (2**network.input_bits - 1) * network.time_steps if values is None else 1
        bias = np.zeros(layer.output_shape[0], dtype=np.int64) if layer.bias is None else layer.bias.astype(np.int64)
        if isinstance(layer, Conv2d) and layer.groups != 1:
            problems.append((layer.name, layer.kind, f"groups={layer.groups} with level-expanded inputs"))
            continue
        neuron = layer.neuron
        if neuron is None:
            node_meta = _meta(**_weighted_meta(layer, role="output: its integers are the scores", input_levels=values))
            b.see(weight, bias, input_bound)
            b.add(layer.name, _synapse_node(nir, layer, weight, bias, dtype, node_meta))
            values = None
            continue
        levels = _levels(network, layer, neuron)
        count = len(levels.values)
        tiled_w = np.concatenate([weight * (levels.state[k] == 1).reshape((-1,) + (1,) * (weight.ndim - 1)) for k in range(count)])
        shifted = [np.where(levels.state[k] == 1, bias - levels.a[k] + 1, np.where(levels.state[k] == 2, 1, -1)) for k in range(count)]
        tiled_b = np.concatenate(shifted)
        b.see(tiled_w, tiled_b, input_bound)
        facts = _weighted_meta(layer, input_levels=values, role=f"{count} binary levels per output channel, level-major (k C + c)",
                               neuron={"kind": neuron.kind, "membrane_bits": neuron.membrane_bits, "levels": count, "level_values": levels.values,
                                       "level_thresholds": levels.a.tolist(), "level_state": levels.state.tolist()})
        b.add(layer.name, _synapse_node(nir, layer, tiled_w, tiled_b, dtype, _meta(**facts)))
        shape = (count * layer.output_shape[0],) + tuple(layer.output_shape[1:])
        b.add(f"{layer.name}.neuron", _one_step_lif(nir, shape, 0.5, _meta(layer=layer.name, role="a level fires when its shifted input is >= 1")))
        values = levels.values
        channels = layer.output_shape[0]
    if problems:
        raise NIRUnsupportedError(f"NIR export of {network.name!r} (levels form)", problems)
    if values is not None:
        raise ExportError(f"{network.name!r} ends with neurons; NIR export needs an output layer without neurons (its integers are the scores)")
    del channels
    b.add("output", nir.Output(output_type={"output": np.array(network.output.output_shape)}))
    return b, notes


def _synapse_node(nir: Any, layer: WeightedLayer, weight: np.ndarray, bias: np.ndarray, dtype: type, meta: dict[str, str]) -> Any:
    if isinstance(layer, Conv2d):
        return nir.Conv2d(input_shape=tuple(int(v) for v in layer.input_shape[1:]), weight=_floats(weight, dtype), stride=layer.stride,
                          padding=layer.padding, dilation=1, groups=layer.groups, bias=_floats(bias, dtype), metadata=meta)
    return nir.Affine(weight=_floats(weight, dtype), bias=_floats(bias, dtype), metadata=meta)


# ---------------------------------------------------------------------------------------------------------------
# native form
# ---------------------------------------------------------------------------------------------------------------
def _native_neuron(nir: Any, layer: Layer, neuron: Neuron, network: Network) -> Any:
    shape = tuple(layer.output_shape)
    theta = neuron.threshold_for(shape).astype(np.float64)
    facts = {"layer": layer.name, "kind": neuron.kind, "threshold": np.asarray(neuron.threshold), "initial": np.asarray(neuron.initial),
             "membrane_bits": neuron.membrane_bits, "leak_shift": neuron.leak_shift, "levels": neuron.levels if network.schedule == "layerwise" else 1,
             "spacing": np.asarray(neuron.spacing), "reset": "subtract", "compare": ">=", "saturation": "signed membrane_bits",
             "once": neuron.kind == "ttfs", "v_threshold": "threshold - 1/2 (NIR fires on v > v_threshold)"}
    meta = _meta(**facts)
    zeros = np.zeros(shape)
    if neuron.kind == "sg_stateless":
        return nir.Threshold(threshold=theta - 0.5, metadata=meta)
    if neuron.kind == "lif":
        tau = np.full(shape, DT * 2**neuron.leak_shift)
        return nir.LIF(tau=tau, r=np.full(shape, float(2**neuron.leak_shift)), v_leak=zeros, v_threshold=theta - 0.5, v_reset=zeros, metadata=meta)
    return nir.IF(r=np.full(shape, 1.0 / DT), v_threshold=theta - 0.5, v_reset=zeros, metadata=meta)


def _native_graph(network: Network, dtype: type) -> tuple[_Builder, list[str]]:
    nir = _nir()
    if network.schedule != "parallel":
        raise ExportError(f"{network.name!r} runs the layerwise schedule, which NIR nodes cannot state; use form='levels' (exact, one step)")
    b = _Builder(nir)
    problems: list[tuple[str, str, str]] = []
    notes: list[str] = []
    b.add("input", nir.Input(input_type={"input": np.array(network.input_shape)}))
    fold = 1
    previous = INPUT
    for layer in network.layers:
        if layer.inputs != (previous,):
            problems.append((layer.name, layer.kind, f"reads {layer.inputs}; NIR export handles chains of layers"))
        previous = layer.name
        if isinstance(layer, Flatten):
            b.add(layer.name, nir.Flatten(input_type={"input": np.array(layer.input_shape)}, start_dim=0, end_dim=-1))
            continue
        if isinstance(layer, (AvgPool2d, MaxPool2d)):
            kernel, stride, padding = (np.array(v) for v in (layer.kernel, layer.stride, layer.padding))
            area = int(np.prod(kernel))
            if layer.neuron is not None:
                problems.append((layer.name, layer.kind, "a neuron on a pooling layer"))
            elif isinstance(layer, MaxPool2d):
                b.add(layer.name, nir.AvgPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role="max pooling of spikes: mean, then the OR below")))
                b.add(f"{layer.name}.or", nir.Threshold(threshold=np.full(layer.output_shape, 1.0 / (2 * area)), metadata=_meta(layer=layer.name, role="per-step OR of binary spikes")))
                notes.append(f"{layer.name}: max pooling of spikes as a stateless NIR Threshold, which snnTorch and SpikingJelly do not import")
            elif area & (area - 1) == 0:
                b.add(layer.name, nir.AvgPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role=f"sum pooling: the mean, times {area} in the next weights")))
                fold *= area
            else:
                b.add(layer.name, nir.SumPool2d(kernel_size=kernel, stride=stride, padding=padding, metadata=_meta(layer=layer.name, role="sum pooling")))
            continue
        if not isinstance(layer, (Conv2d, Dense)):
            problems.append((layer.name, layer.kind, "no NIR counterpart (NIR export handles conv2d, dense, pooling and flatten)"))
            continue
        w_int, _ = layer.integer_weight()
        weight = _expand_inputs(w_int << getattr(layer, "shift", 0), None, fold)
        fold = 1
        bias = np.zeros(layer.output_shape[0], dtype=np.int64) if layer.bias is None else layer.bias.astype(np.int64)
        b.see(weight, bias, 2**network.input_bits - 1 if layer.inputs == (INPUT,) else 1)
        b.add(layer.name, _synapse_node(nir, layer, weight, bias, dtype, _meta(**_weighted_meta(layer))))
        if layer.neuron is not None:
            b.magnitude = max(b.magnitude, 2 ** (layer.neuron.membrane_bits - 1))
            b.add(f"{layer.name}.neuron", _native_neuron(nir, layer, layer.neuron, network))
    if problems:
        raise NIRUnsupportedError(f"NIR export of {network.name!r} (native form)", problems)
    b.add("output", nir.Output(output_type={"output": np.array(network.output.output_shape)}))
    return b, notes


FORM_BUILDERS: Mapping[str, Callable[[Network, type], tuple[_Builder, list[str]]]] = MappingProxyType(
    {"levels": _levels_graph, "native": _native_graph}
)


def default_form(network: Network) -> str:
    """``levels`` for the layerwise schedule and one-step networks (exact everywhere), else ``native``."""
    return "levels" if network.schedule == "layerwise" or network.time_steps == 1 else "native"


def portability(network: Network, form: str, *, magnitude: int = 0) -> dict[str, str]:
    """Why snnTorch's and SpikingJelly's NIR importers would not reproduce the exported graph exactly (empty: they do).

    ``magnitude``: the largest integer the graph computes; beyond 2^24, float32 rounds it, and snnTorch's importer
    builds float32 layers (SpikingJelly's takes ``dtype=torch.float64``).
    """
    wide = {}
    if magnitude >= FLOAT32_EXACT:
        wide["snntorch"] = (f"its integers reach {magnitude} > 2^24, which float32 does not hold exactly, and snnTorch's "
                            "importer builds float32 layers (SpikingJelly's is exact with dtype=torch.float64)")
    if form == "levels":
        return wide
    reasons = []
    neurons = {layer.neuron.kind for layer in network.layers if layer.neuron is not None}
    if network.time_steps > 1 and neurons & {"if", "lif", "ttfs"}:
        reasons.append("NIR IF/LIF neurons reset to v_reset and start at rest; snnq's reset by subtraction and initial membrane "
                       "are only in the metadata, and more than one step makes them matter")
    if any(isinstance(layer, MaxPool2d) for layer in network.layers) or "sg_stateless" in neurons:
        reasons.append("stateless NIR Threshold nodes (max pooling of spikes, scatter-gather units) are imported by neither framework")
    text = "; ".join(reasons)
    out = dict(wide)
    if text:
        out["spikingjelly"] = text
        out["snntorch"] = "; ".join(filter(None, [text, "snnTorch also maps NIR IF to a leaky neuron (beta 0.9) and needs r = 1", wide.get("snntorch")]))
    return out


def nir_graph(network: Network, *, form: str = "auto", dtype: type | None = None) -> Any:
    """The NIR graph of an IR ``network`` (see the module docstring); ``dtype``: float32 when every value fits 2^24, else float64."""
    refuse_level_thresholds(network, "NIR export")
    if form == "auto":
        form = default_form(network)
    if form not in FORMS:
        from snnq.errors import UnknownNameError

        raise UnknownNameError("NIR export form", form, FORMS)
    builder, notes = FORM_BUILDERS[form](network, dtype or np.float64)
    exact32 = builder.magnitude < FLOAT32_EXACT
    if dtype is None and exact32:  # float32 holds every integer of the graph: write the smaller arrays
        for node in builder.nodes.values():
            for attr in ("weight", "bias"):
                value = getattr(node, attr, None)
                if isinstance(value, np.ndarray) and value.dtype == np.float64:
                    setattr(node, attr, value.astype(np.float32))
    not_exact = portability(network, form, magnitude=builder.magnitude)
    metadata = _meta(
        format=FORMAT, format_version=FORMAT_VERSION, network=network.name, form=form, coding=network.coding, schedule=network.schedule,
        time_steps=network.time_steps, steps_to_run=1 if form == "levels" else network.time_steps, input_bits=network.input_bits,
        input_shape=list(network.input_shape), output_unit=network.metadata.get("output_unit"), units="integer",
        inputs=("the integer input codes summed over the T steps, fed once" if form == "levels" else "the integer input codes of every step"),
        outputs=("the integer scores" if form == "levels" else "integers per step; the scores are their sum over the steps"),
        dt=DT, max_magnitude=builder.magnitude, float32_exact=exact32,
        exact_in=["nir", "snnq"] + [name for name in ("snntorch", "spikingjelly") if name not in not_exact],
        not_exact_in=not_exact, notes=notes, ir_metadata=json.loads(json.dumps(dict(network.metadata))),
    )
    return builder.graph(metadata)


def _load_network(source: Any, input_shape: tuple[int, ...] | None) -> Network:
    if isinstance(source, Network):
        return source
    if isinstance(source, (str, os.PathLike)):
        from snnq.hardware.ir_io import load_ir

        return load_ir(source)
    from snnq.conversion.network import SpikingNetwork

    if isinstance(source, SpikingNetwork):
        if input_shape is None:
            raise ExportError("exporting a SpikingNetwork needs input_shape= (one input without the batch, e.g. (1, 28, 28))")
        from snnq.conversion.to_ir import to_ir

        return to_ir(source, input_shape=tuple(input_shape), name=type(source).__name__.lower())
    raise ExportError(f"cannot export a {type(source).__name__}: give a run directory, an IR Network or a converted SpikingNetwork")


def _graph_of(source: Any, form: str, input_shape: tuple[int, ...] | None) -> Any:
    """A run directory, an IR network or a converted SpikingNetwork through the IR; a trained sequential SNN directly."""
    from torch import nn

    from snnq.conversion.network import SpikingNetwork

    if isinstance(source, nn.Module) and not isinstance(source, SpikingNetwork):
        from snnq.export.nir_module import module_graph

        if input_shape is None:
            raise ExportError("exporting a trained network needs input_shape= (one input without time and batch)")
        return module_graph(source, tuple(input_shape), name=type(source).__name__.lower())
    return nir_graph(_load_network(source, input_shape), form=form)


def export_nir(source: Any, path: str | os.PathLike[str], *, form: str = "auto", input_shape: tuple[int, ...] | None = None,
               strict: bool = False) -> Path:
    """Writes the NIR file of ``source``: a run directory, an IR `Network`, a converted ``SpikingNetwork`` (with
    ``input_shape``), or a directly trained sequential snnq SNN (with ``input_shape``; `snnq.export.nir_module`).

    Warns (or with ``strict=True`` raises `ExportError`) when snnTorch's or SpikingJelly's importer will not reproduce the
    graph exactly (`portability`); the reasons are also in the graph's metadata (``not_exact_in``).
    """
    graph = _graph_of(source, form, input_shape)
    facts = read_meta(graph) or {}
    if facts.get("not_exact_in"):
        message = (f"NIR export of {facts.get('network')!r}: exact in {', '.join(facts['exact_in'])}; not in "
                   + "; ".join(f"{k} ({v})" for k, v in facts["not_exact_in"].items()))
        if strict:
            raise ExportError(message)
        warnings.warn(message, stacklevel=2)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.close(handle)
    try:
        _nir().write(tmp, graph, compression="gzip", compression_opts=1)  # level 1: twice as fast as NIR's default, a few % larger
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def graph_inputs(graph: Any, inputs: np.ndarray) -> np.ndarray:
    """What an exported graph takes for the IR's integer inputs ``[T, B, ...]``: their sum over steps ``[1, B, ...]``
    for the levels form (one step), the inputs themselves for the native form."""
    x = np.asarray(inputs, dtype=np.int64)
    return x.sum(axis=0, keepdims=True) if (read_meta(graph) or {}).get("form") == "levels" else x

