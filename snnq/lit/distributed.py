"""Multi-process training (Lightning's data-parallel strategies) that keeps every quantizer and neuron exact.

`QuantizerSync` is the Lightning callback that snnq's pipeline adds to every fit. With one process it does
nothing. With several (``trainer.strategy=ddp``, ``ddp_spawn``, ``ddp_fork``; ``trainer.num_nodes``):

- at the start of the fit (after DDP has wrapped the model), it checks that every quantizer took its
  data-dependent state before DDP copied the model (a lazily shaped per-channel step created inside DDP would
  differ by rank and break DDP's gradient buckets), then broadcasts every parameter and buffer of every
  quantizer and neuron from rank 0, whatever DDP's ``broadcast_buffers`` says, and refreshes the quantizers'
  Python-side ``initialized`` flags from the broadcast buffers;
- around every training step it enters `snnq.quant.distributed.synchronized`: statistics quantizers take from
  activations in training mode (dynamic fixed-point ranges, running maxima, calibration means) are those of
  the global batch, reduced across processes;
- at the end of the fit it gathers a digest of every quantizer's and neuron's parameters and buffers from
  every rank (`replica_digests`); `identical` says whether they all match, and `check` raises when not. Under
  ``ddp_spawn`` and ``ddp_fork`` the fit runs in started processes and Lightning returns only rank 0's weights
  (quantizer state included: it is in the state dict) and metrics to the main process, which converts and
  verifies: `collect` takes the digests from there.

Quantized layers reach ``ddp_spawn``'s processes by pickling (`snnq.quant.pickling`).

What each quantizer keeps in step is listed in ``snnq/quant/README.md`` ("Multi-process training").
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from typing import Any

import lightning.pytorch as pl
import torch
from torch import nn

from snnq.errors import ConfigError
from snnq.quant.base import Quantizer
from snnq.quant.distributed import synchronized

SUPPORTED_STRATEGIES = {
    "auto": "one process per device Lightning picks (one device: no distribution)",
    "single_device": "one process",
    "ddp": "DistributedDataParallel, one process per device launched as the same command (CPU: gloo, GPUs: NCCL)",
    "ddp_spawn": "DistributedDataParallel in processes started with multiprocessing's spawn",
    "ddp_fork": "DistributedDataParallel in forked processes (CPU, or GPUs not yet initialised)",
    "ddp_find_unused_parameters_true": "ddp, for networks with parameters a step does not use",
    "ddp_spawn_find_unused_parameters_true": "ddp_spawn, for networks with parameters a step does not use",
}
"""Lightning strategies (by name) under which every process keeps a full replica of each quantizer and neuron,
which is what exact integer export needs. Sharding strategies (fsdp, deepspeed) split a quantizer's step and a
neuron's threshold across processes, and the rank-0 conversion would see a shard: they are refused."""


def check_strategy(strategy: Any) -> str:
    """Returns the strategy name when snnq supports it; raises `ConfigError` naming ``trainer.strategy`` else."""
    from snnq.errors import did_you_mean

    if not isinstance(strategy, str) or strategy not in SUPPORTED_STRATEGIES:
        raise ConfigError(
            f"trainer.strategy={strategy!r} is not supported{did_you_mean(str(strategy), SUPPORTED_STRATEGIES)}: snnq's quantizers and neurons "
            "need a full replica on every process (exact integer export); valid: " + ", ".join(SUPPORTED_STRATEGIES)
        )
    return strategy


DEVICE_COUNTERS = {
    "cpu": ("CPU cores", lambda: os.cpu_count() or 1),
    "gpu": ("CUDA devices", lambda: torch.cuda.device_count()),
    "cuda": ("CUDA devices", lambda: torch.cuda.device_count()),
}
"""``trainer.accelerator`` -> (what a device is, how many this machine has), for `check_trainer_options`."""


def check_trainer_options(options: dict[str, Any]) -> None:
    """Checks the multi-process options of ``trainer`` before anything is built or written: the strategy (see
    `SUPPORTED_STRATEGIES`), ``devices`` against what the machine has (an int; a list of device indices; -1 or
    "auto" for all), ``num_nodes`` >= 1, ``sync_batchnorm`` only on GPUs. Raises `ConfigError` naming the key."""
    check_strategy(options.get("strategy", "auto"))
    nodes = options.get("num_nodes", 1)
    if isinstance(nodes, bool) or not isinstance(nodes, int) or nodes < 1:
        raise ConfigError(f"trainer.num_nodes={nodes!r} is invalid; expected an integer >= 1")
    accelerator = str(options.get("accelerator", "auto"))
    if options.get("sync_batchnorm") and accelerator == "cpu":
        raise ConfigError("trainer.sync_batchnorm=true needs trainer.accelerator=gpu: PyTorch's SyncBatchNorm runs on CUDA devices only")
    devices = options.get("devices", "auto")
    if accelerator not in DEVICE_COUNTERS or devices in ("auto", -1, "-1"):
        return  # Lightning checks the rest (its errors reach the user as snnq's, see the pipeline)
    what, count = DEVICE_COUNTERS[accelerator]
    available = count()
    if isinstance(devices, (list, tuple)):
        wanted = len(devices)
    elif isinstance(devices, int) and not isinstance(devices, bool) and devices > 0:
        wanted = devices
    elif isinstance(devices, str) and devices.strip().isdigit() and int(devices) > 0:
        wanted = int(devices)
    else:
        raise ConfigError(f"trainer.devices={devices!r} is invalid; expected a number of devices >= 1, a list of indices, -1 or auto")
    if wanted > available:
        raise ConfigError(
            f"trainer.devices={devices!r} asks for {wanted} {what} with trainer.accelerator={accelerator}, but this machine has "
            f"{available}; use trainer.devices<={available} (or trainer.num_nodes for more machines)"
        )


def is_global_zero() -> bool:
    """Whether this process is global rank 0 (the only process of a one-process run): the one that converts,
    verifies, exports and writes results. Lightning sets the rank when its strategy starts the process group."""
    from lightning.fabric.utilities.rank_zero import rank_zero_only

    return getattr(rank_zero_only, "rank", 0) == 0


def batchnorm_classes(model: nn.Module) -> dict[str, type[nn.Module]]:
    """The class of every BatchNorm layer of ``model`` by name, for `restore_batchnorm`."""
    return {name: type(m) for name, m in model.named_modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)}


def restore_batchnorm(model: nn.Module, classes: dict[str, type[nn.Module]]) -> None:
    """Puts back the BatchNorm classes `batchnorm_classes` recorded, where ``trainer.sync_batchnorm=true`` left
    SyncBatchNorm (or Lightning's revert, ``_BatchNormXd``): the converters know ``BatchNorm1d``/``2d``. The
    trained statistics and affine parameters are kept."""
    for name, cls in classes.items():
        current = model.get_submodule(name)
        if type(current) is cls:
            continue
        replacement = cls(current.num_features, eps=current.eps, momentum=current.momentum, affine=current.affine,
                          track_running_stats=current.track_running_stats)
        replacement.load_state_dict(current.state_dict())
        replacement.train(current.training)
        replacement.to(next(iter(current.state_dict().values())).device if current.state_dict() else "cpu")
        parent_name, _, child = name.rpartition(".")
        setattr(model.get_submodule(parent_name) if parent_name else model, child, replacement)


def report_to_main_process(trainer: pl.Trainer, name: str, value: torch.Tensor) -> None:
    """Leaves ``value`` where ``ddp_spawn`` and ``ddp_fork`` carry it back to the main process: Lightning
    returns rank 0's weights and ``trainer.callback_metrics`` there, and nothing of the callbacks, whose copies
    in the started processes are lost; read it back with `from_rank_zero` after ``Trainer.fit``."""
    trainer.callback_metrics[f"snnq/{name}"] = value


def from_rank_zero(trainer: pl.Trainer, name: str) -> torch.Tensor | None:
    """What `report_to_main_process` left under ``name`` (taken out of ``trainer.callback_metrics``), or None."""
    return trainer.callback_metrics.pop(f"snnq/{name}", None)


def synchronized_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``(name, module)`` of every quantizer and snnq neuron in ``model``: the state `QuantizerSync` keeps equal."""
    from snnq.neurons.base import Neuron

    return [(name, module) for name, module in model.named_modules() if isinstance(module, (Quantizer, Neuron))]


def state_digest(model: nn.Module) -> str:
    """SHA-256 over the name, dtype, shape and bytes of every parameter and buffer of every quantizer and neuron."""
    digest = hashlib.sha256()
    for prefix, module in synchronized_modules(model):
        for name, tensor in [*module.named_parameters(recurse=False), *module.named_buffers(recurse=False)]:
            if tensor is None:
                continue
            data = tensor.detach().cpu().contiguous()
            digest.update(f"{prefix}.{name}:{data.dtype}:{tuple(data.shape)}".encode())
            digest.update(data.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


class QuantizerSync(pl.Callback):
    """Keeps quantizer and neuron state identical on every process of a multi-process fit (see the module)."""

    def __init__(self) -> None:
        self.replica_digests: list[str] = []
        self._steps = contextlib.ExitStack()

    @property
    def identical(self) -> bool | None:
        """Whether every rank ended the fit with the same quantizer and neuron state (None: not yet compared)."""
        return None if not self.replica_digests else len(set(self.replica_digests)) == 1

    def on_fit_start(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        if trainer.world_size < 2:
            return
        modules = synchronized_modules(module)
        late = [name for name, m in modules if isinstance(m, Quantizer) and not bool(m.initialized)]
        if late:
            raise ConfigError(
                f"quantizers {', '.join(late)} are not calibrated before a {trainer.world_size}-process fit: calibrate them "
                "(snnq.quant.calibrate_ or one batch through the model in train mode) before Trainer.fit"
            )
        dist = torch.distributed
        with torch.no_grad():
            for _, m in modules:
                for tensor in [*m.parameters(recurse=False), *m.buffers(recurse=False)]:
                    if tensor is not None and tensor.numel():
                        dist.broadcast(tensor.data, src=0)
                if isinstance(m, Quantizer):
                    m._initialized = bool(m.initialized)

    def on_train_batch_start(self, trainer: pl.Trainer, module: pl.LightningModule, batch: Any, batch_idx: int) -> None:
        if trainer.world_size > 1:
            self._steps.enter_context(synchronized())

    def on_train_batch_end(self, trainer: pl.Trainer, module: pl.LightningModule, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._steps.close()

    def on_exception(self, trainer: pl.Trainer, module: pl.LightningModule, exception: BaseException) -> None:
        self._steps.close()

    def on_fit_end(self, trainer: pl.Trainer, module: pl.LightningModule) -> None:
        self._steps.close()
        digest = state_digest(module)
        if trainer.world_size < 2:
            self.replica_digests = [digest]
            return
        gathered: list[Any] = [None] * trainer.world_size
        torch.distributed.all_gather_object(gathered, digest)
        self.replica_digests = [str(d) for d in gathered]
        digests = torch.tensor([list(bytes.fromhex(d)) for d in self.replica_digests], dtype=torch.uint8)
        report_to_main_process(trainer, "replica_digests", digests)

    def collect(self, trainer: pl.Trainer) -> None:
        """After ``Trainer.fit``: takes the digests rank 0 sent back when the fit ran in started processes
        (``ddp_spawn``, ``ddp_fork``: this process's callback saw none of it)."""
        sent = from_rank_zero(trainer, "replica_digests")
        if sent is not None and not self.replica_digests:
            self.replica_digests = [bytes(row.tolist()).hex() for row in sent]

    def check(self) -> None:
        """Raises `RuntimeError` when the ranks ended the fit with different quantizer or neuron state."""
        if self.identical is False:
            raise RuntimeError(f"quantizer/neuron state differs across ranks after training: digests {self.replica_digests}")
