"""Optimizers and schedules by name (what recipes write), so that no recipe needs an arbitrary ``_target_``."""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

import torch
from torch import nn

from snnq.errors import ConfigError, UnknownNameError

OPTIMIZERS = MappingProxyType({"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW})
SCHEDULES = ("none", "cosine", "onecycle")


def build_optimizer(parameters: Any, *, name: str = "adam", lr: float = 1e-3, weight_decay: float = 0.0, momentum: float = 0.9, nesterov: bool = False) -> torch.optim.Optimizer:
    if name not in OPTIMIZERS:
        raise UnknownNameError("optimizer", name, OPTIMIZERS)
    if not lr > 0:
        raise ConfigError(f"optimizer: lr={lr!r} must be > 0")
    options: dict[str, Any] = {"lr": lr, "weight_decay": weight_decay}
    if name == "sgd":
        options.update(momentum=momentum, nesterov=nesterov)
    return OPTIMIZERS[name](parameters, **options)


def build_schedule(optimizer: torch.optim.Optimizer, *, name: str, total_steps: int, max_lr: float) -> dict[str, Any] | None:
    """A per-step learning-rate schedule for Lightning (``interval: step``), or None."""
    if name not in SCHEDULES:
        raise UnknownNameError("schedule", name, SCHEDULES)
    if name == "none":
        return None
    if name == "cosine":
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(total_steps, 1))
    else:
        schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=max(total_steps, 1))
    return {"scheduler": schedule, "interval": "step"}


def decayed_parameters(model: nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No weight decay on biases, norms and quantizer steps (scales, clips): only on weights."""
    decay, plain = [], []
    for name, parameter in model.named_parameters():
        if not parameter.requires_grad:
            continue
        (decay if parameter.dim() > 1 else plain).append(parameter)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]
