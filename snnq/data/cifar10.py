"""CIFAR-10 data module: torchvision's python batches when present, else the JPEG q75 copy (marked as such)."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from snnq.data import cifar10_jpeg
from snnq.data.cifar_pickles import CIFAR10, pickle_files
from snnq.data.errors import DataNotFoundError
from snnq.data.image_dataset import ImageTensorDataset
from snnq.data.image_datamodule import ImageDataModule
from snnq.errors import UnknownNameError

LAYOUTS = ("auto", "python", "jpeg")
SOURCES = MappingProxyType({"python": "cifar10-python", "jpeg": cifar10_jpeg.SOURCE})


class CIFAR10DataModule(ImageDataModule):
    """CIFAR-10 (50,000 train + 10,000 test images, 3x32x32, 10 classes).

    Two on-disk layouts under ``data_dir``:

    - ``python``: torchvision's ``cifar-10-batches-py/`` (``data_batch_1..5``, ``test_batch``, ``batches.meta``),
      the original lossless images; ``download=True`` fetches it with torchvision.
    - ``jpeg``: ``cifar10_train_jpg.tar.gz`` / ``cifar10_test_jpg.tar.gz`` (or their extracted ``train/`` and
      ``test/`` ImageFolder trees), a JPEG quality-75 re-encoding; see `snnq.data.cifar10_jpeg`.

    ``layout="auto"`` takes ``python`` when its files are there, else ``jpeg``. `source` names what was read
    (``"cifar10-python"`` or ``"cifar10-jpeg-q75"``): report it beside every accuracy, since the JPEG copy
    moves accuracy by a few tenths of a percent.

    Args (besides those of `ImageDataModule`):
        layout: ``auto``, ``python`` or ``jpeg``.
        tensor_cache: JPEG layout: save the decoded images once as a uint8 tensor file under ``cache_dir``.
        verify_md5: python layout: check torchvision's MD5 of every batch file (off: existence only).
    """

    name = "CIFAR-10"
    image_shape = (3, 32, 32)
    mean = (0.4914, 0.4822, 0.4465)
    std = (0.2470, 0.2435, 0.2616)
    default_augment = True

    def __init__(
        self,
        data_dir: str | Path,
        *,
        layout: str = "auto",
        tensor_cache: bool = True,
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
        if layout not in LAYOUTS:
            raise UnknownNameError("CIFAR-10 layout", layout, LAYOUTS)
        self.layout = layout
        self.tensor_cache = bool(tensor_cache)
        self.verify_md5 = bool(verify_md5)

    @property
    def source(self) -> str:  # type: ignore[override]
        """``"cifar10-python"`` (lossless original) or ``"cifar10-jpeg-q75"``, from the files in ``data_dir``."""
        return SOURCES[self.resolved_layout()]

    def resolved_layout(self) -> str:
        """``python`` or ``jpeg``: what ``layout`` means for the files in ``data_dir``."""
        if self.layout != "auto":
            return self.layout
        if self._python_present() or self.download:
            return "python"
        if all(cifar10_jpeg.find_jpeg_split(self.data_dir, split) for split in cifar10_jpeg.SPLITS):
            return "jpeg"
        raise self._not_found(["python", "jpeg"])

    def fetch(self) -> None:
        if self.resolved_layout() == "python" and not self._python_present():
            CIFAR10(self.data_dir, train=True, download=True)

    def load_train(self) -> ImageTensorDataset:
        return self._load("train")

    def load_test(self) -> ImageTensorDataset:
        return self._load("test")

    def _load(self, split: str) -> ImageTensorDataset:
        if self.resolved_layout() == "python":
            if not self._python_present():
                raise self._not_found(["python"])
            reader = CIFAR10(self.data_dir, train=split == "train", verify=self.verify_md5)
            self.classes = list(reader.classes)
            where = str(Path(self.data_dir, reader.base_folder))
            return self.dataset(reader.images(), reader.labels(), where=where)
        found = cifar10_jpeg.find_jpeg_split(self.data_dir, split)
        if found is None:
            raise self._not_found(["jpeg"])
        images, labels = cifar10_jpeg.load_jpeg_split(
            found, split, cache_dir=self.cache_dir, tensor_cache=self.tensor_cache
        )
        self.classes = list(cifar10_jpeg.CLASSES)
        return self.dataset(images, labels, where=str(found))

    def _python_present(self) -> bool:
        return all(path.is_file() for path in pickle_files(self.data_dir, CIFAR10))

    def _not_found(self, layouts: list[str]) -> DataNotFoundError:
        expected: list[Path] = []
        if "python" in layouts:
            expected += pickle_files(self.data_dir, CIFAR10)
        if "jpeg" in layouts:
            expected += [self.data_dir / name for name in cifar10_jpeg.ARCHIVES.values()]
            expected += [
                self.data_dir / f"{split}/<class>/*.jpg (extracted alternative)" for split in cifar10_jpeg.SPLITS
            ]
        return DataNotFoundError(
            "CIFAR-10",
            expected,
            "Extract torchvision's cifar-10-python.tar.gz into data_dir or pass download=True (needs internet); "
            "or put the JPEG archives cifar10_train_jpg.tar.gz and cifar10_test_jpg.tar.gz in data_dir.",
        )
