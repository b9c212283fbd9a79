"""Crops to a smaller side (S1's CIFAR-10: 24 x 24, random for training, central for test)."""

import numpy as np
import pytest
import torch

from snnq.data import CIFAR10DataModule
from snnq.data.augment import center_crop, random_crop
from snnq.errors import ConfigError

from .formats import write_cifar10


def numbered(batch=3, side=32):
    return torch.arange(batch * 3 * side * side, dtype=torch.int32).reshape(batch, 3, side, side)


def test_center_crop_takes_the_middle_window():
    images = numbered()
    assert torch.equal(center_crop(images, 24), images[:, :, 4:28, 4:28])  # (32 - 24) // 2 = 4 on each side
    assert torch.equal(center_crop(numbered(side=5), 2), numbered(side=5)[:, :, 1:3, 1:3])


def test_random_crop_is_a_window_of_each_image_at_a_random_place():
    images = numbered(batch=64)
    crops = random_crop(images, 24, generator=torch.Generator().manual_seed(0))
    assert crops.shape == (64, 3, 24, 24)
    offsets = set()
    for b in range(64):
        top, left = divmod(int(crops[b, 0, 0, 0] - images[b, 0, 0, 0]), 32)  # the window's first pixel
        assert 0 <= top <= 8 and 0 <= left <= 8
        assert torch.equal(crops[b], images[b, :, top : top + 24, left : left + 24])
        offsets.add((top, left))
    assert len(offsets) > 10


def test_random_crop_flips_when_asked():
    images = numbered(batch=64)
    crops = random_crop(images, 32, flip=True, generator=torch.Generator().manual_seed(0))  # full size: only flips
    flipped = [b for b in range(64) if not torch.equal(crops[b], images[b])]
    assert 10 < len(flipped) < 54 and all(torch.equal(crops[b], images[b].flip(-1)) for b in flipped)


def test_bad_crop_sizes_are_refused():
    with pytest.raises(ConfigError, match=r"crop: size 33 exceeds the 32x32 images"):
        center_crop(numbered(), 33)
    with pytest.raises(ConfigError, match=r"crop=0 is invalid"):
        CIFAR10DataModule("nowhere", crop=0)


def test_the_data_module_crops_training_batches_at_random_and_test_batches_centrally(tmp_path):
    write_cifar10(tmp_path, np.random.default_rng(0))
    dm = CIFAR10DataModule(tmp_path, cache_dir=tmp_path / "cache", crop=24, padding=0, flip=False, normalize=False)
    dm.prepare_data()
    dm.setup()
    images, labels = next(iter(dm.test_dataloader()))
    test, _ = dm.prepare_batch((images, labels), train=False)
    assert test.shape[-2:] == (24, 24) and torch.equal(test, images[:, :, 4:28, 4:28].float() / 255)
    images, labels = next(iter(dm.train_dataloader()))
    train, _ = dm.prepare_batch((images, labels), train=True)
    assert train.shape[-2:] == (24, 24)
