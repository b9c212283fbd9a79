"""Typed errors of the hardware backends: why a network does not fit, and which resource ran out."""

from __future__ import annotations

from snnq.errors import SnnqError


class IRError(SnnqError, ValueError):
    """An integer network description (IR) that is inconsistent: a bad shape, dtype, name or connection."""


class MappingError(SnnqError):
    """A layer that does not fit on the crossbar tiles that are left.

    Attributes:
        layer: name of the layer that did not fit.
        needed: tiles the layer needs (one copy), or None when it cannot be mapped at any size.
        available: tiles still free when the layer was placed.
        total: tiles on the chip.
    """

    def __init__(self, message: str, *, layer: str, needed: int | None = None, available: int | None = None, total: int | None = None):
        super().__init__(message)
        self.layer, self.needed, self.available, self.total = layer, needed, available, total


class ResourceError(SnnqError):
    """A design that needs more of an FPGA resource (LUT, FF, DSP, BRAM18) than the board has.

    Attributes:
        resource: the resource that overflowed ("LUT", "FF", "DSP", "BRAM18").
        needed: how many the design needs.
        available: how many the board has.
    """

    def __init__(self, message: str, *, resource: str, needed: float, available: float):
        super().__init__(message)
        self.resource, self.needed, self.available = resource, needed, available
