"""The data layer's errors: typed, catchable by kind, and intact after crossing a DataLoader worker boundary."""

from __future__ import annotations

import pickle

import pytest

from snnq.data.errors import CorruptFileError, DataNotFoundError, EmptyRecordingError, EventFileError, ImageSizeError
from snnq.errors import SnnqError

ERRORS = [
    DataNotFoundError("MNIST", ["/data/a.gz", "/data/b.gz"], "Pass download=True."),
    CorruptFileError("/data/batch", "is truncated"),
    EventFileError("/data/1.bin", "is truncated"),
    EmptyRecordingError("/data/1.bin", "after denoising with filter_time=10000"),
    ImageSizeError("/data/x.jpg", (3, 32, 32), (3, 28, 28)),
]


@pytest.mark.parametrize("error", ERRORS, ids=lambda e: type(e).__name__)
def test_errors_survive_pickling(error):
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is type(error) and str(again) == str(error) and isinstance(again, SnnqError)


def test_the_kinds_are_also_the_builtin_kinds():
    assert isinstance(ERRORS[0], FileNotFoundError)
    assert all(isinstance(error, ValueError) for error in ERRORS[1:])
    assert isinstance(ERRORS[2], CorruptFileError)


def test_messages_name_the_file_and_what_is_expected():
    assert str(ERRORS[0]) == "MNIST data not found; expected:\n  - /data/a.gz\n  - /data/b.gz\nPass download=True."
    assert str(ERRORS[3]) == "/data/1.bin: the recording holds no events after denoising with filter_time=10000"
    assert str(ERRORS[4]) == "/data/x.jpg: expected images of shape [3, 32, 32] (C, H, W), got [3, 28, 28]"
