"""CIFAR-100 data module over torchvision's python batches (fine labels)."""

from __future__ import annotations

from pathlib import Path

from snnq.data.cifar_pickles import CIFAR100, pickle_files
from snnq.data.errors import DataNotFoundError
from snnq.data.image_dataset import ImageTensorDataset
from snnq.data.image_datamodule import ImageDataModule


class CIFAR100DataModule(ImageDataModule):
    """CIFAR-100 (50,000 train + 10,000 test images, 3x32x32, 100 fine classes).

    ``data_dir`` holds torchvision's ``cifar-100-python/`` folder (``train``, ``test``, ``meta``, the python
    pickle batches of ``cifar-100-python.tar.gz``); ``download=True`` fetches it with torchvision. See
    `ImageDataModule` and `SnnqDataModule` for the arguments; ``verify_md5`` checks torchvision's MD5s.
    """

    name = "CIFAR-100"
    source = "cifar100-python"
    image_shape = (3, 32, 32)
    mean = (0.5071, 0.4865, 0.4409)
    std = (0.2673, 0.2564, 0.2762)
    default_augment = True

    def __init__(
        self,
        data_dir: str | Path,
        *,
        verify_md5: bool = False,
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
            augment=augment,
            normalize=normalize,
            padding=padding,
            flip=flip,
            crop=crop,
        )
        self.verify_md5 = bool(verify_md5)

    def fetch(self) -> None:
        if not self._present():
            CIFAR100(self.data_dir, train=True, download=True)

    def load_train(self) -> ImageTensorDataset:
        return self._load(train=True)

    def load_test(self) -> ImageTensorDataset:
        return self._load(train=False)

    def _load(self, *, train: bool) -> ImageTensorDataset:
        if not self._present():
            raise DataNotFoundError(
                "CIFAR-100",
                pickle_files(self.data_dir, CIFAR100),
                "Extract torchvision's cifar-100-python.tar.gz into data_dir, or pass download=True (needs internet).",
            )
        reader = CIFAR100(self.data_dir, train=train, verify=self.verify_md5)
        self.classes = list(reader.classes)
        return self.dataset(reader.images(), reader.labels(), where=str(Path(self.data_dir, reader.base_folder)))

    def _present(self) -> bool:
        return all(path.is_file() for path in pickle_files(self.data_dir, CIFAR100))
