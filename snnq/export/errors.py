"""Typed errors of the export paths: deployment packages, NIR files, RTL co-simulation and synthesis."""

from __future__ import annotations

from collections.abc import Sequence

from snnq.errors import SnnqError


class ExportError(SnnqError, ValueError):
    """A network or option that an exporter cannot write (the message says why and what would be valid)."""


class DeploymentError(SnnqError, ValueError):
    """A deployment directory that cannot be trusted: a file missing, changed since export, or a bad manifest.

    Attributes:
        path: the file that is missing or does not match its recorded checksum.
    """

    def __init__(self, message: str, *, path: str = ""):
        super().__init__(message)
        self.path = path


class NIRUnsupportedError(ExportError):
    """NIR nodes (on import) or IR layers (on export) with no counterpart; ``items`` lists ``(name, type, why)``."""

    def __init__(self, what: str, items: Sequence[tuple[str, str, str]]):
        self.items = list(items)
        listed = "; ".join(f"{name} ({kind}: {why})" for name, kind, why in self.items)
        super().__init__(f"{what}: {len(self.items)} unsupported: {listed}")


class CosimError(SnnqError, RuntimeError):
    """A co-simulation that could not run: no simulator, a build or run that failed, a layer the core lacks."""


class SynthesisError(SnnqError, RuntimeError):
    """A Yosys run that failed or whose report could not be read."""
