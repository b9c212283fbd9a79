"""NIR import into snnq: a NIR graph (file or object) as torch layers and snnq neurons (`snnq.neuron`).

`import_nir` maps every node through `NODE_BUILDERS` (a registry by NIR type name) and refuses a graph with
unsupported nodes by one `NIRUnsupportedError` that lists them all. The result, `NIRNetwork`, runs
``[T, B, *input]`` to ``[T, B, *output]``: synapses, pooling and flattening act on every step, neurons are
multi-step snnq modules whose state is cleared at each call.

Neurons: a node that carries snnq's own metadata (written by `snnq.export.export_nir`) is rebuilt with its exact
semantics: the neuron of a trained network (`snnq.export.nir_module`) from its registered name, options and learned
parameters; an IR neuron with its integer rule: ``if`` with reset by subtraction, its initial membrane and (up to 16 bits) its saturating
integer membrane; ``lif`` with its shift leak; stateless units as ``sg_stateless``; TTFS's once-only firing as a
first-spike mask. Other NIR neurons follow NIR's equations with ``dt`` per step (snnTorch's and SpikingJelly's
convention): ``IF`` ``v += r dt I``, ``LIF`` ``v = (1 - dt/tau) v + (r dt / tau) I``, reset to zero (``v_reset``
other than 0, and ``v_leak`` other than 0, are refused), one snnq neuron per distinct threshold. snnq neurons fire
on ``v >= threshold`` where NIR says ``v > v_threshold``; they differ only when the membrane equals the threshold
exactly, which snnq's own exports avoid (their thresholds are integers minus 1/2).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from snnq.export.errors import NIRUnsupportedError
from snnq.export.nir_export import DT, read_meta


class Scale(nn.Module):
    """Elementwise ``x * scale`` (NIR ``Scale``; also the input scaling of NIR neurons)."""

    def __init__(self, scale: np.ndarray | float):
        super().__init__()
        self.register_buffer("scale", torch.as_tensor(np.asarray(scale, dtype=np.float64)))

    def forward(self, x: Tensor) -> Tensor:
        return x * self.scale.to(x.dtype)


class GroupedNeurons(nn.Module):
    """snnq neurons that share the elements of one NIR neuron node: ``spikes = sum_g mask_g * neuron_g(scale_g x)``.

    Every element belongs to exactly one group (one distinct set of neuron parameters); each neuron runs on the
    whole tensor (neurons are elementwise) and its spikes are kept where its mask is set.
    """

    def __init__(self, neurons: list[nn.Module], masks: list[np.ndarray], *, once: bool = False, input_scale: float = 1.0):
        super().__init__()
        self.neurons = nn.ModuleList(neurons)
        for i, mask in enumerate(masks):
            self.register_buffer(f"mask{i}", torch.as_tensor(np.asarray(mask, dtype=bool)), persistent=False)
        self.once, self.input_scale = once, float(input_scale)

    def forward(self, x: Tensor) -> Tensor:
        x = x * self.input_scale if self.input_scale != 1.0 else x
        out = torch.zeros_like(x)
        for i, neuron in enumerate(self.neurons):
            spikes = neuron(x)
            if spikes.dim() == x.dim() + 1:  # a scatter-and-gather group: its spike count
                spikes = spikes.sum(-1)
            out = torch.where(getattr(self, f"mask{i}"), spikes.to(x.dtype), out)
        if self.once:  # time-to-first-spike: only the first spike of each neuron counts
            out = out * (torch.cumsum(out, dim=0) == 1)
        return out


@dataclass(frozen=True)
class _Mapped:
    module: nn.Module
    stateful: bool


class NIRNetwork(nn.Module):
    """A NIR graph made of torch layers and snnq neurons: ``forward(x [T, B, *input]) -> [T, B, *output]``.

    Attributes:
        facts: the graph's snnq metadata (empty for a foreign graph): form, steps to run, units, output unit.
    """

    def __init__(self, order: list[str], modules: dict[str, _Mapped], sources: dict[str, list[str]], output: str, facts: dict[str, Any]):
        super().__init__()
        self.order, self.sources, self.output_name, self.facts = order, sources, output, facts
        self.layers = nn.ModuleDict({_key(name): m.module for name, m in modules.items()})
        self.stateful = {name for name, m in modules.items() if m.stateful}

    def forward(self, x: Tensor) -> Tensor:
        from snnq.neurons.build import reset_state

        reset_state(self)
        steps, batch = x.shape[:2]
        values: dict[str, Tensor] = {}
        for name in self.order:
            srcs = self.sources[name]
            y = x if not srcs else values[srcs[0]]
            for other in srcs[1:]:
                y = y + values[other]
            module = self.layers[_key(name)]
            if name in self.stateful:
                y = module(y)
            else:
                flat = module(y.reshape((steps * batch,) + tuple(y.shape[2:])))
                y = flat.reshape((steps, batch) + tuple(flat.shape[1:]))
            values[name] = y
        return values[self.output_name]

    def integer_scores(self, inputs: np.ndarray) -> np.ndarray:
        """Integer scores ``[B, *output]`` for integer inputs ``[T, B, ...]`` of the exported IR (snnq graphs only).

        The levels form runs one step on the inputs summed over time; the native form runs every step and sums the
        outputs. The outputs are integers in exact arithmetic; they are rounded to int64.
        """
        x = np.asarray(inputs, dtype=np.float64)
        if self.facts.get("form") == "levels":
            x = x.sum(axis=0, keepdims=True)
        dtype = next((p.dtype for p in self.parameters()), torch.float32)
        with torch.no_grad():
            out = self(torch.as_tensor(x, dtype=dtype))
        return np.rint(out.sum(0).double().numpy()).astype(np.int64)


def _key(name: str) -> str:
    return name.replace(".", "__")


def _array(value: Any) -> np.ndarray:
    return np.asarray(value, dtype=np.float64)


def _ints(value: Any) -> tuple[int, ...]:
    a = np.atleast_1d(np.asarray(value)).astype(int).tolist()
    return tuple(a) if len(a) > 1 else (a[0], a[0])


def _groups(params: Mapping[str, np.ndarray]) -> tuple[list[tuple[float, ...]], list[np.ndarray]]:
    """Distinct parameter tuples of a neuron node and the mask of the elements that have each."""
    names = sorted(params)
    shape = np.broadcast_shapes(*(np.shape(params[n]) for n in names))
    stacked = np.stack([np.broadcast_to(_array(params[n]), shape) for n in names], axis=-1).reshape(-1, len(names))
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    inverse = inverse.reshape(shape)
    return [tuple(float(v) for v in row) for row in unique], [inverse == i for i in range(len(unique))]


def _snnq_neuron(name: str, **options: Any) -> nn.Module:
    import snnq

    return snnq.neuron(name, **options)


def _shaped(value: Any, shape: tuple[int, ...]) -> np.ndarray:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 1 and len(shape) > 1 and a.shape[0] == shape[0]:
        a = a.reshape((-1,) + (1,) * (len(shape) - 1))
    return np.broadcast_to(a, shape)


def _exact_leaky(kind: str, node: Any, facts: dict[str, Any]) -> _Mapped:
    """An snnq ``if``/``lif`` (or ttfs as ``if`` with a first-spike mask) with the exported integer semantics."""
    shape = tuple(np.shape(node.v_threshold))
    bits = int(facts["membrane_bits"])
    theta = _shaped(facts["threshold"], shape)
    initial = _shaped(facts["initial"], shape)
    combos, masks = _groups({"a_threshold": theta, "b_initial": initial})
    neurons = []
    for threshold, init in combos:
        integer = bits <= 16
        options = {"threshold": threshold, "reset": "subtract", "precharge": init / threshold,
                   "bits": bits if integer else None, "threshold_code": int(threshold) if integer else None}
        if kind == "lif":
            options["leak_shift"] = int(facts["leak_shift"])
        neurons.append(_snnq_neuron(kind, **options))
    return _Mapped(GroupedNeurons(neurons, masks, once=bool(facts.get("once"))), True)


def _trained_neuron(facts: dict[str, Any]) -> _Mapped:
    from snnq.export.nir_module import rebuild_neuron

    return _Mapped(rebuild_neuron(facts), True)


def _map_if(node: Any, facts: dict[str, Any] | None, dt: float) -> _Mapped:
    if facts is not None and "snnq_neuron" in facts:
        return _trained_neuron(facts)
    if facts is not None and facts.get("kind") in ("if", "ttfs"):
        return _exact_leaky("if", node, facts)
    _require_zero(node, "v_reset", "an IF that resets to a nonzero v_reset")
    scale = _array(node.r) * dt
    combos, masks = _groups({"threshold": node.v_threshold, "scale": scale})
    neurons = [_snnq_neuron("if", threshold=t, reset="zero") for _, t in combos]  # (scale, threshold): names sorted
    return _Mapped(_scaled(GroupedNeurons(neurons, masks), combos, index=0), True)


def _map_lif(node: Any, facts: dict[str, Any] | None, dt: float) -> _Mapped:
    if facts is not None and "snnq_neuron" in facts:
        return _trained_neuron(facts)
    if facts is not None and facts.get("kind") == "lif":
        return _exact_leaky("lif", node, facts)
    _require_zero(node, "v_reset", "a LIF that resets to a nonzero v_reset")
    _require_zero(node, "v_leak", "a LIF with a nonzero v_leak")
    tau = _array(node.tau)
    combos, masks = _groups({"beta": 1.0 - dt / tau, "scale": _array(node.r) * dt / tau, "threshold": node.v_threshold})
    for beta, _, _ in combos:
        if not 0 < beta < 1:
            raise NIRUnsupportedError("NIR import", [("LIF", "LIF", f"tau/dt = {dt / (1 - beta) if beta != 1 else 'inf'} gives no leak factor in (0, 1)")])
    neurons = [_snnq_neuron("lif", beta=beta, threshold=t, reset="zero") for beta, _, t in combos]  # (beta, scale, threshold)
    return _Mapped(_scaled(GroupedNeurons(neurons, masks), combos, index=1), True)


def _map_threshold(node: Any, facts: dict[str, Any] | None, dt: float) -> _Mapped:
    del dt
    if facts is not None and facts.get("kind") == "sg_stateless":
        shape = tuple(np.shape(node.threshold))
        combos, masks = _groups({"a_threshold": _shaped(facts["threshold"], shape), "b_spacing": _shaped(facts["spacing"], shape)})
        bits = int(facts["membrane_bits"])
        neurons = [_snnq_neuron("sg_stateless", levels=int(facts.get("levels", 1)), threshold=t, spacing=max(s, 1.0),
                                bits=bits if bits <= 24 else None, scale=1.0 if bits <= 24 else None) for t, s in combos]
        return _Mapped(GroupedNeurons(neurons, masks), True)
    combos, masks = _groups({"threshold": node.threshold})
    return _Mapped(GroupedNeurons([_snnq_neuron("sg_stateless", levels=1, threshold=t, spacing=1.0) for (t,) in combos], masks), True)


def _scaled(neurons: GroupedNeurons, combos: list[tuple[float, ...]], *, index: int) -> nn.Module:
    scales = {c[index] for c in combos}
    if len(scales) == 1:
        neurons.input_scale = float(scales.pop())
        return neurons
    raise NIRUnsupportedError("NIR import", [("neuron", "IF/LIF", "input scales (r dt) that differ between neurons")])


def _require_zero(node: Any, field: str, what: str) -> None:
    value = getattr(node, field, None)
    if value is not None and np.any(_array(value) != 0):
        raise NIRUnsupportedError("NIR import", [(type(node).__name__, type(node).__name__, what)])


def _map_affine(node: Any, facts: Any, dt: float) -> _Mapped:
    weight = _array(node.weight)
    bias = getattr(node, "bias", None)
    layer = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight))
        if bias is not None:
            layer.bias.copy_(torch.as_tensor(_array(bias)))
    return _Mapped(layer, False)


def _padding(value: Any) -> Any:
    if isinstance(value, (str, bytes)):
        return value.decode() if isinstance(value, bytes) else value
    return _ints(value)


def _map_conv(node: Any, facts: Any, dt: float, *, dims: int) -> _Mapped:
    weight = _array(node.weight)
    cls = nn.Conv2d if dims == 2 else nn.Conv1d
    pick = (lambda v: _ints(v)) if dims == 2 else (lambda v: int(np.atleast_1d(np.asarray(v))[0]))  # noqa: E731
    padding = _padding(node.padding) if dims == 2 else (node.padding if isinstance(node.padding, str) else pick(node.padding))
    layer = cls(weight.shape[1] * int(node.groups), weight.shape[0], tuple(weight.shape[2:]), stride=pick(node.stride), padding=padding,
                dilation=pick(node.dilation), groups=int(node.groups), bias=True)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weight))
        layer.bias.copy_(torch.as_tensor(_array(node.bias)))
    return _Mapped(layer, False)


def _map_pool(node: Any, facts: Any, dt: float, *, total: bool) -> _Mapped:
    options = {"kernel_size": _ints(node.kernel_size), "stride": _ints(node.stride), "padding": _ints(node.padding)}
    return _Mapped(nn.AvgPool2d(**options, divisor_override=1) if total else nn.AvgPool2d(**options), False)


def _map_flatten(node: Any, facts: Any, dt: float) -> _Mapped:
    shift = lambda d: int(d) + 1 if int(d) >= 0 else int(d)  # noqa: E731  NIR counts dimensions without the batch
    return _Mapped(nn.Flatten(shift(node.start_dim), shift(node.end_dim)), False)


def _map_identity(node: Any, facts: Any, dt: float) -> _Mapped:
    return _Mapped(nn.Identity(), False)


NODE_BUILDERS: Mapping[str, Callable[[Any, dict[str, Any] | None, float], _Mapped]] = MappingProxyType({
    "Input": _map_identity,
    "Output": _map_identity,
    "Affine": _map_affine,
    "Linear": _map_affine,
    "Conv2d": lambda n, f, dt: _map_conv(n, f, dt, dims=2),
    "Conv1d": lambda n, f, dt: _map_conv(n, f, dt, dims=1),
    "AvgPool2d": lambda n, f, dt: _map_pool(n, f, dt, total=False),
    "SumPool2d": lambda n, f, dt: _map_pool(n, f, dt, total=True),
    "Flatten": _map_flatten,
    "Scale": lambda n, f, dt: _Mapped(Scale(n.scale), False),
    "IF": _map_if,
    "LIF": _map_lif,
    "Threshold": _map_threshold,
})
"""NIR node type -> builder of its snnq module; types not listed (CubaLIF, CubaLI, LI, I, Delay, subgraphs) are refused."""


def _topological(names: list[str], edges: list[tuple[str, str]]) -> list[str]:
    from graphlib import CycleError, TopologicalSorter

    predecessors = {name: set() for name in names}
    for a, b in edges:
        predecessors[b].add(a)
    try:
        return list(TopologicalSorter(predecessors).static_order())
    except CycleError as error:
        raise NIRUnsupportedError("NIR import", [("graph", "NIRGraph", f"a recurrent cycle {error.args[1]}")]) from None


def import_nir(graph: Any, *, dt: float = DT, dtype: torch.dtype | None = None) -> NIRNetwork:
    """The snnq network of a NIR graph (a ``nir.NIRGraph`` or the path of a NIR file); see the module docstring.

    ``dtype``: the parameters' float type (default float32, or float64 when the graph's snnq metadata says its
    integers exceed float32's 2^24).
    """
    import nir

    if isinstance(graph, (str, os.PathLike)):
        graph = nir.read(Path(graph))
    facts = read_meta(graph) or {}
    unsupported = [(name, type(node).__name__, "no snnq counterpart") for name, node in graph.nodes.items()
                   if type(node).__name__ not in NODE_BUILDERS]
    if unsupported:
        raise NIRUnsupportedError("NIR import", unsupported)
    modules: dict[str, _Mapped] = {}
    problems: list[tuple[str, str, str]] = []
    for name, node in graph.nodes.items():
        try:
            modules[name] = NODE_BUILDERS[type(node).__name__](node, read_meta(node), dt)
        except NIRUnsupportedError as error:
            problems += [(name, type(node).__name__, why) for _, _, why in error.items]
    if problems:
        raise NIRUnsupportedError("NIR import", problems)
    inputs = [n for n, node in graph.nodes.items() if type(node).__name__ == "Input"]
    outputs = [n for n, node in graph.nodes.items() if type(node).__name__ == "Output"]
    if len(inputs) != 1 or len(outputs) != 1:
        raise NIRUnsupportedError("NIR import", [("graph", "NIRGraph", f"{len(inputs)} inputs and {len(outputs)} outputs (one of each is supported)")])
    order = _topological(list(graph.nodes), [tuple(e) for e in graph.edges])
    sources = {name: [a for a, b in graph.edges if b == name] for name in graph.nodes}
    network = NIRNetwork(order, modules, sources, outputs[0], facts)
    wanted = dtype or (torch.float64 if facts and not facts.get("float32_exact", True) else torch.float32)
    return network.to(wanted)
