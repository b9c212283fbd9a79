"""Cost accounting of the extended IR on every backend: schedules, threshold groups, TTFS step thresholds,
accumulator shifts and per-channel pre-charges."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from snnq.hardware.crossbar import CrossbarBackend
from snnq.hardware.digital import DigitalAreaSpec, DigitalBackend, DigitalEnergySpec, DigitalSpec
from snnq.hardware.fpga import FpgaBackend
from snnq.hardware.ir import Activity, Dense, Network, Neuron
from snnq.hardware.neuron_work import comparisons, membrane_updates
from snnq.hardware.simulate import calibrate

from .conftest import crossbar_spec
from .test_costs import core, fpga_spec

WEIGHT = np.array([[1, -2, 3, 0], [-1, 1, 0, 2]], dtype=np.int8)
NEURONS = {
    "if": Neuron(kind="if", threshold=2, membrane_bits=8),
    "group": Neuron(kind="sg_stateless", threshold=2, membrane_bits=8, levels=3, spacing=2),
    "ttfs": Neuron(kind="ttfs", threshold=8, membrane_bits=8, step_thresholds=np.array([8, 4, 2, 1])),
}


def one_layer(neuron: Neuron, *, schedule: str, steps: int = 4, **layer) -> Network:
    fc = Dense(name="fc", input_shape=(4,), output_shape=(2,), weight=WEIGHT, weight_bits=3, neuron=neuron,
               activity=Activity(spikes=3.0, synops=10.0, measured=True), **layer)
    return Network(name="n", input_shape=(4,), time_steps=steps, coding="ttfs" if neuron.kind == "ttfs" else "rate", layers=(fc,),
                   input_activity=Activity(spikes=5.0, synops=0.0, measured=True), schedule=schedule)


@pytest.mark.parametrize(
    ("neuron", "schedule", "expected"),
    [
        ("if", "parallel", 2 * 4),  # every step
        ("if", "layerwise", 2 * 4),  # the burst of the firing window: one compare-and-subtract per step
        ("group", "parallel", 2 * 3 * 4),  # 3 thresholds per element, every step
        ("group", "layerwise", 2 * 3 * 1),  # one evaluation of the integrated window, 3 thresholds
        ("ttfs", "layerwise", 2 * 4),  # one compare with step_thresholds[t] per step
    ],
)
def test_threshold_comparisons_follow_the_schedule_and_the_group(neuron, schedule, expected):
    network = one_layer(NEURONS[neuron], schedule=schedule)
    assert comparisons(network, network.layers[0]) == expected
    crossbar = CrossbarBackend(crossbar_spec(readout="parallel")).evaluate(network).layers[0]
    assert crossbar.counts["neuron_updates"] == expected
    assert crossbar.energy_j["neuron"] == pytest.approx(expected * 8 * 0.25e-12)  # x membrane bits x pJ per bit
    fpga = FpgaBackend(fpga_spec()).evaluate(network).layers[0]
    assert fpga.counts["neuron_updates"] == expected and fpga.cycles == 5 + expected / 2  # 2 PEs x 1 neuron lane


def test_a_group_reads_its_membrane_once_and_compares_with_each_threshold():
    spec = DigitalSpec(technology_nm=28, voltage_v=0.9, core=core(),
                       energy=DigitalEnergySpec(add_pj_per_bit=0.0, sram_pj_per_bit=1.0, dram_pj_per_bit=0.0, neuron_pj_per_bit=0.5, static_w=0.0),
                       area=DigitalAreaSpec(pe_mm2=0.0, sram_mm2_per_mbit=0.0, overhead_mm2=0.0))
    network = one_layer(NEURONS["group"], schedule="layerwise")
    assert membrane_updates(network, network.layers[0]) == 2
    layer = DigitalBackend(spec).evaluate(network).layers[0]
    assert layer.energy_j["neuron"] == pytest.approx((2 * 3 * 8 * 0.5 + 2 * 2 * 8 * 1.0) * 1e-12)


def test_window_readouts_evaluate_once_per_window_on_either_schedule():
    for schedule in ("parallel", "layerwise"):
        layer = CrossbarBackend(crossbar_spec(readout="window")).evaluate(one_layer(NEURONS["group"], schedule=schedule)).layers[0]
        assert layer.counts["neuron_updates"] == 2 * 3


def test_shifts_and_per_channel_precharges_cost_nothing_extra():
    plain = one_layer(NEURONS["if"], schedule="layerwise")
    charged = replace(NEURONS["if"], threshold=np.array([2, 3]), initial=np.array([1, 1]))
    extended = one_layer(charged, schedule="layerwise", shift=2, bias=np.array([1, -3], dtype=np.int16))
    for backend in (CrossbarBackend(crossbar_spec()), FpgaBackend(fpga_spec())):
        a, b = backend.evaluate(plain), backend.evaluate(extended)
        assert a.total("energy_j") == pytest.approx(b.total("energy_j")) and a.total("latency_s") == pytest.approx(b.total("latency_s"))


def test_layerwise_latency_is_the_windows_in_sequence(small):
    # the same layers on either schedule take the same cycles: one window after another
    x = (np.random.default_rng(0).random((4, 2) + small.input_shape) < 0.3).astype(np.int8)
    parallel = calibrate(small, x)
    layerwise = parallel.with_layers(parallel.layers, schedule="layerwise")
    report = CrossbarBackend(crossbar_spec()).evaluate(layerwise)
    assert report.total("latency_s") == pytest.approx(sum(c.latency_s for c in report.layers))
    assert report.total("cycles") == pytest.approx(CrossbarBackend(crossbar_spec()).evaluate(parallel).total("cycles"))
