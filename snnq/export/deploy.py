"""The integer deployment package: a directory that holds everything needed to run a network with integers.

`write_deployment` (``snnq export deploy RUN_DIR DIR``) writes into ``DIR``:

- ``network.npz``: per layer ``<layer>/weight`` (the IR's integer codes), ``<layer>/integer_weight`` (the integers
  the hardware accumulates, ``W_int`` of `WeightedLayer.integer_weight`: the codes themselves for linear
  synapses, ``sign(c) 2^(E - |c| + 1)`` for log2 codes), ``<layer>/bias`` and the neuron's ``threshold``,
  ``initial``, ``spacing`` and ``step_thresholds`` in the IR's own shapes (scalar, per channel or per element);
- ``mem/<layer>.<array>.mem``: the same arrays as fixed-width two's-complement hex words for ``$readmemh``
  (`snnq.export.memfile`): weights in C order at ``weight_bits``, neuron parameters expanded to one word per
  output channel (or per element, or ``(T, C)`` for step thresholds) at ``membrane_bits``, biases at the
  smallest width that holds them;
- ``manifest.json``: the graph (layers, their inputs and shapes, strides, paddings), bit widths, weight scales
  (``value = W_int * factor * weight_scale``), ``T``, coding, schedule, the output unit
  (``real score = integer score * output_unit``), the arithmetic conventions, and the sha256 of every file;
- ``snnq_runner.py``: a copy of `snnq.export.deploy_runner`, numpy only, which reproduces
  `snnq.hardware.simulate`'s integer scores from this directory alone;
- ``hw_inputs.npz`` when the run directory has labelled inputs.

`verify_deployment` refuses a directory whose files are missing or changed (`DeploymentError` naming the file);
`load_deployment` rebuilds the IR `Network` from a verified directory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from snnq.export import deploy_runner
from snnq.export.errors import DeploymentError, ExportError, refuse_level_thresholds
from snnq.export.memfile import mem_text, signed_bits
from snnq.hardware.errors import IRError
from snnq.hardware.ir import LAYER_KINDS, Layer, Network, Neuron, WeightedLayer
from snnq.hardware.ir_io import load_ir
from snnq.hardware.report import INPUTS_FILENAME, atomic_write_bytes

MANIFEST = deploy_runner.MANIFEST
ARRAYS = "network.npz"
RUNNER = "snnq_runner.py"
FORMAT, FORMAT_VERSION = deploy_runner.FORMAT, deploy_runner.FORMAT_VERSION

ARITHMETIC: Mapping[str, str] = {
    "integers": "every stored value is an integer; the hardware never sees a scale",
    "saturation": "membranes saturate to the signed range of membrane_bits: [-2^(m-1), 2^(m-1)-1]",
    "threshold": "a neuron fires when its membrane is >= its threshold",
    "reset": "by subtraction of the threshold",
    "leak": "lif: u -= u >> leak_shift (arithmetic shift, floor)",
    "rounding": "none at run time; the exporter's quantizers rounded half up",
    "time_values": "ttfs coding, layerwise: a spike at step t is worth 2^(T-1-t) to the next weighted layer",
    "scores": "the last layer's outputs summed over the T steps; real value = score * output_unit",
}
"""The integer conventions the manifest states (those of `snnq.hardware.simulate`)."""

_LAYER_COMMON = ("name", "inputs", "input_shape", "output_shape")
_LAYER_ARRAYS = ("weight", "bias")
_SKIPPED = ("neuron", "activity", "weight_scale")
_NEURON_ARRAYS = ("threshold", "initial", "spacing", "step_thresholds")


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _json_value(value: Any) -> Any:
    if isinstance(value, tuple):
        return [_json_value(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _per_channel(value: np.ndarray, channels: int) -> np.ndarray:
    """Scalars and per-channel vectors as one word per channel; per-element arrays as they are."""
    a = np.asarray(value, dtype=np.int64)
    return np.full(channels, int(a)) if a.ndim == 0 else a


class _Writer:
    """Collects arrays, their ``.mem`` texts and catalogue entries while the manifest is built."""

    def __init__(self) -> None:
        self.arrays: dict[str, np.ndarray] = {}
        self.mems: dict[str, str] = {}
        self.catalogue: dict[str, dict[str, Any]] = {}

    def add(self, layer: str, field: str, value: np.ndarray, *, bits: int, mem_value: np.ndarray | None = None, order: str = "C order") -> str:
        key = f"{layer}/{field}"
        array = np.asarray(value)  # the IR's own dtype, so that a reloaded network equals the exported one
        self.arrays[key] = array
        words = array if mem_value is None else np.asarray(mem_value, dtype=np.int64)
        mem = f"mem/{_safe(layer)}.{field}.mem"
        comment = f"snnq {layer} {field}: shape {tuple(words.shape)}, {bits}-bit two's complement, {order}"
        self.mems[mem] = mem_text(words, bits, comment=comment)
        self.catalogue[key] = {"shape": list(array.shape), "dtype": str(array.dtype), "bits": bits, "mem": mem,
                               "mem_shape": list(words.shape), "mem_order": order}
        return key


def _neuron_entry(writer: _Writer, layer: Layer, neuron: Neuron) -> dict[str, Any]:
    channels = layer.output_shape[0]
    bits = neuron.membrane_bits
    entry: dict[str, Any] = {"kind": neuron.kind, "membrane_bits": bits, "leak_shift": neuron.leak_shift, "levels": neuron.levels}
    for field in ("threshold", "initial", "spacing"):
        value = np.asarray(getattr(neuron, field), dtype=np.int64)
        entry[field] = writer.add(layer.name, field, value, bits=bits, mem_value=_per_channel(value, channels),
                                  order="one word per output channel" if value.ndim <= 1 else "per element, C order")
    entry["step_thresholds"] = None
    if neuron.step_thresholds is not None:
        table = np.asarray(neuron.step_thresholds, dtype=np.int64)
        expanded = np.broadcast_to(table.reshape(table.shape[0], -1), (table.shape[0], channels))
        entry["step_thresholds"] = writer.add(layer.name, "step_thresholds", table, bits=bits, mem_value=expanded,
                                              order="(T, C): step-major, one word per output channel")
    return entry


def _layer_entry(writer: _Writer, layer: Layer) -> dict[str, Any]:
    entry: dict[str, Any] = {"kind": layer.kind}
    for f in fields(layer):
        if f.name in _SKIPPED or f.name in _LAYER_ARRAYS:
            continue
        entry[f.name] = _json_value(getattr(layer, f.name))
    if isinstance(layer, WeightedLayer):
        integer, factor = layer.integer_weight()
        entry["weight"] = writer.add(layer.name, "weight", layer.weight, bits=layer.weight_bits, order="C order (the IR's weight layout)")
        entry["integer_weight"] = writer.add(layer.name, "integer_weight", integer, bits=signed_bits(integer),
                                             order="C order; the integers the hardware accumulates")
        entry["integer_weight_factor"] = factor
        scale = layer.weight_scale
        entry["weight_scale"] = [float(s) for s in scale] if isinstance(scale, np.ndarray) else float(scale)
        entry["bias"] = None if layer.bias is None else writer.add(layer.name, "bias", layer.bias, bits=signed_bits(layer.bias),
                                                                    order="one word per output channel")
    entry["neuron"] = None if layer.neuron is None else _neuron_entry(writer, layer, layer.neuron)
    return entry


def deployment_manifest(network: Network) -> tuple[dict[str, Any], dict[str, np.ndarray], dict[str, str]]:
    """``(manifest without checksums, arrays for network.npz, .mem texts by path)`` of ``network``."""
    refuse_level_thresholds(network, "the deployment package")
    writer = _Writer()
    layers = [_layer_entry(writer, layer) for layer in network.layers]
    metadata = dict(network.metadata)
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "network": {
            "name": network.name, "input_shape": list(network.input_shape), "time_steps": network.time_steps,
            "coding": network.coding, "schedule": network.schedule, "input_bits": network.input_bits,
            "output_unit": metadata.get("output_unit"), "metadata": json.loads(json.dumps(metadata)),
        },
        "arithmetic": dict(ARITHMETIC),
        "layers": layers,
        "arrays": ARRAYS,
        "array_info": writer.catalogue,
        "runner": RUNNER,
    }
    return manifest, writer.arrays, writer.mems


def _npz_bytes(arrays: Mapping[str, np.ndarray]) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _prepare_directory(target: Path) -> None:
    """Refuses a non-empty directory that is not a deployment; clears the files an older deployment listed."""
    if target.exists() and not target.is_dir():
        raise ExportError(f"{target} exists and is not a directory")
    if not target.is_dir() or not any(target.iterdir()):
        target.mkdir(parents=True, exist_ok=True)
        return
    manifest = target / MANIFEST
    if not manifest.is_file():
        raise ExportError(f"{target} is not empty and holds no {MANIFEST}: refusing to write a deployment over other files")
    try:
        old = json.loads(manifest.read_text()).get("files", {})
    except ValueError:
        old = {}
    for name in old:
        path = (target / name).resolve()
        if target.resolve() in path.parents:
            path.unlink(missing_ok=True)
    manifest.unlink()


def write_deployment(network: Network, directory: str | os.PathLike[str], *, inputs: np.ndarray | None = None,
                     labels: np.ndarray | None = None) -> Path:
    """Writes the deployment package of ``network`` into ``directory`` (see the module docstring); returns the manifest path.

    ``inputs`` (``[T, B, *input_shape]`` integers) and ``labels`` are stored as ``hw_inputs.npz`` when given.
    Every file is written through a temporary name; the manifest, which lists their checksums, comes last.
    """
    target = Path(directory)
    manifest, arrays, mems = deployment_manifest(network)
    _prepare_directory(target)
    (target / "mem").mkdir(exist_ok=True)
    files: dict[str, bytes] = {ARRAYS: _npz_bytes(arrays), RUNNER: Path(deploy_runner.__file__).read_bytes()}
    files.update({name: text.encode() for name, text in mems.items()})
    if inputs is not None:
        payload = {"inputs": np.asarray(inputs)} | ({} if labels is None else {"labels": np.asarray(labels)})
        files[INPUTS_FILENAME] = _npz_bytes(payload)
    manifest["files"] = {}
    for name, data in sorted(files.items()):
        atomic_write_bytes(target / name, data)
        manifest["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    atomic_write_bytes(target / MANIFEST, (json.dumps(manifest, indent=1, sort_keys=False) + "\n").encode())
    return target / MANIFEST


def export_deploy(run_dir: str | os.PathLike[str], directory: str | os.PathLike[str]) -> Path:
    """``snnq export deploy``: the deployment package of a run directory's ``network.ir.npz`` (and ``hw_inputs.npz``)."""
    run = Path(run_dir)
    network = load_ir(run)
    inputs = labels = None
    if (run / INPUTS_FILENAME).is_file():
        with np.load(run / INPUTS_FILENAME, allow_pickle=False) as data:
            inputs = data["inputs"]
            labels = data["labels"] if "labels" in data.files else None
    return write_deployment(network, directory, inputs=inputs, labels=labels)


def verify_deployment(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest of ``directory`` after checking every listed file's sha256; `DeploymentError` names the first bad file."""
    try:
        return deploy_runner.read_manifest(Path(directory))
    except deploy_runner.DeploymentError as error:
        path = str(error).split(":", 1)[0]
        raise DeploymentError(str(error), path=path) from None


def load_deployment(directory: str | os.PathLike[str]) -> Network:
    """The IR `Network` stored in a (verified) deployment directory: equal to the network that was exported."""
    source = Path(directory)
    manifest = verify_deployment(source)
    with np.load(source / manifest["arrays"], allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}

    def array(key: str | None) -> np.ndarray | None:
        return None if key is None else arrays[key]

    layers = []
    try:
        for entry in manifest["layers"]:
            cls = LAYER_KINDS[entry["kind"]]
            kwargs: dict[str, Any] = {}
            for f in fields(cls):
                if f.name in ("neuron", "activity") or f.name not in entry:
                    continue
                value = entry[f.name]
                if f.name in _LAYER_ARRAYS:
                    value = array(value)
                elif f.name == "weight_scale" and isinstance(value, list):
                    value = np.asarray(value, dtype=np.float64)
                elif isinstance(value, list):
                    value = tuple(value)
                kwargs[f.name] = value
            neuron = entry.get("neuron")
            if neuron is not None:
                params = {k: v for k, v in neuron.items() if k not in _NEURON_ARRAYS}
                for field in _NEURON_ARRAYS:
                    value = array(neuron.get(field))
                    if value is not None and field != "step_thresholds" and value.ndim == 0:
                        value = int(value)
                    params[field] = value
                kwargs["neuron"] = Neuron(**params)
            layers.append(cls(**kwargs))
        net = manifest["network"]
        return Network(name=net["name"], input_shape=tuple(net["input_shape"]), time_steps=net["time_steps"],
                       coding=net["coding"], layers=tuple(layers), input_bits=net["input_bits"],
                       metadata=net["metadata"], schedule=net["schedule"])
    except (KeyError, TypeError, IRError) as error:
        raise DeploymentError(f"{source / MANIFEST}: cannot rebuild the network ({type(error).__name__}: {error})", path=str(source / MANIFEST)) from error


def copy_deployment(source: str | os.PathLike[str], destination: str | os.PathLike[str]) -> Path:
    """Copies a verified deployment (only the files its manifest lists, and the manifest) to ``destination``."""
    src, dst = Path(source), Path(destination)
    manifest = verify_deployment(src)
    for name in [MANIFEST, *manifest["files"]]:
        (dst / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / name, dst / name)
    return dst
