"""The spike activity of S1's own networks as their recipes train and convert them: the input of ``zou2021_chip``.

    python -m bench s1_activity      # SNNQ_S1_NETWORKS=lenet,vgg (default both), SNNQ_S1_VGG_EPOCHS (default 4)
    SNNQ_S1_NETWORKS=vgg SNNQ_S1_OVERRIDES="trainer=gpu data.data_dir=..." python -m bench s1_activity   # on a GPU
    SNNQ_S1_RUNS_DIR=runs/s1 python -m bench s1_activity     # keeps the recipe runs (default: a temporary folder)

For each network the recipe runs exactly as a user runs it, ``python -m snnq train recipe=zou2021/<setting>`` in
a subprocess writing into a temporary folder: training, lossless conversion, verification in step mode, and the
integer IR with its activity counted on ``ir_samples`` test images (`snnq.hardware.calibrate`). The benchmark
reads that run's ``network.ir.npz`` and ``results.json``, checks that the IR's layers line up with the shape-only
network of the preset (`snnq.hardware.networks.s1_network`), and records

- the run: recipe, epochs, accuracy, mismatching outputs and accumulators, wall time;
- ``preset_options[<network>]``: the per-layer spikes and synaptic operations per image and the chip's input
  events, what ``measured:`` and ``input_spikes:`` of ``conf/hardware/zou2021_chip.yaml`` take;
- what the preset models with them, beside the published figures.

The LeNet recipe is S1's full run (12 epochs, ~5 minutes on 2 cores, activity on 1,000 test images); the VGG
trains ``SNNQ_S1_VGG_EPOCHS`` epochs of the authors' 400 (a GPU's work; the activity of a briefly trained network
is what a CPU can measure) and counts 500 test images. The subprocess runs with ``OMP_NUM_THREADS`` =
`THREADS` unless it is set: the stored figures were measured with two threads, and another count changes the order
of floating-point reductions, hence the trained weights and every count.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.record import RunRecord
from snnq.hardware import load_preset
from snnq.hardware.figures import FIGURES
from snnq.hardware.ir_io import IR_FILENAME, load_ir
from snnq.hardware.networks import paper_network

ROOT = Path(__file__).resolve().parents[1]
THREADS = 2
"""Threads of the training subprocess (see the module docstring)."""
VGG_EPOCHS = int(os.environ.get("SNNQ_S1_VGG_EPOCHS", "4"))
NETWORKS: dict[str, dict[str, Any]] = {
    "lenet": {"recipe": "zou2021/mnist_lenet", "network": "s1_lenet_mnist", "checks": ("lenet_latency", "lenet_energy"),
              "overrides": []},
    "vgg": {"recipe": "zou2021/cifar10_vgg", "network": "s1_vgg_cifar10", "checks": ("vgg_latency", "vgg_energy"),
            "overrides": ["ir_samples=500"]},
}
"""Per network: its recipe, the preset's shape-only network and checks, and the overrides of the run."""


def overrides(network: str) -> list[str]:
    """The recipe overrides of ``network``'s run: the VGG's epochs (``SNNQ_S1_VGG_EPOCHS``), then any given in
    ``SNNQ_S1_OVERRIDES`` (space-separated, e.g. ``trainer=gpu``)."""
    epochs = [f"trainer.max_epochs={VGG_EPOCHS}"] if network == "vgg" else []
    return [*NETWORKS[network]["overrides"], *epochs, *os.environ.get("SNNQ_S1_OVERRIDES", "").split()]


def train_and_convert(network: str, runs_dir: Path) -> Path:
    """Runs ``network``'s recipe into ``runs_dir`` and returns the run folder (the one holding its results.json).

    ``continue_on_error=true``: the counts are read even when the run's hardware report failed (its IR and
    activity are written before it). A run that did not finish raises with the tail of its log."""
    command = [sys.executable, "-m", "snnq", "train", f"recipe={NETWORKS[network]['recipe']}", f"runs_dir={runs_dir}",
               "continue_on_error=true", *overrides(network)]
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", str(THREADS))}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    found = sorted(runs_dir.rglob("results.json"))
    if done.returncode != 0 or len(found) != 1:
        raise RuntimeError(f"{' '.join(command[1:])} exited {done.returncode} with {len(found)} results.json:\n{done.stderr[-3000:]}")
    return found[0].parent


def activity(run_dir: Path, network: str) -> dict[str, Any]:
    """The run's measured activity as the preset's network options: every IR layer's spikes and synaptic operations
    per image under the shape-only network's layer names, and the chip's input events per image.

    Raises if the converted network's layers and shapes differ from the shape-only network's: the counts would
    then describe another network."""
    ir = load_ir(run_dir / IR_FILENAME)
    shape_only = paper_network(NETWORKS[network]["network"])
    converted = [(type(layer).__name__, layer.output_shape) for layer in ir]
    expected = [(type(layer).__name__, layer.output_shape) for layer in shape_only]
    if converted != expected or ir.input_shape != shape_only.input_shape:
        raise RuntimeError(f"the converted {network} ({ir.input_shape} -> {converted}) does not line up with "
                           f"{NETWORKS[network]['network']} ({shape_only.input_shape} -> {expected})")
    return {"input_spikes": round(float(ir.input_activity.spikes), 1),
            "measured": {b.name: {"spikes": round(float(a.activity.spikes), 1), "synops": round(float(a.activity.synops), 1)}
                         for a, b in zip(ir, shape_only)}}


def measure(network: str, runs_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Trains, converts and counts ``network`` in ``runs_dir``: (its results.json with the run's ``epochs`` added
    from its Hydra config, its preset options)."""
    from omegaconf import OmegaConf

    run_dir = train_and_convert(network, runs_dir)
    results = json.loads((run_dir / "results.json").read_text())
    results["epochs"] = int(OmegaConf.load(run_dir / ".hydra" / "config.yaml").trainer.max_epochs)
    return results, activity(run_dir, network)


def _record(record: RunRecord, network: str, results: dict[str, Any], options: dict[str, Any]) -> None:
    metrics, spec = results["metrics"], NETWORKS[network]
    record.data.setdefault("preset_options", {})[network] = options
    record.records(f"{spec['recipe']}: the run", ["quantity", "value"], [
        ["overrides", " ".join(overrides(network)) or "(none)"],
        ["epochs", results["epochs"]],
        ["wall time, s", results["environment"]["wall_time_s"]],
        ["quantized ANN accuracy, %", 100 * metrics["quantized_accuracy"]],
        ["SNN accuracy, %", 100 * metrics["snn_accuracy"]],
        ["mismatching outputs (step mode)", metrics["logit_mismatches"]],
        ["mismatching accumulator entries", metrics["accumulator_mismatches"]],
        ["test images counted", results["ir"]["samples"]],
        ["chip input events per image", options["input_spikes"]],
    ])
    record.records(f"{spec['recipe']}: activity per image", ["layer", "spikes", "synaptic operations"],
                   [[name, counts["spikes"], counts["synops"]] for name, counts in options["measured"].items()])
    preset = load_preset("zou2021_chip")
    report = preset.backend_instance(preset.hardware).evaluate(paper_network(spec["network"], **options))
    checks = [preset.check(check_id) for check_id in spec["checks"]]
    record.records(f"{spec['recipe']}: zou2021_chip with these counts, per image",
                   ["check", "role", "modelled", "published", "unit"],
                   [[c.id, c.role, FIGURES[c.figure].value(report, None), c.published, FIGURES[c.figure].unit] for c in checks])


def run() -> RunRecord:
    networks = [name for name in os.environ.get("SNNQ_S1_NETWORKS", "lenet,vgg").split(",") if name]
    unknown = sorted(set(networks) - set(NETWORKS))
    if unknown:
        raise ValueError(f"SNNQ_S1_NETWORKS: unknown network {unknown[0]!r}; valid: {', '.join(NETWORKS)}")
    record = RunRecord("s1_activity", command=f"SNNQ_S1_NETWORKS={','.join(networks)} SNNQ_S1_VGG_EPOCHS={VGG_EPOCHS} python -m bench s1_activity")
    keep = os.environ.get("SNNQ_S1_RUNS_DIR")  # where to keep the run folders (default: a temporary folder, removed)
    for network in networks:
        with tempfile.TemporaryDirectory(prefix=f"s1_{network}_") as scratch:
            runs_dir = Path(keep) / network if keep else Path(scratch)
            _record(record, network, *measure(network, runs_dir))
    return record
