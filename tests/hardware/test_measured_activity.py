"""Every activity figure the S0 and S1 presets store was measured on a trained, converted network: measure it again.

Slow (minutes for the LeNet-5s, about an hour for the VGG on two CPU threads). Each figure is re-measured by the
same seeded procedure that produced it and must come out equal to the stored value up to the stored rounding (one
decimal for event counts, four for rates per step): a changed network, quantizer, converter, data order or
counting rule breaks it, where a +-15 % band would not.

- ``conf/hardware/{zou2021_chip,liu2018_memristor}.yaml``, LeNet-5 checks: trains the two LeNet-5s as the presets'
  comments say (seeded model and data order), converts them, runs 1,000 MNIST test images through the integer IR
  (`snnq.hardware.calibrate`) and compares S1's spikes and synaptic operations per layer (``measured``) and input
  events, and S0's spikes per neuron and step (``rates``).
- ``zou2021_chip.yaml``, VGG checks: runs ``python -m bench vgg_activity`` itself (`bench.vgg_activity.run`) with
  the stored run's epochs, on the CPU (the stored figures were trained on one) and from scratch (no cached
  weights), and compares every layer's counts and the input events with the preset's ``measured``.

Training is seeded, so on the same PyTorch build and thread count the runs repeat bit for bit; the tests fix the
thread count to the two threads the stored runs used (a different count changes the order of floating-point
reductions, hence the trained weights and every count). A figure that fails here is re-measured and stored
again (the procedure decides the figure; the tolerance stays at the stored rounding).
"""

from __future__ import annotations

import pytest
import torch

import snnq
from snnq.conversion import input_codes, to_ir
from snnq.hardware import calibrate, load_preset
from snnq.models import LeNet5
from tests.conversion.conftest import INTEGER_IO, read_mnist, train

S1 = {"weight": {"name": "dynamic_fixed_point", "bits": 4}, "per_channel": True,
      "activation": {"name": "uniform", "levels": 4, "scale": 0.5, "learn_scale": True, "pow2_scale": True},
      "bias": INTEGER_IO["bias"], "input": {"name": "fixed_point", "bits": 3, "signed": False, "frac_bits": 2}}  # 4-level input
S0 = {"weight": {"name": "fixed_point", "bits": 4}, "per_channel": True,
      "activation": {"name": "fixed_point", "bits": 4, "signed": False, "frac_bits": 2}, **INTEGER_IO}
# preset -> (quantization, converter, options, epochs over the 60,000 training images)
RECIPES = {"zou2021_chip": (S1, "scatter_gather", {"spike_budget": 4}, 2), "liu2018_memristor": (S0, "rate", {}, 1)}
IR_NAMES = {"conv1": "features.0", "maxpool1": "features.2", "conv2": "features.3", "maxpool2": "features.5",
            "flatten1": "classifier.0", "fc1": "classifier.1", "fc2": "classifier.3", "fc3": "classifier.5"}
STORED_THREADS = 2
"""The CPU threads of the runs that produced the stored figures."""
VGG_EPOCHS = 9
"""The epochs of the ``bench vgg_activity`` run stored in zou2021_chip.yaml (its VGG checks' comment)."""


def differences(pairs: list[tuple[str, float, float, int]]) -> list[str]:
    """Every (what, measured, stored, decimals) whose measured value does not round to the stored one at the stored
    precision (half a unit of its last digit, nothing more), as readable lines: all of them, not just the first."""
    return [f"{what}: measured {measured:.6g}, stored {stored:.6g} ({100 * (measured / stored - 1):+.2f} %)"
            for what, measured, stored, decimals in pairs
            if abs(measured - stored) > 0.5 * 10.0**-decimals + 1e-9 * abs(stored)]


@pytest.fixture
def stored_threads():
    threads = torch.get_num_threads()
    torch.set_num_threads(STORED_THREADS)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(RECIPES))
def test_stored_lenet_activity_is_what_a_converted_lenet_measures(preset, shared_data, stored_threads):
    config, method, options, epochs = RECIPES[preset]
    mnist = {split: read_mnist(shared_data / "mnist", split) for split in ("train", "test")}
    torch.manual_seed(0)
    model = LeNet5(pool="max")
    snnq.quantize_(model, config)
    for epoch in range(epochs):
        train(model, *mnist["train"], samples=60_000, seed=epoch)
    snn = snnq.convert(model, method=method, **options)
    images = mnist["test"][0][:1000]
    network = calibrate(to_ir(snn, input_shape=(1, 28, 28)), input_codes(snn, images))
    stored = dict(load_preset(preset).checks[0].network.options)
    table = stored.get("measured", stored.get("rates"))
    assert table and set(table) <= set(IR_NAMES), f"stored layers {sorted(table)} not all measured here"
    pairs = []
    for name in table:
        layer = network.layer(IR_NAMES[name])
        if "measured" in stored:
            pairs += [(f"{name} spikes", layer.activity.spikes, table[name]["spikes"], 1),
                      (f"{name} synops", layer.activity.synops, table[name]["synops"], 1)]
        else:
            pairs.append((f"{name} rate", layer.activity.spikes / (layer.neurons * network.time_steps), table[name], 4))
    if "input_spikes" in stored:
        pairs.append(("input events", network.input_activity.spikes, stored["input_spikes"], 1))
    assert not differences(pairs), "\n".join(differences(pairs))


@pytest.mark.slow
def test_stored_vgg_activity_is_what_bench_vgg_activity_measures(tmp_path, monkeypatch, stored_threads):
    from bench import vgg_activity

    monkeypatch.setattr(vgg_activity, "EPOCHS", VGG_EPOCHS)
    monkeypatch.setattr(vgg_activity, "CACHE", tmp_path)  # trained here, not read from cached weights
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # the stored run trained on a CPU
    measured = vgg_activity.run().data["preset_options"]
    stored = dict(load_preset("zou2021_chip").check("vgg_latency").network.options)
    assert set(measured["measured"]) == set(stored["measured"])
    pairs = [(f"{name} {key}", measured["measured"][name][key], counts[key], 1)
             for name, counts in stored["measured"].items() for key in ("spikes", "synops")]
    pairs.append(("input events", measured["input_spikes"], stored["input_spikes"], 1))
    assert not differences(pairs), "\n".join(differences(pairs))
    assert {k: v for k, v in measured.items() if k not in ("measured", "input_spikes")} == \
        {k: v for k, v in stored.items() if k not in ("measured", "input_spikes")}
