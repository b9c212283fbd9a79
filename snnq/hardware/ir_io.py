"""Saving and loading an IR `Network` as one ``.npz`` file: the arrays as ``.npy`` members, everything else as JSON.

The JSON (member ``__ir__``) mirrors the dataclasses field by field, written by one generic walker (no field is
listed by hand): a dataclass becomes ``{"__type__": name, field: value, ...}``, an array becomes
``{"__array__": member}``, a tuple ``{"__tuple__": [...]}`` and a mapping ``{"__map__": {...}}``. Loading
rebuilds the same dataclasses, so their ``__post_init__`` checks run again on every file that is read, and a
round trip gives equal arrays (dtype, shape, values) and equal metadata.

A run directory holds its network as `IR_FILENAME` (``network.ir.npz``).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.hardware.errors import IRError
from snnq.hardware.ir import LAYER_KINDS, Activity, Network, Neuron

IR_FILENAME = "network.ir.npz"
"""Name of the IR file inside a run directory."""

FORMAT_VERSION = 1
_META = "__ir__"
_TYPES: Mapping[str, type] = MappingProxyType(
    {"Network": Network, "Neuron": Neuron, "Activity": Activity, **{f"layer:{kind}": cls for kind, cls in LAYER_KINDS.items()}}
)


def _type_name(obj: Any) -> str:
    kind = getattr(type(obj), "kind", "")
    name = f"layer:{kind}" if kind else type(obj).__name__
    if name not in _TYPES:
        raise IRError(f"cannot serialise {type(obj).__name__}: not an IR type ({', '.join(_TYPES)})")
    return name


def _encode(value: Any, arrays: dict[str, np.ndarray], path: str) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {"__type__": _type_name(value)}
        for f in fields(value):
            out[f.name] = _encode(getattr(value, f.name), arrays, f"{path}.{f.name}" if path else f.name)
        return out
    if isinstance(value, np.ndarray):
        arrays[path] = value
        return {"__array__": path}
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v, arrays, f"{path}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, arrays, f"{path}.{i}") for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise IRError(f"{path}: mapping keys must be strings to be saved")
        return {"__map__": {k: _encode(v, arrays, f"{path}.{k}") for k, v in value.items()}}
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise IRError(f"{path}: cannot save a {type(value).__name__} in an IR file")


def _decode(value: Any, arrays: Mapping[str, np.ndarray]) -> Any:
    if isinstance(value, list):
        return [_decode(v, arrays) for v in value]
    if not isinstance(value, dict):
        return value
    if "__array__" in value:
        return arrays[value["__array__"]]
    if "__tuple__" in value:
        return tuple(_decode(v, arrays) for v in value["__tuple__"])
    if "__map__" in value:
        return {k: _decode(v, arrays) for k, v in value["__map__"].items()}
    if "__type__" in value:
        cls = _TYPES.get(value["__type__"])
        if cls is None:
            raise IRError(f"unknown IR type {value['__type__']!r} in file; known: {', '.join(_TYPES)}")
        return cls(**{k: _decode(v, arrays) for k, v in value.items() if k != "__type__"})
    raise IRError(f"malformed IR entry {value!r}")


def save_ir(network: Network, path: str | os.PathLike[str]) -> Path:
    """Writes ``network`` to ``path`` (a ``.npz`` file, or a directory that receives `IR_FILENAME`) atomically."""
    target = Path(path)
    if target.is_dir():
        target = target / IR_FILENAME
    arrays: dict[str, np.ndarray] = {}
    meta = {"format_version": FORMAT_VERSION, "network": _encode(network, arrays, "")}
    if _META in arrays:
        raise IRError(f"array name {_META!r} is reserved")
    payload = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            np.savez(file, **{_META: payload}, **arrays)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_ir(path: str | os.PathLike[str]) -> Network:
    """Reads a network written by `save_ir` (a file, or a run directory holding `IR_FILENAME`)."""
    source = Path(path)
    if source.is_dir():
        source = source / IR_FILENAME
    if not source.is_file():
        raise IRError(f"no IR file at {source} (a run directory holds its network as {IR_FILENAME})")
    with np.load(source, allow_pickle=False) as data:
        if _META not in data.files:
            raise IRError(f"{source} is not an snnq IR file (no {_META!r} member)")
        meta = json.loads(bytes(data[_META]).decode())
        arrays = {name: data[name] for name in data.files if name != _META}
    if meta.get("format_version") != FORMAT_VERSION:
        raise IRError(f"{source}: IR format version {meta.get('format_version')!r} is not supported (this snnq reads {FORMAT_VERSION})")
    network = _decode(meta["network"], arrays)
    if not isinstance(network, Network):
        raise IRError(f"{source} does not hold a Network")
    return network
