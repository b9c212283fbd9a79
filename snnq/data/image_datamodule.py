"""The data module base of static image sets: uint8 batches on the wire, scaling and augmentation on the device."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import Tensor
from torch.utils.data import Dataset

from snnq.data.augment import center_crop, random_crop, random_crop_flip, to_float
from snnq.data.datamodule import SnnqDataModule
from snnq.data.image_dataset import ImageTensorDataset, check_images
from snnq.errors import ConfigError


class ImageDataModule(SnnqDataModule):
    """Static images as uint8 tensors; `prepare_batch` turns a batch into normalised (and augmented) floats.

    Loaders yield ``(images, labels)`` with uint8 images ``[B, C, H, W]``. Inside a Lightning ``Trainer`` the
    `on_after_batch_transfer` hook converts them on the device (GPU): scale to [0, 1], random crop and flip
    while training when ``augment`` is on, normalise with the data set's mean and std when ``normalize`` is on.
    Outside a Trainer call ``dm.prepare_batch(batch, train=...)`` yourself.

    Args (besides those of `SnnqDataModule`):
        augment: random crop (zero padding ``padding``) + horizontal flip on training batches; None takes the
            data set's usual choice (on for CIFAR, off for MNIST).
        normalize: subtract the per-channel mean and divide by the std; off leaves values in [0, 1] (what a
            rate encoder needs).
        padding: crop padding of the augmentation.
        flip: random horizontal flips in the augmentation; None takes the data set's usual choice (on for CIFAR,
            off for digits, whose mirror images are other symbols).
        crop: None keeps the whole image; an integer ``c`` feeds the network ``c x c`` crops: at a random position
            (of the image zero-padded by ``padding``, flipped as ``flip`` says) for training batches when ``augment``
            is on, the central window otherwise (S1's CIFAR-10: ``crop=24, padding=0``, random for training,
            central for test).
    """

    #: ``(C, H, W)`` of every image
    image_shape: ClassVar[tuple[int, int, int]] = (0, 0, 0)
    #: per-channel mean and std of the training images (values in [0, 1])
    mean: ClassVar[tuple[float, ...]] = ()
    std: ClassVar[tuple[float, ...]] = ()
    default_augment: ClassVar[bool] = False
    default_flip: ClassVar[bool] = True
    batched_fetch: ClassVar[bool] = True

    def __init__(
        self,
        data_dir: str | Path,
        *,
        cache_dir: str | Path | None = None,
        batch_size: int = 128,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        pin_memory: bool = False,
        augment: bool | None = None,
        normalize: bool = True,
        padding: int = 4,
        flip: bool | None = None,
        crop: int | None = None,
    ):
        super().__init__(
            data_dir,
            cache_dir=cache_dir,
            batch_size=batch_size,
            num_workers=num_workers,
            seed=seed,
            limit=limit,
            download=download,
            val_fraction=val_fraction,
            pin_memory=pin_memory,
        )
        self.augment = self.default_augment if augment is None else bool(augment)
        self.normalize = bool(normalize)
        if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
            raise ConfigError(f"{self.name}: padding={padding!r} is invalid; expected an integer >= 0")
        self.padding = padding
        self.flip = self.default_flip if flip is None else bool(flip)
        side = min(self.image_shape[1:]) if self.image_shape[0] else None
        if crop is not None and (isinstance(crop, bool) or not isinstance(crop, int) or crop < 1 or (side is not None and crop > side)):
            raise ConfigError(f"{self.name}: crop={crop!r} is invalid; expected None or an integer in [1, {side}]")
        self.crop = crop
        self.classes: list[str] = []
        self._generators: dict[str, torch.Generator] = {}

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def select(self, dataset: Dataset, indices: Tensor) -> Dataset:
        assert isinstance(dataset, ImageTensorDataset)
        return dataset.subset(indices)

    def dataset(self, images: Tensor, labels: Tensor, *, where: str) -> ImageTensorDataset:
        """An `ImageTensorDataset` checked against this data set's image shape."""
        return ImageTensorDataset(images, labels, shape=self.image_shape, where=where)

    def prepare_batch(self, batch: tuple[Tensor, Tensor], *, train: bool) -> tuple[Tensor, Tensor]:
        """``(uint8 images, labels)`` -> ``(float32 images, labels)``, augmented when ``train`` and ``augment``."""
        images, labels = batch
        check_images(images, self.image_shape, where=f"{self.name} batch")
        if self.crop is not None:
            if train and self.augment:
                images = random_crop(images, self.crop, padding=self.padding, flip=self.flip, generator=self._generator(images.device))
            else:
                images = center_crop(images, self.crop)
        elif train and self.augment:
            images = random_crop_flip(images, padding=self.padding, flip=self.flip, generator=self._generator(images.device))
        if self.normalize:
            return to_float(images, mean=self.mean, std=self.std), labels
        return to_float(images), labels

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        trainer = getattr(self, "trainer", None)
        return self.prepare_batch(batch, train=bool(trainer is not None and trainer.training))

    def _generator(self, device: torch.device) -> torch.Generator:
        key = str(device)
        if key not in self._generators:
            self._generators[key] = torch.Generator(device=device).manual_seed(self.seed + 4)
        return self._generators[key]
