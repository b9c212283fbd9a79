"""Cost models against hand-computed numbers: crossbar (three readouts), event-driven digital ASIC and FPGA."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from snnq.hardware.crossbar import CrossbarBackend
from snnq.hardware.digital import DigitalAreaSpec, DigitalBackend, DigitalEnergySpec, DigitalSpec
from snnq.hardware.errors import ResourceError
from snnq.hardware.event_core import CoreSpec
from snnq.hardware.fpga import BoardSpec, FpgaBackend, FpgaDesignSpec, FpgaPowerSpec, FpgaSpec
from snnq.hardware.ir import Activity, MaxPool2d, Network

from .conftest import crossbar_spec

# dense_net: 4 inputs -> 2 outputs, T = 2, 3-bit codes (2 magnitude bits: 1 slice of 2-bit cells, 2 columns per
# weight), 5 input events, 10 synaptic operations, 3 output spikes. Row activations A = 10 / 2 = 5,
# active-row fraction rho = 5 / (T P G rows) = 5 / 8, p_tile = 1 - (3/8)^4.
P_TILE = 1 - (3 / 8) ** 4


def test_parallel_readout_costs_by_hand(dense_net):
    report = CrossbarBackend(crossbar_spec(readout="parallel")).evaluate(dense_net)
    layer = report.layers[0]
    conversions = 2 * 1 * 1 * 2 * 2 * 1 * P_TILE  # T P G c cpw rb p_tile
    assert layer.counts["conversions"] == pytest.approx(conversions)
    # per step: 1 read + min(4 used columns, 8 per ADC) x 8 bits x 1 cycle + 1 neuron cycle; 3 spikes x 1 address bit / 8-bit bus
    assert layer.cycles == pytest.approx(2 * (1 + 4 * 8 + 1) + 3 / 8)
    assert report.total("latency_s") == pytest.approx(layer.cycles / 1e6)
    expected_pj = {
        "synaptic": 10 * 2 * 1.0,  # synops x columns per weight x cell_pj
        "driver": 5 * 1 * 2.0,  # row activations x column blocks x driver_pj
        "adc": conversions * 4.0,  # 8-bit conversions at the 8-bit reference energy
        "accumulate": conversions * 8 * 0.5,  # 8-bit accumulators
        "neuron": 2 * 2 * 8 * 0.25,  # T x neurons x membrane bits x neuron_pj_per_bit
        "data_movement": 3 * 1 * 0.125,
    }
    for component, pj in expected_pj.items():
        assert layer.energy_j[component] == pytest.approx(pj * 1e-12), component
    assert report.total("energy_j") == pytest.approx(sum(expected_pj.values()) * 1e-12)
    # one tile: cells 128*128*1 + drivers 128*10 + 16 ADCs x 100 + 64 column pairs x 8 bits x 1 + 1000 overhead (um^2)
    assert report.total("area_mm2") == pytest.approx((16384 + 1280 + 1600 + 512 + 1000) * 1e-6 + 0.5)
    assert report.total("tiles_used") == 1 and layer.utilisation == pytest.approx(4 * 2 * 2 / (128 * 128))


def test_row_serial_readout_reads_one_active_row_per_cycle(dense_net):
    layer = CrossbarBackend(crossbar_spec(readout="row_serial")).evaluate(dense_net).layers[0]
    assert layer.counts["conversions"] == pytest.approx(10 * 2)  # every synaptic operation senses its 2 cells
    assert layer.cycles == pytest.approx(2 * (5 / 8 * 4 * 1 + 1) + 3 / 8)


def test_window_readout_converts_once_per_window(dense_net):
    report = CrossbarBackend(crossbar_spec(readout="window")).evaluate(dense_net)
    layer = report.layers[0]
    assert layer.counts["conversions"] == 2  # P G c rb
    assert layer.cycles == pytest.approx(2 * 1 + 2 * 8 * 1 + 1 + 3 / 8)  # T reads + 2 neurons x 8 bits + neuron cycle
    assert layer.energy_j["neuron"] == pytest.approx(1 * 2 * 8 * 0.25e-12)  # once per window


def test_static_power_is_charged_for_the_latency(dense_net):
    spec = crossbar_spec()
    spec = replace(spec, energy=replace(spec.energy, static_w=0.5))
    report = CrossbarBackend(spec).evaluate(dense_net)
    assert report.total("energy_static_j") == pytest.approx(0.5 * report.total("latency_s"))


def test_adc_energy_doubles_per_bit(dense_net):
    e8 = CrossbarBackend(crossbar_spec(adc_bits=8)).evaluate(dense_net).total("energy_adc_j")
    e6 = CrossbarBackend(crossbar_spec(adc_bits=6)).evaluate(dense_net).total("energy_adc_j")
    assert e8 == pytest.approx(4 * e6)


def test_pooling_runs_in_the_digital_periphery():
    pool = MaxPool2d(name="p", input_shape=(2, 4, 4), output_shape=(2, 2, 2), kernel=2, activity=Activity(spikes=4.0, synops=0.0, measured=True))
    net = Network(name="p", input_shape=(2, 4, 4), time_steps=3, coding="rate", layers=(pool,),
                  input_activity=Activity(spikes=12.0, synops=0.0, measured=True))
    layer = CrossbarBackend(crossbar_spec()).evaluate(net).layers[0]
    # 12 input events, each in one 2x2 window: 12 ops at 2 per cycle; 4 output events x 3 address bits on an 8-bit bus
    assert layer.cycles == pytest.approx(12 / 2 + 4 * 3 / 8)
    assert layer.energy_j["digital"] == pytest.approx(12e-12) and layer.tiles == 0


def core(**changes) -> CoreSpec:
    base = dict(pes=2, lanes=2, neuron_lanes=1, clock_hz=1e6, ops_per_synop=2.0, weights_on_chip=True, weight_buffer_bits=1000,
                dram_bits_per_cycle=8.0, queue_headroom=2.0, layer_overhead_cycles=0.0)
    return CoreSpec(**{**base, **changes})


def test_event_driven_digital_processor_by_hand(dense_net):
    spec = DigitalSpec(technology_nm=28, voltage_v=0.9, core=core(),
                       energy=DigitalEnergySpec(add_pj_per_bit=0.1, sram_pj_per_bit=0.2, dram_pj_per_bit=1.0, neuron_pj_per_bit=0.3, static_w=0.0),
                       area=DigitalAreaSpec(pe_mm2=0.5, sram_mm2_per_mbit=1.0, overhead_mm2=1.0))
    report = DigitalBackend(spec).evaluate(dense_net)
    layer = report.layers[0]
    # 5 events, fan-out 2, 4 accumulators: ceil(2/4) = 1 cycle each; 2 steps x 2 neurons / (2 PEs x 1) = 2 cycles
    assert layer.cycles == 5 + 2 and layer.utilisation == pytest.approx(10 / 20)
    assert layer.energy_j["synaptic"] == pytest.approx(10 * (3 * 0.2 + 2 * 8 * 0.2 + 8 * 0.1) * 1e-12)
    assert layer.energy_j["neuron"] == pytest.approx(4 * 8 * (0.3 + 2 * 0.2) * 1e-12)
    assert layer.energy_j["queue"] == pytest.approx(5 * 2 * 1 * 0.2 * 1e-12)
    assert report.total("energy_j") == pytest.approx((46 + 22.4 + 2) * 1e-12)
    assert report.total("gops") == pytest.approx(2 * 10 / 7e-6 / 1e9)
    # weights streamed: 24 weight bits over an 8-bit port = 3 memory cycles, hidden behind the 7 compute cycles
    streamed = DigitalBackend(replace(spec, core=core(weights_on_chip=False))).evaluate(dense_net)
    assert streamed.layers[0].counts["memory_cycles"] == 3 and streamed.total("energy_dram_j") == pytest.approx(24e-12)


def fpga_spec(**board) -> FpgaSpec:
    return FpgaSpec(
        core=core(),
        board=BoardSpec(**{"name": "toy", "lut": 10_000, "ff": 20_000, "dsp": 10, "bram18": 50, **board}),
        design=FpgaDesignSpec(lut_per_pe=1000, ff_per_pe=2000, lut_base=500, ff_base=600, dsp=4, bram18_base=3),
        power=FpgaPowerSpec(ps_w=1.0, pl_static_w=0.1, lut_uw_per_mhz=1.0, ff_uw_per_mhz=0.5, bram18_uw_per_mhz=10.0, dsp_uw_per_mhz=20.0),
    )


def test_fpga_resources_power_and_throughput_by_hand(dense_net):
    report = FpgaBackend(fpga_spec()).evaluate(dense_net)
    # BRAM18: 3 base + 1 membrane block + 1 weight block (on chip) + 2 x 1 queue block
    assert (report.total("lut"), report.total("ff"), report.total("dsp"), report.total("bram18")) == (2500, 4600, 4, 7)
    dynamic = 1.0 * 1e-6 * (2500 * 1.0 + 4600 * 0.5 + 7 * 10.0 + 4 * 20.0)  # 1 MHz
    assert report.total("power_w") == pytest.approx(1.1 + dynamic)
    assert report.total("energy_j") == pytest.approx((1.1 + dynamic) * 7e-6)
    assert report.total("gops") == pytest.approx(2 * 10 / 7e-6 / 1e9)


@pytest.mark.parametrize(("board", "resource"), [({"bram18": 6}, "BRAM18"), ({"lut": 2000}, "LUT"), ({"dsp": 3}, "DSP"), ({"ff": 4000}, "FF")])
def test_a_design_larger_than_the_board_names_the_resource(dense_net, board, resource):
    with pytest.raises(ResourceError, match=f"needs .* {resource} but board 'toy' has") as error:
        FpgaBackend(fpga_spec(**board)).evaluate(dense_net)
    assert error.value.resource == resource and error.value.needed > error.value.available


def test_event_queues_are_sized_from_the_measured_peak(dense_net):
    peaked = dense_net.with_layers(dense_net.layers, input_activity=Activity(spikes=5.0, synops=0.0, measured=True, peak_step=20_000.0))
    # 20,000 events x 2 headroom x 1 address bit = 40,000 bits = 3 BRAM18 per queue, two queues
    assert FpgaBackend(fpga_spec()).evaluate(peaked).total("bram18") == 3 + 1 + 1 + 2 * math.ceil(40_000 / 18432)
    assert np.isfinite(FpgaBackend(fpga_spec()).evaluate(peaked).total("latency_s"))
