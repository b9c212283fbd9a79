"""`snnq.verify`: does a converted network compute what the quantized ANN computes? Counted, not assumed.

The reference is the quantized ANN's integer computation (`IntegerReference`): per synaptic layer an exact integer
accumulator, and float outputs derived from it by one stated operation that the spiking network applies too. The
check compares every synaptic layer's accumulators as integers and the outputs bit for bit, on the event-by-event
``step`` simulation by default; only that simulation supports an exactness claim (`VerificationReport.exact`).
The float32 ANN is run too and its distance from the reference reported (``float_ann_*``): a float bias or a scale
the integers cannot carry makes the float network's last bits depend on the BLAS's summation order.
"""

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
from snnq.conversion.reference import IntegerReference
from snnq.quant.apply import QuantizedActivation

MAX_LISTED_VALUES = 256


@dataclass
class VerificationReport:
    """How a spiking network's outputs and activity compare with the network it was converted from.

    ``logit_mismatches`` counts samples whose outputs differ at all (bit for bit) from the quantized ANN's integer
    reference; ``class_mismatches`` those whose predicted class differs. ``accumulator_mismatches`` counts, per
    synaptic layer, the integer accumulator entries that differ (``unchecked_layers``: reference layers the spiking
    network did not compute in integers). ``layer_max_abs_difference`` compares, per neuron layer, the activation
    the spikes stand for with the ANN's activation at that layer. ``synaptic_values`` lists the distinct values the
    simulated synapses held (``[-1, 0, 1]`` for ternary synapses); ``max_spikes_per_step`` is the most spikes any
    (sub-)neuron emitted in one time step, as recorded from the neurons' spikes (in ``window`` mode, from the
    closed form's reconstruction). ``float_ann_*``: how the float32 ANN's own outputs differ from the reference.
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
    accumulator_mismatches: dict[str, int] = field(default_factory=dict)
    unchecked_layers: list[str] = field(default_factory=list)
    float_ann_logit_mismatches: int = 0
    float_ann_class_mismatches: int = 0
    float_ann_max_abs_difference: float = 0.0
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
        """Equal to the integer reference on every sample, output and accumulator, in the event-by-event simulation."""
        return (
            self.mode == "step" and self.samples > 0 and self.logit_mismatches == 0 and not self.unchecked_layers
            and sum(self.accumulator_mismatches.values()) == 0
        )

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
    mode: str = "step",
    max_batches: int | None = None,
    progress: bool = True,
) -> VerificationReport:
    """Runs ``model`` (the quantized ANN), its integer reference and ``snn`` on every batch of ``loader`` and
    compares them.

    ``loader`` yields inputs or ``(inputs, labels)`` pairs; with labels the report holds both accuracies (the ANN's
    from its integer reference). ``mode`` is the network's simulation mode: ``step`` (default: every neuron
    simulated, every spike accumulated through the integer synapses) or ``window`` (a fast check whose spike
    counts come from the closed form; it supports no exactness claim).
    """
    was_training = model.training
    model.eval()
    reference = IntegerReference(model)
    captured: dict[str, Tensor] = {}
    hooks = [
        module.register_forward_hook(lambda _m, _i, out, name=name: captured.__setitem__(name, out.detach()))
        for name, module in reference.graph_module.named_modules()
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
                expected = reference(inputs)
                float_ann = model(inputs)
                got = snn(inputs, mode=mode, activity=activity)
            _compare(report, expected, got, labels)
            _compare_accumulators(report, reference.accumulators, activity.accumulators)
            _compare_float_ann(report, expected, float_ann)
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


def _compare_accumulators(report: VerificationReport, expected: dict[str, Tensor], got: dict[str, Tensor]) -> None:
    for name, accumulator in expected.items():
        if name not in got:
            if name not in report.unchecked_layers:
                report.unchecked_layers.append(name)
            continue
        same_shape = got[name].shape == accumulator.shape
        differing = int((got[name].to(torch.int64) != accumulator.to(torch.int64)).sum()) if same_shape else accumulator.numel()
        report.accumulator_mismatches[name] = report.accumulator_mismatches.get(name, 0) + differing
    got.clear()  # a layer that is not computed again on the next batch must not pass on this batch's values


def _compare_float_ann(report: VerificationReport, expected: Tensor, float_ann: Tensor) -> None:
    flat_expected, flat_float = expected.flatten(1), float_ann.flatten(1)
    report.float_ann_logit_mismatches += int((flat_expected != flat_float).any(1).sum())
    report.float_ann_class_mismatches += int((expected.argmax(1) != float_ann.argmax(1)).sum())
    report.float_ann_max_abs_difference = max(report.float_ann_max_abs_difference, float((flat_expected - flat_float).abs().max()))


def _summarise_activity(report: VerificationReport, snn: SpikingNetwork, activity: Activity) -> None:
    report.layers = [layer.summary() for layer in activity.layers.values()]
    report.spikes_per_inference = sum(layer["spikes_per_inference"] for layer in report.layers)
    report.max_spikes_per_step = max((layer["max_spikes_per_step"] for layer in report.layers), default=0)
    report.synaptic_operations = dict(activity.synaptic_operations)
    report.synaptic_operations_per_inference = sum(activity.synaptic_operations.values()) / max(report.samples, 1)
    report.per_neuron_spikes = activity.per_neuron_arrays()
    for name, listed in activity.synaptic_values.items():  # what the simulated synapses held
        report.synaptic_values[name] = listed if len(listed) <= MAX_LISTED_VALUES else {"count": len(listed), "min": listed[0], "max": listed[-1]}
