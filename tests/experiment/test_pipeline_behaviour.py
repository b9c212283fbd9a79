"""How a run behaves around its edges: resuming, failing without half-written results, the leaderboard."""

from __future__ import annotations

import json

import pytest
import torch

from snnq.data.errors import DataNotFoundError
from snnq.errors import ConfigError
from snnq.experiment.leaderboard import write_leaderboard
from snnq.experiment.pipeline import run
from snnq.experiment.results import compare_with_paper
from tests.experiment.conftest import composed, job

DEMO_FAST = ["recipe=demo", "trainer=fast", "ir_samples=4", "verify.max_batches=2", "robustness=null"]


def test_a_run_started_again_resumes_from_its_last_checkpoint(tmp_path):
    with composed([*DEMO_FAST, "trainer.max_epochs=1"]) as cfg:
        run(job(cfg), tmp_path)
    checkpoint = tmp_path / "checkpoints" / "last.ckpt"
    first = torch.load(checkpoint, weights_only=True)  # plain tensors and containers only
    assert first["global_step"] > 0
    with composed([*DEMO_FAST, "trainer.max_epochs=2"]) as cfg:
        run(job(cfg), tmp_path)
    second = torch.load(checkpoint, weights_only=True)
    assert second["epoch"] == first["epoch"] + 1 and second["global_step"] == 2 * first["global_step"]  # one more, not two
    metrics = (tmp_path / "logs").rglob("metrics.csv")
    assert any(metrics)


def test_a_failing_run_writes_no_results(tmp_path):
    with composed(["recipe=zou2021/mnist_lenet", "trainer=fast", f"data.data_dir={tmp_path / 'nowhere'}"]) as cfg:
        with pytest.raises(DataNotFoundError, match=r"train-images-idx3-ubyte"):
            run(job(cfg), tmp_path / "run")
    assert not (tmp_path / "run" / "results.json").exists()


def test_paper_comparison_with_tolerances_and_bounds():
    rows = compare_with_paper(
        {"snn_accuracy": 0.9931, "accuracy_loss": 0.0004, "logit_mismatches": 0},
        [
            {"metric": "snn_accuracy", "value": 99.37, "unit": "%", "tolerance": 0.5, "source": "x"},
            {"metric": "snn_accuracy", "value": 99.37, "unit": "%", "min": 99.4, "source": "x"},
            {"metric": "accuracy_loss", "value": 0.02, "unit": "%", "max": 0.1, "source": "x"},
            {"metric": "logit_mismatches", "value": 0, "max": 0, "source": "x"},
            {"metric": "energy", "value": 1.0, "tolerance": 0.1, "source": "x"},
        ],
    )
    assert [r["within_tolerance"] for r in rows] == [True, False, True, True, None]
    assert rows[0]["ours"] == pytest.approx(99.31) and rows[0]["gap"] == pytest.approx(-0.06)


def test_leaderboard_gathers_every_run_beside_the_paper(tmp_path):
    for name, accuracy, steps in [("zou2021/mnist_lenet", 0.9931, 1), ("nimbekar2024/cifar10_vgg11_t8", 0.905, 8), ("nimbekar2024/cifar10_vgg11_t8", 0.88, 4)]:
        folder = tmp_path / name / f"steps{steps}"
        folder.mkdir(parents=True)
        results = {
            "recipe": name, "dataset": {"name": "x", "source": "cifar10-jpeg-q75" if "cifar" in name else "mnist-idx"},
            "model": {"name": "lenet5"}, "quantizers": {"weight": {"name": "fixed_point", "bits": 4}},
            "converter": {"method": "qcfs"}, "steps": steps, "metrics": {"snn_accuracy": accuracy, "logit_mismatches": 0},
            "paper": compare_with_paper({"snn_accuracy": accuracy}, [{"metric": "snn_accuracy", "value": 99.37, "unit": "%", "tolerance": 0.5, "source": "s"}]),
            "hardware": {"totals": {"energy_j": 2.8e-4, "latency_s": 3.8e-4}},
        }
        (folder / "results.json").write_text(json.dumps(results))
    rows, files = write_leaderboard(tmp_path)
    assert len(rows) == 3 and all(path.exists() for path in files)
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert "zou2021/mnist_lenet" in board and "99.31" in board and "cifar10-jpeg-q75" in board and "0.00028" in board
    assert json.loads((tmp_path / "leaderboard.json").read_text())[0]["verdict"] in ("pass", "fail")
    for png in ("accuracy_vs_paper.png", "accuracy_vs_steps.png"):
        assert (tmp_path / png).read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize("start", ["float", "scratch"])
def test_quantization_aware_training_can_start_from_the_float_network(tmp_path, monkeypatch, start):
    from snnq.experiment import pipeline

    seen = {}
    quantize = pipeline.apply_quantization

    def spy(model, quant):  # the weights the quantized network starts its training from
        seen.update({key: value.clone() for key, value in model.state_dict().items()})
        quantize(model, quant)

    monkeypatch.setattr(pipeline, "apply_quantization", spy)
    with composed([*DEMO_FAST, "trainer.max_epochs=1", "float_baseline=true", f"quantize_from={start}"]) as cfg:
        run(job(cfg), tmp_path)
    trained_float = torch.load(tmp_path / "float" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    weights = [key for key in seen if key.endswith(".weight")]
    assert weights
    same = all(torch.equal(seen[key], trained_float[f"model.{key}"]) for key in weights)
    assert same == (start == "float")


def test_quantize_from_float_needs_the_float_baseline(tmp_path):
    with composed([*DEMO_FAST, "quantize_from=float"]) as cfg, pytest.raises(ConfigError, match="float_baseline=true"):
        run(job(cfg), tmp_path)
    with composed([*DEMO_FAST, "quantize_from=imagenet"]) as cfg, pytest.raises(ConfigError, match="valid: scratch, float"):
        run(job(cfg), tmp_path)


def test_compiled_training_learns_like_eager_and_leaves_an_ordinary_network(tmp_path):
    accuracy = {}
    for compiled in ("false", "true"):
        with composed([*DEMO_FAST, "trainer.max_epochs=4", f"compile={compiled}"]) as cfg:
            metrics = run(job(cfg), tmp_path / compiled)["metrics"]
        assert metrics["logit_mismatches"] == 0
        accuracy[compiled] = metrics["quantized_accuracy"]
    assert accuracy["true"] > 0.3 and abs(accuracy["true"] - accuracy["false"]) <= 0.05, accuracy  # chance: 0.1
    state = torch.load(tmp_path / "true" / "checkpoints" / "last.ckpt", weights_only=True)["state_dict"]
    assert not any("_orig_mod" in key for key in state)  # the checkpoint holds the network, not a compiled wrapper


def test_compile_is_refused_where_it_does_not_apply(tmp_path):
    with composed([*DEMO_FAST, "compile=fastest"]) as cfg:
        with pytest.raises(ConfigError, match=r"compile='fastest' is invalid; expected false, true or one of default"):
            run(job(cfg), tmp_path)
    assert not (tmp_path / "results.json").exists()
