"""CIFAR-100 from torchvision's python batches, on small files written in that format."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from snnq.data import CIFAR100DataModule, DataNotFoundError
from snnq.data.errors import CorruptFileError

from .formats import write_cifar100


@pytest.fixture
def cifar100(tmp_path):
    written = write_cifar100(tmp_path, np.random.default_rng(1), train=40, test=10)
    return tmp_path, written


def test_the_python_batches_are_read_exactly(cifar100):
    root, written = cifar100
    dm = CIFAR100DataModule(root, cache_dir=root / "cache", val_fraction=0.25)
    dm.setup()
    assert torch.equal(dm.test_set.images, torch.from_numpy(written["test_images"]))
    assert dm.test_set.labels.tolist() == written["test_labels"].tolist()
    assert (len(dm.train_set), len(dm.val_set)) == (30, 10)
    seen = sorted(torch.cat([dm.train_set.labels, dm.val_set.labels]).tolist())
    assert seen == sorted(written["train_labels"].tolist())
    assert dm.num_classes == 100 and dm.classes[:2] == ["fine_00", "fine_01"]
    assert dm.source == "cifar100-python"


def test_loader_batches_are_uint8_images_and_labels(cifar100):
    root, written = cifar100
    dm = CIFAR100DataModule(root, cache_dir=root / "cache", batch_size=4)
    dm.setup("test")
    images, labels = next(iter(dm.test_dataloader()))
    assert images.shape == (4, 3, 32, 32) and images.dtype == torch.uint8
    assert torch.equal(images, torch.from_numpy(written["test_images"][:4]))
    x, _ = dm.prepare_batch((images, labels), train=True)
    assert x.dtype == torch.float32 and x.shape == (4, 3, 32, 32)


def test_missing_files_are_listed(tmp_path):
    with pytest.raises(DataNotFoundError) as caught:
        CIFAR100DataModule(tmp_path).setup("test")
    for expected in ("cifar-100-python/train", "cifar-100-python/test", "cifar-100-python/meta", "download=True"):
        assert expected in str(caught.value)


def test_rows_of_the_wrong_length_are_named(cifar100):
    root, _ = cifar100
    import pickle

    with open(root / "cifar-100-python" / "test", "wb") as handle:
        pickle.dump({"data": np.zeros((12, 768), np.uint8), "fine_labels": list(range(12))}, handle, protocol=2)
    with pytest.raises(CorruptFileError, match=r"cifar-100-python/test: holds data of shape \[12, 768\] for 12 labels"):
        CIFAR100DataModule(root).setup("test")


def test_a_missing_meta_entry_is_named(cifar100):
    root, _ = cifar100
    import pickle

    with open(root / "cifar-100-python" / "meta", "wb") as handle:
        pickle.dump({"coarse_label_names": []}, handle, protocol=2)
    with pytest.raises(CorruptFileError, match=r"meta: has no 'fine_label_names' entry"):
        CIFAR100DataModule(root).setup("test")
