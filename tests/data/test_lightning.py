"""The data modules drive a real Lightning Trainer: batches reach the model prepared, time-first for events."""

from __future__ import annotations

import torch
from lightning.pytorch import LightningModule, Trainer
from torch import nn

from snnq.data import MNISTDataModule, NMNISTDataModule


class Probe(LightningModule):
    """A linear classifier that records what its training and validation steps receive."""

    def __init__(self, features: int):
        super().__init__()
        self.layer = nn.Linear(features, 10)
        self.seen: list[tuple[str, torch.dtype, tuple[int, ...]]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() == 5:  # [T, B, C, H, W]: sum over time
            x = x.sum(0)
        return self.layer(x.flatten(1))

    def training_step(self, batch, index):
        x, y = batch
        self.seen.append(("train", x.dtype, tuple(x.shape)))
        return nn.functional.cross_entropy(self(x), y)

    def validation_step(self, batch, index):
        x, y = batch
        self.seen.append(("val", x.dtype, tuple(x.shape)))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.01)


def _fit(model: LightningModule, dm) -> None:
    trainer = Trainer(
        max_epochs=1, limit_train_batches=2, limit_val_batches=1, accelerator="cpu", logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
    )
    trainer.fit(model, datamodule=dm)


def test_mnist_batches_arrive_as_normalised_floats(mnist_dir, cache_dir):
    dm = MNISTDataModule(mnist_dir, cache_dir=cache_dir, limit=64, batch_size=16)
    model = Probe(28 * 28)
    _fit(model, dm)
    assert model.seen == [("train", torch.float32, (16, 1, 28, 28))] * 2 + [("val", torch.float32, (16, 1, 28, 28))]


def test_nmnist_batches_arrive_time_first(nmnist_dir, cache_dir):
    dm = NMNISTDataModule(nmnist_dir, cache_dir=cache_dir, limit=32, batch_size=8, n_time_bins=6)
    model = Probe(2 * 34 * 34)
    _fit(model, dm)
    assert model.seen == [("train", torch.float32, (6, 8, 2, 34, 34))] * 2 + [("val", torch.float32, (6, 8, 2, 34, 34))]
