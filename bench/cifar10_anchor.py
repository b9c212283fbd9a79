"""Issue 8's epoch bound as a ratio measured in one session: BENCHMARKS.md's plain-script anchor, written out.

    python -m bench cifar10_anchor          # SNNQ_ANCHOR_EPOCHS epochs (default 3)

The anchor as ``../shared/design/BENCHMARKS.md`` describes it, in plain PyTorch (no Lightning, no snnq in the
training loop): VGG-11 with batch norm and average pooling, 4-bit per-channel weights (straight-through),
clip-floor activations with 8 levels and a learnable clip (QCFS-style), bf16 autocast, batch 256, SGD with
Nesterov momentum and a one-cycle schedule, CIFAR-10 decoded once and kept on the device, random crop and flip
on the device. It trains on the 45,000 images and validates on the 5,000 that ``snnq train`` uses (the same
split of the JPEG copy, decoded by snnq's data module), and an epoch is timed as `snnq.lit.EpochTimer` times one
(training and the validation that closes it; `typical_epoch` takes the median over epochs, the first one excluded
when there are several). ``bench/gpu_checks.sh epoch`` runs it beside 3 epochs of ``nimbekar2024/cifar10_vgg11_t8``: the ratio
of the two epoch times is what the issue bounds (1.5x). Without a CUDA device it trains on ``SNNQ_ANCHOR_LIMIT``
(default 1,024) images on the CPU, to show the script runs, and says that the timing part was skipped.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from bench.record import RunRecord
from snnq.data.cifar10 import CIFAR10DataModule

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SNNQ_DATA", ROOT.parent / "shared" / "data")) / "cifar10"
VGG11 = (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
LEVELS, WEIGHT_BITS, BATCH = 8, 4, 256


class QuantConv2d(nn.Conv2d):
    """4-bit per-output-channel weights, symmetric, straight-through."""

    def forward(self, x: Tensor) -> Tensor:
        return self._conv_forward(x, quantize_weight(self.weight), self.bias)


class QuantLinear(nn.Linear):
    def forward(self, x: Tensor) -> Tensor:
        return F.linear(x, quantize_weight(self.weight), self.bias)


def quantize_weight(w: Tensor) -> Tensor:
    high = 2 ** (WEIGHT_BITS - 1) - 1
    step = w.detach().abs().amax(dim=tuple(range(1, w.dim())), keepdim=True).clamp_min(1e-8) / high
    return w + ((w / step).round().clamp(-high - 1, high) * step - w).detach()


class ClipFloor(nn.Module):
    """QCFS: ``lambda / L * clamp(floor(x L / lambda + 1/2), 0, L)``, straight-through, learnable ``lambda``."""

    def __init__(self) -> None:
        super().__init__()
        self.clip = nn.Parameter(torch.tensor(4.0))

    def forward(self, x: Tensor) -> Tensor:
        scaled = x / self.clip * LEVELS
        rounded = scaled + (torch.floor(scaled + 0.5) - scaled).detach()
        return rounded.clamp(0, LEVELS) * self.clip / LEVELS


def vgg11() -> nn.Module:
    layers: list[nn.Module] = []
    channels = 3
    for item in VGG11:
        if item == "M":
            layers.append(nn.AvgPool2d(2))
        else:
            layers += [QuantConv2d(channels, item, 3, padding=1, bias=False), nn.BatchNorm2d(item), ClipFloor()]
            channels = item
    return nn.Sequential(*layers, nn.Flatten(), QuantLinear(512, 10))


def augment(images: Tensor) -> Tensor:
    """Random crop (zero padding 4) and horizontal flip of a uint8 batch on its device, then floats in [0, 1]."""
    batch = images.shape[0]
    padded = F.pad(images, (4, 4, 4, 4))
    offsets = torch.randint(0, 9, (2, batch, 1), device=images.device)
    rows = (offsets[0] + torch.arange(32, device=images.device)).view(batch, 1, 32, 1).expand(batch, 3, 32, 40)
    cropped = padded.gather(2, rows)
    cols = (offsets[1] + torch.arange(32, device=images.device)).view(batch, 1, 1, 32).expand(batch, 3, 32, 32)
    cropped = cropped.gather(3, cols)
    flip = torch.rand(batch, 1, 1, 1, device=images.device) < 0.5
    return torch.where(flip, cropped.flip(3), cropped).float() / 255


def train(device: torch.device, epochs: int, limit: int | None) -> tuple[list[float], float, int]:
    """Seconds of every epoch (training + validation), the last validation accuracy and the validation images."""
    data = CIFAR10DataModule(DATA, limit=limit, cache_dir=ROOT / ".cache" / "bench")
    data.setup("fit")
    train_x, train_y = data.train_set.images.to(device), data.train_set.labels.to(device)
    val_x, val_y = data.val_set.images.to(device), data.val_set.labels.to(device)
    mean = torch.tensor(data.mean, device=device).view(1, 3, 1, 1)
    std = torch.tensor(data.std, device=device).view(1, 3, 1, 1)
    torch.manual_seed(0)
    model = vgg11().to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=5e-4)
    steps = -(-len(train_x) // BATCH)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.05, total_steps=epochs * steps)
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda")
    seconds, accuracy = [], 0.0
    for _ in range(epochs):
        synchronize(device)
        start = time.perf_counter()
        model.train()
        order = torch.randperm(len(train_x), device=device)
        for first in range(0, len(train_x), BATCH):
            index = order[first : first + BATCH]
            x = (augment(train_x[index]) - mean) / std
            with autocast:
                loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), train_y[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        correct = torch.zeros((), device=device)
        with torch.no_grad(), autocast:
            for first in range(0, len(val_x), BATCH):
                x = (val_x[first : first + BATCH].float() / 255 - mean) / std
                correct += (model(x.contiguous(memory_format=torch.channels_last)).argmax(1) == val_y[first : first + BATCH]).sum()
        accuracy = float(correct) / len(val_x)  # reads the device: the epoch's end
        seconds.append(time.perf_counter() - start)
    return seconds, accuracy, len(val_x)


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def typical_epoch(seconds: list[float]) -> float:
    """The epoch time the issue compares: the median over epochs, the first one (warm-up) excluded when there are several."""
    return statistics.median(seconds[1:] if len(seconds) > 1 else seconds)


def run() -> RunRecord:
    cuda = torch.cuda.is_available()
    device = torch.device("cuda" if cuda else "cpu")
    epochs = int(os.environ.get("SNNQ_ANCHOR_EPOCHS", "3"))
    limit = None if cuda else int(os.environ.get("SNNQ_ANCHOR_LIMIT", "1024"))
    seconds, accuracy, validated = train(device, epochs, limit)
    record = RunRecord("cifar10_anchor", command=f"SNNQ_ANCHOR_EPOCHS={epochs} python -m bench cifar10_anchor")
    if not cuda:
        record.data["note"] = "No CUDA device: trained on a subset on the CPU to check the script; not a timing of the anchor."
    record.records("epoch seconds (training + validation)", ["epoch", "seconds"], [[i + 1, s] for i, s in enumerate(seconds)])
    record.records("validation", ["training images", "held-out images", "accuracy %"], [[limit or "all", validated, 100 * accuracy]])
    return record
