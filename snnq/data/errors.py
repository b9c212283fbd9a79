"""Typed errors of the data layer: missing data, unreadable files, empty recordings, images of the wrong size."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from snnq.errors import SnnqError


class DataNotFoundError(SnnqError, FileNotFoundError):
    """A data set's files are not where they were looked for; the message lists what was expected and how to get it.

    Args:
        dataset: name of the data set ("MNIST").
        expected: the files or folders that were looked for, as full paths.
        how_to_obtain: one or two sentences on how to get the files.
    """

    def __init__(self, dataset: str, expected: Iterable[str | Path], how_to_obtain: str):
        self.dataset = dataset
        self.expected = [str(path) for path in expected]
        self.how_to_obtain = how_to_obtain
        listing = "\n".join(f"  - {path}" for path in self.expected)
        super().__init__(f"{dataset} data not found; expected:\n{listing}\n{how_to_obtain}")

    def __str__(self) -> str:  # OSError would format a one-argument error as "[Errno ...]" otherwise
        return self.args[0]

    def __reduce__(self) -> tuple[type, tuple[str, list[str], str]]:  # survives DataLoader worker processes
        return type(self), (self.dataset, self.expected, self.how_to_obtain)


class CorruptFileError(SnnqError, ValueError):
    """A data file that exists but cannot be read as what it claims to be (truncated, garbled, wrong layout).

    Args:
        path: the file.
        reason: what is wrong with it.
    """

    def __init__(self, path: str | Path, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.path, self.reason)


class EventFileError(CorruptFileError):
    """An event recording that is truncated or holds impossible events (off the sensor, time running back)."""


class EmptyRecordingError(SnnqError, ValueError):
    """An event recording with no events, on disk or after a transform such as denoising removed them all.

    Args:
        path: the recording.
        stage: where it became empty ("on disk", "after denoising with filter_time=10000").
    """

    def __init__(self, path: str | Path, stage: str):
        self.path, self.stage = str(path), stage
        super().__init__(f"{self.path}: the recording holds no events {stage}")

    def __reduce__(self) -> tuple[type, tuple[str, str]]:
        return type(self), (self.path, self.stage)


class ImageSizeError(SnnqError, ValueError):
    """Images whose shape is not the one the pipeline is built for (a 28x28 digit given to a CIFAR pipeline).

    Args:
        where: the file or key the images came from.
        expected: the expected shape of one image, ``(C, H, W)``.
        got: the shape that arrived.
    """

    def __init__(self, where: str | Path, expected: tuple[int, ...], got: tuple[int, ...]):
        self.where, self.expected, self.got = str(where), tuple(expected), tuple(got)
        super().__init__(
            f"{self.where}: expected images of shape {_shape(self.expected)} (C, H, W), got {_shape(self.got)}"
        )

    def __reduce__(self) -> tuple[type, tuple[str, tuple[int, ...], tuple[int, ...]]]:
        return type(self), (self.where, self.expected, self.got)


def _shape(shape: tuple[int, ...]) -> str:
    return "[" + ", ".join(str(size) for size in shape) + "]"
