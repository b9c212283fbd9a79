"""Typed errors of the export paths: deployment packages, NIR files, RTL co-simulation and synthesis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from snnq.errors import SnnqError


class ExportError(SnnqError, ValueError):
    """A network or option that an exporter cannot write (the message says why and what would be valid)."""


def refuse_level_thresholds(network: Any, exporter: str) -> None:
    """Raises `ExportError` when ``network`` has neurons with per-level thresholds or a polarity (batch norm folded
    into S1's neurons, `snnq.hardware.ir.Neuron`), which ``exporter`` does not write yet: it would otherwise
    describe other neurons than the IR simulates."""
    folded = [layer.name for layer in network.layers
              if getattr(layer, "neuron", None) is not None
              and (layer.neuron.level_thresholds is not None or np.any(np.asarray(layer.neuron.polarity) != 1))]
    if folded:
        raise ExportError(f"{exporter}: layers {', '.join(folded)} have per-level neuron thresholds (batch norm folded "
                          f"into the neurons); {exporter} writes only theta + k spacing thresholds, so it refuses them")


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
