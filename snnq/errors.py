"""Typed exceptions. Every error snnq raises on bad input is one of these, so callers can catch by kind."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class SnnqError(Exception):
    """Base of all snnq errors."""


class UnknownNameError(SnnqError, LookupError):
    """A name that no registry, option list or config group knows."""

    def __init__(self, kind: str, name: str, valid: Iterable[str]):
        self.kind, self.name, self.valid = kind, name, sorted(valid)
        super().__init__(f"unknown {kind} {name!r}{did_you_mean(name, self.valid)}; valid: {', '.join(self.valid) or '(none)'}")

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return self.args[0]


class ConfigError(SnnqError, ValueError):
    """An option or config value that makes no sense (bad bit width, unknown key, conflicting settings)."""


class TensorTypeError(SnnqError, TypeError):
    """A tensor of the wrong dtype or rank for the operation."""


class NonFiniteError(SnnqError, ValueError):
    """A tensor holding NaN or infinity where finite values are required."""


class ConversionError(SnnqError, ValueError):
    """A network, or options, that a converter cannot turn into a spiking network."""


class UnsupportedOperationsError(ConversionError):
    """Operations a converter does not support; ``operations`` lists ``(node name, kind)`` for every one of them."""

    def __init__(self, converter: str, operations: list[tuple[str, str]]):
        self.operations = operations
        listed = "; ".join(f"{name} ({kind})" for name, kind in operations)
        super().__init__(f"{converter}: {len(operations)} unsupported operation(s): {listed}")


def did_you_mean(name: str, valid: Iterable[str]) -> str:
    """`" (did you mean 'x'?)"` for the closest valid name, or an empty string when nothing is close."""
    close = difflib.get_close_matches(name, list(valid), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""
