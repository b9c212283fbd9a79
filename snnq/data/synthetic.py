"""Random data of a chosen shape (fast development runs of recipes whose data is large or not on this machine)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset, TensorDataset

from snnq.data.collate import time_first_collate
from snnq.data.datamodule import SnnqDataModule


class SyntheticDataModule(SnnqDataModule):
    """Seeded random samples in [0, 1] of ``shape`` with random labels; with ``time_steps`` the samples are event
    frames and batches are time-first ``[T, B, ...]`` like the event data modules'. Measures nothing about a
    task: it exercises a pipeline end to end.

    Args:
        shape: one sample's shape (``[3, 32, 32]``).
        num_classes: labels drawn from ``0..num_classes-1``.
        train_size / test_size: samples per split.
        time_steps: None for static samples, else frames per sample.
    """

    source = "synthetic"
    name: ClassVar[str] = "synthetic"

    def __init__(
        self,
        data_dir: str | Path = "",
        *,
        shape: Sequence[int] = (1, 28, 28),
        num_classes: int = 10,
        train_size: int = 64,
        test_size: int = 32,
        time_steps: int | None = None,
        **options: Any,
    ):
        super().__init__(data_dir, **options)
        self.shape, self.num_classes = tuple(shape), num_classes
        self.train_size, self.test_size, self.time_steps = train_size, test_size, time_steps

    def _make(self, size: int, seed: int) -> Dataset:
        generator = torch.Generator().manual_seed(seed)
        frames = (self.time_steps,) if self.time_steps else ()
        x = torch.rand((size, *frames, *self.shape), generator=generator)
        if self.time_steps:
            x = (x > 0.9).float()  # sparse "events"
        return TensorDataset(x, torch.randint(0, self.num_classes, (size,), generator=generator))

    def load_train(self) -> Dataset:
        return self._make(self.train_size, self.seed)

    def load_test(self) -> Dataset:
        return self._make(self.test_size, self.seed + 1)

    def collate_fn(self) -> Any:
        return time_first_collate if self.time_steps else None
