"""A run passes only when every expected figure passes; a failed step fails the run and `snnq train`; figures are
written in readable units."""

from __future__ import annotations

import json

import pytest

from snnq.cli.main import main
from snnq.experiment.app import summary_line
from snnq.experiment.leaderboard import write_leaderboard
from snnq.experiment.results import compare_with_paper
from snnq.experiment.verdicts import figure_verdicts, run_verdict

# zou2021/mnist_lenet's expected figures, and its run as recipes/RESULTS.md records it: accuracy, exactness and
# latency pass, energy (0.425 mJ against 0.28 mJ +-15 %) fails
ZOU2021_EXPECTED = [
    {"metric": "snn_accuracy", "value": 99.37, "unit": "%", "min": 99.2, "source": "Zou et al. 2021"},
    {"metric": "logit_mismatches", "value": 0, "max": 0, "source": "lossless conversion"},
    {"metric": "hardware_latency_s", "value": 0.00038, "tolerance": 0.000057, "source": "Zou et al. 2021: 0.38 ms +-15 %"},
    {"metric": "hardware_energy_j", "value": 0.00028, "tolerance": 0.000042, "source": "Zou et al. 2021: 0.28 mJ +-15 %"},
]
ZOU2021_RUN = {"snn_accuracy": 0.9930, "logit_mismatches": 0, "hardware_latency_s": 0.000373, "hardware_energy_j": 0.000425}


def zou2021_results(metrics: dict) -> dict:
    return {"recipe": "zou2021/mnist_lenet", "metrics": metrics, "paper": compare_with_paper(metrics, ZOU2021_EXPECTED)}


def test_a_run_passes_only_when_every_expected_figure_passes():
    results = zou2021_results(ZOU2021_RUN)
    figures = figure_verdicts(results)
    assert [(f["metric"], f["verdict"]) for f in figures] == [
        ("snn_accuracy", "pass"), ("logit_mismatches", "pass"), ("hardware_latency_s", "pass"), ("hardware_energy_j", "fail"),
    ]
    assert figures[3]["text"] == "energy 0.425 mJ vs 0.28 mJ, gap +0.145 mJ (+-0.042 mJ): fail"
    assert figures[3]["expected"] == 0.00028 and figures[3]["measured"] == 0.000425 and figures[3]["unit"] == "J"
    assert run_verdict(results) == "fail"
    assert run_verdict(zou2021_results({**ZOU2021_RUN, "hardware_energy_j": 0.00030})) == "pass"


def test_a_figure_left_unchecked_or_a_failed_step_keeps_a_run_from_passing():
    unmeasured = zou2021_results({**ZOU2021_RUN, "hardware_energy_j": None})  # e.g. no hardware report
    assert [f["verdict"] for f in figure_verdicts(unmeasured)][3] == "not measured"
    assert run_verdict(unmeasured) == "incomplete"
    assert run_verdict({"paper": []}) == "incomplete"  # no figure: nothing passed
    unbounded = {"paper": compare_with_paper({"memory_saving": 31.25}, [{"metric": "memory_saving", "value": 31, "source": "s"}])}
    assert figure_verdicts(unbounded)[0]["verdict"] == "no bound" and run_verdict(unbounded) == "incomplete"
    passing = zou2021_results({**ZOU2021_RUN, "hardware_energy_j": 0.00030})
    broken = {**passing, "hardware": {"preset": "zou2021_chip", "written": False, "reason": "the design needs 27200 LUT"}}
    assert run_verdict(broken) == "failed"


def test_leaderboard_shows_each_figures_own_verdict_and_the_runs(tmp_path):
    folder = tmp_path / "zou2021" / "mnist_lenet"
    folder.mkdir(parents=True)
    (folder / "results.json").write_text(json.dumps(zou2021_results(ZOU2021_RUN)))
    write_leaderboard(tmp_path)
    board = (tmp_path / "LEADERBOARD.md").read_text()
    assert "snn accuracy 99.30 % vs 99.37 %, gap -0.07 % (>= 99.20 %): pass" in board
    assert "latency 0.373 ms vs 0.38 ms, gap -0.007 ms (+-0.057 ms): pass" in board
    assert "energy 0.425 mJ vs 0.28 mJ, gap +0.145 mJ (+-0.042 mJ): fail | fail |" in board
    row = json.loads((tmp_path / "leaderboard.json").read_text())[0]
    assert row["verdict"] == "fail" and [f["verdict"] for f in row["figure_verdicts"]] == ["pass", "pass", "pass", "fail"]


def test_the_console_summary_writes_gaps_in_readable_units():
    line = summary_line(zou2021_results(ZOU2021_RUN))
    assert "latency 0.373 ms vs 0.38 ms, gap -0.007 ms (+-0.057 ms): pass" in line
    assert "energy 0.425 mJ vs 0.28 mJ, gap +0.145 mJ (+-0.042 mJ): fail" in line
    assert "snn accuracy 99.30 % vs 99.37 %, gap -0.07 % (>= 99.20 %): pass" in line
    assert "gap +0.00," not in line and "gap -0.00," not in line  # what a gap in seconds or joules read as before
    assert line.endswith("verdict fail (a run passes only when every expected figure passes)")


DEMO_FAST = ["recipe=demo", "trainer=fast", "trainer.max_epochs=1", "ir_samples=4", "verify.max_batches=2", "robustness=null"]
NO_INPUT_CODES = ["quant.input=null"]  # to_ir: the network's input is not quantized (a ConversionError)
TOO_SMALL_BOARD = ["hardware=nimbekar2024_pynq_z2", "hardware.hardware.board.lut=100"]  # a ResourceError


@pytest.mark.parametrize(
    ("extra", "exit_status", "step", "reason"),
    [
        (NO_INPUT_CODES, 1, "ir", "input is not quantized"),
        (TOO_SMALL_BOARD, 1, "hardware", "needs 27200 LUT but board 'pynq_z2' has 100"),
        ([*TOO_SMALL_BOARD, "continue_on_error=true"], 0, "hardware", "needs 27200 LUT"),
        ([], 0, None, None),
    ],
    ids=["conversion", "hardware", "continue_on_error", "no_failure"],
)
def test_snnq_train_fails_when_a_step_of_the_run_fails(tmp_path, capsys, extra, exit_status, step, reason):
    assert main(["train", *DEMO_FAST, *extra, f"hydra.run.dir={tmp_path}"]) == exit_status
    results = json.loads((tmp_path / "results.json").read_text())
    if step is None:
        assert results["status"] == "completed" and results["failures"] == [] and results["verdict"] == "pass"
        return
    assert results["status"] == "failed" and results["verdict"] == "failed"
    assert [f["step"] for f in results["failures"]] == [step] and reason in results["failures"][0]["reason"]
    printed = capsys.readouterr()
    assert f"failed: {step}: " in printed.out and "verdict failed" in printed.out
    assert ("snnq train: error: 1 run(s) failed" in printed.err) == (exit_status == 1)
