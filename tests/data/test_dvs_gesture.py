"""DVS128 Gesture through Tonic's reader, on small recordings written in Tonic's preprocessed on-disk format."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tonic
import torch

from snnq.data import DataNotFoundError, DVSGestureDataModule
from snnq.data.errors import EmptyRecordingError, EventFileError

from .formats import write_dvs_gesture

USERS = {
    "ibmGestureTrain": ["user01_fluorescent", "user02_led", "user03_natural"],
    "ibmGestureTest": ["user24_lab", "user25_fluorescent_led"],
}


@pytest.fixture(scope="module")
def gesture_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("dvs_gesture")
    written = write_dvs_gesture(root, np.random.default_rng(5), users=USERS)
    return root, written


def test_tonic_reads_the_layout_with_labels_subjects_and_microseconds(gesture_dir, tmp_path):
    root, written = gesture_dir
    dm = DVSGestureDataModule(root, cache_dir=tmp_path)
    train, test = dm.reader(train=True), dm.reader(train=False)
    assert (len(train), len(test)) == (33, 22)
    assert train.targets == [int(path.rsplit("/", 1)[1][:-4]) for path in train.data]
    assert sorted(set(train.users)) == [1, 2, 3] and sorted(set(test.lighting)) == ["fluorescent_led", "lab"]
    assert train.data == sorted(train.data)  # a stable order, whatever the file system lists first
    events, label = train[0]
    array = written[str(Path(train.data[0]).resolve())]  # the reader sees the data through the cache link
    assert events.dtype == tonic.datasets.DVSGesture.dtype and label == int(train.data[0][-5])
    assert np.array_equal(events["x"], array[:, 0]) and np.array_equal(events["p"], array[:, 2].astype(bool))
    assert np.array_equal(events["t"], array[:, 3] * 1000)  # milliseconds on disk, microseconds in Tonic


def test_batches_are_time_first_and_equal_tonics_frames(gesture_dir, tmp_path):
    root, _ = gesture_dir
    dm = DVSGestureDataModule(root, cache_dir=tmp_path, n_time_bins=8, spatial_factor=0.25, batch_size=4, val_fraction=0.0)
    dm.setup()
    frames, labels = next(iter(dm.test_dataloader()))
    assert frames.shape == (8, 4, 2, 32, 32) and dm.frame_shape == (2, 32, 32)
    reader = dm.reader(train=False)
    reference = tonic.transforms.Compose(
        [tonic.transforms.Downsample(spatial_factor=0.25), tonic.transforms.ToFrame(sensor_size=(32, 32, 2), n_time_bins=8)]
    )
    for column in range(4):
        events, label = reader[dm.test_set.indices[column]]
        assert torch.equal(frames[:, column], torch.from_numpy(reference(events)).float())
        assert labels[column].item() == label
    assert dm.num_classes == 11


def test_full_resolution_time_window_frames(gesture_dir, tmp_path):
    root, _ = gesture_dir
    dm = DVSGestureDataModule(root, cache_dir=tmp_path, time_window=100_000, limit=6, batch_size=6)
    dm.setup("test")
    frames, _ = next(iter(dm.test_dataloader()))
    assert frames.shape[1:] == (6, 2, 128, 128) and 10 <= frames.shape[0] <= 15  # recordings of about 1.5 s


def test_tonics_own_layout_with_a_dvsgesture_folder(gesture_dir, tmp_path):
    root, _ = gesture_dir
    (tmp_path / "DVSGesture").symlink_to(root, target_is_directory=True)
    dm = DVSGestureDataModule(tmp_path, cache_dir=tmp_path / "cache")
    assert dm.save_to() == tmp_path and len(dm.reader(train=True)) == 33


def _single(tmp_path, array_or_bytes) -> DVSGestureDataModule:
    folder = tmp_path / "data" / "ibmGestureTest" / "user29_led"
    folder.mkdir(parents=True)
    if isinstance(array_or_bytes, bytes):
        (folder / "4.npy").write_bytes(array_or_bytes)
    else:
        np.save(folder / "4.npy", array_or_bytes)
    dm = DVSGestureDataModule(tmp_path / "data", cache_dir=tmp_path / "cache")
    dm.setup("test")
    return dm


def test_a_truncated_npy_is_named(gesture_dir, tmp_path):
    _, written = gesture_dir
    path = next(iter(written))
    data = open(path, "rb").read()
    dm = _single(tmp_path, data[: len(data) - 100])
    with pytest.raises(EventFileError, match=r"user29_led/4\.npy: cannot be read as DVS Gesture events"):
        dm.test_set[0]


def test_a_wrong_layout_is_named(tmp_path):
    dm = _single(tmp_path, np.zeros((10, 3), dtype=np.int64))
    with pytest.raises(EventFileError, match=r"4\.npy: cannot be read as DVS Gesture events \(IndexError"):
        dm.test_set[0]


def test_events_off_the_sensor_are_named(tmp_path):
    array = np.array([[5, 5, 1, 0], [130, 5, 0, 1]], dtype=np.int64)
    dm = _single(tmp_path, array)
    with pytest.raises(EventFileError, match=r"4\.npy: event x values span 5\.\.130, outside the sensor's 0\.\.127"):
        dm.test_set[0]


def test_an_empty_recording_is_named(tmp_path):
    dm = _single(tmp_path, np.zeros((0, 4), dtype=np.int64))
    with pytest.raises(EmptyRecordingError, match=r"4\.npy: the recording holds no events on disk"):
        dm.test_set[0]


def test_missing_data_names_the_split_folders(tmp_path):
    with pytest.raises(DataNotFoundError) as caught:
        DVSGestureDataModule(tmp_path, cache_dir=tmp_path / "cache").setup("fit")
    for expected in ("ibmGestureTrain", "DVSGesture/ibmGestureTest", "ibmGestureTrain.tar.gz", "download=True"):
        assert expected in str(caught.value)
