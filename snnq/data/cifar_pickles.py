"""torchvision's CIFAR-10/100 readers (the python pickle batches) with the MD5 check made optional.

torchvision verifies the MD5 of every batch file on every load and refuses anything else; these subclasses
check that the files exist (MD5 only with ``verify=True``) and name the file that fails to unpickle, so small
files written in the same format (tests, subsets) load too. ``download=True`` is torchvision's own download.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import torch
import torchvision
from torch import Tensor
from torchvision.datasets.utils import check_integrity

from snnq.data.errors import CorruptFileError


class _PickleBatches:
    """The behaviour both subclasses share (a mixin placed before the torchvision class)."""

    verify: bool = False

    def _files(self) -> list[tuple[str, str]]:
        return [*self.train_list, *self.test_list, (self.meta["filename"], self.meta["md5"])]

    def _check_integrity(self) -> bool:
        return all(
            check_integrity(os.path.join(self.root, self.base_folder, name), md5 if self.verify else None)
            for name, md5 in self._files()
        )

    def _load_meta(self) -> None:
        path = Path(self.root, self.base_folder, self.meta["filename"])
        entry = _unpickle(path)
        if self.meta["key"] not in entry:
            raise CorruptFileError(path, f"has no {self.meta['key']!r} entry")
        self.classes = list(entry[self.meta["key"]])
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}

    def _load_batches(self) -> None:
        """Re-reads the batch files one by one to name the one that torchvision failed on."""
        for name, _ in self.train_list if self.train else self.test_list:
            path = Path(self.root, self.base_folder, name)
            entry = _unpickle(path)
            labels = entry.get("labels", entry.get("fine_labels"))
            data = entry.get("data")
            if data is None or labels is None:
                raise CorruptFileError(path, "has no 'data' and 'labels' (or 'fine_labels') entries")
            if getattr(data, "ndim", 0) != 2 or data.shape[1] != 3 * 32 * 32 or len(labels) != len(data):
                raise CorruptFileError(
                    path, f"holds data of shape {list(getattr(data, 'shape', []))} for {len(labels)} labels; "
                    "expected [N, 3072] uint8 rows (3x32x32 images) and N labels"
                )

    def images(self) -> Tensor:
        """All images as one uint8 tensor ``[N, 3, 32, 32]``."""
        return torch.from_numpy(self.data).permute(0, 3, 1, 2).contiguous()

    def labels(self) -> Tensor:
        return torch.tensor(self.targets, dtype=torch.long)


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as handle:
            entry = pickle.load(handle, encoding="latin1")
    except FileNotFoundError:
        raise
    except Exception as error:  # unpickling garbage raises almost anything
        reason = f"is not a readable CIFAR pickle batch ({type(error).__name__}: {error})"
        raise CorruptFileError(path, reason) from error
    if not isinstance(entry, dict):
        raise CorruptFileError(path, f"holds a {type(entry).__name__}, not a CIFAR batch dictionary")
    return entry


def _construct(
    self: _PickleBatches, base: type, root: str | Path, *, train: bool, download: bool, verify: bool
) -> None:
    """torchvision's constructor with the optional MD5 check first and a named file on failure."""
    self.verify = verify
    if verify and not download:
        for name, md5 in self._files():
            path = Path(root, self.base_folder, name)
            if path.is_file() and not check_integrity(str(path), md5):
                raise CorruptFileError(path, f"does not have torchvision's MD5 {md5} (pass verify_md5=False to skip)")
    try:
        base.__init__(self, str(root), train=train, download=download)
    except CorruptFileError:
        raise
    except Exception as error:
        self.root, self.train = str(root), train
        self._load_batches()  # raises CorruptFileError naming the file when one is at fault
        raise error
    if len(self.data) != len(self.targets):  # rows of the wrong length can reshape without an error
        self._load_batches()


class CIFAR10(_PickleBatches, torchvision.datasets.CIFAR10):
    """torchvision's CIFAR-10: ``root/cifar-10-batches-py`` (``data_batch_1..5``, ``test_batch``, ``batches.meta``)."""

    def __init__(self, root: str | Path, *, train: bool = True, download: bool = False, verify: bool = False):
        _construct(self, torchvision.datasets.CIFAR10, root, train=train, download=download, verify=verify)


class CIFAR100(_PickleBatches, torchvision.datasets.CIFAR100):
    """torchvision's CIFAR-100 over ``root/cifar-100-python`` (``train``, ``test``, ``meta``; fine labels)."""

    def __init__(self, root: str | Path, *, train: bool = True, download: bool = False, verify: bool = False):
        _construct(self, torchvision.datasets.CIFAR100, root, train=train, download=download, verify=verify)


def pickle_files(root: str | Path, reader: type[_PickleBatches]) -> list[Path]:
    """The files ``reader`` needs under ``root``."""
    folder = Path(root, reader.base_folder)
    return [folder / name for name, _ in [*reader.train_list, *reader.test_list]] + [folder / reader.meta["filename"]]
