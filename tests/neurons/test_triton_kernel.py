"""The Triton multi-step kernel equals the CPU fused path: run under Triton's interpreter on the CPU (every
machine), and on a CUDA device where there is one."""

import os
import subprocess
import sys
import textwrap

import pytest
import torch

import snnq

CASES = [
    ("lif", {}), ("lif", {"bits": 8}), ("lif", {"bits": 6, "leak_shift": 2, "reset": "zero"}),
    ("if", {"bits": 8, "precharge": 0.5, "threshold": 0.7}), ("plif", {}), ("plif", {"bits": 8}),
    ("lif", {"surrogate": "sigmoid"}), ("lif", {"surrogate": "triangle", "bits": 10, "beta": 0.8, "leak_bits": 5}),
    ("if", {"surrogate": "rectangle", "reset": "zero"}),
]

CHECK = textwrap.dedent(
    """
    import sys, torch, snnq
    from snnq.neurons.leaky_sequence import leaky_sequence
    from snnq.neurons.triton_lif import triton_leaky_sequence
    device = sys.argv[1]
    torch.manual_seed(0)
    for name, options in {cases!r}:
        neuron = snnq.neuron(name, **options).to(device)
        x = (torch.randn(9, 3, 70, device=device) * 1.5).requires_grad_(True)
        u0 = neuron.initial_state(x[0])["membrane"]
        weights = torch.randn_like(x)
        eager, eager_u = leaky_sequence(neuron, x, u0)
        fused, fused_u = triton_leaky_sequence(neuron, x, u0)
        assert torch.equal(eager, fused), (name, options, "spikes")
        if neuron.quantized:
            assert torch.equal(eager_u, fused_u), (name, options, "integer membrane")
        parameters = [x, *neuron.parameters()]
        for a, b in zip(torch.autograd.grad((eager * weights).sum(), parameters, retain_graph=True), torch.autograd.grad((fused * weights).sum(), parameters, retain_graph=True)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        expanded = torch.autograd.grad(eager.sum(), x)[0], torch.autograd.grad(fused.sum(), x)[0]  # strides 0, read in place
        torch.testing.assert_close(*expanded, rtol=1e-4, atol=1e-5)
    print("ok", len({cases!r}))
    """
).format(cases=CASES)


def test_triton_kernel_matches_the_cpu_path_in_the_interpreter():
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run([sys.executable, "-c", CHECK, "cpu"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"ok {len(CASES)}"


@pytest.mark.gpu
def test_triton_kernel_matches_on_the_gpu():
    result = subprocess.run([sys.executable, "-c", CHECK, "cuda"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.gpu
def test_neurons_run_on_the_gpu_with_the_same_spikes_as_on_the_cpu():
    torch.manual_seed(0)
    x = torch.randn(8, 4, 100) * 1.5
    for name in snnq.NEURONS.names():
        neuron = snnq.neuron(name, bits=8)
        cpu = neuron(x)
        neuron.reset_state()
        assert torch.equal(neuron.to("cuda")(x.cuda()).cpu(), cpu), name


def test_triton_kernels_compile_for_hopper_and_ampere():
    """Compiled ahead of time to GPU code (no GPU needed): catches what the interpreter does not type-check."""
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.compiler import ASTSource

    from snnq.neurons import triton_kernels as kernels

    forward = {name: "*fp32" for name in ("x_ptr", "u0_ptr", "spikes_ptr", "h_ptr", "u_last_ptr")}
    forward |= {"N": "i32", "T": "i32"} | {name: "fp32" for name in ("factor", "threshold", "scale", "offset", "low", "high", "limit")}
    backward = {"grad_spikes_ptr": "*bf16", "h_ptr": "*fp32", "grad_x_ptr": "*bf16", "grad_factor_ptr": "*fp32", "u0_ptr": "*fp32"}
    backward |= {"N": "i32", "T": "i32", "grad_stride_t": "i32", "grad_stride_n": "i32"}
    backward |= {name: "fp32" for name in ("slope", "threshold", "unit", "alpha", "low", "high")}
    for capability in (90, 80):
        target = GPUTarget("cuda", capability, 32)
        for quant, rounding in [(False, 0), (True, 1), (True, 2)]:
            constants = {"QUANT": quant, "LEAK_ROUND": rounding, "ZERO_RESET": False, "BLOCK": 1024}
            source = ASTSource(fn=kernels.forward_kernel, signature=forward | dict.fromkeys(constants, "constexpr"), constexprs=constants)
            assert "div.rn" in triton.compile(source, target=target).asm["ptx"] or not quant  # IEEE division
        constants = {"QUANT": True, "ZERO_RESET": True, "SURROGATE": 0, "WANT_FACTOR": True, "BLOCK": 1024}
        source = ASTSource(fn=kernels.backward_kernel, signature=backward | dict.fromkeys(constants, "constexpr"), constexprs=constants)
        assert triton.compile(source, target=target).asm["ptx"]
