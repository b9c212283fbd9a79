"""Quantizer statistics reduced across the processes of a data-parallel run (PyTorch distributed).

PyTorch's `DistributedDataParallel` keeps *parameters* identical on every process (it broadcasts them from
rank 0 when it wraps the model and all-reduces their gradients), and by default it broadcasts rank 0's
*buffers* before each forward pass. What it cannot do is make a statistic that a quantizer computes from
the activations *of its own process's batch* the statistic of the global batch: a dynamic fixed-point
fractional length taken from ``max|x|`` would then be rank 0's alone, and a one-process run with the same
global batch would have chosen another one.

Inside `synchronized` (entered by `snnq.lit.QuantizerSync` around every training step of a multi-process
fit), `Quantizer.reduce` in training mode reduces its statistic across all processes before using it: the
maximum for ``amax``, the sum for ``sum``, the global sum over the global element count for ``mean``. The
result is the statistic of the whole global batch, identical on every rank, as in SyncBatchNorm.

Outside `synchronized`, or with one process, or in eval mode (rank 0 alone converts and verifies), nothing
is communicated: no collective can then be left waiting for a process that never calls it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

_depth = 0


@contextlib.contextmanager
def synchronized() -> Iterator[None]:
    """Within this block, training-mode quantizer statistics are reduced across the processes of the default
    process group (a no-op where none is initialised or it has one process). Every process must enter it
    around the same forward passes, as a training step under DDP does."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def active() -> bool:
    """Whether statistics are reduced now: inside `synchronized`, with an initialised process group of two or
    more processes."""
    return _depth > 0 and world_size() > 1


def world_size() -> int:
    """Processes in the default process group (1 where none is initialised)."""
    dist = torch.distributed
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def reduce_across_processes(x: Tensor, how: str, dims: list[int] | None) -> Tensor:
    """The ``amax``, ``sum`` or ``mean`` of ``x`` over ``dims`` (None: every element) *of the global batch*: this
    process's share ``x`` reduced locally, then across processes (sums and means in float64, as
    `Quantizer.reduce` takes them; a mean is the global sum over the global element count). Taken without
    gradient: quantizer statistics are."""
    dist = torch.distributed
    x = x.detach()
    local_op = torch.amax if how == "amax" else torch.sum
    if how not in ("amax", "sum", "mean"):
        raise ValueError(f"reduce_across_processes: how={how!r}; valid: amax, sum, mean")
    if dims is None:
        value = local_op(x)
    elif dims:
        value = local_op(x, dim=dims)
    else:  # one element per channel: nothing to reduce on this process
        value = x.clone()
    if how == "amax":
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return value
    value = value.double()
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    if how == "sum":
        return value
    count = torch.tensor(float(x.numel() // max(1, value.numel())), dtype=torch.float64, device=value.device)
    dist.all_reduce(count, op=dist.ReduceOp.SUM)
    return value / count
