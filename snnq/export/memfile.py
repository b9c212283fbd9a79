"""Hex ``.mem`` files for Verilog's ``$readmemh``: one two's-complement word of a fixed width per line.

A value ``v`` of a ``bits``-wide field is written as ``v mod 2^bits`` in ``ceil(bits / 4)`` hex digits; reading
sign-extends: ``v = w - 2^bits`` when ``w >= 2^(bits-1)``. The first line is a ``//`` comment (which
``$readmemh`` skips) that states the array's name, shape, width and element order, so a file explains itself.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from snnq.export.errors import ExportError


def signed_bits(values: np.ndarray) -> int:
    """The smallest two's-complement width (>= 2) that holds every value of ``values``."""
    a = np.asarray(values, dtype=np.int64)
    if a.size == 0:
        return 2
    low, high = int(a.min()), int(a.max())
    return max(2, (high.bit_length() if high > 0 else 0) + 1, ((-low - 1).bit_length() + 1) if low < 0 else 0)


def mem_text(values: np.ndarray, bits: int, *, comment: str) -> str:
    """The ``.mem`` text of ``values`` (flattened in C order) as ``bits``-wide two's-complement hex words."""
    a = np.asarray(values, dtype=np.int64).reshape(-1)
    if not 1 <= bits <= 64:
        raise ExportError(f"a .mem word must be 1..64 bits wide, got {bits}")
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if a.size and (int(a.min()) < low or int(a.max()) > high):
        raise ExportError(f"{comment}: values {int(a.min())}..{int(a.max())} do not fit {bits}-bit two's complement")
    digits = max(1, math.ceil(bits / 4))
    words = (a.astype(object) % (1 << bits)) if bits == 64 else (a & ((1 << bits) - 1))
    lines = [f"// {comment}"] + [format(int(w), f"0{digits}x") for w in words]
    return "\n".join(lines) + "\n"


def read_mem(path: str | Path, bits: int) -> np.ndarray:
    """The values (int64, flat) of a ``.mem`` file written by `mem_text` (comments and blank lines skipped)."""
    words = []
    for line in Path(path).read_text().splitlines():
        text = line.split("//", 1)[0].strip()
        if text:
            words.append(int(text, 16))
    a = np.array(words, dtype=object)
    if a.size:
        a = np.where(a >= (1 << (bits - 1)), a - (1 << bits), a)
    return a.astype(np.int64)
