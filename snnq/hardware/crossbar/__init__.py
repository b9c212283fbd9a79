"""Crossbar backend: tiles of R x C cells, mapping, costs and non-ideal simulation."""

from snnq.hardware.crossbar.backend import CrossbarBackend
from snnq.hardware.crossbar.costs import crossbar_costs
from snnq.hardware.crossbar.mapping import LayerPlacement, TileMapping, map_network
from snnq.hardware.crossbar.nonideal import CrossbarSynapseOp
from snnq.hardware.crossbar.spec import AreaSpec, ChipSpec, CrossbarSpec, EnergySpec, NonIdealSpec, TileSpec, TimingSpec

__all__ = [
    "AreaSpec", "ChipSpec", "CrossbarBackend", "CrossbarSpec", "CrossbarSynapseOp", "EnergySpec", "LayerPlacement",
    "NonIdealSpec", "TileMapping", "TileSpec", "TimingSpec", "crossbar_costs", "map_network",
]
