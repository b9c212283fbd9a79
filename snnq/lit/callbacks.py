"""Lightning callbacks snnq's training needs."""

from __future__ import annotations

import lightning.pytorch as pl


class QuantizerEpochCallback(pl.Callback):
    """Tells every module with a ``set_epoch(epoch)`` method (the sigmoid-sum quantizer's temperature schedule)
    which epoch starts."""

    def on_train_epoch_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        for submodule in module.modules():
            set_epoch = getattr(submodule, "set_epoch", None)
            if callable(set_epoch) and submodule is not module:
                set_epoch(trainer.current_epoch)
