"""A convolutional spiking network for event data (the S4 networks): ``[T, B, C, H, W]`` in, ``[T, B, classes]`` out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from snnq.registry import MODELS

STATELESS = (nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d, nn.Flatten, nn.Linear, nn.Dropout, nn.Identity)


@MODELS.register("conv_snn")
class ConvSNN(nn.Module):
    """Blocks of ``conv 3x3 - BatchNorm - spiking neuron - pooling``, then ``linear - neuron - linear``.

    The neurons are snnq's (``neuron`` names a registered one); ``framework`` puts them in snnTorch or
    SpikingJelly instead (``snnq.neuron(..., framework=...)``): with snnTorch the network runs step by step,
    otherwise the layers without state run once over all ``T * B`` frames and the neurons over ``[T, B, ...]``.

    Args:
        in_channels: input channels (2 polarities for event cameras).
        input_size: input side in pixels.
        channels: output channels of each block.
        hidden: width of the hidden linear layer (0: none).
        num_classes: outputs.
        neuron: registered neuron name (``plif`` for S4).
        neuron_options: options of that neuron.
        framework: None (snnq), ``snntorch`` or ``spikingjelly``.
        pool: ``max`` or ``avg``.
        dropout: before each linear layer.
    """

    def __init__(
        self,
        *,
        in_channels: int = 2,
        input_size: int = 34,
        channels: Sequence[int] = (32, 64),
        hidden: int = 128,
        num_classes: int = 10,
        neuron: str = "plif",
        neuron_options: dict[str, Any] | None = None,
        framework: str | None = None,
        pool: str = "max",
        dropout: float = 0.0,
    ):
        import snnq

        super().__init__()
        options = dict(neuron_options or {})
        extra = {"step_mode": "m"} if framework == "spikingjelly" else {"init_hidden": True} if framework == "snntorch" else {}

        def spiking() -> nn.Module:
            return snnq.neuron(neuron, framework=framework, **options, **extra)

        pooling = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[pool]
        layers: list[nn.Module] = [nn.Identity()]  # "layers.0": where an input quantizer would go
        side, width = input_size, in_channels
        for out in channels:
            layers += [nn.Conv2d(width, out, 3, padding=1, bias=False), nn.BatchNorm2d(out), spiking(), pooling(2)]
            side //= 2
            width = out
        layers.append(nn.Flatten())
        features = width * side * side
        if hidden:
            layers += [nn.Dropout(dropout), nn.Linear(features, hidden), spiking()]
            features = hidden
        layers += [nn.Dropout(dropout), nn.Linear(features, num_classes)]
        self.layers = nn.Sequential(*layers)
        self.step_by_step = framework == "snntorch"

    def forward(self, x: Tensor) -> Tensor:
        if self.step_by_step:
            import torch

            return torch.stack([self.layers(x[t]) for t in range(x.shape[0])])
        steps, batch = x.shape[:2]
        for layer in self.layers:
            if isinstance(layer, STATELESS):
                x = layer(x.flatten(0, 1))
                x = x.reshape(steps, batch, *x.shape[1:])
            else:
                x = layer(x)
        return x
