"""The spike activity of a trained, converted S1 VGG on CIFAR-10: the input of the zou2021_chip preset's VGG check.

    python -m bench vgg_activity            # SNNQ_VGG_EPOCHS (default 3) epochs, then conversion and counting

Trains the ``vgg_s1`` layout (`snnq.models.vgg`; S1's VGG as assumed in `snnq.hardware.networks`) with S1's
quantization as the LeNet-5 measurement of the preset uses it (4-bit per-channel weights, activations with a
four-spike budget, a 4-level input), on the CIFAR-10 JPEG copy of ``../shared/data`` (Adam, cosine schedule,
random crop and flip); converts it with ``scatter_gather`` (spike budget 4), checks that the SNN's logits equal
the quantized ANN's, and counts every layer's spikes and synaptic operations on ``CALIBRATION`` test images
through the integer IR (`snnq.hardware.calibrate`). Trains on a CUDA device where there is one (``SNNQ_VGG_EPOCHS=30``
takes minutes there); the conversion and the counting run on the CPU. Records the quantized accuracy, the counts per layer under
the names of `snnq.hardware.networks.vgg` (what ``measured:`` in ``conf/hardware/zou2021_chip.yaml`` takes: the run
file's ``preset_options``) and what the preset then models. The trained weights are kept in ``.cache/bench/`` so a re-run only counts.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

import snnq
from bench.record import RunRecord
from snnq.conversion import IntegerReference, input_codes, to_ir
from snnq.data.cifar10 import CIFAR10DataModule
from snnq.hardware import calibrate, load_preset
from snnq.hardware.figures import FIGURES
from snnq.hardware.networks import vgg as vgg_ir
from snnq.models.vgg import VGG

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("SNNQ_DATA", ROOT.parent / "shared" / "data")) / "cifar10"
CACHE = ROOT / ".cache" / "bench"
EPOCHS = int(os.environ.get("SNNQ_VGG_EPOCHS", "3"))
CALIBRATION = 500
S1 = {
    "weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
    "activation": {"name": "uniform", "levels": 4, "scale": 0.5, "learn_scale": True, "pow2_scale": True},
    "bias": {"name": "fixed_point", "bits": 16, "frac_bits": 4},
    "input": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 2},  # codes 0..4: a 4-level input
}
IR_OPTIONS = {"coding": "scatter_gather", "schedule": "layerwise", "time_steps": 1, "synapse": "signed",
              "weight_bits": 4, "levels": 4, "input_levels": 4}


def quantized_vgg() -> nn.Module:
    torch.manual_seed(0)
    model = VGG("vgg_s1", batch_norm=False, pool="max")
    snnq.quantize_(model, S1)
    return model


def train(model: nn.Module, data: CIFAR10DataModule, device: torch.device) -> nn.Module:
    if EPOCHS == 0:  # SNNQ_VGG_EPOCHS=0: the untrained network (a quick run of the pipeline)
        return model.eval()
    model.to(device)
    loader = data.train_dataloader()
    # Adam: SGD at lr 0.05 (the recipe's) collapsed to chance in the second epoch here (no BatchNorm in an integer net)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, EPOCHS * len(loader))
    model.train()
    for epoch in range(EPOCHS):
        for batch in (bar := tqdm(loader, desc=f"epoch {epoch + 1}/{EPOCHS}", leave=False)):
            images, labels = data.prepare_batch([t.to(device, non_blocking=True) for t in batch], train=True)
            loss = nn.functional.cross_entropy(model(images), labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            schedule.step()
            bar.set_postfix(loss=f"{loss.item():.3f}")
    return model.cpu().eval()


def run() -> RunRecord:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    data = CIFAR10DataModule(DATA, batch_size=128, normalize=False, cache_dir=CACHE)
    data.setup("fit")
    data.setup("test")
    model = quantized_vgg()
    weights = CACHE / f"vgg_s1_cifar10_{EPOCHS}ep.pt"
    started = time.perf_counter()
    if weights.exists():
        model.load_state_dict(torch.load(weights, weights_only=True))
        model.eval()
    else:
        train(model, data, device)
        CACHE.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), weights.with_suffix(".tmp"))
        os.replace(weights.with_suffix(".tmp"), weights)
    trained = time.perf_counter() - started
    images, labels = data.prepare_batch((data.test_set.images, data.test_set.labels), train=False)
    with torch.no_grad():
        accuracy = sum((model(x).argmax(1) == y).sum().item() for x, y in zip(images.split(500), labels.split(500))) / len(labels)
    snn = snnq.convert(model, method="scatter_gather", spike_budget=4)
    sample = images[:CALIBRATION]
    with torch.no_grad():
        mismatches = int((snn(sample) != IntegerReference(model)(sample)).any(dim=1).sum())  # step simulation vs integer reference
    network = calibrate(to_ir(snn, input_shape=(3, 32, 32)), input_codes(snn, sample))
    shape_only = vgg_ir("vgg_s1", classifier=(), **IR_OPTIONS)
    if [type(a).__name__ for a in network] != [type(b).__name__ for b in shape_only]:
        raise RuntimeError(f"the converted network's layers {[a.name for a in network]} do not line up with {[b.name for b in shape_only]}")
    measured = {b.name: a.activity for a, b in zip(network, shape_only)}
    options = dict(IR_OPTIONS, input_spikes=round(float(network.input_activity.spikes), 1),
                   measured={name: {"spikes": round(float(a.spikes), 1), "synops": round(float(a.synops), 1)} for name, a in measured.items()})
    preset = load_preset("zou2021_chip")
    report = preset.backend_instance(preset.hardware).evaluate(vgg_ir("vgg_s1", classifier=(), **options))
    record = RunRecord("vgg_activity", command=f"SNNQ_VGG_EPOCHS={EPOCHS} python -m bench vgg_activity")
    record.data["preset_options"] = options  # what `measured:` in conf/hardware/zou2021_chip.yaml takes
    record.records("the trained, converted network", ["quantity", "value"], [
        ["training minutes (0: cached weights)", trained / 60], ["quantized ANN accuracy on the 10,000 test images, %", 100 * accuracy],
        [f"mismatching SNN logits on {CALIBRATION} images", mismatches], ["input events per image", float(network.input_activity.spikes)],
    ])
    record.records(f"activity per image ({CALIBRATION} test images)", ["layer", "spikes per image", "synaptic operations per image"],
                   [[name, float(a.spikes), float(a.synops)] for name, a in measured.items()])
    checks = [check for check in preset.checks if check.id in ("vgg_latency", "vgg_energy")]
    record.records("zou2021_chip with these counts, per image", ["check", "modelled", "published", "unit"],
                   [[c.id, FIGURES[c.figure].value(report, None), c.published, FIGURES[c.figure].unit] for c in checks])
    return record
