"""Image augmentation and scaling as batched tensor operations, so they run on whichever device holds the batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from snnq.errors import ConfigError, TensorTypeError


def crop_flip(images: Tensor, offsets_y: Tensor, offsets_x: Tensor, flips: Tensor, *, padding: int) -> Tensor:
    """Zero-pads ``images`` ``[B, C, H, W]`` by ``padding`` and takes one ``H x W`` window per image.

    Image ``b`` is cut at rows ``offsets_y[b] .. offsets_y[b] + H`` and columns ``offsets_x[b] .. + W`` of the
    padded image (offsets in ``[0, 2 * padding]``) and mirrored left-right where ``flips[b]`` is true. One
    gather over the batch: no Python loop over images.
    """
    _check_batch(images)
    batch, _, height, width = images.shape
    device = images.device
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    rows = offsets_y.to(device).view(batch, 1) + torch.arange(height, device=device)
    cols = offsets_x.to(device).view(batch, 1) + torch.arange(width, device=device)
    cols = torch.where(flips.to(device).view(batch, 1), cols.flip(1), cols)
    index = torch.arange(batch, device=device).view(batch, 1, 1)
    # advanced indices around a slice: the result is [B, H, W, C]
    return padded[index, :, rows.view(batch, height, 1), cols.view(batch, 1, width)].permute(0, 3, 1, 2).contiguous()


def random_crop_flip(
    images: Tensor, *, padding: int = 4, flip: bool = True, generator: torch.Generator | None = None
) -> Tensor:
    """Random crop with zero padding and random horizontal flip (p = 1/2), independently per image.

    The standard CIFAR augmentation (``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip()``) on a whole
    batch ``[B, C, H, W]`` of any dtype, on the batch's device. Random numbers come from ``generator`` (on the
    CPU or on the batch's device) for reproducible runs.
    """
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ConfigError(f"random_crop_flip: padding={padding!r} is invalid; expected an integer >= 0")
    _check_batch(images)
    batch = images.shape[0]
    draw_on = generator.device if generator is not None else images.device
    offsets = torch.randint(0, 2 * padding + 1, (2, batch), generator=generator, device=draw_on)
    if flip:
        flips = torch.rand(batch, generator=generator, device=draw_on) < 0.5
    else:
        flips = torch.zeros(batch, dtype=torch.bool, device=draw_on)
    return crop_flip(images, offsets[0], offsets[1], flips, padding=padding)


def random_crop(
    images: Tensor, size: int, *, padding: int = 0, flip: bool = False, generator: torch.Generator | None = None
) -> Tensor:
    """A ``size x size`` window of each image ``[B, C, H, W]`` at a uniformly random position (after zero padding
    by ``padding``), mirrored left-right with p = 1/2 when ``flip``; independently per image, on the batch's device.

    With ``padding=0`` it is TensorFlow's ``tf.random_crop(img, [size, size, C])`` (S1's CIFAR-10 training crops).
    """
    _check_size(images, size, padding)
    batch, _, height, width = images.shape
    draw_on = generator.device if generator is not None else images.device
    offsets_y = torch.randint(0, height + 2 * padding - size + 1, (batch,), generator=generator, device=draw_on)
    offsets_x = torch.randint(0, width + 2 * padding - size + 1, (batch,), generator=generator, device=draw_on)
    if flip:
        flips = torch.rand(batch, generator=generator, device=draw_on) < 0.5
    else:
        flips = torch.zeros(batch, dtype=torch.bool, device=draw_on)
    padded = F.pad(images, (padding, padding, padding, padding)) if padding else images
    device = images.device
    rows = offsets_y.to(device).view(batch, 1) + torch.arange(size, device=device)
    cols = offsets_x.to(device).view(batch, 1) + torch.arange(size, device=device)
    cols = torch.where(flips.to(device).view(batch, 1), cols.flip(1), cols)
    index = torch.arange(batch, device=device).view(batch, 1, 1)
    return padded[index, :, rows.view(batch, size, 1), cols.view(batch, 1, size)].permute(0, 3, 1, 2).contiguous()


def center_crop(images: Tensor, size: int) -> Tensor:
    """The central ``size x size`` window of each image ``[B, C, H, W]``: rows and columns from
    ``(H - size) // 2`` (TensorFlow's ``resize_image_with_crop_or_pad`` to a smaller size: S1's test crops)."""
    _check_size(images, size, 0)
    top, left = (images.shape[2] - size) // 2, (images.shape[3] - size) // 2
    return images[:, :, top : top + size, left : left + size].contiguous()


def _check_size(images: Tensor, size: int, padding: int) -> None:
    _check_batch(images)
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"crop: size={size!r} is invalid; expected an integer >= 1")
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ConfigError(f"crop: padding={padding!r} is invalid; expected an integer >= 0")
    if size > min(images.shape[2], images.shape[3]) + 2 * padding:
        raise ConfigError(f"crop: size {size} exceeds the {images.shape[2]}x{images.shape[3]} images (padding {padding})")


def to_float(images: Tensor, *, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> Tensor:
    """uint8 images ``[B, C, H, W]`` as float32 in [0, 1], then ``(x - mean) / std`` per channel when given."""
    _check_batch(images)
    if images.dtype != torch.uint8:
        raise TensorTypeError(f"to_float: expected uint8 images, got {images.dtype}")
    x = images.float().div_(255)
    if mean is None and std is None:
        return x
    if mean is None or std is None or len(mean) != x.shape[1] or len(std) != x.shape[1]:
        raise ConfigError(f"to_float: give mean and std with one value per channel ({x.shape[1]})")
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x.sub_(m).div_(s)


def _check_batch(images: Tensor) -> None:
    if not isinstance(images, Tensor) or images.dim() != 4:
        shape = list(images.shape) if isinstance(images, Tensor) else type(images).__name__
        raise TensorTypeError(f"expected a batch of images [B, C, H, W], got {shape}")
