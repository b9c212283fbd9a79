"""Triton kernels of `snnq.neurons.triton_lif` (a module of their own: importing it imports Triton).

The step's pieces are shared ``@triton.jit`` helpers (`raw_sum`, `saturate`, `fire`, `membrane_grad`), so the
forward kernel and both backward kernels compute every value with the same operations, and the backward kernel
that recomputes the membrane from the input gets exactly the values the forward kernel had.
"""

import triton
import triton.language as tl


@triton.jit
def surrogate_grad(x, alpha, KIND: tl.constexpr):
    if KIND == 0:  # atan
        y = 1.5707963267948966 * alpha * x
        g = (alpha * 0.5) / (1.0 + y * y)
    elif KIND == 1:  # sigmoid
        s = 1.0 / (1.0 + tl.exp(-alpha * x))
        g = alpha * s * (1.0 - s)
    elif KIND == 2:  # triangle
        g = alpha * tl.maximum(1.0 - alpha * tl.abs(x), 0.0)
    else:  # rectangle
        g = tl.where(tl.abs(x) < 0.5 / alpha, alpha, 0.0)
    return g


@triton.jit
def raw_sum(u, x, factor, scale, offset, limit, QUANT: tl.constexpr, LEAK_ROUND: tl.constexpr):
    """The membrane before saturation: ``u * factor + x`` (float) or the rounded sum of codes (quantized)."""
    if QUANT:
        c = tl.minimum(tl.maximum(tl.floor(tl.div_rn(x, scale) + 0.5), -limit), limit) + offset  # IEEE division, as on the CPU
        r = tl.fma(u, factor, c)  # exact: every value is an integer or a short dyadic rational
        if LEAK_ROUND == 1:
            r = tl.floor(r)
        elif LEAK_ROUND == 2:
            r = tl.ceil(r)
    else:
        r = tl.fma(u, factor, x)
    return r


@triton.jit
def saturate(raw, low, high, QUANT: tl.constexpr):
    if QUANT:
        return tl.minimum(tl.maximum(raw, low), high)
    return raw


@triton.jit
def fire(h, threshold, ZERO_RESET: tl.constexpr):
    """The spike (as 0/1 float) and the membrane after the reset."""
    s = (h >= threshold).to(tl.float32)
    if ZERO_RESET:
        u = h * (1.0 - s)
    else:
        u = h - threshold * s
    return s, u


@triton.jit
def membrane_grad(raw, g_s, g_u, threshold, unit, alpha, low, high, QUANT: tl.constexpr, ZERO_RESET: tl.constexpr, SURROGATE: tl.constexpr):
    """``d_t``, the gradient of the pre-saturation membrane (see `snnq.neurons.fused_lif`)."""
    h = saturate(raw, low, high, QUANT)
    drive = g_s * surrogate_grad((h - threshold) * unit, alpha, SURROGATE) * unit
    if ZERO_RESET:
        carry = 1.0 - (h >= threshold).to(tl.float32)
    else:
        carry = 1.0
    d = drive + g_u * carry
    if QUANT:
        d = d * ((raw >= low) & (raw <= high)).to(tl.float32)
    return d


@triton.jit
def forward_kernel(
    x_ptr, u0_ptr, spikes_ptr, h_ptr, u_last_ptr, N, T,
    factor, threshold, scale, offset, low, high, limit,
    QUANT: tl.constexpr, LEAK_ROUND: tl.constexpr, ZERO_RESET: tl.constexpr, STORE: tl.constexpr, BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    u = tl.load(u0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        x = tl.load(x_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        r = raw_sum(u, x, factor, scale, offset, limit, QUANT, LEAK_ROUND)
        if STORE:  # the raw sum (saturation mask and h in one); quantized: an integer, int16 where it fits
            tl.store(h_ptr + t * N + offs, r.to(h_ptr.dtype.element_ty), mask=mask)
        s, u = fire(saturate(r, low, high, QUANT), threshold, ZERO_RESET)
        tl.store(spikes_ptr + t * N + offs, s.to(spikes_ptr.dtype.element_ty), mask=mask)
    tl.store(u_last_ptr + offs, u, mask=mask)


@triton.jit
def backward_kernel(
    grad_spikes_ptr, h_ptr, grad_x_ptr, grad_factor_ptr, u0_ptr, N, T, grad_stride_t, grad_stride_n,
    slope, threshold, unit, alpha, low, high,
    QUANT: tl.constexpr, ZERO_RESET: tl.constexpr, SURROGATE: tl.constexpr, WANT_FACTOR: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """Back through time over the stored raw membrane."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    g_u = tl.zeros([BLOCK], dtype=tl.float32)
    g_factor = tl.zeros([BLOCK], dtype=tl.float32)
    for i in range(T):
        t = T - 1 - i
        raw = tl.load(h_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        g_s = tl.load(grad_spikes_ptr + t * grad_stride_t + offs * grad_stride_n, mask=mask, other=0.0).to(tl.float32)
        d = membrane_grad(raw, g_s, g_u, threshold, unit, alpha, low, high, QUANT, ZERO_RESET, SURROGATE)
        tl.store(grad_x_ptr + t * N + offs, (d / unit).to(grad_x_ptr.dtype.element_ty), mask=mask)
        if WANT_FACTOR:  # u_{t-1}: the state before step t, rebuilt from the stored membrane of step t-1
            if t > 0:
                prev = tl.load(h_ptr + (t - 1) * N + offs, mask=mask, other=0.0).to(tl.float32)
                _, u_prev = fire(saturate(prev, low, high, QUANT), threshold, ZERO_RESET)
            else:
                u_prev = tl.load(u0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            g_factor += d * u_prev
        g_u = d * slope
    if WANT_FACTOR:
        tl.store(grad_factor_ptr + offs, g_factor, mask=mask)


@triton.jit
def backward_recompute_kernel(
    grad_spikes_ptr, x_ptr, grad_x_ptr, grad_factor_ptr, u0_ptr, N, grad_stride_t, grad_stride_n,
    factor, scale, offset, limit, slope, threshold, alpha, low, high,
    T: tl.constexpr, QUANT: tl.constexpr, LEAK_ROUND: tl.constexpr, ZERO_RESET: tl.constexpr,
    SURROGATE: tl.constexpr, WANT_FACTOR: tl.constexpr, BLOCK: tl.constexpr,
):
    """Back through time with the membrane recomputed from the input (nothing was stored forward): the steps are
    unrolled and the ``T`` raw sums of a block stay in registers (a tuple indexed by the unrolled step)."""
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    u0 = tl.load(u0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    raws = ()
    u = u0
    for t in tl.static_range(T):
        x = tl.load(x_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        r = raw_sum(u, x, factor, scale, offset, limit, QUANT, LEAK_ROUND)
        raws = raws + (r,)
        _, u = fire(saturate(r, low, high, QUANT), threshold, ZERO_RESET)
    g_u = tl.zeros([BLOCK], dtype=tl.float32)
    g_factor = tl.zeros([BLOCK], dtype=tl.float32)
    for i in tl.static_range(T):  # step T - 1 - i (a constexpr: no name can hold it in an unrolled loop)
        g_s = tl.load(grad_spikes_ptr + (T - 1 - i) * grad_stride_t + offs * grad_stride_n, mask=mask, other=0.0).to(tl.float32)
        d = membrane_grad(raws[T - 1 - i], g_s, g_u, threshold, scale, alpha, low, high, QUANT, ZERO_RESET, SURROGATE)
        tl.store(grad_x_ptr + (T - 1 - i) * N + offs, (d / scale).to(grad_x_ptr.dtype.element_ty), mask=mask)
        if WANT_FACTOR:
            if i < T - 1:
                _, u_prev = fire(saturate(raws[T - 2 - i], low, high, QUANT), threshold, ZERO_RESET)
            else:
                u_prev = u0
            g_factor += d * u_prev
        g_u = d * slope
    if WANT_FACTOR:
        tl.store(grad_factor_ptr + offs, g_factor, mask=mask)
