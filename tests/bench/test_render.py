"""`python -m bench render`: the committed RESULTS.md files are their results files rendered, every ratio is computed
from the stored times, and a broken results file is reported by name."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import render
from bench.harness import Timings
from bench.record import RunRecord, ResultsError
from snnq.experiment.results import compare_with_paper


def run_file(times: dict[str, float], **table: object) -> dict[str, object]:
    """A run of one timing table (first row the baseline), as a benchmark writes it."""
    spec = {"kind": "timings", "title": "step", "baseline": next(iter(times)), "times_ms": times, **table}
    return {"bench": "demo", "date": "2026-01-01", "tag": "a", "source": "measured", "command": "python -m bench demo",
            "device": "CPU", "tables": [spec]}


def tree(tmp_path: Path, run: dict[str, object] | str | None, bench_template: str = "{{ runs demo }}\n") -> Path:
    """A repository root with both templates and, unless ``run`` is None, one run file (a dict, or raw text)."""
    (tmp_path / "bench").mkdir()
    (tmp_path / "recipes").mkdir()
    (tmp_path / "bench" / "RESULTS.template.md").write_text(bench_template)
    (tmp_path / "recipes" / "RESULTS.template.md").write_text("# Results\n")
    if run is not None:
        path = tmp_path / "bench" / "results" / "demo" / "2026-01-01-a.json"
        path.parent.mkdir(parents=True)
        path.write_text(run if isinstance(run, str) else json.dumps(run))
    return tmp_path


def bench_document(root: Path) -> str:
    return render.render_documents(root)[root / "bench" / "RESULTS.md"]


def test_the_committed_documents_are_their_results_files_rendered():
    for path, text in render.render_documents().items():
        assert path.read_text() == text, f"{path} differs from its rendering: run python -m bench render"


def test_a_ratio_is_computed_from_the_stored_times_and_checked_against_its_target(tmp_path):
    times = {"float": 33.93, "quantized": 39.43}
    document = bench_document(tree(tmp_path, run_file(times, targets={"quantized": {"at_most": 1.15}})))
    assert "| quantized | 39.43 | 1.162 | <= 1.15 | **no** |" in document  # 39.43 / 33.93, not a typed figure
    assert "the ratio of the median times" in document
    faster = tmp_path / "faster"
    faster.mkdir()
    document = bench_document(tree(faster, run_file({"float": 33.93, "quantized": 38.0}, targets={"quantized": {"at_most": 1.15}})))
    assert "| quantized | 38.00 | 1.120 | <= 1.15 | yes |" in document


def test_with_every_round_kept_the_ratio_is_the_median_of_the_per_round_ratios(tmp_path):
    # rounds: 1/1, 4/1, 2/2 -> median 1, where the medians' ratio is 2 / 1
    samples = {"float": [1.0, 1.0, 2.0], "quantized": [1.0, 4.0, 2.0]}
    document = bench_document(tree(tmp_path, run_file({"float": 1.0, "quantized": 2.0}, samples_ms=samples)))
    assert "| quantized | 2.00 | 1.000 |" in document
    assert "the median of the per-round ratios" in document


def test_a_benchmark_run_file_renders_what_it_measured(tmp_path):
    record = RunRecord("demo")
    record.timings("step", Timings({"float": [10.0, 10.0, 10.0], "quantized": [12.0, 13.0, 11.0]}), "float",
                   targets={"quantized": {"at_most": 1.15}})
    record.records("counts", ["network", "operations"], [["float", 153], ["quantized", 233]])
    path = record.write(tmp_path / "results")
    assert path.parent.name == "demo" and path.name.startswith(record.data["date"])
    text = render.render_run(json.loads(path.read_text()), str(path))
    assert "| quantized | 12.00 | 1.200 | <= 1.15 | **no** |" in text
    assert "| quantized | 233 |" in text


@pytest.mark.parametrize(
    ("run", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"bench": "demo", "tables": []}, "missing date, tag, source, command, device"),
        ({**run_file({"a": 1.0}), "tables": [{"kind": "guesses", "title": "x"}]}, "kind 'guesses' is not one of"),
        (run_file({"a": 1.0}) | {"tables": [{"kind": "timings", "title": "x", "baseline": "b", "times_ms": {"a": 1.0}}]}, "'b' not among the timed rows"),
    ],
)
def test_a_broken_run_file_is_reported_by_name(tmp_path, run, message):
    root = tree(tmp_path, run)
    with pytest.raises(ResultsError, match=message) as error:
        bench_document(root)
    assert str(root / "bench" / "results" / "demo" / "2026-01-01-a.json") in str(error.value)


def test_missing_results_are_reported_by_name(tmp_path):
    root = tree(tmp_path, None)
    with pytest.raises(ResultsError, match="no run files") as error:
        bench_document(root)
    assert str(root / "bench" / "results" / "demo") in str(error.value)
    (root / "recipes" / "RESULTS.template.md").write_text("{{ presets_check }}\n")
    with pytest.raises(ResultsError, match="no such results file") as error:
        render.render_template(root / "recipes" / "RESULTS.template.md", root)
    assert str(root / "recipes" / "results" / "presets_check.json") in str(error.value)


def test_run_files_that_no_template_renders_are_an_error(tmp_path):
    root = tree(tmp_path, run_file({"a": 1.0}), bench_template="# nothing rendered\n")
    with pytest.raises(ResultsError, match="demo that no template renders"):
        render.render_documents(root)


def test_render_check_exits_1_on_a_stale_document_and_render_rewrites_it(tmp_path, monkeypatch):
    root = tree(tmp_path, run_file({"float": 10.0, "quantized": 12.0}))
    monkeypatch.setattr(render, "ROOT", root)
    (root / "bench" / "RESULTS.md").write_text("| quantized | 12.00 | 1.100 |\n")  # a figure edited by hand
    (root / "recipes" / "RESULTS.md").write_text("# Results\n")
    assert render.main(["--check"]) == 1
    assert render.main([]) == 0
    assert "| quantized | 12.00 | 1.200 |" in (root / "bench" / "RESULTS.md").read_text()
    assert render.main(["--check"]) == 0


def test_a_recipe_run_shows_each_expected_figure_with_its_own_verdict(tmp_path):
    expected = [
        {"metric": "snn_accuracy", "value": 99.37, "unit": "%", "min": 99.2},
        {"metric": "hardware_energy_j", "value": 0.28e-3, "tolerance": 0.042e-3},
    ]
    metrics = {"quantized_accuracy": 0.993, "snn_accuracy": 0.993, "logit_mismatches": 0, "hardware_energy_j": 0.425e-3,
               "verify_mode": "step", "accumulator_mismatches": 0}
    results = {"recipe": "zou2021/mnist_lenet", "metrics": metrics, "paper": compare_with_paper(metrics, expected),
               "dataset": {"name": "MNIST"}, "environment": {"device": "CPU", "wall_time_s": 346.0}}
    root = tree(tmp_path, None, bench_template="# Benchmarks\n")
    path = root / "recipes" / "results" / "zou2021" / "mnist_lenet.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(results))
    text = render.recipe_runs(root)
    assert "| zou2021/mnist_lenet | CPU | 1 | MNIST | - | 99.30 % | 99.30 % | step | 0 | 0 | fail | 5 min 46 s |" in text
    assert "| zou2021/mnist_lenet | snn accuracy | 99.30 % | 99.37 % | min 99.20 % | pass |" in text
    assert "| zou2021/mnist_lenet | energy | 0.425 mJ | 0.28 mJ | tolerance 0.042 mJ | fail |" in text


def test_recorded_recipe_rows_give_way_to_a_committed_results_file(tmp_path):
    root = tree(tmp_path, None, bench_template="# Benchmarks\n")
    results = root / "recipes" / "results"
    (results / "liu2018").mkdir(parents=True)
    recorded = {"source": "transcribed", "tables": [{"title": "runs", "columns": ["recipe", "SNN"],
                                                     "rows": [["liu2018/mnist_4bit", "99.26 %"], ["shymyrbay2023/nmnist_binary", "82.00 %"]]}]}
    (results / "recorded.json").write_text(json.dumps(recorded))
    assert "liu2018/mnist_4bit" in render.recorded_recipe_runs(root)
    (results / "liu2018" / "mnist_4bit.json").write_text(json.dumps({"recipe": "liu2018/mnist_4bit", "metrics": {}, "paper": []}))
    text = render.recorded_recipe_runs(root)
    assert "liu2018/mnist_4bit" not in text and "shymyrbay2023/nmnist_binary" in text


def test_the_presets_table_reads_the_keys_that_snnq_hw_presets_check_writes():
    from snnq.hardware.check import run_checks
    from snnq.hardware.check_table import check_rows, check_summary

    results = run_checks(["zou2021_chip"])
    assert set(render.PRESET_KEYS) <= set(check_rows(results)[0])
    assert {"line", "outside_tolerance"} <= set(check_summary(results))


def test_the_committed_presets_check_is_what_the_presets_model_today():
    """recipes/results/presets_check.json is regenerated (`snnq hw presets --check --json ...`) when a preset changes."""
    from snnq.hardware.check import run_checks
    from snnq.hardware.check_table import check_rows, check_summary

    committed = json.loads((render.ROOT / render.RECIPE_RESULTS / "presets_check.json").read_text())
    results = run_checks()
    assert committed["summary"] == check_summary(results), "rerun: snnq hw presets --check --json recipes/results/presets_check.json"
    for stored, current in zip(committed["rows"], check_rows(results), strict=True):
        assert stored.keys() == current.keys()
        for key, value in current.items():
            close = stored[key] == pytest.approx(value, rel=1e-9) if isinstance(value, float) else stored[key] == value
            assert close, f"{stored['preset']} {stored['check']} {key}: rerun snnq hw presets --check --json recipes/results/presets_check.json"
