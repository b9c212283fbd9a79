"""The base class every snnq quantizer derives from, and the checks they share."""

from __future__ import annotations

import inspect
from typing import Any, ClassVar, NamedTuple

import torch
from torch import Tensor, nn

from snnq.errors import ConfigError, NonFiniteError, TensorTypeError
from snnq.quant import distributed
from snnq.quant.integer import DECODERS, CodeSet, IntegerTensor
from snnq.quant.ste import straight_through


class Encoding(NamedTuple):
    """What `Quantizer.encode` returns.

    ``codes``: integer-valued floats (gradients may flow through them, as in LSQ); ``scale``: broadcastable
    step; ``passthrough``: when not None, the forward pass adds an identity gradient to the input, masked by
    this tensor (1 = pass, 0 = clipped) or unmasked when it is ``True``.
    """

    codes: Tensor
    scale: Tensor
    passthrough: Tensor | bool | None = None


class Quantizer(nn.Module):
    """A module whose forward returns the fake-quantized float tensor of its input's shape.

    A subclass implements `encode` (integer-valued float codes, the scale, and how the gradient reaches the
    input) and `codeset`; the base class turns them into the forward pass and into the exact `integer_form`,
    so that ``integer_form(x).dequantize()`` equals ``forward(x)`` bit for bit by construction.

    Quantizers whose scale comes from data (a tensor's range, LSQ's initial step) set it on their first call,
    or when `calibrate_` is called; that state is saved in ``state_dict`` with the ``initialized`` flag.

    Args:
        channel_axis: None for one scale per tensor, or the axis that holds channels (0 for the output
            channels of Conv/Linear weights) for one scale per channel.
    """

    registry_name: ClassVar[str] = "quantizer"
    encoding: ClassVar[str] = "linear"

    def __init__(self, *, channel_axis: int | None = None):
        super().__init__()
        if channel_axis is not None and (isinstance(channel_axis, bool) or not isinstance(channel_axis, int)):
            raise ConfigError(f"{self.registry_name}: channel_axis must be None or an int, got {channel_axis!r}")
        self.channel_axis = channel_axis
        self.register_buffer("initialized", torch.tensor(True))
        self._initialized = True  # Python mirror of the buffer: no device sync in forward

    def require_calibration(self) -> None:
        """Marks the quantizer as needing `calibrate_` (done automatically on the first call)."""
        self.initialized.fill_(False)
        self._initialized = False

    # -- what subclasses provide -----------------------------------------------------------------------------
    def encode(self, x: Tensor) -> Encoding:
        """Float codes, the broadcastable scale and the straight-through mask (see `Encoding`)."""
        raise NotImplementedError

    def codeset(self) -> CodeSet:
        """The integer codes this quantizer may emit."""
        raise NotImplementedError

    def initialize_(self, x: Tensor) -> None:
        """Sets data-dependent parameters from ``x`` (no gradient); quantizers without any ignore it."""

    def fixed_step(self) -> float | None:
        """The step between adjacent codes when it is one number that does not depend on the input (a linear grid,
        per tensor, calibrated), as the exact float the forward pass divides by; else None. Converters use it to
        give spiking neurons the very rounding of this quantizer."""
        return None

    # -- the forward pass and the integer form ---------------------------------------------------------------
    def forward(self, x: Tensor) -> Tensor:
        self.check_input(x)
        if not self._initialized:
            self.calibrate_(x)
        return self.fake_quantize(x)

    def fake_quantize(self, x: Tensor) -> Tensor:
        """The forward pass after the checks: decodes `encode`. Subclasses may fuse it (same values, bit for bit:
        the contract tests compare it with the integer form)."""
        codes, scale, passthrough = self.encode(x)
        value = DECODERS[self.encoding](codes, scale)
        if passthrough is None:
            return value
        return straight_through(x, value, None if passthrough is True else passthrough)

    def integer_form(self, x: Tensor) -> IntegerTensor:
        """Integer codes and scale of ``x`` as quantized in eval mode: ``dequantize()`` equals ``eval()(x)``."""
        self.check_input(x)
        self.check_finite(x)
        was_training = self.training
        self.eval()
        try:
            with torch.no_grad():
                if not self._initialized:
                    self.calibrate_(x)
                codes, scale, _ = self.encode(x)
        finally:
            self.train(was_training)
        codeset = self.codeset()
        return IntegerTensor(
            codes=codes.to(codeset.dtype()),
            scale=scale.detach().to(torch.float32).clone(),
            codeset=codeset,
            encoding=self.encoding,
            channel_axis=self._axis(x),
        )

    def calibrate_(self, x: Tensor) -> None:
        """(Re)sets the data-dependent parameters from ``x`` and marks the quantizer initialized."""
        self.check_input(x)
        self.check_finite(x)
        with torch.no_grad():
            self.initialize_(x.detach())
        self.initialized.fill_(True)
        self._initialized = True

    # -- checks and helpers shared by the subclasses ---------------------------------------------------------
    def check_input(self, x: Any) -> None:
        if not isinstance(x, Tensor):
            raise TensorTypeError(f"{self.registry_name}: expected a torch.Tensor, got {type(x).__name__}")
        if not x.is_floating_point():
            raise TensorTypeError(
                f"{self.registry_name}: expected a floating-point tensor, got {x.dtype}; "
                "quantizers take floats and return fake-quantized floats (convert with .float())"
            )
        if self.channel_axis is not None and not -x.dim() <= self.channel_axis < x.dim():
            raise TensorTypeError(
                f"{self.registry_name}: channel_axis={self.channel_axis} does not exist in a tensor of shape "
                f"{tuple(x.shape)}"
            )

    def check_finite(self, x: Tensor) -> None:
        if not bool(torch.isfinite(x).all()):
            bad = int((~torch.isfinite(x)).sum())
            raise NonFiniteError(
                f"{self.registry_name}: input holds {bad} NaN/inf value(s) of {x.numel()}; "
                "quantization needs finite values"
            )

    @classmethod
    def check_int(cls, option: str, value: Any, low: int, high: int, why: str = "") -> int:
        """Returns ``value`` if it is an int in ``[low, high]``, else raises `ConfigError` naming the option."""
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            reason = f" ({why})" if why else ""
            raise ConfigError(
                f"{cls.registry_name}: {option}={value!r} is invalid; expected an integer in [{low}, {high}]{reason}"
            )
        return value

    @classmethod
    def check_positive(cls, option: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < float(value) < float("inf"):
            raise ConfigError(f"{cls.registry_name}: {option}={value!r} is invalid; expected a finite number > 0")
        return float(value)

    def _axis(self, x: Tensor) -> int | None:
        return None if self.channel_axis is None else self.channel_axis % x.dim()

    def per_channel(self, values: Tensor, x: Tensor) -> Tensor:
        """Reshapes a per-channel vector (or a scalar) so that it broadcasts against ``x``."""
        axis = self._axis(x)
        if axis is None or values.dim() == 0:
            return values
        shape = [1] * x.dim()
        shape[axis] = -1
        return values.reshape(shape)

    def reduce(self, x: Tensor, how: str) -> Tensor:
        """``amax``, ``sum`` or ``mean`` of ``x`` over the whole tensor, or per channel (a vector).

        Sums and means are taken in float64 (no overflow for any float32 input) and returned in float64.
        In training mode inside `snnq.quant.distributed.synchronized` (a multi-process training step), the
        statistic is that of the global batch, reduced across processes (no gradient).
        """
        axis = self._axis(x)
        op = {"amax": torch.amax, "sum": torch.sum, "mean": torch.mean}[how]
        if how != "amax":
            x = x.double()
        if self.training and distributed.active():
            return distributed.reduce_across_processes(x, how, None if axis is None else [d for d in range(x.dim()) if d != axis])
        if axis is None:
            return op(x)
        dims = [d for d in range(x.dim()) if d != axis]
        return op(x, dim=dims) if dims else x

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs):  # type: ignore[no-untyped-def]
        # Per-channel parameters are empty until the first call; take their shape from the checkpoint.
        for name, tensor in list(self._parameters.items()) + list(self._buffers.items()):
            incoming = state_dict.get(prefix + name)
            if tensor is not None and incoming is not None and tensor.shape != incoming.shape and tensor.numel() == 0:
                tensor.data = torch.empty_like(incoming, device=tensor.device, dtype=tensor.dtype)
        super()._load_from_state_dict(
            state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs
        )
        self._initialized = bool(self.initialized)

    def extra_repr(self) -> str:
        return ", ".join(f"{k}={v!r}" for k, v in self.config().items())

    def config(self) -> dict[str, Any]:
        """The constructor options that rebuild this quantizer: ``snnq.quantizer(q.registry_name, **q.config())``.

        Every subclass keeps each keyword option of its ``__init__`` as an attribute of the same name.
        """
        parameters = inspect.signature(type(self).__init__).parameters
        return {name: getattr(self, name) for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY}
