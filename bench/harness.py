"""Timing helpers: interleaved repetitions, medians, paired ratios, and the environment line every run carries."""

from __future__ import annotations

import os
import platform
from importlib import metadata
import statistics
import time
from collections.abc import Callable, Mapping

import torch


def device_name() -> str:
    """The device the timings ran on: the CUDA device's name, or the CPU's with its core count."""
    if torch.cuda.is_available():
        return torch.cuda.get_device_name()
    return f"CPU ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def environment() -> str:
    """One line naming the machine and versions, stored with every run (`bench.record.RunRecord`)."""
    parts = [f"python {platform.python_version()}", f"torch {torch.__version__}", f"{torch.get_num_threads()} threads"]
    for name in ("snntorch", "spikingjelly", "triton"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    return f"{device_name()}; " + ", ".join(parts)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


class Timings(dict):
    """Median milliseconds per call of each candidate, and every round's sample (`samples`)."""

    def __init__(self, samples: Mapping[str, list[float]]):
        super().__init__({name: statistics.median(values) for name, values in samples.items()})
        self.samples = dict(samples)


def compare(candidates: Mapping[str, Callable[[], object]], *, repeats: int = 15, warmup: int = 3, block_ms: float = 20.0) -> Timings:
    """Milliseconds per call of each candidate, measured round-robin so that drift hits all alike.

    A sample times a block of back-to-back calls with the device synchronised only at its two ends (as
    ``torch.utils.benchmark`` does), enough calls to last about ``block_ms``: on a GPU the host queues the next
    call's kernels while the device runs the current ones, as in training, and short calls are not lost in the
    timer's resolution. Calls longer than ``block_ms`` are timed one by one.
    """
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    calls = {name: max(1, int(block_ms / _time_block(fn, 1))) for name, fn in candidates.items()}
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            samples[name].append(_time_block(fn, calls[name]))
    return Timings(samples)


def _time_block(fn: Callable[[], object], calls: int) -> float:
    """Milliseconds per call over ``calls`` back-to-back calls."""
    _sync()
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    _sync()
    return (time.perf_counter() - start) * 1e3 / calls
