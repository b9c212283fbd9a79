"""Design-space sweeps (weight bits x T x tile size x ADC bits ...) and accuracy-energy Pareto fronts.

`sweep` evaluates a preset on every point of a grid. A grid key is either a network knob (`NETWORK_KNOBS`:
``weight_bits``, ``time_steps``) or a dotted hardware key of the preset's spec (``tile.rows``, ``tile.adc_bits``).
The network is an IR or a function ``point -> Network`` (rebuild it per point, e.g. with a converter or
`snnq.hardware.paper_network`); given inputs and labels, crossbar points also report the accuracy of the
non-ideal simulation. `pareto_front` keeps the points no other point beats on every objective and
`plot_pareto` draws them (matplotlib, Agg canvas). This is the in-process sweep over one IR (no retraining);
sweeps that retrain per point run as a Hydra multirun of ``snnq train`` and are gathered by
`snnq.hardware.pareto` (``snnq hw pareto RUNS_DIR``).
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from snnq.errors import ConfigError, did_you_mean
from snnq.hardware.ir import Network, WeightedLayer
from snnq.hardware.pareto import non_dominated
from snnq.hardware.presets import Preset, load_preset
from snnq.hardware.result import HardwareReport
from snnq.hardware.spec import get_path, with_overrides


def _requantize(network: Network, bits: Any) -> Network:
    """Signed weight codes moved to ``bits`` bits: ``round(w 2^(bits - b))`` clipped (the scale follows)."""
    bits = int(bits)
    layers = []
    for layer in network:
        if isinstance(layer, WeightedLayer) and layer.synapse == "signed":
            shift = bits - layer.weight_bits
            codes = np.floor(layer.weight.astype(np.float64) * 2.0**shift + 0.5)
            high = 2 ** (bits - 1) - 1
            codes = np.clip(codes, -high - 1, high).astype(np.int8 if bits <= 8 else np.int16 if bits <= 16 else np.int32)
            layer = replace(layer, weight=codes, weight_bits=bits, weight_scale=layer.weight_scale * 2.0**-shift)
        layers.append(layer)
    return network.with_layers(tuple(layers))


def _retime(network: Network, steps: Any) -> Network:
    """``T`` changed; activity of rate codings scales with ``T' / T`` (a rate per step is kept)."""
    steps = int(steps)
    factor = steps / network.time_steps if network.coding != "ttfs" else 1.0

    def scaled(activity: Any) -> Any:
        if activity is None:
            return None
        peak = activity.peak_step
        return replace(activity, spikes=activity.spikes * factor, synops=activity.synops * factor, per_neuron=None,
                       peak_step=peak, measured=False, source=f"{activity.source}; rescaled to T={steps}".lstrip("; "))

    layers = tuple(layer.with_activity(scaled(layer.activity)) for layer in network)
    return network.with_layers(layers, time_steps=steps, input_activity=scaled(network.input_activity))


NETWORK_KNOBS: Mapping[str, Callable[[Network, Any], Network]] = MappingProxyType({"weight_bits": _requantize, "time_steps": _retime})
"""Grid keys that change the network (when it is given as an IR rather than a builder)."""


@dataclass(frozen=True)
class SweepResult:
    """One grid point: its values, the hardware report and (when simulated) the non-ideal accuracy."""

    point: Mapping[str, Any]
    report: HardwareReport
    accuracy: float | None = None

    def metric(self, name: str) -> float:
        """``accuracy`` or any report total (``energy_j``, ``latency_s``, ``area_mm2`` ...)."""
        if name == "accuracy":
            if self.accuracy is None:
                raise ConfigError("this sweep has no accuracy (give inputs and labels)")
            return self.accuracy
        return self.report.total(name)


def _grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    keys = list(grid)
    return [dict(zip(keys, values)) for values in itertools.product(*(list(grid[k]) for k in keys))]


def sweep(
    network: Network | Callable[[Mapping[str, Any]], Network],
    preset: Preset | str,
    grid: Mapping[str, Sequence[Any]],
    *,
    inputs: np.ndarray | Callable[[Mapping[str, Any]], np.ndarray] | None = None,
    labels: np.ndarray | None = None,
    seed: int = 0,
) -> list[SweepResult]:
    """Evaluates ``preset`` at every point of ``grid`` (the cartesian product of its value lists).

    Args:
        network: an IR (network knobs applied with `NETWORK_KNOBS`) or ``point -> Network``.
        preset: a preset or its name.
        grid: ``{key: values}``; keys are network knobs or dotted hardware keys.
        inputs: integer spike trains ``[T, B, ...]`` (or ``point -> inputs`` when T varies) for accuracy.
        labels: class labels of ``inputs``.
        seed: non-ideality seed (the same chip instance at every point).

    Returns:
        One `SweepResult` per grid point, in grid order. Points whose network does not fit the chip raise
        (`MappingError` / `ResourceError`) like a single evaluation would.
    """
    preset = load_preset(preset) if isinstance(preset, str) else preset
    hardware_keys = [k for k in grid if k not in NETWORK_KNOBS]
    for key in hardware_keys:
        try:
            get_path(preset.hardware, key)
        except ConfigError:
            raise ConfigError(f"sweep grid: unknown key {key!r}{did_you_mean(key, list(NETWORK_KNOBS))}; use a network knob "
                              f"({', '.join(NETWORK_KNOBS)}) or a dotted hardware key such as 'tile.adc_bits'") from None
    results = []
    for point in _grid_points(grid):
        if callable(network):
            net = network(point)  # the builder reads the network knobs itself
        else:
            net = network
            for key in grid:
                if key in NETWORK_KNOBS:
                    net = NETWORK_KNOBS[key](net, point[key])
        hardware = with_overrides(preset.hardware, {k: point[k] for k in hardware_keys}) if hardware_keys else preset.hardware
        backend = preset.backend_instance(hardware)
        x = inputs(point) if callable(inputs) else inputs
        if x is not None and labels is not None and hasattr(backend, "simulate"):
            report = backend.evaluate(net, inputs=x, labels=labels, seed=seed)
            accuracy = float(report.accuracy["nonideal"])
        else:
            report, accuracy = backend.evaluate(net), None
        results.append(SweepResult(MappingProxyType(dict(point)), report, accuracy))
    return results


def pareto_front(results: Sequence[SweepResult], objectives: Mapping[str, str] | None = None) -> list[int]:
    """Indices of the non-dominated results, sorted by the first objective.

    Args:
        objectives: ``{metric: "min" | "max"}`` (default: energy down, accuracy up; latency when no accuracy).
    """
    if objectives is None:
        if all(r.accuracy is not None for r in results):
            objectives = {"energy_j": "min", "accuracy": "max"}
        else:
            objectives = {"energy_j": "min", "latency_s": "min"}
    values = np.array([[r.metric(k) for k in objectives] for r in results], dtype=np.float64)
    front = non_dominated(values, list(objectives.values()))
    first = list(objectives)[0]
    return sorted(front, key=lambda i: results[i].metric(first))


def plot_pareto(results: Sequence[SweepResult], path: str | os.PathLike[str], *, x: str = "energy_j", y: str = "accuracy",
                label: Callable[[Mapping[str, Any]], str] | None = None) -> Path:
    """Draws every result and the Pareto front (``x`` minimised, ``y`` maximised) to a PNG at ``path``."""
    from snnq.hardware.report import new_figure, save_figure

    fig, ax = new_figure((6.4, 4.4))
    xs = [r.metric(x) for r in results]
    ys = [r.metric(y) for r in results]
    ax.scatter(xs, ys, s=18, color="0.6", label="design points")
    front = pareto_front(results, {x: "min", y: "max"})
    ax.plot([xs[i] for i in front], [ys[i] for i in front], "o-", color="C3", label="Pareto front")
    for i in front:
        text = label(results[i].point) if label else ", ".join(f"{k}={v}" for k, v in results[i].point.items())
        ax.annotate(text, (xs[i], ys[i]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.legend(fontsize=8)
    return save_figure(fig, Path(path))
