"""How an IR network maps onto the reference RTL core (``hardware/rtl/snn_core.v``): sizes, passes, events.

The core holds one layer at a time; a network runs as a chain of *passes*, one per weighted or pooling layer
(flatten is wiring: events keep their ``(c, y, x)`` address and the dense layer that follows flattens it in
C order, ``i = (c H + y) W + x``). `CoreParameters` are the core's compile-time sizes (Verilog parameters);
`plan_passes` checks that every layer fits them and returns each pass's register values (the ``R_*`` map of
``snn_core.v``, mirrored in `REGISTERS`), and refuses, listing every offending layer, what the core lacks
(residual adds, grouped convolutions, strides that are not powers of two, neurons on pooling layers,
per-element thresholds of convolutions).

Events are 64-bit words ``op[63:60] c[59:44] y[43:32] x[31:20] value[19:0]``; ops: 0 event, 1 end of step,
2 end of image, 3 end of stream (`encode_commands`). The core's output lines ``op c y x value`` are read back
by `decode_outputs` into spike trains ``[T, B, *shape]`` and scores.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.export.errors import CosimError, refuse_level_thresholds
from snnq.export.memfile import signed_bits
from snnq.hardware.ir import INPUT, AvgPool2d, Conv2d, Dense, Flatten, Layer, MaxPool2d, Network, WeightedLayer

REGISTERS: Mapping[str, int] = MappingProxyType({
    "MODE": 0, "IN_C": 1, "IN_H": 2, "IN_W": 3, "OUT_C": 4, "OUT_H": 5, "OUT_W": 6, "K_H": 7, "K_W": 8, "S_H": 9,
    "S_W": 10, "PAD_H": 11, "PAD_W": 12, "DIRECT": 13, "GROUPS": 14, "ROWS": 15, "SYN": 16, "TOP": 17, "KIND": 18,
    "MBITS": 19, "LEAK": 20, "LEVELS": 21, "TABLE": 22, "LAYERWISE": 23, "T": 24, "TSHIFT": 25, "BIAS": 26,
    "POOL_OP": 27, "INIT_U": 28, "RESET_ZERO": 29, "START": 30, "POS": 31, "KK": 32, "WORDS": 33, "SHIFT": 34,
    # read by the testbench only: widths of the loaded .mem files
    "FILE_WEIGHT_BITS": 40, "FILE_PARAM_BITS": 41, "FILE_BIAS_BITS": 42,
})
"""Configuration word index of each register (``snn_core.v`` ``R_*``, ``snn_tb.v``)."""

NEURON_CODES: Mapping[str | None, int] = MappingProxyType({None: 0, "if": 1, "lif": 2, "sg_stateless": 3, "ttfs": 4})
SYNAPSE_CODES: Mapping[str, int] = MappingProxyType({"signed": 0, "ternary": 1, "log2": 2})
OP_EVENT, OP_STEP, OP_IMAGE, OP_END, OP_SCORE, OP_STATS = 0, 1, 2, 3, 4, 9
FIELD_LIMITS = {"c": 16, "y": 12, "x": 12, "value": 20}


@dataclass(frozen=True, kw_only=True)
class CoreParameters:
    """Compile-time sizes of the core (the Verilog parameters of ``snn_core`` and ``snn_tb``).

    Attributes:
        lanes: processing elements; each holds the output channels ``c`` with ``c % lanes == lane`` (a power of two).
        w_bits: stored weight code width.
        v_bits: event value width (graded spikes); fixed at 20 by the event format.
        acc_bits: current accumulator width.
        mem_bits: membrane register width (a layer's ``membrane_bits`` must not exceed it).
        w_depth: weight words per lane (channel groups x fan-in); a power of two.
        a_depth: accumulator / membrane words per lane (channel groups x output positions); a power of two.
        g_depth: channel groups per lane (neuron parameters); a power of two.
        t_max: time steps of the per-step threshold table; a power of two.
        max_levels: comparators of a scatter-and-gather group.
        has_log2: the lanes decode log2 weight codes (a shifter per lane).
        has_shift: shifted products (a shifter per lane): time-weighted events of time-to-first-spike coding and
            the accumulator shift of layers whose bias is finer than a weight step.
        has_table: per-step threshold tables (time-to-first-spike coding on the layerwise schedule).
    """

    lanes: int = 16
    w_bits: int = 16
    v_bits: int = 20
    acc_bits: int = 40
    mem_bits: int = 32
    w_depth: int = 4096
    a_depth: int = 1024
    g_depth: int = 16
    t_max: int = 16
    max_levels: int = 16
    has_log2: bool = True
    has_shift: bool = True
    has_table: bool = True

    def __post_init__(self) -> None:
        for name in ("lanes", "w_depth", "a_depth", "g_depth", "t_max"):
            value = getattr(self, name)
            if value < 1 or value & (value - 1):
                raise CosimError(f"core parameter {name} must be a power of two, got {value}")
        if self.v_bits != FIELD_LIMITS["value"]:
            raise CosimError(f"core parameter v_bits is fixed at {FIELD_LIMITS['value']} by the event format, got {self.v_bits}")
        if not 2 <= self.mem_bits <= 62 or not 2 <= self.acc_bits <= 63 or not 2 <= self.w_bits <= 32:
            raise CosimError(f"core widths out of range: mem_bits {self.mem_bits} (2..62), acc_bits {self.acc_bits} (2..63), w_bits {self.w_bits} (2..32)")
        if self.w_depth < self.t_max * self.g_depth:
            raise CosimError("core parameter w_depth must be >= t_max * g_depth (the load port addresses the table with it)")

    def verilog(self) -> dict[str, int]:
        """``{"LANES": 16, ...}``: the Verilog parameter names and values."""
        return {name.upper(): int(value) for name, value in asdict(self).items()}


def _pow2(value: int) -> int:
    return 1 << max(0, math.ceil(math.log2(max(value, 1))))


def _shift_of(stride: int, what: str, problems: list[tuple[str, str, str]], layer: Layer) -> int:
    if stride < 1 or stride & (stride - 1):
        problems.append((layer.name, layer.kind, f"{what} {stride} is not a power of two (the core shifts addresses)"))
        return 0
    return stride.bit_length() - 1


@dataclass(frozen=True)
class Pass:
    """One run of the core: the IR layer it computes, its register values and the event geometry it emits."""

    layer: Layer
    registers: dict[str, int]
    geometry: tuple[int, int, int]
    acc_bound: int


def _geometry(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (shape[0], shape[1], shape[2]) if len(shape) == 3 else (int(np.prod(shape)), 1, 1)


def _value_bound(network: Network, layer: Layer, source_bound: int) -> int:
    """An upper bound of ``|current|`` that a layer's accumulator can hold before its neurons fire."""
    if not isinstance(layer, WeightedLayer):
        return 0
    w, _ = layer.integer_weight()
    per_output = np.abs(w.astype(np.int64)).reshape(w.shape[0], -1).sum(axis=1)
    steps = network.time_steps
    timing = 2 ** (steps - 1) if network.coding == "ttfs" and network.schedule == "layerwise" else 1
    timing <<= getattr(layer, "shift", 0)
    bias = int(np.abs(layer.bias).max()) if layer.bias is not None else 0
    return int(per_output.max(initial=0)) * source_bound * steps * timing + bias * steps


def plan_passes(network: Network, params: CoreParameters) -> list[Pass]:
    """The passes that run ``network`` on a core of size ``params`` (see the module docstring); `CosimError` lists what does not fit."""
    refuse_level_thresholds(network, "the Verilog reference core")
    problems: list[tuple[str, str, str]] = []
    passes: list[Pass] = []
    geometry = {INPUT: _geometry(network.input_shape)}
    bound = {INPUT: 2**network.input_bits - 1}
    layerwise = network.schedule == "layerwise"
    previous = INPUT
    for layer in network.layers:
        if layer.inputs != (previous,):
            problems.append((layer.name, layer.kind, f"reads {layer.inputs}; the core runs a chain of layers (each reading the one before)"))
        source = layer.inputs[0] if layer.inputs and layer.inputs[0] in geometry else previous
        geo = geometry.get(source, _geometry(layer.input_shape))
        previous = layer.name
        if isinstance(layer, Flatten):
            geometry[layer.name], bound[layer.name] = geo, bound.get(source, 1)
            continue
        regs = _layer_registers(network, layer, geo, params, problems, layerwise)
        if regs is None:
            geometry[layer.name], bound[layer.name] = _geometry(layer.output_shape), 1
            continue
        out_geo = _geometry(layer.output_shape)
        geometry[layer.name] = out_geo
        neuron = layer.neuron
        if isinstance(layer, AvgPool2d):
            bound[layer.name] = bound.get(source, 1) * layer.divisor
        elif isinstance(layer, MaxPool2d):
            bound[layer.name] = bound.get(source, 1)
        else:
            bound[layer.name] = 1 if neuron is None or neuron.kind != "sg_stateless" else neuron.levels
        acc = _value_bound(network, layer, bound.get(source, 1))
        if acc >= 2 ** (params.acc_bits - 1):
            problems.append((layer.name, layer.kind, f"its currents can reach {acc}, beyond the {params.acc_bits}-bit accumulator (acc_bits)"))
        if max(bound[layer.name], bound.get(source, 1)) >= 2 ** params.v_bits:
            problems.append((layer.name, layer.kind, f"event values can reach {bound[layer.name]}, beyond {params.v_bits} bits"))
        passes.append(Pass(layer, regs, out_geo, acc))
    if problems:
        listed = "; ".join(f"{name} ({kind}): {why}" for name, kind, why in problems)
        raise CosimError(f"the reference core cannot run network {network.name!r}: {listed}")
    return passes


def _capacity(layer: Layer, regs: dict[str, int], params: CoreParameters, problems: list[tuple[str, str, str]]) -> None:
    checks = [
        (regs["GROUPS"] * regs["ROWS"], params.w_depth, "weight words per lane", "w_depth"),
        (regs["WORDS"], params.a_depth, "accumulator words per lane", "a_depth"),
        (regs["GROUPS"], params.g_depth, "channel groups", "g_depth"),
        (regs["T"] if regs["TABLE"] else 1, params.t_max, "steps of a threshold table", "t_max"),
        (regs["T"] + regs["SHIFT"], 63, "time steps plus accumulator shift (6-bit step counter and shifter)", "the core's fixed widths"),
        (regs["LEVELS"], params.max_levels, "levels of a scatter-and-gather group", "max_levels"),
        (regs["MBITS"], params.mem_bits, "membrane bits", "mem_bits"),
        (regs["FILE_WEIGHT_BITS"], params.w_bits, "weight code bits", "w_bits"),
        (int(regs["SYN"] == SYNAPSE_CODES["log2"]), int(params.has_log2), "log2 weight decoding", "has_log2"),
        (int(regs["TSHIFT"] or regs["SHIFT"] > 0), int(params.has_shift), "shifted products (time weights, accumulator shift)", "has_shift"),
        (regs["TABLE"], int(params.has_table), "per-step threshold tables", "has_table"),
    ]
    for needed, available, what, name in checks:
        if needed > available:
            problems.append((layer.name, layer.kind, f"needs {needed} {what}, the core has {available} ({name}; build a larger core)"))
    for value, field in ((max(regs["IN_C"], regs["OUT_C"]), "c"), (max(regs["IN_H"], regs["OUT_H"]), "y"), (max(regs["IN_W"], regs["OUT_W"]), "x")):
        if value > 2 ** FIELD_LIMITS[field]:
            problems.append((layer.name, layer.kind, f"{value} exceeds the {FIELD_LIMITS[field]}-bit {field} field of an event"))


def _layer_registers(network: Network, layer: Layer, geo: tuple[int, int, int], params: CoreParameters,
                     problems: list[tuple[str, str, str]], layerwise: bool) -> dict[str, int] | None:
    regs = {name: 0 for name in REGISTERS}
    c, h, w = geo
    regs.update(IN_C=c, IN_H=h, IN_W=w, T=network.time_steps, LAYERWISE=int(layerwise))
    count = len(problems)
    if isinstance(layer, (Conv2d, Dense)):
        _synaptic_registers(network, layer, geo, regs, problems)
    elif isinstance(layer, (MaxPool2d, AvgPool2d)):
        if layer.neuron is not None:
            problems.append((layer.name, layer.kind, "a neuron on a pooling layer (the core fires neurons of weighted layers only)"))
        oc, oh, ow = layer.output_shape
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
        regs.update(MODE=1, OUT_C=oc, OUT_H=oh, OUT_W=ow, K_H=kh, K_W=kw, S_H=_shift_of(sh, "stride", problems, layer),
                    S_W=_shift_of(sw, "stride", problems, layer), PAD_H=ph, PAD_W=pw,
                    DIRECT=int((kh, kw) == (sh, sw) and (ph, pw) == (0, 0)), KK=kh * kw, ROWS=0,
                    POOL_OP=(2 if network.coding == "ttfs" and layerwise else 0) if isinstance(layer, MaxPool2d) else 1)
    else:
        problems.append((layer.name, layer.kind, "the core has no such layer (it runs conv2d, dense, maxpool2d, avgpool2d and flatten)"))
        return None
    regs["GROUPS"] = -(-regs["OUT_C"] // params.lanes)
    regs["POS"] = regs["OUT_H"] * regs["OUT_W"]
    regs["WORDS"] = regs["GROUPS"] * regs["POS"]
    _capacity(layer, regs, params, problems)
    return None if len(problems) > count else regs


def _synaptic_registers(network: Network, layer: WeightedLayer, geo: tuple[int, int, int], regs: dict[str, int],
                        problems: list[tuple[str, str, str]]) -> None:
    c, h, w = geo
    if isinstance(layer, Conv2d):
        oc, oh, ow = layer.output_shape
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
        if layer.groups != 1:
            problems.append((layer.name, layer.kind, f"groups={layer.groups} (the core runs ungrouped convolutions)"))
        regs.update(OUT_C=oc, OUT_H=oh, OUT_W=ow, K_H=kh, K_W=kw, S_H=_shift_of(sh, "stride", problems, layer),
                    S_W=_shift_of(sw, "stride", problems, layer), PAD_H=ph, PAD_W=pw,
                    DIRECT=int((kh, kw) == (sh, sw) and (ph, pw) == (0, 0)))
    else:  # a dense layer is a convolution whose kernel is its whole (c, y, x) input: one tap per event
        regs.update(OUT_C=layer.output_shape[0], OUT_H=1, OUT_W=1, K_H=h, K_W=w, S_H=max(0, (h - 1).bit_length()),
                    S_W=max(0, (w - 1).bit_length()), DIRECT=1)
        if c * h * w != layer.input_shape[0]:
            problems.append((layer.name, layer.kind, f"reads events of shape {geo}, which do not flatten to its {layer.input_shape[0]} inputs"))
    regs["KK"] = regs["K_H"] * regs["K_W"]
    regs["ROWS"] = c * regs["KK"]
    codes = layer.weight.astype(np.int64)
    regs["SYN"] = SYNAPSE_CODES[layer.synapse]
    regs["TOP"] = int(np.abs(codes).max(initial=1)) - 1 if layer.synapse == "log2" else 0
    regs["FILE_WEIGHT_BITS"] = layer.weight_bits
    regs["BIAS"] = int(layer.bias is not None)
    if layer.bias is not None:
        regs["FILE_BIAS_BITS"] = signed_bits(layer.bias)
    regs["TSHIFT"] = int(network.schedule == "layerwise" and network.coding == "ttfs" and layer.inputs[0] != INPUT)
    regs["SHIFT"] = getattr(layer, "shift", 0)
    neuron = layer.neuron
    regs["KIND"] = NEURON_CODES[None if neuron is None else neuron.kind]
    if neuron is None:
        regs["MBITS"] = 2
        return
    layerwise = network.schedule == "layerwise"
    if layerwise and neuron.kind == "lif" or layerwise and neuron.kind == "ttfs" and neuron.step_thresholds is None:
        problems.append((layer.name, layer.kind, f"{neuron.kind!r} neurons cannot run on the layerwise schedule (as in snnq.hardware.simulate)"))
    for field in ("threshold", "initial", "spacing"):
        if np.asarray(getattr(neuron, field)).ndim > 1:
            problems.append((layer.name, layer.kind, f"per-element {field}s (the core holds one per output channel)"))
    regs.update(MBITS=neuron.membrane_bits, LEAK=neuron.leak_shift, FILE_PARAM_BITS=neuron.membrane_bits,
                LEVELS=neuron.levels if layerwise else 1,
                TABLE=int(layerwise and neuron.kind == "ttfs" and neuron.step_thresholds is not None),
                INIT_U=int(not layerwise or neuron.kind == "if"))


def config_text(registers: Mapping[str, int]) -> str:
    """The ``+cfg`` file: 64 hex words, register ``REGISTERS[name]`` at its index."""
    words = [0] * 64
    for name, value in registers.items():
        words[REGISTERS[name]] = int(value) & 0xFFFFFFFF
    return "// snnq reference core configuration (snn_core.v R_*)\n" + "\n".join(f"{w:08x}" for w in words) + "\n"


def encode_commands(rows: np.ndarray) -> str:
    """Command words (hex lines) for rows ``[N, 5]`` of ``op, c, y, x, value``; an end-of-stream word is appended."""
    rows = np.asarray(rows, dtype=np.uint64).reshape(-1, 5)
    words = (rows[:, 0] << np.uint64(60)) | (rows[:, 1] << np.uint64(44)) | (rows[:, 2] << np.uint64(32)) \
        | (rows[:, 3] << np.uint64(20)) | rows[:, 4]
    words = np.append(words, np.uint64(OP_END) << np.uint64(60))
    return "\n".join(map("{:016x}".format, words.tolist())) + "\n"


def input_rows(inputs: np.ndarray, network: Network) -> np.ndarray:
    """Command rows ``[N, 5]`` of integer inputs ``[T, B, *input_shape]``: nonzero entries, step and image ends."""
    x = np.asarray(inputs)
    if not np.issubdtype(x.dtype, np.integer) or x.min(initial=0) < 0 or x.max(initial=0) >= 2 ** FIELD_LIMITS["value"]:
        raise CosimError(f"the core takes integer inputs in [0, 2^{FIELD_LIMITS['value']}); got dtype {x.dtype}, range {x.min()}..{x.max()}")
    steps, batch = x.shape[:2]
    c, h, w = _geometry(network.input_shape)
    x = x.reshape(steps, batch, c, h, w)
    t, b, cc, yy, xx = np.nonzero(x)
    events = np.stack([np.full_like(t, OP_EVENT), cc, yy, xx, x[t, b, cc, yy, xx]], axis=1)
    order_key = (b * (steps + 1) + t) * 2  # events of (b, t) come before that step's end marker
    markers_b, markers_t = np.meshgrid(np.arange(batch), np.arange(steps), indexing="ij")
    step_rows = np.stack([np.full(markers_b.size, OP_STEP), *np.zeros((4, markers_b.size), dtype=np.int64)], axis=1)
    step_key = (markers_b.reshape(-1) * (steps + 1) + markers_t.reshape(-1)) * 2 + 1
    image_rows = np.stack([np.full(batch, OP_IMAGE), *np.zeros((4, batch), dtype=np.int64)], axis=1)
    image_key = (np.arange(batch) * (steps + 1) + steps) * 2
    rows = np.concatenate([events, step_rows, image_rows]).astype(np.int64)
    keys = np.concatenate([order_key, step_key, image_key])
    return rows[np.argsort(keys, kind="stable")]


def read_outputs(text: str) -> tuple[np.ndarray, int]:
    """``(rows [N, 5], cycles)`` of a testbench output file (``op c y x value`` lines; the last one the cycle count)."""
    values = np.array(text.split(), dtype=np.int64)
    if values.size % 5:
        raise CosimError("the simulator's output file is truncated (lines of 5 integers expected)")
    rows = values.reshape(-1, 5)
    if not len(rows) or rows[-1, 0] != OP_STATS:
        raise CosimError("the simulator's output file has no final cycle count: the simulation did not finish")
    return rows[:-1], int(rows[-1, 4])


def decode_outputs(rows: np.ndarray, *, steps: int, batch: int, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``(train [T, B, *shape], scores [B, *shape])`` from a pass's output rows (events, markers, scores)."""
    op = rows[:, 0]
    is_image, is_step = op == OP_IMAGE, op == OP_STEP
    if int(is_image.sum()) != batch:
        raise CosimError(f"the core emitted {int(is_image.sum())} image ends for {batch} images")
    image = np.cumsum(is_image) - is_image           # images finished before each row
    before = np.cumsum(is_step) - is_step            # step ends before each row
    firsts = np.minimum(np.searchsorted(image, np.arange(batch)), max(len(rows) - 1, 0))
    step = before - before[firsts][np.minimum(image, batch - 1)]
    geo = _geometry(shape)
    train = np.zeros((steps, batch) + geo, dtype=np.int64)
    ev = op == OP_EVENT
    if np.any(step[ev] >= steps):
        raise CosimError("the core emitted events after the last time step of an image")
    np.add.at(train, (step[ev], image[ev], rows[ev, 1], rows[ev, 2], rows[ev, 3]), rows[ev, 4])
    scores = np.zeros((batch,) + geo, dtype=np.int64)
    sc = op == OP_SCORE
    scores[image[sc], rows[sc, 1], rows[sc, 2], rows[sc, 3]] = rows[sc, 4]
    return train.reshape((steps, batch) + tuple(shape)), scores.reshape((batch,) + tuple(shape))


def command_rows(rows: np.ndarray) -> np.ndarray:
    """A pass's output rows as the next pass's commands (events and markers; scores and statistics dropped)."""
    return rows[rows[:, 0] <= OP_IMAGE]


def core_parameters_for(network: Network, *, lanes: int = 16, **overrides: Any) -> CoreParameters:
    """The smallest core (depths rounded up to powers of two) that runs ``network`` with ``lanes`` lanes."""
    base = CoreParameters(lanes=lanes, w_depth=1 << 24, a_depth=1 << 24, g_depth=1 << 12, t_max=64, acc_bits=63, mem_bits=62,
                          w_bits=32, max_levels=1 << 12)
    passes = plan_passes(network, base)
    regs = [p.registers for p in passes]
    sizes = {
        "w_depth": _pow2(max(r["GROUPS"] * r["ROWS"] for r in regs)),
        "a_depth": _pow2(max(r["WORDS"] for r in regs)),
        "g_depth": _pow2(max(r["GROUPS"] for r in regs)),
        "t_max": _pow2(max(r["T"] if r["TABLE"] else 1 for r in regs)),
        "max_levels": max(max(r["LEVELS"] for r in regs), 1),
        "mem_bits": max(max(r["MBITS"] for r in regs), 2),
        "w_bits": max(max(r["FILE_WEIGHT_BITS"] for r in regs), 2),
        "acc_bits": max(max(p.acc_bound for p in passes).bit_length() + 1, 2),
        "has_log2": any(r["SYN"] == SYNAPSE_CODES["log2"] for r in regs),
        "has_shift": any(r["TSHIFT"] or r["SHIFT"] > 0 for r in regs),
        "has_table": any(r["TABLE"] for r in regs),
    }
    sizes["w_depth"] = max(sizes["w_depth"], sizes["t_max"] * sizes["g_depth"])
    sizes.update(overrides)
    return CoreParameters(lanes=lanes, **sizes)
