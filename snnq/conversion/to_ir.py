"""`to_ir`: the exact integer description (`snnq.hardware.ir.Network`) of a converted spiking network.

Every value in a converted network with power-of-two steps is an integer times a known unit. Following the
graph from the input, this records for every synaptic layer the unit of its accumulator (weight step times
the unit of its input), the bias in that unit, and, for the neuron layer that reads it, integer thresholds that
make the integer neurons fire exactly as the float ones:

- rate: ``n = floor(V / s + 1/2)`` with ``V = u I`` becomes ``floor((I + floor(theta / 2)) / theta)`` with
  ``theta = s / u``: an IF neuron with threshold ``theta`` whose membrane starts at ``floor(theta / 2)`` (a burst);
- scatter-and-gather: thresholds ``k theta - floor(theta / 2)``, ``k = 1..N``: a group with spacing ``theta``;
- TTFS: ``V / x_max >= r 2^-t`` becomes ``I >= ceil(r (x_max / u) 2^-t)`` (``r`` as the float32 constant the
  float neuron compares with), a threshold per step;
- QCFS (approximate): an IF neuron with threshold ``round(lambda / u)``, pre-charged to half, at every step.

With batch norm between a synaptic layer and a scatter-and-gather neuron, or the half-to-even tie rule (S1), the
group carries per-channel, per-level thresholds ``A_{k,c}`` and a polarity ``p_c`` on the accumulator instead
(`_folded_levels`: level ``k`` fires when ``p_c I >= A_{k,c}``), proved by exhaustive evaluation.

The input is the integer code of the network's input quantizer, or, when the network begins with layers computed
off chip (S1's float first layer), the spike counts of the neuron layer after them; when the output layer is off
chip the IR ends with the last on-chip neuron layer (`input_codes`, `chip_output`). The scores of the IR's output layer times
``metadata["output_unit"]`` are the converted network's outputs; ``exact`` in the metadata says whether that
holds bit for bit (it does when every step is a power of two and every bias lies on its accumulator's grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import Tensor, fx, nn

from snnq.conversion.activity import Activity
from snnq.conversion.layers import OffChipLayer, QCFSActivation, RateActivation, ScatterGatherActivation, SpikingActivation, TTFSActivation
from snnq.conversion.network import SpikingNetwork
from snnq.conversion.reference import grid_codes
from snnq.conversion.trace import SYNAPTIC, layer_type, weight_quantizer
from snnq.errors import ConversionError
from snnq.quant.apply import QuantizedActivation
from snnq.quant.base import Quantizer
from snnq.quant.log2 import _SQRT_HALF

ROUND_UP_AT_FLOAT32 = {"nearest": Fraction(3, 4), "log_nearest": Fraction(_SQRT_HALF), "floor": Fraction(1)}


@dataclass(frozen=True)
class _Signal:
    """What an fx node carries, in IR terms: the IR layer that produces it (or the input), its unit per channel,
    the largest integer it can hold, and whether it is spikes (a neuron's output) or an integrated current.

    A current also names the synaptic layer whose accumulator it is (``synapse``: with the unit of that layer's
    input codes, the bound of ``|acc|``, the accumulator's shift and integer bias) and the batch norms met since
    (``transforms``, folded into the next neuron's thresholds); spikes name the neuron layer that emitted them
    (``neuron``). ``host``: a value computed off chip (not in the IR)."""

    layer: str
    unit: np.ndarray  # Fractions, one per channel (or one)
    bound: int
    spikes: bool
    shape: tuple[int, ...]
    host: bool = False
    synapse: str | None = None
    in_unit: float | None = None
    acc_bound: int = 0
    shift: int = 0
    bias: np.ndarray | None = None
    transforms: tuple[tuple[str, nn.Module], ...] = ()
    neuron: str | None = None


def _fractions(values: Any) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    return np.array([Fraction(float(v)) for v in array], dtype=object)


def _integers(ratio: np.ndarray, what: str) -> np.ndarray:
    if any(r.denominator != 1 for r in ratio):
        raise ConversionError(f"to_ir: {what} is not an integer number of accumulator units ({[str(r) for r in ratio[:4]]}...); "
                              "use power-of-two steps (fixed_point) and quantize biases on the accumulator's grid")
    return np.array([int(r) for r in ratio], dtype=np.int64)


MAX_SHIFT = 24
"""The largest accumulator shift to_ir uses to reach a bias's grid; beyond it the bias is no short dyadic number."""


def _shift_for(ratios: np.ndarray, label: str) -> int:
    """The smallest ``k >= 0`` with every ``ratio * 2^k`` an integer (ratios of power-of-two denominators)."""
    for shift in range(MAX_SHIFT + 1):
        if all((r * 2**shift).denominator == 1 for r in ratios):
            return shift
    raise ConversionError(f"to_ir: the bias of {label} is not an integer number of accumulator units even after a "
                          f"{MAX_SHIFT}-bit shift; use power-of-two steps and quantize biases (QuantConfig.bias)")


def _bits_for(bound: int) -> int:
    return max(2, int(bound).bit_length() + 1)


def input_codes(snn: SpikingNetwork, x: Tensor) -> np.ndarray:
    """The integer input codes that the IR of ``snn`` takes for inputs ``x`` ``[B, ...]``: ``[T, B, ...]`` with the
    codes at step 0 (layerwise) or at every step (parallel).

    The IR's input is the chip's input: the codes of the network's input quantizer, or, when the network begins
    off chip (`snnq.conversion.base.Converter`), the spike counts of the neuron layer that reads the off-chip layers
    (``n = V / u``, its output ``V`` in units ``u`` of one spike), computed by running ``snn`` on ``x``."""
    chip_input = _chip_boundary(snn).chip_input
    if chip_input is None:
        quantizer = _input_quantizer(snn.graph_module)
        codes = quantizer.integer_form(x.detach().float()).codes.to(torch.int64).numpy()
    else:
        layer = snn.graph_module.get_submodule(chip_input)
        codes = grid_codes(_activations(snn, x)[chip_input], layer.unit).to(torch.int64).cpu().numpy()
    steps = snn.steps
    train = np.zeros((steps,) + codes.shape, dtype=np.int64)
    if snn.schedule == "parallel":
        train[:] = codes
    else:
        train[0] = codes
    return train


def chip_output(snn: SpikingNetwork, network: Any, x: Tensor) -> np.ndarray:
    """What ``simulate(network, input_codes(snn, x)).scores * network.metadata["output_unit"]`` equals, bit for bit,
    for the IR ``network = to_ir(snn, ...)``: ``snn(x)`` when the whole network is on chip, else the output of the
    last on-chip neuron layer (spike counts times their value), the values the host's first off-chip layer reads;
    float64 ``[B, *network.output.output_shape]``."""
    name = network.metadata.get("chip_output")
    with torch.no_grad():
        values = snn(x) if name is None else _activations(snn, x)[name]
    return values.reshape((x.shape[0],) + tuple(network.output.output_shape)).double().cpu().numpy()


def _activations(snn: SpikingNetwork, x: Tensor) -> dict[str, Tensor]:
    activity = Activity(keep_activations=True)
    with torch.no_grad():
        snn(x, activity=activity)
    return activity.activations


def _input_quantizer(graph_module: fx.GraphModule) -> Quantizer:
    quantizer = _input_quantizer_or_none(graph_module)
    if quantizer is None:
        raise ConversionError("to_ir: the network's input is not quantized; integer hardware needs integer inputs (QuantConfig.input)")
    return quantizer


def _input_quantizer_or_none(graph_module: fx.GraphModule) -> Quantizer | None:
    modules = dict(graph_module.named_modules())
    for node in graph_module.graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], QuantizedActivation):
            if node.args and getattr(node.args[0], "op", None) == "placeholder":
                return modules[node.target].quantizer
    return None


@dataclass(frozen=True)
class _Boundary:
    """Which nodes of a converted network are computed off chip (``host``), and where the chip begins and ends."""

    host: frozenset[fx.Node]
    chip_input: str | None  # the neuron layer whose spikes enter the chip, when the network begins off chip


def _is_off_chip(snn: SpikingNetwork, node: fx.Node, module: nn.Module | None) -> bool:
    return isinstance(module, OffChipLayer) or (isinstance(module, SYNAPTIC) and node.target in getattr(snn, "off_chip", frozenset()))


def _chip_boundary(snn: SpikingNetwork) -> _Boundary:
    """Host nodes: the float input (no input quantizer), off-chip layers, and every non-neuron node reading a host
    value; the first neuron layer reading only host values is the chip's input (its spikes enter the chip)."""
    graph_module = snn.graph_module
    modules = dict(graph_module.named_modules())
    float_input = _input_quantizer_or_none(graph_module) is None
    host: set[fx.Node] = set()
    chip_input = None
    for node in graph_module.graph.nodes:
        module = modules.get(node.target) if node.op == "call_module" else None
        reads = node.all_input_nodes
        if node.op == "placeholder":
            if float_input:
                host.add(node)
        elif _is_off_chip(snn, node, module):
            host.add(node)
        elif reads and all(r in host for r in reads) and node.op != "output":
            begins_off_chip = any(_is_off_chip(snn, n, modules.get(n.target)) for n in host)
            if isinstance(module, SpikingActivation) and chip_input is None and begins_off_chip:
                chip_input = str(node.target)
            elif isinstance(module, SYNAPTIC) and not begins_off_chip:
                _input_quantizer(graph_module)  # an on-chip layer reads the float input: refused
            elif isinstance(module, SYNAPTIC):
                raise ConversionError(f"to_ir: layer {node.target!r} reads values computed off chip; mark it off chip too, or let a neuron layer turn them into spikes first")
            else:
                host.add(node)
    return _Boundary(frozenset(host), chip_input)


def to_ir(snn: SpikingNetwork, *, name: str = "network", input_shape: tuple[int, ...], metadata: dict[str, Any] | None = None):  # noqa: ANN201
    """The integer IR of ``snn``; ``input_shape`` is one input's shape without the batch (e.g. ``(1, 28, 28)``).

    **Off chip.** Layers computed off chip (`OffChipLayer`, ``snn.off_chip``) are not in the IR: it describes the
    chip. Its input is the network's input codes, or the spikes of the neuron layer that reads the off-chip input
    layers (``metadata["chip_input"]``, its shape the IR's ``input_shape``); its output is the last on-chip neuron
    layer's spikes (``metadata["chip_output"]``) when the host computes the output layer. `input_codes` and
    `chip_output` give the integers and the values that go with it.

    **Batch norm and ties** (`_folded_levels`): a batch norm between a synaptic layer and a scatter-and-gather
    neuron, and the half-to-even tie rule, are folded into per-channel, per-level integer thresholds on the
    accumulator, found by an exhaustive evaluation of the spiking network's own float operations over the
    accumulator's whole range.
    """
    from snnq.hardware import ir

    graph_module = snn.graph_module
    boundary = _chip_boundary(snn)
    if boundary.chip_input is None:
        _input_quantizer(graph_module)  # integer hardware takes integer inputs
    modules = dict(graph_module.named_modules())
    shapes = _shapes(graph_module, input_shape)
    signals: dict[fx.Node, _Signal] = {}
    layers: list[Any] = []
    neurons_of: dict[str, Any] = {}
    chip_outputs: list[_Signal] = []
    exact = True
    input_bits = 1
    chip_shape = tuple(input_shape)
    for node in graph_module.graph.nodes:
        module = modules.get(node.target) if node.op == "call_module" else None
        source = signals.get(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
        if node in boundary.host:
            signals[node] = _Signal("host", _fractions([1.0]), 0, False, shapes.get(node, ()), host=True)
            chip_outputs += [signals[r] for r in node.all_input_nodes if not signals[r].host]
        elif node.op == "call_module" and node.target == boundary.chip_input:
            if not isinstance(module, (RateActivation, ScatterGatherActivation)):
                raise ConversionError(f"to_ir: the chip's input {node.target!r} ({type(module).__name__}) must be a rate or scatter-and-gather neuron layer")
            chip_shape = shapes[node]
            input_bits = max(1, int(module.levels).bit_length())
            signals[node] = _Signal(ir.INPUT, _fractions([module.step]), module.levels, False, chip_shape, neuron=str(node.target))
        elif source is not None and source.host and node.op != "output":
            raise ConversionError(f"to_ir: {_name(node)!r} reads values computed off chip; only a prefix and a suffix of the network can be off chip")
        elif node.op == "placeholder":
            signals[node] = _Signal(ir.INPUT, _fractions([1.0]), 0, False, tuple(input_shape))
        elif isinstance(module, QuantizedActivation) and source is not None and source.layer == ir.INPUT and source.bound == 0:
            quantizer = module.quantizer
            step = quantizer.fixed_step()
            if step is None or quantizer.codeset().low != 0:
                raise ConversionError("to_ir: the input quantizer needs a fixed step and unsigned codes")
            input_bits = quantizer.codeset().bits
            signals[node] = _Signal(ir.INPUT, _fractions([step]), quantizer.codeset().high, False, tuple(input_shape))
        elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)) and source is not None and source.synapse is not None and not source.spikes:
            signals[node] = replace(source, transforms=source.transforms + ((str(node.target), module),), shape=shapes[node])
        elif isinstance(module, SYNAPTIC):
            _no_pending(source, node)
            layer, signal = _synaptic(node, module, source, shapes, ir)
            layers.append(layer)
            signals[node] = signal
        elif isinstance(module, SpikingActivation):
            if source.spikes or source.layer in neurons_of or source.layer == ir.INPUT:
                raise ConversionError(f"to_ir: neuron layer {node.target!r} must read a synaptic layer's (or a sum's) current")
            neuron, signal, was_exact = _neuron(snn, node, module, source)
            exact &= was_exact
            neurons_of[source.layer] = neuron
            signals[node] = signal
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            _no_pending(source, node)
            layer, signal = _pool(node, module, source, shapes, ir)
            layers.append(layer)
            signals[node] = signal
        elif isinstance(module, (nn.Flatten,)) or (node.op == "call_function" and node.target is torch.flatten) or (node.op == "call_method" and node.target in ("view", "reshape", "flatten")):
            _no_pending(source, node)
            shape = shapes[node]
            if len(shape) == 1 and len(source.shape) == 1:
                signals[node] = source
                continue
            layers.append(ir.Flatten(name=_name(node), inputs=(source.layer,), input_shape=source.shape, output_shape=shape))
            signals[node] = replace(source, layer=layers[-1].name, unit=_collapse_unit(source.unit), shape=shape)
        elif isinstance(module, (nn.Identity,)) or (node.op == "call_method" and node.target == "contiguous"):
            signals[node] = source
        elif node.op == "call_function" and getattr(node.target, "__name__", "") == "add":
            parts = [signals[arg] for arg in node.args]
            for part in parts:
                _no_pending(part, node)
            if any(tuple(p.unit) != tuple(parts[0].unit) for p in parts):
                raise ConversionError(f"to_ir: the sum {node.name!r} adds values of different units; it has no integer form")
            layers.append(ir.Add(name=_name(node), inputs=tuple(p.layer for p in parts), input_shape=parts[0].shape, output_shape=parts[0].shape))
            signals[node] = _Signal(layers[-1].name, parts[0].unit, sum(p.bound for p in parts), False, parts[0].shape)
        elif node.op == "output":
            output = signals[node.args[0]]
        elif node.op == "call_method" and node.target == "size":
            continue
        else:
            kind = layer_type(module).__name__ if module is not None else str(node.target)
            raise ConversionError(f"to_ir: {node.name!r} ({kind}) has no integer description (fold BatchNorm into the weights before quantizing)")
    if output.host:
        output = _chip_output(chip_outputs, layers)
    elif output.spikes:
        raise ConversionError("to_ir: the network must end with a synaptic layer (its integrated current is the score)")
    _no_pending(output, "the output")
    layers = [_with_neuron(layer, neurons_of.get(layer.name)) for layer in layers]
    info = {
        "exact": bool(exact), "output_unit": [float(u) for u in output.unit], "converter": snn.coding,
        "off_chip": sorted(getattr(snn, "off_chip", ())), "chip_input": boundary.chip_input,
        "chip_output": output.neuron if output.spikes else None, **(metadata or {}),
    }
    return ir.Network(
        name=name, input_shape=chip_shape, time_steps=snn.steps, coding=snn.coding, layers=tuple(layers),
        input_bits=input_bits, metadata=info, schedule="parallel" if snn.schedule == "parallel" else "layerwise",
    )


def _chip_output(chip_outputs: list[_Signal], layers: list[Any]) -> _Signal:
    """The signal the host's off-chip layers read from the chip: one neuron layer's spikes, the IR's last layer."""
    distinct = {(s.layer, s.neuron) for s in chip_outputs}
    if len(distinct) != 1:
        raise ConversionError(f"to_ir: the off-chip layers must read exactly one on-chip value; they read {sorted(str(d) for d in distinct) or 'none'}")
    signal = chip_outputs[0]
    if not signal.spikes or signal.neuron is None or signal.layer == "input" or not layers or layers[-1].name != signal.layer:
        raise ConversionError(f"to_ir: the chip's output must be the spikes of its last layer (a neuron layer's); the host reads {signal.layer!r}")
    return signal


def _no_pending(source: _Signal | None, node: Any) -> None:
    """Batch norm has an integer form only folded into the neuron layer that follows it directly."""
    if source is not None and source.transforms:
        names = ", ".join(f"{name!r} ({type(module).__name__})" for name, module in source.transforms)
        where = _name(node) if isinstance(node, fx.Node) else node
        raise ConversionError(f"to_ir: {names} has no integer description before {where!r}: batch norm folds only into the "
                              "thresholds of a scatter-and-gather neuron layer right after it (else fold it into the weights before quantizing)")


def _with_neuron(layer: Any, neuron: Any) -> Any:
    from dataclasses import replace

    return layer if neuron is None else replace(layer, neuron=neuron)


def _name(node: fx.Node) -> str:
    return str(node.target) if node.op == "call_module" else node.name


def _collapse_unit(unit: np.ndarray) -> np.ndarray:
    if len(set(unit)) > 1:
        raise ConversionError("to_ir: a per-channel unit cannot pass through a flatten (spikes carry one unit per layer)")
    return unit[:1]


def _shapes(graph_module: fx.GraphModule, input_shape: tuple[int, ...]) -> dict[fx.Node, tuple[int, ...]]:
    """The shape of every node's output for one sample (by running the graph on zeros, recording shapes)."""
    shapes: dict[fx.Node, tuple[int, ...]] = {}

    class Recorder(fx.Interpreter):
        def run_node(self, node: fx.Node) -> Any:
            out = super().run_node(node)
            if isinstance(out, Tensor):
                shapes[node] = tuple(out.shape[1:])
            return out

    stripped = fx.GraphModule(graph_module, graph_module.graph)  # the graph over the original ANN modules
    for name, module in graph_module.named_modules():
        if isinstance(module, SpikingActivation):
            parent, _, child = name.rpartition(".")
            setattr(stripped.get_submodule(parent) if parent else stripped, child, nn.Identity())
    with torch.no_grad():
        Recorder(stripped).run(torch.zeros((1, *input_shape)))
    return shapes


def _synaptic(node: fx.Node, module: nn.Module, source: _Signal, shapes: dict, ir: Any) -> tuple[Any, _Signal]:
    label = f"layer {node.target!r}"
    quantizer = weight_quantizer(module)
    if quantizer is None:
        raise ConversionError(f"to_ir: {label} has float weights; integer hardware needs quantized weights")
    form = quantizer.integer_form(module.parametrizations.weight.original.detach())
    codes = form.codes.to(torch.int64).numpy()
    channels = codes.shape[0]
    scale = form.scale.detach().double().reshape(-1).numpy()
    synapse = "log2" if form.encoding == "log2" else "signed"
    common = {
        "name": str(node.target), "inputs": (source.layer,), "input_shape": source.shape, "output_shape": shapes[node],
        "weight": codes, "weight_scale": scale if scale.size > 1 else float(scale[0]), "weight_bits": form.bits, "synapse": synapse,
    }

    in_unit = source.unit if source.unit.size == 1 else None
    if in_unit is None:
        raise ConversionError(f"to_ir: {label} reads values with a unit per channel; they must share one unit")
    factor = 1.0
    if synapse == "log2":
        magnitude = np.abs(codes)
        top = int(magnitude.max()) - 1 if magnitude.size and magnitude.max() > 0 else 0
        factor = 2.0**-top
        integer_weights = np.where(magnitude == 0, 0, np.sign(codes) * np.left_shift(np.int64(1), np.maximum(top - (magnitude - 1), 0)))
    else:
        integer_weights = codes
    unit = np.array([Fraction(float(s)) * Fraction(factor) * in_unit[0] for s in np.broadcast_to(scale, (channels,))], dtype=object)
    bias, shift = None, 0
    if getattr(module, "bias", None) is not None:
        value = _fractions(module.bias.detach())
        shift = _shift_for(value / unit, label)  # a bias finer than the accumulator's unit: count finer units
        unit = unit / 2**shift
        bias = _integers(value / unit, f"the bias of {label}")
    per_output = np.abs(integer_weights).reshape(channels, -1).sum(axis=1) * max(source.bound, 1) * 2**shift
    bound = int(per_output.max(initial=0)) + (int(np.abs(bias).max()) if bias is not None else 0)
    if isinstance(module, nn.Conv2d):
        if isinstance(module.padding, str):
            raise ConversionError(f"to_ir: {label} uses padding={module.padding!r}; give it as numbers")
        layer = ir.Conv2d(**common, bias=bias, shift=shift, stride=module.stride, padding=module.padding, groups=module.groups)
    elif isinstance(module, nn.Linear):
        layer = ir.Dense(**common, bias=bias, shift=shift)
    else:
        raise ConversionError(f"to_ir: {label} ({layer_type(module).__name__}) has no integer description")
    signal = _Signal(layer.name, unit, bound, False, shapes[node], synapse=str(node.target), in_unit=float(in_unit[0]),
                     acc_bound=int(per_output.max(initial=0)) // 2**shift, shift=shift, bias=bias)
    return layer, signal


def _pool(node: fx.Node, module: nn.Module, source: _Signal, shapes: dict, ir: Any) -> tuple[Any, _Signal]:
    shape = shapes[node]
    if isinstance(module, nn.AdaptiveAvgPool2d):
        _, h, w = source.shape
        if h % shape[1] or w % shape[2]:
            raise ConversionError(f"to_ir: {node.target!r} pools {h}x{w} to {shape[1:]}: not an integer window")
        kernel = (h // shape[1], w // shape[2])
        stride, padding = kernel, (0, 0)
    else:
        kernel, stride, padding = module.kernel_size, module.stride, module.padding
    kind = ir.MaxPool2d if isinstance(module, nn.MaxPool2d) else ir.AvgPool2d
    layer = kind(name=str(node.target), inputs=(source.layer,), input_shape=source.shape, output_shape=shape, kernel=kernel, stride=stride, padding=padding)
    if kind is ir.MaxPool2d:
        return layer, _Signal(layer.name, source.unit, source.bound, source.spikes, shape)
    area = layer.kernel[0] * layer.kernel[1]
    return layer, _Signal(layer.name, source.unit / area, source.bound * area, source.spikes, shape)


def _neuron(snn: SpikingNetwork, node: fx.Node, layer: SpikingActivation, source: _Signal) -> tuple[Any, _Signal, bool]:
    """The integer neuron for ``layer`` reading ``source``; whether the match with the float neuron is exact."""
    from snnq.hardware import ir

    unit = source.unit
    channels = unit.size
    label = f"neuron layer {node.target!r}"
    exact = True
    spikes = _Signal(source.layer, _fractions([getattr(layer, "step", 1.0)]), getattr(layer, "levels", 1), True, source.shape, neuron=str(node.target))
    if isinstance(layer, ScatterGatherActivation) and (source.transforms or layer.rounding != "half_up"):
        return _folded_neuron(snn, layer, source, label), spikes, exact
    _no_pending(source, node)
    if isinstance(layer, (RateActivation, ScatterGatherActivation)):
        theta = _integers(np.array([Fraction(layer.step) / u for u in unit], dtype=object), f"the activation step of {label}")
        if int(theta.min()) < 1:
            raise ConversionError(f"to_ir: {label}: the activation step is finer than the accumulator unit")
        half = theta // 2
        levels = layer.levels
        bits = _bits_for(source.bound + int(theta.max()) * (levels + 1))
        per = (lambda v: v if channels > 1 else int(v[0]))  # noqa: E731
        if isinstance(layer, RateActivation):
            neuron = ir.Neuron(kind="if", threshold=per(theta), membrane_bits=bits, initial=per(half))
        else:
            neuron = ir.Neuron(kind="sg_stateless", threshold=per(theta - half), membrane_bits=bits, levels=levels, spacing=per(theta))
        return neuron, spikes, exact
    if isinstance(layer, TTFSActivation):
        factor = ROUND_UP_AT_FLOAT32[layer.neuron.rounding]
        x_max = Fraction(layer.x_max)
        exact = x_max.numerator == 1 or x_max.denominator == 1  # x_max a power of two: V / x_max is exact in floats
        table = np.array(
            [[math.ceil(factor * x_max / u * Fraction(1, 2**t)) for u in unit] for t in range(layer.steps)], dtype=np.int64
        )
        bits = _bits_for(max(source.bound, int(table.max())))
        neuron = ir.Neuron(kind="ttfs", threshold=max(1, int(table.max())), membrane_bits=bits, step_thresholds=table if channels > 1 else table[:, 0])
        time_unit = x_max * Fraction(1, 2 ** (layer.steps - 1))
        return neuron, _Signal(source.layer, np.array([time_unit], dtype=object), 2 ** (layer.steps - 1), True, source.shape), exact
    if isinstance(layer, QCFSActivation):
        ratios = np.array([Fraction(layer.clip) / u for u in unit], dtype=object)
        theta = np.array([max(1, round(r)) for r in ratios], dtype=np.int64)
        exact = all(r.denominator == 1 for r in ratios)
        bits = _bits_for(source.bound * snn.steps + int(theta.max()) * 2)
        per = (lambda v: v if channels > 1 else int(v[0]))  # noqa: E731
        neuron = ir.Neuron(kind="if", threshold=per(theta), membrane_bits=bits, initial=per(theta // 2))
        return neuron, _Signal(source.layer, _fractions([layer.clip]), 1, True, source.shape), False
    raise ConversionError(f"to_ir: {label} ({type(layer).__name__}) has no integer description")


FOLD_CHUNK = 2**21
"""Accumulator values times channels evaluated at once by `_folded_levels` (bounds its memory)."""


def _folded_levels(snn: SpikingNetwork, layer: ScatterGatherActivation, source: _Signal, label: str) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-channel, per-level integer thresholds on the accumulator ``acc`` that reproduce the spiking network's
    own decision, proved by exhaustive evaluation.

    The spiking network computes, per channel ``c``, the float current ``V = float32(acc) * float32(u s) + b_c``
    (`IntegerSynapse.current`), the batch norms between the layer and the neurons as modules
    (``BN(V) = (V - mu_c) / sqrt(var_c + eps) gamma_c + beta_c`` in PyTorch's float32 arithmetic), and the
    group's count ``n(acc) = clip(R(BN(V) / step), 0, N)`` (`ScatterGatherActivation.fire`, ``R`` the tie rule).
    Every one of these float operations is monotone (non-decreasing for ``gamma_c > 0``, non-increasing for
    ``gamma_c < 0``), so each channel has a polarity ``p_c`` in {1, -1} and thresholds ``A_{k,c}`` with

    .. math:: n_c(acc) = \sum_{k=1}^{N} [\, p_c \cdot acc \ge A_{k,c} \,]
              \qquad \text{for every integer } |acc| \le B

    where ``B = max_c sum_j |W_cj| * max code`` bounds the accumulator. The thresholds are read off the float
    network's counts at every ``acc`` in ``[-B, B]``, evaluated with the network's own modules on tensors laid
    out as the network's (``[n, C, H, W]`` or ``[n, C]``), and the rule is then checked against all of them
    (``torch.equal``): a channel where it does not hold (a non-monotone decision) is refused. A level that fires at
    every ``acc`` gets ``A = -B``, one that never fires ``A = B + 1``; a channel with ``gamma_c = 0`` is constant
    (``p_c = 1``). A tie (``BN(V) / step = k - 1/2`` exactly) is decided as the network decides it, by construction.

    Returns:
        ``(A, p)``: int64 ``[N, C]`` and ``[C]``.
    """
    synapse = snn.synapses.get(source.synapse) if source.synapse is not None else None
    if synapse is None or source.in_unit is None:
        raise ConversionError(f"to_ir: {label} must read one synaptic layer's integer accumulator for its thresholds to be folded")
    bound = max(int(source.acc_bound), 1)
    channels, spatial = source.shape[0], tuple(source.shape[1:])
    positions = math.prod(spatial)
    values = torch.arange(-bound, bound + 1, dtype=torch.float64)
    rows = max(1, FOLD_CHUNK // (channels * positions)) * positions
    counts = []
    with torch.no_grad():
        for chunk in values.split(rows):
            samples = -(-chunk.numel() // positions)
            grid = torch.cat([chunk, chunk[-1:].expand(samples * positions - chunk.numel())])  # padded with the last value
            acc = grid.reshape(samples, 1, *spatial).expand(samples, channels, *spatial).contiguous()
            current = synapse.current(acc, source.in_unit)
            for _, transform in source.transforms:
                current = transform(current)
            spikes = layer.fire(current).spikes  # [1, samples, C, ..., N]
            count = spikes.sum((0, -1)).to(torch.int64).movedim(1, -1).reshape(-1, channels)
            counts.append(count[: chunk.numel()])
    counts = torch.cat(counts)  # [2B + 1, C]: the count at acc = -B .. B
    steps = counts.diff(dim=0)
    rising, falling = (steps >= 0).all(0), (steps <= 0).all(0)
    if not bool((rising | falling).all()):
        bad = [int(c) for c in torch.nonzero(~(rising | falling)).flatten()[:4]]
        raise ConversionError(f"to_ir: {label}: the count is not monotone in the accumulator on channel(s) {bad}; it has no thresholds")
    polarity = torch.where(rising, 1, -1).to(torch.int64)
    oriented = torch.where(rising, counts, counts.flip(0))  # the count at p * acc = -B .. B
    levels = torch.arange(1, layer.levels + 1, dtype=torch.int64)
    reached = oriented.unsqueeze(0) >= levels.reshape(-1, 1, 1)  # [N, 2B + 1, C], a suffix along acc
    first = torch.where(reached.any(1), reached.to(torch.int8).argmax(1), torch.full_like(reached[:, 0], 2 * bound + 1, dtype=torch.int64))
    thresholds = first - bound  # [N, C]; B + 1 where a level never fires
    acc = torch.arange(-bound, bound + 1, dtype=torch.int64).reshape(1, -1, 1)
    predicted = ((polarity * acc) >= thresholds.unsqueeze(1)).sum(0)  # [N, 2B + 1, C] summed over the levels
    if not torch.equal(predicted, counts):
        raise ConversionError(f"to_ir: {label}: the folded thresholds do not reproduce the network's counts")
    return thresholds.numpy(), polarity.numpy()


def _folded_neuron(snn: SpikingNetwork, layer: ScatterGatherActivation, source: _Signal, label: str) -> Any:
    r"""The ``sg_stateless`` IR neuron with batch norm and the tie rule folded in (`_folded_levels`).

    The IR's current is ``I = acc * 2^shift + b`` (the layer's integer bias in accumulator units), so with
    ``p_c acc >= A_{k,c}`` the level fires when ``p_c I >= A_{k,c} 2^shift + p_c b_c`` (multiply by ``2^shift > 0``
    and add ``p_c b_c`` to both sides): ``level_thresholds = A 2^shift + p b`` and ``polarity = p``."""
    from snnq.hardware import ir

    thresholds, polarity = _folded_levels(snn, layer, source, label)
    bias = np.zeros(thresholds.shape[1], dtype=np.int64) if source.bias is None else np.asarray(source.bias, dtype=np.int64)
    table = thresholds * 2**source.shift + polarity * bias
    largest = max(int(np.abs(table).max(initial=0)), source.bound) + 1
    return ir.Neuron(kind="sg_stateless", threshold=1, membrane_bits=_bits_for(largest), levels=layer.levels, spacing=0,
                     level_thresholds=table, polarity=polarity)
