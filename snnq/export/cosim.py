"""``snnq hw cosim``: the reference RTL core simulated on a run directory's images, compared with the integer model.

A run directory holds ``network.ir.npz`` and ``hw_inputs.npz`` (``inputs`` ``[T, B, ...]``, ``labels``).
`run_cosim` writes the deployment package (whose ``.mem`` files the testbench loads), builds the testbench
(`snnq.export.simulators`), and runs the network as a chain of passes (`snnq.export.rtl_core`): the first
pass streams the images' nonzero input codes, every later pass streams the spikes the core itself emitted in
the pass before (RTL all the way; the Python driver only moves files). Every synaptic integration, neuron
update and pooling window is computed in Verilog. Each pass's output spikes are compared with
`snnq.hardware.simulate`'s, element by element, and the final integer scores with its scores:

    mismatches = sum over layers of #{(t, b, i) : rtl[t, b, i] != simulate[t, b, i]} + #{b : scores differ}

Images are split into groups of at most `GROUP_IMAGES`; ``jobs`` groups run at once (one simulator process per
group and pass), each compared with `simulate` on its own images.
The report is written to ``RUN_DIR/cosim.json``.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from snnq.export import rtl_core, simulators
from snnq.export.deploy import write_deployment
from snnq.export.errors import CosimError
from snnq.export.rtl_core import CoreParameters, Pass
from snnq.hardware.ir import Network
from snnq.hardware.ir_io import load_ir
from snnq.hardware.report import INPUTS_FILENAME, atomic_write_bytes
from snnq.hardware.simulate import simulate

REPORT_FILENAME = "cosim.json"
GROUP_IMAGES = 100
"""At most this many images per simulator process (the recorded spike trains of a group are held in memory)."""


@dataclass(frozen=True)
class LayerComparison:
    """One pass: how many output values (spikes, pooled values or scores) differ from `simulate`'s."""

    name: str
    kind: str
    events: int
    """Output events the core emitted (spikes, pooled values; scores for an output layer)."""
    mismatched_values: int
    mismatched_images: int
    cycles: int
    """Clock cycles of the pass, summed over the image groups."""


@dataclass(frozen=True)
class CosimReport:
    """What `run_cosim` measured."""

    network: str
    simulator: str
    images: int
    layers: tuple[LayerComparison, ...]
    score_mismatches: int
    """Images whose integer scores differ from `simulate`'s."""
    prediction_mismatches: int
    accuracy: float | None
    """Accuracy of the core's predictions on the labels (None without labels)."""
    seconds: float
    """Wall time of the co-simulation: simulator runs, the integer model and the comparisons (building excluded)."""
    build_seconds: float
    parameters: dict[str, int] = field(default_factory=dict)

    @property
    def mismatches(self) -> int:
        """Mismatching values over all layers plus images with mismatching scores (0 for a bit-exact core)."""
        return sum(layer.mismatched_values for layer in self.layers) + self.score_mismatches

    @property
    def cycles(self) -> int:
        return sum(layer.cycles for layer in self.layers)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["mismatches"] = self.mismatches
        out["cycles"] = self.cycles
        return out

    def summary(self) -> str:
        acc = "" if self.accuracy is None else f", accuracy {self.accuracy:.4f}"
        return (f"{self.network}: {self.images} images on {self.simulator}: {self.mismatches} mismatches "
                f"({self.score_mismatches} score, {self.prediction_mismatches} prediction){acc}; "
                f"{self.cycles} cycles, {self.seconds:.1f} s simulated (+{self.build_seconds:.1f} s build)")


def read_inputs(run_dir: Path, images: int | None) -> tuple[np.ndarray, np.ndarray | None]:
    path = run_dir / INPUTS_FILENAME
    if not path.is_file():
        raise CosimError(f"{path}: missing; co-simulation needs the run directory's integer inputs "
                         "(hw_inputs.npz with 'inputs' [T, B, ...] and 'labels' [B])")
    with np.load(path, allow_pickle=False) as data:
        if "inputs" not in data.files:
            raise CosimError(f"{path}: no 'inputs' array (has {', '.join(data.files)})")
        inputs = data["inputs"]
        labels = data["labels"] if "labels" in data.files else None
    if images is not None:
        if images < 1:
            raise CosimError(f"images must be >= 1, got {images}")
        inputs = inputs[:, :images]
        labels = None if labels is None else labels[:images]
    return inputs, labels


def _mem_files(deploy: Path, layer_name: str) -> dict[str, Path]:
    manifest = json.loads((deploy / "manifest.json").read_text())
    plusargs: dict[str, Path] = {}
    for key, info in manifest["array_info"].items():
        layer, _, array = key.rpartition("/")
        if layer != layer_name:
            continue
        name = {"weight": "weight", "threshold": "threshold", "initial": "initial", "spacing": "spacing", "bias": "bias",
                "step_thresholds": "table"}.get(array)
        if name is not None:
            plusargs[name] = deploy / info["mem"]
    return plusargs


def _run_chain(sim: simulators.Simulation, passes: list[Pass], deploy: Path, rows: np.ndarray, work: Path,
               timeout: float | None) -> list[tuple[np.ndarray, int]]:
    """Every pass on one group of images: ``[(output rows, cycles)]``."""
    results = []
    for index, p in enumerate(passes):
        stem = work / f"{index:02d}"
        (stem.parent / f"{stem.name}.cfg").write_text(rtl_core.config_text(p.registers))
        (stem.parent / f"{stem.name}.events").write_text(rtl_core.encode_commands(rows))
        out = stem.parent / f"{stem.name}.out"
        plusargs: dict[str, Any] = {"cfg": f"{stem}.cfg", "events": f"{stem}.events", "out": out}
        plusargs.update(_mem_files(deploy, p.layer.name))
        sim.run(plusargs, timeout=timeout)
        output, cycles = rtl_core.read_outputs(out.read_text())
        results.append((output, cycles))
        rows = rtl_core.command_rows(output)
    return results


@dataclass
class _GroupResult:
    """One group of images: per pass ``(events, mismatched values, mismatched images, cycles)``, and the scores."""

    passes: list[tuple[int, int, int, int]]
    scores: np.ndarray
    expected_scores: np.ndarray
    expected_predictions: np.ndarray


def _run_group(network: Network, sim: simulators.Simulation, passes: list[Pass], deploy: Path, inputs: np.ndarray,
               work: Path, timeout: float | None) -> _GroupResult:
    """Runs one group of images through the core and compares every pass with `simulate` on the same images."""
    work.mkdir(parents=True, exist_ok=True)
    batch = inputs.shape[1]
    chain = _run_chain(sim, passes, deploy, rtl_core.input_rows(inputs, network), work, timeout)
    expected = simulate(network, inputs, record=True)
    stats, scores = [], None
    for p, (rows, cycles) in zip(passes, chain):
        train, score = rtl_core.decode_outputs(rows, steps=network.time_steps, batch=batch, shape=p.layer.output_shape)
        events = int(np.count_nonzero(rows[:, 0] == rtl_core.OP_EVENT))
        if p.layer.neuron is None and p.registers["MODE"] == 0:  # an output layer: its integrals are the scores
            got, want = score, expected.outputs[p.layer.name].sum(axis=0)
            events, scores = int(got.size), got
            diff = got != want
            per_image = diff.reshape(batch, -1).any(axis=1)
        else:
            diff = train != expected.outputs[p.layer.name]
            per_image = diff.reshape(diff.shape[0], batch, -1).any(axis=(0, 2))
        stats.append((events, int(diff.sum()), int(per_image.sum()), cycles))
    if scores is None or scores.shape != expected.scores.shape:
        raise CosimError(f"network {network.name!r} does not end with a layer without neurons; the core reports scores of such a layer")
    return _GroupResult(stats, scores, expected.scores, expected.predictions)


def _groups(batch: int, jobs: int, size: int) -> list[tuple[int, int]]:
    """Image ranges: at least ``jobs`` groups (one per simulator process), at most ``size`` images each."""
    count = max(jobs, -(-batch // size))
    bounds = np.linspace(0, batch, min(count, batch) + 1).round().astype(int)
    return [(int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:]) if hi > lo]


def run_cosim(
    run_dir: str | os.PathLike[str],
    *,
    images: int | None = 100,
    simulator: str = "auto",
    parameters: CoreParameters | None = None,
    cache: str | os.PathLike[str] | None = None,
    work_dir: str | os.PathLike[str] | None = None,
    jobs: int | None = None,
    timeout: float | None = None,
    write: bool = True,
) -> CosimReport:
    """Simulates the reference core on the first ``images`` inputs of ``run_dir`` and compares it with `simulate`.

    Args:
        images: how many of the run directory's inputs (None: all).
        simulator: ``verilator``, ``icarus`` or ``auto`` (Verilator when installed).
        parameters: the core's sizes (default `CoreParameters()`, which fits LeNet-5 on MNIST).
        cache: where built testbenches are kept (default ``$SNNQ_RTL_CACHE`` or ``~/.cache/snnq/rtl``).
        work_dir: where the event files go (default: a temporary directory, removed afterwards).
        jobs: concurrent simulator processes (default: the CPU count).
        timeout: seconds one simulator process may run.
        write: write ``cosim.json`` into ``run_dir``.
    """
    run = Path(run_dir)
    network: Network = load_ir(run)
    inputs, labels = read_inputs(run, images)
    params = parameters or CoreParameters()
    passes = rtl_core.plan_passes(network, params)
    name = simulators.choose_simulator(simulator)
    began = time.perf_counter()
    sim = simulators.build(name, params, cache=cache)
    build_seconds = time.perf_counter() - began
    batch = inputs.shape[1]
    jobs = max(1, min(jobs or os.cpu_count() or 1, batch))
    with tempfile.TemporaryDirectory(prefix="snnq-cosim-") as scratch:
        work = Path(work_dir) if work_dir is not None else Path(scratch)
        deploy = work / "deploy"
        write_deployment(network, deploy)
        ranges = _groups(batch, jobs, GROUP_IMAGES)
        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=jobs) as pool:
            futures = [pool.submit(_run_group, network, sim, passes, deploy, inputs[:, lo:hi], work / f"group{i}", timeout)
                       for i, (lo, hi) in enumerate(ranges)]
            results = [f.result() for f in futures]
        seconds = time.perf_counter() - began
    comparisons = []
    for index, p in enumerate(passes):
        events, values, images_bad, cycles = (sum(r.passes[index][k] for r in results) for k in range(4))
        comparisons.append(LayerComparison(p.layer.name, p.layer.kind, events, values, images_bad, cycles))
    rtl_scores = np.concatenate([r.scores for r in results])
    expected_scores = np.concatenate([r.expected_scores for r in results])
    score_mismatch = (rtl_scores != expected_scores).reshape(batch, -1).any(axis=1)
    predictions = rtl_scores.reshape(batch, -1).argmax(axis=1)
    report = CosimReport(
        network=network.name, simulator=name, images=batch, layers=tuple(comparisons),
        score_mismatches=int(score_mismatch.sum()),
        prediction_mismatches=int((predictions != np.concatenate([r.expected_predictions for r in results])).sum()),
        accuracy=None if labels is None else float(np.mean(predictions == labels)), seconds=seconds, build_seconds=build_seconds,
        parameters=params.verilog(),
    )
    if write:
        atomic_write_bytes(run / REPORT_FILENAME, (json.dumps(report.to_dict(), indent=2) + "\n").encode())
    return report
