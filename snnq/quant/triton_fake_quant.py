"""Fused fake quantization on CUDA devices, in Triton (see `snnq.quant.fused_fake_quant`).

One kernel forward, one backward (plus a sum over the programs' partial sums for a learned step), where the
PyTorch path launches 5 + 3 (fixed step) or 5 + 9 (learned step). Inputs of any float dtype are computed in
fp32 and stored in their own dtype (under bf16 autocast the PyTorch path rounds every intermediate to bf16
instead). The kernels are in `snnq.quant.triton_fake_quant_kernels`; they also run on the CPU under
``TRITON_INTERPRET=1``, which is how the tests check them on machines without a GPU.
"""

from __future__ import annotations

import torch
from torch import Tensor

from snnq import native

BLOCK = 1024


class TritonFakeQuant:
    name = "triton"

    def usable(self, x: Tensor, step: Tensor, layout: tuple[int, int], *, learned: bool) -> bool:
        if step.dtype != torch.float32 or not self.range_usable(x):
            return False
        return not learned or layout[1] == 1  # a learned step per channel: the PyTorch path (LSQ on weights)

    def range_usable(self, x: Tensor) -> bool:
        return native.triton_runs_on(x) and x.dtype in (torch.float32, torch.bfloat16, torch.float16)

    def fixed_point_range(self, x: Tensor, layout: tuple[int, int], bits_minus_sign: int, min_frac: int, max_frac: int) -> tuple[Tensor, Tensor]:
        from snnq.quant.triton_fake_quant_kernels import fixed_point_range_kernel

        inner, channels = layout
        frac = torch.empty(channels, dtype=torch.int32, device=x.device)
        step = torch.empty(channels, dtype=torch.float32, device=x.device)
        fixed_point_range_kernel[(channels,)](x, frac, step, x.numel(), inner, channels, bits_minus_sign, min_frac, max_frac, BLOCK=BLOCK)
        return frac, step

    def forward(self, x: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int]) -> Tensor:
        import triton

        from snnq.quant.triton_fake_quant_kernels import fake_quant_forward_kernel

        inner, channels = layout
        y = torch.empty_like(x)
        n = x.numel()
        fake_quant_forward_kernel[(triton.cdiv(n, BLOCK),)](
            x, step.detach().contiguous(), y, n, inner, channels, low, high, MODE=mode, BLOCK=BLOCK
        )
        return y

    def backward(
        self, x: Tensor, grad: Tensor, step: Tensor, low: float, high: float, mode: int, layout: tuple[int, int], *, learned: bool
    ) -> tuple[Tensor, Tensor | None]:
        import triton

        from snnq.quant.triton_fake_quant_kernels import fake_quant_backward_kernel

        inner, channels = layout
        n = x.numel()
        programs = triton.cdiv(n, BLOCK)
        grad = grad.contiguous()
        grad_x = torch.empty_like(x)
        partial = torch.empty(programs if learned else 1, dtype=torch.float32, device=x.device)
        fake_quant_backward_kernel[(programs,)](
            x, grad, step.detach().contiguous(), grad_x, partial, n, inner, channels, low, high,
            MODE=mode, LEARNED=learned, BLOCK=BLOCK,
        )
        if not learned:
            return grad_x, None
        return grad_x, partial.sum().to(step.dtype).reshape(step.shape)
