"""The quantizer contract: what snnq's converters and hardware backends rely on.

    >>> import torch, snnq
    >>> from snnq.testing import check_quantizer
    >>> check_quantizer(snnq.quantizer("ternary"), torch.randn(8, 4))
"""

from __future__ import annotations

import io

import torch
from torch import Tensor

from snnq.quant.base import Quantizer
from snnq.registry import QUANTIZERS


def check_quantizer(quantizer: Quantizer, x: Tensor) -> None:
    """All three checks below on one input (gradients are checked for moderate magnitudes, see there)."""
    check_exactness(quantizer, x)
    check_gradients(quantizer, x)
    check_state_dict(quantizer, x)


def check_exactness(quantizer: Quantizer, x: Tensor) -> None:
    """Eval mode, any finite input (float32's extremes included):

    1. the forward pass keeps shape and dtype;
    2. the integer codes lie in the declared `CodeSet`, and decoding the integer form gives the fake-quantized
       tensor bit for bit;
    3. quantizing twice changes nothing.
    """
    name = quantizer.registry_name
    quantizer.eval()
    y = quantizer(x)
    assert y.shape == x.shape and y.dtype == x.dtype, f"{name}: output {y.shape}/{y.dtype} for input {x.shape}/{x.dtype}"

    form = quantizer.integer_form(x)
    outside = ~form.codeset.contains(form.codes)
    assert not outside.any(), f"{name}: codes {form.codes[outside].unique().tolist()} outside {form.codeset}"
    mismatches = int((form.dequantize(x.dtype) != y).sum())
    assert mismatches == 0, f"{name}: integer form differs from the forward pass at {mismatches} of {y.numel()} elements"

    changed = int((quantizer(y) != y).sum())
    assert changed == 0, f"{name}: quantizing twice changed {changed} of {y.numel()} elements"


def check_gradients(quantizer: Quantizer, x: Tensor) -> None:
    """Training mode: a finite, non-zero gradient reaches the input or the quantizer's parameters.

    The input is spread evenly over ``x``'s range and holds a zero (``x`` itself may lie wholly where the
    quantizer clips, where a zero gradient is right).
    Meant for magnitudes a network holds (the tests use up to 1e4): a learned scale's gradient is a product of
    magnitudes and overflows float32 near its largest values, as any float computation would.
    """
    name = quantizer.registry_name
    quantizer.train()
    peak = float(x.detach().abs().max()) or 1.0
    probe = torch.linspace(-1.0, 1.0, x.numel(), dtype=x.dtype) * peak
    probe[x.numel() // 2] = 0.0  # zero lies inside every quantizer's range
    probe = probe.reshape(x.shape).requires_grad_(True)
    for parameter in quantizer.parameters():
        parameter.grad = None
    quantizer(probe).sum().backward()
    present = [g for g in [probe.grad] + [p.grad for p in quantizer.parameters()] if g is not None]
    assert present, f"{name}: no gradient reached the input or any parameter"
    assert all(bool(torch.isfinite(g).all()) for g in present), f"{name}: non-finite gradient"
    assert any(bool((g != 0).any()) for g in present), f"{name}: every gradient is zero"
    quantizer.eval()


def check_state_dict(quantizer: Quantizer, x: Tensor) -> None:
    """A fresh quantizer built from ``config()`` and loaded with the saved ``state_dict`` gives the same output."""
    name = quantizer.registry_name
    quantizer.eval()
    expected = quantizer(x)
    buffer = io.BytesIO()
    torch.save(quantizer.state_dict(), buffer)
    buffer.seek(0)
    fresh = QUANTIZERS.build(name, **quantizer.config())
    fresh.load_state_dict(torch.load(buffer, weights_only=True))
    fresh.eval()
    assert torch.equal(fresh(x), expected), f"{name}: a quantizer rebuilt from config() + state_dict() differs"
