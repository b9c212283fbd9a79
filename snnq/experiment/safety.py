"""Hydra instantiation restricted to an allow-list of modules: a recipe from someone else cannot run arbitrary code."""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from snnq.errors import ConfigError

ALLOWED_TARGETS = (
    "snnq.",
    "torch.optim.",
    "torch.nn.",
    "lightning.pytorch.callbacks.",
    "lightning.pytorch.loggers.",
    "torchmetrics.",
)
"""Prefixes a ``_target_`` may start with."""


def disallowed_targets(config: Any, path: str = "") -> list[tuple[str, str]]:
    """Every ``(key path, target)`` in ``config`` whose ``_target_`` is outside `ALLOWED_TARGETS`."""
    found: list[tuple[str, str]] = []
    if isinstance(config, DictConfig):
        items = ((str(k), config._get_node(k)) for k in config.keys())  # noqa: SLF001 - no interpolation resolving
    elif isinstance(config, dict):
        items = ((str(k), v) for k, v in config.items())
    elif isinstance(config, (ListConfig, list, tuple)):
        items = ((str(i), v) for i, v in enumerate(config))
    else:
        return found
    for key, value in items:
        where = f"{path}.{key}" if path else key
        if key == "_target_":
            target = str(value._value() if hasattr(value, "_value") else value)
            if not target.startswith(ALLOWED_TARGETS):
                found.append((where, target))
        else:
            found.extend(disallowed_targets(value, where))
    return found


def check_targets(config: Any) -> None:
    """Raises `ConfigError` naming every ``_target_`` outside the allow-list."""
    bad = disallowed_targets(config)
    if bad:
        listed = "; ".join(f"{where} = {target!r}" for where, target in bad)
        raise ConfigError(f"refusing to instantiate {listed}: targets must start with one of {', '.join(ALLOWED_TARGETS)}")


def instantiate(config: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` after `check_targets`."""
    from hydra.utils import instantiate as hydra_instantiate

    check_targets(config)
    return hydra_instantiate(config, **kwargs)


def to_plain(config: Any) -> Any:
    """A resolved plain-Python copy of a config (for results files and constructors)."""
    if isinstance(config, (DictConfig, ListConfig)):
        return OmegaConf.to_container(config, resolve=True)
    return config
