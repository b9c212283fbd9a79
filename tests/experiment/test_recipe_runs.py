"""A fast development run of every recipe, end to end (training, conversion, verification, IR, hardware,
results.json), on small data of the right kind: the real MNIST, digits and N-MNIST subsets, and small CIFAR-10
and DVS128 Gesture files written in their real on-disk formats."""

from __future__ import annotations

import json

import numpy as np
import pytest

from snnq.experiment.paths import recipe_names
from snnq.experiment.pipeline import run
from snnq.experiment.safety import to_plain
from tests.data.formats import write_cifar10, write_dvs_gesture
from tests.experiment.conftest import composed, job

FAST = ["trainer=fast", "trainer.max_epochs=1", "ir_samples=4", "verify.max_batches=2"]


def data_overrides(target: str, tmp_path, shared_data) -> list[str]:
    cache = f"data.cache_dir={tmp_path / 'cache'}"
    if target.endswith("DigitsDataModule"):
        return ["data.limit=64", "data.batch_size=16"]
    if target.endswith("MNISTDataModule") and "NMNIST" not in target:
        return [f"data.data_dir={shared_data / 'mnist'}", "data.limit=64", "data.batch_size=16", cache]
    if target.endswith("NMNISTDataModule"):
        return [f"data.data_dir={shared_data / 'nmnist'}", "data.limit=24", "data.batch_size=8", cache]
    if target.endswith("CIFAR10DataModule"):
        write_cifar10(tmp_path / "cifar10", np.random.default_rng(0), per_batch=8, test=16)
        return [f"data.data_dir={tmp_path / 'cifar10'}", "data.layout=python", "data.batch_size=8", cache]
    if target.endswith("DVSGestureDataModule"):
        users = {"ibmGestureTrain": ["user01_fluorescent", "user02_led"], "ibmGestureTest": ["user24_fluorescent"]}
        write_dvs_gesture(tmp_path / "dvs", np.random.default_rng(0), users=users, events=400)
        return [f"data.data_dir={tmp_path / 'dvs'}", "data.batch_size=4", "data.val_fraction=0.2", cache]
    raise AssertionError(f"no small data for {target}")


@pytest.mark.parametrize("recipe", recipe_names())
def test_fast_development_run(recipe, tmp_path, shared_data):
    with composed([f"recipe={recipe}"]) as cfg:
        target = to_plain(job(cfg))["data"]["_target_"]
        extra = []
        plain = to_plain(job(cfg))
        if plain.get("robustness"):
            extra.append("++robustness.max_batches=1")
        if (plain.get("convert") or {}).get("sweep_steps"):
            extra.append("convert.sweep_steps=[1,2]")
    overrides = [f"recipe={recipe}", *FAST, *data_overrides(target, tmp_path, shared_data), *extra]
    with composed(overrides) as cfg:
        results = run(job(cfg), tmp_path / "run")
    written = json.loads((tmp_path / "run" / "results.json").read_text())
    assert written["recipe"] == recipe and written["metrics"] == json.loads(json.dumps(results["metrics"]))
    metrics = written["metrics"]
    assert any(metrics.get(k) is not None for k in ("quantized_accuracy", "snn_accuracy", "float_accuracy"))
    assert metrics["weight_memory_bits"] > 0 and written["paper"]
    method = (written.get("converter") or {}).get("method")
    if method in ("rate", "scatter_gather", "ttfs"):
        assert metrics["logit_mismatches"] == 0, "a lossless conversion must match the quantized ANN"
        assert written["ir"]["written"] and written["ir"]["integer_matches_snn"] == written["ir"]["samples"]
    if written.get("hardware"):
        assert written["hardware"].get("totals") or written["hardware"].get("reason")
    assert written["environment"]["versions"]["snnq"]
