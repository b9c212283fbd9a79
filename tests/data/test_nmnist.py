"""N-MNIST through Tonic on the real recordings: reading, framing like Tonic, caching, time-first batches, bad files."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from snnq.data import DataNotFoundError, NMNISTDataModule
from snnq.data.errors import EmptyRecordingError, EventFileError
from snnq.data.frame_cache import CachedFrameDataset
from snnq.data.frame_transform import FrameTransform

from .formats import nmnist_bytes

TRAIN_COUNTS = [97, 116, 99, 93, 105, 92, 94, 117, 87, 100]  # ../shared/data/nmnist/SOURCE.md
TEST_COUNTS = [8, 14, 8, 11, 14, 7, 10, 15, 2, 11]


@pytest.fixture(scope="module")
def readers(nmnist_dir, cache_dir):
    dm = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir)
    return dm.reader(train=True), dm.reader(train=False)


def test_the_subset_reads_through_tonic_with_its_labels(readers):
    train, test = readers
    assert len(train) == 1000 and len(test) == 100
    assert np.bincount(train.targets, minlength=10).tolist() == TRAIN_COUNTS
    assert np.bincount(test.targets, minlength=10).tolist() == TEST_COUNTS
    events, label = test[0]
    assert Path(test.data[0]).relative_to(Path(test.data[0]).parents[2]).as_posix() == "Test/0/00004.bin"
    assert (len(events), label) == (5293, 0)  # SOURCE.md
    assert events.dtype.names == ("x", "y", "t", "p")


def test_every_recording_passes_the_checks(readers):
    train, test = readers
    sizes = [len(dataset[i][0]) for dataset in (train, test) for i in range(len(dataset))]
    assert min(sizes) == 1069 and max(sizes) == 7152  # SOURCE.md's event counts


def test_the_writer_of_the_format_reproduces_real_files_byte_for_byte(readers):
    train, _ = readers
    for index in (0, 500, 999):
        events, _ = train[index]
        assert nmnist_bytes(events["x"], events["y"], events["t"], events["p"]) == Path(train.data[index]).read_bytes()


def test_batches_are_time_first(nmnist_dir, cache_dir):
    dm = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, limit=40, batch_size=16, n_time_bins=10)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (40, 40, 40)
    frames, labels = next(iter(dm.train_dataloader()))
    assert frames.shape == (10, 16, 2, 34, 34) and frames.dtype == torch.float32
    assert labels.shape == (16,) and labels.dtype == torch.long
    assert dm.frame_shape == (2, 34, 34) and dm.num_classes == 10


def test_batch_frames_count_the_recordings_events(nmnist_dir, cache_dir, readers):
    dm = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, limit=8, batch_size=8, n_time_bins=5)
    dm.setup("test")
    frames, labels = next(iter(dm.test_dataloader()))
    train, test = readers
    for column, index in enumerate(dm.test_set.indices):
        events, label = test[index]
        times = events["t"]
        window = (times[-1] - times[0]) // 5
        kept = times < times[0] + 5 * window  # Tonic drops the remainder after the last whole bin
        assert frames[:, column].sum().item() == kept.sum() and labels[column].item() == label


def test_validation_split_is_seeded(nmnist_dir, cache_dir):
    first = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, seed=3)
    again = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, seed=3)
    first.setup("fit")
    again.setup("fit")
    assert (len(first.train_set), len(first.val_set)) == (900, 100)
    assert first.val_set.indices == again.val_set.indices
    assert not set(first.val_set.indices) & set(first.train_set.indices)


def test_tonic_layout_is_read_without_a_link(nmnist_dir, tmp_path, readers):
    (tmp_path / "NMNIST").symlink_to(nmnist_dir, target_is_directory=True)
    dm = NMNISTDataModule(tmp_path, cache_dir=tmp_path / "cache")
    assert dm.save_to() == tmp_path and not (tmp_path / "cache").exists()
    assert len(dm.reader(train=False)) == 100


def test_missing_data_names_the_folders(tmp_path):
    dm = NMNISTDataModule(tmp_path / "none", cache_dir=tmp_path / "cache")
    with pytest.raises(DataNotFoundError) as caught:
        dm.setup("test")
    message = str(caught.value)
    for expected in (f"{tmp_path}/none/Train", f"{tmp_path}/none/NMNIST/Test", "download=True"):
        assert expected in message


def test_an_empty_split_folder_is_missing_data_unless_download(tmp_path):
    (tmp_path / "data" / "Train" / "0").mkdir(parents=True)
    dm = NMNISTDataModule(tmp_path / "data", cache_dir=tmp_path / "cache")
    with pytest.raises(DataNotFoundError, match=r"NMNIST/Train/<digit>/<NNNNN>\.bin"):
        dm.reader(train=True)


def test_download_true_delegates_to_tonic(tmp_path, monkeypatch):
    import tonic

    calls = []
    monkeypatch.setattr(tonic.datasets.NMNIST, "download", lambda self: calls.append(self.filename))
    dm = NMNISTDataModule(tmp_path, cache_dir=tmp_path / "cache", download=True)
    dm.prepare_data()
    assert calls == ["train.zip", "test.zip"]


def _one_recording(tmp_path: Path, data: bytes, digit: int = 3) -> NMNISTDataModule:
    folder = tmp_path / "data" / "Test" / str(digit)
    folder.mkdir(parents=True)
    (folder / "00001.bin").write_bytes(data)
    dm = NMNISTDataModule(tmp_path / "data", cache_dir=tmp_path / "cache", val_fraction=0.0, denoise_filter_time=10_000)
    dm.setup("test")
    return dm


def test_a_truncated_recording_is_named(tmp_path, readers):
    train, _ = readers
    data = Path(train.data[0]).read_bytes()[:-2]
    dm = _one_recording(tmp_path, data)
    with pytest.raises(EventFileError, match=r"Test/3/00001\.bin: is truncated: \d+ bytes is not a whole number of 5-byte"):
        dm.test_set[0]


def test_garbled_events_are_named(tmp_path):
    dm = _one_recording(tmp_path, nmnist_bytes(np.array([1, 200]), np.array([1, 2]), np.array([0, 10]), np.array([0, 1])))
    with pytest.raises(EventFileError, match=r"00001\.bin: event x values span 1\.\.200, outside the sensor's 0\.\.33"):
        dm.test_set[0]


def test_time_running_backwards_is_named(tmp_path):
    dm = _one_recording(tmp_path, nmnist_bytes(np.array([1, 2, 3]), np.array([1, 1, 1]), np.array([0, 50, 20]), np.array([0, 1, 1])))
    with pytest.raises(EventFileError, match=r"00001\.bin: timestamps run backwards at event 2 \(50 -> 20\)"):
        dm.test_set[0]


def test_an_empty_file_is_an_empty_recording(tmp_path):
    dm = _one_recording(tmp_path, b"")
    with pytest.raises(EmptyRecordingError, match=r"00001\.bin: the recording holds no events on disk"):
        dm.test_set[0]


def test_a_recording_empty_after_denoising_is_named(tmp_path):
    # three events far apart in space, after the first filter_time (Tonic keeps everything before it): none has a
    # neighbour within filter_time, so denoising removes them all
    data = nmnist_bytes(np.array([1, 15, 30]), np.array([1, 15, 30]), np.array([20_000, 40_000, 60_000]), np.array([1, 0, 1]))
    dm = _one_recording(tmp_path, data)
    with pytest.raises(EmptyRecordingError, match=r"00001\.bin: the recording holds no events after denoising with filter_time=10000"):
        dm.test_set[0]


def test_denoising_gives_what_tonic_gives(readers):
    import tonic.transforms as T

    _, test = readers
    transform = FrameTransform(sensor_size=(34, 34, 2), n_time_bins=5, denoise_filter_time=5000)
    reference = T.Compose([T.Denoise(filter_time=5000), T.ToFrame(sensor_size=(34, 34, 2), n_time_bins=5)])
    for index in range(0, 100, 10):
        events, _ = test[index]
        frames = transform(events.copy(), source=test.data[index])
        assert np.array_equal(frames, reference(events.copy()))
        assert frames.sum() < len(events)  # denoising removed events


class CountingTransform(FrameTransform):
    """A FrameTransform that counts its calls (to see cache hits)."""

    def __call__(self, events, *, source="<events>"):
        calls = self.__dict__.setdefault("_calls", [])
        calls.append(str(source))
        return super().__call__(events, source=source)


def test_the_frame_cache_serves_frames_only_for_the_same_settings(readers, tmp_path):
    _, test = readers
    ten = CountingTransform(sensor_size=(34, 34, 2), n_time_bins=10)
    first = CachedFrameDataset(test, ten, cache_dir=tmp_path, name="nmnist")
    made = [first[i][0] for i in range(5)]
    again = CachedFrameDataset(test, CountingTransform(sensor_size=(34, 34, 2), n_time_bins=10), cache_dir=tmp_path, name="nmnist")
    assert all(torch.equal(again[i][0], made[i]) for i in range(5))
    assert len(ten._calls) == 5 and "_calls" not in again.transform.__dict__  # served from disk
    twenty = CachedFrameDataset(test, CountingTransform(sensor_size=(34, 34, 2), n_time_bins=20), cache_dir=tmp_path, name="nmnist")
    assert twenty[0][0].shape == (20, 2, 34, 34) and twenty.folder != first.folder
    saccade = CachedFrameDataset(test, ten, cache_dir=tmp_path, name="nmnist", reader_options={"first_saccade_only": True})
    assert saccade.folder != first.folder
    assert not list(first.folder.glob(".tmp-*")) and (first.folder / "settings.json").is_file()


def test_a_changed_recording_is_framed_again(nmnist_dir, tmp_path):
    folder = tmp_path / "data" / "Test" / "4"
    folder.mkdir(parents=True)
    recording = folder / "00001.bin"
    shutil.copyfile(nmnist_dir / "Test" / "0" / "00004.bin", recording)
    dm = NMNISTDataModule(tmp_path / "data", cache_dir=tmp_path / "cache", val_fraction=0.0)
    dm.setup("test")
    before = dm.test_set[0][0]
    shutil.copyfile(next((nmnist_dir / "Test" / "1").glob("*.bin")), recording)
    os.utime(recording, ns=(1, 1))
    after = dm.test_set[0][0]
    assert not torch.equal(before, after)


def test_an_interrupted_cache_write_leaves_no_entry(readers, tmp_path, monkeypatch):
    _, test = readers
    dataset = CachedFrameDataset(test, FrameTransform(sensor_size=(34, 34, 2), n_time_bins=4), cache_dir=tmp_path, name="nmnist")

    def interrupted(file, array):
        Path(file).write_bytes(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        dataset[0]
    assert list(dataset.folder.glob("*.npy")) == [] and list(dataset.folder.glob(".tmp-*")) == []
    monkeypatch.undo()
    assert dataset[0][0].shape == (4, 2, 34, 34) and dataset.cache_file(0).is_file()


def test_a_damaged_cache_entry_is_recomputed(readers, tmp_path):
    _, test = readers
    dataset = CachedFrameDataset(test, FrameTransform(sensor_size=(34, 34, 2), n_time_bins=4), cache_dir=tmp_path, name="nmnist")
    good = dataset[0][0]
    dataset.cache_file(0).write_bytes(b"garbage")
    with pytest.warns(UserWarning, match="unreadable cached frames"):
        assert torch.equal(dataset[0][0], good)


def test_time_window_framing_pads_batches_to_the_longest_recording(nmnist_dir, cache_dir):
    dm = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, time_window=50_000, limit=16, batch_size=16, val_fraction=0.0)
    dm.setup("test")
    lengths = [len(dm.test_set[i][0]) for i in range(len(dm.test_set))]
    frames, _ = next(iter(dm.test_dataloader()))
    assert frames.shape[0] == max(lengths) and min(lengths) >= 5
    shortest = lengths.index(min(lengths))
    assert frames[min(lengths):, shortest].abs().sum() == 0 or min(lengths) == max(lengths)
