"""Classification with Lightning: a quantized ANN (QAT) or a spiking network trained through time (BPTT)."""

from __future__ import annotations

from typing import Any

import lightning.pytorch as pl
import torch
import torchmetrics
from torch import Tensor, nn

from snnq.errors import ConfigError
from snnq.lit.optim import build_optimizer, build_schedule, decayed_parameters
from snnq.neurons.build import reset_state


COMPILE_MODES = ("default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs")


class ClassifierModule(pl.LightningModule):
    """Shared training, validation and test steps: cross-entropy, accuracy (torchmetrics), logged per epoch.

    Args:
        model: the network.
        num_classes: classes.
        optimizer: ``{"name": "sgd"|"adam"|"adamw", "lr", "weight_decay", "momentum", "nesterov"}``.
        schedule: ``none``, ``cosine`` or ``onecycle`` (per step, over the whole fit).
        label_smoothing: of the cross-entropy.
    """

    def __init__(self, model: nn.Module, *, num_classes: int, optimizer: dict[str, Any] | None = None, schedule: str = "none", label_smoothing: float = 0.0):
        super().__init__()
        self.model = model
        self.optimizer_options = dict(optimizer or {"name": "adam", "lr": 1e-3})
        self.schedule = schedule
        self.loss = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        metric = lambda: torchmetrics.classification.MulticlassAccuracy(num_classes=num_classes, average="micro")  # noqa: E731
        self.train_accuracy, self.val_accuracy, self.test_accuracy = metric(), metric(), metric()

    def logits(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x: Tensor) -> Tensor:
        return self.logits(x)

    def _step(self, batch: Any, stage: str) -> Tensor:
        x, y = batch[0], batch[1]
        logits = self.logits(x)
        loss = self.loss(logits, y)
        metric = getattr(self, f"{stage}_accuracy")
        metric(logits, y)
        batch_size = y.shape[0]
        # sync_dist: the epoch's loss over every process of a multi-process fit (torchmetrics syncs the accuracy itself)
        self.log(f"{stage}_loss", loss, on_step=stage == "train", on_epoch=True, prog_bar=stage != "test", batch_size=batch_size, sync_dist=True)
        self.log(f"{stage}_acc", metric, on_step=False, on_epoch=True, prog_bar=True, batch_size=batch_size)
        return loss

    def training_step(self, batch: Any, batch_idx: int) -> Tensor:
        return self._step(batch, "train")

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "test")

    def configure_optimizers(self) -> Any:
        options = dict(self.optimizer_options)
        weight_decay = float(options.pop("weight_decay", 0.0))
        optimizer = build_optimizer(decayed_parameters(self.model, weight_decay), weight_decay=weight_decay, **options)
        total = int(self.trainer.estimated_stepping_batches) if self.trainer is not None else 1
        schedule = build_schedule(optimizer, name=self.schedule, total_steps=total, max_lr=float(options.get("lr", 1e-3)))
        return optimizer if schedule is None else {"optimizer": optimizer, "lr_scheduler": schedule}


class QATClassifier(ClassifierModule):
    """A (quantized) ANN: ``logits = model(x)``; quantizers train through their straight-through gradients.

    ``compile`` (False, True or a `torch.compile` mode such as ``"reduce-overhead"``) runs the network through
    `torch.compile` in this module only: the network itself stays an ordinary module (its state dict, the
    converters and the integer export see no wrapper), and snnq's quantizers trace into one graph (tested).
    """

    def __init__(self, model: nn.Module, *, compile: bool | str = False, **options: Any):
        super().__init__(model, **options)
        if compile not in (False, True) and compile not in COMPILE_MODES:
            raise ConfigError(f"compile={compile!r} is invalid; expected false, true or one of {', '.join(COMPILE_MODES)}")
        # kept out of the module tree (object.__setattr__): a registered wrapper would double the checkpoint's keys
        compiled = torch.compile(model, **({} if compile is True else {"mode": compile})) if compile else None
        object.__setattr__(self, "compiled_model", compiled)

    def logits(self, x: Tensor) -> Tensor:
        return (self.model if self.compiled_model is None else self.compiled_model)(x)


class SpikingClassifier(ClassifierModule):
    """A spiking network trained by back-propagation through time.

    Inputs are ``[T, B, ...]`` (event frames), or static ``[B, ...]`` images that ``encoder`` turns into ``[T, B, ...]``.
    The network maps ``[T, B, ...]`` to ``[T, B, classes]`` (or ``[B, classes]``); the logits are the mean over time.
    Every snnq neuron (own modules and snnTorch/SpikingJelly adapters) is reset before each batch, and so are
    SpikingJelly's own memory modules, so that no state leaks between batches (Lightning's inference mode
    forbids reusing state created in an earlier step).
    """

    def __init__(self, model: nn.Module, *, num_classes: int, encoder: nn.Module | None = None, **options: Any):
        super().__init__(model, num_classes=num_classes, **options)
        self.encoder = encoder

    def logits(self, x: Tensor) -> Tensor:
        reset_state(self.model)
        _reset_spikingjelly(self.model)
        if self.encoder is not None:
            x = self.encoder(x)
        out = self.model(x)
        return out.mean(0) if out.dim() == 3 else out


def _reset_spikingjelly(model: nn.Module) -> None:
    import sys

    if "spikingjelly" not in sys.modules:  # no SpikingJelly module can be in the model
        return
    from spikingjelly.activation_based import base

    for module in model.modules():
        if isinstance(module, base.MemoryModule):
            module.reset()
