"""`snnq.verify`: does a converted network compute what the quantized ANN computes? Counted, not assumed."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from snnq.conversion.activity import Activity
from snnq.conversion.network import SpikingNetwork
from snnq.quant.apply import QuantizedActivation

MAX_LISTED_VALUES = 256


@dataclass
class VerificationReport:
    """How a spiking network's outputs and activity compare with the network it was converted from.

    ``logit_mismatches`` counts samples whose outputs differ at all (bit for bit); ``class_mismatches`` those whose
    predicted class differs. ``layer_max_abs_difference`` compares, per neuron layer, the activation the spikes
    stand for with the ANN's activation at that layer. ``synaptic_values`` lists the distinct values stored in the
    synapses (``{-1, 0, 1}`` for ternary synapses); ``max_spikes_per_step`` is the most spikes any (sub-)neuron
    emitted in one time step.
    """

    coding: str
    mode: str
    steps: int
    latency_steps: int
    samples: int = 0
    class_mismatches: int = 0
    logit_mismatches: int = 0
    max_abs_logit_difference: float = 0.0
    ann_correct: int | None = None
    snn_correct: int | None = None
    layer_max_abs_difference: dict[str, float] = field(default_factory=dict)
    layers: list[dict[str, Any]] = field(default_factory=list)
    synaptic_operations: dict[str, float] = field(default_factory=dict)
    synaptic_operations_per_inference: float = 0.0
    spikes_per_inference: float = 0.0
    synaptic_values: dict[str, Any] = field(default_factory=dict)
    max_spikes_per_step: int = 0
    per_neuron_spikes: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def exact(self) -> bool:
        return self.samples > 0 and self.logit_mismatches == 0

    @property
    def ann_accuracy(self) -> float | None:
        return None if self.ann_correct is None else self.ann_correct / max(self.samples, 1)

    @property
    def snn_accuracy(self) -> float | None:
        return None if self.snn_correct is None else self.snn_correct / max(self.samples, 1)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("per_neuron_spikes")
        data.update(exact=self.exact, ann_accuracy=self.ann_accuracy, snn_accuracy=self.snn_accuracy)
        return data

    def to_json(self, **kwargs: Any) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Writes ``path`` (JSON) and, beside it, ``<stem>.spikes.npz`` with every neuron's mean spike count,
        each atomically (a temporary file renamed into place)."""
        path = Path(path)
        _atomic_write(path, self.to_json(indent=2).encode())
        buffer = tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False)
        with buffer:
            np.savez_compressed(buffer, **{name.replace(".", "/"): value for name, value in self.per_neuron_spikes.items()})
        os.replace(buffer.name, path.with_suffix(".spikes.npz"))


def _atomic_write(path: Path, data: bytes) -> None:
    with tempfile.NamedTemporaryFile(dir=path.parent, delete=False) as handle:
        handle.write(data)
    os.replace(handle.name, path)


def verify(
    model: nn.Module,
    snn: SpikingNetwork,
    loader: Iterable[Any],
    *,
    mode: str = "window",
    max_batches: int | None = None,
    progress: bool = True,
) -> VerificationReport:
    """Runs ``model`` (the quantized ANN, in eval mode) and ``snn`` on every batch of ``loader`` and compares them.

    ``loader`` yields inputs or ``(inputs, labels)`` pairs; with labels the report holds both accuracies.
    ``mode`` is the network's simulation mode (``window`` or ``step``, see `SpikingNetwork`).
    """
    was_training = model.training
    model.eval()
    captured: dict[str, Tensor] = {}
    hooks = [
        module.register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out.detach()))
        for name, module in model.named_modules()
        if isinstance(module, QuantizedActivation)
    ]
    activity = Activity(keep_activations=True)
    report = VerificationReport(coding=snn.coding, mode=mode, steps=snn.steps, latency_steps=snn.latency_steps())
    try:
        for index, batch in enumerate(tqdm(loader, desc=f"verify {snn.coding}", unit="batch", disable=not progress, leave=False)):
            if max_batches is not None and index >= max_batches:
                break
            inputs, labels = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
            with torch.no_grad():
                expected = model(inputs)
                got = snn(inputs, mode=mode, activity=activity)
            _compare(report, expected, got, labels)
            for name, activation in captured.items():
                if name in activity.activations:
                    difference = float((activity.activations[name] - activation).abs().max())
                    report.layer_max_abs_difference[name] = max(report.layer_max_abs_difference.get(name, 0.0), difference)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    _summarise_activity(report, snn, activity)
    return report


def _compare(report: VerificationReport, expected: Tensor, got: Tensor, labels: Tensor | None) -> None:
    flat_expected, flat_got = expected.flatten(1), got.flatten(1)
    report.samples += expected.shape[0]
    report.logit_mismatches += int((flat_expected != flat_got).any(1).sum())
    report.class_mismatches += int((expected.argmax(1) != got.argmax(1)).sum())
    report.max_abs_logit_difference = max(report.max_abs_logit_difference, float((flat_expected - flat_got).abs().max()))
    if labels is not None:
        report.ann_correct = (report.ann_correct or 0) + int((expected.argmax(1) == labels).sum())
        report.snn_correct = (report.snn_correct or 0) + int((got.argmax(1) == labels).sum())


def _summarise_activity(report: VerificationReport, snn: SpikingNetwork, activity: Activity) -> None:
    report.layers = [layer.summary() for layer in activity.layers.values()]
    report.spikes_per_inference = sum(layer["spikes_per_inference"] for layer in report.layers)
    report.max_spikes_per_step = max((layer["max_spikes_per_step"] for layer in report.layers), default=0)
    report.synaptic_operations = dict(activity.synaptic_operations)
    report.synaptic_operations_per_inference = sum(activity.synaptic_operations.values()) / max(report.samples, 1)
    report.per_neuron_spikes = activity.per_neuron_arrays()
    for name, codes in snn.synapse_values.items():
        if codes is None:
            continue
        values = torch.unique(codes.sign() if snn.ternary else codes)  # ternary: the unit synapses' values
        listed = values.tolist()
        report.synaptic_values[name] = listed if len(listed) <= MAX_LISTED_VALUES else {"count": len(listed), "min": listed[0], "max": listed[-1]}
