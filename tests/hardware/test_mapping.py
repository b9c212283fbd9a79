"""Placing weight matrices on tiles: hand-computed tile counts, utilisation, duplication, packing, fit errors."""

from __future__ import annotations

import time

import numpy as np
import pytest

from snnq.hardware.crossbar import CrossbarBackend, map_network
from snnq.hardware.errors import MappingError
from snnq.hardware.ir import Conv2d, Dense, Network
from snnq.hardware.networks import paper_network
from snnq.hardware.presets import load_preset
from snnq.hardware.spec import with_overrides

from .conftest import crossbar_spec


def dense(name: str, n_in: int, n_out: int, *, bits: int = 4, synapse: str = "signed", source: str = "input", low: int | None = None) -> Dense:
    high = 1 if synapse == "ternary" else 2 ** (bits - 1) - 1
    codes = np.random.default_rng(0).integers(-high, high + 1, (n_out, n_in)).astype(np.int16)
    if low is not None:
        codes[0, 0] = low
    return Dense(name=name, inputs=(source,), input_shape=(n_in,), output_shape=(n_out,), weight=codes, weight_bits=bits, synapse=synapse)


def conv(name: str, c_in: int, c_out: int, size: int, *, groups: int = 1, source: str = "input") -> Conv2d:
    codes = np.random.default_rng(1).integers(-7, 8, (c_out, c_in // groups, 3, 3)).astype(np.int8)
    return Conv2d(name=name, inputs=(source,), input_shape=(c_in, size, size), output_shape=(c_out, size, size), weight=codes,
                  weight_bits=4, padding=1, groups=groups)


def net(*layers) -> Network:
    return Network(name="t", input_shape=layers[0].input_shape, time_steps=4, coding="rate", layers=layers)


def test_a_dense_layer_splits_into_row_and_column_blocks():
    # 4-bit codes in [-7, 7]: 3 magnitude bits -> 2 slices of 2-bit cells -> 4 columns per weight (G+/G- pairs)
    # 128 columns hold 32 weights: 100 outputs -> 4 column blocks; 300 rows -> 3 row blocks: 12 tiles
    mapping = map_network(net(dense("fc", 300, 100)), crossbar_spec())
    place = mapping.layers["fc"]
    assert (place.slices, place.cols_per_weight, place.row_blocks, place.col_blocks, place.tiles_per_copy) == (2, 4, 3, 4, 12)
    assert mapping.tiles_used == 12 and mapping.tile_cells.sum() == 300 * 100 * 4
    assert mapping.utilisation == pytest.approx(120_000 / (12 * 128 * 128))
    assert mapping.chip_utilisation == pytest.approx(120_000 / (64 * 128 * 128))


def test_a_conv_layer_is_unrolled_to_kernel_times_channels_rows():
    # 3x3x16 = 144 rows -> 2 row blocks (128 + 16); 32 outputs x 4 columns = 128 columns -> 1 column block
    place = map_network(net(conv("c", 16, 32, 8)), crossbar_spec()).layers["c"]
    assert (place.rows, place.cols, place.row_blocks, place.col_blocks, place.tiles_per_copy) == (144, 32, 2, 1, 2)
    assert place.positions == 64 and place.rows_per_tile == 128 and place.cols_per_tile == 128


def test_the_most_negative_code_needs_one_more_magnitude_bit():
    # 8-bit codes reaching -128 have magnitude 128 = 8 bits -> 4 slices of 2 bits (7 bits without it -> still 4)
    assert map_network(net(dense("fc", 10, 10, bits=8, low=-128)), crossbar_spec()).layers["fc"].slices == 4
    # 5-bit codes: 4 magnitude bits -> 2 slices, but with -16 present 5 bits -> 3 slices
    assert map_network(net(dense("fc", 10, 10, bits=5)), crossbar_spec()).layers["fc"].slices == 2
    assert map_network(net(dense("fc", 10, 10, bits=5, low=-16)), crossbar_spec()).layers["fc"].slices == 3


def test_small_groups_share_a_tile_block_diagonally():
    # depthwise: 32 groups of 9 rows x 1 output (4 columns); min(128 // 9, 128 // 4) = 14 groups per tile -> 3 tiles
    place = map_network(net(conv("dw", 32, 32, 4, groups=32)), crossbar_spec()).layers["dw"]
    assert (place.groups_per_tile, place.tiles_per_copy) == (14, 3)


def test_ternary_synapses_take_one_column_pair_on_ternary_tiles():
    spec = crossbar_spec(rows=64, cols=64, cell_bits=1, encoding="ternary")
    place = map_network(net(dense("fc", 100, 40, bits=2, synapse="ternary")), spec).layers["fc"]
    # 2 columns per weight: 32 outputs per tile -> 2 column blocks; 100 rows -> 2 row blocks
    assert (place.cols_per_weight, place.row_blocks, place.col_blocks) == (2, 2, 2)


def test_ternary_tiles_carry_integer_weights_by_fan_in_replication():
    # 4-bit codes in [-7, 7]: every input row becomes max|W| = 7 ternary rows (S1's gather), one column pair per
    # weight. 100 inputs x 7 = 700 rows over 64-row tiles holding 9 whole inputs (63 rows) -> 12 row blocks;
    # 40 outputs x 2 columns over 64 columns -> 2 column blocks: 24 tiles
    spec = crossbar_spec(rows=64, cols=64, cell_bits=1, encoding="ternary")
    layer = dense("fc", 100, 40)
    assert int(np.abs(layer.weight).max()) == 7
    place = map_network(net(layer), spec).layers["fc"]
    assert (place.replicas, place.physical_rows, place.cols_per_weight) == (7, 700, 2)
    assert (place.row_blocks, place.col_blocks, place.tiles_per_copy, place.rows_per_tile) == (12, 2, 24, 63)
    assert place.cells_per_copy == 700 * 40 * 2


def test_ternary_tiles_refuse_an_input_whose_replicas_exceed_a_tile():
    with pytest.raises(MappingError, match="one input takes 7 replicated rows .* but a tile has 4 rows") as error:
        map_network(net(dense("fc", 10, 10)), crossbar_spec(rows=4, cols=64, cell_bits=1, encoding="ternary"))
    assert error.value.layer == "fc"


def test_a_network_that_does_not_fit_names_the_layer_and_the_tiles():
    layers = (dense("fc1", 300, 100), dense("fc2", 100, 100, source="fc1"))
    # fc1 takes 12 tiles, fc2 needs 1 row block x 4 column blocks = 4 but only 2 of 14 are left
    with pytest.raises(MappingError) as error:
        map_network(net(*layers), crossbar_spec(tiles=14))
    message = str(error.value)
    assert "layer 'fc2' needs 4 tiles of 128x128" in message and "only 2 of 14 tiles are free (12 hold earlier layers)" in message
    assert (error.value.layer, error.value.needed, error.value.available, error.value.total) == ("fc2", 4, 2, 14)


def test_free_tiles_become_copies_that_share_the_positions():
    # 2 tiles per copy, 9 tiles: 4 copies fit; 64 positions -> 16 evaluations per copy
    place = map_network(net(conv("c", 16, 32, 8)), crossbar_spec(tiles=9, duplicate=True)).layers["c"]
    assert place.copies == 4 and len(place.tiles) == 8 and len(set(place.tiles)) == 8


def test_duplication_goes_to_the_layer_that_saves_most_cycles():
    layers = (conv("big", 16, 32, 8), Conv2d(name="small", inputs=("big",), input_shape=(32, 8, 8), output_shape=(32, 4, 4), weight=np.ones((32, 32, 3, 3), np.int8),
                                weight_bits=4, stride=2, padding=1))
    mapping = map_network(net(*layers), crossbar_spec(tiles=12, duplicate=True), position_cycles={"big": 10.0, "small": 1.0})
    # 'big' (64 positions x 10 cycles) gets the copies; 'small' (16 positions x 1 cycle, 3 tiles a copy) keeps one
    assert mapping.layers["small"].copies == 1 and mapping.layers["big"].copies > 1
    assert mapping.tiles_used <= 12


def test_packing_lets_small_layers_share_a_tile():
    layers = (dense("a", 10, 10), dense("b", 10, 5, source="a"))
    assert map_network(net(*layers), crossbar_spec(pack=False)).tiles_used == 2
    packed = map_network(net(*layers), crossbar_spec(pack=True))
    assert packed.tiles_used == 1 and packed.tile_cells[0] == 10 * 10 * 4 + 10 * 5 * 4


def test_mapping_vgg16_on_256x256_tiles_takes_under_two_seconds():
    preset = load_preset("liu2018_memristor")
    spec = with_overrides(preset.hardware, {"tile.rows": 256, "tile.cols": 256, "chip.tiles": 8192, "chip.duplicate": True})
    network = paper_network("vgg16_cifar10", weight_bits=4, time_steps=8)
    start = time.perf_counter()
    mapping = CrossbarBackend(spec).map(network)
    seconds = time.perf_counter() - start
    print(f"\nVGG-16 on 256x256 tiles: {mapping.tiles_used} tiles, utilisation {mapping.utilisation:.3f}, mapped in {seconds:.3f} s")
    assert seconds < 2.0
    # 14.7 M conv + 18.9 M dense weights at 4 columns each, plus copies of the conv layers on the free tiles
    assert mapping.tiles_used > 33_600_000 * 4 / (256 * 256) and mapping.tiles_used <= 8192
    assert mapping.layers["conv1"].copies > 1
