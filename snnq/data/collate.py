"""Batching of frame sequences time-first: ``[T, B, C, H, W]``, the layout of every snnq multi-step network."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from snnq.errors import ConfigError, TensorTypeError


def time_first_collate(
    batch: Sequence[tuple[Tensor, int]], *, dtype: torch.dtype = torch.float32, pad: bool = True
) -> tuple[Tensor, Tensor]:
    """``[(frames [T_i, C, H, W], label), ...]`` -> ``(frames [T, B, C, H, W], labels [B])``.

    Recordings framed by a time window have different numbers of frames: with ``pad`` the shorter ones are
    padded with empty (zero) frames at the end up to the longest ``T``; without it, unequal lengths raise
    `ConfigError`. Frames are converted to ``dtype``.

    Example:
        >>> frames, labels = time_first_collate([(torch.ones(3, 2, 4, 4), 1), (torch.ones(2, 2, 4, 4), 0)])
        >>> list(frames.shape), labels.tolist(), frames[2, 1].sum().item()
        ([3, 2, 2, 4, 4], [1, 0], 0.0)
    """
    if not batch:
        raise ConfigError("time_first_collate: the batch is empty")
    sequences = [torch.as_tensor(frames) for frames, _ in batch]
    shapes = {tuple(frames.shape[1:]) for frames in sequences}
    if any(frames.dim() != 4 for frames in sequences) or len(shapes) != 1:
        shapes_seen = [list(frames.shape) for frames in sequences]
        raise TensorTypeError(f"time_first_collate: expected frames [T, C, H, W] of one frame shape, got {shapes_seen}")
    steps = max(len(frames) for frames in sequences)
    if not pad and any(len(frames) != steps for frames in sequences):
        raise ConfigError(
            f"time_first_collate: recordings have {sorted({len(f) for f in sequences})} frames; pass pad=True to pad"
        )
    out = torch.zeros((steps, len(sequences), *shapes.pop()), dtype=dtype)
    for column, frames in enumerate(sequences):
        out[: len(frames), column] = frames
    labels = torch.tensor([int(label) for _, label in batch], dtype=torch.long)
    return out, labels
