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


def test_rank_one_would_export_the_same_integer_network(two_processes, tmp_path):
    from snnq.conversion import convert, to_ir
    from snnq.hardware import save_ir

    arrays = []
    for rank in (0, 1):
        trio = ddp_script.Trio(steps=1)
        trio.load_state_dict(_state(two_processes, rank, STEPS))
        snn = convert(trio.demo.eval(), method="scatter_gather", spike_budget=4)
        path = save_ir(to_ir(snn, name="demo", input_shape=(ddp_script.FEATURES,)), tmp_path / f"rank{rank}.ir.npz")
        with np.load(path, allow_pickle=False) as data:
            arrays.append({key: data[key] for key in data.files})
    assert arrays[0].keys() == arrays[1].keys() and len(arrays[0]) > 0
    for key in arrays[0]:
        assert np.array_equal(arrays[0][key], arrays[1][key]), key


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


def test_snnq_train_on_two_processes_writes_one_result_from_rank_zero(tmp_path):
    runs = tmp_path / "runs"
    done = subprocess.run(
        [sys.executable, "-m", "snnq", "train", "recipe=demo", "trainer=fast", "trainer.devices=2", "trainer.strategy=ddp",
         f"runs_dir={runs}", "robustness=null", "ir_samples=4", "verify.max_batches=2"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=_python_env(), cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    results = list(runs.rglob("results.json"))
    assert len(results) == 1
    run_dir = results[0].parent
    training = json.loads(results[0].read_text())["training"]
    assert training["processes"] == 2 and training["strategy"] == "ddp" and training["replicas_identical"] is True
    assert [p.name for p in runs.iterdir()] == ["demo"] and len(list((runs / "demo").iterdir())) == 1  # one run directory
    assert not list(run_dir.glob("train_ddp_process_*")), "a rank > 0 wrote into the run directory"
    assert (run_dir / "network.ir.npz").is_file() and (run_dir / "checkpoints" / "last.ckpt").is_file()
    # the console: each Lightning line once, no advertisement
    assert done.stdout.count("GPU available") == 1 and "Tip:" not in done.stdout + done.stderr
