"""LeNet-5 for 28 x 28 inputs (MNIST), as S0 and S1 use it."""

from __future__ import annotations

from torch import Tensor, nn

from snnq.registry import MODELS


@MODELS.register("lenet5")
class LeNet5(nn.Module):
    """conv 6@5x5 (padding 2) - pool - conv 16@5x5 - pool - fc 120 - fc 84 - fc classes, ReLU activations.

    Args:
        in_channels: input channels (1 for MNIST).
        num_classes: outputs.
        pool: ``avg`` (the classic LeNet) or ``max``.
        bias: biases on every layer.
        channels: the two convolutions' widths (LeNet-5: 6, 16).
        hidden: the two hidden linear layers' widths (LeNet-5: 120, 84).
    """

    def __init__(
        self,
        *,
        in_channels: int = 1,
        num_classes: int = 10,
        pool: str = "avg",
        bias: bool = True,
        channels: tuple[int, int] = (6, 16),
        hidden: tuple[int, int] = (120, 84),
    ):
        super().__init__()
        pooling = {"avg": nn.AvgPool2d, "max": nn.MaxPool2d}[pool]
        first, second = channels
        self.input = nn.Identity()  # where quantize_ puts an input quantizer (QuantConfig.input)
        self.features = nn.Sequential(
            nn.Conv2d(in_channels, first, 5, padding=2, bias=bias), nn.ReLU(), pooling(2),
            nn.Conv2d(first, second, 5, bias=bias), nn.ReLU(), pooling(2),
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(second * 5 * 5, hidden[0], bias=bias), nn.ReLU(), nn.Linear(hidden[0], hidden[1], bias=bias), nn.ReLU(),
            nn.Linear(hidden[1], num_classes, bias=bias),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.classifier(self.features(self.input(x)))
