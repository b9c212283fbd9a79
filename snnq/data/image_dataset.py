"""A dataset of uint8 images held in one tensor, checked for the image shape its pipeline is built for."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.utils.data import Dataset

from snnq.data.errors import ImageSizeError
from snnq.errors import TensorTypeError


def check_images(images: Tensor, shape: tuple[int, int, int], *, where: str) -> Tensor:
    """``images`` if it is a batch ``[N, C, H, W]`` of images of ``shape``; else `ImageSizeError` naming ``where``."""
    if not isinstance(images, Tensor):
        raise TensorTypeError(f"{where}: expected a tensor of images, got {type(images).__name__}")
    if images.dim() != 4 or tuple(images.shape[1:]) != tuple(shape):
        raise ImageSizeError(where, shape, tuple(images.shape[1:]) if images.dim() == 4 else tuple(images.shape))
    return images


class ImageTensorDataset(Dataset):
    """``(image, label)`` pairs from a uint8 tensor ``[N, C, H, W]`` and a label tensor ``[N]``.

    Items are the stored uint8 images (no copy, no float conversion): batches stay small on their way to the
    device, where `ImageDataModule.prepare_batch` scales, normalises and augments them.

    Args:
        images: uint8 ``[N, C, H, W]``.
        labels: integer ``[N]``.
        shape: the ``(C, H, W)`` every image must have.
        where: name of the source, used in error messages (a file or key).
    """

    def __init__(self, images: Tensor, labels: Tensor, *, shape: tuple[int, int, int], where: str):
        check_images(images, shape, where=where)
        if images.dtype != torch.uint8:
            raise TensorTypeError(f"{where}: expected uint8 images, got {images.dtype}")
        labels = torch.as_tensor(labels)
        if labels.dim() != 1 or len(labels) != len(images) or labels.is_floating_point():
            raise TensorTypeError(
                f"{where}: expected {len(images)} integer labels, "
                f"got a {labels.dtype} tensor of shape {list(labels.shape)}"
            )
        self.images = images
        self.labels = labels.long()
        self.shape = tuple(shape)
        self.where = where

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int | Sequence[int] | Tensor) -> tuple[Tensor, int] | tuple[Tensor, Tensor]:
        """One sample ``(image, label)`` for an integer index; a whole batch ``(images [B, C, H, W], labels [B])``
        for a sequence of indices (one gather instead of ``B`` items and a collation: what the data modules'
        loaders ask for, through a `BatchSampler`)."""
        if isinstance(index, (list, tuple, range)) or (isinstance(index, Tensor) and index.dim() == 1):
            indices = torch.as_tensor(index, dtype=torch.long)
            return self.images[indices], self.labels[indices]
        return self.images[index], int(self.labels[index])

    def subset(self, indices: Tensor) -> ImageTensorDataset:
        """A new dataset holding the samples at ``indices`` (copied into a compact tensor)."""
        return ImageTensorDataset(self.images[indices], self.labels[indices], shape=self.shape, where=self.where)
