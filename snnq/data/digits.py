"""scikit-learn's bundled handwritten digits (1,797 real 8 x 8 images): data that every machine has offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import torch
from torch.utils.data import Dataset, TensorDataset

from snnq.data.datamodule import SnnqDataModule


class DigitsDataModule(SnnqDataModule):
    """The 8 x 8 digits of ``sklearn.datasets.load_digits`` as float images ``[1, 8, 8]`` in [0, 1] (value / 16).

    The test split is a stratified ``test_fraction`` of the 1,797 images (seeded); validation comes from the
    rest as for every snnq data module. ``data_dir`` is not read (the images ship with scikit-learn).
    """

    source = "sklearn-digits"
    name: ClassVar[str] = "digits"
    image_shape: ClassVar[tuple[int, int, int]] = (1, 8, 8)
    num_classes = 10

    def __init__(self, data_dir: str | Path = "", *, test_fraction: float = 0.2, **options: Any):
        super().__init__(data_dir, **options)
        self.test_fraction = test_fraction
        self._split: tuple[Dataset, Dataset] | None = None

    def _load(self) -> tuple[Dataset, Dataset]:
        if self._split is None:
            from sklearn.datasets import load_digits
            from sklearn.model_selection import train_test_split

            images, labels = load_digits(return_X_y=True)
            x_train, x_test, y_train, y_test = train_test_split(
                images / 16.0, labels, test_size=self.test_fraction, random_state=self.seed, stratify=labels
            )
            as_set = lambda x, y: TensorDataset(torch.tensor(x, dtype=torch.float32).reshape(-1, 1, 8, 8), torch.tensor(y))  # noqa: E731
            self._split = as_set(x_train, y_train), as_set(x_test, y_test)
        return self._split

    def load_train(self) -> Dataset:
        return self._load()[0]

    def load_test(self) -> Dataset:
        return self._load()[1]
