"""MNIST from the original IDX files: the real data set read whole, splits, layouts, bad files."""

from __future__ import annotations

import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision

from snnq.data import DataNotFoundError, MNISTDataModule
from snnq.data.errors import CorruptFileError, ImageSizeError
from snnq.data.mnist import FILES, read_idx
from snnq.errors import SnnqError

from .formats import write_idx

TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # ../shared/data/mnist/SOURCE.md
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def test_the_full_test_split_has_the_published_shape_counts_and_statistics(mnist_test):
    images, labels = mnist_test.test_set.images, mnist_test.test_set.labels
    assert images.shape == (10_000, 1, 28, 28) and images.dtype == torch.uint8
    assert torch.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert round(images.double().mean().item() / 255, 4) == 0.1325
    assert mnist_test.classes[0] == "0 - zero" and mnist_test.num_classes == 10
    assert mnist_test.source == "mnist-idx"


def test_the_idx_reader_equals_torchvisions_on_the_uncompressed_file(mnist_dir, tmp_path):
    plain = tmp_path / "t10k-images-idx3-ubyte"
    plain.write_bytes(gzip.decompress((mnist_dir / "t10k-images-idx3-ubyte.gz").read_bytes()))
    ours = torch.from_numpy(read_idx(mnist_dir / "t10k-images-idx3-ubyte.gz").copy())
    assert torch.equal(ours, torchvision.datasets.mnist.read_image_file(str(plain)))


def test_validation_is_carved_from_train_with_a_fixed_seed(mnist_dir, cache_dir):
    first = MNISTDataModule(mnist_dir, cache_dir=cache_dir, seed=7)
    first.setup("fit")
    again = MNISTDataModule(mnist_dir, cache_dir=cache_dir, seed=7)
    again.setup("fit")
    other = MNISTDataModule(mnist_dir, cache_dir=cache_dir, seed=8)
    other.setup("fit")
    assert (len(first.train_set), len(first.val_set)) == (54_000, 6_000)
    assert torch.equal(first.val_set.images, again.val_set.images)
    assert torch.equal(first.train_set.labels, again.train_set.labels)
    assert not torch.equal(first.val_set.images, other.val_set.images)
    together = torch.bincount(torch.cat([first.train_set.labels, first.val_set.labels]), minlength=10)
    assert together.tolist() == TRAIN_COUNTS  # train + val is exactly the training set


def test_limit_keeps_a_seeded_subset_of_each_split(mnist_dir, cache_dir):
    dm = MNISTDataModule(mnist_dir, cache_dir=cache_dir, limit=100, batch_size=32)
    dm.setup()
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (100, 100, 100)
    batches = list(dm.train_dataloader())
    assert [len(labels) for _, labels in batches] == [32, 32, 32, 4]
    assert len(set(torch.bincount(dm.test_set.labels, minlength=10).tolist())) > 1  # not one class


def test_loaders_fetch_whole_batches_the_ones_item_by_item_loading_gives(mnist_dir, cache_dir, monkeypatch):
    from snnq.data.image_dataset import ImageTensorDataset

    dm = MNISTDataModule(mnist_dir, cache_dir=cache_dir, limit=100, batch_size=32, seed=3)
    dm.setup()
    image, label = dm.train_set[5]
    assert image.shape == (1, 28, 28) and isinstance(label, int)
    calls = []
    fetch = ImageTensorDataset.__getitem__
    monkeypatch.setattr(ImageTensorDataset, "__getitem__", lambda self, index: calls.append(index) or fetch(self, index))
    batched = list(dm.train_dataloader())
    assert len(calls) == 4 and all(isinstance(index, list) for index in calls)  # one call per batch
    monkeypatch.setattr(ImageTensorDataset, "__getitem__", fetch)
    item_by_item = torch.utils.data.DataLoader(dm.train_set, batch_size=32, shuffle=True, generator=torch.Generator().manual_seed(3))
    for (images, labels), (expected_images, expected_labels) in zip(batched, item_by_item, strict=True):
        assert torch.equal(images, expected_images) and torch.equal(labels, expected_labels)
    tested = torch.cat([labels for _, labels in dm.test_dataloader()])
    assert torch.equal(tested, dm.test_set.labels)  # in order, nothing dropped


def test_prepare_batch_scales_and_normalises(mnist_test):
    images, labels = next(iter(mnist_test.test_dataloader()))
    assert images.dtype == torch.uint8 and images.shape == (128, 1, 28, 28)
    x, same_labels = mnist_test.prepare_batch((images, labels), train=False)
    assert x.dtype == torch.float32 and same_labels is labels
    assert torch.equal(x, (images.float() / 255 - 0.1307) / 0.3081)
    raw = MNISTDataModule("unused", normalize=False).prepare_batch((images, labels), train=True)[0]
    assert torch.equal(raw, images.float() / 255)  # no augmentation for digits by default


def test_reads_torchvisions_layout_and_uncompressed_files(mnist_dir, mnist_test, tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in FILES["train"] + FILES["test"]:
        if name.startswith("t10k"):
            (raw / name).write_bytes(gzip.decompress((mnist_dir / f"{name}.gz").read_bytes()))
        else:
            (raw / f"{name}.gz").symlink_to(mnist_dir / f"{name}.gz")
    dm = MNISTDataModule(tmp_path)
    dm.setup("test")
    assert torch.equal(dm.test_set.images, mnist_test.test_set.images)
    assert torch.equal(dm.test_set.labels, mnist_test.test_set.labels)


def test_missing_files_name_every_expected_path(tmp_path):
    dm = MNISTDataModule(tmp_path / "nowhere")
    with pytest.raises(DataNotFoundError) as caught:
        dm.setup("test")
    message = str(caught.value)
    assert isinstance(caught.value, FileNotFoundError) and isinstance(caught.value, SnnqError)
    for name in ("train-images-idx3-ubyte", "t10k-labels-idx1-ubyte", "MNIST/raw", "download=True"):
        assert name in message
    assert str(tmp_path / "nowhere") in message


def test_download_true_delegates_to_torchvision(tmp_path, monkeypatch):
    calls = []

    def fake_download(self):
        calls.append(Path(self.raw_folder))
        raise RuntimeError("no internet in this test")

    monkeypatch.setattr(torchvision.datasets.MNIST, "download", fake_download)
    dm = MNISTDataModule(tmp_path, download=True)
    with pytest.raises(RuntimeError, match="no internet"):
        dm.prepare_data()
    assert calls == [tmp_path / "MNIST" / "raw"]


def _copy_all(mnist_dir: Path, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in FILES["train"] + FILES["test"]:
        (folder / f"{name}.gz").symlink_to(mnist_dir / f"{name}.gz")


def test_a_truncated_file_is_named(mnist_dir, tmp_path):
    _copy_all(mnist_dir, tmp_path)
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.unlink()
    labels.write_bytes(gzip.compress(gzip.decompress((mnist_dir / labels.name).read_bytes())[:-10]))
    with pytest.raises(CorruptFileError, match=r"t10k-labels-idx1-ubyte\.gz: is truncated or padded: 9998 bytes"):
        MNISTDataModule(tmp_path).setup("test")


def test_a_broken_gzip_is_named(mnist_dir, tmp_path):
    _copy_all(mnist_dir, tmp_path)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    images.unlink()
    shutil.copyfile(mnist_dir / images.name, images)
    with open(images, "r+b") as handle:
        handle.truncate(1000)
    with pytest.raises(CorruptFileError, match=r"t10k-images-idx3-ubyte\.gz: cannot be decompressed"):
        MNISTDataModule(tmp_path).setup("test")


def test_images_of_the_wrong_size_are_refused_with_the_file_named(mnist_dir, tmp_path):
    _copy_all(mnist_dir, tmp_path)
    images = tmp_path / "t10k-images-idx3-ubyte.gz"
    images.unlink()
    write_idx(images, np.zeros((10_000, 32, 32), dtype=np.uint8), compress=True)
    with pytest.raises(ImageSizeError, match=r"t10k-images-idx3-ubyte\.gz: expected images of shape \[1, 28, 28\]"):
        MNISTDataModule(tmp_path).setup("test")


def test_a_batch_of_the_wrong_size_is_refused(mnist_test):
    cifar_like = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    with pytest.raises(ImageSizeError, match=r"MNIST batch: expected images of shape \[1, 28, 28\] \(C, H, W\), got \[3, 32, 32\]"):
        mnist_test.prepare_batch((cifar_like, torch.zeros(4, dtype=torch.long)), train=False)
