"""Seeded index selections: a validation split carved from a training set, and limited subsets for fast runs."""

from __future__ import annotations

import torch
from torch import Tensor

from snnq.errors import ConfigError


def permutation(n: int, seed: int) -> Tensor:
    """A permutation of ``range(n)`` that depends only on ``n`` and ``seed``."""
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def train_val_indices(n: int, *, val_fraction: float, seed: int) -> tuple[Tensor, Tensor]:
    """Disjoint sorted index sets ``(train, val)`` covering ``range(n)``; ``val`` holds ``round(n * val_fraction)``.

    The same ``n``, ``val_fraction`` and ``seed`` always give the same split.
    """
    check_fraction(val_fraction)
    order = permutation(n, seed)
    n_val = int(round(n * val_fraction))
    if val_fraction > 0 and (n_val == 0 or n_val == n):
        raise ConfigError(f"val_fraction={val_fraction} leaves an empty split of {n} samples")
    return order[n_val:].sort().values, order[:n_val].sort().values


def limit_indices(indices: Tensor, limit: int | None, *, seed: int) -> Tensor:
    """At most ``limit`` of ``indices``, picked at random with ``seed`` (all of them when ``limit`` is None), sorted."""
    if limit is None or limit >= len(indices):
        return indices
    return indices[permutation(len(indices), seed)[:limit]].sort().values


def check_fraction(val_fraction: float) -> float:
    """``val_fraction`` when it lies in [0, 1); `ConfigError` otherwise."""
    if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)) or not 0 <= val_fraction < 1:
        raise ConfigError(f"val_fraction={val_fraction!r} is invalid; expected a number in [0, 1)")
    return float(val_fraction)


def check_limit(limit: int | None) -> int | None:
    """``limit`` when it is None or a positive int; `ConfigError` otherwise."""
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"limit={limit!r} is invalid; expected None or a positive integer")
    return limit
