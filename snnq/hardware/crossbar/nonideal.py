"""Running the spiking network on simulated crossbar tiles: conductances, variation, noise, faults, ADC clipping.

`CrossbarSynapseOp` replaces the exact synaptic product of `snnq.hardware.simulate.simulate` and the network
runs over all T steps as usual, so non-idealities accumulate through the membranes. Per weighted layer and
group, the integer matrix ``W`` (``rows x cols``) is first expanded to the physical rows of the mapping (on
ternary tiles, integer weights become ``M = max |W|`` ternary replicas of each row and every input drives its
``M`` replicas: `snnq.hardware.crossbar.gather`), then cut into the mapping's row blocks, each weight's
magnitude into ``slices`` of ``cell_bits`` (``|W| = sum_k d_k 2^(k c)``), and each slice onto a G+ / G- column
pair. In units of one conductance step (so that an ideal cell of level ``l`` conducts exactly ``l``)::

    G      = quantise(l; conductance_levels) + g_off          g_off = g_off_ratio (2^c - 1) / (1 - g_off_ratio)
    G      = g_on or g_off for stuck cells                     (stuck_on_rate, stuck_off_rate)
    G      = G * (1 + d2d_sigma z)                             (z ~ N(0, 1), drawn once per copy: the chip)
    I      = x @ G + read_sigma sqrt(x^2 @ G^2) z'             (fresh z' per read: cycle-to-cycle noise)
    code   = round(I - g_off sum(x)), clipped to [0, 2^b - 1] when adc_clip (offset removed digitally)
    out    = sum_blocks sum_k 2^(k c) (code+ - code-)

``parallel`` readouts convert every step; ``window`` readouts convert the running sum over the window (the
per-step current handed to the neuron is the difference of successive conversions, so an ideal converter
gives the exact steps back); ``row_serial`` readouts sense each cell's static level digitally
(``round(G - g_off)``, clipped) and add the read noise of the accumulated sum, rounded. Copies of a layer
are separate device instances: output position ``p`` is evaluated by copy ``p mod copies``.

With every rate, sigma and ratio at zero and ``adc_clip`` off (or converters wide enough) the result equals
the exact integer simulation bit for bit. Random numbers come from ``numpy.random.SeedSequence((seed, layer,
group, copy))``, so a seed reproduces a run whatever the order of evaluation.
"""

from __future__ import annotations

import math

import numpy as np

from snnq.hardware.crossbar.gather import replicate_inputs, ternary_rows
from snnq.hardware.crossbar.mapping import LayerPlacement, TileMapping
from snnq.hardware.crossbar.spec import CrossbarSpec, NonIdealSpec
from snnq.hardware.ir import Network, WeightedLayer
from snnq.hardware.simulate import weight_matrix


class CrossbarSynapseOp:
    """A `snnq.hardware.simulate.SynapseOp` that evaluates every weighted layer on simulated tiles.

    Args:
        network: the IR (its layer order seeds the random streams).
        mapping: where the layers sit (row blocks, slices, copies).
        spec: the chip (cell bits, ADC bits, readout).
        nonideal: the non-idealities (default: ``spec.nonideal``).
        seed: chip instance and noise seed.
    """

    def __init__(self, network: Network, mapping: TileMapping, spec: CrossbarSpec, *, nonideal: NonIdealSpec | None = None, seed: int = 0):
        self.spec, self.mapping, self.seed = spec, mapping, int(seed)
        self.nonideal = nonideal if nonideal is not None else spec.nonideal
        self.steps = network.time_steps
        self.index = {layer.name: i for i, layer in enumerate(network.weighted_layers())}
        self._chips: dict[tuple[str, int], list[list[tuple[np.ndarray, np.ndarray]]]] = {}
        levels = 2**spec.tile.cell_bits - 1 if spec.tile.signed_encoding == "differential" else 1
        self.top = levels
        r = self.nonideal.g_off_ratio
        self.g_off = r * levels / (1.0 - r)

    # ------------------------------------------------------------------ programming
    def _slices(self, layer: WeightedLayer, w: np.ndarray) -> list[np.ndarray]:
        place = self.mapping.layers[layer.name]
        bits = 1 if self.spec.tile.signed_encoding == "ternary" else self.spec.tile.cell_bits
        magnitude = np.abs(w)
        return [(magnitude >> (k * bits)) & (2**bits - 1) for k in range(place.slices)]

    def _program(self, levels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        ni = self.nonideal
        g = levels.astype(np.float64)
        if ni.conductance_levels:
            step = self.top / (ni.conductance_levels - 1)
            g = np.round(g / step) * step
        g = g + self.g_off
        if ni.stuck_on_rate or ni.stuck_off_rate:
            u = rng.random(g.shape)
            g = np.where(u < ni.stuck_on_rate, self.top + self.g_off, g)
            g = np.where((u >= ni.stuck_on_rate) & (u < ni.stuck_on_rate + ni.stuck_off_rate), self.g_off, g)
        if ni.d2d_sigma:
            g = np.maximum(g * (1.0 + ni.d2d_sigma * rng.standard_normal(g.shape)), 0.0)
        return g

    def _chip(self, layer: WeightedLayer, group: int) -> list[list[tuple[np.ndarray, np.ndarray]]]:
        """Per copy, per (row block, slice): the programmed G+ and G- matrices."""
        key = (layer.name, group)
        if key not in self._chips:
            place = self.mapping.layers[layer.name]
            w = ternary_rows(weight_matrix(layer, group), place.replicas)
            slices = self._slices(layer, w)
            block = _block_rows(place, w.shape[0])
            copies = []
            for copy in range(place.copies):
                rng = np.random.default_rng(np.random.SeedSequence((self.seed, self.index[layer.name], group, copy)))
                cells = []
                for start in range(0, w.shape[0], block):
                    rows = slice(start, start + block)
                    for d in slices:
                        pos = np.where(w[rows] > 0, d[rows], 0)
                        neg = np.where(w[rows] < 0, d[rows], 0)
                        cells.append((self._program(pos, rng), self._program(neg, rng)))
                copies.append(cells)
            self._chips[key] = copies
        return self._chips[key]

    # ------------------------------------------------------------------ reading
    def _convert(self, current: np.ndarray) -> np.ndarray:
        code = np.rint(current)
        if self.nonideal.adc_clip:
            code = np.clip(code, 0, 2**self.spec.tile.adc_bits - 1)
        return code

    def _read(self, x: np.ndarray, g: np.ndarray, rng: np.random.Generator, readout: str) -> np.ndarray:
        """One slice column set: float column codes ``[N, P, cols]`` (after offset removal and conversion)."""
        ni = self.nonideal
        if readout == "row_serial":
            sensed = np.rint(g - self.g_off)
            if ni.adc_clip:
                sensed = np.clip(sensed, 0, 2**self.spec.tile.adc_bits - 1)
            current = x @ sensed
            if ni.read_sigma:
                current = current + np.rint(ni.read_sigma * np.sqrt((x * x) @ (g * g)) * rng.standard_normal(current.shape))
            return current
        current = x @ g - self.g_off * x.sum(axis=-1, keepdims=True)
        if ni.read_sigma:
            current = current + ni.read_sigma * np.sqrt((x * x) @ (g * g)) * rng.standard_normal(current.shape)
        if readout == "parallel":
            return self._convert(current)
        # window: convert the running sum over the T steps, hand the neuron its increments
        n = current.shape[0]
        steps = self.steps
        by_step = current.reshape((steps, n // steps) + current.shape[1:])
        converted = self._convert(np.cumsum(by_step, axis=0))
        increments = np.diff(converted, axis=0, prepend=0.0)
        return increments.reshape(current.shape)

    def __call__(self, layer: WeightedLayer, group: int, x: np.ndarray) -> np.ndarray:
        place = self.mapping.layers[layer.name]
        chip = self._chip(layer, group)
        bits = 1 if self.spec.tile.signed_encoding == "ternary" else self.spec.tile.cell_bits
        readout = self.spec.tile.readout
        xf = replicate_inputs(x, place.replicas).astype(np.float64)
        out = np.zeros(x.shape[:2] + (place.cols,), dtype=np.float64)
        block = _block_rows(place, xf.shape[2])
        n_blocks = math.ceil(xf.shape[2] / block)
        for copy, cells in enumerate(chip):
            positions = slice(copy, None, place.copies)
            xc = xf[:, positions]
            if xc.shape[1] == 0:
                continue
            rng = np.random.default_rng(np.random.SeedSequence((self.seed, self.index[layer.name], group, copy, 1)))
            total = np.zeros(xc.shape[:2] + (place.cols,), dtype=np.float64)
            for b in range(n_blocks):
                xb = xc[:, :, b * block : (b + 1) * block]
                for k in range(place.slices):
                    g_pos, g_neg = cells[b * place.slices + k]
                    scale = float(2 ** (k * bits))
                    total += scale * (self._read(xb, g_pos, rng, readout) - self._read(xb, g_neg, rng, readout))
            out[:, positions] = total
        return np.rint(out).astype(np.int64)


def _block_rows(place: LayerPlacement, rows: int) -> int:
    """Physical rows of one row block (the mapping's split; all rows when the group fits one tile)."""
    return place.rows_per_tile if place.row_blocks > 1 else rows
