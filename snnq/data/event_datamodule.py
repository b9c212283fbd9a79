"""The data module base of event-camera sets: Tonic readers, framing with a disk cache, time-first batches."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

from torch.utils.data import Dataset

from snnq.data.cache import atomic_symlink, stable_hash
from snnq.data.collate import time_first_collate
from snnq.data.datamodule import SnnqDataModule
from snnq.data.errors import DataNotFoundError
from snnq.data.frame_cache import CachedFrameDataset
from snnq.data.frame_transform import FrameTransform


class EventDataModule(SnnqDataModule):
    """Event recordings read by a Tonic dataset, framed by a `FrameTransform`, batched as ``[T, B, C, H, W]``.

    ``data_dir`` is either Tonic's ``save_to`` folder (it contains ``<Reader>/``, e.g. ``NMNIST/``) or the data
    set's own folder (it contains the split folders, e.g. ``Train/`` and ``Test/``): then a link
    ``<cache_dir>/links/<hash>/<Reader> -> data_dir`` is made so Tonic finds it, and nothing is written next to
    the data (which may be read-only).

    Loaders yield ``(frames, labels)``: float32 frames ``[T, B, P, H, W]`` (event counts; recordings with
    fewer frames are padded with empty frames) and labels ``[B]``.

    Args (besides those of `SnnqDataModule`):
        n_time_bins / time_window: framing, at most one (see `FrameTransform`; time in microseconds); neither
            gives ``default_time_bins`` bins.
        overlap, include_incomplete: Tonic's ``ToFrame`` options.
        denoise_filter_time: Tonic's ``Denoise`` before framing (microseconds), None for none.
        spatial_factor: Tonic's ``Downsample`` factor on x and y.
        frame_backend: ``snnq`` (fast, identical frames) or ``tonic`` (``tonic.transforms.ToFrame``).
        frame_cache: keep frames on disk under ``cache_dir`` (keyed by every framing setting).
    """

    #: Tonic's class name, which is also the folder Tonic reads from
    reader_name: ClassVar[str] = ""
    #: the split folders a data set folder holds (train, test)
    split_folders: ClassVar[tuple[str, str]] = ("", "")
    sensor_size: ClassVar[tuple[int, int, int]] = (0, 0, 0)
    classes: ClassVar[tuple[str, ...]] = ()
    #: frames per recording when neither n_time_bins nor time_window is given
    default_time_bins: ClassVar[int] = 10

    def __init__(
        self,
        data_dir: str | Path,
        *,
        n_time_bins: int | None = None,
        time_window: float | None = None,
        overlap: float = 0,
        include_incomplete: bool = False,
        denoise_filter_time: float | None = None,
        spatial_factor: float = 1.0,
        frame_backend: str = "snnq",
        frame_cache: bool = True,
        cache_dir: str | Path | None = None,
        batch_size: int = 32,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        pin_memory: bool = False,
    ):
        super().__init__(
            data_dir,
            cache_dir=cache_dir,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            limit=limit,
            download=download,
            val_fraction=val_fraction,
            pin_memory=pin_memory,
        )
        if n_time_bins is None and time_window is None:
            n_time_bins = self.default_time_bins
        self.transform = FrameTransform(
            sensor_size=self.sensor_size,
            n_time_bins=n_time_bins,
            time_window=time_window,
            overlap=overlap,
            include_incomplete=include_incomplete,
            denoise_filter_time=denoise_filter_time,
            spatial_factor=spatial_factor,
            backend=frame_backend,
        )
        self.frame_cache = bool(frame_cache)

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one frame: polarities and the (downsampled) sensor."""
        width, height, polarities = self.transform.frame_sensor_size
        return polarities, height, width

    # -- what subclasses provide -----------------------------------------------------------------------------
    def reader(self, *, train: bool) -> Any:
        """The Tonic dataset of one split (events, unframed)."""
        raise NotImplementedError

    def reader_options(self) -> dict[str, Any]:
        """Reader settings that change the events (part of the frame cache's key)."""
        return {}

    # -- shared ----------------------------------------------------------------------------------------------
    def save_to(self) -> Path:
        """The folder to give Tonic as ``save_to`` (it contains ``<reader_name>/``)."""
        if (self.data_dir / self.reader_name).is_dir():
            return self.data_dir
        if any((self.data_dir / split).is_dir() for split in self.split_folders):
            parent = self.cache_dir / "links" / stable_hash(str(self.data_dir.resolve()))
            atomic_symlink(parent / self.reader_name, self.data_dir)
            return parent
        if self.download:
            return self.data_dir
        expected = [self.data_dir / split for split in self.split_folders]
        expected += [self.data_dir / self.reader_name / split for split in self.split_folders]
        raise DataNotFoundError(self.reader_name, expected, self.how_to_obtain())

    def how_to_obtain(self) -> str:
        return "Pass download=True to fetch the data set with Tonic (needs internet)."

    def fetch(self) -> None:
        self.reader(train=True)
        self.reader(train=False)

    def load_train(self) -> Dataset:
        return self._frames(train=True)

    def load_test(self) -> Dataset:
        return self._frames(train=False)

    def collate_fn(self) -> Callable[[list[Any]], Any]:
        return functools.partial(time_first_collate, pad=True)

    def _frames(self, *, train: bool) -> CachedFrameDataset:
        return CachedFrameDataset(
            self.reader(train=train),
            self.transform,
            cache_dir=self.cache_dir if self.frame_cache else None,
            name=self.reader_name.lower(),
            reader_options=self.reader_options(),
        )
