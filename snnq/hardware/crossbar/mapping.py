"""Placing a network's weight matrices on crossbar tiles: unrolling, splitting, incremental placement, duplication.

A weighted layer is one matrix per channel group: ``rows = k_h k_w C_in / groups`` (its fan-in) by
``cols = C_out / groups``. Each weight takes ``cols_per_weight = 2 * slices`` physical columns (a G+ / G- pair per
slice of ``cell_bits`` magnitude bits). On ternary tiles a layer with integer weights is carried by fan-in
replication (`snnq.hardware.crossbar.gather`): ``replicas = max |W|`` physical rows per input and one ternary
pair per weight, so the matrix is ``rows * replicas`` physical rows by ``2 cols`` columns. A matrix larger than a
tile is split into ``row_blocks x col_blocks`` tiles (row blocks' partial sums are added digitally); whole small
groups share a tile block-diagonally.

Placement follows S1's incremental framework: layers are placed in network order onto free tiles (first fit
into partly used tiles when ``chip.pack``), and when ``chip.duplicate`` is set the free tiles left over are
handed out as weight copies of conv layers, greedily to the layer whose latency drops most per tile spent
(a copy evaluates a share of the output positions in parallel). A layer that does not fit raises
`MappingError` naming the layer, the tiles it needs and the tiles left.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from snnq.hardware.crossbar.gather import MAX_REPLICAS, fan_in_replicas
from snnq.hardware.crossbar.spec import CrossbarSpec, TileSpec
from snnq.hardware.errors import MappingError
from snnq.hardware.ir import Network, WeightedLayer


def magnitude_bits(layer: WeightedLayer) -> int:
    """Bits of ``|W_int|`` the tiles must hold: ``b - 1`` for symmetric b-bit codes (``b`` if ``-2^(b-1)`` occurs), 1 for ternary."""
    if layer.synapse == "ternary":
        return 1
    if layer.synapse == "signed":
        low = int(layer.weight.min()) if layer.weight.size else 0
        return max(1, layer.weight_bits - 1 + (low == -(2 ** (layer.weight_bits - 1))))
    w, _ = layer.integer_weight()
    return max(1, int(np.abs(w).max(initial=1)).bit_length())


@dataclass(frozen=True)
class LayerPlacement:
    """Where one weighted layer sits.

    Attributes:
        layer: layer name.
        groups, rows, cols: the unrolled matrices (``groups`` of ``rows x cols`` logical weights).
        replicas: physical rows per logical row (fan-in replication of integer weights on ternary tiles, else 1).
        slices: cell slices per weight magnitude; ``cols_per_weight = 2 * slices``.
        groups_per_tile: whole groups packed into one tile (1 unless groups are small).
        row_blocks, col_blocks: tiles a group is split into (1 when groups are packed).
        tiles_per_copy: tiles of one copy of the layer.
        copies: weight copies (1 + duplicates).
        positions: output positions per time step (1 for dense).
        rows_per_tile, cols_per_tile: most physical rows / physical columns used in one tile.
        tiles: chip tile indices holding the layer (all copies).
        cells_per_copy: cells one copy programs.
    """

    layer: str
    groups: int
    rows: int
    cols: int
    replicas: int
    slices: int
    cols_per_weight: int
    groups_per_tile: int
    row_blocks: int
    col_blocks: int
    tiles_per_copy: int
    copies: int
    positions: int
    rows_per_tile: int
    cols_per_tile: int
    tiles: tuple[int, ...]
    cells_per_copy: int

    @property
    def physical_rows(self) -> int:
        """Rows of one group's matrix on the tiles: ``rows * replicas``."""
        return self.rows * self.replicas


@dataclass(frozen=True)
class TileMapping:
    """A placed network: per-layer placements and per-tile occupancy.

    Attributes:
        tile_rows, tile_cols, total_tiles: chip geometry.
        layers: placements by layer name (weighted layers only), in network order.
        tile_cells: cells programmed in each chip tile (``[total_tiles]``, 0 for free tiles).
        tile_owner: index into ``layers`` of the layer owning each tile's first block (-1 when free).
    """

    tile_rows: int
    tile_cols: int
    total_tiles: int
    layers: Mapping[str, LayerPlacement]
    tile_cells: np.ndarray
    tile_owner: np.ndarray

    @property
    def tiles_used(self) -> int:
        return int((self.tile_cells > 0).sum())

    @property
    def utilisation(self) -> float:
        """Programmed cells over the cells of the tiles in use."""
        used = self.tiles_used
        return float(self.tile_cells.sum()) / (used * self.tile_rows * self.tile_cols) if used else 0.0

    @property
    def chip_utilisation(self) -> float:
        """Programmed cells over all cells of the chip."""
        return float(self.tile_cells.sum()) / (self.total_tiles * self.tile_rows * self.tile_cols)


def _geometry(layer: WeightedLayer, tile: TileSpec) -> tuple[int, int, int, int, int, int, int, int, list[tuple[int, int]]]:
    """``(replicas, slices, cpw, gpt, row_blocks, col_blocks, rows_per_tile, cols_per_tile, blocks)`` of one copy."""
    groups, logical_rows, cols = layer.matrix_shape()
    replicas = fan_in_replicas(layer, tile)
    if replicas > MAX_REPLICAS:
        raise MappingError(
            f"layer {layer.name!r}: its largest integer weight {replicas} would need {replicas} ternary replicas of every "
            f"input row (at most {MAX_REPLICAS}); use differential tiles or weights of a narrower range",
            layer=layer.name,
        )
    rows = logical_rows * replicas
    slices = 1 if tile.signed_encoding == "ternary" else math.ceil(magnitude_bits(layer) / tile.cell_bits)
    cpw = 2 * slices
    if cpw > tile.cols:
        raise MappingError(
            f"layer {layer.name!r}: one weight needs {cpw} columns ({slices} slices x 2) but a tile has {tile.cols}",
            layer=layer.name,
        )
    if replicas > tile.rows:
        raise MappingError(
            f"layer {layer.name!r}: one input takes {replicas} replicated rows (weights up to {replicas} on ternary synapses) "
            f"but a tile has {tile.rows} rows",
            layer=layer.name,
        )
    phys = cols * cpw
    if rows <= tile.rows and phys <= tile.cols:
        gpt = min(tile.rows // rows, tile.cols // phys, groups)
        n = math.ceil(groups / gpt)
        blocks = [(rows * min(gpt, groups - i * gpt), phys * min(gpt, groups - i * gpt)) for i in range(n)]
        return replicas, slices, cpw, gpt, 1, 1, rows * gpt, phys * gpt, blocks
    per_tile = tile.cols // cpw  # whole weights per tile column-wise
    rows_per_block = (tile.rows // replicas) * replicas  # an input's replicas stay in one tile
    row_blocks, col_blocks = math.ceil(rows / rows_per_block), math.ceil(cols / per_tile)
    row_sizes = [min(rows_per_block, rows - i * rows_per_block) for i in range(row_blocks)]
    col_sizes = [min(per_tile, cols - j * per_tile) * cpw for j in range(col_blocks)]
    blocks = [(r, c) for _ in range(groups) for r in row_sizes for c in col_sizes]
    return replicas, slices, cpw, 1, row_blocks, col_blocks, row_sizes[0], col_sizes[0], blocks


class _Chip:
    """Tile occupancy during placement (block-diagonal fill of each tile)."""

    def __init__(self, total: int, rows: int, cols: int, pack: bool):
        self.rows, self.cols, self.pack = rows, cols, pack
        self.free_rows = np.full(total, rows, dtype=np.int64)
        self.free_cols = np.full(total, cols, dtype=np.int64)
        self.cells = np.zeros(total, dtype=np.int64)
        self.owner = np.full(total, -1, dtype=np.int64)
        self.fresh = 0  # tiles [fresh:] have never been used
        self.open: list[int] = []  # partly filled tiles that may take another block

    @property
    def free_tiles(self) -> int:
        return len(self.cells) - self.fresh

    def place(self, blocks: list[tuple[int, int]], owner: int) -> list[int] | None:
        """Tile index of each block, or None (nothing changed) when they do not fit."""
        plan: list[int] = []
        free_rows, free_cols, fresh = self.free_rows.copy(), self.free_cols.copy(), self.fresh
        opened: list[int] = []
        for r, c in blocks:
            tile = -1
            if self.pack:
                for t in self.open + opened:
                    if free_rows[t] >= r and free_cols[t] >= c:
                        tile = t
                        break
            if tile < 0:
                if fresh >= len(self.cells):
                    return None
                tile, fresh = fresh, fresh + 1
                if r < self.rows and c < self.cols:
                    opened.append(tile)
            free_rows[tile] -= r
            free_cols[tile] -= c
            plan.append(tile)
        self.free_rows, self.free_cols, self.fresh = free_rows, free_cols, fresh
        for (r, c), t in zip(blocks, plan):
            self.cells[t] += r * c
            if self.owner[t] < 0:
                self.owner[t] = owner
        self.open = [t for t in self.open + opened if self.free_rows[t] > 0 and self.free_cols[t] > 0]
        return plan


def map_network(network: Network, spec: CrossbarSpec, *, position_cycles: Mapping[str, float] | None = None) -> TileMapping:
    """Places every weighted layer of ``network`` on the chip of ``spec``.

    Args:
        position_cycles: cycles one copy of a layer spends per output position (the duplication greedy weighs
            layers by ``ceil(positions / copies) * position_cycles``); 1 for every layer when omitted.

    Raises:
        MappingError: a layer does not fit in the tiles left (or cannot be held by these tiles at all).
    """
    tile, chip_spec = spec.tile, spec.chip
    chip = _Chip(chip_spec.tiles, tile.rows, tile.cols, chip_spec.pack)
    layers = network.weighted_layers()
    info: list[dict[str, object]] = []
    for index, layer in enumerate(layers):
        replicas, slices, cpw, gpt, rb, cb, rpt, cpt, blocks = _geometry(layer, tile)
        before = chip.free_tiles
        plan = chip.place(blocks, index)
        if plan is None:
            used = chip_spec.tiles - before
            geometry = f"{layer.matrix_shape()[0]} group(s) x {rb} row block(s) x {cb} column block(s)" if gpt == 1 else f"{len(blocks)} tile(s) of packed groups"
            raise MappingError(
                f"layer {layer.name!r} needs {len(blocks)} tiles of {tile.rows}x{tile.cols} ({geometry}; "
                f"{layer.matrix_shape()[1] * replicas} rows x {layer.matrix_shape()[2] * cpw} columns per group) but only {before} of "
                f"{chip_spec.tiles} tiles are free ({used} hold earlier layers)",
                layer=layer.name, needed=len(blocks), available=before, total=chip_spec.tiles,
            )
        groups, rows, cols = layer.matrix_shape()
        info.append(dict(layer=layer, replicas=replicas, slices=slices, cpw=cpw, gpt=gpt, rb=rb, cb=cb, rpt=rpt, cpt=cpt, blocks=blocks,
                         tiles=list(plan), copies=1, cells=groups * rows * replicas * cols * cpw))
    if chip_spec.duplicate:
        _duplicate(chip, info, position_cycles or {})
    placements: dict[str, LayerPlacement] = {}
    for item in info:
        layer = item["layer"]
        assert isinstance(layer, WeightedLayer)
        groups, rows, cols = layer.matrix_shape()
        placements[layer.name] = LayerPlacement(
            layer=layer.name, groups=groups, rows=rows, cols=cols, replicas=int(item["replicas"]), slices=int(item["slices"]),  # type: ignore[arg-type]
            cols_per_weight=int(item["cpw"]), groups_per_tile=int(item["gpt"]), row_blocks=int(item["rb"]),  # type: ignore[arg-type]
            col_blocks=int(item["cb"]), tiles_per_copy=len(item["blocks"]), copies=int(item["copies"]),  # type: ignore[arg-type]
            positions=layer.positions(), rows_per_tile=int(item["rpt"]), cols_per_tile=int(item["cpt"]),  # type: ignore[arg-type]
            tiles=tuple(int(t) for t in item["tiles"]), cells_per_copy=int(item["cells"]),  # type: ignore[union-attr, arg-type]
        )
    return TileMapping(tile.rows, tile.cols, chip_spec.tiles, placements, chip.cells, chip.owner)


def _next_copies(positions: int, copies: int) -> int | None:
    """The fewest copies beyond ``copies`` that lower ``ceil(positions / copies)``, or None when it is 1."""
    rounds = math.ceil(positions / copies)
    return None if rounds <= 1 else math.ceil(positions / (rounds - 1))


def _duplicate(chip: _Chip, info: list[dict[str, object]], position_cycles: Mapping[str, float]) -> None:
    """Greedy duplication: repeatedly add the copies that save the most cycles per tile, while tiles are free."""
    heap: list[tuple[float, int, int]] = []

    def push(i: int) -> None:
        layer = info[i]["layer"]
        assert isinstance(layer, WeightedLayer)
        copies, positions = int(info[i]["copies"]), layer.positions()  # type: ignore[arg-type]
        target = _next_copies(positions, copies)
        if target is None:
            return
        cost = (target - copies) * len(info[i]["blocks"])  # type: ignore[arg-type]
        gain = (math.ceil(positions / copies) - math.ceil(positions / target)) * float(position_cycles.get(layer.name, 1.0))
        heapq.heappush(heap, (-gain / cost, i, target))

    for i in range(len(info)):
        push(i)
    while heap:
        _, i, target = heapq.heappop(heap)
        blocks = info[i]["blocks"]
        copies = int(info[i]["copies"])  # type: ignore[arg-type]
        needed = (target - copies) * len(blocks)  # type: ignore[arg-type]
        if needed > chip.free_tiles:
            continue  # this layer cannot afford its next step; others may
        for _ in range(target - copies):
            plan = chip.place(list(blocks), i)  # type: ignore[arg-type]
            assert plan is not None
            info[i]["tiles"] += plan  # type: ignore[operator]
        info[i]["copies"] = target
        push(i)
