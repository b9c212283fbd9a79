"""Multi-process training (Lightning DDP, 2 gloo processes on the CPU) keeps every quantizer and neuron exact.

One launch of ``tests/experiment/ddp_script.py`` (Lightning's ``ddp``: every rank a fresh process, a free port
picked by Lightning, a 120 s collective timeout) trains three small networks for three steps and leaves every
rank's state after each step; the tests compare them bit for bit, export rank 1's integer network, and compare
the first step with a one-process run over the same global batch. ``snnq train`` itself runs on 2 processes
in `test_snnq_train_on_two_processes_writes_one_result_from_rank_zero`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snnq.lit.distributed import QuantizerSync, state_digest
from tests.conftest import ROOT
from tests.experiment import ddp_script

STEPS = 3
TIMEOUT_S = 240


def _python_env() -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    for key in ("MASTER_PORT", "MASTER_ADDR", "LOCAL_RANK", "NODE_RANK", "WORLD_SIZE", "RANK"):
        env.pop(key, None)  # Lightning picks a free port itself; no rank of an outer run leaks in
    return env


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder where both ranks of a 2-process fit of `ddp_script.Trio` left their state."""
    out = tmp_path_factory.mktemp("ddp")
    done = subprocess.run([sys.executable, str(Path(ddp_script.__file__)), str(out), "--devices", "2", "--steps", str(STEPS)],
                          capture_output=True, text=True, timeout=TIMEOUT_S, env=_python_env(), cwd=ROOT)
    assert done.returncode == 0, done.stderr[-4000:]
    return out


def _state(folder: Path, rank: int, step: int) -> dict[str, torch.Tensor]:
    return torch.load(folder / f"rank{rank}_step{step}.pt", weights_only=True)


def test_every_quantizer_and_neuron_is_bit_identical_on_both_ranks(two_processes):
    for step in range(1, STEPS + 1):
        rank0, rank1 = _state(two_processes, 0, step), _state(two_processes, 1, step)
        assert rank0.keys() == rank1.keys()
        differing = [key for key in rank0 if rank0[key].dtype != rank1[key].dtype or not torch.equal(rank0[key], rank1[key])]
        assert differing == [], f"step {step}: rank 0 and rank 1 differ in {differing}"
    names = " ".join(rank0)
    for state in ("running_max", "fractional_length", "alpha", "beta", "current_temperature", "step", "leak.weight", "initialized"):
        assert state in names, f"the networks should hold {state!r} (what this test is about)"
    # the ranks trained on different samples: identity comes from synchronisation, not from identical inputs
    seen0, seen1 = (torch.load(two_processes / f"rank{r}_inputs.pt", weights_only=True) for r in (0, 1))
    assert all(a != b for a, b in zip(seen0["input_sums"], seen1["input_sums"]))
    # the control observer: each rank's own maximum differs, the synchronised one is the global batch's on both
    for (local0, shared0), (local1, shared1) in zip(seen0["observed_max"], seen1["observed_max"]):
        assert local0 != local1
        assert shared0 == shared1 == max(local0, local1)


def _ir_arrays(path: Path, *, measured: bool = True) -> dict[str, np.ndarray]:
    """The arrays of a saved integer network (``network.ir.npz``); ``measured=False``: only its integer arrays
    (weights, scales, biases, thresholds), not the activity measured on inputs nor the description naming them."""
    with np.load(path, allow_pickle=False) as data:
        return {key: data[key] for key in data.files if measured or (key != "__ir__" and "activity." not in key)}


def _integer_network(model: torch.nn.Module, path: Path, *, method: str, options: dict, input_shape: tuple[int, ...]) -> Path:
    """``model``'s integer network, converted as a run converts it, saved at ``path``."""
    from snnq.conversion import convert, to_ir
    from snnq.hardware import save_ir

    snn = convert(model.eval(), method=method, **options)
    return save_ir(to_ir(snn, name="demo", input_shape=input_shape), path)


def _assert_same_arrays(one: dict[str, np.ndarray], other: dict[str, np.ndarray]) -> None:
    assert one.keys() == other.keys() and len(one) > 0
    for key in one:
        assert one[key].dtype == other[key].dtype and np.array_equal(one[key], other[key]), key


def test_rank_one_would_export_the_same_integer_network(two_processes, tmp_path):
    arrays = []
    for rank in (0, 1):
        trio = ddp_script.Trio(steps=1)
        trio.load_state_dict(_state(two_processes, rank, STEPS))
        path = _integer_network(trio.demo, tmp_path / f"rank{rank}.ir.npz", method="scatter_gather",
                                options={"spike_budget": 4}, input_shape=(ddp_script.FEATURES,))
        arrays.append(_ir_arrays(path))
    _assert_same_arrays(*arrays)


def test_two_processes_and_one_reach_the_same_state_after_the_first_step(two_processes, tmp_path):
    ddp_script.fit(tmp_path, devices=1, steps=1)  # the same global batch of 8, in one process
    one, two = _state(tmp_path, 0, 1), _state(two_processes, 0, 1)
    assert one.keys() == two.keys()
    for key in one:
        if one[key].is_floating_point():
            torch.testing.assert_close(two[key], one[key], rtol=1e-5, atol=1e-6, msg=key)
        else:  # integer state (fractional lengths, flags) exactly
            assert one[key].dtype == two[key].dtype and torch.equal(one[key], two[key]), key


def test_the_replica_check_sees_any_difference():
    trio = ddp_script.Trio(steps=1)
    before = state_digest(trio)
    quantizer = trio.observers.layers[2].quantizer
    quantizer.running_max.add_(1e-6)
    assert state_digest(trio) != before
    sync = QuantizerSync()
    sync.replica_digests = [before, state_digest(trio)]
    assert sync.identical is False
    with pytest.raises(RuntimeError, match="differs across ranks"):
        sync.check()


def _train_demo_on_two_processes(tmp_path: Path, strategy: str, *overrides: str) -> tuple[subprocess.CompletedProcess, Path, dict]:
    """``snnq train recipe=demo`` (a few batches) on 2 CPU processes: the process, the run directory, its results."""
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "snnq", "train", "recipe=demo", "trainer=fast", "trainer.devices=2", f"trainer.strategy={strategy}",
         f"runs_dir={runs}", "robustness=null", "ir_samples=4", "verify.max_batches=2", *overrides],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=_python_env(), cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = list(runs.rglob("results.json"))
    assert len(results) == 1
    assert [p.name for p in runs.iterdir()] == ["demo"] and len(list((runs / "demo").iterdir())) == 1  # one run directory
    training = json.loads(results[0].read_text())["training"]
    assert training["processes"] == 2 and training["strategy"] == strategy and training["replicas_identical"] is True
    return done, results[0].parent, json.loads(results[0].read_text())


def test_snnq_train_on_two_processes_writes_one_result_from_rank_zero(tmp_path):
    done, run_dir, _ = _train_demo_on_two_processes(tmp_path, "ddp")
    assert not list(run_dir.glob("train_ddp_process_*")), "a rank > 0 wrote into the run directory"
    assert (run_dir / "network.ir.npz").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()
    # the console: each Lightning line once, no advertisement
    assert done.stdout.count("GPU available") == 1 and "Tip:" not in done.stdout + done.stderr


def test_snnq_train_with_ddp_spawn_exports_the_network_rank_zero_trained(tmp_path):
    """``ddp_spawn`` pickles the quantized network into 2 started processes (`snnq.quant.pickling`); rank 0 sends its
    trained weights back, and the main process converts, verifies and writes the results once: its integer network
    is the one of rank 0's last checkpoint (the state at the end of the fit, quantizer state included)."""
    from snnq.experiment.pipeline import apply_quantization, build_model
    from snnq.hardware import load_ir

    done, run_dir, results = _train_demo_on_two_processes(tmp_path, "ddp_spawn", "trainer.max_epochs=2")
    for unactionable in ("LeafSpec", "DistributedSampler"):  # the started processes apply snnq's filters (QuietProcess)
        assert unactionable not in done.stderr, done.stderr[-2000:]
    assert results["metrics"]["train_epoch_seconds"] is not None and results["metrics"]["logit_mismatches"] == 0
    checkpoint = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    assert checkpoint["global_step"] > 0
    model = build_model(results["model"])
    apply_quantization(model, results["quantizers"])
    model.load_state_dict({key.removeprefix("model."): value for key, value in checkpoint["state_dict"].items()})
    converter = results["converter"]
    trained = _integer_network(model, tmp_path / "rank0.ir.npz", method=converter["method"], options=converter["options"],
                               input_shape=load_ir(run_dir).input_shape)
    _assert_same_arrays(_ir_arrays(trained, measured=False), _ir_arrays(run_dir / "network.ir.npz", measured=False))
