"""Briefly trained quantized LeNet-5s on the real MNIST (../shared/data/mnist), shared by the conversion tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import snnq
from snnq.models import LeNet5

RATE_CONFIG = {  # 4-bit weights (per channel) and 4-bit activations on power-of-two grids
    "weight": {"name": "dynamic_fixed_point", "bits": 4},
    "per_channel": True,
    "activation": {"name": "fixed_point", "bits": 4, "signed": False, "frac_bits": 2},
}
CAT_CONFIG = {  # S2: 5-bit logarithmic weights, conversion-aware log2 activations with 8 levels and a learned x_max
    "weight": {"name": "log2", "bits": 4, "pow2_scale": True},
    "activation": {"name": "log2", "levels": 8, "signed": False, "scale": 4.0, "learn_scale": True, "pow2_scale": True, "rounding": "log_nearest"},
}
QCFS_CONFIG = {"activation": {"name": "uniform", "levels": 8, "scale": 0.5, "learn_scale": True}}
INTEGER_IO = {  # integer hardware: integer input codes and biases on the accumulators' grids
    "bias": {"name": "fixed_point", "bits": 16, "frac_bits": 4},
    "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8},
}


def read_mnist(folder: Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = {"train": "train", "test": "t10k"}[split]
    images = np.frombuffer(gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    return torch.tensor(images.reshape(-1, 1, 28, 28), dtype=torch.float32) / 255, torch.tensor(labels, dtype=torch.long)


@pytest.fixture(scope="session")
def mnist(shared_data) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    return {split: read_mnist(shared_data / "mnist", split) for split in ("train", "test")}


def train(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, *, samples: int, seed: int = 0) -> nn.Module:
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    model.train()
    for batch in torch.randperm(len(images), generator=generator)[:samples].split(128):
        loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def quantized_lenet(config: dict, mnist, *, samples: int, pool: str = "avg") -> nn.Module:
    torch.manual_seed(0)
    model = LeNet5(pool=pool)
    snnq.quantize_(model, config)
    return train(model, *mnist["train"], samples=samples)


@pytest.fixture(scope="session")
def rate_lenet(mnist) -> nn.Module:
    """LeNet-5 with 4-bit weights and activations, trained on 15,000 images (about 97 % on the test set)."""
    return quantized_lenet(RATE_CONFIG, mnist, samples=15_000, pool="max")


@pytest.fixture(scope="session")
def cat_lenet(mnist) -> nn.Module:
    return quantized_lenet(CAT_CONFIG, mnist, samples=15_000, pool="max")


@pytest.fixture(scope="session")
def qcfs_lenet(mnist) -> nn.Module:
    return quantized_lenet(QCFS_CONFIG, mnist, samples=15_000)


@pytest.fixture(scope="session")
def integer_lenets(mnist) -> dict[str, nn.Module]:
    """LeNet-5s with integer inputs and biases too (what the integer IR needs), briefly trained."""
    return {
        "rate": quantized_lenet({**RATE_CONFIG, **INTEGER_IO}, mnist, samples=6_000, pool="max"),
        "ttfs": quantized_lenet({**CAT_CONFIG, **INTEGER_IO}, mnist, samples=6_000, pool="max"),
    }


def batches(images: torch.Tensor, labels: torch.Tensor, *, count: int, size: int = 500) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(images[i : i + size], labels[i : i + size]) for i in range(0, min(count, len(images)), size)]
