"""MNIST: torchvision's reader over the four original IDX files (gzip-compressed or not) and its data module."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
import torchvision
from torch import Tensor

from snnq.data.errors import CorruptFileError, DataNotFoundError
from snnq.data.image_dataset import ImageTensorDataset
from snnq.data.image_datamodule import ImageDataModule

FILES = MappingProxyType({
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
})

HOW_TO_OBTAIN = (
    "Put the four original IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, "
    "t10k-labels-idx1-ubyte, each optionally gzip-compressed as .gz) in data_dir or data_dir/MNIST/raw, "
    "or pass download=True to fetch them with torchvision (needs internet)."
)


def read_idx(path: str | Path) -> np.ndarray:
    """The array stored in an IDX file of unsigned bytes (MNIST's format), plain or gzip-compressed.

    Raises `CorruptFileError` naming the file when the header or the length is wrong.
    """
    path = Path(path)
    try:
        data = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (OSError, EOFError, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise CorruptFileError(path, f"cannot be decompressed ({error})") from error
    if len(data) < 4 or data[0] != 0 or data[1] != 0:
        raise CorruptFileError(path, "is not an IDX file (the magic number must start with two zero bytes)")
    if data[2] != 0x08:
        raise CorruptFileError(path, f"holds IDX type 0x{data[2]:02x}; MNIST files hold unsigned bytes (0x08)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(data) < header:
        raise CorruptFileError(path, "has a truncated IDX header")
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    expected = header + int(np.prod(dims))
    if len(data) != expected:
        raise CorruptFileError(path, f"is truncated or padded: {len(data)} bytes, the header {dims} implies {expected}")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def find_idx_file(folder: Path, name: str) -> Path | None:
    """``folder/name`` or ``folder/name.gz``, whichever exists (the uncompressed file first)."""
    for candidate in (folder / name, folder / f"{name}.gz"):
        if candidate.is_file():
            return candidate
    return None


class MNIST(torchvision.datasets.MNIST):
    """torchvision's MNIST, reading its IDX files from ``raw_folder`` whether they are gzip-compressed or not.

    torchvision keeps the files uncompressed under ``<root>/MNIST/raw``; this subclass reads the original
    ``.gz`` files in place (no decompressed copy on disk) from any folder, and reports a truncated or garbled
    file by name. Everything else (``data``, ``targets``, ``classes``, ``__getitem__``, ``download``) is
    torchvision's.
    """

    def __init__(self, raw_folder: str | Path, *, train: bool = True, download: bool = False):
        self._raw_folder = Path(raw_folder)
        super().__init__(str(self._raw_folder), train=train, download=download)

    @property
    def raw_folder(self) -> str:
        return str(self._raw_folder)

    def _check_legacy_exist(self) -> bool:  # never read torchvision's old processed/*.pt files
        return False

    def _check_exists(self) -> bool:
        names = [name for pair in FILES.values() for name in pair]
        return all(find_idx_file(self._raw_folder, name) is not None for name in names)

    def _load_data(self) -> tuple[Tensor, Tensor]:
        image_name, label_name = FILES["train" if self.train else "test"]
        image_file = find_idx_file(self._raw_folder, image_name)
        label_file = find_idx_file(self._raw_folder, label_name)
        assert image_file is not None and label_file is not None  # _check_exists ran first
        images, labels = read_idx(image_file), read_idx(label_file)
        if images.ndim != 3:
            raise CorruptFileError(image_file, f"holds an array of shape {list(images.shape)}; expected [N, H, W]")
        if labels.ndim != 1 or len(labels) != len(images):
            raise CorruptFileError(label_file, f"holds {list(labels.shape)} labels for {len(images)} images")
        if labels.size and labels.max() > 9:
            raise CorruptFileError(label_file, f"holds label {int(labels.max())}; MNIST labels are 0..9")
        self.image_file = image_file
        return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


class MNISTDataModule(ImageDataModule):
    """MNIST (60,000 train + 10,000 test digits, 1x28x28) from the original IDX files.

    ``data_dir`` holds the four IDX files (``train-images-idx3-ubyte`` ...; plain or ``.gz``) directly, or in
    torchvision's layout ``data_dir/MNIST/raw``. The validation set is ``val_fraction`` of the training set,
    chosen with ``seed``. See `ImageDataModule` and `SnnqDataModule` for the other arguments.

    Example::

        dm = MNISTDataModule("../shared/data/mnist", batch_size=256)
        dm.setup("test")
        images, labels = dm.prepare_batch(next(iter(dm.test_dataloader())), train=False)
    """

    name = "MNIST"
    source = "mnist-idx"
    image_shape = (1, 28, 28)
    mean = (0.1307,)
    std = (0.3081,)
    default_augment = False
    default_flip = False  # a mirrored digit is another symbol

    def raw_folder(self) -> Path:
        """The folder that holds the IDX files; `DataNotFoundError` listing where they were looked for."""
        candidates = (self.data_dir, self.data_dir / "MNIST" / "raw")
        for folder in candidates:
            if all(find_idx_file(folder, name) for pair in FILES.values() for name in pair):
                return folder
        expected = [folder / f"{name}[.gz]" for folder in candidates for pair in FILES.values() for name in pair]
        raise DataNotFoundError("MNIST", expected, HOW_TO_OBTAIN)

    def fetch(self) -> None:
        try:
            self.raw_folder()
        except DataNotFoundError:
            torchvision.datasets.MNIST(str(self.data_dir), train=True, download=True)

    def load_train(self) -> ImageTensorDataset:
        return self._load(train=True)

    def load_test(self) -> ImageTensorDataset:
        return self._load(train=False)

    def _load(self, *, train: bool) -> ImageTensorDataset:
        reader = MNIST(self.raw_folder(), train=train)
        self.classes = list(reader.classes)
        return self.dataset(reader.data.unsqueeze(1), reader.targets, where=str(reader.image_file))
