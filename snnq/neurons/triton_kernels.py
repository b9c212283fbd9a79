"""Triton kernels of `snnq.neurons.triton_lif` (a module of their own: importing it imports Triton)."""

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
def forward_kernel(
    x_ptr, u0_ptr, spikes_ptr, h_ptr, u_last_ptr, N, T,
    factor, threshold, scale, offset, low, high, limit,
    QUANT: tl.constexpr, LEAK_ROUND: tl.constexpr, ZERO_RESET: tl.constexpr, BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    u = tl.load(u0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    for t in range(T):
        x = tl.load(x_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        if QUANT:
            c = tl.minimum(tl.maximum(tl.floor(tl.div_rn(x, scale) + 0.5), -limit), limit) + offset  # IEEE division, as on the CPU
            r = tl.fma(u, factor, c)  # exact: every value is an integer or a short dyadic rational
            if LEAK_ROUND == 1:
                r = tl.floor(r)
            elif LEAK_ROUND == 2:
                r = tl.ceil(r)
            h = tl.minimum(tl.maximum(r, low), high)
            # the raw sum (saturation mask and h in one), an integer: int16 where it fits (LeakyPlan.stored_dtype)
            tl.store(h_ptr + t * N + offs, r.to(h_ptr.dtype.element_ty), mask=mask)
        else:
            h = tl.fma(u, factor, x)
            tl.store(h_ptr + t * N + offs, h, mask=mask)
        s = (h >= threshold).to(tl.float32)
        tl.store(spikes_ptr + t * N + offs, s.to(spikes_ptr.dtype.element_ty), mask=mask)
        if ZERO_RESET:
            u = h * (1.0 - s)
        else:
            u = h - threshold * s
    tl.store(u_last_ptr + offs, u, mask=mask)

@triton.jit
def backward_kernel(
    grad_spikes_ptr, h_ptr, grad_x_ptr, grad_factor_ptr, u0_ptr, N, T, grad_stride_t, grad_stride_n,
    slope, threshold, unit, alpha, low, high,
    QUANT: tl.constexpr, ZERO_RESET: tl.constexpr, SURROGATE: tl.constexpr, WANT_FACTOR: tl.constexpr,
    BLOCK: tl.constexpr,
):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    g_u = tl.zeros([BLOCK], dtype=tl.float32)
    g_factor = tl.zeros([BLOCK], dtype=tl.float32)
    for i in range(T):
        t = T - 1 - i
        raw = tl.load(h_ptr + t * N + offs, mask=mask, other=0.0).to(tl.float32)
        if QUANT:
            h = tl.minimum(tl.maximum(raw, low), high)
            inside = ((raw >= low) & (raw <= high)).to(tl.float32)
        else:
            h = raw
            inside = 1.0
        g_s = tl.load(grad_spikes_ptr + t * grad_stride_t + offs * grad_stride_n, mask=mask, other=0.0).to(tl.float32)
        drive = g_s * surrogate_grad((h - threshold) * unit, alpha, SURROGATE) * unit
        if ZERO_RESET:
            carry = 1.0 - (h >= threshold).to(tl.float32)
        else:
            carry = 1.0
        d = (drive + g_u * carry) * inside
        tl.store(grad_x_ptr + t * N + offs, (d / unit).to(grad_x_ptr.dtype.element_ty), mask=mask)
        if WANT_FACTOR:  # u_{t-1}: the state before step t, rebuilt from the stored membrane of step t-1
            if t > 0:
                prev = tl.load(h_ptr + (t - 1) * N + offs, mask=mask, other=0.0).to(tl.float32)
                if QUANT:
                    prev = tl.minimum(tl.maximum(prev, low), high)
                fired = (prev >= threshold).to(tl.float32)
                if ZERO_RESET:
                    u_prev = prev * (1.0 - fired)
                else:
                    u_prev = prev - threshold * fired
            else:
                u_prev = tl.load(u0_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            g_factor += d * u_prev
        g_u = d * slope
    if WANT_FACTOR:
        tl.store(grad_factor_ptr + offs, g_factor, mask=mask)
