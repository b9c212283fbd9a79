"""Frames of event recordings, made once by a `FrameTransform` and kept on disk under a key of its settings."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset

from snnq.data.cache import atomic_path, atomic_write_text, file_fingerprint, stable_hash
from snnq.data.frame_transform import FrameTransform


class EventRecordings(Protocol):
    """What `CachedFrameDataset` needs of an event dataset (Tonic's datasets have it)."""

    data: list[str]  # one recording file per sample
    targets: list[int]

    def __getitem__(self, index: int) -> tuple[np.ndarray, int]: ...

    def __len__(self) -> int: ...


class CachedFrameDataset(Dataset):
    """``(frames, label)`` pairs: int16 frames ``[T, P, H, W]`` of each recording of ``recordings``.

    Frames are computed by ``transform`` on first use and saved (atomically) as one ``.npy`` per recording in
    ``<cache_dir>/frames/<name>/<key>/``, where ``key`` digests the transform's settings and ``reader_options``
    (options of the reader that change the events, such as N-MNIST's ``first_saccade_only``). A cache file is
    named after its recording's path, size and modification time, so a changed transform or a changed file
    never gets old frames. ``cache_dir=None`` computes frames every time.

    Args:
        recordings: an event dataset with ``data`` (file paths) and ``targets`` (Tonic's datasets).
        transform: events -> frames.
        cache_dir: root of the data layer's cache, or None for no cache.
        name: the data set's name in the cache ("nmnist").
        reader_options: reader settings that change the events.
    """

    def __init__(
        self,
        recordings: EventRecordings,
        transform: FrameTransform,
        *,
        cache_dir: str | Path | None,
        name: str,
        reader_options: dict[str, Any] | None = None,
    ):
        self.recordings = recordings
        self.transform = transform
        self.reader_options = dict(reader_options or {})
        self.settings = {"transform": transform.settings(), "reader": self.reader_options}
        self.folder = (
            Path(cache_dir) / "frames" / name / stable_hash(self.settings) if cache_dir is not None else None
        )

    def __len__(self) -> int:
        return len(self.recordings)

    @property
    def targets(self) -> list[int]:
        return list(self.recordings.targets)

    def cache_file(self, index: int) -> Path | None:
        """Where the frames of sample ``index`` are (or will be) kept; None without a cache."""
        if self.folder is None:
            return None
        return self.folder / f"{stable_hash(file_fingerprint(self.recordings.data[index]))}.npy"

    def frames(self, index: int) -> np.ndarray:
        """The int16 frames of sample ``index``, from the cache when they are there."""
        cache_file = self.cache_file(index)
        if cache_file is not None and cache_file.is_file():
            try:
                return np.load(cache_file)
            except Exception as error:  # damaged cache entry: make it again
                warnings.warn(f"{cache_file}: unreadable cached frames ({error}); recomputing", stacklevel=2)
        events, _ = self.recordings[index]
        frames = self.transform(events, source=self.recordings.data[index])
        if cache_file is not None:
            self._describe_folder()
            with atomic_path(cache_file) as temporary:
                np.save(temporary, frames)
        return frames

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        return torch.from_numpy(self.frames(index)), int(self.recordings.targets[index])

    def fill_cache_(self) -> None:
        """Computes the frames of every sample not cached yet (with a progress bar on a terminal)."""
        from tqdm.auto import tqdm

        for index in tqdm(range(len(self)), desc="framing events", unit="rec", disable=None):
            self.frames(index)

    def _describe_folder(self) -> None:
        """Writes ``settings.json`` beside the cached frames, for people reading the cache."""
        assert self.folder is not None
        description = self.folder / "settings.json"
        if not description.is_file():
            atomic_write_text(description, json.dumps(self.settings, indent=2, sort_keys=True) + "\n")
