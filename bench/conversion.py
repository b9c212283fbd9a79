"""Issue 5's figures on the full MNIST test set: exactness of the lossless converters, the speed of bit-exact
SNN inference against the quantized ANN's own inference, and QCFS's accuracy against T.

    python -m bench conversion

Trains each LeNet-5 briefly (``EPOCHS`` passes over the 60,000 training images) on the CPU. Writes its run file
(`bench.record`) and the QCFS curve ``bench/results/qcfs_mnist.json`` and ``.png``.
"""

from __future__ import annotations

import gzip
import os
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import snnq
from bench.harness import compare
from bench.record import RunRecord
from snnq.conversion import accuracy_against_steps, save_accuracy_against_steps
from snnq.models import LeNet5

DATA = Path(os.environ.get("SNNQ_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "mnist"
RESULTS = Path(__file__).resolve().parent / "results"
EPOCHS = 2
WITHIN_2X = {"at_most": 2.0}
"""Issues 5 and 14: bit-exact SNN inference of the T = 4 LeNet in the step simulation within 2x of the quantized ANN's time."""
EXACTNESS_COLUMNS = ["network", "converter", "simulation", "ANN acc. %", "SNN acc. %", "mismatching logits", "mismatching classes",
                     "max spikes/step", "synaptic values", "spikes/img", "SOPs/img", "seconds"]

CONFIGS = {
    "4-bit weights, 4-bit activations": {
        "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
        "activation": {"name": "fixed_point", "bits": 4, "signed": False, "frac_bits": 2},
    },
    "4-bit weights, activations 0..4 (T = 4)": {
        "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
        "activation": {"name": "uniform", "levels": 4, "scale": 0.5},
    },
    "CAT: 5-bit log weights, 8-level log activations": {
        "weight": {"name": "log2", "bits": 4, "pow2_scale": True},
        "activation": {"name": "log2", "levels": 8, "signed": False, "scale": 4.0, "learn_scale": True, "pow2_scale": True, "rounding": "log_nearest"},
    },
    "QCFS: 8 levels, learned clip": {"activation": {"name": "uniform", "levels": 8, "scale": 0.5, "learn_scale": True}},
}


def read(split: str) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = {"train": "train", "test": "t10k"}[split]
    images = np.frombuffer(gzip.open(DATA / f"{prefix}-images-idx3-ubyte.gz").read(), np.uint8, offset=16)
    labels = np.frombuffer(gzip.open(DATA / f"{prefix}-labels-idx1-ubyte.gz").read(), np.uint8, offset=8)
    return torch.tensor(images.reshape(-1, 1, 28, 28), dtype=torch.float32) / 255, torch.tensor(labels, dtype=torch.long)


def trained(config: dict, train: tuple[torch.Tensor, torch.Tensor], pool: str) -> nn.Module:
    torch.manual_seed(0)
    model = LeNet5(pool=pool)
    snnq.quantize_(model, config)
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, 4e-3, total_steps=EPOCHS * ((len(train[0]) + 127) // 128))
    for _ in range(EPOCHS):
        for batch in torch.randperm(len(train[0])).split(128):
            loss = nn.functional.cross_entropy(model(train[0][batch]), train[1][batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


def run() -> RunRecord:
    train, test = read("train"), read("test")
    loader = [(test[0][i : i + 1000], test[1][i : i + 1000]) for i in range(0, 10_000, 1000)]
    record = RunRecord("conversion")
    rows, timings = [], []
    for name, config in CONFIGS.items():
        start = time.perf_counter()
        model = trained(config, train, pool="max" if "CAT" in name else "avg")
        trained_in = time.perf_counter() - start
        if name.startswith("QCFS"):
            curve = accuracy_against_steps(model, loader, steps=(1, 2, 4, 8, 16, 32))
            RESULTS.mkdir(exist_ok=True)
            save_accuracy_against_steps(curve, RESULTS / "qcfs_mnist.json", RESULTS / "qcfs_mnist.png", title="QCFS LeNet-5, MNIST test set")
            points = [["ANN", 100 * curve["ann_accuracy"], trained_in]] + [[p["steps"], 100 * p["accuracy"], None] for p in curve["points"]]
            record.records("QCFS accuracy against T", ["T", "accuracy %", "training seconds"], points)
            continue
        methods = [("ttfs", {})] if "CAT" in name else [("rate", {}), ("scatter_gather", {"spike_budget": 15 if "4-bit act" in name else 4})]
        for method, options in methods:
            snn = snnq.convert(model, method=method, **options)
            for mode in ("window", "step"):
                start = time.perf_counter()
                result = snnq.verify(model, snn, loader, mode=mode, progress=False)
                seconds = time.perf_counter() - start
                values = sorted({v for vs in result.synaptic_values.values() for v in vs})
                shown = f"{{{values[0]}..{values[-1]}}}" if len(values) > 3 else "{" + ", ".join(map(str, values)) + "}"
                rows.append([
                    name, method, mode, 100 * result.ann_accuracy, 100 * result.snn_accuracy, result.logit_mismatches,
                    result.class_mismatches, result.max_spikes_per_step, shown, float(result.spikes_per_inference),
                    float(result.synaptic_operations_per_inference), seconds,
                ])
            if "T = 4" in name:
                chunks = [images for images, _ in loader]  # the same 1,000-image batches for both networks
                row = f"SNN ({method}, step: every neuron simulated, integer synapses)"
                with torch.no_grad():
                    times = compare({"quantized ANN": lambda: [model(c) for c in chunks], row: lambda: [snn(c, mode="step") for c in chunks]}, repeats=5, warmup=1)
                timings.append((f"inference over the 10,000 test images in batches of 1,000, {method}, CPU", times, row))
    record.records("exactness on the 10,000 test images", EXACTNESS_COLUMNS, rows)
    for title, times, snn_row in timings:
        record.timings(title, times, "quantized ANN", targets={snn_row: WITHIN_2X})
    return record
