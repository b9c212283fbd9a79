"""The fused multi-step kernels equal the eager fused path (`leaky_sequence`): the C kernels on the CPU, the
Triton kernels under Triton's interpreter on the CPU (every machine) and on a CUDA device where there is one."""

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
    # inputs far past the input limit: the raw membrane at its extremes, 20,481 codes (int16) and 40,961 (float32)
    ("plif", {"bits": 13, "threshold": 0.001}), ("plif", {"bits": 14, "threshold": 0.001, "reset": "zero"}),
]

CHECK = textwrap.dedent(
    """
    import sys, torch, snnq
    from snnq.neurons.cpu_lif import CpuKernels
    from snnq.neurons.fused_lif import fused_leaky_sequence
    from snnq.neurons.leaky_sequence import leaky_sequence
    from snnq.neurons.triton_lif import TritonKernels
    device, kernels = sys.argv[1], {{"cpu": CpuKernels(), "triton": TritonKernels()}}[sys.argv[2]]
    assert kernels.usable(torch.empty(1, device=device)), "the kernels under test would not run"
    torch.manual_seed(0)
    # 9 steps: the Triton backward recomputes the membrane from the input; 17: it reads the stored one
    for (name, options), steps in [(case, steps) for case in {cases!r} for steps in (9, 17)]:
        neuron = snnq.neuron(name, **options).to(device)
        x = (torch.randn(steps, 3, 700, device=device) * 1.5).requires_grad_(True)  # 2100 neurons: several blocks
        u0 = neuron.initial_state(x[0])["membrane"]
        weights = torch.randn_like(x)
        eager, eager_u = leaky_sequence(neuron, x, u0)
        fused, fused_u = fused_leaky_sequence(kernels, neuron, x, u0)
        assert torch.equal(eager, fused), (name, options, "spikes")
        if neuron.quantized or sys.argv[2] == "cpu":  # integer codes; the C kernels' float membranes too (the same fmaf)
            assert torch.equal(eager_u, fused_u), (name, options, "membrane")
        else:  # Triton's float membrane: its compiler (or the interpreter's NumPy) decides the contraction
            torch.testing.assert_close(eager_u, fused_u, rtol=1e-6, atol=1e-6)
        # gradients to float rounding: the kernels compute the surrogate's derivative and the chain rule's products in
        # one expression where autograd chains separate operations, and PLIF's leak gradient is a sum in another order
        parameters = [x, *neuron.parameters()]
        for a, b in zip(torch.autograd.grad((eager * weights).sum(), parameters, retain_graph=True), torch.autograd.grad((fused * weights).sum(), parameters, retain_graph=True)):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
        expanded = torch.autograd.grad(eager.sum(), x)[0], torch.autograd.grad(fused.sum(), x)[0]  # strides 0, read in place
        torch.testing.assert_close(*expanded, rtol=1e-4, atol=1e-5)
    print("ok", len({cases!r}))
    """
).format(cases=CASES)


def test_c_kernels_match_the_eager_path():
    result = subprocess.run([sys.executable, "-c", CHECK, "cpu", "cpu"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"ok {len(CASES)}"


def test_triton_kernel_matches_the_eager_path_in_the_interpreter():
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    result = subprocess.run([sys.executable, "-c", CHECK, "cpu", "triton"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip() == f"ok {len(CASES)}"


RECOMPUTED = textwrap.dedent(
    """
    import torch, snnq
    from snnq.neurons.fused_lif import fused_leaky_sequence
    from snnq.neurons.triton_lif import TritonKernels

    torch.manual_seed(0)
    for name, options in [("lif", {}), ("plif", {"reset": "zero"}), ("if", {"surrogate": "sigmoid"})]:
        neuron = snnq.neuron(name, **options)
        x = torch.randn(8, 2, 700) * 1.5
        outputs = []
        for kernels in (TritonKernels(), TritonKernels(recompute_max_steps=0)):
            leaf = x.clone().requires_grad_(True)
            spikes, last = fused_leaky_sequence(kernels, neuron, leaf, neuron.initial_state(x[0])["membrane"])
            outputs.append((spikes, last, *torch.autograd.grad((spikes * x).sum(), [leaf, *neuron.parameters()])))
        assert all(torch.equal(a, b) for a, b in zip(*outputs)), name
    print("ok")
    """
)


def test_the_recomputed_membrane_gives_what_the_stored_one_gives_bit_for_bit():
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    result = subprocess.run([sys.executable, "-c", RECOMPUTED], env={**os.environ, "TRITON_INTERPRET": "1"}, capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-3000:]


@pytest.mark.parametrize(("bits", "stored"), [(4, torch.int16), (13, torch.int16), (14, torch.float32), (None, torch.float32)])
def test_the_triton_kernels_store_the_raw_membrane_compactly_where_it_is_exact(bits, stored):
    from snnq.neurons.fused_lif import LeakyPlan
    from snnq.neurons.triton_lif import TritonKernels

    plan = LeakyPlan.of(snnq.neuron("lif", bits=bits))
    assert TritonKernels().stored_dtype(plan) == stored
    if bits is not None:  # the largest raw sum: the input's limit plus the fullest membrane, rounded up
        assert (plan.limit + max(-plan.low, plan.high) + 1 <= 32767) == (stored == torch.int16)


@pytest.mark.gpu
def test_triton_kernel_matches_on_the_gpu():
    result = subprocess.run([sys.executable, "-c", CHECK, "cuda", "triton"], capture_output=True, text=True)
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


def test_triton_kernels_compile_for_hopper_and_ampere(tmp_path):
    """Compiled ahead of time to GPU code (no GPU needed): catches what the interpreter does not type-check, and
    ptxas's report shows the recomputing backward keeps its raw sums in registers (no spills)."""
    pytest.importorskip("triton", reason="Triton is installed with the CUDA build of torch; this machine's torch has none")
    import triton
    from triton.backends.compiler import GPUTarget
    from triton.backends.nvidia.compiler import get_ptxas
    from triton.compiler import ASTSource

    from snnq.neurons import triton_kernels as kernels
    from snnq.neurons.triton_lif import RECOMPUTE_MAX_STEPS, recompute_block

    def compiled(kernel, signature, constants, capability):
        source = ASTSource(fn=kernel, signature=signature | dict.fromkeys(constants, "constexpr"), constexprs=constants)
        return triton.compile(source, target=GPUTarget("cuda", capability, 32)).asm["ptx"]

    def spills(ptx: str, capability: int) -> str:
        (tmp_path / "kernel.ptx").write_text(ptx)
        arch = f"sm_{capability}a" if capability == 90 else f"sm_{capability}"
        command = [get_ptxas(capability).path, "-v", "--gpu-name", arch, str(tmp_path / "kernel.ptx"), "-o", str(tmp_path / "kernel.cubin")]
        report = subprocess.run(command, capture_output=True, text=True, check=True)
        return next(line.strip() for line in report.stderr.splitlines() if "spill stores" in line)

    forward = {name: "*fp32" for name in ("x_ptr", "u0_ptr", "spikes_ptr", "h_ptr", "u_last_ptr")}
    forward |= {"N": "i32", "T": "i32"} | {name: "fp32" for name in ("factor", "threshold", "scale", "offset", "low", "high", "limit")}
    backward = {"grad_spikes_ptr": "*bf16", "h_ptr": "*i16", "grad_x_ptr": "*bf16", "grad_factor_ptr": "*fp32", "u0_ptr": "*fp32"}
    backward |= {"N": "i32", "T": "i32", "grad_stride_t": "i32", "grad_stride_n": "i32"}
    backward |= {name: "fp32" for name in ("slope", "threshold", "unit", "alpha", "low", "high")}
    recompute = {name: "*fp32" for name in ("grad_spikes_ptr", "x_ptr", "grad_x_ptr", "grad_factor_ptr", "u0_ptr")}
    recompute |= {"N": "i32", "grad_stride_t": "i32", "grad_stride_n": "i32"}
    recompute |= {name: "fp32" for name in ("factor", "scale", "offset", "limit", "slope", "threshold", "alpha", "low", "high")}
    for capability in (90, 80):
        for quant, rounding, store in [(False, 0, False), (False, 0, True), (True, 1, True), (True, 2, True)]:
            constants = {"QUANT": quant, "LEAK_ROUND": rounding, "ZERO_RESET": False, "STORE": store, "BLOCK": 1024}
            stored = {"h_ptr": "*i16"} if quant else {}
            assert "div.rn" in compiled(kernels.forward_kernel, forward | stored, constants, capability) or not quant  # IEEE division
        constants = {"QUANT": True, "ZERO_RESET": True, "SURROGATE": 0, "WANT_FACTOR": True, "BLOCK": 1024}
        assert compiled(kernels.backward_kernel, backward, constants, capability)
        for steps, zero_reset, want_factor in [(4, False, False), (8, True, True), (8, False, False), (RECOMPUTE_MAX_STEPS, False, True)]:
            constants = {"T": steps, "QUANT": False, "LEAK_ROUND": 0, "ZERO_RESET": zero_reset, "SURROGATE": 1}
            constants |= {"WANT_FACTOR": want_factor, "BLOCK": recompute_block(steps)}
            report = spills(compiled(kernels.backward_recompute_kernel, recompute, constants, capability), capability)
            assert report.startswith("0 bytes stack frame, 0 bytes spill stores"), (capability, steps, report)


def test_cpu_neurons_run_the_c_kernels(monkeypatch):
    from snnq.neurons import leaky
    from snnq.neurons.cpu_lif import compile_error

    assert compile_error() is None, compile_error()  # this machine kind has a C compiler: the fast path must build
    calls = []
    original = leaky.fused_leaky_sequence
    monkeypatch.setattr(leaky, "fused_leaky_sequence", lambda kernels, *args: calls.append(kernels.name) or original(kernels, *args))
    snnq.neuron("lif", bits=8)(torch.randn(4, 2, 10))
    assert calls == ["cpu"]


@pytest.mark.parametrize(
    ("env", "reason"), [({"SNNQ_CPU_KERNELS": "0"}, "disabled by SNNQ_CPU_KERNELS=0"), ({"CC": "no-such-cc"}, "no C compiler found")]
)
def test_without_the_c_kernels_neurons_fall_back_to_the_same_spikes(monkeypatch, tmp_path, env, reason):
    from snnq import native
    from snnq.neurons import cpu_lif

    torch.manual_seed(0)
    x = torch.randn(6, 3, 50) * 1.5
    fast = snnq.neuron("lif", bits=6, leak_shift=2)(x)
    for key, value in {**env, "SNNQ_CACHE_DIR": str(tmp_path)}.items():
        monkeypatch.setenv(key, value)
    native.load.cache_clear()
    try:
        assert reason in cpu_lif.compile_error()
        assert not cpu_lif.CpuKernels().usable(x)
        assert torch.equal(snnq.neuron("lif", bits=6, leak_shift=2)(x), fast)
    finally:
        native.load.cache_clear()


def test_the_compiled_library_is_cached_by_source(monkeypatch, tmp_path):
    from snnq import native
    from snnq.neurons import cpu_lif

    monkeypatch.setenv("SNNQ_CACHE_DIR", str(tmp_path))
    native.load.cache_clear()
    try:
        assert cpu_lif.compile_error() is None
        (built,) = tmp_path.glob("cpu_lif-*.so")
        native.load.cache_clear()
        stamp = built.stat().st_mtime_ns
        assert cpu_lif.compile_error() is None and built.stat().st_mtime_ns == stamp  # loaded, not rebuilt
        assert [p.name for p in tmp_path.iterdir()] == [built.name]  # no scratch left behind
    finally:
        native.load.cache_clear()
