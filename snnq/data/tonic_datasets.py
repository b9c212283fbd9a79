"""Tonic's N-MNIST and DVS128 Gesture readers, made to accept local folders and to name bad recordings.

Tonic's datasets check for their full archives (and download them when absent). These subclasses keep Tonic's
class names (Tonic derives the data folder from the class name: ``<save_to>/NMNIST``, ``<save_to>/DVSGesture``)
and Tonic's file readers, and change three things:

- ``_check_exists`` accepts a folder holding at least one recording of the split (a subset, an extracted copy);
- a missing folder raises `DataNotFoundError` unless ``download=True``, which runs Tonic's own download;
- every recording read is checked (not truncated, not empty, events on the sensor, time not running back) and
  a bad one raises `EventFileError` / `EmptyRecordingError` naming the file.

Items are ``(events, label)`` with Tonic's structured event arrays; ``transform`` (if given) is applied after
the checks. Importing this module imports Tonic (slow): the data modules import it when they set up.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.lib.recfunctions  # noqa: F401  Tonic's DVSGesture calls np.lib.recfunctions without importing it
import tonic

from snnq.data.errors import DataNotFoundError, EmptyRecordingError, EventFileError

NMNIST_EVENT_BYTES = 5


def check_recording(events: np.ndarray, sensor_size: tuple[int, int, int], path: str | Path) -> np.ndarray:
    """``events`` if it is a non-empty, time-ordered recording on a ``(W, H, P)`` sensor; else an error naming it."""
    if len(events) == 0:
        raise EmptyRecordingError(path, "on disk")
    for name, size in zip(("x", "y", "p"), sensor_size):
        values = events[name]
        low, high = int(values.min()), int(values.max())
        if low < 0 or high >= size:
            raise EventFileError(path, f"event {name} values span {low}..{high}, outside the sensor's 0..{size - 1}")
    times = events["t"]
    if len(times) > 1 and (times[1:] < times[:-1]).any():
        first = int(np.argmax(times[1:] < times[:-1]))
        jump = f"{times[first]} -> {times[first + 1]}"
        raise EventFileError(path, f"timestamps run backwards at event {first + 1} ({jump})")
    return events


class NMNIST(tonic.datasets.NMNIST):
    """Tonic's N-MNIST over ``<save_to>/NMNIST/{Train,Test}/<digit>/*.bin`` (any number of recordings).

    Args:
        save_to: folder that contains ``NMNIST/``.
        train: the ``Train`` split, else ``Test``.
        download: when the split's folder holds no recording, download the full archives with Tonic.
        first_saccade_only, stabilize: Tonic's options.
        transform: applied to the checked events.
    """

    def __init__(
        self,
        save_to: str | Path,
        *,
        train: bool = True,
        download: bool = False,
        first_saccade_only: bool = False,
        stabilize: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        self.allow_download = download
        self.event_transform = transform
        super().__init__(str(save_to), train=train, first_saccade_only=first_saccade_only, stabilize=stabilize)

    def _check_exists(self) -> bool:
        return any(Path(self.location_on_system, self.folder_name).glob("*/*.bin"))

    def download(self) -> None:
        if not self.allow_download:
            folder = Path(self.location_on_system, self.folder_name)
            raise DataNotFoundError(
                "N-MNIST",
                [folder / "<digit>/<NNNNN>.bin"],
                "Put the N-MNIST recordings (original 5-byte .bin files, in Train/<digit>/ and Test/<digit>/) there, "
                "or pass download=True to fetch the full archives with Tonic (needs internet).",
            )
        super().download()

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path = self.data[index]
        size = os.path.getsize(path)
        if size == 0:
            raise EmptyRecordingError(path, "on disk")
        if size % NMNIST_EVENT_BYTES:
            raise EventFileError(
                path, f"is truncated: {size} bytes is not a whole number of {NMNIST_EVENT_BYTES}-byte events"
            )
        try:
            events, target = super().__getitem__(index)
        except Exception as error:  # Tonic's reader fails in many ways on a damaged file
            raise EventFileError(path, f"cannot be read as N-MNIST events ({type(error).__name__}: {error})") from error
        check_recording(events, self.sensor_size, path)
        return (self.event_transform(events) if self.event_transform else events), target


class DVSGesture(tonic.datasets.DVSGesture):
    """Tonic's DVS128 Gesture over ``<save_to>/DVSGesture/ibmGesture{Train,Test}/user<NN>_<lighting>/<label>.npy``.

    That is the layout of Tonic's preprocessed archives: one ``.npy`` per gesture, an ``[N, 4]`` array of
    columns ``x, y, p, t`` with ``t`` in milliseconds (Tonic turns it into microseconds). Samples are sorted
    by path, so the order does not depend on the file system.

    Args:
        save_to: folder that contains ``DVSGesture/``.
        train: the ``ibmGestureTrain`` split, else ``ibmGestureTest``.
        download: when the split's folder holds no recording, download Tonic's archives.
        transform: applied to the checked events.
    """

    def __init__(
        self,
        save_to: str | Path,
        *,
        train: bool = True,
        download: bool = False,
        transform: Callable[[np.ndarray], Any] | None = None,
    ):
        self.allow_download = download
        self.event_transform = transform
        super().__init__(str(save_to), train=train)
        order = sorted(range(len(self.data)), key=self.data.__getitem__)
        for name in ("data", "targets", "users", "lighting"):
            values = getattr(self, name)
            setattr(self, name, [values[i] for i in order])

    def _check_exists(self) -> bool:
        return any(Path(self.location_on_system, self.folder_name).glob("*/*.npy"))

    def download(self) -> None:
        if not self.allow_download:
            folder = Path(self.location_on_system, self.folder_name)
            raise DataNotFoundError(
                "DVS128 Gesture",
                [folder / "user<NN>_<lighting>/<label>.npy"],
                "Extract Tonic's preprocessed archives ibmGestureTrain.tar.gz / ibmGestureTest.tar.gz there, "
                "or pass download=True to fetch them with Tonic (needs internet).",
            )
        super().download()

    def __getitem__(self, index: int) -> tuple[Any, int]:
        path = self.data[index]
        try:
            events, target = super().__getitem__(index)
        except Exception as error:  # np.load and the structured conversion fail in many ways on a damaged file
            reason = f"cannot be read as DVS Gesture events ({type(error).__name__}: {error})"
            raise EventFileError(path, reason) from error
        check_recording(events, self.sensor_size, path)
        return (self.event_transform(events) if self.event_transform else events), target
