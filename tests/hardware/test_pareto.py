"""Pareto fronts of a sweep's runs: by hand on written results, and over a real (tiny) Hydra multirun."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from snnq.cli import hw_pareto
from snnq.errors import ConfigError
from snnq.hardware.pareto import collect, non_dominated, pareto_front, write_pareto


def write_run(root: Path, name: str, *, accuracy: float | None, energy: float | None, latency: float = 1e-3, overrides=None) -> Path:
    run = root / name
    (run / ".hydra").mkdir(parents=True)
    results = {"metrics": {} if accuracy is None else {"snn_accuracy": accuracy}}
    if energy is not None:
        results["hardware"] = {"preset": "p", "totals": {"energy_j": energy, "latency_s": latency, "area_mm2": 1.0, "power_w": energy / latency},
                               "accuracy": {"nonideal": (accuracy or 0.0) - 0.1}}
    else:
        results["hardware"] = {"preset": "p", "written": False, "reason": "layer 'fc' does not fit"}
    (run / "results.json").write_text(json.dumps(results))
    items = overrides if overrides is not None else [f"x={name}"]
    (run / ".hydra" / "overrides.yaml").write_text("".join(f"- {item}\n" for item in items))
    return run


def test_a_point_is_on_the_front_unless_another_is_as_good_everywhere_and_better_somewhere():
    values = np.array([[0.9, 2.0], [0.8, 1.0], [0.85, 3.0], [0.9, 2.0], [0.7, 1.0]])
    assert non_dominated(values, ["max", "min"]) == [0, 1, 3]  # ties both stay; (0.7, 1.0) loses to (0.8, 1.0)
    assert non_dominated(values[:, :1], ["max"]) == [0, 3]
    with pytest.raises(ConfigError, match="objective direction must be one of min, max, got 'up'"):
        non_dominated(values, ["up", "min"])


def test_runs_are_collected_with_their_overrides_and_the_unusable_ones_named(tmp_path):
    write_run(tmp_path, "a", accuracy=0.9, energy=2e-6, overrides=["recipe=demo", "quant.weight.bits=4", "runs_dir=/x"])
    write_run(tmp_path, "b", accuracy=0.8, energy=1e-6, overrides=["recipe=demo", "quant.weight.bits=2", "runs_dir=/x"])
    write_run(tmp_path, "c", accuracy=0.95, energy=None)
    write_run(tmp_path, "d", accuracy=None, energy=1e-6)
    points, skipped = collect(tmp_path)
    assert [p.run for p in points] == ["a", "b"] and points[0].config == {"recipe": "demo", "quant.weight.bits": "4"}
    assert points[1].metrics == {"accuracy": 0.8, "energy_j": 1e-6, "latency_s": 1e-3, "area_mm2": 1.0, "power_w": 1e-3}
    assert {s["run"]: s["reason"] for s in skipped} == {"c": "no hardware totals: layer 'fc' does not fit",
                                                       "d": "no network accuracy (looked for metrics.snn_accuracy, metrics.quantized_accuracy, metrics.float_accuracy)"}
    hardware, _ = collect(tmp_path, accuracy="hardware")
    assert hardware[0].metric("accuracy") == pytest.approx(0.8)
    assert pareto_front(points) == [1, 0] and pareto_front(points, {"latency_s": "min", "energy_j": "min"}) == [1]
    with pytest.raises(ConfigError, match="run 'a' has no metric 'energy'"):
        points[0].metric("energy")


def test_the_cli_writes_pareto_json_and_png(tmp_path, capsys):
    write_run(tmp_path, "a", accuracy=0.9, energy=2e-6)
    write_run(tmp_path, "b", accuracy=0.8, energy=1e-6)
    write_run(tmp_path, "c", accuracy=0.7, energy=3e-6)
    parser = argparse.ArgumentParser()
    hw_pareto.add_parser(parser.add_subparsers())
    args = parser.parse_args(["pareto", str(tmp_path), "--out", str(tmp_path / "out")])
    assert args.run(args) == 0
    out = capsys.readouterr().out
    assert "3 runs, 2 on the Pareto front (accuracy max, energy_j min)" in out
    document = json.loads((tmp_path / "out" / "pareto.json").read_text())
    assert document["front"] == ["b", "a"] and [p["on_front"] for p in document["points"]] == [True, True, False]
    assert (tmp_path / "out" / "pareto.png").read_bytes().startswith(b"\x89PNG")
    with pytest.raises(ConfigError, match="--objective expects METRIC:min or METRIC:max, got 'energy_j'"):
        hw_pareto.parse_objectives(["energy_j"])
    with pytest.raises(ConfigError, match="no design points below"):
        write_pareto(tmp_path / "out")


def test_a_real_multirun_sweep_gives_a_pareto_front(tmp_path):
    """Two jobs of the demo recipe on the S1 chip (2- and 4-bit weights) through Hydra's basic launcher."""
    from hydra.core.global_hydra import GlobalHydra

    from snnq.experiment.app import train

    sweep = tmp_path / "runs" / "demo" / "sweep"
    overrides = ["recipe=demo", "hardware=zou2021_chip", "trainer=fast", "trainer.max_epochs=1", "robustness=null", "ir_samples=8",
                 "data.limit=400", "quant.weight.bits=2,4", f"runs_dir={tmp_path / 'runs'}", f"hydra.sweep.dir={sweep}", "-m"]
    GlobalHydra.instance().clear()
    try:
        assert train(overrides) == 0
    finally:
        GlobalHydra.instance().clear()
    runs = sorted(path.parent.name for path in sweep.rglob("results.json"))
    assert len(runs) == 2 and all("quant.weight.bits=" in name for name in runs)
    result = write_pareto(sweep)
    assert len(result.points) == 2 and not result.skipped
    bits = {p.config["quant.weight.bits"]: p for p in result.points}
    # 4-bit weights ride on 7 ternary replicas per input row, 2-bit ones (codes -2..1) on 2: more energy
    assert bits["4"].metric("energy_j") > bits["2"].metric("energy_j") > 0
    document = json.loads((sweep / "pareto.json").read_text())
    assert document["varying"] == ["quant.weight.bits"] and set(document["front"]) <= set(runs) and document["front"]
    assert (sweep / "pareto.png").is_file()
