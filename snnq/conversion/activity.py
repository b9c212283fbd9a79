"""What flows through a converted network between layers, and the record of its spiking activity."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor


@dataclass
class Train:
    """One window of activity, step by step or summed.

    Step by step (``values``/``spikes``, ``[T, B, ...]``): what reaches the synapses at each step (spikes times their
    value, or currents) and the binary spikes behind it. Summed (``summed``/``counted``, ``[B, ...]``): the window's
    integral and every neuron's spike count, which is all a synapse accumulates over a window. A neuron layer's
    train carries both: its integral is its spike count times the spike's value, computed exactly once rather
    than summed step by step in floats.
    """

    values: Tensor | None = None
    spikes: Tensor | None = None
    summed: Tensor | None = None
    counted: Tensor | None = None

    def total(self) -> Tensor:
        """The window's integral: what a synapse accumulates over the window."""
        return self.summed if self.summed is not None else self.values.sum(0)

    def counts(self) -> Tensor | None:
        """Spikes per neuron over the window (None for currents)."""
        if self.counted is not None:
            return self.counted
        return None if self.spikes is None else self.spikes.sum(0)

    def map(self, fn) -> Train:  # noqa: ANN001 - any per-step tensor function
        """Applies a per-step function (flattening time into the batch), or, for a summed window, applies it to the
        integral and the counts: the same thing for the operations trains pass through (linear maps, and maxima of
        burst or single-spike trains)."""
        if self.values is None:
            return Train(summed=fn(self.summed), counted=None if self.counted is None else fn(self.counted))
        steps = self.values.shape[0]

        def per_step(x: Tensor) -> Tensor:
            out = fn(x.flatten(0, 1))
            return out.reshape(steps, -1, *out.shape[1:])

        summed = None if self.summed is None else fn(self.summed)  # keeps an exact integral exact
        return Train(per_step(self.values), None if self.spikes is None else per_step(self.spikes), summed)


@dataclass
class LayerActivity:
    """Spikes of one neuron layer, accumulated over the inferences seen."""

    name: str
    kind: str
    inferences: int = 0
    spikes: Tensor | None = None  # per neuron (sub-neurons included), summed over inferences
    max_spikes_per_step: int = 0
    max_group_spikes_per_step: int = 0

    def add(self, spikes: Tensor, *, group_axis: bool) -> None:
        """``spikes``: ``[T, B, ...]`` (0/1, a last group axis for multi-threshold neurons's sub-neurons)."""
        per_neuron = spikes.sum((0, 1)).double().cpu()
        self.spikes = per_neuron if self.spikes is None else self.spikes + per_neuron
        self.inferences += spikes.shape[1]
        self.max_spikes_per_step = max(self.max_spikes_per_step, int(spikes.max())) if spikes.numel() else 0
        per_group = spikes.sum(-1) if group_axis else spikes
        self.max_group_spikes_per_step = max(self.max_group_spikes_per_step, int(per_group.max())) if spikes.numel() else 0

    def summary(self) -> dict[str, float | int | str]:
        spikes = self.spikes if self.spikes is not None else torch.zeros(0)
        per_inference = spikes / max(self.inferences, 1)
        return {
            "name": self.name,
            "kind": self.kind,
            "neurons": int(spikes.numel()),
            "spikes_total": float(spikes.sum()),
            "spikes_per_inference": float(per_inference.sum()),
            "mean_spikes_per_neuron": float(per_inference.mean()) if spikes.numel() else 0.0,
            "max_spikes_per_neuron": float(per_inference.max()) if spikes.numel() else 0.0,
            "max_spikes_per_step": self.max_spikes_per_step,
            "max_group_spikes_per_step": self.max_group_spikes_per_step,
        }


@dataclass
class Activity:
    """Everything a converted network records while it runs (pass one to `SpikingNetwork.forward`)."""

    layers: dict[str, LayerActivity] = field(default_factory=dict)
    synaptic_operations: dict[str, float] = field(default_factory=dict)
    activations: dict[str, Tensor] = field(default_factory=dict)  # the last batch's decoded activations
    accumulators: dict[str, Tensor] = field(default_factory=dict)  # the last batch's integer accumulators
    synaptic_values: dict[str, list[int]] = field(default_factory=dict)  # what the simulated synapses held
    keep_activations: bool = False

    def neuron_layer(self, name: str, kind: str) -> LayerActivity:
        return self.layers.setdefault(name, LayerActivity(name, kind))

    def add_accumulator(self, name: str, accumulator: Tensor, synapse: Any) -> None:
        """Keeps a synaptic layer's integer accumulator of this batch and the values its synapses held."""
        self.accumulators[name] = accumulator
        if name not in self.synaptic_values:
            self.synaptic_values[name] = synapse.held_values()

    def add_synaptic_operations(self, name: str, count: float) -> None:
        self.synaptic_operations[name] = self.synaptic_operations.get(name, 0.0) + count

    def per_neuron_arrays(self) -> dict[str, np.ndarray]:
        """Mean spikes per inference of every neuron, by layer (for ``.npz`` files)."""
        return {
            name: (layer.spikes / max(layer.inferences, 1)).numpy()
            for name, layer in self.layers.items()
            if layer.spikes is not None
        }
