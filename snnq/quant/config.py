"""Small validated configs for `quantize_`, serialisable to and from plain dicts (Hydra/YAML)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from snnq.errors import ConfigError, did_you_mean
from snnq.quant.base import Quantizer
from snnq.registry import QUANTIZERS


@dataclass(frozen=True)
class QuantizerSpec:
    """A registered quantizer's name and options; `build` makes a fresh quantizer for each use.

    Parsed from a name (``"ternary"``) or a flat mapping (``{"name": "uniform", "bits": 4}``).
    """

    name: str
    options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "options", dict(self.options))
        self.build()  # a bad name, option or value fails here, when the config is made, not mid-way through quantize_

    @classmethod
    def parse(cls, value: QuantizerSpec | str | Mapping[str, Any]) -> QuantizerSpec:
        if isinstance(value, QuantizerSpec):
            return value
        if isinstance(value, str):
            return cls(value)
        if isinstance(value, Mapping):
            options = dict(value)
            if "name" not in options:
                raise ConfigError(f"a quantizer spec needs a 'name' key (one of {', '.join(QUANTIZERS.names())}); got {value!r}")
            return cls(str(options.pop("name")), options)
        raise ConfigError(f"a quantizer spec is a name or a mapping with 'name'; got {type(value).__name__} {value!r}")

    def build(self, **overrides: Any) -> Quantizer:
        return QUANTIZERS.build(self.name, **{**overrides, **self.options})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **self.options}


@dataclass(frozen=True)
class QuantConfig:
    """What `quantize_` applies.

    Args:
        weight: quantizer for the weights of every ``nn.Linear`` / ``nn.Conv*`` (and subclasses), or None.
        activation: quantizer inserted after every module whose class name is in ``activations``, or None.
        activations: class names of the activation modules to quantize (default ``("ReLU",)``).
        per_channel: one weight scale per output channel (axis 0, or 1 for transposed convolutions) unless the
            weight spec sets ``channel_axis`` itself.
        bias: quantizer for the biases of those layers (e.g. ``fixed_point`` with ``frac_bits``: integer hardware
            adds integer biases), or None to keep them float.
        input: quantizer for the network's input, put into the ``nn.Identity`` module named ``input_module`` that
            snnq's models start with (integer input codes for integer hardware), or None.
        input_module: the name of that module.
    """

    weight: QuantizerSpec | None = None
    activation: QuantizerSpec | None = None
    activations: tuple[str, ...] = ("ReLU",)
    per_channel: bool = False
    bias: QuantizerSpec | None = None
    input: QuantizerSpec | None = None
    input_module: str = "input"
    version: ClassVar[int] = 1

    def __post_init__(self) -> None:
        for name in ("weight", "activation", "bias", "input"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, QuantizerSpec.parse(value))
        if isinstance(self.activations, str):
            object.__setattr__(self, "activations", (self.activations,))
        object.__setattr__(self, "activations", tuple(self.activations))
        if all(getattr(self, name) is None for name in ("weight", "activation", "bias", "input")):
            raise ConfigError("QuantConfig needs at least one of 'weight', 'activation', 'bias' and 'input'")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> QuantConfig:
        """Builds a config from a plain mapping; unknown keys raise with the valid ones listed."""
        valid = [f.name for f in fields(cls)]
        for key in data:
            if key not in valid and key != "version":
                raise ConfigError(f"QuantConfig: unknown key {key!r}{did_you_mean(str(key), valid)}; valid keys: {', '.join(valid)}")
        if data.get("version", cls.version) != cls.version:
            raise ConfigError(f"QuantConfig: version {data['version']!r} is not supported (this snnq reads version {cls.version})")
        return cls(**{k: v for k, v in data.items() if k != "version"})

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "weight": self.weight.to_dict() if self.weight else None,
            "activation": self.activation.to_dict() if self.activation else None,
            "activations": list(self.activations),
            "per_channel": self.per_channel,
            "bias": self.bias.to_dict() if self.bias else None,
            "input": self.input.to_dict() if self.input else None,
            "input_module": self.input_module,
        }
