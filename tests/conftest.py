"""Shared fixtures and the markers' skip rules.

- ``slow``: skipped unless ``--runslow`` (``make test-slow``): full data sets and long training.
- ``gpu``: skipped where no CUDA device is present.
- ``shared_data``: the offline data sets in ``../shared/data`` (or ``$SNNQ_DATA``); tests that need them
  skip with that reason in a checkout without them (CI always has them).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile(
    "snnq", deadline=None, max_examples=40, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "snnq"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--runslow", action="store_true", default=False, help="run tests marked slow")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    skip_slow = pytest.mark.skip(reason="slow test: run with --runslow (make test-slow)")
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device; none is present")
    for item in items:
        if "slow" in item.keywords and not config.getoption("--runslow"):
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not torch.cuda.is_available():
            item.add_marker(skip_gpu)


def shared_data_dir() -> Path:
    return Path(os.environ.get("SNNQ_DATA", ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip(f"the offline data sets are not at {path} (set SNNQ_DATA); CI always has them")
    return path
