"""Timing helpers: interleaved repetitions, medians, ratios, and the environment line every result carries."""

from __future__ import annotations

import platform
from importlib import metadata
import statistics
import time
from collections.abc import Callable, Mapping

import torch


def environment() -> str:
    """One line naming the machine and versions, for bench/RESULTS.md."""
    parts = [f"python {platform.python_version()}", f"torch {torch.__version__}", f"{torch.get_num_threads()} threads"]
    for name in ("snntorch", "spikingjelly", "triton"):
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else platform.processor() or platform.machine()
    return f"{device}; " + ", ".join(parts)


def _sync() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def compare(candidates: Mapping[str, Callable[[], object]], *, repeats: int = 15, warmup: int = 3) -> dict[str, float]:
    """Median milliseconds per call of each candidate, measured round-robin so that drift hits all alike."""
    for fn in candidates.values():
        for _ in range(warmup):
            fn()
    _sync()
    samples: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            start = time.perf_counter()
            fn()
            _sync()
            samples[name].append((time.perf_counter() - start) * 1e3)
    return {name: statistics.median(values) for name, values in samples.items()}


def report(title: str, times: Mapping[str, float], baseline: str) -> str:
    """A markdown table of times and ratios against ``baseline``."""
    lines = [f"### {title}", "", f"| implementation | ms | ratio to {baseline} |", "| --- | --- | --- |"]
    for name, ms in times.items():
        lines.append(f"| {name} | {ms:.2f} | {ms / times[baseline]:.3f} |")
    return "\n".join(lines)
