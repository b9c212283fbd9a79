"""Test-only helpers: run directories of converted LeNets, and small hand-made IR networks."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch

import snnq
from snnq.conversion.to_ir import input_codes, to_ir
from snnq.hardware import Network, Neuron, WeightedLayer, save_ir
from snnq.hardware.report import INPUTS_FILENAME
from tests.hardware.conftest import small_network

CODINGS = {  # coding -> (which integer LeNet, converter options)
    "rate": ("rate", {}),
    "scatter_gather": ("rate", {"spike_budget": 15}),
    "ttfs": ("ttfs", {}),
}


def write_run_dir(path: Path, network: Network, inputs: np.ndarray, labels: np.ndarray | None = None) -> Path:
    """A run directory: ``network.ir.npz`` and ``hw_inputs.npz`` (``inputs`` ``[T, B, ...]``, ``labels``)."""
    path.mkdir(parents=True, exist_ok=True)
    save_ir(network, path)
    payload = {"inputs": np.asarray(inputs)}
    if labels is not None:
        payload["labels"] = np.asarray(labels)
    np.savez(path / INPUTS_FILENAME, **payload)
    return path


def lenet_run_dir(path: Path, model: torch.nn.Module, method: str, images: torch.Tensor, labels: torch.Tensor, **options) -> Path:
    """convert -> to_ir -> save_ir, with the integer input codes of ``images`` and their labels."""
    snn = snnq.convert(model, method=method, **options)
    network = to_ir(snn, input_shape=tuple(images.shape[1:]), name=f"lenet5_{method}")
    return write_run_dir(path, network, input_codes(snn, images), labels.numpy())


NEURON_VARIANTS = {  # small hand-made neurons: narrow membranes so that saturation happens
    "if": lambda theta, steps, layerwise: Neuron(kind="if", threshold=theta, membrane_bits=6, initial=2),
    "lif": lambda theta, steps, layerwise: Neuron(kind="lif", threshold=theta, membrane_bits=8, leak_shift=2, initial=1),
    "sg_stateless": lambda theta, steps, layerwise: Neuron(kind="sg_stateless", threshold=theta, membrane_bits=7, levels=3, spacing=2),
    "ttfs": lambda theta, steps, layerwise: Neuron(kind="ttfs", threshold=theta, membrane_bits=6,
                                                   step_thresholds=np.array([30, 9, 4, 2, 1, 1][:steps]) if layerwise else None),
}


def small_variant(kind: str, schedule: str, *, steps: int = 4, shift: int = 0, coding: str | None = None) -> Network:
    """`small_network` (conv with stride 2 and padding, max and average pooling, dense) with ``kind`` neurons."""
    net = small_network(time_steps=steps)
    layers = []
    for layer in net.layers:
        if layer.neuron is not None:
            theta = int(np.asarray(layer.neuron.threshold).max())
            layer = dataclasses.replace(layer, neuron=NEURON_VARIANTS[kind](theta, steps, schedule == "layerwise"))
        if shift and isinstance(layer, WeightedLayer) and layer.bias is not None:
            layer = dataclasses.replace(layer, shift=shift)
        layers.append(layer)
    if coding is None:
        coding = {"ttfs": "ttfs", "sg_stateless": "scatter_gather"}.get(kind, "rate")
    return dataclasses.replace(net, layers=tuple(layers), schedule=schedule, coding=coding, input_bits=3,
                               name=f"small_{kind}_{schedule}")


def small_inputs(network: Network, batch: int, *, seed: int = 0) -> np.ndarray:
    """Integer inputs ``[T, B, 2, 8, 8]`` in ``[0, 8)``: at step 0 only on the layerwise schedule."""
    x = np.random.default_rng(seed).integers(0, 8, size=(network.time_steps, batch) + network.input_shape)
    if network.schedule == "layerwise":
        x[1:] = 0
    return x
