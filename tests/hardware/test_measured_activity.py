"""The activity the S0 and S1 presets' checks use was measured on converted LeNet-5s; measure it again.

Slow (minutes on a CPU): trains the two LeNet-5s as the presets' comments say, converts them, runs 1,000 MNIST
test images through the integer IR and compares with what ``conf/hardware/{zou2021_chip,liu2018_memristor}.yaml``
store: S1's spikes and synaptic operations per layer (``measured``) and input events, S0's spikes per neuron and
step (``rates``).
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
            "flatten1": "classifier.0", "fc1": "classifier.1", "fc2": "classifier.3"}


@pytest.mark.slow
@pytest.mark.parametrize("preset", list(RECIPES))
def test_stored_rates_are_what_a_converted_lenet_measures(preset, shared_data):
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
    for name, ir_name in IR_NAMES.items():
        layer = network.layer(ir_name)
        if "measured" in stored:
            counts = stored["measured"][name]
            assert layer.activity.spikes == pytest.approx(counts["spikes"], rel=0.15), name
            assert layer.activity.synops == pytest.approx(counts["synops"], rel=0.15, abs=1.0), name
        else:
            measured = layer.activity.spikes / (layer.neurons * network.time_steps)
            assert measured == pytest.approx(stored["rates"][name], rel=0.15, abs=0.005), name
    if "input_spikes" in stored:
        assert network.input_activity.spikes == pytest.approx(stored["input_spikes"], rel=0.05)
