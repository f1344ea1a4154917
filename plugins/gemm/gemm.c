/*
 * The part of the gemm task every variant shares: setup (all the
 * allocation), the timed loops, and teardown, which verifies the result.
 */
#include "gemm.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Entries of C recomputed in high precision at teardown. */
#define GEMM_VERIFY_SAMPLES 64
#define GEMM_ALIGN 64

/* Uniform in [-1, 1): signs mix, so the sums cancel as real data does. */
static double uniform_pm1(uint64_t *x)
{
    return (double)(mlb_rand_u64(x) >> 11) * 0x1.0p-52 - 1.0;
}

/* Cache-line aligned, which is also a whole AVX-512 vector. */
static void *alloc_aligned(size_t bytes)
{
    void *p = NULL;
    if (posix_memalign(&p, GEMM_ALIGN, bytes ? bytes : 1) != 0)
        return NULL;
    return p;
}

static size_t elem_size(gemm_dtype dtype)
{
    return dtype == GEMM_F32 ? sizeof(float) : sizeof(double);
}

static void fill(void *dst, gemm_dtype dtype, size_t count, uint64_t *rng)
{
    if (dtype == GEMM_F32) {
        float *f = dst;
        for (size_t i = 0; i < count; i++)
            f[i] = (float)uniform_pm1(rng);
    } else {
        double *d = dst;
        for (size_t i = 0; i < count; i++)
            d[i] = uniform_pm1(rng);
    }
}

static void gemm_free(gemm_state *s)
{
    if (!s)
        return;
    if (s->kern->release)
        s->kern->release(s);
    free(s->a);
    free(s->b);
    free(s->c);
    free(s->scratch);
    free(s);
}

/* Reads the parameters into s and checks what gemm_rules cannot (their
 * sizes together); returns 0 or mlb_error(...). */
static int read_params(mlb_ctx *ctx, gemm_state *s)
{
    /* gemm_rules bound each factor by 2^31, so each product fits in 2^62
     * and the sum cannot wrap. */
    uint64_t m = (uint64_t)mlb_param_int(ctx, "m"), n = (uint64_t)mlb_param_int(ctx, "n"),
             k = (uint64_t)mlb_param_int(ctx, "k");
    uint64_t elements = m * n + m * k + k * n;
    if (elements > GEMM_MAX_ELEMENTS)
        return mlb_error(ctx,
                         "m=%" PRIu64 ", n=%" PRIu64 ", k=%" PRIu64 " need %" PRIu64
                         " matrix elements, more than the limit of %" PRIu64,
                         m, n, k, elements, GEMM_MAX_ELEMENTS);
    s->m = (size_t)m;
    s->n = (size_t)n;
    s->k = (size_t)k;

    s->dtype = strcmp(mlb_param_str(ctx, "dtype"), "f64") ? GEMM_F32 : GEMM_F64; /* f32 or f64 */
    if (elements > SIZE_MAX / elem_size(s->dtype))
        return mlb_error(ctx, "matrices of %" PRIu64 " elements do not fit in memory here",
                         elements);

    s->threads = (int)mlb_param_int(ctx, "threads");
    s->iterations = (int)mlb_param_int(ctx, "iterations");
    return 0;
}

static void run_once(gemm_state *s)
{
    if (s->dtype == GEMM_F32)
        s->kern->sgemm(s);
    else
        s->kern->dgemm(s);
    s->computed = 1;
}

int gemm_setup(mlb_ctx *ctx, void **state, const gemm_kernel *kern)
{
    *state = NULL;
    gemm_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->kern = kern;
    int rc = read_params(ctx, s);
    if (rc < 0) {
        free(s);
        return rc;
    }

    size_t es = elem_size(s->dtype);
    s->a = alloc_aligned(s->m * s->k * es);
    s->b = alloc_aligned(s->k * s->n * es);
    s->c = alloc_aligned(s->m * s->n * es);
    s->scratch_size = kern->scratch_bytes ? kern->scratch_bytes(s) : 0;
    if (s->scratch_size)
        s->scratch = alloc_aligned(s->scratch_size);
    if (!s->a || !s->b || !s->c || (s->scratch_size && !s->scratch)) {
        double mib = (double)((s->m * s->k + s->k * s->n + s->m * s->n) * es + s->scratch_size) /
                     (1024.0 * 1024.0);
        rc = mlb_error(ctx, "cannot allocate %.1f MiB for a %zux%zux%zu GEMM", mib, s->m, s->n,
                       s->k);
        gemm_free(s);
        return rc;
    }

    uint64_t rng = mlb_seed(ctx) ^ UINT64_C(0x67656d6d2d616221); /* "gemm-ab!" */
    fill(s->a, s->dtype, s->m * s->k, &rng);
    fill(s->b, s->dtype, s->k * s->n, &rng);
    /* Touch C and the scratch now, so that train does not pay their first
     * page faults. */
    memset(s->c, 0, s->m * s->n * es);
    if (s->scratch)
        memset(s->scratch, 0, s->scratch_size);

    if (kern->prepare && (rc = kern->prepare(ctx, s)) < 0) {
        gemm_free(s);
        return rc;
    }
    if (kern->warm_up)
        run_once(s);
    mlb_log(ctx, MLB_LOG_DEBUG, "%zux%zux%zu %s, %d thread(s), %d iteration(s), %zu B scratch",
            s->m, s->n, s->k, s->dtype == GEMM_F32 ? "f32" : "f64", s->threads, s->iterations,
            s->scratch_size);
    *state = s;
    return 0;
}

/* |C[i][j] - exact| and sum_p |A[i][p]*B[p][j]|, with the exact value
 * recomputed in ACC, a wider type than T: a product of two floats is exact
 * in double, and long double carries 11 more bits than double on x86 (the
 * bound in verify() allows for hosts where it does not). Four independent
 * partial sums, because one running sum is bound by the latency of an add:
 * verification is untimed work, but it still lengthens every repetition. */
#define DEFINE_ENTRY_ERROR(name, T, ACC, ABS)                                                      \
    static void name(const gemm_state *s, size_t i, size_t j, double *diff, double *scale)         \
    {                                                                                              \
        const size_t n = s->n, k = s->k;                                                           \
        const T *a = (const T *)s->a + i * k, *b = (const T *)s->b + j;                            \
        ACC ref[4] = {0}, abs[4] = {0};                                                            \
        size_t p = 0;                                                                              \
        for (; p + 4 <= k; p += 4)                                                                 \
            for (size_t u = 0; u < 4; u++) {                                                       \
                ACC t = (ACC)a[p + u] * (ACC)b[(p + u) * n];                                       \
                ref[u] += t;                                                                       \
                abs[u] += ABS(t);                                                                  \
            }                                                                                      \
        for (; p < k; p++) {                                                                       \
            ACC t = (ACC)a[p] * (ACC)b[p * n];                                                     \
            ref[0] += t;                                                                           \
            abs[0] += ABS(t);                                                                      \
        }                                                                                          \
        ACC exact = (ref[0] + ref[1]) + (ref[2] + ref[3]);                                         \
        *diff = (double)ABS((ACC)((const T *)s->c)[i * n + j] - exact);                            \
        *scale = (double)((abs[0] + abs[1]) + (abs[2] + abs[3]));                                  \
    }

DEFINE_ENTRY_ERROR(entry_error_f32, float, double, fabs)
DEFINE_ENTRY_ERROR(entry_error_f64, double, long double, fabsl)

/* Relative error of C[i][j], scaled by sum_p |A[i][p]*B[p][j]| (the
 * quantity floating-point error bounds are stated in), so that cancellation
 * in the exact value cannot inflate it. */
static double entry_error(const gemm_state *s, size_t i, size_t j)
{
    double diff, scale;
    if (s->dtype == GEMM_F32)
        entry_error_f32(s, i, j, &diff, &scale);
    else
        entry_error_f64(s, i, j, &diff, &scale);
    if (scale > 0)
        return diff / scale;
    return diff == 0 ? 0 : INFINITY; /* all products zero: C must be exactly 0 */
}

/* Fills idx with `count` distinct indices in [0, range): all of them when
 * count == range; otherwise 0 and range-1 first (the edge tiles, where a
 * blocked kernel goes wrong), then random ones. count <= range. */
static void pick_indices(size_t *idx, size_t count, size_t range, uint64_t *rng)
{
    size_t got = 0;
    if (count == range) {
        for (; got < count; got++)
            idx[got] = got;
        return;
    }
    idx[got++] = 0;
    if (count > 1)
        idx[got++] = range - 1;
    while (got < count) {
        size_t v = (size_t)(mlb_rand_u64(rng) % range), t = 0;
        while (t < got && idx[t] != v)
            t++;
        if (t == got)
            idx[got++] = v;
    }
}

/* Compares sampled entries of C with a high-precision recomputation. The
 * bound is twice the classical worst case for a length-k dot product
 * (|error| <= k*u*sum|a*b| with u = eps/2), so that the reference's own
 * rounding (long double may be plain double on some hosts) and any
 * summation order stay inside it, while a wrong kernel (an element missed or
 * counted twice, about 1/k of the scale) lands far outside for any k where
 * the check means something. */
static int verify(mlb_ctx *ctx, const gemm_state *s)
{
    double eps = s->dtype == GEMM_F32 ? FLT_EPSILON : DBL_EPSILON;
    double bound = 2.0 * (double)s->k * eps;
    /* The samples form a grid of rows x cols that always includes the first
     * and last row and column (edge tiles). Up to 8 columns, more when there
     * are few rows: a C of at most 64 entries is checked entirely. */
    size_t rows[GEMM_VERIFY_SAMPLES], cols[GEMM_VERIFY_SAMPLES];
    size_t nc = s->n < 8 ? s->n : 8;
    size_t nr = s->m < GEMM_VERIFY_SAMPLES / nc ? s->m : GEMM_VERIFY_SAMPLES / nc;
    if (nc == 8 && nr < 8)
        nc = s->n < GEMM_VERIFY_SAMPLES / nr ? s->n : GEMM_VERIFY_SAMPLES / nr;
    uint64_t rng = mlb_seed(ctx) ^ UINT64_C(0x7665726966792121); /* "verify!!" */
    pick_indices(rows, nr, s->m, &rng);
    pick_indices(cols, nc, s->n, &rng);

    double worst = 0;
    size_t wi = 0, wj = 0;
    for (size_t c = 0; c < nc; c++) {
        for (size_t r = 0; r < nr; r++) {
            double err = entry_error(s, rows[r], cols[c]);
            if (!(err <= worst)) { /* also catches NaN */
                worst = err;
                wi = rows[r];
                wj = cols[c];
            }
        }
    }
    /* Every error within the bound is a correct result: two variants whose
     * errors differ inside it are equivalent, not better or worse. */
    mlb_report_metric_ex(ctx, "max_rel_err", worst, MLB_LOWER_IS_BETTER, 0, bound, 0);
    if (!(worst <= bound))
        return mlb_error(ctx,
                         "wrong result: C[%zu][%zu] has relative error %.3g, above the bound "
                         "%.3g (2*k*eps) for k=%zu",
                         wi, wj, worst, bound, s->k);
    return 0;
}

/* Train and infer only compute; the result is checked at teardown, so that
 * train's time (and GFLOP/s) is the kernel's alone: verification is 64 dot
 * products of length k in a wider type, measured at 8-12% of openblas's
 * train at the default 256^3: the same absolute cost for every variant,
 * which would compress their ratios. */
int gemm_train(mlb_ctx *ctx, void *state)
{
    gemm_state *s = state;
    for (int it = 0; it < s->iterations; it++)
        run_once(s);
    double flops = 2.0 * (double)s->m * (double)s->n * (double)s->k;
    mlb_report_work(ctx, MLB_WORK_FLOPS, flops * s->iterations);
    mlb_report_work(ctx, MLB_WORK_ITEMS, s->iterations);
    return 0;
}

int gemm_infer(mlb_ctx *ctx, void *state)
{
    gemm_state *s = state;
    run_once(s);
    mlb_report_work(ctx, MLB_WORK_FLOPS, 2.0 * (double)s->m * (double)s->n * (double)s->k);
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

/* Verifies C, which holds the last GEMM's result (train's or infer's: every
 * call computes the same product of the same A and B), then frees. A wrong
 * result fails teardown and with it the repetition, so a fast but wrong
 * variant cannot win. With no GEMM since setup zeroed C (setup straight to
 * teardown), there is nothing to check. */
int gemm_teardown(mlb_ctx *ctx, void *state)
{
    gemm_state *s = state;
    int rc = s && s->computed ? verify(ctx, s) : 0;
    gemm_free(s);
    return rc;
}
