"""Issue 8's GPU training-speed question: what a quantization-aware VGG-11 step costs against the float one.

    python -m bench qat_step

The network, quantizers and batch of ``nimbekar2024/cifar10_vgg11_t8`` (VGG-11 with batch norm and average
pooling; 4-bit per-channel dynamic-fixed-point weights, 8-level QCFS activations with a learned clip; batch
256, SGD with momentum), one step = forward, backward and optimizer step, without Lightning and without data
loading. On a CUDA device it runs bf16 autocast (as the recipe's `trainer=gpu`) and also counts the kernels
launched per step; on the CPU a batch of 16 in fp32.
"""

from __future__ import annotations

from pathlib import Path

import torch
import yaml
from torch import nn

from bench.harness import compare
from bench.record import RunRecord
from snnq.experiment.pipeline import apply_quantization, build_model

CONF = Path(__file__).resolve().parents[1] / "conf"
LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernelEx")


def networks(device: str, x: torch.Tensor) -> dict[str, nn.Module]:
    spec = yaml.safe_load((CONF / "model" / "vgg11.yaml").read_text())
    quant = yaml.safe_load((CONF / "quant" / "s3_qcfs.yaml").read_text())
    built = {}
    for name in ("float VGG-11", "quantized VGG-11 (s3_qcfs)"):
        torch.manual_seed(0)
        model = build_model(spec).to(device)
        if name.startswith("quantized"):
            apply_quantization(model, quant)
            with torch.no_grad():
                model(x)  # the quantizers take their initial scales
        built[name] = model.train()
    return built


def training_steps(device: str, batch: int) -> dict[str, callable]:
    x = torch.randn(batch, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (batch,), device=device)
    steps = {}
    for name, model in networks(device, x).items():
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def step(model=model, optimizer=optimizer) -> None:
            with torch.autocast(device, dtype=torch.bfloat16, enabled=device == "cuda"):
                loss = nn.functional.cross_entropy(model(x), y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        steps[name] = step
    return steps


def kernels_per_step(step: callable) -> int:
    """Kernel launches the host makes in one step (what bounds a step whose kernels are small)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as trace:
        step()
        torch.cuda.synchronize()
    return sum(event.count for event in trace.key_averages() if event.key in LAUNCHES)


NOT_KERNELS = {
    "detach", "view", "_unsafe_view", "t", "empty", "empty_like", "alias", "expand", "reshape", "as_strided",
    "_record_function_enter_new", "_record_function_exit",
}


def operations_per_step(step: callable) -> int:
    """Operations one step dispatches that launch a kernel on a GPU (views and allocations left out): on the
    CPU, where the profiler sees no launches, the count that stands for them. snnq's fused kernels (C on the
    CPU) are calls of their own, outside the dispatcher, one per fake quantization and direction."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.count += func.overloadpacket.__name__ not in NOT_KERNELS
            return func(*args, **(kwargs or {}))

    with Count():
        step()
    return Count.count


def run() -> RunRecord:
    device = "cuda" if torch.cuda.is_available() else "cpu"
    batch = 256 if device == "cuda" else 16
    steps = training_steps(device, batch)
    times = compare(steps, repeats=30 if device == "cuda" else 5, warmup=5 if device == "cuda" else 1)
    record = RunRecord("qat_step")
    record.timings(f"QAT VGG-11 training step, batch {batch}, {'bf16 autocast' if device == 'cuda' else 'fp32'}, {device}", times, "float VGG-11")
    if device == "cuda":
        record.records("kernels launched per step", ["network", "kernels"], [[name, kernels_per_step(step)] for name, step in steps.items()])
    else:
        record.records("operations dispatched per step (views and allocations left out)", ["network", "operations"],
                       [[name, operations_per_step(step)] for name, step in steps.items()])
    return record
