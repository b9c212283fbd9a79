"""Design-space sweeps and Pareto fronts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from snnq.errors import ConfigError
from snnq.hardware.crossbar import NonIdealSpec
from snnq.hardware.networks import paper_network
from snnq.hardware.presets import load_preset
from snnq.hardware.result import HardwareReport
from snnq.hardware.simulate import simulate
from snnq.hardware.spec import with_overrides
from snnq.hardware.sweep import SweepResult, pareto_front, plot_pareto, sweep

from .conftest import random_spikes, small_network


def test_a_grid_of_network_and_hardware_knobs_gives_one_result_per_point():
    network = paper_network("lenet5_mnist", weight_bits=8, time_steps=15)
    results = sweep(network, "liu2018_memristor", {"weight_bits": [4, 8], "tile.adc_bits": [4, 6]})
    assert [dict(r.point) for r in results] == [
        {"weight_bits": 4, "tile.adc_bits": 4}, {"weight_bits": 4, "tile.adc_bits": 6},
        {"weight_bits": 8, "tile.adc_bits": 4}, {"weight_bits": 8, "tile.adc_bits": 6},
    ]
    adc = [r.report.total("energy_adc_j") for r in results]
    assert adc[1] == pytest.approx(4 * adc[0]) and adc[3] == pytest.approx(4 * adc[2])
    tiles = [r.report.total("tiles_used") for r in results]
    assert tiles[2] > tiles[0]  # 8-bit weights take twice the slices


def test_a_network_builder_rebuilds_the_network_per_point():
    results = sweep(lambda p: paper_network("lenet5_mnist", time_steps=p["time_steps"]), "liu2018_memristor",
                    {"time_steps": [7, 15], "tile.rows": [64, 128]})
    latency = {(r.point["time_steps"], r.point["tile.rows"]): r.report.total("latency_s") for r in results}
    assert latency[(15, 128)] > latency[(7, 128)] and latency[(15, 64)] != latency[(15, 128)]


def test_the_sweep_reports_accuracy_under_non_idealities():
    preset = load_preset("liu2018_memristor")
    hardware = with_overrides(preset.hardware, {"tile.readout": "parallel", "tile.cols_per_adc": 8})
    preset = replace(preset, hardware=replace(hardware, nonideal=replace(NonIdealSpec.ideal(), adc_clip=True)))
    network = small_network(time_steps=4)
    x = random_spikes(network, 12, rate=0.7)
    labels = simulate(network, x).predictions
    results = sweep(network, preset, {"tile.adc_bits": [1, 10]}, inputs=x, labels=labels)
    assert results[1].accuracy == 1.0 and results[1].report.accuracy["exact_outputs"] == 1.0
    assert results[0].report.accuracy["exact_outputs"] < 1.0  # 1-bit converters clip every partial sum


def point(energy: float, accuracy: float) -> SweepResult:
    return SweepResult({"e": energy}, HardwareReport("x", "", "n", (), {"energy_j": energy, "latency_s": 1.0}), accuracy)


def test_the_pareto_front_keeps_the_undominated_points():
    results = [point(1, 0.5), point(2, 0.9), point(3, 0.8), point(0.5, 0.2), point(2, 0.95), point(4, 0.95)]
    assert pareto_front(results) == [3, 0, 4]
    assert pareto_front(results, {"energy_j": "min"}) == [3]


def test_the_pareto_plot_is_a_png(tmp_path):
    results = [point(1, 0.5), point(2, 0.9), point(3, 0.8)]
    path = plot_pareto(results, tmp_path / "pareto.png")
    assert path.read_bytes().startswith(b"\x89PNG")


def test_unknown_grid_keys_are_named():
    with pytest.raises(ConfigError, match="sweep grid: unknown key 'tile.adc_bit'"):
        sweep(small_network(), "liu2018_memristor", {"tile.adc_bit": [4]})
