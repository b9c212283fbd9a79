/* The fused multi-step if/lif/plif kernels for the CPU: the C twin of snnq/neurons/triton_kernels.py.
 *
 * Layout: x, spikes and the stored membrane are [T, N] row-major float32. Each thread owns a contiguous range of
 * neurons and walks it in blocks of BLOCK neurons; a block's membrane stays in a small local array (L1) across
 * all T steps, so the forward pass reads the input once and writes spikes and the pre-reset membrane once, and
 * the backward pass reads the stored membrane and the incoming gradient once and writes the input's gradient.
 *
 * Arithmetic is that of snnq.neurons.leaky_sequence, operation for operation: fmaf where torch.add(alpha=) and
 * torch.addcmul use a fused multiply-add, IEEE division and float rounding for the input codes, so spikes and
 * integer membranes are bit for bit those of the eager path. Compiled with -ffp-contract=off: no other
 * contraction is allowed.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#define BLOCK 512

enum { LEAK_NONE = 0, LEAK_FLOOR = 1, LEAK_CEIL = 2 };
enum { SG_ATAN = 0, SG_SIGMOID = 1, SG_TRIANGLE = 2, SG_RECTANGLE = 3 };

typedef struct {
    float factor, threshold, scale, offset, low, high, limit, slope, alpha;
    int quant, leak_round, zero_reset, surrogate, want_factor;
} Plan;

typedef struct {
    const float *x, *u0, *grad;
    float *spikes, *stored, *u_last, *grad_x, *grad_factor;
    int64_t n, steps, grad_stride_t, grad_stride_n, begin, end;
    const Plan *plan;
} Work;

static inline __attribute__((always_inline)) float clampf(float v, float low, float high) {
    v = v < low ? low : v; /* two selects, not nested ones: the loops stay branch-free and vectorise */
    return v > high ? high : v;
}

static inline __attribute__((always_inline)) float surrogate_grad(float x, float alpha, int kind) {
    switch (kind) {
    case SG_ATAN: {
        float y = 1.5707963267948966f * alpha * x;
        return (alpha * 0.5f) / (1.0f + y * y);
    }
    case SG_SIGMOID: {
        float s = 1.0f / (1.0f + expf(-alpha * x));
        return alpha * s * (1.0f - s);
    }
    case SG_TRIANGLE: {
        float g = 1.0f - alpha * fabsf(x);
        return alpha * (g > 0.0f ? g : 0.0f);
    }
    default:
        return fabsf(x) < 0.5f / alpha ? alpha : 0.0f;
    }
}

/* One block of the forward pass; always inlined with constant QUANT/ROUND/ZERO so that each combination gets
 * its own branch-free, vectorised loop. */
static inline __attribute__((always_inline)) void forward_block(
    const Work *w, const Plan *p, int64_t start, int64_t len, const int QUANT, const int ROUND, const int ZERO) {
    const int64_t n = w->n;
    /* the plan's numbers as locals: stores through float pointers could alias them otherwise */
    const float scale = p->scale, limit = p->limit, offset = p->offset, factor = p->factor;
    const float low = p->low, high = p->high, threshold = p->threshold;
    float u[BLOCK];
    for (int64_t j = 0; j < len; ++j) u[j] = w->u0[start + j];
    for (int64_t t = 0; t < w->steps; ++t) {
        const float *restrict x = w->x + t * n + start;
        float *restrict spikes = w->spikes + t * n + start;
        float *restrict stored = w->stored ? w->stored + t * n + start : NULL; /* NULL: inference, nothing stored */
        for (int64_t j = 0; j < len; ++j) {
            float h, r;
            if (QUANT) {
                const float c = clampf(floorf(x[j] / scale + 0.5f), -limit, limit) + offset;
                r = fmaf(u[j], factor, c); /* exact: integers and short dyadic rationals */
                if (ROUND == LEAK_FLOOR) r = floorf(r);
                if (ROUND == LEAK_CEIL) r = ceilf(r);
                h = clampf(r, low, high);
            } else {
                r = h = fmaf(u[j], factor, x[j]);
            }
            if (stored) stored[j] = r; /* the raw sum: the saturation mask and h in one */
            const float s = h >= threshold ? 1.0f : 0.0f;
            spikes[j] = s;
            u[j] = ZERO ? h * (1.0f - s) : h - threshold * s;
        }
    }
    for (int64_t j = 0; j < len; ++j) w->u_last[start + j] = u[j];
}

#define FORWARD_CASE(q, r, z)                                                                       \
    if (p->quant == q && p->leak_round == r && p->zero_reset == z) {                                 \
        for (int64_t start = w->begin; start < w->end; start += BLOCK)                               \
            forward_block(w, p, start, w->end - start < BLOCK ? w->end - start : BLOCK, q, r, z);    \
        return;                                                                                      \
    }

static void forward_range(const Work *w) {
    const Plan *p = w->plan;
    FORWARD_CASE(0, LEAK_NONE, 0) FORWARD_CASE(0, LEAK_NONE, 1)
    FORWARD_CASE(1, LEAK_NONE, 0) FORWARD_CASE(1, LEAK_NONE, 1)
    FORWARD_CASE(1, LEAK_FLOOR, 0) FORWARD_CASE(1, LEAK_FLOOR, 1)
    FORWARD_CASE(1, LEAK_CEIL, 0) FORWARD_CASE(1, LEAK_CEIL, 1)
}

/* One block of the backward pass, specialised like forward_block (GRAD: 1 contiguous rows, 0 one value per step:
 * the expanded gradient of a sum). */
static inline __attribute__((always_inline)) void backward_block(
    const Work *w, const Plan *p, int64_t start, int64_t len, const int QUANT, const int ZERO, const int KIND,
    const int FACTOR, const int GRAD) {
    const int64_t n = w->n;
    const float unit = p->scale, low = p->low, high = p->high, threshold = p->threshold, alpha = p->alpha, slope = p->slope;
    float g_u[BLOCK], g_factor[BLOCK];
    for (int64_t j = 0; j < len; ++j) g_u[j] = g_factor[j] = 0.0f;
    for (int64_t t = w->steps - 1; t >= 0; --t) {
        const float *restrict raw = w->stored + t * n + start;
        const float *restrict previous = w->stored + (t > 0 ? t - 1 : 0) * n + start;
        const float *restrict grad = w->grad + t * w->grad_stride_t + start * w->grad_stride_n;
        float *restrict grad_x = w->grad_x + t * n + start;
        for (int64_t j = 0; j < len; ++j) {
            float h = raw[j], inside = 1.0f;
            if (QUANT) {
                h = clampf(raw[j], low, high);
                inside = (float)((raw[j] >= low) & (raw[j] <= high));
            }
            const float g = GRAD ? grad[j] : grad[0];
            const float drive = g * surrogate_grad((h - threshold) * unit, alpha, KIND) * unit;
            const float carry = ZERO && h >= threshold ? 0.0f : 1.0f;
            const float d = (drive + g_u[j] * carry) * inside;
            grad_x[j] = d / unit;
            if (FACTOR) { /* u_{t-1}: rebuilt from the stored membrane of step t-1 */
                const float prev = QUANT ? clampf(previous[j], low, high) : previous[j];
                const float fired = prev >= threshold ? 1.0f : 0.0f;
                const float rebuilt = ZERO ? prev * (1.0f - fired) : prev - threshold * fired;
                g_factor[j] += d * (t > 0 ? rebuilt : w->u0[start + j]);
            }
            g_u[j] = d * slope;
        }
    }
    if (FACTOR)
        for (int64_t j = 0; j < len; ++j) w->grad_factor[start + j] = g_factor[j];
}

#define BACKWARD_BLOCKS(q, z, k, f, g)                                                                    \
    for (int64_t start = w->begin; start < w->end; start += BLOCK)                                        \
        backward_block(w, p, start, w->end - start < BLOCK ? w->end - start : BLOCK, q, z, k, f, g);

#define BACKWARD_GRAD(q, z, k, f)                                                    \
    if (w->grad_stride_n == 0) { BACKWARD_BLOCKS(q, z, k, f, 0) }                     \
    else { BACKWARD_BLOCKS(q, z, k, f, 1) }

#define BACKWARD_CASE(q, z, k)                                                        \
    if (p->quant == q && p->zero_reset == z && p->surrogate == k) {                   \
        if (p->want_factor) { BACKWARD_GRAD(q, z, k, 1) } else { BACKWARD_GRAD(q, z, k, 0) } \
        return;                                                                        \
    }

#define BACKWARD_SURROGATES(q, z) \
    BACKWARD_CASE(q, z, SG_ATAN) BACKWARD_CASE(q, z, SG_SIGMOID) BACKWARD_CASE(q, z, SG_TRIANGLE) BACKWARD_CASE(q, z, SG_RECTANGLE)

static void backward_range(const Work *w) {
    const Plan *p = w->plan;
    BACKWARD_SURROGATES(0, 0) BACKWARD_SURROGATES(0, 1) BACKWARD_SURROGATES(1, 0) BACKWARD_SURROGATES(1, 1)
}

/* Blocks of neurons in parallel on the OpenMP runtime that torch itself uses (libgomp is already loaded into
 * the process, so its threads are shared, not doubled); without -fopenmp the loop runs on one thread. */
typedef void (*RangeBody)(const Work *);

static void run_blocks(Work base, int threads, RangeBody body) {
    const int64_t blocks = (base.n + BLOCK - 1) / BLOCK;
    if (threads < 1) threads = 1;
    if (threads > blocks) threads = (int)blocks;
    const int64_t per = threads > 0 ? (blocks + threads - 1) / threads : 0;
#pragma omp parallel for num_threads(threads) schedule(static, 1)
    for (int i = 0; i < threads; ++i) {
        Work mine = base;
        mine.begin = i * per * BLOCK < base.n ? i * per * BLOCK : base.n;
        mine.end = (i + 1) * per * BLOCK < base.n ? (i + 1) * per * BLOCK : base.n;
        body(&mine);
    }
}

void snnq_lif_forward(const float *x, const float *u0, float *spikes, float *stored, float *u_last, int64_t n,
                      int64_t steps, const Plan *plan, int threads) {
    Work w = {x, u0, NULL, spikes, stored, u_last, NULL, NULL, n, steps, 0, 0, 0, n, plan};
    run_blocks(w, threads, forward_range);
}

void snnq_lif_backward(const float *grad, int64_t grad_stride_t, int64_t grad_stride_n, const float *stored,
                       float *grad_x, float *grad_factor, const float *u0, int64_t n, int64_t steps, const Plan *plan,
                       int threads) {
    Work w = {NULL, u0, grad, NULL, (float *)stored, NULL, grad_x, grad_factor, n, steps, grad_stride_t,
              grad_stride_n, 0, n, plan};
    run_blocks(w, threads, backward_range);
}
