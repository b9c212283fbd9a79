"""The ``crossbar`` backend: map a network on tiles, cost it, and run it on simulated tiles."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np

from snnq.hardware.crossbar.costs import crossbar_costs, position_cycles
from snnq.hardware.crossbar.mapping import TileMapping, map_network
from snnq.hardware.crossbar.nonideal import CrossbarSynapseOp
from snnq.hardware.crossbar.spec import CrossbarSpec, NonIdealSpec
from snnq.hardware.ir import INPUT, Network
from snnq.hardware.result import HardwareReport, warn_without_activity
from snnq.hardware.simulate import SimulationResult, simulate
from snnq.hardware.spec import from_mapping
from snnq.registry import BACKENDS


def accuracy_table(ideal: SimulationResult, actual: SimulationResult, labels: np.ndarray | None) -> dict[str, float]:
    """``agreement`` (same prediction), ``exact_outputs`` (same integer scores) and, with labels, both accuracies."""
    out = {
        "agreement": float(np.mean(ideal.predictions == actual.predictions)),
        "exact_outputs": float(np.mean(np.all((ideal.scores == actual.scores).reshape(len(ideal.scores), -1), axis=1))),
        "samples": float(len(ideal.predictions)),
    }
    if labels is not None:
        labels = np.asarray(labels).reshape(-1)
        out["ideal"] = float(np.mean(ideal.predictions == labels))
        out["nonideal"] = float(np.mean(actual.predictions == labels))
    return out


@BACKENDS.register("crossbar")
class CrossbarBackend:
    """Crossbar tiles (analog memristor arrays or event-driven digital cores) described by a `CrossbarSpec`.

    Example::

        backend = CrossbarBackend(load_preset("zou2021_chip").hardware)
        report = backend.evaluate(network)                       # mapping + costs
        report = backend.evaluate(network, inputs=x, labels=y)   # + accuracy ideal vs non-ideal

    Args:
        spec: the chip (a `CrossbarSpec` or its mapping form).
        preset: name recorded in reports.
    """

    registry_name: ClassVar[str] = ""
    spec_type: ClassVar[type] = CrossbarSpec

    def __init__(self, spec: CrossbarSpec | dict[str, Any], *, preset: str = ""):
        self.spec = from_mapping(CrossbarSpec, spec)
        self.preset = preset

    def map(self, network: Network) -> TileMapping:
        """Places ``network``; with duplication, copies go where they save the most cycles (raises `MappingError`)."""
        if not self.spec.chip.duplicate:
            return map_network(network, self.spec)
        first = map_network(network, replace(self.spec, chip=replace(self.spec.chip, duplicate=False)))
        return map_network(network, self.spec, position_cycles=position_cycles(network, first, self.spec))

    def simulate(self, network: Network, inputs: np.ndarray, *, seed: int = 0, nonideal: NonIdealSpec | None = None,
                 mapping: TileMapping | None = None) -> SimulationResult:
        """Runs ``network`` on simulated tiles (``nonideal`` defaults to the preset's)."""
        op = CrossbarSynapseOp(network, mapping or self.map(network), self.spec, nonideal=nonideal, seed=seed)
        return simulate(network, inputs, synapse_op=op)

    def evaluate(self, network: Network, *, inputs: np.ndarray | None = None, labels: np.ndarray | None = None,
                 seed: int = 0, nonideal: NonIdealSpec | None = None) -> HardwareReport:
        """Costs of ``network``; with ``inputs`` also the accuracy of the ideal and the non-ideal simulation.

        When ``inputs`` are given and the IR carries no activity, the activity measured in the ideal run is used.
        """
        ideal = None
        if inputs is not None:
            ideal = simulate(network, inputs, source="inputs given to the crossbar backend")
            if not network.has_activity:
                network = network.with_layers(tuple(layer.with_activity(ideal.activity[layer.name]) for layer in network),
                                              input_activity=ideal.activity[INPUT])
        warn_without_activity(network)
        mapping = self.map(network)
        report = crossbar_costs(network, mapping, self.spec, preset=self.preset)
        if ideal is None:
            return report
        actual = self.simulate(network, inputs, seed=seed, nonideal=nonideal, mapping=mapping)
        on_chip_only = bool(network.metadata.get("chip_output"))  # the scores are spike counts the host reads on
        accuracy = accuracy_table(ideal, actual, None if on_chip_only else labels)
        return HardwareReport(report.backend, report.preset, report.network, report.layers, report.totals,
                              accuracy=accuracy, details=report.details, assumptions=report.assumptions)
