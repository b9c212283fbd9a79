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

The input is the integer code of the network's input quantizer. The scores of the IR's output layer times
``metadata["output_unit"]`` are the converted network's outputs; ``exact`` in the metadata says whether that
holds bit for bit (it does when every step is a power of two and every bias lies on its accumulator's grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import torch
from torch import Tensor, fx, nn

from snnq.conversion.layers import QCFSActivation, RateActivation, ScatterGatherActivation, SpikingActivation, TTFSActivation
from snnq.conversion.network import SpikingNetwork
from snnq.conversion.trace import SYNAPTIC, layer_type, weight_quantizer
from snnq.errors import ConversionError
from snnq.quant.apply import QuantizedActivation
from snnq.quant.base import Quantizer
from snnq.quant.log2 import _SQRT_HALF

ROUND_UP_AT_FLOAT32 = {"nearest": Fraction(3, 4), "log_nearest": Fraction(_SQRT_HALF), "floor": Fraction(1)}


@dataclass
class _Signal:
    """What an fx node carries, in IR terms: the IR layer that produces it (or the input), its unit per channel,
    the largest integer it can hold, and whether it is spikes (a neuron's output) or an integrated current."""

    layer: str
    unit: np.ndarray  # Fractions, one per channel (or one)
    bound: int
    spikes: bool
    shape: tuple[int, ...]


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
    codes at step 0 (layerwise) or at every step (parallel)."""
    quantizer = _input_quantizer(snn.graph_module)
    codes = quantizer.integer_form(x.detach().float()).codes.to(torch.int64).numpy()
    steps = snn.steps
    train = np.zeros((steps,) + codes.shape, dtype=np.int64)
    if snn.schedule == "parallel":
        train[:] = codes
    else:
        train[0] = codes
    return train


def _input_quantizer(graph_module: fx.GraphModule) -> Quantizer:
    modules = dict(graph_module.named_modules())
    for node in graph_module.graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], QuantizedActivation):
            if node.args and getattr(node.args[0], "op", None) == "placeholder":
                return modules[node.target].quantizer
    raise ConversionError("to_ir: the network's input is not quantized; integer hardware needs integer inputs (QuantConfig.input)")


def to_ir(snn: SpikingNetwork, *, name: str = "network", input_shape: tuple[int, ...], metadata: dict[str, Any] | None = None):  # noqa: ANN201
    """The integer IR of ``snn``; ``input_shape`` is one input's shape without the batch (e.g. ``(1, 28, 28)``)."""
    from snnq.hardware import ir

    graph_module = snn.graph_module
    _input_quantizer(graph_module)  # integer hardware takes integer inputs
    modules = dict(graph_module.named_modules())
    shapes = _shapes(graph_module, input_shape)
    signals: dict[fx.Node, _Signal] = {}
    layers: list[Any] = []
    neurons_of: dict[str, Any] = {}
    exact = True
    input_bits = 1
    for node in graph_module.graph.nodes:
        module = modules.get(node.target) if node.op == "call_module" else None
        source = signals.get(node.args[0]) if node.args and isinstance(node.args[0], fx.Node) else None
        if node.op == "placeholder":
            signals[node] = _Signal(ir.INPUT, _fractions([1.0]), 0, False, tuple(input_shape))
        elif isinstance(module, QuantizedActivation) and source is not None and source.layer == ir.INPUT and source.bound == 0:
            quantizer = module.quantizer
            step = quantizer.fixed_step()
            if step is None or quantizer.codeset().low != 0:
                raise ConversionError("to_ir: the input quantizer needs a fixed step and unsigned codes")
            input_bits = quantizer.codeset().bits
            signals[node] = _Signal(ir.INPUT, _fractions([step]), quantizer.codeset().high, False, tuple(input_shape))
        elif isinstance(module, SYNAPTIC):
            layer, signal = _synaptic(node, module, source, shapes, ir)
            layers.append(layer)
            signals[node] = signal
        elif isinstance(module, SpikingActivation):
            neuron, signal, was_exact = _neuron(snn, node, module, source)
            exact &= was_exact
            if source.spikes or source.layer in neurons_of or source.layer == ir.INPUT:
                raise ConversionError(f"to_ir: neuron layer {node.target!r} must read a synaptic layer's (or a sum's) current")
            neurons_of[source.layer] = neuron
            signals[node] = signal
        elif isinstance(module, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d)):
            layer, signal = _pool(node, module, source, shapes, ir)
            layers.append(layer)
            signals[node] = signal
        elif isinstance(module, (nn.Flatten,)) or (node.op == "call_function" and node.target is torch.flatten) or (node.op == "call_method" and node.target in ("view", "reshape", "flatten")):
            shape = shapes[node]
            if len(shape) == 1 and len(source.shape) == 1:
                signals[node] = source
                continue
            layers.append(ir.Flatten(name=_name(node), inputs=(source.layer,), input_shape=source.shape, output_shape=shape))
            signals[node] = _Signal(layers[-1].name, _collapse_unit(source.unit), source.bound, source.spikes, shape)
        elif isinstance(module, (nn.Identity,)) or (node.op == "call_method" and node.target == "contiguous"):
            signals[node] = source
        elif node.op == "call_function" and getattr(node.target, "__name__", "") == "add":
            parts = [signals[arg] for arg in node.args]
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
    if output.spikes:
        raise ConversionError("to_ir: the network must end with a synaptic layer (its integrated current is the score)")
    layers = [_with_neuron(layer, neurons_of.get(layer.name)) for layer in layers]
    info = {"exact": bool(exact), "output_unit": [float(u) for u in output.unit], "converter": snn.coding, **(metadata or {})}
    return ir.Network(
        name=name, input_shape=tuple(input_shape), time_steps=snn.steps, coding=snn.coding, layers=tuple(layers),
        input_bits=input_bits, metadata=info, schedule="parallel" if snn.schedule == "parallel" else "layerwise",
    )


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
    return layer, _Signal(layer.name, unit, bound, False, shapes[node])


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
        return neuron, _Signal(source.layer, _fractions([layer.step]), levels, True, source.shape), exact
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
