"""Time-first collation, and the tensor augmentation that runs on any device."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from snnq.data import random_crop_flip, time_first_collate, to_float
from snnq.data.augment import crop_flip
from snnq.errors import ConfigError, TensorTypeError


def test_collate_stacks_time_first_and_pads_short_recordings():
    long, short = torch.randint(0, 5, (4, 2, 3, 3), dtype=torch.int16), torch.randint(0, 5, (2, 2, 3, 3), dtype=torch.int16)
    frames, labels = time_first_collate([(long, 7), (short, 2)])
    assert frames.shape == (4, 2, 2, 3, 3) and frames.dtype == torch.float32
    assert torch.equal(frames[:, 0], long.float()) and torch.equal(frames[:2, 1], short.float())
    assert frames[2:, 1].abs().sum() == 0 and labels.tolist() == [7, 2]


def test_collate_without_padding_refuses_unequal_lengths():
    with pytest.raises(ConfigError, match=r"recordings have \[2, 4\] frames; pass pad=True"):
        time_first_collate([(torch.zeros(4, 2, 3, 3), 0), (torch.zeros(2, 2, 3, 3), 1)], pad=False)
    with pytest.raises(TensorTypeError, match="expected frames"):
        time_first_collate([(torch.zeros(4, 2, 3, 3), 0), (torch.zeros(4, 2, 5, 5), 1)])


def test_crop_flip_equals_cropping_each_padded_image_by_hand():
    images = torch.randint(0, 256, (6, 3, 8, 8), dtype=torch.uint8)
    oy, ox = torch.tensor([0, 1, 2, 3, 4, 8]), torch.tensor([8, 0, 3, 4, 1, 2])
    flips = torch.tensor([False, True, False, True, True, False])
    out = crop_flip(images, oy, ox, flips, padding=4)
    padded = F.pad(images, (4, 4, 4, 4))
    for b in range(6):
        expected = padded[b, :, oy[b] : oy[b] + 8, ox[b] : ox[b] + 8]
        assert torch.equal(out[b], expected.flip(-1) if flips[b] else expected)


def test_random_crop_flip_is_reproducible_and_keeps_content():
    images = torch.randint(1, 256, (32, 3, 32, 32), dtype=torch.uint8)
    first = random_crop_flip(images, generator=torch.Generator().manual_seed(0))
    again = random_crop_flip(images, generator=torch.Generator().manual_seed(0))
    assert torch.equal(first, again) and first.shape == images.shape and first.dtype == torch.uint8
    assert not torch.equal(first, images)
    same = random_crop_flip(images, padding=0, flip=False)
    assert torch.equal(same, images)


def test_to_float_scales_and_normalises():
    images = torch.tensor([[[[0, 255]]]], dtype=torch.uint8)
    assert torch.equal(to_float(images), torch.tensor([[[[0.0, 1.0]]]]))
    assert torch.allclose(to_float(images, mean=[0.5], std=[0.5]), torch.tensor([[[[-1.0, 1.0]]]]))
    with pytest.raises(TensorTypeError, match="expected uint8 images"):
        to_float(images.float())
    with pytest.raises(ConfigError, match="one value per channel"):
        to_float(images, mean=[0.5, 0.5], std=[0.5, 0.5])


@pytest.mark.gpu
def test_augmentation_runs_on_the_gpu_with_the_cpu_result():
    images = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    oy, ox, flips = torch.randint(0, 9, (16,)), torch.randint(0, 9, (16,)), torch.rand(16) < 0.5
    on_gpu = crop_flip(images.cuda(), oy.cuda(), ox.cuda(), flips.cuda(), padding=4)
    assert on_gpu.is_cuda and torch.equal(on_gpu.cpu(), crop_flip(images, oy, ox, flips, padding=4))
