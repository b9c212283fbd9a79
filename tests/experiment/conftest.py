"""Composing snnq's Hydra configs the way `snnq train` does."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from tests.conftest import ROOT

CONF = ROOT / "conf"


@contextmanager
def composed(overrides: list[str]) -> Iterator[DictConfig]:
    """The job config of ``snnq train <overrides>`` (with Hydra's runtime values set, as in a real run)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF), version_base="1.3"):
        cfg = compose(config_name="config", overrides=overrides, return_hydra_config=True)
        HydraConfig.instance().set_config(cfg)
        yield cfg
    GlobalHydra.instance().clear()


def job(cfg: DictConfig) -> DictConfig:
    """The config without Hydra's own node (what the task function sees)."""
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg
