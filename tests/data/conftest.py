"""Fixtures of the data-layer tests: the offline data sets, one shared cache, and no network."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a connection fails: data present on disk must never need the network."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a data-layer test tried to use the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session (extracted archives, decoded tensors, frames), so each is made once."""
    return tmp_path_factory.mktemp("snnq-cache")


@pytest.fixture(scope="session")
def mnist_dir(shared_data: Path) -> Path:
    return shared_data / "mnist"


@pytest.fixture(scope="session")
def cifar10_dir(shared_data: Path) -> Path:
    return shared_data / "cifar10"


@pytest.fixture(scope="session")
def nmnist_dir(shared_data: Path) -> Path:
    return shared_data / "nmnist"


@pytest.fixture(scope="session")
def mnist_test(mnist_dir: Path, cache_dir: Path):
    """The MNIST data module with its full test split read (10,000 images), shared by the tests."""
    from snnq.data import MNISTDataModule

    dm = MNISTDataModule(mnist_dir, cache_dir=cache_dir)
    dm.setup("test")
    return dm


@pytest.fixture(scope="session")
def cifar10_jpeg_test(cifar10_dir: Path, cache_dir: Path):
    """The CIFAR-10 data module over the JPEG copy with its test split read (extracted and decoded once)."""
    from snnq.data import CIFAR10DataModule

    dm = CIFAR10DataModule(cifar10_dir, cache_dir=cache_dir)
    dm.setup("test")
    return dm
