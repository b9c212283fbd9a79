"""IRs from shapes alone: the assumed-activity equations, by hand."""

from __future__ import annotations

import pytest

from snnq.hardware.builder import from_shapes
from snnq.hardware.crossbar import CrossbarBackend
from snnq.hardware.errors import IRError
from snnq.hardware.networks import lenet5, paper_network, resnet18

from .conftest import crossbar_spec, random_spikes, small_network


def test_assumed_activity_follows_the_documented_rules():
    net = from_shapes("t", (1, 4, 4), [("conv", 2, 3), ("maxpool", 2), ("dense", 3, {"neuron": False})],
                      time_steps=2, input_rate=0.5, spike_rate=0.1)
    conv, pool, flat, fc = net.layers
    # 4x4 input, 3x3 kernel, padding 1: taps per axis 2 + 3 + 3 + 2 = 10 -> 100 per channel pair, 2 output channels
    assert conv.activity.synops == pytest.approx(0.5 * 2 * 2 * 100)
    assert conv.activity.spikes == pytest.approx(0.1 * 2 * 2 * 16)
    rate = 1 - 0.9**4  # an OR over 2x2 windows
    assert pool.activity.spikes == pytest.approx(rate * 2 * 8) and flat.activity.spikes == pytest.approx(pool.activity.spikes)
    assert fc.activity.synops == pytest.approx(rate * 2 * 8 * 3)
    assert net.input_activity.spikes == pytest.approx(0.5 * 2 * 16) and not conv.activity.measured
    assert "assumed" in conv.activity.source and net.metadata["activity"].startswith("assumed")


def test_ttfs_activity_does_not_grow_with_the_window():
    a = lenet5(coding="ttfs", time_steps=4, spike_rate=0.3)
    b = lenet5(coding="ttfs", time_steps=16, spike_rate=0.3)
    assert a.layers[0].activity.spikes == b.layers[0].activity.spikes == pytest.approx(0.3 * 6 * 28 * 28)
    assert a.layers[0].neuron.kind == "ttfs"


def test_from_shapes_matches_the_lenet_builder_and_rejects_unknown_operations():
    spec = [("conv", 6, 5, {"padding": 2}), ("maxpool", 2), ("conv", 16, 5, {"padding": 0}), ("maxpool", 2),
            ("dense", 120), ("dense", 84), ("dense", 10, {"neuron": False})]
    net = from_shapes("lenet5", (1, 28, 28), spec, time_steps=15, input_rate=0.1307, spike_rate=0.1)
    reference = lenet5(time_steps=15)
    assert [(l.kind, l.output_shape) for l in net] == [(l.kind, l.output_shape) for l in reference]
    assert [l.activity.synops for l in net] == pytest.approx([l.activity.synops for l in reference])
    with pytest.raises(IRError, match="unknown layer operation 'conv2' .*did you mean 'conv'"):
        from_shapes("x", (1, 4, 4), [("conv2", 2)], time_steps=1, input_rate=0.1, spike_rate=0.1)


def test_the_paper_networks_have_their_published_shapes():
    vgg16 = paper_network("vgg16_cifar10")
    assert sum(l.weight.size for l in vgg16.weighted_layers() if l.kind == "conv2d") == 14_710_464
    assert paper_network("vgg16_tiny_imagenet").layer("fc1").input_shape == (2048,)
    res = resnet18()
    assert sum(l.weight.size for l in res.weighted_layers()) == 11_164_352  # ResNet-18 for CIFAR without BN
    assert res.layer("s2b1_add").inputs == ("s2b1_conv2", "s2b1_down")
    assert lenet5(expansion=4, coding="scatter_gather", synapse="ternary", time_steps=1).layers[0].input_shape == (4, 28, 28)


def test_costs_without_activity_warn_and_inputs_supply_it():
    network = small_network()
    with pytest.warns(UserWarning, match="no activity for input, c1"):
        CrossbarBackend(crossbar_spec()).evaluate(network)
    report = CrossbarBackend(crossbar_spec()).evaluate(network, inputs=random_spikes(network, 4))
    assert report.total("synops") > 0 and not report.assumptions


def test_threshold_groups_and_multi_level_inputs_count_events_per_level():
    net = from_shapes("t", (1, 4, 4), [("conv", 2, 3), ("maxpool", 2), ("dense", 3, {"neuron": False})], time_steps=1,
                      input_rate=0.25, spike_rate=0.1, coding="scatter_gather", levels=4, input_levels=4, schedule="layerwise")
    conv, pool, _, fc = net.layers
    assert net.input_bits == 3 and net.schedule == "layerwise" and conv.neuron.levels == 4 and conv.neuron.kind == "sg_stateless"
    assert net.input_activity.spikes == pytest.approx(0.25 * 4 * 16)  # a level rate times 4 levels per pixel
    assert conv.activity.synops == pytest.approx(0.25 * 4 * 2 * 100) and conv.activity.spikes == pytest.approx(0.1 * 4 * 2 * 16)
    rate = 1 - 0.9**4  # per level of the thermometer code
    assert pool.activity.spikes == pytest.approx(rate * 4 * 2 * 4) and fc.activity.synops == pytest.approx(rate * 4 * 8 * 3)


def test_measured_counts_and_pooling_rates_override_the_rules():
    measured = {"conv1": {"spikes": 100.0, "synops": 5000.0}}
    net = lenet5(coding="scatter_gather", time_steps=1, levels=4, input_levels=4, schedule="layerwise", input_spikes=300.0,
                 measured=measured, rates={"maxpool1": 0.05})
    conv1, pool1, conv2 = net.layers[:3]
    assert (conv1.activity.spikes, conv1.activity.synops, conv1.activity.measured) == (100.0, 5000.0, True)
    assert net.input_activity.spikes == 300.0 and net.input_activity.measured and not conv2.activity.measured
    assert pool1.activity.spikes == pytest.approx(0.05 * 4 * 6 * 14 * 14)
    assert conv2.activity.synops == pytest.approx(0.05 * 4 * conv2.connections())
    with pytest.raises(IRError, match="no layer named 'conv9'"):
        lenet5(measured={"conv9": {"spikes": 1.0, "synops": 1.0}})
    with pytest.raises(IRError, match="needs exactly 'spikes' and 'synops'"):
        lenet5(measured={"conv1": {"spikes": 1.0}})


def test_placeholder_signed_codes_span_the_twos_complement_range():
    codes = lenet5(weight_bits=4).layer("fc1").weight
    assert codes.min() == -8 and codes.max() == 7  # as a converted 4-bit layer (dynamic fixed point reaches -8)
