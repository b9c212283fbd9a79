"""Small networks and chips for the hardware tests (numbers small enough to check by hand)."""

from __future__ import annotations

import numpy as np
import pytest

from snnq.hardware.crossbar.spec import AreaSpec, ChipSpec, CrossbarSpec, EnergySpec, NonIdealSpec, TileSpec, TimingSpec
from snnq.hardware.ir import Activity, AvgPool2d, Conv2d, Dense, Flatten, MaxPool2d, Network, Neuron


def crossbar_spec(*, rows: int = 128, cols: int = 128, cell_bits: int = 2, tiles: int = 64, readout: str = "parallel",
                  adc_bits: int = 8, cols_per_adc: int = 8, duplicate: bool = False, pack: bool = False,
                  encoding: str = "differential", nonideal: NonIdealSpec | None = None) -> CrossbarSpec:
    """A chip whose constants are round numbers (1 pJ per cell read, ...) so that costs can be checked by hand."""
    return CrossbarSpec(
        tile=TileSpec(rows=rows, cols=cols, cell_bits=cell_bits, signed_encoding=encoding, adc_bits=adc_bits,
                      cols_per_adc=cols_per_adc, readout=readout),
        chip=ChipSpec(tiles=tiles, clock_hz=1e6, voltage_v=1.0, duplicate=duplicate, pack=pack),
        timing=TimingSpec(read_cycles=1.0, adc_cycles_per_bit=1.0, neuron_cycles=1.0, layer_overhead_cycles=0.0, bus_bits=8,
                          digital_ops_per_cycle=2.0),
        energy=EnergySpec(cell_pj=1.0, driver_pj=2.0, adc_pj=4.0, adc_ref_bits=8, accumulate_pj_per_bit=0.5, neuron_pj_per_bit=0.25,
                          transfer_pj_per_bit=0.125, digital_op_pj=1.0, static_w=0.0),
        area=AreaSpec(cell_um2=1.0, driver_um2=10.0, adc_um2=100.0, adc_area_exponent=1.0, neuron_um2_per_bit=1.0,
                      tile_overhead_um2=1000.0, chip_overhead_mm2=0.5),
        nonideal=nonideal or NonIdealSpec.ideal(),
    )


def small_network(*, seed: int = 0, time_steps: int = 4, weight_bits: int = 4) -> Network:
    """conv (2->4, 3x3, pad 1) - maxpool - conv (4->4, stride 2) - avgpool - flatten - dense(3), on a 2x8x8 input."""
    rng = np.random.default_rng(seed)
    high = 2 ** (weight_bits - 1) - 1

    def codes(*shape: int) -> np.ndarray:
        return rng.integers(-high, high + 1, size=shape).astype(np.int8)

    layers = (
        Conv2d(name="c1", input_shape=(2, 8, 8), output_shape=(4, 8, 8), weight=codes(4, 2, 3, 3), weight_bits=weight_bits,
               padding=1, neuron=Neuron(kind="if", threshold=6, membrane_bits=10)),
        MaxPool2d(name="p1", inputs=("c1",), input_shape=(4, 8, 8), output_shape=(4, 4, 4), kernel=2),
        Conv2d(name="c2", inputs=("p1",), input_shape=(4, 4, 4), output_shape=(4, 2, 2), weight=codes(4, 4, 3, 3), weight_bits=weight_bits,
               stride=2, padding=1, bias=np.array([1, 0, -1, 2], dtype=np.int16), neuron=Neuron(kind="if", threshold=5, membrane_bits=10)),
        AvgPool2d(name="p2", inputs=("c2",), input_shape=(4, 2, 2), output_shape=(4, 1, 1), kernel=2),
        Flatten(name="f", inputs=("p2",), input_shape=(4, 1, 1), output_shape=(4,)),
        Dense(name="out", inputs=("f",), input_shape=(4,), output_shape=(3,), weight=codes(3, 4), weight_bits=weight_bits),
    )
    return Network(name="small", input_shape=(2, 8, 8), time_steps=time_steps, coding="rate", layers=layers)


def random_spikes(network: Network, batch: int, *, rate: float = 0.4, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((network.time_steps, batch) + network.input_shape) < rate).astype(np.int8)


@pytest.fixture
def small() -> Network:
    return small_network()


@pytest.fixture
def dense_net() -> Network:
    """One dense layer 4 -> 2 with hand-picked codes and activity (2 steps)."""
    layer = Dense(name="fc", input_shape=(4,), output_shape=(2,), weight=np.array([[1, -2, 3, 0], [-1, 1, 0, 2]], dtype=np.int8),
                  weight_bits=3, neuron=Neuron(kind="if", threshold=2, membrane_bits=8),
                  activity=Activity(spikes=3.0, synops=10.0, measured=True))
    return Network(name="dense", input_shape=(4,), time_steps=2, coding="rate", layers=(layer,),
                   input_activity=Activity(spikes=5.0, synops=0.0, measured=True))
