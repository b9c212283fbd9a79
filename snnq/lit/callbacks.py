"""Lightning callbacks snnq's training needs."""

from __future__ import annotations

import statistics
import time

import lightning.pytorch as pl
import torch


class QuantizerEpochCallback(pl.Callback):
    """Tells every module with a ``set_epoch(epoch)`` method (the sigmoid-sum quantizer's temperature schedule)
    which epoch starts."""

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        for submodule in module.modules():
            set_epoch = getattr(submodule, "set_epoch", None)
            if callable(set_epoch) and submodule is not module:
                set_epoch(trainer.current_epoch)


class EpochTimer(pl.Callback):
    """Wall-clock seconds of every training epoch, the validation that closes it included (the device is
    synchronised at both ends), logged as ``epoch_seconds``; `median` is what a run reports, so that the first
    epoch's warm-up (cuDNN autotuning, allocations) does not count."""

    def __init__(self) -> None:
        self.seconds: list[float] = []
        self._start = 0.0

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._start = self._now(module)

    def on_train_epoch_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self.seconds.append(self._now(module) - self._start)
        module.log("epoch_seconds", self.seconds[-1], on_epoch=True, on_step=False, sync_dist=True)  # mean over processes

    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @staticmethod
    def _now(module: pl.LightningModule) -> float:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)
        return time.perf_counter()
