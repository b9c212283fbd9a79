"""snnq's data layer: Lightning data modules for MNIST, CIFAR-10/100, N-MNIST and DVS128 Gesture, encoders, frames.

Everything here reads local files and never needs the network when they are present; missing files raise
`DataNotFoundError` saying what was expected where (``download=True`` uses torchvision's or Tonic's own
downloader). ``import snnq.data`` is cheap: the names below are imported on first use, and Lightning,
torchvision and Tonic with them.

    >>> from snnq.data import MNISTDataModule
    >>> dm = MNISTDataModule("../shared/data/mnist", batch_size=256, limit=1000)   # reads nothing yet

Static images: `MNISTDataModule`, `CIFAR10DataModule`, `CIFAR100DataModule` (uint8 batches, scaled and
augmented on the device by `ImageDataModule.prepare_batch`). Events: `NMNISTDataModule`,
`DVSGestureDataModule` (float frames ``[T, B, C, H, W]``). Encoders for static images: `ENCODERS`
(``direct``, ``rate``). Events to frames: `events_to_frames` (Tonic's ``ToFrame``, exactly, faster),
`FrameTransform`, `CachedFrameDataset`, `time_first_collate`.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import Any

from snnq.data.errors import CorruptFileError, DataNotFoundError, EmptyRecordingError, EventFileError, ImageSizeError

_LAZY = MappingProxyType({
    "SnnqDataModule": "snnq.data.datamodule",
    "ImageDataModule": "snnq.data.image_datamodule",
    "EventDataModule": "snnq.data.event_datamodule",
    "MNISTDataModule": "snnq.data.mnist",
    "DigitsDataModule": "snnq.data.digits",
    "SyntheticDataModule": "snnq.data.synthetic",
    "CIFAR10DataModule": "snnq.data.cifar10",
    "CIFAR100DataModule": "snnq.data.cifar100",
    "NMNISTDataModule": "snnq.data.nmnist",
    "DVSGestureDataModule": "snnq.data.dvs_gesture",
    "ImageTensorDataset": "snnq.data.image_dataset",
    "random_crop_flip": "snnq.data.augment",
    "to_float": "snnq.data.augment",
    "ENCODERS": "snnq.data.encoders",
    "DirectEncoder": "snnq.data.encoders",
    "RateEncoder": "snnq.data.encoders",
    "encode": "snnq.data.encoders",
    "events_to_frames": "snnq.data.event_frames",
    "FrameTransform": "snnq.data.frame_transform",
    "CachedFrameDataset": "snnq.data.frame_cache",
    "time_first_collate": "snnq.data.collate",
    "default_cache_dir": "snnq.data.cache",
})


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'snnq.data' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CorruptFileError",
    "DataNotFoundError",
    "EmptyRecordingError",
    "EventFileError",
    "ImageSizeError",
    *_LAZY,
]
