/* Fused fake quantization for the CPU: q = clamp(round(x / s), low, high) * s in one pass, and its straight-through
 * gradients in one pass (snnq/quant/cpu_fake_quant.py; the PyTorch twin is in snnq/quant/ste.py).
 *
 * x is contiguous float32; the step s is one value (channels = 1) or one per channel of the axis whose elements lie
 * `inner` apart: s[(i / inner) % channels]. Arithmetic as in ste.py, operation for operation: IEEE division, the
 * rounding mode's float operations, clamp, then the product with s, so the values are bit for bit the PyTorch
 * path's. Compiled with -ffp-contract=off.
 */
#include <math.h>
#include <stdint.h>

enum { HALF_UP = 0, HALF_EVEN = 1, FLOOR = 2 };

static inline __attribute__((always_inline)) float round_mode(float v, const int MODE) {
    if (MODE == HALF_UP) return floorf(v + 0.5f);
    if (MODE == HALF_EVEN) return nearbyintf(v); /* the default rounding mode: to nearest, ties to even */
    return floorf(v);
}

static inline __attribute__((always_inline)) float clampf(float v, float low, float high) {
    v = v < low ? low : v; /* two selects, not nested ones: the loops stay branch-free and vectorise */
    return v > high ? high : v;
}

/* The elements in pieces of at most PIECE that never straddle two channels: piece p covers [begin, end) of run
 * p / per_run (a run: `inner` consecutive elements that share one step), whose channel is run % channels. */
#define PIECE 16384
#define FOR_PIECES(n, inner, channels, BODY)                                                          \
    const int64_t per_run = ((inner) + PIECE - 1) / PIECE, runs = ((n) + (inner) - 1) / (inner);     \
    _Pragma("omp parallel for schedule(static)")                                                     \
    for (int64_t p = 0; p < runs * per_run; ++p) {                                                    \
        const int64_t run = p / per_run, run_end = run * (inner) + (inner) < (n) ? run * (inner) + (inner) : (n); \
        const int64_t begin = run * (inner) + (p % per_run) * PIECE;                                  \
        const int64_t end = begin + PIECE < run_end ? begin + PIECE : run_end;                        \
        const int64_t c = (channels) > 1 ? run % (channels) : 0;                                      \
        BODY                                                                                          \
    }

static inline __attribute__((always_inline)) void forward_mode(
    const float *restrict x, const float *restrict step, int64_t n, int64_t inner, int64_t channels, float low,
    float high, float *restrict y, const int MODE) {
    FOR_PIECES(n, inner, channels, {
        const float s = step[c];
        for (int64_t i = begin; i < end; ++i) y[i] = clampf(round_mode(x[i] / s, MODE), low, high) * s;
    })
}

void snnq_fake_quant_forward(const float *x, const float *step, int64_t n, int64_t inner, int64_t channels,
                             float low, float high, int mode, float *y) {
    if (mode == HALF_UP) forward_mode(x, step, n, inner, channels, low, high, y, HALF_UP);
    else if (mode == HALF_EVEN) forward_mode(x, step, n, inner, channels, low, high, y, HALF_EVEN);
    else forward_mode(x, step, n, inner, channels, low, high, y, FLOOR);
}

/* d q / d x = [low <= x/s <= high]; with a learned step (LEARNED) also d q / d s = round(x/s) - x/s inside the range
 * and the clipped code outside it, summed per piece into grad_step_pieces (the caller adds the pieces up). */
static inline __attribute__((always_inline)) void backward_mode(
    const float *restrict x, const float *restrict grad, const float *restrict step, int64_t n, int64_t inner,
    int64_t channels, float low, float high, float *restrict grad_x, double *restrict grad_step_pieces,
    const int MODE, const int LEARNED) {
    FOR_PIECES(n, inner, channels, {
        const float s = step[c];
        double total = 0.0;
        for (int64_t i = begin; i < end; ++i) {
            const float scaled = x[i] / s;
            const float inside = (float)((scaled >= low) & (scaled <= high));
            grad_x[i] = inside * grad[i];
            if (LEARNED) total += (double)((clampf(round_mode(scaled, MODE), low, high) - inside * scaled) * grad[i]);
        }
        if (LEARNED) grad_step_pieces[p] = total;
    })
}

#define BACKWARD(mode_) \
    if (grad_step_pieces) backward_mode(x, grad, step, n, inner, channels, low, high, grad_x, grad_step_pieces, mode_, 1); \
    else backward_mode(x, grad, step, n, inner, channels, low, high, grad_x, grad_step_pieces, mode_, 0);

void snnq_fake_quant_backward(const float *x, const float *grad, const float *step, int64_t n, int64_t inner,
                              int64_t channels, float low, float high, int mode, float *grad_x,
                              double *grad_step_pieces) {
    if (mode == HALF_UP) { BACKWARD(HALF_UP) }
    else if (mode == HALF_EVEN) { BACKWARD(HALF_EVEN) }
    else { BACKWARD(FLOOR) }
}

/* The fractional length of dynamic fixed point (snnq.quant.fixed_point.frac_bits_for) and its step, per channel:
 * f = clamp(bits_minus_sign - ceil(log2 max|x|), min_frac, max_frac), step = 2^-f. max|x| propagates NaN as
 * torch.amax does; ceil(log2) is read off the float's bits as torch.frexp gives it: 0 for 0, inf and NaN, the
 * exponent less one on an exact power of two; subnormals give -149 (any value <= -126 clamps alike). */
static inline int ceil_log2_bits(float a) {
    union { float f; uint32_t u; } v = { a };
    const int exponent = (int)((v.u >> 23) & 0xFF), exact = (v.u & 0x7FFFFF) == 0;
    if (exponent == 0xFF || a == 0.0f) return 0;
    if (exponent == 0) return -149;
    return exponent - 126 - exact;
}

void snnq_fixed_point_range(const float *x, int64_t n, int64_t inner, int64_t channels, int bits_minus_sign,
                            int min_frac, int max_frac, int32_t *frac, float *step) {
    const int64_t runs = (n + inner - 1) / inner;
#pragma omp parallel for schedule(static) if (channels > 1)
    for (int64_t c = 0; c < channels; ++c) {
        float largest = 0.0f;
        int nan = 0;
        for (int64_t run = c; run < runs; run += channels) {
            const int64_t end = run * inner + inner < n ? run * inner + inner : n;
            for (int64_t i = run * inner; i < end; ++i) {
                const float a = fabsf(x[i]);
                nan |= a != a;
                largest = a > largest ? a : largest;
            }
        }
        int f = bits_minus_sign - ceil_log2_bits(nan ? NAN : largest);
        f = f < min_frac ? min_frac : (f > max_frac ? max_frac : f);
        union { uint32_t u; float f; } power = { (uint32_t)(127 - f) << 23 };
        frac[c] = f;
        step[c] = power.f;
    }
}
