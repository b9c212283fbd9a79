r"""S1's networks (Zou et al., 2021) in the authors' layouts: ``s1_lenet`` (MNIST) and ``s1_vgg`` (CIFAR-10).

Source: ``../shared/design/PAPERS.md``, section S1, "[V, from the authors' public code]": lines 30-33 (no bias,
BN + ReLU), 37-38 (float first and output layers, off chip), 39-44 (LeNet), 45-48 (VGG) (LeNet: the training script
``mnist_training_quant_lenet.py``, the reference where the repository's tables disagree; VGG:
``tensorlayer/models/vgg_cifar10.py`` and ``cifar10_training_quant_vgg.py``).

Every synaptic layer has no bias and is followed by batch normalisation; every hidden one then by ReLU, which
`snnq.quantize_` follows with the activation quantizer (S1: ``s1_median``, four spikes). Pooling is replaced by
2x2 convolutions of stride 2. The input layer and the output layer are full precision and computed off chip:

.. code-block:: text

    conv0 (off chip, float) -> BN -> ReLU -> [four-spike]      the spikes that enter the chip
    conv_i / fc_i (ternary)  -> BN -> ReLU -> [four-spike]      on chip, i = 1 .. n-1
    fc_n (off chip, float)   -> BN                             the logits (no ReLU, no quantizer)

**Off-chip convention.** ``model.off_chip_layers()`` returns the names (as in ``model.named_modules()``) of the
synaptic layers computed off chip, the first and the last: ``("features.conv0", "classifier.fc<n>")``. A recipe
lists the same names in ``quant.keep_float`` so that `quantize_` leaves them in float; converters and hardware
mappings read the method to keep those layers in the host's precision and out of the chip's synapse counts.
Layer ``i`` is named ``conv<i>`` / ``fc<i>``, its batch norm ``bn<i>`` and its activation ``relu<i>``.

The weights start as the initialisers of the authors' ternary layers (``Quant_Conv2d``: truncated normal, cut at
two standard deviations, std 0.02; ``Quant_DenseLayer``: std 0.1); the float first and last layers take the same
(TensorLayer's ``Conv2d`` / ``DenseLayer`` defaults, not re-checked here). Batch norm uses PyTorch's defaults
(momentum 0.1, eps 1e-5, gamma 1, beta 0); TensorLayer's running variance is the biased one, PyTorch's the unbiased
one (a factor n/(n-1) on the statistics used at test time, negligible at batch 128).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from torch import Tensor, nn

from snnq.errors import ConfigError
from snnq.registry import MODELS


class Conv(NamedTuple):
    """One convolution of a layout: ``out`` channels, a ``kernel`` x ``kernel`` window, ``stride``, ``same``
    (TensorFlow's SAME padding, here symmetric ``(kernel - 1) / 2``) or VALID padding."""

    out: int
    kernel: int
    stride: int = 1
    same: bool = True


LENET: tuple[Conv, ...] = (
    Conv(16, 5, 1, True),    # 16C5 SAME, off chip: 28 -> 28
    Conv(16, 5, 1, False),   # 16C5 VALID: 28 -> 24
    Conv(16, 2, 2, True),    # 2x2/2 in place of pooling: 24 -> 12
    Conv(32, 5, 1, False),   # 32C5 VALID: 12 -> 8
    Conv(32, 2, 2, True),    # 2x2/2: 8 -> 4
)
"""S1's LeNet (the training script): 16C5-16C5-16 2x2/2-32C5-32 2x2/2, then dense 256 and dense 10."""

VGG: tuple[Conv, ...] = (
    Conv(64, 3), Conv(64, 3), Conv(64, 3), Conv(64, 2, 2),             # 24 -> 12 (the first one off chip)
    Conv(128, 3), Conv(128, 3), Conv(128, 2, 2),                       # 12 -> 6
    Conv(256, 3), Conv(256, 3), Conv(256, 2, 2),                       # 6 -> 3
    Conv(512, 3), Conv(512, 3, 1, False),                              # 3 -> 3 -> 1
)
"""S1's VGG-Net: 64C3 (off chip)-64C3-64C3-64 2x2/2-128C3-128C3-128 2x2/2-256C3-256C3-256 2x2/2-512C3-512C3 VALID,
then dense 10 (off chip)."""


class S1Net(nn.Module):
    r"""A convolutional stack and dense layers in S1's style (see the module docstring for the layout rules).

    For each synaptic layer ``i`` (convolution or dense, no bias), with ``BN`` the batch norm in training or
    inference form and ``Q`` the activation quantizer that `snnq.quantize_` inserts after the ReLU:

    .. math:: a_i = Q\big(\mathrm{ReLU}(\mathrm{BN}_i(W_i * a_{i-1}))\big), \qquad
              \text{logits} = \mathrm{BN}_n(W_n a_{n-1})

    Args:
        convs: the convolutions in order (`Conv`); the first is the off-chip input layer.
        hidden: widths of the dense layers between the convolutions and the output layer.
        in_channels: input channels.
        num_classes: outputs of the output layer (off chip).
        input_size: image side; every stride-2 layer needs an even side (TensorFlow's SAME padding of a 2x2/2
            window on an even side adds nothing, so the layout matches the authors' exactly).
    """

    def __init__(self, convs: tuple[Conv, ...], hidden: tuple[int, ...], *, in_channels: int, num_classes: int, input_size: int):
        super().__init__()
        if not convs:
            raise ConfigError("S1Net: a layout needs at least one convolution (the off-chip input layer)")
        features: OrderedDict[str, nn.Module] = OrderedDict()
        channels, side = in_channels, input_size
        for i, conv in enumerate(convs):
            if conv.same and conv.stride == 1 and conv.kernel % 2 == 0:
                raise ConfigError(f"S1Net: conv{i}: SAME padding of an even {conv.kernel}x{conv.kernel} window is asymmetric; not supported")
            if conv.stride > 1 and (side % conv.stride or conv.kernel != conv.stride):
                raise ConfigError(f"S1Net: conv{i}: a {conv.kernel}x{conv.kernel}/{conv.stride} layer needs a side divisible by its stride and kernel = stride; got side {side}")
            padding = (conv.kernel - 1) // 2 if conv.same and conv.stride == 1 else 0
            features[f"conv{i}"] = nn.Conv2d(channels, conv.out, conv.kernel, stride=conv.stride, padding=padding, bias=False)
            features[f"bn{i}"] = nn.BatchNorm2d(conv.out)
            features[f"relu{i}"] = nn.ReLU()
            side = (side + 2 * padding - conv.kernel) // conv.stride + 1
            if side < 1:
                raise ConfigError(f"S1Net: conv{i} leaves no pixel of a {input_size}x{input_size} input")
            channels = conv.out
        classifier: OrderedDict[str, nn.Module] = OrderedDict(flatten=nn.Flatten())
        width = channels * side * side
        index = len(convs)
        for units in hidden:
            classifier[f"fc{index}"] = nn.Linear(width, units, bias=False)
            classifier[f"bn{index}"] = nn.BatchNorm1d(units)
            classifier[f"relu{index}"] = nn.ReLU()
            width, index = units, index + 1
        classifier[f"fc{index}"] = nn.Linear(width, num_classes, bias=False)
        classifier[f"bn{index}"] = nn.BatchNorm1d(num_classes)
        self.input = nn.Identity()  # where quantize_ puts an input quantizer (QuantConfig.input); S1 has none
        self.features = nn.Sequential(features)
        self.classifier = nn.Sequential(classifier)
        self._off_chip = ("features.conv0", f"classifier.fc{index}")
        self._initialise()

    def off_chip_layers(self) -> tuple[str, ...]:
        """Names of the synaptic layers computed off chip in full precision: the input layer and the output layer."""
        return self._off_chip

    def _initialise(self) -> None:
        for module in self.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                std = 0.02 if isinstance(module, nn.Conv2d) else 0.1
                nn.init.trunc_normal_(module.weight, 0.0, std, -2 * std, 2 * std)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.input(x)))


@MODELS.register("s1_lenet")
def s1_lenet(*, in_channels: int = 1, num_classes: int = 10, input_size: int = 28) -> S1Net:
    """S1's LeNet for 28 x 28 MNIST: 16C5 SAME (off chip) - 16C5 - 16 2x2/2 - 32C5 - 32 2x2/2 - dense 256 -
    dense 10 (off chip); 158,352 weights, 159,864 with batch norm's four numbers per channel (PAPERS.md S1 line 42
    says 153,400 parameters, the script's docstring; no reading of the script's layout gives that count)."""
    return S1Net(LENET, (256,), in_channels=in_channels, num_classes=num_classes, input_size=input_size)


@MODELS.register("s1_vgg")
def s1_vgg(*, in_channels: int = 3, num_classes: int = 10, input_size: int = 24) -> S1Net:
    """S1's VGG-Net for 24 x 24 CIFAR-10 crops (layout in `VGG`), then dense 10 (off chip); 5,069,504 weights,
    5,079,272 with batch norm's four numbers per channel: the authors' count."""
    return S1Net(VGG, (), in_channels=in_channels, num_classes=num_classes, input_size=input_size)
