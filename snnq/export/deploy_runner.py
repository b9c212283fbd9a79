"""snnq deployment runner: the integer network of this directory, run with numpy alone (no snnq, no torch).

This file is copied verbatim into every deployment directory written by ``snnq export deploy``. It reads
``manifest.json`` and ``network.npz`` from its own directory, checks every file against the sha256 recorded in
the manifest (a missing or changed file stops it with an error naming the file), and computes exactly what
``snnq.hardware.simulate`` computes: integers only, the same schedule, the same neuron rules.

Arithmetic (time steps ``t = 0..T-1``, ``sat`` clips to the signed range of the membrane's bits)::

    synapses   I[t] = (W_int (*) x[t]) << shift (+ b)   dense: matrix product; conv: cross-correlation
    if         u = sat(u + I);            s = u >= theta;  u -= theta s     (u = initial before step 0)
    lif        u = sat(u - (u >> k) + I); s = u >= theta;  u -= theta s
    sg         u = sat(I);                s = #{j < levels : u >= theta + j spacing}   (layerwise; 1 level in parallel)
    ttfs       as if, firing at most once (parallel); layerwise: s[t] = 1 at the first t with sat(I) >= step_thresholds[t]

Schedules: ``parallel`` runs every layer at every step (bias at every step). ``layerwise`` lets each weighted
layer integrate its whole input window (spikes weighted by ``2^(T-1-t)`` under ``ttfs`` coding, bias once) and
its neurons fire the next window; pooling, flatten and add act on every step (``ttfs`` max pooling passes only
the first spike of a window). Scores are the last layer's outputs summed over time; predictions their argmax.

Command line::

    python snnq_runner.py [INPUTS.npz] [--out scores.npz]

``INPUTS.npz`` holds ``inputs`` (integers ``[T, B, *input_shape]``) and optionally ``labels`` ``[B]``; by default
``hw_inputs.npz`` beside this file. It prints the number of inputs (and the accuracy when labels are given) and
writes ``scores`` and ``predictions`` to ``--out``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

MANIFEST = "manifest.json"
FORMAT = "snnq-deploy"
FORMAT_VERSION = 1
_EXACT_FLOAT = 2.0**52


class DeploymentError(ValueError):
    """A missing or changed file, or a manifest this runner does not understand."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(directory: Path) -> dict:
    """The manifest of ``directory``, after checking that every file it lists exists and is unchanged."""
    path = directory / MANIFEST
    if not path.is_file():
        raise DeploymentError(f"{path}: missing (a deployment directory holds {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise DeploymentError(f"{path}: not readable JSON ({error})") from error
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise DeploymentError(f"{path}: format {manifest.get('format')!r} version {manifest.get('format_version')!r}; "
                              f"this runner reads {FORMAT!r} version {FORMAT_VERSION}")
    for name, entry in sorted(manifest.get("files", {}).items()):
        file = directory / name
        if not file.is_file():
            raise DeploymentError(f"{file}: missing (listed in {MANIFEST})")
        if sha256_of(file) != entry["sha256"]:
            raise DeploymentError(f"{file}: sha256 does not match {MANIFEST} (the file was changed after export)")
    return manifest


def integer_matmul(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """``x @ w`` exactly: through float64 when no partial sum can reach 2^52, else in int64."""
    bound = float(np.abs(x).max(initial=0)) * float(np.abs(w).max(initial=0)) * w.shape[0]
    if bound < _EXACT_FLOAT:
        return np.rint(x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x.astype(np.int64) @ w.astype(np.int64)


class Runner:
    """The network of a deployment directory; `run` maps integer inputs ``[T, B, ...]`` to scores and predictions."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)
        self.manifest = read_manifest(self.directory)
        with np.load(self.directory / self.manifest["arrays"], allow_pickle=False) as data:
            self.arrays = {name: data[name] for name in data.files}
        net = self.manifest["network"]
        self.steps = int(net["time_steps"])
        self.coding = net["coding"]
        self.schedule = net["schedule"]
        self.input_shape = tuple(net["input_shape"])
        self.layers = self.manifest["layers"]

    def array(self, layer: dict, field: str) -> np.ndarray | None:
        key = layer.get(field)
        return None if key is None else self.arrays[key]

    # -- layers: f(layer, inputs [N, *shape]) -> [N, *output_shape] ------------------------------------------------
    def unfold(self, layer: dict, x: np.ndarray) -> np.ndarray:
        if layer["kind"] != "conv2d":
            return x.reshape(1, x.shape[0], 1, -1)
        n, c = x.shape[:2]
        w = self.array(layer, "integer_weight")
        kh, kw = w.shape[2:]
        (sh, sw), (ph, pw), g = layer["stride"], layer["padding"], layer["groups"]
        _, ho, wo = layer["output_shape"]
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
        win = sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]
        win = win.reshape(n, g, c // g, ho, wo, kh, kw).transpose(1, 0, 3, 4, 2, 5, 6)
        return win.reshape(g, n, ho * wo, (c // g) * kh * kw)

    def weighted(self, layer: dict, x: np.ndarray, *, bias: bool = True) -> np.ndarray:
        w = self.array(layer, "integer_weight").astype(np.int64)
        groups = layer.get("groups", 1)
        cols = w.shape[0] // groups
        patches = self.unfold(layer, x)
        out = np.stack([integer_matmul(patches[g], w[g * cols:(g + 1) * cols].reshape(cols, -1).T) for g in range(groups)])
        out = out.transpose(1, 0, 3, 2).reshape((x.shape[0],) + tuple(layer["output_shape"]))
        if layer.get("shift", 0):  # the accumulator counts 2^-shift of a step when the bias is finer
            out = np.left_shift(out, layer["shift"])
        b = self.array(layer, "bias")
        if bias and b is not None:
            out = out + b.astype(np.int64).reshape((-1,) + (1,) * (len(layer["output_shape"]) - 1))
        return out

    def windows(self, layer: dict, x: np.ndarray, fill: int) -> np.ndarray:
        (kh, kw), (sh, sw), (ph, pw) = layer["kernel"], layer["stride"], layer["padding"]
        _, ho, wo = layer["output_shape"]
        padded = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
        return sliding_window_view(padded, (kh, kw), axis=(2, 3))[:, :, ::sh, ::sw][:, :, :ho, :wo]

    def forward(self, layer: dict, inputs: list[np.ndarray]) -> np.ndarray:
        kind = layer["kind"]
        if kind in ("dense", "conv2d"):
            return self.weighted(layer, inputs[0])
        if kind == "maxpool2d":
            return self.windows(layer, inputs[0], int(np.iinfo(inputs[0].dtype).min)).max(axis=(-2, -1))
        if kind == "avgpool2d":
            return self.windows(layer, inputs[0], 0).sum(axis=(-2, -1), dtype=np.int64)
        if kind == "flatten":
            return inputs[0].reshape(inputs[0].shape[0], -1)
        if kind == "add":
            return np.sum(np.stack(inputs), axis=0, dtype=np.int64)
        raise DeploymentError(f"layer {layer['name']!r}: unknown kind {kind!r}")

    # -- neurons ---------------------------------------------------------------------------------------------------
    def per_element(self, layer: dict, field: str, shape: tuple[int, ...]) -> np.ndarray:
        value = self.arrays[layer["neuron"][field]].astype(np.int64)
        if value.ndim == 1 and len(shape) > 1:
            value = value.reshape((-1,) + (1,) * (len(shape) - 1))
        return np.broadcast_to(value, shape)

    def neurons_parallel(self, layer: dict, current: np.ndarray) -> np.ndarray:
        neuron = layer["neuron"]
        shape = current.shape[2:]
        theta = self.per_element(layer, "threshold", shape)
        low, high = -(2 ** (neuron["membrane_bits"] - 1)), 2 ** (neuron["membrane_bits"] - 1) - 1
        u = np.broadcast_to(self.per_element(layer, "initial", shape), current.shape[1:]).astype(np.int64)
        may_fire = np.ones(current.shape[1:], dtype=bool)
        spikes = np.zeros(current.shape, dtype=np.int8)
        for t in range(current.shape[0]):
            if neuron["kind"] == "lif":
                u = u - (u >> neuron["leak_shift"]) + current[t]
            elif neuron["kind"] == "sg_stateless":
                u = current[t]
            else:
                u = u + current[t]
            u = np.clip(u, low, high)
            fire = (u >= theta) & may_fire
            u = u - theta * fire
            spikes[t] = fire
            if neuron["kind"] == "ttfs":
                may_fire &= ~fire
        return spikes

    def neurons_layerwise(self, layer: dict, current: np.ndarray) -> np.ndarray:
        neuron = layer["neuron"]
        shape = current.shape[1:]
        steps = self.steps
        low, high = -(2 ** (neuron["membrane_bits"] - 1)), 2 ** (neuron["membrane_bits"] - 1) - 1
        spikes = np.zeros((steps,) + current.shape, dtype=np.int64)
        kind = neuron["kind"]
        if kind == "if":
            theta = self.per_element(layer, "threshold", shape)
            u = np.clip(current + self.per_element(layer, "initial", shape), low, high)
            for t in range(steps):
                fire = u >= theta
                u = u - theta * fire
                spikes[t] = fire
            return spikes
        u = np.clip(current, low, high)
        if kind == "sg_stateless":
            theta = self.per_element(layer, "threshold", shape)
            spacing = self.per_element(layer, "spacing", shape)
            spikes[0] = sum((u >= theta + j * spacing).astype(np.int64) for j in range(neuron["levels"]))
            return spikes
        if kind == "ttfs" and neuron.get("step_thresholds") is not None:
            table = self.arrays[neuron["step_thresholds"]].astype(np.int64)
            fired = np.zeros(current.shape, dtype=bool)
            for t in range(steps):
                bound = table[t] if table.ndim == 1 else table[t].reshape((-1,) + (1,) * (len(shape) - 1))
                fire = (u >= bound) & ~fired
                spikes[t] = fire
                fired |= fire
            return spikes
        raise DeploymentError(f"layer {layer['name']!r}: {kind!r} neurons cannot run on the layerwise schedule")

    # -- schedules -------------------------------------------------------------------------------------------------
    def parallel_layer(self, layer: dict, inputs: list[np.ndarray]) -> np.ndarray:
        steps, batch = inputs[0].shape[:2]
        flat = [x.reshape((steps * batch,) + x.shape[2:]) for x in inputs]
        y = self.forward(layer, flat).reshape((steps, batch) + tuple(layer["output_shape"]))
        return y if layer["neuron"] is None else self.neurons_parallel(layer, y)

    def layerwise_layer(self, layer: dict, inputs: list[np.ndarray]) -> np.ndarray:
        steps, batch = inputs[0].shape[:2]
        shape = tuple(layer["output_shape"])
        if layer["kind"] in ("dense", "conv2d"):
            x = inputs[0]
            if self.coding == "ttfs" and layer["inputs"][0] != "input":  # a spike at step t is worth 2^(T-1-t)
                values = np.left_shift(np.int64(1), np.arange(steps - 1, -1, -1, dtype=np.int64))
                x = x * values.reshape((-1,) + (1,) * (x.ndim - 1))
            flat = x.reshape((steps * batch,) + x.shape[2:])
            current = self.weighted(layer, flat, bias=False).reshape((steps, batch) + shape).sum(axis=0)
            b = self.array(layer, "bias")
            if b is not None:
                current = current + b.astype(np.int64).reshape((-1,) + (1,) * (len(shape) - 1))
        else:
            flat = [v.reshape((steps * batch,) + v.shape[2:]) for v in inputs]
            y = self.forward(layer, flat).reshape((steps, batch) + shape)
            if layer["kind"] == "maxpool2d" and self.coding == "ttfs":
                first = np.cumsum(y, axis=0) > 0
                y = np.diff(first.astype(np.int64), axis=0, prepend=0)
            if layer["neuron"] is None:
                return y
            current = y.sum(axis=0)
        if layer["neuron"] is None:
            train = np.zeros((steps, batch) + shape, dtype=np.int64)
            train[0] = current
            return train
        return self.neurons_layerwise(layer, current)

    def run(self, inputs: np.ndarray, *, record: bool = False) -> dict[str, np.ndarray]:
        """``{"scores": [B, *out], "predictions": [B]}`` (and every layer's train by name when ``record``)."""
        x = np.asarray(inputs)
        if not np.issubdtype(x.dtype, np.integer):
            raise ValueError(f"inputs must be integers, got dtype {x.dtype}")
        batch = x.shape[1] if x.ndim > 1 else 0
        if x.shape != (self.steps, batch) + self.input_shape:
            raise ValueError(f"inputs must have shape [T={self.steps}, B, *{self.input_shape}], got {x.shape}")
        values = {"input": x.astype(np.int64)}
        step = self.parallel_layer if self.schedule == "parallel" else self.layerwise_layer
        for layer in self.layers:
            values[layer["name"]] = step(layer, [values[src] for src in layer["inputs"]])
        scores = values[self.layers[-1]["name"]].sum(axis=0, dtype=np.int64)
        out = {"scores": scores, "predictions": scores.reshape(batch, -1).argmax(axis=1)}
        if record:
            out.update({f"layer:{k}": v for k, v in values.items() if k != "input"})
        return out


def main(argv: list[str] | None = None) -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description="Run this deployment's integer network on integer inputs.")
    parser.add_argument("inputs", nargs="?", default=str(here / "hw_inputs.npz"), help="npz with 'inputs' [T, B, ...] (and 'labels')")
    parser.add_argument("--out", default="", help="write scores and predictions to this npz")
    args = parser.parse_args(argv)
    try:
        runner = Runner(here)
        with np.load(args.inputs, allow_pickle=False) as data:
            inputs = data["inputs"]
            labels = data["labels"] if "labels" in data.files else None
        result = runner.run(inputs)
    except (DeploymentError, OSError, KeyError, ValueError) as error:
        print(f"snnq_runner: error: {error}", file=sys.stderr)
        return 2
    line = f"{runner.manifest['network']['name']}: {inputs.shape[1]} inputs"
    if labels is not None:
        line += f", accuracy {float(np.mean(result['predictions'] == labels)):.4f}"
    print(line)
    if args.out:
        np.savez(args.out, scores=result["scores"], predictions=result["predictions"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
