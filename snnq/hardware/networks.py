"""The seed papers' networks as shape-only IRs (LeNet-5, VGG variants, ResNet-18) with documented assumed activity.

Input activity comes from the data sets' statistics (rate coding sends a pixel of intensity ``p`` as ``p``
spikes per step on average, so the input rate is the mean intensity: MNIST 0.1307 (measured on the offline
copy), CIFAR-10 0.473, CIFAR-100 0.478, Tiny-ImageNet 0.442 (the usual per-channel normalisation means,
averaged); TTFS inputs fire once per non-zero pixel: MNIST 0.191 (measured), natural images ~1). Hidden-layer
activity is an assumption (``spike_rate``) until a calibration run measures it; each builder states its
default and every check can override it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from snnq.errors import UnknownNameError
from snnq.hardware.builder import NetworkBuilder
from snnq.hardware.ir import Network
from snnq.registry import check_options

DATASETS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        "mnist": MappingProxyType({"input_shape": (1, 28, 28), "classes": 10, "mean_intensity": 0.1307, "nonzero": 0.191}),
        "cifar10": MappingProxyType({"input_shape": (3, 32, 32), "classes": 10, "mean_intensity": 0.473, "nonzero": 1.0}),
        "cifar100": MappingProxyType({"input_shape": (3, 32, 32), "classes": 100, "mean_intensity": 0.478, "nonzero": 1.0}),
        "tiny_imagenet": MappingProxyType({"input_shape": (3, 64, 64), "classes": 200, "mean_intensity": 0.442, "nonzero": 1.0}),
    }
)
"""Input shape, classes and input statistics of the data sets the papers used."""

VGG_CONFIGS: Mapping[str, tuple[int | str, ...]] = MappingProxyType(
    {
        "vgg11": (64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"),
        "vgg16": (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"),
        # S1's "VGG-Net" is not specified in what we have; assumed: three double-conv stages, as in small CIFAR VGGs,
        # and a last 2x2 max pooling so that 256 x 2 x 2 features reach the classifier: with 4-bit weights on ternary
        # synapses a 4096-input classifier alone takes 28,672 replicated rows, more than S1's 64 x 1024 rows hold
        # beside the convolutions (a capacity limit of the chip model; the classifier's latency is negligible).
        "vgg_s1": (64, 64, "M", 128, 128, "M", 256, 256, "M", "M"),
    }
)
"""Conv widths and ``"M"`` (2x2 pooling) of the VGG variants."""


def _input_rate(dataset: str, coding: str) -> float:
    stats = DATASETS[dataset]
    return float(stats["nonzero"] if coding == "ttfs" else stats["mean_intensity"])


def lenet5(
    *,
    dataset: str = "mnist",
    time_steps: int = 15,
    coding: str = "rate",
    weight_bits: int = 4,
    membrane_bits: int = 16,
    synapse: str = "signed",
    expansion: int = 1,
    levels: int = 1,
    input_levels: int = 1,
    schedule: str = "parallel",
    spike_rate: float = 0.1,
    input_rate: float | None = None,
    rates: Mapping[str, float] | None = None,
    measured: Mapping[str, Mapping[str, float]] | None = None,
    input_spikes: float | None = None,
    seed: int = 0,
) -> Network:
    """LeNet-5 for 28x28 MNIST: 6C5(pad 2)-MP2-16C5-MP2-FC120-FC84-FC10; the last layer has no neuron.

    Layer names: conv1, maxpool1, conv2, maxpool2, flatten1, fc1, fc2, fc3 (the keys of ``rates`` and ``measured``,
    see `NetworkBuilder.build`).

    S1's scatter-and-gather network comes in two forms: ``levels=N`` gives each activation a threshold group of
    ``N`` sub-neurons (what `snnq.conversion.to_ir` writes: one element per value, its count of spikes ``0..N``),
    ``input_levels=N`` inputs of ``0..N`` events; ``expansion`` instead multiplies every activation's channels
    (input included, output excluded) by ``N`` separate binary neurons.
    """
    stats = DATASETS[dataset]
    c, h, w = stats["input_shape"]
    e = int(expansion)
    b = NetworkBuilder(f"lenet5_{dataset}", (c * e, h, w), time_steps=time_steps, coding=coding,
                       weight_bits=weight_bits, membrane_bits=membrane_bits, synapse=synapse, levels=levels,
                       input_levels=input_levels, schedule=schedule, seed=seed)
    b.conv(6 * e, 5, padding=2)
    b.maxpool(2)
    b.conv(16 * e, 5, padding=0)
    b.maxpool(2)
    b.flatten()
    b.dense(120 * e)
    b.dense(84 * e)
    b.dense(int(stats["classes"]), neuron=False)
    rate = _input_rate(dataset, coding) if input_rate is None else input_rate
    return b.build(input_rate=rate, spike_rate=spike_rate, rates=rates, measured=measured, input_spikes=input_spikes,
                   metadata={"dataset": dataset, "architecture": "lenet5", "expansion": e})


def vgg(
    config: str | Sequence[int | str] = "vgg16",
    *,
    dataset: str = "cifar10",
    classifier: Sequence[int] = (4096, 4096),
    pool: str = "max",
    time_steps: int = 8,
    coding: str = "rate",
    weight_bits: int = 4,
    membrane_bits: int = 16,
    synapse: str = "signed",
    expansion: int = 1,
    levels: int = 1,
    input_levels: int = 1,
    schedule: str = "parallel",
    spike_rate: float = 0.1,
    input_rate: float | None = None,
    rates: Mapping[str, float] | None = None,
    measured: Mapping[str, Mapping[str, float]] | None = None,
    input_spikes: float | None = None,
    seed: int = 0,
) -> Network:
    """A VGG: 3x3 convs (padding 1) with 2x2 pooling at each ``"M"``, then ``classifier`` hidden widths and the classes.

    The default classifier (512*s*s -> 4096 -> 4096 -> classes) is the one of the conversion literature's CIFAR
    VGGs (QCFS); ``classifier=()`` gives a single linear layer. ``expansion``, ``levels``, ``input_levels`` as
    in `lenet5`; layers are named conv1.., maxpool1.., flatten1, fc1...
    """
    cfg = VGG_CONFIGS[config] if isinstance(config, str) else tuple(config)
    stats = DATASETS[dataset]
    c, h, w = stats["input_shape"]
    e = int(expansion)
    name = config if isinstance(config, str) else "vgg"
    b = NetworkBuilder(f"{name}_{dataset}", (c * e, h, w), time_steps=time_steps, coding=coding,
                       weight_bits=weight_bits, membrane_bits=membrane_bits, synapse=synapse, levels=levels,
                       input_levels=input_levels, schedule=schedule, seed=seed)
    for item in cfg:
        if item == "M":
            (b.maxpool if pool == "max" else b.avgpool)(2)
        else:
            b.conv(int(item) * e, 3, padding=1)
    b.flatten()
    for width in classifier:
        b.dense(int(width) * e)
    b.dense(int(stats["classes"]), neuron=False)
    rate = _input_rate(dataset, coding) if input_rate is None else input_rate
    return b.build(input_rate=rate, spike_rate=spike_rate, rates=rates, measured=measured, input_spikes=input_spikes,
                   metadata={"dataset": dataset, "architecture": name, "expansion": e})


def resnet18(
    *,
    dataset: str = "cifar10",
    time_steps: int = 8,
    coding: str = "rate",
    weight_bits: int = 4,
    membrane_bits: int = 16,
    synapse: str = "signed",
    spike_rate: float = 0.1,
    input_rate: float | None = None,
    seed: int = 0,
) -> Network:
    """ResNet-18 for 32x32 inputs: a 3x3 stem, four stages of two basic blocks (64, 128, 256, 512 channels),
    1x1 stride-2 shortcuts where the shape changes, neurons after each block's add, 4x4 average pooling, FC.
    """
    stats = DATASETS[dataset]
    b = NetworkBuilder(f"resnet18_{dataset}", tuple(stats["input_shape"]), time_steps=time_steps, coding=coding,
                       weight_bits=weight_bits, membrane_bits=membrane_bits, synapse=synapse, seed=seed)
    x = b.conv(64, 3, name="stem")
    channels = 64
    for stage, width in enumerate((64, 128, 256, 512), start=1):
        for block in (1, 2):
            stride = 2 if stage > 1 and block == 1 else 1
            prefix = f"s{stage}b{block}"
            y = b.conv(width, 3, stride=stride, name=f"{prefix}_conv1", source=x)
            y = b.conv(width, 3, neuron=False, name=f"{prefix}_conv2", source=y)
            shortcut = x
            if stride != 1 or width != channels:
                shortcut = b.conv(width, 1, stride=stride, padding=0, neuron=False, name=f"{prefix}_down", source=x)
            x = b.add(y, shortcut, name=f"{prefix}_add")
            channels = width
    b.avgpool(b.shape_of(x)[1], source=x)
    b.flatten()
    b.dense(int(stats["classes"]), neuron=False)
    rate = _input_rate(dataset, coding) if input_rate is None else input_rate
    return b.build(input_rate=rate, spike_rate=spike_rate, metadata={"dataset": dataset, "architecture": "resnet18"})


S1_LAYOUTS: Mapping[str, Mapping[str, Any]] = MappingProxyType(
    {
        # (out channels, kernel, stride, padding) of each on-chip convolution, then the on-chip dense widths.
        "lenet": MappingProxyType({
            "input_shape": (16, 28, 28),
            "convs": ((16, 5, 1, 0), (16, 2, 2, 0), (32, 5, 1, 0), (32, 2, 2, 0)),
            "dense": (256,),
        }),
        "vgg": MappingProxyType({
            "input_shape": (64, 24, 24),
            "convs": ((64, 3, 1, 1), (64, 3, 1, 1), (64, 2, 2, 0), (128, 3, 1, 1), (128, 3, 1, 1), (128, 2, 2, 0),
                      (256, 3, 1, 1), (256, 3, 1, 1), (256, 2, 2, 0), (512, 3, 1, 1), (512, 3, 1, 0)),
            "dense": (),
        }),
    }
)
"""The on-chip part of S1's networks (`snnq.models.s1`; PAPERS.md S1 "[V]"): what enters the chip is the off-chip
first layer's four-spike output (16 x 28 x 28 for the LeNet, 64 x 24 x 24 for the VGG), and the off-chip output
layer reads the last on-chip layer's spikes. tests/hardware/test_s1_networks.py checks these shapes against
`snnq.conversion.to_ir` of the converted torch models."""


def s1_network(
    layout: str,
    *,
    time_steps: int = 1,
    membrane_bits: int = 12,
    levels: int = 4,
    input_levels: int = 4,
    schedule: str = "layerwise",
    spike_rate: float = 0.1,
    input_rate: float = 0.1,
    measured: Mapping[str, Mapping[str, float]] | None = None,
    input_spikes: float | None = None,
    seed: int = 0,
) -> Network:
    """The on-chip layers of S1's ``layout`` (`S1_LAYOUTS`: ``"lenet"`` or ``"vgg"``) as `snnq.conversion.to_ir`
    writes them for the converted model: ternary synapses (weights in {-1, 0, 1}, no replication), four-spike
    threshold groups (``levels`` sub-neurons per element, stateless, one step), ``input_levels``-level inputs.

    Layer names: conv1.. (the 2x2/2 convolutions that replace pooling included), flatten1, then fc1.. for the
    layout's on-chip dense layers (the keys of ``measured``). ``membrane_bits`` (the converter picks each
    layer's own width; 12 is the widest in the LeNet) sizes the neurons' area and per-bit energy, and the partial
    sums a layer split over several cores sends between them (the LeNet's layers each fit one core).
    """
    if layout not in S1_LAYOUTS:
        raise UnknownNameError("S1 layout", layout, S1_LAYOUTS)
    spec = S1_LAYOUTS[layout]
    b = NetworkBuilder(f"s1_{layout}_chip", tuple(spec["input_shape"]), time_steps=time_steps, coding="scatter_gather",
                       membrane_bits=membrane_bits, synapse="ternary", levels=levels,
                       input_levels=input_levels, schedule=schedule, seed=seed)
    for out, kernel, stride, padding in spec["convs"]:
        b.conv(out, kernel, stride=stride, padding=padding)
    b.flatten()  # the classifier's first module: on chip, it passes the spikes on to the dense layers or the host
    for width in spec["dense"]:
        b.dense(width)
    return b.build(input_rate=input_rate, spike_rate=spike_rate, measured=measured, input_spikes=input_spikes,
                   metadata={"architecture": f"s1_{layout}", "off_chip": "first and output layers (host)", "chip_output": True})


@dataclass(frozen=True)
class PaperNetwork:
    """A named network builder with the defaults of the paper that used it."""

    builder: Callable[..., Network]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""

    def build(self, **options: Any) -> Network:
        merged = {**self.defaults, **options}
        check_options(self.builder, merged, f"network builder {self.builder.__name__!r}")
        return self.builder(**merged)


PAPER_NETWORKS: Mapping[str, PaperNetwork] = MappingProxyType(
    {
        "lenet5_mnist": PaperNetwork(lenet5, {"dataset": "mnist"}, "LeNet-5 on MNIST (S0; S1's 4-bit replicated stand-in)"),
        "s1_lenet_mnist": PaperNetwork(s1_network, {"layout": "lenet"}, "S1's LeNet on MNIST, its on-chip layers (S1)"),
        "s1_vgg_cifar10": PaperNetwork(s1_network, {"layout": "vgg"}, "S1's VGG-Net on 24x24 CIFAR-10 crops, its on-chip layers (S1)"),
        "vgg_s1_cifar10": PaperNetwork(vgg, {"config": "vgg_s1", "dataset": "cifar10", "classifier": ()}, "the VGG the zou2021_chip preset assumed before S1's own layout was known"),
        "vgg16_cifar10": PaperNetwork(vgg, {"config": "vgg16", "dataset": "cifar10"}, "VGG-16 on CIFAR-10 (S2)"),
        "vgg16_cifar100": PaperNetwork(vgg, {"config": "vgg16", "dataset": "cifar100"}, "VGG-16 on CIFAR-100 (S2)"),
        "vgg16_tiny_imagenet": PaperNetwork(vgg, {"config": "vgg16", "dataset": "tiny_imagenet"}, "VGG-16 on 64x64 Tiny-ImageNet (S2)"),
        "vgg11_cifar10": PaperNetwork(vgg, {"config": "vgg11", "dataset": "cifar10"}, "VGG-11 on CIFAR-10 (S3)"),
        "resnet18_cifar10": PaperNetwork(resnet18, {"dataset": "cifar10"}, "ResNet-18 on CIFAR-10 (S3)"),
    }
)
"""The networks the seed papers ran, by name."""


def paper_network(name: str, /, **options: Any) -> Network:
    """Builds the paper network ``name`` (see `PAPER_NETWORKS`) with ``options`` over its defaults."""
    if name not in PAPER_NETWORKS:
        raise UnknownNameError("paper network", name, PAPER_NETWORKS)
    return PAPER_NETWORKS[name].build(**options)
