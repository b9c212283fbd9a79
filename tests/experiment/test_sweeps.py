"""Sweeps on Hydra's launcher plugins (hydra-joblib-launcher, hydra-submitit-launcher): the jobs run in other
processes, land in one sweep directory, and `snnq leaderboard <sweep_dir>` reads them whole."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import yaml

from tests.conftest import ROOT

FAST = ["recipe=demo", "trainer=fast", "robustness=null", "ir_samples=4", "verify.max_batches=2"]
TIMEOUT_S = 400


def _sweep(tmp_path, launcher: list[str], values: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "snnq", "train", "-m", *FAST, f"runs_dir={tmp_path / 'runs'}", f"quant.weight.bits={values}", *launcher],
        capture_output=True, text=True, timeout=TIMEOUT_S, cwd=tmp_path, env={"PYTHONPATH": str(ROOT), **_env()},
    )


def _env() -> dict[str, str]:
    return {key: value for key, value in os.environ.items() if key not in ("HYDRA_FULL_ERROR", "LOCAL_RANK", "MASTER_PORT")}


def test_a_joblib_sweep_runs_its_jobs_in_other_processes_and_reports_the_failed_one(tmp_path):
    done = _sweep(tmp_path, ["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], "0,3")
    sweep = tmp_path / "runs" / "demo" / "sweep"
    # the job with bits=0 fails with snnq's one line; the other job's run is complete
    assert done.returncode == 2, done.stderr[-3000:]
    assert done.stderr.strip().splitlines()[-1].startswith("snnq train: error: quant: dynamic_fixed_point: bits=0 is invalid")
    results = sorted(sweep.rglob("results.json"))
    assert len(results) == 1 and "quant.weight.bits=3," in results[0].parent.name
    assert not any("bits=0" in p.name for p in sweep.iterdir()), "the failed job left a run directory"
    launched = yaml.safe_load((sweep / "multirun.yaml").read_text())["hydra"]["launcher"]
    assert launched["_target_"].endswith("JoblibLauncher") and launched["n_jobs"] == 2
    # the leaderboard reads the sweep directory whole
    board = subprocess.run([sys.executable, "-m", "snnq", "leaderboard", str(sweep)], capture_output=True, text=True, timeout=120,
                           env={"PYTHONPATH": str(ROOT), **_env()})
    assert board.returncode == 0, board.stderr
    rows = [line for line in board.stdout.splitlines() if line.startswith("| demo ")]
    assert len(rows) == 2 and "dynamic_fixed_point 3b" in rows[1], rows
    # the job that failed before training: recorded by its worker, listed with its reason
    assert "before training: quant: dynamic_fixed_point: bits=0 is invalid" in rows[0], rows
    failed = [line for line in board.stdout.split("## Failed jobs", 1)[1].splitlines() if line.startswith("- ")]
    assert len(failed) == 1 and "quant.weight.bits=0," in failed[0] and "before training: quant: dynamic_fixed_point: bits=0 is invalid" in failed[0], failed
    record = json.loads((sweep / "failed_jobs.jsonl").read_text())
    assert "quant.weight.bits=0" in record["overrides"] and record["error"].startswith("quant: dynamic_fixed_point: bits=0 is invalid")
    assert (sweep / "accuracy_vs_energy.png").is_file()


def test_a_submitit_local_sweep_lands_in_one_sweep_directory(tmp_path):  # the cluster launcher, through its local executor
    done = _sweep(tmp_path, ["hydra/launcher=submitit_local", "hydra.launcher.timeout_min=10"], "3,4")
    assert done.returncode == 0, done.stderr[-3000:]
    results = sorted((tmp_path / "runs" / "demo" / "sweep").rglob("results.json"))
    assert len(results) == 2
    assert {json.loads(p.read_text())["quantizers"]["weight"]["bits"] for p in results} == {3, 4}
