"""A multi-layer perceptron (the demo's network on the 8 x 8 digits)."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor, nn

from snnq.registry import MODELS


@MODELS.register("mlp")
class MLP(nn.Module):
    """Flatten, then ``Linear + ReLU`` per hidden width, then a linear classifier.

    Args:
        in_features: inputs after flattening (64 for the 8 x 8 digits).
        hidden: hidden widths.
        num_classes: outputs.
    """

    def __init__(self, *, in_features: int = 64, hidden: Sequence[int] = (128,), num_classes: int = 10):
        super().__init__()
        self.input = nn.Identity()  # where quantize_ puts an input quantizer (QuantConfig.input)
        layers: list[nn.Module] = [nn.Flatten()]
        width = in_features
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU()]
            width = size
        layers.append(nn.Linear(width, num_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(self.input(x))
