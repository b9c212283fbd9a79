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


class QuietProcess(pl.Callback):
    """Applies `snnq.experiment.console.quiet_dependency_warnings` in the process that runs the fit: the
    processes ``ddp_spawn`` starts begin with Python's default warning filters."""

    def setup(self, trainer: pl.Trainer, module: pl.LightningModule, stage: str) -> None:
        from snnq.experiment.console import quiet_dependency_warnings

        quiet_dependency_warnings()


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

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        from snnq.lit.distributed import report_to_main_process

        if trainer.world_size > 1:
            report_to_main_process(trainer, "epoch_seconds", torch.tensor(self.seconds, dtype=torch.float64))

    def collect(self, trainer: pl.Trainer) -> None:
        """After ``Trainer.fit``: takes the timings rank 0 sent back when the fit ran in started processes
        (``ddp_spawn``, ``ddp_fork``: this process's callback timed nothing)."""
        from snnq.lit.distributed import from_rank_zero

        sent = from_rank_zero(trainer, "epoch_seconds")
        if sent is not None and not self.seconds:
            self.seconds = sent.tolist()

    def median(self) -> float | None:
        return statistics.median(self.seconds) if self.seconds else None

    @staticmethod
    def _now(module: pl.LightningModule) -> float:
        if module.device.type == "cuda":
            torch.cuda.synchronize(module.device)
        return time.perf_counter()
