"""Issue 4's figures: multi-step LIF forward+backward against the peers, and a VGG-style conv SNN training step.

    python -m bench neuron_speed

Elementwise case of BENCHMARKS.md: ``[T=8, B=128, N=65,536]``, beta 0.9 (SpikingJelly: tau 10, soft reset,
``decay_input=False``), threshold 1, reset by subtraction, arctan surrogate. On a CUDA device it also runs
bf16 and reports the achieved bandwidth; without one it runs the CPU timings and, for the GPU parts, only
their correctness checks, and says so.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

import snnq
from bench.harness import Timings, compare
from bench.record import RunRecord

T, BATCH, WIDTH = 8, 128, 65_536
GPU_TARGET, NO_SLOWER = {"at_most": 0.5}, {"at_most": 1.0}
"""Issue 4's targets: snnq's lif at least 2x faster than SpikingJelly's on a GPU; no slower than the peer elsewhere."""


class _ATanSpike(torch.autograd.Function):
    @staticmethod
    def forward(ctx, u: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(u)
        return (u >= 0).to(u.dtype)

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (u,) = ctx.saved_tensors
        return grad / (1 + (math.pi * u) ** 2)


def plain_loop(x: Tensor) -> Tensor:
    """What a user writes without a library."""
    u = torch.zeros_like(x[0])
    spikes = []
    for t in range(x.shape[0]):
        u = 0.9 * u + x[t]
        s = _ATanSpike.apply(u - 1.0)
        u = u - s.detach()
        spikes.append(s)
    return torch.stack(spikes)


def candidates(x: Tensor) -> dict[str, callable]:
    from snntorch import Leaky
    from spikingjelly.activation_based import neuron, surrogate

    jelly = neuron.LIFNode(tau=10.0, decay_input=False, v_reset=None, detach_reset=True, surrogate_function=surrogate.ATan(), step_mode="m").to(x.device)
    snntorch_leaky = Leaky(beta=0.9).to(x.device)
    ours_float = snnq.neuron("lif", beta=0.9).to(x.device)
    ours_quant = snnq.neuron("lif", beta=0.9, bits=8).to(x.device)

    def snntorch_loop(x: Tensor) -> Tensor:
        mem = torch.zeros_like(x[0])
        spikes = []
        for t in range(x.shape[0]):
            s, mem = snntorch_leaky(x[t], mem)
            spikes.append(s)
        return torch.stack(spikes)

    def run(module):
        def call(x: Tensor) -> Tensor:
            snnq.reset_state(module) if hasattr(module, "reset_state") else module.reset()
            return module(x)

        return call

    table = {
        "plain PyTorch loop": plain_loop,
        "snnTorch Leaky loop": snntorch_loop,
        "SpikingJelly 2.0 LIFNode (m)": run(jelly),
        "snnq lif, float": run(ours_float),
        "snnq lif, 8-bit membrane": run(ours_quant),
    }
    if x.is_cuda:
        table["plain loop, torch.compile"] = torch.compile(plain_loop)
        table["snnq lif, float, membrane stored"] = stored_membrane(ours_float)  # against the recomputing backward
    return table


def stored_membrane(neuron: nn.Module) -> callable:
    """``neuron`` through Triton kernels that store the float membrane for the backward pass."""
    from snnq.neurons.fused_lif import fused_leaky_sequence
    from snnq.neurons.triton_lif import TritonKernels

    kernels = TritonKernels(recompute_max_steps=0)

    def call(x: Tensor) -> Tensor:
        return fused_leaky_sequence(kernels, neuron, x, neuron.initial_state(x[0])["membrane"])[0]

    return call


def forward_backward(fn, x: Tensor) -> callable:
    leaf = x.detach().requires_grad_(True)

    def step() -> None:
        fn(leaf).sum().backward()
        leaf.grad = None

    return step


def elementwise(device: str, dtype: torch.dtype, repeats: int) -> tuple[Timings, dict[str, int]]:
    """The timings of every implementation, and the bytes snnq's kernels move per fwd+bwd (on a GPU)."""
    torch.manual_seed(0)
    x = (torch.randn(T, BATCH, WIDTH, device=device) * 0.8).to(dtype)
    impls = candidates(x)
    times = compare({name: forward_backward(fn, x) for name, fn in impls.items()}, repeats=repeats, warmup=2)
    # the gradient of `.sum()` is one value read in place; float: forward x in, spikes out, backward x in (the
    # membrane recomputed), gradient out; 8-bit: forward x in, spikes and the int16 raw membrane out, backward the
    # raw membrane in, gradient out
    moved = {"snnq lif, float": 4 * x.numel() * x.element_size(), "snnq lif, 8-bit membrane": x.numel() * (3 * x.element_size() + 4)}
    return times, moved if device == "cuda" else {}


def copy_timings(nbytes: int = 2**30) -> tuple[Timings, dict[str, int]]:
    """A device-to-device copy of ``nbytes`` (read + write): the practical bandwidth ceiling."""
    source = torch.empty(nbytes // 4, device="cuda")
    target = torch.empty_like(source)
    return compare({"copy": lambda: target.copy_(source)}, repeats=10, warmup=2), {"copy": 2 * nbytes}


def check_spikes_match_peers(device: str) -> list[list[object]]:
    """Correctness part (runs everywhere): snnq's float LIF and SpikingJelly's soft-reset LIF spike alike."""
    from spikingjelly.activation_based import neuron

    torch.manual_seed(1)
    x = torch.rand(T, 16, 1000, device=device) * 0.6
    jelly = neuron.LIFNode(tau=10.0, decay_input=False, v_reset=None, step_mode="m").to(device)
    ours = snnq.neuron("lif", beta=0.9).to(device)
    agree = float((jelly(x) == ours(x)).float().mean())
    same = torch.equal(plain_loop(x), snnq.neuron("lif", beta=0.9).to(device)(x))
    return [["fraction of spikes equal to SpikingJelly's LIFNode", agree], ["spikes equal to the plain loop's", same]]


class ConvSNN(nn.Module):
    """4 conv+BN+LIF blocks 3-64-128-256-256 with max-pooling, then a linear classifier (BENCHMARKS.md)."""

    def __init__(self, make_neuron):
        super().__init__()
        blocks, channels = [], [3, 64, 128, 256, 256]
        for i, (cin, cout) in enumerate(zip(channels, channels[1:])):
            blocks += [nn.Conv2d(cin, cout, 3, padding=1, bias=False), nn.BatchNorm2d(cout), make_neuron()]
            if i % 2 == 1:
                blocks.append(nn.MaxPool2d(2))
        self.blocks = nn.ModuleList(blocks)
        self.fc = nn.Linear(256 * 8 * 8, 10)

    def forward(self, x: Tensor) -> Tensor:  # x: [T, B, 3, 32, 32]
        steps, batch = x.shape[:2]
        for block in self.blocks:
            if isinstance(block, (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d)):
                x = block(x.flatten(0, 1)).unflatten(0, (steps, batch))
            else:
                x = block(x)
        return self.fc(x.flatten(2)).mean(0)


def conv_networks(device: str) -> dict[str, nn.Module]:
    from spikingjelly.activation_based import neuron

    jelly = ConvSNN(lambda: neuron.LIFNode(tau=10.0, decay_input=False, v_reset=None, detach_reset=True, step_mode="m"))
    ours = ConvSNN(lambda: snnq.neuron("lif", beta=0.9, bits=8))
    snnq.quantize_(ours, {"weight": {"name": "fixed_point", "bits": 4}, "per_channel": True})
    return {"SpikingJelly, float weights": jelly.to(device), "snnq, 4-bit weights + 8-bit membrane": ours.to(device)}


def conv_training_steps(device: str, batch: int) -> dict[str, callable]:
    from spikingjelly.activation_based import functional

    torch.manual_seed(0)
    x = torch.rand(T, batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    steps = {}
    for name, net in conv_networks(device).items():
        optimizer = torch.optim.SGD(net.parameters(), lr=0.01)

        def step(net=net, optimizer=optimizer) -> Tensor:
            functional.reset_net(net)
            snnq.reset_state(net)
            loss = nn.functional.cross_entropy(net(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            return loss.detach()  # not read here: reading it would wait for the device every step

        steps[name] = step
    return steps


def run() -> RunRecord:
    cuda = torch.cuda.is_available()
    record = RunRecord("neuron_speed")
    cpu_times, _ = elementwise("cpu", torch.float32, repeats=5)
    snnq_rows = ("snnq lif, float", "snnq lif, 8-bit membrane")
    record.timings("CPU, fp32", cpu_times, "plain PyTorch loop", targets=dict.fromkeys(snnq_rows, NO_SLOWER))
    record.records(f"spikes on {'cuda' if cuda else 'cpu'}", ["check", "value"], check_spikes_match_peers("cuda" if cuda else "cpu"))
    if cuda:
        for dtype in (torch.float32, torch.bfloat16):
            times, moved = elementwise("cuda", dtype, repeats=20)
            record.timings(f"{torch.cuda.get_device_name()}, {dtype}", times, "SpikingJelly 2.0 LIFNode (m)",
                           targets=dict.fromkeys(snnq_rows, GPU_TARGET), bytes_moved=moved)
        copy, moved = copy_timings()
        record.timings("device-to-device copy of 1 GiB (the bandwidth ceiling)", copy, "copy", bytes_moved=moved)
        conv = compare(conv_training_steps("cuda", 128), repeats=10)
        record.timings("VGG-style conv SNN training step, batch 128, fp32", conv, "SpikingJelly, float weights",
                       targets={"snnq, 4-bit weights + 8-bit membrane": NO_SLOWER})
    else:
        losses = [[name, float(step())] for name, step in conv_training_steps("cpu", 2).items()]
        record.records("VGG-style training step at batch 2 on the CPU (correctness only: no CUDA device, no GPU timing)", ["network", "loss"], losses)
    return record
