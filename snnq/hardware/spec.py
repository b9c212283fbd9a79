"""Nested frozen dataclasses <-> plain mappings (YAML), with errors that name the offending key.

`from_mapping` walks a spec class's fields: unknown keys are rejected with the closest valid one, missing keys
are named, scalar types are checked (an ``int`` field takes no ``2.5`` and no ``true``), nested dataclasses
recurse, and a `ConfigError` raised by a class's ``__post_init__`` is re-raised with the dotted path of the
mapping it came from. `require` is the small helper those ``__post_init__`` checks use.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar, Union

from snnq.errors import ConfigError, did_you_mean

S = TypeVar("S")


def require(condition: bool, key: str, message: str) -> None:
    """Raises ``ConfigError("<key>: <message>")`` unless ``condition``."""
    if not condition:
        raise ConfigError(f"{key}: {message}")


def positive(obj: Any, *names: str) -> None:
    """Every named numeric field of ``obj`` is > 0."""
    for name in names:
        value = getattr(obj, name)
        require(value > 0, name, f"must be > 0, got {value!r}")


def non_negative(obj: Any, *names: str) -> None:
    """Every named numeric field of ``obj`` is >= 0."""
    for name in names:
        value = getattr(obj, name)
        require(value >= 0, name, f"must be >= 0, got {value!r}")


def one_of(obj: Any, name: str, valid: typing.Iterable[str]) -> None:
    """Field ``name`` of ``obj`` is one of ``valid``."""
    value, choices = getattr(obj, name), list(valid)
    require(value in choices, name, f"unknown value {value!r}{did_you_mean(str(value), choices)}; valid: {', '.join(choices)}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(tp: Any, value: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        options = typing.get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _convert(option, value, path)
            except ConfigError as error:
                errors.append(str(error))
        raise ConfigError(errors[0] if len(errors) == 1 else f"{path}: {value!r} fits none of {tp}")
    if dataclasses.is_dataclass(tp):
        return from_mapping(tp, value, path=path)
    if tp is Any:
        return value
    if origin in (tuple,):
        args = typing.get_args(tp)
        if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)):
            raise ConfigError(f"{path}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_convert(item, v, f"{path}[{i}]") for i, v in enumerate(value))
    if origin in (dict, Mapping, typing.Mapping) or tp in (dict, Mapping):
        if not isinstance(value, Mapping):
            raise ConfigError(f"{path}: expected a mapping, got {value!r}")
        args = typing.get_args(tp)
        item = args[1] if len(args) == 2 else Any
        return {str(k): _convert(item, v, _join(path, str(k))) for k, v in value.items()}
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: expected true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or float(value) != int(value):
            raise ConfigError(f"{path}: expected an integer, got {value!r}")
        return int(value)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{path}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{path}: expected a string, got {value!r}")
        return value
    raise ConfigError(f"{path}: unsupported field type {tp!r}")


def from_mapping(cls: type[S], data: Any, *, path: str = "") -> S:
    """Builds the dataclass ``cls`` (nested dataclasses included) from a plain mapping, checking every key."""
    where = path or cls.__name__
    if isinstance(data, cls):
        return data
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of {cls.__name__} fields, got {data!r}")
    hints = typing.get_type_hints(cls)
    spec_fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for key in data:
        if key not in spec_fields:
            valid = list(spec_fields)
            raise ConfigError(f"{_join(path, str(key))}: unknown key{did_you_mean(str(key), valid)}; valid keys of {where}: {', '.join(valid)}")
    kwargs: dict[str, Any] = {}
    for name, f in spec_fields.items():
        if name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:  # type: ignore[misc]
                raise ConfigError(f"{_join(path, name)}: missing required key ({where} needs {', '.join(spec_fields)})")
            continue
        kwargs[name] = _convert(hints[name], data[name], _join(path, name))
    try:
        return cls(**kwargs)
    except ConfigError as error:
        message = str(error)
        raise ConfigError(_join(path, message) if path else message) from None


def to_mapping(obj: Any) -> Any:
    """The plain-mapping form of a spec (inverse of `from_mapping`)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.init}
    if isinstance(obj, tuple):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, Mapping):
        return {k: to_mapping(v) for k, v in obj.items()}
    return obj


def leaf_keys(cls: type, prefix: str = "") -> list[str]:
    """Dotted names of every scalar field of a (nested) spec class."""
    hints = typing.get_type_hints(cls)
    keys: list[str] = []
    for f in dataclasses.fields(cls):
        tp = hints[f.name]
        if dataclasses.is_dataclass(tp):
            keys += leaf_keys(tp, _join(prefix, f.name))
        else:
            keys.append(_join(prefix, f.name))
    return keys


def get_path(obj: Any, key: str) -> Any:
    """The value at a dotted key (``"tile.adc_bits"``)."""
    for part in key.split("."):
        if not dataclasses.is_dataclass(obj) or part not in {f.name for f in dataclasses.fields(obj)}:
            raise ConfigError(f"{key}: no such field")
        obj = getattr(obj, part)
    return obj


def with_overrides(obj: S, overrides: Mapping[str, Any]) -> S:
    """A copy of a spec with dotted keys replaced (``{"tile.rows": 256}``), validated like a loaded spec."""
    data = to_mapping(obj)
    for key, value in overrides.items():
        get_path(obj, key)  # names the key when it does not exist
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
    return from_mapping(type(obj), data)
