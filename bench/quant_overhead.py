"""Issue 3's figures: the cost of weight + membrane fake quantization, and snnq's membrane quantizer against
snnTorch's ``state_quant``, on the 784-1000-10 LIF MLP (T=8, batch 128, fp32) of BENCHMARKS.md.

    python -m bench quant_overhead
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

import snnq
from bench.harness import compare
from bench.record import RunRecord

T, BATCH, SIZES = 8, 128, (784, 1000, 10)
WEIGHT = {"weight": {"name": "fixed_point", "bits": 4}}
OVERHEAD, SPEEDUP = {"at_most": 1.15}, {"at_least": 50}
"""Issue 3's targets: fake quantization at most 1.15x the float step; snnq's state_quant at least 50x faster."""


class _ATanSpike(torch.autograd.Function):
    """Heaviside forward, arctan surrogate backward (snnTorch's default surrogate, alpha = 2)."""

    @staticmethod
    def forward(ctx, u: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(u)
        return (u > 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad / (1 + (math.pi * u) ** 2)


class PlainLIFMLP(nn.Module):
    """Linear over all T at once, then a LIF loop (beta 0.9, threshold 1, reset by subtraction)."""

    def __init__(self, membrane: nn.Module | None = None):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(SIZES[0], SIZES[1]), nn.Linear(SIZES[1], SIZES[2])
        self.membrane = membrane

    def lif(self, current: Tensor) -> Tensor:
        mem = torch.zeros_like(current[0])
        spikes = []
        for t in range(current.shape[0]):
            mem = 0.9 * mem + current[t]
            if self.membrane is not None:
                mem = self.membrane(mem)
            spike = _ATanSpike.apply(mem - 1.0)
            mem = mem - spike.detach()
            spikes.append(spike)
        return torch.stack(spikes)

    def forward(self, x: Tensor) -> Tensor:
        hidden = self.lif(self.fc1(x))
        return self.fc2(hidden).sum(0)


class SnnqLIFMLP(nn.Module):
    """The same MLP with snnq's ``lif`` neurons (fused multi-step kernel): float, or an 8-bit integer membrane."""

    def __init__(self, bits: int | None = None):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(SIZES[0], SIZES[1]), nn.Linear(SIZES[1], SIZES[2])
        self.lif = snnq.neuron("lif", beta=0.9, bits=bits)

    def forward(self, x: Tensor) -> Tensor:
        snnq.reset_state(self)
        return self.fc2(self.lif(self.fc1(x))).sum(0)


class SnnTorchMLP(nn.Module):
    def __init__(self, state_quant: object = False):
        import snntorch

        super().__init__()
        self.fc1, self.fc2 = nn.Linear(SIZES[0], SIZES[1]), nn.Linear(SIZES[1], SIZES[2])
        self.lif1 = snntorch.Leaky(beta=0.9, init_hidden=True, state_quant=state_quant)
        self.lif2 = snntorch.Leaky(beta=0.9, init_hidden=True, output=True)

    def forward(self, x: Tensor) -> Tensor:
        from snntorch import utils

        utils.reset(self)
        total = 0
        with torch.nn.utils.parametrize.cached():
            for t in range(x.shape[0]):
                _, mem = self.lif2(self.fc2(self.lif1(self.fc1(x[t]))))
                total = total + mem
        return total


def training_step(model: nn.Module, x: Tensor, y: Tensor) -> callable:
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

    def step() -> None:
        loss = nn.functional.cross_entropy(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    return step


def run() -> RunRecord:
    from snntorch.functional import quant

    torch.manual_seed(0)
    x = (torch.rand(T, BATCH, SIZES[0]) < 0.2).float()
    y = torch.randint(0, 10, (BATCH,))

    def quantized(model: nn.Module) -> nn.Module:
        snnq.quantize_(model, WEIGHT)
        return model

    membrane = lambda: snnq.membrane_quantizer(8, threshold=1.0)  # noqa: E731
    plain = compare(
        {
            "plain PyTorch LIF MLP, float": training_step(PlainLIFMLP(), x, y),
            "+ 4-bit weights + 8-bit membrane (snnq)": training_step(quantized(PlainLIFMLP(membrane())), x, y),
        },
        repeats=21,
    )
    neurons = compare(
        {
            "snnq lif MLP, float": training_step(SnnqLIFMLP(), x, y),
            "+ 4-bit weights + 8-bit integer membrane": training_step(quantized(SnnqLIFMLP(bits=8)), x, y),
        },
        repeats=21,
    )
    snntorch_times = compare(
        {
            "snnTorch Leaky MLP, float": training_step(SnnTorchMLP(), x, y),
            "+ 4-bit weights + 8-bit state_quant=snnq": training_step(quantized(SnnTorchMLP(membrane())), x, y),
        },
        repeats=21,
    )
    levels = 2**8
    ours = snnq.quantizer("uniform", bits=8, signed=True, scale=2.0 / (levels - 1))
    theirs = quant.state_quant(num_bits=8, uniform=True, threshold=1.0, lower_limit=0, upper_limit=0)
    mem = torch.randn(BATCH, SIZES[1])
    op = compare({"snntorch state_quant(num_bits=8)": lambda: theirs(mem), "snnq uniform, 256 levels": lambda: ours(mem)}, repeats=9)
    whole = compare(
        {
            "snnTorch step, state_quant=snntorch (8 bit)": training_step(SnnTorchMLP(theirs), x, y),
            "snnTorch step, state_quant=snnq (8 bit)": training_step(SnnTorchMLP(membrane()), x, y),
        },
        repeats=3,
        warmup=1,
    )
    record = RunRecord("quant_overhead")
    for title, times in (
        ("snnq's own lif neuron (the product path)", neurons),
        ("plain PyTorch LIF loop with snnq's membrane quantizer module", plain),
        ("snnTorch Leaky loop", snntorch_times),
    ):
        float_row, quantized_row = times  # the float network, then the quantized one
        record.timings(title, times, float_row, targets={quantized_row: OVERHEAD})
    record.timings("membrane quantizer alone on [128, 1000]", op, "snnq uniform, 256 levels", targets={"snntorch state_quant(num_bits=8)": SPEEDUP})
    record.timings("whole snnTorch training step with each state_quant", whole, "snnTorch step, state_quant=snnq (8 bit)",
                   targets={"snnTorch step, state_quant=snntorch (8 bit)": SPEEDUP})
    return record
