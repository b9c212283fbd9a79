"""`snnq leaderboard <sweep_dir>` shows a sweep whole: every job in one table, the accuracy-energy Pareto front
(plot and a ``pareto`` flag per row), the jobs without an energy figure, and the failed jobs with their reasons,
those that failed in a step of their run (``status: failed``) and those that failed before training
(``failed_jobs.jsonl``). The sweep trees are written by hand, not trained."""

from __future__ import annotations

import json
import multiprocessing
import os
import time

import yaml

from snnq.cli.main import main
from snnq.experiment import failed_jobs
from snnq.experiment.leaderboard import write_leaderboard

BITS0_ERROR = "quant: dynamic_fixed_point: bits=0 is invalid; use bits >= 2"
IR_ERROR = "the layer AvgPool2d(kernel_size=3) has no integer form"


def _job(sweep, bits: int, *, accuracy: float, energy: float | None = None, failed: bool = False) -> str:
    """Writes a job's folder as a sweep leaves it: ``.hydra/overrides.yaml`` and ``results.json``."""
    name = f"quant.weight.bits={bits}"
    folder = sweep / name
    (folder / ".hydra").mkdir(parents=True)
    (folder / ".hydra" / "overrides.yaml").write_text(yaml.safe_dump(["recipe=demo", f"quant.weight.bits={bits}", f"runs_dir={sweep.parent}"]))
    results = {
        "recipe": "demo", "dataset": {"name": "synthetic"}, "model": {"name": "mlp"},
        "quantizers": {"weight": {"name": "dynamic_fixed_point", "bits": bits}}, "converter": {"method": "qcfs"}, "steps": 4,
        "metrics": {"quantized_accuracy": accuracy, "snn_accuracy": None if failed else accuracy, "logit_mismatches": None if failed else 0},
        "paper": [], "status": "failed" if failed else "completed",
    }
    if failed:
        results["ir"] = {"written": False, "reason": IR_ERROR}
        results["hardware"] = {"preset": "zou2021_chip", "written": False, "reason": "the network has no integer IR (see results['ir'])"}
    elif energy is not None:
        results["ir"] = {"written": True, "exact": True}
        results["hardware"] = {"preset": "zou2021_chip", "written": True, "totals": {"energy_j": energy, "latency_s": 1e-4}}
    (folder / "results.json").write_text(json.dumps(results))
    return name


def _sweep_with_two_good_and_two_failed_jobs(tmp_path):
    sweep = tmp_path / "runs" / "demo" / "sweep"
    front = _job(sweep, 4, accuracy=0.95, energy=2e-6)
    dominated = _job(sweep, 8, accuracy=0.94, energy=3e-6)  # less accurate for more energy than bits=4
    conversion = _job(sweep, 5, accuracy=0.96, failed=True)
    failed_jobs.record(sweep, "quant.weight.bits=0", ["recipe=demo", "quant.weight.bits=0"], BITS0_ERROR)
    return sweep, front, dominated, conversion


def test_the_leaderboard_of_a_sweep_lists_its_jobs_its_pareto_front_and_its_failed_jobs(tmp_path):
    sweep, front, dominated, conversion = _sweep_with_two_good_and_two_failed_jobs(tmp_path)
    rows, files = write_leaderboard(sweep)
    assert all(path.is_file() for path in files)
    assert (sweep / "accuracy_vs_energy.png").read_bytes()[:4] == b"\x89PNG"

    by_job = {os.path.basename(row["run"]): row for row in json.loads((sweep / "leaderboard.json").read_text())}
    assert sorted(by_job) == sorted([front, dominated, conversion, "quant.weight.bits=0"])
    assert by_job[front]["pareto"] is True
    assert by_job[dominated]["pareto"] is False, "a job less accurate for more energy than another must not be on the front"
    assert by_job[conversion]["pareto"] is None and by_job["quant.weight.bits=0"]["pareto"] is None
    assert [by_job[job]["verdict"] for job in (conversion, "quant.weight.bits=0")] == ["failed", "failed"]
    assert by_job["quant.weight.bits=0"]["failed_before_training"] is True
    assert by_job["quant.weight.bits=0"]["overrides"] == {"recipe": "demo", "quant.weight.bits": "0"}
    assert by_job[front]["overrides"] == {"recipe": "demo", "quant.weight.bits": "4"}  # runs_dir says where, not what

    board = (sweep / "LEADERBOARD.md").read_text()
    failed_list = board.split("## Failed jobs", 1)[1].strip().splitlines()
    assert len(failed_list) == 2, failed_list
    assert failed_list[0] == f"- demo: quant.weight.bits=0: before training: {BITS0_ERROR} (overrides: recipe=demo quant.weight.bits=0)"
    assert failed_list[1] == f"- demo: {conversion}: ir: {IR_ERROR}; hardware: the network has no integer IR (see results['ir'])"
    energy = board.split("## Accuracy against energy", 1)[1].split("## Failed jobs", 1)[0]
    assert f"| demo: {front} | synthetic | 95.0 | 2e-06 | yes |" in energy
    assert f"| demo: {dominated} | synthetic | 94.0 | 3e-06 | no |" in energy
    assert "Without an energy figure" not in energy  # the failed jobs are listed as failed, not as missing a figure


def test_jobs_without_an_energy_figure_are_listed_with_the_reason_and_a_trade_off_keeps_both_on_the_front(tmp_path):
    sweep = tmp_path / "sweep"
    cheap = _job(sweep, 2, accuracy=0.90, energy=1e-6)
    accurate = _job(sweep, 6, accuracy=0.97, energy=4e-6)
    dominated = _job(sweep, 3, accuracy=0.89, energy=1.5e-6)
    unmodelled = _job(sweep, 7, accuracy=0.99)  # no hardware preset: no energy figure, whatever its accuracy
    rows, _ = write_leaderboard(sweep)
    flags = {os.path.basename(row["run"]): row["pareto"] for row in rows}
    assert flags == {cheap: True, accurate: True, dominated: False, unmodelled: None}
    board = (sweep / "LEADERBOARD.md").read_text()
    assert f"- demo: {unmodelled}: no hardware report (the recipe names no hardware preset; add hardware=<preset>)" in board
    assert board.split("## Failed jobs", 1)[1].strip() == "None."


def test_snnq_leaderboard_prints_the_sweep_and_names_the_energy_plot(tmp_path, capsys):
    sweep, *_ = _sweep_with_two_good_and_two_failed_jobs(tmp_path)
    assert main(["leaderboard", str(sweep)]) == 0
    printed = capsys.readouterr().out
    assert "## Failed jobs" in printed and BITS0_ERROR in printed and IR_ERROR in printed
    assert str(sweep / "accuracy_vs_energy.png") in printed


def _append(args: tuple[str, int]) -> None:
    folder, worker = args
    for index in range(100):
        failed_jobs.record(folder, f"job{worker}_{index}", [f"x={index}"], "an error " + "that is long " * 40)


def test_failed_job_records_appended_by_parallel_processes_stay_whole_lines(tmp_path):
    with multiprocessing.get_context("fork").Pool(4) as pool:
        pool.map(_append, [(str(tmp_path), worker) for worker in range(4)])
    lines = (tmp_path / failed_jobs.FILENAME).read_text().splitlines()
    assert len(lines) == 400 and all(json.loads(line)["error"].startswith("an error") for line in lines)
    assert len(failed_jobs.read(tmp_path)) == 400


def test_a_job_that_ran_again_after_failing_is_no_longer_listed_as_failed(tmp_path):
    failed_jobs.record(tmp_path, "a=1", ["a=1"], "first try failed")
    failed_jobs.record(tmp_path, "a=2", ["a=2"], "failed")
    failed_jobs.record(tmp_path, "a=2", ["a=2"], "failed again")
    time.sleep(0.05)
    (tmp_path / "a=1").mkdir()
    (tmp_path / "a=1" / "results.json").write_text("{}")
    assert [(entry["job"], entry["error"]) for entry in failed_jobs.read(tmp_path)] == [("a=2", "failed again")]
