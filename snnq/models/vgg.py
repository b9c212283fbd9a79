"""VGG networks for 32 x 32 inputs (CIFAR), as S1, S2 and S3 use them."""

from __future__ import annotations

from torch import Tensor, nn

from snnq.errors import UnknownNameError
from snnq.registry import MODELS

CONFIGS = {
    "vgg11": [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg13": [64, 64, "M", 128, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    # S1's "VGG-Net" as snnq.hardware.networks.VGG_CONFIGS assumes it (three double-conv stages, 256 x 2 x 2 features):
    # what the zou2021_chip preset models, and a network that fits S1's 64 cores with 4-bit weights on ternary synapses
    "vgg_s1": [64, 64, "M", 128, 128, "M", 256, 256, "M", "M"],
}


class VGG(nn.Module):
    """VGG-n for CIFAR: 3x3 convolutions (+ BatchNorm) + ReLU, pooling at "M", then a classifier.

    Args:
        depth: ``vgg11``, ``vgg13``, ``vgg16`` or ``vgg_s1`` (S1's VGG as assumed: six convolutions).
        num_classes: outputs (10, 100, or 200 for Tiny-ImageNet at 64 x 64 with ``input_size=64``).
        batch_norm: a BatchNorm after every convolution.
        pool: ``avg`` (what spiking conversions prefer) or ``max``.
        input_size: image side (32 for CIFAR).
        hidden: width of the classifier's hidden layers (0: a single linear layer).
    """

    def __init__(self, depth: str = "vgg16", *, num_classes: int = 10, batch_norm: bool = True, pool: str = "avg", input_size: int = 32, hidden: int = 0, in_channels: int = 3):
        super().__init__()
        if depth not in CONFIGS:
            raise UnknownNameError("VGG depth", depth, CONFIGS)
        pooling = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}[pool]
        layers: list[nn.Module] = []
        channels, side = in_channels, input_size
        for item in CONFIGS[depth]:
            if item == "M":
                layers.append(pooling(2))
                side //= 2
                continue
            layers.append(nn.Conv2d(channels, item, 3, padding=1, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm2d(item))
            layers.append(nn.ReLU())
            channels = item
        self.input = nn.Identity()  # where quantize_ puts an input quantizer (QuantConfig.input)
        self.features = nn.Sequential(*layers)
        features = channels * side * side
        classifier: list[nn.Module] = [nn.Flatten()]
        if hidden:
            classifier += [nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(0.5), nn.Linear(hidden, hidden), nn.ReLU(), nn.Dropout(0.5)]
            features = hidden
        classifier.append(nn.Linear(features, num_classes))
        self.classifier = nn.Sequential(*classifier)
        self._initialise()

    def _initialise(self) -> None:
        """torchvision's VGG initialisation: He-normal convolutions (fan-out), zero biases, N(0, 0.01) linear
        weights. Without BatchNorm it is what keeps the signal alive through the layers: PyTorch's default
        initialisation shrinks it layer by layer, and a quantized activation then rounds it to zero everywhere."""
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(module, nn.BatchNorm2d):
                nn.init.ones_(module.weight)
            elif isinstance(module, nn.Linear):
                nn.init.normal_(module.weight, 0.0, 0.01)
            if isinstance(module, (nn.Conv2d, nn.BatchNorm2d, nn.Linear)) and module.bias is not None:
                nn.init.zeros_(module.bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.input(x)))


def _register(depth: str) -> None:
    MODELS.add(depth, lambda **options: VGG(depth, **options))


for _depth in CONFIGS:
    _register(_depth)
