"""Where the configs (``conf/``) and the recipes (``recipes/``) live, and which recipes there are."""

from __future__ import annotations

import os
from pathlib import Path

from snnq.errors import ConfigError, UnknownNameError

ROOT_VARIABLE = "SNNQ_CONFIG_ROOT"
"""A folder holding ``conf/`` and ``recipes/`` (default: the current folder if it has them, else snnq's own)."""


def config_root() -> Path:
    candidates = []
    if os.environ.get(ROOT_VARIABLE):
        candidates.append(Path(os.environ[ROOT_VARIABLE]))
    candidates += [Path.cwd(), Path(__file__).resolve().parents[2]]
    for root in candidates:
        if (root / "conf" / "config.yaml").is_file():
            return root.resolve()
    raise ConfigError(f"no conf/config.yaml found in {', '.join(str(c) for c in candidates)}; set ${ROOT_VARIABLE} to snnq's folder")


def recipe_names(root: Path | None = None) -> list[str]:
    """Every recipe as ``<paper>/<setting>`` (and ``demo``), sorted."""
    folder = (root or config_root()) / "recipes"
    return sorted(str(path.relative_to(folder).with_suffix("")) for path in folder.rglob("*.yaml"))


def check_recipe(name: str, root: Path | None = None) -> None:
    names = recipe_names(root)
    if name not in names:
        raise UnknownNameError("recipe", name, names)
