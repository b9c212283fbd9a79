"""ResNet-18 for 32 x 32 inputs (CIFAR), as S3 uses it."""

from __future__ import annotations

from torch import Tensor, nn

from snnq.registry import MODELS


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN layers with an identity (or 1x1 projection) shortcut: ``relu(f(x) + shortcut(x))``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.shortcut = nn.Sequential()
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride, bias=False), nn.BatchNorm2d(out_channels))
        self.relu2 = nn.ReLU()

    def forward(self, x: Tensor) -> Tensor:
        out = self.relu1(self.bn1(self.conv1(x)))
        return self.relu2(self.bn2(self.conv2(out)) + self.shortcut(x))


@MODELS.register("resnet18")
class ResNet18(nn.Module):
    """ResNet-18 (CIFAR stem: one 3x3 convolution, no max-pool), global average pooling, linear classifier."""

    def __init__(self, *, num_classes: int = 10, in_channels: int = 3):
        super().__init__()
        self.input = nn.Identity()  # where quantize_ puts an input quantizer (QuantConfig.input)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        blocks, channels = [], 64
        for out_channels, stride in [(64, 1), (64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1)]:
            blocks.append(BasicBlock(channels, out_channels, stride))
            channels = out_channels
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(512, num_classes)

    def forward(self, x: Tensor) -> Tensor:
        return self.fc(self.flatten(self.pool(self.blocks(self.stem(self.input(x))))))
