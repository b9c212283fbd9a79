"""Kernels outside PyTorch: C that snnq compiles on first use for the CPU's fused paths (`snnq.neurons.cpu_lif`,
`snnq.quant.cpu_fake_quant`), and where the Triton kernels can run (`triton_runs_on`).

A kernel source (plain C, beside the module that uses it) is compiled with the system's C compiler (``$CC``, else
``cc``) into snnq's cache folder (``$SNNQ_CACHE_DIR``, else ``$XDG_CACHE_HOME/snnq`` or ``~/.cache/snnq``) and loaded
with ctypes: one compile of a few seconds per source and machine, with no Python or torch headers. A library is
keyed by a hash of its source, the flags and the host, and written atomically, so concurrent first uses are safe.
Parallel loops use OpenMP, which binds to the ``libgomp`` torch has already loaded: the kernels share torch's
threads instead of competing with them.

Where no compiler is found, or ``SNNQ_CPU_KERNELS=0``, `load` returns the reason instead of a library and the
callers run their PyTorch paths, which compute the same values, only more slowly.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import tempfile
from pathlib import Path

import torch

# -ffp-contract=off: no fused multiply-add but the kernels' own fmaf; -fno-trapping-math: branch-free selects (the
# loops vectorise); neither changes a result. Then fall-backs for compilers without -march=native or OpenMP.
FLAGS = ("-O3", "-ffp-contract=off", "-fno-math-errno", "-fno-trapping-math", "-fPIC", "-shared")
FLAG_CHOICES = (("-march=native", "-fopenmp"), ("-fopenmp",), ())


def cache_dir() -> Path:
    if "SNNQ_CACHE_DIR" in os.environ:
        return Path(os.environ["SNNQ_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "snnq"


@functools.cache
def load(source: Path) -> ctypes.CDLL | str:
    """The compiled library of ``source``, or the reason there is none (a string)."""
    if os.environ.get("SNNQ_CPU_KERNELS") == "0":
        return "disabled by SNNQ_CPU_KERNELS=0"
    compiler = shutil.which(os.environ.get("CC", "cc"))
    if compiler is None:
        return f"no C compiler found (looked for {os.environ.get('CC', 'cc')!r}; set CC)"
    text = source.read_bytes()
    errors = []
    for extra in FLAG_CHOICES:
        flags = FLAGS + extra
        key = hashlib.sha256(text + " ".join((compiler, *flags, platform.machine(), platform.node())).encode()).hexdigest()[:16]
        target = cache_dir() / f"{source.stem}-{key}.so"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=target.parent) as scratch:
                built = Path(scratch) / target.name
                result = subprocess.run([compiler, *flags, str(source), "-o", str(built), "-lm"], capture_output=True, text=True)
                if result.returncode != 0:
                    errors.append(f"{compiler} {' '.join(flags)}: {result.stderr.strip()[-500:]}")
                    continue
                os.replace(built, target)  # atomic: a concurrent first use sees the whole library or none
        return ctypes.CDLL(str(target))
    return f"{source.name} did not compile: " + " | ".join(errors)


def pointer(t: torch.Tensor | None) -> ctypes.c_void_p:
    """A tensor's data as a C pointer (NULL for None)."""
    return ctypes.c_void_p(None if t is None else t.data_ptr())


def threads() -> ctypes.c_int:
    return ctypes.c_int(torch.get_num_threads())


@functools.cache
def _triton_installed() -> bool:
    return importlib.util.find_spec("triton") is not None  # ~0.1 ms a lookup: once per process, not per call


def triton_runs_on(x: torch.Tensor) -> bool:
    """True when the Triton kernels can take ``x``: a CUDA tensor, or any under ``TRITON_INTERPRET=1`` (tests)."""
    return (x.is_cuda or os.environ.get("TRITON_INTERPRET") == "1") and _triton_installed()
