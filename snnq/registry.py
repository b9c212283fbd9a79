"""One generic name -> factory registry, and its five instances.

Built-in plugins register with a decorator when their package is imported; that import happens lazily, on
the first lookup, so ``import snnq`` stays cheap. Third-party packages register through entry points::

    # the plug-in's pyproject.toml
    [project.entry-points."snnq.quantizers"]
    my_quant = "my_pkg.quant:MyQuantizer"

Entry points are read on the first lookup and their objects imported only when asked for by name.
"""

from __future__ import annotations

import importlib
import inspect
import re
import warnings
from collections.abc import Callable, Iterator
from importlib import metadata
from typing import Any, Generic, TypeVar

from snnq.errors import ConfigError, UnknownNameError, did_you_mean

T = TypeVar("T")

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


class Registry(Generic[T]):
    """Maps snake_case names to factories (usually classes) of one kind of plugin.

    Args:
        kind: singular noun used in messages ("quantizer").
        group: entry-point group that third-party packages register under ("snnq.quantizers").
        builtins: module whose import registers the built-in plugins (imported on first lookup).
    """

    def __init__(self, kind: str, *, group: str, builtins: str | None = None):
        self.kind = kind
        self.group = group
        self._builtins = builtins
        self._factories: dict[str, T] = {}
        self._entry_points: dict[str, metadata.EntryPoint] = {}
        self._discovered = False

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator that registers a factory under ``name``; the factory is returned unchanged."""

        def decorate(factory: T) -> T:
            self.add(name, factory)
            return factory

        return decorate

    def add(self, name: str, factory: T) -> None:
        """Registers ``factory`` under ``name``; a name may be taken only once."""
        if not _NAME.match(name):
            raise ConfigError(f"{self.kind} name {name!r} is not snake_case (letters, digits, underscores)")
        if name in self._factories:
            raise ConfigError(f"{self.kind} {name!r} is already registered by {self._factories[name]!r}")
        if isinstance(factory, type) and hasattr(factory, "registry_name"):
            factory.registry_name = name  # snnq plugin classes name themselves in their error messages
        self._factories[name] = factory

    def get(self, name: str) -> T:
        """The factory registered as ``name``; unknown names raise `UnknownNameError` with the closest match."""
        self._discover()
        if name not in self._factories and name in self._entry_points:
            self._load_entry_point(name)
        if name not in self._factories:
            raise UnknownNameError(self.kind, name, self.names())
        return self._factories[name]

    def build(self, name: str, /, **options: Any) -> Any:
        """Calls the factory registered as ``name`` with ``options`` after checking that it accepts them."""
        factory = self.get(name)
        check_options(factory, options, f"{self.kind} {name!r}")
        return factory(**options)

    def names(self) -> list[str]:
        """Every registered name, built-in and from entry points, sorted."""
        self._discover()
        return sorted(set(self._factories) | set(self._entry_points))

    def refresh(self) -> None:
        """Reads the entry points again (after installing a plug-in into a running interpreter)."""
        self._discovered = False
        self._discover()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self.names())

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, group={self.group!r})"

    def _discover(self) -> None:
        if self._discovered:
            return
        self._discovered = True  # set first: importing the built-ins re-enters through the decorators
        if self._builtins:
            importlib.import_module(self._builtins)
        self._entry_points = {}
        for entry_point in metadata.entry_points(group=self.group):
            if entry_point.name in self._factories:
                warnings.warn(
                    f"entry point {entry_point.value!r} ({self.group}) is ignored: "
                    f"{self.kind} {entry_point.name!r} is already registered",
                    stacklevel=3,
                )
                continue
            self._entry_points[entry_point.name] = entry_point

    def _load_entry_point(self, name: str) -> None:
        entry_point = self._entry_points.pop(name)
        try:
            factory = entry_point.load()
        except Exception as error:  # a broken plug-in must say which one it is
            raise ConfigError(
                f"{self.kind} {name!r} from entry point {entry_point.value!r} ({self.group}) failed to load: {error}"
            ) from error
        self.add(name, factory)


def check_options(factory: Callable[..., Any], options: dict[str, Any], what: str) -> None:
    """Raises `ConfigError` when ``options`` holds keys that ``factory`` does not accept."""
    try:
        parameters = inspect.signature(factory).parameters
    except (TypeError, ValueError):  # builtins without a signature: let the call itself complain
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values()):
        return
    valid = [
        n for n, p in parameters.items() if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD) and n != "self"
    ]
    for key in options:
        if key not in valid:
            raise ConfigError(
                f"{what}: unknown option {key!r}{did_you_mean(key, valid)}; valid options: {', '.join(valid) or '(none)'}"
            )


QUANTIZERS: Registry[Any] = Registry("quantizer", group="snnq.quantizers", builtins="snnq.quant")
NEURONS: Registry[Any] = Registry("neuron", group="snnq.neurons", builtins="snnq.neurons")
CONVERTERS: Registry[Any] = Registry("converter", group="snnq.converters", builtins="snnq.conversion")
MODELS: Registry[Any] = Registry("model", group="snnq.models", builtins="snnq.models")
BACKENDS: Registry[Any] = Registry("backend", group="snnq.backends", builtins="snnq.hardware")
ENCODERS: Registry[Any] = Registry("encoder", group="snnq.encoders", builtins="snnq.data.encoders")

REGISTRIES: dict[str, Registry[Any]] = {
    "quantizers": QUANTIZERS,
    "neurons": NEURONS,
    "converters": CONVERTERS,
    "models": MODELS,
    "backends": BACKENDS,
    "encoders": ENCODERS,
}
