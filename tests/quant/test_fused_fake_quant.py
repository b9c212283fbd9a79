"""The one-pass fake quantization kernels (`snnq.quant.fused_fake_quant`) give the PyTorch path's values and
gradients: the C kernels on the CPU, the Triton kernels under Triton's interpreter (and on a CUDA device)."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from snnq.quant import fused_fake_quant
from snnq.quant.cpu_fake_quant import CpuFakeQuant

CHECK = textwrap.dedent(
    """
    import sys, torch
    from snnq.quant import fused_fake_quant, ste
    from snnq.quant.cpu_fake_quant import CpuFakeQuant
    from snnq.quant.triton_fake_quant import TritonFakeQuant

    device, name = sys.argv[1], sys.argv[2]
    kernels = {"cpu": CpuFakeQuant(), "triton": TritonFakeQuant()}[name]
    steps = {
        "per tensor": ((1000, 784) if name == "cpu" else (100, 784), lambda: torch.tensor(2.0**-3)),
        "per output channel": ((64, 3, 3, 3), lambda: torch.exp2(-torch.randint(0, 6, (64, 1, 1, 1)).float())),
        # runs longer than the C kernels' pieces (16,384); the interpreter is slow, and Triton has no pieces
        "middle axis, long runs": ((5, 7, 40000 if name == "cpu" else 2000), lambda: torch.rand(7, 1) + 0.1),
        "one-element step": ((3, 70000), lambda: torch.tensor([0.37])),
    }
    checked = 0
    for case, (shape, make_step) in steps.items():
        for mode in fused_fake_quant.MODES:
            for learned in (False, True):
                torch.manual_seed(0)
                x = (torch.randn(shape, device=device) * 3).requires_grad_(True)
                x.data[0, 0] = 2.5 * make_step().flatten()[0]  # an exact tie of the rounding
                step = make_step().to(device).requires_grad_(learned)
                layout = fused_fake_quant.step_layout(x, step)
                if not kernels.usable(x, step, layout, learned=learned):
                    assert name == "triton" and learned and layout[1] > 1, (case, mode, learned)
                    continue
                fn = ste.learned_step_fake_quant if learned else ste.fixed_step_fake_quant
                grad = torch.randn(shape, device=device)
                fused_fake_quant.KERNELS = (kernels,)
                fast = fn(x, step, -8.0, 7.0, mode)
                fast_grads = torch.autograd.grad(fast, [x, step] if learned else [x], grad)
                fused_fake_quant.KERNELS = ()
                reference = fn(x, step, -8.0, 7.0, mode)
                reference_grads = torch.autograd.grad(reference, [x, step] if learned else [x], grad)
                assert torch.equal(fast, reference), (case, mode, learned, "values")
                assert torch.equal(fast_grads[0], reference_grads[0]), (case, mode, learned, "input gradient")
                if learned:  # a sum over many elements, added in another order than PyTorch's reduction: to rounding
                    assert fast_grads[1].shape == step.shape
                    torch.testing.assert_close(fast_grads[1], reference_grads[1], rtol=1e-4, atol=1e-3)
                checked += 1
    print("ok", checked)
    """
)


RANGE_CHECK = textwrap.dedent(
    """
    import sys, torch
    import snnq
    from snnq.quant import fused_fake_quant
    from snnq.quant.cpu_fake_quant import CpuFakeQuant
    from snnq.quant.fixed_point import MAX_FRAC_BITS, frac_bits_for, min_frac_bits
    from snnq.quant.triton_fake_quant import TritonFakeQuant

    device, name = sys.argv[1], sys.argv[2]
    fused_fake_quant.KERNELS = ({"cpu": CpuFakeQuant(), "triton": TritonFakeQuant()}[name],)
    torch.manual_seed(0)
    weights = torch.randn(12, 5, 3, 3, device=device) * 0.3
    weights[1] = 0.0                                      # a zero channel: f = b - s
    weights[2, 0, 0, 0] = 0.25                            # exactly a power of two, the largest of its channel
    weights[2] = weights[2].clamp(-0.25, 0.25)
    weights[3] = torch.randn(5, 3, 3) * 1e-41             # subnormals
    weights[4, 1, 1, 1] = float("nan")
    weights[5, 0, 2, 2] = float("-inf")
    weights[6] = weights[6] * 1e30                        # f at its lower clamp for few bits
    cases = [(weights, 0), (weights, None), (weights[7:], 1), (weights[7:].reshape(-1), 0), (weights[7:9].reshape(-1), None)]
    checked = 0
    for x, axis in cases:
        for bits, signed in [(2, True), (4, True), (8, True), (24, True), (1, False), (8, False)]:
            fused = fused_fake_quant.fixed_point_range(x, axis, bits - int(signed), min_frac_bits(bits), MAX_FRAC_BITS)
            dims = [d for d in range(x.dim()) if d != axis]
            largest = x.abs().amax() if axis is None else x.abs().amax(dim=dims) if dims else x.abs()
            frac = frac_bits_for(largest, bits, signed)
            assert fused is not None and torch.equal(fused[0], frac), (axis, bits, signed, fused, frac)
            assert torch.equal(fused[1], torch.exp2(-frac.float())), (axis, bits, signed)
            checked += 1
    finite = torch.randn(64, 32, 3, 3, device=device).requires_grad_(True)  # the quantizer end to end
    for per_channel in (True, False):
        results = []
        for kernels in (fused_fake_quant.KERNELS, ()):
            fused_fake_quant.KERNELS = kernels
            quantizer = snnq.quantizer("dynamic_fixed_point", bits=4, channel_axis=0 if per_channel else None).to(device)
            y = quantizer(finite)
            results.append((y, quantizer.fractional_length, torch.autograd.grad(y, finite, torch.ones_like(y))[0]))
        assert all(torch.equal(a, b) for a, b in zip(*results)), per_channel
        checked += 1
    print("ok", checked)
    """
)


def run_check(device: str, kernels: str, *, script: str = CHECK, **env: str) -> str:
    result = subprocess.run([sys.executable, "-c", script, device, kernels], env={**os.environ, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip()


def test_c_kernels_equal_the_pytorch_path():
    assert run_check("cpu", "cpu") == "ok 24"


def test_triton_kernels_equal_the_pytorch_path_in_the_interpreter():
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    assert run_check("cpu", "triton", TRITON_INTERPRET="1") == "ok 18"  # learned steps per channel (6 cases): the PyTorch path


@pytest.mark.gpu
def test_triton_kernels_equal_the_pytorch_path_on_the_gpu():
    assert run_check("cuda", "triton") == "ok 18"


def test_c_dynamic_fixed_point_range_equals_the_pytorch_path():
    """Zero, power-of-two, subnormal, NaN and infinite channels; per tensor, per channel of the first and a middle
    axis, one value per element; signed and unsigned widths 1 to 24; then the quantizer end to end."""
    assert run_check("cpu", "cpu", script=RANGE_CHECK) == "ok 32"


def test_triton_dynamic_fixed_point_range_equals_the_pytorch_path_in_the_interpreter():
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    assert run_check("cpu", "triton", script=RANGE_CHECK, TRITON_INTERPRET="1") == "ok 32"


@pytest.mark.gpu
def test_triton_dynamic_fixed_point_range_equals_the_pytorch_path_on_the_gpu():
    assert run_check("cuda", "triton", script=RANGE_CHECK) == "ok 32"


def test_quantizers_on_cpu_tensors_take_the_c_kernels(monkeypatch):
    import snnq

    calls = []
    original = CpuFakeQuant.forward
    monkeypatch.setattr(CpuFakeQuant, "forward", lambda self, *args: calls.append(1) or original(self, *args))
    snnq.quantizer("fixed_point", bits=4)(torch.randn(10, 10))
    snnq.quantizer("uniform", bits=4, learn_scale=True)(torch.rand(10, 10))
    assert len(calls) == 2


def test_other_layouts_take_the_pytorch_path():
    x = torch.randn(4, 6)
    assert fused_fake_quant.kernels_for(x.t(), torch.tensor(0.5), learned=False) is None  # not contiguous
    assert fused_fake_quant.kernels_for(x.double(), torch.tensor(0.5, dtype=torch.float64), learned=False) is None
    assert fused_fake_quant.step_layout(x, torch.rand(4, 6)) is None  # a step per element
    assert fused_fake_quant.step_layout(x, torch.rand(4, 1)) == (6, 4)
    assert fused_fake_quant.step_layout(x, torch.rand(6)) == (1, 6)


def test_triton_kernels_compile_for_hopper_and_ampere():
    """Compiled ahead of time to GPU code (no GPU needed): catches what the interpreter does not type-check."""
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from snnq.quant import triton_fake_quant_kernels as kernels

    scalars = {"N": "i64", "INNER": "i64", "CHANNELS": "i64", "low": "fp32", "high": "fp32"}
    for capability in (90, 80):
        target = GPUTarget("cuda", capability, 32)
        for dtype in ("fp32", "bf16"):
            for mode in fused_fake_quant.MODES.values():
                forward = {"x_ptr": f"*{dtype}", "step_ptr": "*fp32", "y_ptr": f"*{dtype}"} | scalars
                constants = {"MODE": mode, "BLOCK": 1024}
                source = ASTSource(fn=kernels.fake_quant_forward_kernel, signature=forward | dict.fromkeys(constants, "constexpr"), constexprs=constants)
                assert "div.rn" in triton.compile(source, target=target).asm["ptx"]  # IEEE division, as on the CPU
                backward = {"x_ptr": f"*{dtype}", "grad_ptr": f"*{dtype}", "step_ptr": "*fp32", "grad_x_ptr": f"*{dtype}", "partial_ptr": "*fp32"} | scalars
                constants = {"MODE": mode, "LEARNED": True, "BLOCK": 1024}
                source = ASTSource(fn=kernels.fake_quant_backward_kernel, signature=backward | dict.fromkeys(constants, "constexpr"), constexprs=constants)
                assert triton.compile(source, target=target).asm["ptx"]
            ranges = {"x_ptr": f"*{dtype}", "frac_ptr": "*i32", "step_ptr": "*fp32", "N": "i64", "INNER": "i64", "CHANNELS": "i64"}
            ranges |= {"bits_minus_sign": "i32", "min_frac": "i32", "max_frac": "i32", "BLOCK": "constexpr"}
            source = ASTSource(fn=kernels.fixed_point_range_kernel, signature=ranges, constexprs={"BLOCK": 1024})
            assert triton.compile(source, target=target).asm["ptx"]
