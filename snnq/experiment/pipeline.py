"""One run of a recipe: data, model, quantization, Lightning training, conversion, verification, hardware, results.

A straight sequence (what `snnq train` runs for every job); every step reads its part of the config:

1. ``data`` (a data module, allow-listed ``_target_``), ``model`` (a registered name and options);
2. ``float_baseline``: the same network trained without quantizers first (for "loss against the float network");
   with ``quantize_from: float`` the quantization-aware training starts from its trained weights (fine-tuning);
3. ``quant``: `snnq.quantize_` (``keep_float`` lists layers left in float; ``overrides`` give some layers their own
   config, e.g. S4's higher-precision first and last layers), then one batch to calibrate the quantizers;
4. training with Lightning (`QATClassifier` for ``task: ann``, `SpikingClassifier` for ``task: snn``), checkpoints in
   ``<run>/checkpoints`` (a run started again resumes from ``last.ckpt``, loaded with ``weights_only=True``);
5. ``convert``: `snnq.convert` and `snnq.verify` on the test set; the exact integer IR (``network.ir.npz``,
   ``hw_inputs.npz``) when the network has one; ``sweep_steps``: accuracy against T;
6. ``robustness``: accuracy under input noise; ``hardware``: a hardware report for the preset;
7. ``results.json``, written once, atomically, at the end, with the run's ``status`` (``failed`` when the integer
   IR or the hardware report failed; ``failures`` says why) and ``verdict`` (`snnq.experiment.verdicts`).
"""

from __future__ import annotations

import copy
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from omegaconf import DictConfig
from torch import nn

from snnq.errors import ConfigError
from snnq.experiment.results import SCHEMA_VERSION, compare_with_paper, environment, settle, with_hardware, write_json
from snnq.experiment.safety import check_targets, instantiate, to_plain
from snnq.quant.apply import quantize_, quantized_weights
from snnq.quant.config import QuantConfig
from snnq.registry import MODELS

TASKS = ("ann", "snn")
QUANTIZE_FROM = ("scratch", "float")
TRAINER_DEFAULTS = {"inference_mode": False, "enable_model_summary": False, "num_sanity_val_steps": 0}


def run(cfg: DictConfig, run_dir: str | Path) -> dict[str, Any] | None:
    """Runs the recipe ``cfg`` in ``run_dir``; returns (and writes) its results.

    In a multi-process fit (``trainer.devices=N trainer.strategy=ddp``, `snnq.lit.distributed`) every process
    trains; only global rank 0 converts, verifies, exports and writes results: the other ranks return None
    after training and write nothing into ``run_dir``."""
    start = time.perf_counter()
    check_targets(cfg)
    plain = to_plain(cfg)
    from snnq.lit.distributed import check_trainer_options, is_global_zero

    check_trainer_options(plain.get("trainer") or {})
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    task = plain.get("task", "ann")
    if task not in TASKS:
        raise ConfigError(f"task={task!r} is invalid; valid: {', '.join(TASKS)}")
    import lightning.pytorch as pl

    pl.seed_everything(plain["seed"], workers=True, verbose=False)
    data = instantiate(cfg.data)
    data.prepare_data()
    data.setup()
    model = build_model(plain["model"])
    metrics: dict[str, Any] = {}
    float_model = None
    if plain.get("float_baseline"):
        float_model = copy.deepcopy(model)
        metrics["float_accuracy"], metrics["float_train_epoch_seconds"] = _fit_and_test(float_model, data, plain, run_dir / "float", task)
    start_from = plain.get("quantize_from", "scratch")
    if start_from not in QUANTIZE_FROM:
        raise ConfigError(f"quantize_from={start_from!r} is invalid; valid: {', '.join(QUANTIZE_FROM)}")
    if start_from == "float":
        if float_model is None:
            raise ConfigError("quantize_from=float needs float_baseline=true (the float network it starts from)")
        model.load_state_dict(float_model.state_dict())
    quant = plain.get("quant") or {}
    if quant:
        try:
            apply_quantization(model, quant)
        except ConfigError as error:  # name the config group: quant: <quantizer>: <option> is invalid
            raise ConfigError(f"quant: {error}") from error
        calibrate(model, data, task, plain)
    training: dict[str, Any] = {}
    accuracy, metrics["train_epoch_seconds"] = _fit_and_test(model, data, plain, run_dir, task, training)
    if not is_global_zero():  # rank 0 alone converts, verifies, exports and writes the results
        return None
    metrics["snn_accuracy" if task == "snn" else "quantized_accuracy" if quant else "float_accuracy"] = accuracy
    metrics.update(memory(model))
    results: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "recipe": plain.get("recipe_name") or "custom",
        "task": task,
        "dataset": {"name": plain["data"].get("_target_", "").rsplit(".", 1)[-1], "source": getattr(data, "source", None),
                    "split": "test", "samples": len(data.test_set) if getattr(data, "test_set", None) is not None else None},
        "model": plain["model"],
        "quantizers": quant or None,
        "converter": None,
        "steps": None,
        "training": training,  # processes, strategy, nodes; replicas_identical: quantizer/neuron state equal on every rank
    }
    snn = None
    method = (plain.get("convert") or {}).get("method")
    if method:
        snn = _convert_and_verify(model, data, plain, run_dir, metrics, results)
    if plain.get("robustness"):
        results["robustness"] = _robustness(float_model, model, snn, data, plain, run_dir)
    if metrics.get("float_accuracy") is not None:  # the losses papers report against their float networks
        for key, name in (("quantized_accuracy", "accuracy_loss"), ("snn_accuracy", "accuracy_loss_snn")):
            if metrics.get(key) is not None:
                metrics[name] = metrics["float_accuracy"] - metrics[key]
    results["metrics"] = metrics
    results["paper"] = compare_with_paper(metrics, list(plain.get("expected") or []))
    hardware = plain.get("hardware_name")  # with its figures: the comparison again, failures, status and verdict
    results = with_hardware(results, _hardware(run_dir, hardware, plain)) if hardware else settle(results)
    results["environment"] = environment(plain["seed"], time.perf_counter() - start)
    write_json(run_dir / "results.json", results)
    return results


def build_model(spec: dict[str, Any]) -> nn.Module:
    """A registered model: ``{"name": ..., "options": {...}}``."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ConfigError(f"model: expected {{name: ..., options: {{...}}}}, got {spec!r}")
    return MODELS.build(spec["name"], **(spec.get("options") or {}))


def apply_quantization(model: nn.Module, quant: dict[str, Any]) -> None:
    """`quantize_` with the recipe extras: ``keep_float`` (layer names left in float) and ``overrides``
    (``[{layers: [...], config: {...}}]``, those layers with their own config)."""
    quant = dict(quant)
    keep_float = set(quant.pop("keep_float", None) or [])
    overrides = list(quant.pop("overrides", None) or [])
    special = set(keep_float)
    for override in overrides:
        layers = set(override["layers"])
        special |= layers
        quantize_(model, override["config"], filter_fn=lambda module, name, layers=layers: name in layers)
    missing = special - {name for name, _ in model.named_modules()}
    if missing:
        raise ConfigError(f"quant: no layer named {', '.join(sorted(missing))} in {type(model).__name__}")
    quantize_(model, QuantConfig.from_dict(quant), filter_fn=lambda module, name: name not in special)


def calibrate(model: nn.Module, data: Any, task: str, plain: dict[str, Any]) -> None:
    """One training batch through the model (no gradient) so that data-driven quantizers take their scales
    before Lightning starts (never inside its inference mode)."""
    batch = next(iter(data.train_dataloader()))
    x = _prepare(data, batch, train=True)[0]
    model.train()
    with torch.no_grad():
        if task == "snn":
            _spiking_module(model, data, plain).logits(x)
        else:
            model(x)


def _prepare(data: Any, batch: Any, *, train: bool) -> Any:
    prepare = getattr(data, "prepare_batch", None)
    return prepare(batch, train=train) if callable(prepare) else batch


def _num_classes(data: Any, plain: dict[str, Any]) -> int:
    count = getattr(data, "num_classes", None) or len(getattr(data, "classes", ()) or ())
    return int(count or plain["model"].get("options", {}).get("num_classes", 10))


def _spiking_module(model: nn.Module, data: Any, plain: dict[str, Any]) -> Any:
    from snnq.lit import SpikingClassifier

    encoder = None
    if plain.get("encoder"):
        from snnq.registry import ENCODERS

        spec = dict(plain["encoder"])
        encoder = ENCODERS.build(spec.pop("name"), **spec)
    return SpikingClassifier(model, num_classes=_num_classes(data, plain), encoder=encoder, optimizer=plain.get("optimizer"), schedule=plain.get("schedule", "none"))


def _fit_and_test(model: nn.Module, data: Any, plain: dict[str, Any], run_dir: Path, task: str,
                  training: dict[str, Any] | None = None) -> tuple[float, float | None]:
    """Trains ``model`` (resuming from ``run_dir/checkpoints/last.ckpt`` when there is one) and tests it:
    ``(test accuracy, median seconds per training epoch of this call; None when it trained no epoch)``.
    ``training``, when given, receives how it trained: processes, strategy, nodes, replicas_identical."""
    from lightning.pytorch import Trainer
    from lightning.pytorch.callbacks import ModelCheckpoint
    from lightning.pytorch.utilities.exceptions import MisconfigurationException

    from snnq.lit import EpochTimer, QATClassifier, QuantizerEpochCallback
    from snnq.lit.callbacks import QuietProcess
    from snnq.lit.distributed import QuantizerSync, batchnorm_classes, restore_batchnorm

    if task == "snn":
        if plain.get("compile"):
            raise ConfigError("compile is for task ann (quantization-aware training); task snn trains without it")
        module = _spiking_module(model, data, plain)
    else:
        module = QATClassifier(
            model, num_classes=_num_classes(data, plain), optimizer=plain.get("optimizer"), schedule=plain.get("schedule", "none"),
            compile=plain.get("compile", False),
        )
    options = dict(plain.get("trainer") or {})
    options.setdefault("enable_progress_bar", sys.stderr.isatty())  # bars for people, not for log files
    loggers = _loggers(options.pop("loggers", ["csv"]), run_dir)
    checkpoints = run_dir / "checkpoints"
    timer, sync = EpochTimer(), QuantizerSync()
    try:
        trainer = Trainer(
            default_root_dir=run_dir, logger=loggers,
            callbacks=[ModelCheckpoint(dirpath=checkpoints, save_last=True, save_top_k=0), QuantizerEpochCallback(), timer, sync, QuietProcess()],
            **{**TRAINER_DEFAULTS, **options},
        )
    except MisconfigurationException as error:  # Lightning's verdict on trainer.* options, as snnq's one-line error
        raise ConfigError(f"trainer: {error}") from error
    last = checkpoints / "last.ckpt"
    batchnorms = batchnorm_classes(model)  # trainer.sync_batchnorm swaps them for SyncBatchNorm during the fit
    with warnings.catch_warnings():  # QuietProcess's filters (in this process and in any it starts) end with the fit
        trainer.fit(module, datamodule=data, ckpt_path=str(last) if last.is_file() else None, weights_only=True)
        timer.collect(trainer)  # ddp_spawn: the fit ran in other processes; rank 0 sent its weights and these back
        sync.collect(trainer)
        tested = trainer.test(module, datamodule=data, verbose=False)
    restore_batchnorm(model, batchnorms)
    sync.check()
    if training is not None:
        training.update(processes=trainer.world_size, nodes=trainer.num_nodes, strategy=str(options.get("strategy", "auto")),
                        sync_batchnorm=bool(options.get("sync_batchnorm", False)), replicas_identical=sync.identical)
    model.eval()
    return float(tested[0]["test_acc"]), timer.median()


def _loggers(names: list[str], run_dir: Path) -> list[Any]:
    from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger

    table = {"csv": lambda: CSVLogger(run_dir, name="logs"), "tensorboard": lambda: TensorBoardLogger(run_dir, name="tensorboard")}
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ConfigError(f"trainer.loggers: unknown {', '.join(unknown)}; valid: {', '.join(table)}")
    return [table[n]() for n in names]


def memory(model: nn.Module) -> dict[str, Any]:
    """Weight memory of the synaptic layers in bits (quantized weights at their code width, the rest at 32) and
    the saving against fp32 (how S4 reports it)."""
    from snnq.quant.apply import WEIGHTED_LAYERS

    widths = {id(entry.module): entry.quantizer.codeset().bits for entry in quantized_weights(model)}
    bits = full = 0
    for module in model.modules():
        if isinstance(module, WEIGHTED_LAYERS):
            count = module.weight.numel()
            full += 32 * count
            bits += count * widths.get(id(module), 32)
    return {"weight_memory_bits": bits, "float_weight_memory_bits": full, "memory_saving": (full / bits) if bits else None}


def _device(plain: dict[str, Any]) -> torch.device:
    """Where conversion and verification run: the trainer's GPU when it trained on one, else the CPU."""
    accelerator = str((plain.get("trainer") or {}).get("accelerator", "cpu"))
    return torch.device("cuda" if accelerator in ("gpu", "cuda", "auto") and torch.cuda.is_available() else "cpu")


def _test_batches(data: Any, plain: dict[str, Any], device: torch.device) -> list[Any]:
    limit = (plain.get("verify") or {}).get("max_batches")
    batches = []
    for index, batch in enumerate(data.test_dataloader()):
        if limit is not None and index >= limit:
            break
        batches.append(_prepare(data, [part.to(device) for part in batch], train=False))
    return batches


def _convert_and_verify(model: nn.Module, data: Any, plain: dict[str, Any], run_dir: Path, metrics: dict[str, Any], results: dict[str, Any]) -> Any:
    from snnq.conversion import accuracy_against_steps, convert, save_accuracy_against_steps, verify

    spec = dict(plain["convert"])
    options = dict(spec.get("options") or {})
    device = _device(plain)
    snn = convert(model.to(device), method=spec["method"], **options).to(device)
    batches = _test_batches(data, plain, device)
    report = verify(model, snn, batches, mode=(plain.get("verify") or {}).get("mode", "step"), progress=sys.stderr.isatty())
    report.save(run_dir / "verify.json")
    results["converter"] = {"method": spec["method"], "options": options}
    results["steps"] = snn.steps
    results["dataset"]["samples"] = report.samples
    metrics.update(
        snn_accuracy=report.snn_accuracy, logit_mismatches=report.logit_mismatches, class_mismatches=report.class_mismatches,
        accumulator_mismatches=sum(report.accumulator_mismatches.values()), verified_exact=report.exact, verify_mode=report.mode,
        float_ann_logit_mismatches=report.float_ann_logit_mismatches,
        spikes_per_inference=report.spikes_per_inference, synaptic_operations_per_inference=report.synaptic_operations_per_inference,
        max_spikes_per_step=report.max_spikes_per_step, latency_steps=report.latency_steps,
    )
    if spec.get("sweep_steps"):
        curve = accuracy_against_steps(model, batches, steps=spec["sweep_steps"], method=spec["method"])
        save_accuracy_against_steps(curve, run_dir / "accuracy_vs_steps.json", run_dir / "accuracy_vs_steps.png")
        results["accuracy_vs_steps"] = curve
    model.cpu()  # the integer IR, its simulation and the robustness check work on the CPU
    results["ir"] = _export_ir(snn.cpu(), [[part.cpu() for part in batch] for batch in batches], run_dir, plain)
    return snn


def _export_ir(snn: Any, batches: list[Any], run_dir: Path, plain: dict[str, Any]) -> dict[str, Any]:
    """``network.ir.npz`` with activity measured on test inputs, and those inputs as ``hw_inputs.npz``."""
    from snnq.conversion import input_codes, to_ir
    from snnq.conversion.to_ir import chip_output
    from snnq.errors import ConversionError
    from snnq.hardware import calibrate as calibrate_ir
    from snnq.hardware import save_ir
    from snnq.hardware.report import INPUTS_FILENAME
    from snnq.hardware.simulate import simulate

    count = int(plain.get("ir_samples", 64))
    images = torch.cat([b[0] for b in batches])[:count]
    labels = torch.cat([b[1] for b in batches])[:count]
    try:
        network = to_ir(snn, name=str(plain.get("recipe_name") or "network").replace("/", "_"), input_shape=tuple(images.shape[1:]))
    except ConversionError as error:
        return {"written": False, "reason": str(error)}
    inputs = input_codes(snn, images)
    network = calibrate_ir(network, inputs, source=f"{count} test images")
    save_ir(network, run_dir)
    buffer = run_dir / INPUTS_FILENAME
    np.savez_compressed(buffer, inputs=inputs, labels=labels.numpy())  # spike codes: mostly zeros
    integer = simulate(network, inputs)
    scores = integer.scores.astype(np.float64) * np.asarray(network.metadata["output_unit"])
    with torch.no_grad():
        matches = int(np.all(scores == chip_output(snn, network, images), axis=tuple(range(1, scores.ndim))).sum())
    return {"written": True, "exact": bool(network.metadata["exact"]), "samples": count, "integer_matches_snn": matches}


def _robustness(float_model: Any, model: nn.Module, snn: Any, data: Any, plain: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    from snnq.experiment.robustness import noise_robustness, plot_robustness

    spec = dict(plain["robustness"])
    models: dict[str, Any] = {}
    if float_model is not None:
        models["float ANN"] = float_model.eval()
    models["quantized ANN"] = model.eval()
    if snn is not None:
        models["SNN"] = snn
    result = noise_robustness(models, _test_batches(data, plain, torch.device("cpu")), levels=spec.get("levels", (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)), seed=plain["seed"], max_batches=spec.get("max_batches"))
    plot_robustness(result, run_dir / "robustness.png")
    return result


def _hardware(run_dir: Path, preset: str, plain: dict[str, Any]) -> dict[str, Any]:
    """The hardware report of the run's integer network on the configured preset (with any overrides, e.g.
    ``hardware.hardware.tile.rows=128`` in a sweep); a network the preset cannot take is recorded, not fatal."""
    from snnq.errors import SnnqError
    from snnq.hardware.ir_io import IR_FILENAME
    from snnq.hardware.presets import parse_preset
    from snnq.hardware.report import summary, write_report

    if not (run_dir / IR_FILENAME).is_file():
        return {"preset": preset, "written": False, "reason": "the network has no integer IR (see results['ir'])"}
    loaded = parse_preset(plain["hardware"], name=preset)
    try:
        report = write_report(run_dir, loaded, seed=plain["seed"], update_results=False)
    except SnnqError as error:
        return {"preset": preset, "written": False, "reason": str(error)}
    return {**summary(report, loaded), "written": True}
