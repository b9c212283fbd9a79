"""A small multi-process fit for tests/experiment/test_distributed.py (run as a script: Lightning's ``ddp``
strategy starts the other ranks by running this file again, each a fresh process).

    python tests/experiment/ddp_script.py OUT_DIR --devices 2 [--steps 3]

One LightningModule trains three networks on the same batches (one summed loss), so that one launch covers
every kind of state: ``demo`` (the demo recipe's MLP with S1's quantizers: dynamic fixed-point weights,
learned power-of-two activation steps, fixed-point biases and inputs), ``observers`` (LSQ weights, dynamic
fixed-point activations with a running maximum, sigmoid-sum weights with their temperature, a learned uniform
clip on weights), and ``snn`` (a convolutional SNN with PLIF neurons and LSQ weights, its BatchNorm taken out). Every
rank writes ``rank<r>_step<s>.pt`` (the state dict of every network after optimizer step ``s``) and
``rank<r>_inputs.pt`` (the sums of the local inputs it trained on, and a control observer's local and
synchronized maxima of each local batch) into OUT_DIR.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import lightning.pytorch as pl
import torch
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from snnq.experiment.pipeline import apply_quantization, build_model  # noqa: E402
from snnq.lit.distributed import QuantizerSync  # noqa: E402
from snnq.neurons.build import reset_state  # noqa: E402
from snnq.quant import DynamicFixedPointQuantizer  # noqa: E402
from snnq.quant.distributed import synchronized  # noqa: E402

GLOBAL_BATCH = 8
FEATURES = 64  # 8x8 inputs; the SNN sees them as T=2 steps of 2x4x4 frames
DEMO_QUANT = {
    "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
    "activation": {"name": "uniform", "levels": 4, "scale": 0.5, "learn_scale": True, "pow2_scale": True},
    "bias": {"name": "fixed_point", "bits": 16, "frac_bits": 4},
    "input": {"name": "fixed_point", "bits": 8, "signed": False, "frac_bits": 8},
}
DEMO_MODEL = {"name": "mlp", "options": {"in_features": FEATURES, "hidden": [32], "num_classes": 10}}
OBSERVER_QUANT = {
    "weight": {"name": "lsq", "bits": 4}, "per_channel": True,
    "activation": {"name": "dynamic_fixed_point", "bits": 8, "signed": False, "momentum": 0.5},
    "overrides": [
        {"layers": ["layers.5"], "config": {"weight": {"name": "sigmoid_sum", "bits": 2, "temperature": 5.0}}},
        {"layers": ["layers.3"], "config": {"weight": {"name": "uniform", "bits": 4, "signed": True, "learn_scale": True}}},
    ],
}
OBSERVER_MODEL = {"name": "mlp", "options": {"in_features": FEATURES, "hidden": [32, 16], "num_classes": 10}}
SNN_MODEL = {"name": "conv_snn", "options": {"in_channels": 2, "input_size": 4, "channels": [4], "hidden": 8, "num_classes": 10,
                                             "neuron": "plif", "neuron_options": {"beta": 0.5, "threshold": 0.5}}}
SNN_QUANT = {"weight": {"name": "lsq", "bits": 4}}


MAX_STEPS = 8


def data(steps: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``steps`` global batches of inputs in [0, 4) and labels: the same in every process and for any
    ``steps`` (at most `MAX_STEPS`)."""
    generator = torch.Generator().manual_seed(0)
    count = GLOBAL_BATCH * MAX_STEPS
    x, y = torch.rand(count, FEATURES, generator=generator) * 4, torch.randint(0, 10, (count,), generator=generator)
    return x[: GLOBAL_BATCH * steps], y[: GLOBAL_BATCH * steps]


class Trio(pl.LightningModule):
    """The three networks; their quantizers are calibrated on the first global batch (no gradient) before the fit,
    as the pipeline does."""

    def __init__(self, steps: int):
        super().__init__()
        self.steps = steps
        torch.manual_seed(0)
        self.demo = build_model(DEMO_MODEL)
        apply_quantization(self.demo, DEMO_QUANT)
        self.observers = build_model(OBSERVER_MODEL)
        apply_quantization(self.observers, OBSERVER_QUANT)
        self.snn = build_model(SNN_MODEL)
        self.snn.layers[2] = nn.Identity()  # its BatchNorm: SyncBatchNorm runs on GPUs only, and per-process batch
        # statistics would make the 1-process comparison meaningless (sync_batchnorm=true is the GPU answer)
        apply_quantization(self.snn, SNN_QUANT)
        self.loss = nn.CrossEntropyLoss()
        self.train()
        with torch.no_grad():
            self.outputs(data(1)[0])

    def outputs(self, x: torch.Tensor) -> list[torch.Tensor]:
        reset_state(self.snn)
        frames = x.reshape(x.shape[0], 2, 2, 4, 4).transpose(0, 1).contiguous()  # [T=2, B, 2, 4, 4]
        spikes = self.snn(frames)
        return [self.demo(x), self.observers(x), spikes.mean(0) if spikes.dim() == 3 else spikes]

    def training_step(self, batch: list[torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return sum(self.loss(out, y) for out in self.outputs(x))

    def train_dataloader(self) -> DataLoader:
        """The global batches in order: process r takes samples r, r + N, ... of each (Lightning's own sampler
        would shuffle, and the 1-process run could not see the same global batches)."""
        x, y = data(self.steps)
        dataset = TensorDataset(x, y)
        world, rank = self.trainer.world_size, self.trainer.global_rank
        sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=False) if world > 1 else None
        return DataLoader(dataset, batch_size=GLOBAL_BATCH // world, sampler=sampler, shuffle=False)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        # plain SGD: an update proportional to the gradient, so that runs compare within float tolerance (Adam's first
        # step is lr * sign(gradient), which turns rounding noise in a near-zero gradient into a full step)
        return torch.optim.SGD(self.parameters(), lr=0.05)


class DumpState(pl.Callback):
    """Writes each rank's state dict after every optimizer step and the sums of the inputs it trained on."""

    def __init__(self, out: Path):
        self.out = Path(out)
        self.inputs: list[float] = []
        self.observed: list[tuple[float, float]] = []

    def on_train_batch_start(self, trainer, module, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        self.inputs.append(float(batch[0].double().sum()))
        # a control: one observer outside the networks, calibrated on this process's batch alone (eval mode: no
        # reduction) and one in training mode inside `synchronized` (as QuantizerSync runs the networks' quantizers
        # in every step): the local and the global maximum
        local, shared = (DynamicFixedPointQuantizer(bits=8, signed=False, momentum=1.0) for _ in range(2))
        local.eval()(batch[0])
        with synchronized():
            shared(batch[0])
        self.observed.append((float(local.running_max), float(shared.running_max)))

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:  # type: ignore[no-untyped-def]
        state = {key: value.detach().clone() for key, value in module.state_dict().items()}
        torch.save(state, self.out / f"rank{trainer.global_rank}_step{trainer.global_step}.pt")

    def on_train_end(self, trainer, module) -> None:  # type: ignore[no-untyped-def]
        torch.save({"input_sums": self.inputs, "observed_max": self.observed}, self.out / f"rank{trainer.global_rank}_inputs.pt")


def fit(out: Path, *, devices: int, steps: int) -> QuantizerSync:
    """Trains `Trio` for ``steps`` global batches of `GLOBAL_BATCH` on ``devices`` CPU processes (gloo)."""
    from lightning.pytorch.strategies import DDPStrategy

    out.mkdir(parents=True, exist_ok=True)
    strategy = DDPStrategy(process_group_backend="gloo", timeout=datetime.timedelta(seconds=120)) if devices > 1 else "auto"
    sync = QuantizerSync()
    trainer = pl.Trainer(
        accelerator="cpu", devices=devices, strategy=strategy, max_epochs=1,
        logger=False, enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        callbacks=[sync, DumpState(out)], deterministic=True, use_distributed_sampler=False,
    )
    trainer.fit(Trio(steps))
    return sync


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("out", type=Path)
    parser.add_argument("--devices", type=int, default=2)
    parser.add_argument("--steps", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    result = fit(args.out, devices=args.devices, steps=args.steps)
    if result.identical is not True:
        sys.exit(f"replicas differ: {result.replica_digests}")
