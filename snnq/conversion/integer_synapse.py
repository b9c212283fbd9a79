"""`IntegerSynapse`: a synaptic layer as the integers it stores, and the one stated operation that turns its integer
accumulator into the float current the next layer reads.

A synaptic layer (``Linear``, ``Conv1d``, ``Conv2d``) that reads integer codes ``n`` of a unit ``u`` (a quantized
activation, the spikes of a neuron layer, the input quantizer's codes) computes

    acc_i = sum_j W_ij n_j                               (integers)
    y_i   = float32(acc_i) * float32(u s_i) + b_i        (two IEEE float32 operations, element-wise, in this order)

with ``W`` the integer weight codes (for ternary synapses, the sum of the unary planes ``P_m`` the synapses hold),
``s`` the weight step (per tensor or per output channel) and ``b`` the layer's float32 bias, quantized or not.
The sum is exact by construction: every partial sum is an integer no larger than ``max_i sum_j |W_ij| max|n|``,
which the accumulation checks before it starts, computing in float32 below ``2^24`` and in float64 below ``2^53``
(an integer of that size is exact in either, so no summation order, BLAS, ISA or thread count can change it).
The quantized ANN's integer reference (`snnq.conversion.reference`) and the spiking network both go through this
class, so their floats are equal exactly when their accumulators are, and `snnq.verify` compares the
accumulators as integers.

For ``log2`` weights (``w = sign(c) s 2^-(|c| - 1)``) the integer weights are ``sign(c) 2^(top - |c| + 1)`` with
``top = max|c| - 1`` and the step ``s 2^-top``: every synaptic event is a shift and an add.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from snnq.conversion.trace import layer_type, weight_quantizer
from snnq.errors import ConversionError

EXACT_LIMITS = ((torch.float32, 2**24), (torch.float64, 2**53))
"""Where each float type holds every integer exactly: the accumulation picks the first whose limit the bound is below."""


def linear_op(module: nn.Module) -> Callable[[Tensor, Tensor], Tensor]:
    """The layer's linear map without its bias, as ``(input, weight) -> output``."""
    kind = layer_type(module)
    if issubclass(kind, nn.Linear):
        return F.linear
    options = {k: getattr(module, k) for k in ("stride", "padding", "dilation", "groups")}
    conv = F.conv1d if issubclass(kind, nn.Conv1d) else F.conv2d
    return lambda x, w: conv(x, w, None, **options)


def _max_abs(values: Tensor) -> int:
    if not values.numel():
        return 0
    low, high = torch.aminmax(values)
    return int(max(-low, high))


def is_power_of_two(value: float) -> bool:
    return value > 0 and math.frexp(value)[0] == 0.5


@dataclass
class IntegerSynapse:
    """One synaptic layer's integer weights (as stored), weight step and bias.

    Attributes:
        name: the layer's name in the network.
        weights: the integer codes ``[C_out, ...]``, or with ``unary`` the planes ``[M, C_out, ...]`` of unit
            synapses (values in {-1, 0, 1}; plane ``m`` holds ``sign(W) [|W| >= m]``: fan-in replication).
        step: the weight step, float32, a scalar or one per output channel.
        bias: the float32 bias or None.
    """

    name: str
    op: Callable[[Tensor, Tensor], Tensor]
    weights: Tensor
    step: Tensor
    bias: Tensor | None = None
    unary: bool = False
    channels_last: bool = False  # Linear: the output channel is the last axis; convolutions: axis 1

    @classmethod
    def of(cls, name: str, module: nn.Module, *, unary: bool = False) -> IntegerSynapse:
        """The integer synapse behind a weight-quantized layer (linear or ``log2`` codes)."""
        quantizer = weight_quantizer(module)
        if quantizer is None:
            raise ConversionError(f"layer {name!r} ({layer_type(module).__name__}) lacks a weight quantizer; its synapses have no integer form")
        form = quantizer.integer_form(module.parametrizations.weight.original.detach())
        codes, step = form.codes.to(torch.int64), form.scale.detach().float().reshape(-1)
        if form.encoding == "log2":
            magnitude = codes.abs()
            top = max(_max_abs(codes) - 1, 0)
            codes = torch.where(magnitude == 0, 0, codes.sign() * torch.bitwise_left_shift(torch.ones_like(codes), (top - magnitude + 1).clamp_min(0)))
            step = step * 2.0**-top
        elif form.encoding != "linear":
            raise ConversionError(f"layer {name!r}: {form.encoding} weights have no integer synapses")
        if unary:
            planes = [codes.sign() * (codes.abs() >= m) for m in range(1, _max_abs(codes) + 1)]
            weights = torch.stack(planes).to(torch.int8) if planes else torch.zeros((1, *codes.shape), dtype=torch.int8)
        else:
            weights = codes
        bias = getattr(module, "bias", None)
        bias = None if bias is None else bias.detach().float().clone()
        return cls(name, linear_op(module), weights, step, bias, unary, issubclass(layer_type(module), nn.Linear))

    # -- what the synapses hold --------------------------------------------------------------------------------
    def integer_weights(self) -> Tensor:
        """``W`` ``[C_out, ...]`` (int64): the codes, or the sum of the unit synapses every input drives."""
        return self.weights.to(torch.int64).sum(0) if self.unary else self.weights.to(torch.int64)

    def held_values(self) -> list[int]:
        """The distinct values stored in the synapses (``[-1, 0, 1]`` for unary planes)."""
        return torch.unique(self.weights).tolist()

    def fan(self) -> Tensor:
        """Unit synapses per (output, input) pair: ``|W|`` for unary planes, else 1 where ``W != 0`` (float32)."""
        weights = self.integer_weights()
        return (weights.abs() if self.unary else (weights != 0)).float()

    # -- the arithmetic ----------------------------------------------------------------------------------------
    def accumulate(self, codes: Tensor) -> Tensor:
        """``acc = W n`` for integer-valued ``codes`` ``[B, ...]``, exact (see the module docstring)."""
        weights = self.integer_weights()
        bound = _max_abs(weights.abs().reshape(weights.shape[0], -1).sum(1)) * _max_abs(codes)
        dtype = next((kind for kind, limit in EXACT_LIMITS if bound < limit), None)
        if dtype is None:
            raise ConversionError(f"layer {self.name!r}: its accumulator can reach {bound}, beyond the 2^53 that float64 holds exactly")
        return self.op(codes.to(dtype), weights.to(dtype))

    def current(self, acc: Tensor, unit: float) -> Tensor:
        """``float32(acc) * float32(unit * s) + b``: the float current the layer's output stands for."""
        out = acc.float() * self._per_channel((self.step.double() * unit).float(), acc)
        return out if self.bias is None else out + self._per_channel(self.bias, acc)

    def _per_channel(self, values: Tensor, acc: Tensor) -> Tensor:
        if values.numel() == 1 or self.channels_last:
            return values.reshape(-1) if values.numel() > 1 else values.reshape(())
        return values.reshape((-1,) + (1,) * (acc.dim() - 2))

    def __call__(self, codes: Tensor, unit: float) -> tuple[Tensor, Tensor]:
        acc = self.accumulate(codes)
        return acc, self.current(acc, unit)
