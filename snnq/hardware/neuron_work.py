"""How often a layer's neurons act per inference, by schedule and neuron kind (shared by every backend).

A neuron *evaluation* is one charge-compare-reset of one element; a threshold group (``Neuron.levels > 1``,
S1's scatter: ``levels`` sub-neurons with thresholds ``theta + k spacing`` reading the same integrated input)
compares with each of its thresholds, so the *comparisons* of a layer per inference are

    comparisons = neurons * levels * evaluations

with ``evaluations`` per element by schedule (`EVALUATIONS`):

    parallel     T                         every step: integrate that step's input (and the bias), compare, reset
    layerwise    if, lif        T           the firing window: the integrated window (bias added once) is emitted as a
                                            burst, one compare-and-subtract per step of the window
                 sg_stateless   1           one evaluation of the group on the integrated window
                 ttfs           T           one compare per step with ``step_thresholds[t]`` (until it fires; counted
                                            as T, the worst case the hardware must schedule)

A per-channel or per-element ``initial`` (QCFS pre-charge, rate-conversion's ``floor(theta / 2)``) is loaded
once per inference with the membrane and costs nothing extra; a ``shift`` (``I = (W x) << shift + b``) is
wiring, and the wider accumulator it needs is already in ``membrane_bits``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from snnq.hardware.ir import Layer, Network, Neuron

_LAYERWISE: Mapping[str, Callable[[int], int]] = MappingProxyType(
    {"if": lambda steps: steps, "lif": lambda steps: steps, "sg_stateless": lambda steps: 1, "ttfs": lambda steps: steps}
)


def _parallel(neuron: Neuron, steps: int) -> int:
    return steps


def _layerwise(neuron: Neuron, steps: int) -> int:
    return _LAYERWISE[neuron.kind](steps)


EVALUATIONS: Mapping[str, Callable[[Neuron, int], int]] = MappingProxyType({"parallel": _parallel, "layerwise": _layerwise})
"""``schedule -> f(neuron, T) -> evaluations of one element per inference``."""


def evaluations(network: Network, layer: Layer) -> int:
    """Evaluations of one of ``layer``'s elements per inference (0 without a neuron)."""
    if layer.neuron is None:
        return 0
    return EVALUATIONS[network.schedule](layer.neuron, network.time_steps)


def membrane_updates(network: Network, layer: Layer) -> float:
    """Membrane read-modify-writes of ``layer`` per inference: ``neurons * evaluations`` (a group shares one membrane)."""
    return float(layer.neurons * evaluations(network, layer))


def comparisons(network: Network, layer: Layer, *, evaluations_per_element: int | None = None) -> float:
    """Threshold comparisons of ``layer`` per inference: ``neurons * levels * evaluations`` (0 without a neuron).

    Args:
        evaluations_per_element: overrides the schedule's count (a crossbar that converts a whole window once
            evaluates each element once).
    """
    if layer.neuron is None:
        return 0.0
    count = evaluations(network, layer) if evaluations_per_element is None else evaluations_per_element
    return float(layer.neurons * layer.neuron.levels * count)
