"""Every activity figure the S0 and S1 presets store was measured on a trained, converted network: measure it again.

Slow (minutes for the LeNet-5s, about an hour for the VGG on two CPU threads). Each figure is re-measured by the
same seeded procedure that produced it and must come out equal to the stored value up to the stored rounding (one
decimal for event counts, four for rates per step): a changed network, quantizer, converter, data order or
counting rule breaks it, where a +-15 % band would not.

- ``conf/hardware/liu2018_memristor.yaml``, LeNet-5 checks: trains the LeNet-5 as the preset's comments say
  (seeded model and data order), converts it, runs 1,000 MNIST test images through the integer IR
  (`snnq.hardware.calibrate`) and compares S0's spikes per neuron and step (``rates``).
- ``conf/hardware/zou2021_chip.yaml``: runs ``python -m bench s1_activity`` itself (`bench.s1_activity.measure`:
  the recipes zou2021/mnist_lenet and zou2021/cifar10_vgg with the stored run's epochs, from scratch, in a
  subprocess with two threads) and compares every layer's spikes and synaptic operations and the chip's input
  events with the checks' ``measured`` and ``input_spikes``.

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

S0 = {"weight": {"name": "fixed_point", "bits": 4}, "per_channel": True,
      "activation": {"name": "fixed_point", "bits": 4, "signed": False, "frac_bits": 2}, **INTEGER_IO}
EPOCHS = 1
"""S0's LeNet-5: epochs over the 60,000 training images (rate conversion)."""
IR_NAMES = {"conv1": "features.0", "maxpool1": "features.2", "conv2": "features.3", "maxpool2": "features.5",
            "flatten1": "classifier.0", "fc1": "classifier.1", "fc2": "classifier.3", "fc3": "classifier.5"}
STORED_THREADS = 2
"""The CPU threads of the runs that produced the stored figures."""
S1_VGG_EPOCHS = 4
"""The epochs of the ``bench s1_activity`` VGG run stored in zou2021_chip.yaml (its VGG checks' comment)."""


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
def test_stored_s0_lenet_rates_are_what_a_converted_lenet_measures(shared_data, stored_threads):
    mnist = {split: read_mnist(shared_data / "mnist", split) for split in ("train", "test")}
    torch.manual_seed(0)
    model = LeNet5(pool="max")
    snnq.quantize_(model, S0)
    for epoch in range(EPOCHS):
        train(model, *mnist["train"], samples=60_000, seed=epoch)
    snn = snnq.convert(model, method="rate")
    images = mnist["test"][0][:1000]
    network = calibrate(to_ir(snn, input_shape=(1, 28, 28)), input_codes(snn, images))
    table = dict(load_preset("liu2018_memristor").checks[0].network.options)["rates"]
    assert table and set(table) <= set(IR_NAMES), f"stored layers {sorted(table)} not all measured here"
    pairs = []
    for name, stored_rate in table.items():
        layer = network.layer(IR_NAMES[name])
        pairs.append((f"{name} rate", layer.activity.spikes / (layer.neurons * network.time_steps), stored_rate, 4))
    assert not differences(pairs), "\n".join(differences(pairs))


@pytest.mark.slow
@pytest.mark.parametrize("network", ["lenet", "vgg"])
def test_stored_s1_activity_is_what_bench_s1_activity_measures(network, tmp_path, monkeypatch):
    from bench import s1_activity

    monkeypatch.setattr(s1_activity, "VGG_EPOCHS", S1_VGG_EPOCHS)
    monkeypatch.setenv("OMP_NUM_THREADS", str(STORED_THREADS))
    _, measured = s1_activity.measure(network, tmp_path)
    stored = dict(load_preset("zou2021_chip").check(s1_activity.NETWORKS[network]["checks"][0]).network.options)
    assert set(measured["measured"]) == set(stored["measured"])
    pairs = [(f"{name} {key}", measured["measured"][name][key], counts[key], 1)
             for name, counts in stored["measured"].items() for key in ("spikes", "synops")]
    pairs.append(("input events", measured["input_spikes"], stored["input_spikes"], 1))
    assert not differences(pairs), "\n".join(differences(pairs))
