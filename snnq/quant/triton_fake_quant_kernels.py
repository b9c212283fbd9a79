"""Triton kernels of `snnq.quant.triton_fake_quant` (a module of their own: importing it imports Triton)."""

import triton
import triton.language as tl


@triton.jit
def _round(q, MODE: tl.constexpr):
    if MODE == 0:  # half up: floor(q + 1/2)
        r = tl.floor(q + 0.5)
    elif MODE == 1:  # half to even: floor(q + 1/2), one less on an odd result of a tie
        r = tl.floor(q + 0.5)
        odd = (r - 2.0 * tl.floor(r * 0.5)) != 0.0
        r = tl.where(((r - q) == 0.5) & odd, r - 1.0, r)
    else:
        r = tl.floor(q)
    return r


@triton.jit
def fake_quant_forward_kernel(x_ptr, step_ptr, y_ptr, N, INNER, CHANNELS, low, high, MODE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(step_ptr + (offs // INNER) % CHANNELS, mask=mask, other=1.0)
    q = tl.minimum(tl.maximum(_round(tl.div_rn(x, s), MODE), low), high)
    tl.store(y_ptr + offs, (q * s).to(y_ptr.dtype.element_ty), mask=mask)


@triton.jit
def fake_quant_backward_kernel(
    x_ptr, grad_ptr, step_ptr, grad_x_ptr, partial_ptr, N, INNER, CHANNELS, low, high,
    MODE: tl.constexpr, LEARNED: tl.constexpr, BLOCK: tl.constexpr,
):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    g = tl.load(grad_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    s = tl.load(step_ptr + (offs // INNER) % CHANNELS, mask=mask, other=1.0)
    scaled = tl.div_rn(x, s)
    inside = ((scaled >= low) & (scaled <= high)).to(tl.float32)
    tl.store(grad_x_ptr + offs, (inside * g).to(grad_x_ptr.dtype.element_ty), mask=mask)
    if LEARNED:  # one step for the whole tensor: one partial sum per program
        code = tl.minimum(tl.maximum(_round(scaled, MODE), low), high)
        tl.store(partial_ptr + tl.program_id(0), tl.sum(tl.where(mask, (code - inside * scaled) * g, 0.0), axis=0))


@triton.jit
def fixed_point_range_kernel(
    x_ptr, frac_ptr, step_ptr, N, INNER, CHANNELS, bits_minus_sign, min_frac, max_frac, BLOCK: tl.constexpr,
):
    """One program per channel: ``f = clamp(bits_minus_sign - ceil(log2 max|x|), min_frac, max_frac)`` and ``2^-f``,
    as `snnq.quant.fixed_point.frac_bits_for` computes them (the C twin in cpu_fake_quant.c says how)."""
    c = tl.program_id(0).to(tl.int64)
    runs = tl.cdiv(N, INNER)
    largest = tl.zeros([BLOCK], dtype=tl.float32)
    nan = tl.zeros([BLOCK], dtype=tl.int32)
    for run in range(c, runs, CHANNELS):
        for start in range(0, INNER, BLOCK):
            offs = run * INNER + start + tl.arange(0, BLOCK)
            a = tl.abs(tl.load(x_ptr + offs, mask=(offs < N) & (start + tl.arange(0, BLOCK) < INNER), other=0.0).to(tl.float32))
            nan = nan | (a != a).to(tl.int32)
            largest = tl.where(a > largest, a, largest)
    top = tl.max(largest, axis=0)
    bits = top.to(tl.int32, bitcast=True)
    exponent = (bits >> 23) & 0xFF
    ceil_log2 = exponent - 126 - ((bits & 0x7FFFFF) == 0).to(tl.int32)
    ceil_log2 = tl.where(exponent == 0, -149, ceil_log2)  # subnormal (any value <= -126 clamps alike)
    ceil_log2 = tl.where((exponent == 0xFF) | (top == 0.0) | (tl.max(nan, axis=0) != 0), 0, ceil_log2)
    f = tl.minimum(tl.maximum(bits_minus_sign - ceil_log2, min_frac), max_frac)
    tl.store(frac_ptr + c, f)
    tl.store(step_ptr + c, ((127 - f) << 23).to(tl.float32, bitcast=True))
