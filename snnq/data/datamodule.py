"""The Lightning data module base that every snnq data set shares: options, seeded splits, limits, loaders."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import torch
from lightning.pytorch import LightningDataModule
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler

from snnq.data.cache import resolve_cache_dir
from snnq.data.splits import check_fraction, check_limit, limit_indices, train_val_indices
from snnq.errors import ConfigError, UnknownNameError

STAGES = ("fit", "validate", "test", "predict")


class SnnqDataModule(LightningDataModule):
    """Splits, limits and loaders around two datasets a subclass provides (`load_train`, `load_test`).

    The validation set is carved from the training set with ``seed`` (the same seed gives the same split),
    ``limit`` keeps a seeded random subset of at most that many samples in each of train, val and test, and
    the training loader shuffles with a generator seeded from ``seed``. Nothing is read before `setup`.

    Args:
        data_dir: folder that holds the data set's files (see each subclass for the layouts it accepts).
        cache_dir: folder for derived files (extracted archives, decoded tensors, frames); None: ``$SNNQ_CACHE``
            or ``~/.cache/snnq``.
        batch_size: samples per batch.
        num_workers: DataLoader worker processes.
        seed: seed of the validation split, the limited subsets and the shuffling.
        limit: keep at most this many samples per split (fast development runs); None keeps all.
        download: fetch missing files with torchvision's or Tonic's own downloader (needs internet). With
            False, missing files raise `DataNotFoundError`; present files never touch the network either way.
        val_fraction: share of the training set held out for validation; 0 gives no validation set.
        pin_memory: DataLoader ``pin_memory``.
    """

    #: identifies the data a result was measured on ("cifar10-jpeg-q75"); set by each subclass
    source: str = "unknown"
    name: ClassVar[str] = "dataset"
    #: the datasets answer a list of indices with a whole batch (`ImageTensorDataset`): loaders fetch per batch
    batched_fetch: ClassVar[bool] = False

    def __init__(
        self,
        data_dir: str | Path,
        *,
        cache_dir: str | Path | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        seed: int = 0,
        limit: int | None = None,
        download: bool = False,
        val_fraction: float = 0.1,
        pin_memory: bool = False,
    ):
        super().__init__()
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ConfigError(f"{self.name}: batch_size={batch_size!r} is invalid; expected a positive integer")
        if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
            raise ConfigError(f"{self.name}: num_workers={num_workers!r} is invalid; expected an integer >= 0")
        self.data_dir = Path(data_dir).expanduser()
        self.cache_dir = resolve_cache_dir(cache_dir)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.seed = int(seed)
        self.limit = check_limit(limit)
        self.download = bool(download)
        self.val_fraction = check_fraction(val_fraction)
        self.pin_memory = bool(pin_memory)
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None

    # -- what subclasses provide -----------------------------------------------------------------------------
    def load_train(self) -> Dataset:
        """The whole training set (before the validation split and the limit)."""
        raise NotImplementedError

    def load_test(self) -> Dataset:
        """The whole test set (before the limit)."""
        raise NotImplementedError

    def select(self, dataset: Dataset, indices: torch.Tensor) -> Dataset:
        """The samples of ``dataset`` at ``indices`` (a subclass may materialise them)."""
        return torch.utils.data.Subset(dataset, indices.tolist())

    def collate_fn(self) -> Callable[[list[Any]], Any] | None:
        """The DataLoader's collate function (None: PyTorch's default)."""
        return None

    # -- Lightning hooks -------------------------------------------------------------------------------------
    def prepare_data(self) -> None:
        """Downloads missing files when ``download=True`` (Lightning calls this once per node)."""
        if self.download:
            self.fetch()

    def fetch(self) -> None:
        """Downloads the data set with torchvision's or Tonic's downloader; subclasses implement it."""

    def setup(self, stage: str | None = None) -> None:
        """Reads the splits that ``stage`` needs (all of them for None); a second call reuses them."""
        if stage is not None and stage not in STAGES:
            raise UnknownNameError("stage", stage, STAGES)
        if stage in (None, "fit", "validate") and self.train_set is None:
            full = self.load_train()
            train, val = train_val_indices(len(full), val_fraction=self.val_fraction, seed=self.seed)
            self.train_set = self.select(full, limit_indices(train, self.limit, seed=self.seed + 1))
            self.val_set = self.select(full, limit_indices(val, self.limit, seed=self.seed + 2))
        if stage in (None, "test", "predict") and self.test_set is None:
            full = self.load_test()
            every = torch.arange(len(full))
            self.test_set = self.select(full, limit_indices(every, self.limit, seed=self.seed + 3))

    def train_dataloader(self) -> DataLoader:
        return self._loader(self._need(self.train_set, "fit"), shuffle=True)

    def val_dataloader(self) -> DataLoader | list[DataLoader]:
        dataset = self._need(self.val_set, "validate")
        return self._loader(dataset, shuffle=False) if len(dataset) else []

    def test_dataloader(self) -> DataLoader:
        return self._loader(self._need(self.test_set, "test"), shuffle=False)

    def predict_dataloader(self) -> DataLoader:
        return self._loader(self._need(self.test_set, "predict"), shuffle=False)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _need(self, dataset: Dataset | None, stage: str) -> Dataset:
        if dataset is None:
            raise ConfigError(f"{self.name}: call setup({stage!r}) before asking for its data loader")
        return dataset

    def _loader(self, dataset: Dataset, *, shuffle: bool) -> DataLoader:
        generator = torch.Generator().manual_seed(self.seed) if shuffle else None
        # the loader draws its workers' base seed from the generator before the sampler does, in both forms
        common = {"num_workers": self.num_workers, "pin_memory": self.pin_memory, "persistent_workers": self.num_workers > 0, "generator": generator}
        if self.batched_fetch:  # the dataset takes a list of indices: one call per batch, the same batches
            order = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
            return DataLoader(dataset, batch_size=None, sampler=BatchSampler(order, self.batch_size, drop_last=False), **common)
        return DataLoader(dataset, batch_size=self.batch_size, shuffle=shuffle, collate_fn=self.collate_fn(), **common)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(data_dir={str(self.data_dir)!r}, source={self.source!r})"
