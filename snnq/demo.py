"""The demo: a small snnTorch SNN with 4-bit fixed-point weights and an 8-bit membrane, on scikit-learn's digits.

Runs offline anywhere (the digits ship with scikit-learn: 1,797 real 8x8 handwritten digits) in seconds on a
CPU, and shows the plug-in at work: an ordinary snnTorch network, quantized by `snnq.quantize_` and snnq's
membrane quantizer passed as snnTorch's ``state_quant=``, trained, then exported as integers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize
from tqdm.auto import tqdm

import snnq
from snnq.quant import membrane_quantizer


@dataclass(frozen=True)
class DemoResult:
    float_accuracy: float
    quantized_accuracy: float
    weight_bits: int
    membrane_bits: int
    test_samples: int
    seconds: float


def load_digits_split(seed: int = 0, test_fraction: float = 0.2) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """scikit-learn's digits as float pixels in [0, 1], split into stratified train and test sets."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    images, labels = load_digits(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        images / 16.0, labels, test_size=test_fraction, random_state=seed, stratify=labels
    )
    as_float, as_long = (lambda a: torch.tensor(a, dtype=torch.float32)), (lambda a: torch.tensor(a, dtype=torch.long))
    return as_float(x_train), as_long(y_train), as_float(x_test), as_long(y_test)


class DigitsSNN(nn.Module):
    """64-128-10 leaky integrate-and-fire network; the pixels drive the first layer as a constant current."""

    def __init__(self, *, steps: int, membrane_bits: int | None):
        import snntorch

        super().__init__()
        self.steps = steps

        def state_quant() -> nn.Module | bool:
            return membrane_quantizer(membrane_bits, threshold=1.0) if membrane_bits else False

        self.fc1 = nn.Linear(64, 128)
        self.lif1 = snntorch.Leaky(beta=0.875, init_hidden=True, state_quant=state_quant())
        self.fc2 = nn.Linear(128, 10)
        self.lif2 = snntorch.Leaky(beta=0.875, init_hidden=True, output=True, state_quant=state_quant())

    def forward(self, x: Tensor) -> Tensor:
        """Sum over time of the output membrane (the logits), ``[B, 10]``."""
        from snntorch import utils

        utils.reset(self)  # fresh state for every batch
        current = self.fc1(x)  # constant input current: compute once
        logits = torch.zeros(x.shape[0], 10)
        with parametrize.cached():  # quantize fc2's weight once, not at every time step
            for _ in range(self.steps):
                _, mem = self.lif2(self.fc2(self.lif1(current)))
                logits = logits + mem
        return logits


def _train(model: nn.Module, data: tuple[Tensor, Tensor, Tensor, Tensor], *, epochs: int, seed: int, label: str, progress: bool) -> float:
    x_train, y_train, x_test, y_test = data
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs)
    for _ in tqdm(range(epochs), desc=label, unit="epoch", disable=not progress, leave=False):
        model.train()
        for batch in torch.randperm(len(x_train), generator=generator).split(64):
            loss = nn.functional.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        schedule.step()
    model.eval()
    with torch.no_grad():
        return float((model(x_test).argmax(1) == y_test).float().mean())


def run_demo(*, epochs: int = 30, steps: int = 8, weight_bits: int = 4, membrane_bits: int = 8, seed: int = 0, progress: bool = True) -> DemoResult:
    """Trains the float network and its quantized twin from the same initial weights; returns both accuracies."""
    start = time.perf_counter()
    data = load_digits_split(seed)
    torch.manual_seed(seed)
    float_net = DigitsSNN(steps=steps, membrane_bits=None)
    quantized_net = DigitsSNN(steps=steps, membrane_bits=membrane_bits)
    quantized_net.load_state_dict(float_net.state_dict(), strict=False)
    snnq.quantize_(quantized_net, {"weight": {"name": "fixed_point", "bits": weight_bits}})
    float_accuracy = _train(float_net, data, epochs=epochs, seed=seed, label="float SNN", progress=progress)
    quantized_accuracy = _train(quantized_net, data, epochs=epochs, seed=seed, label=f"{weight_bits}-bit SNN", progress=progress)
    for name, form in snnq.integer_weights(quantized_net).items():
        codes = form.codes
        print(f"  {name}: {tuple(codes.shape)} int codes in [{int(codes.min())}, {int(codes.max())}], step 2^-{form.frac_bits}")
    return DemoResult(float_accuracy, quantized_accuracy, weight_bits, membrane_bits, len(data[2]), time.perf_counter() - start)
