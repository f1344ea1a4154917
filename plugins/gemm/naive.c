/*
 * gemm:naive, the reference point: a plain i-k-j triple loop, no blocking.
 * The i-k-j order keeps the innermost loop on contiguous rows of B and C
 * (the compiler may vectorise it), so this measures an untuned loop rather
 * than a pathological access pattern.
 */
#include "gemm.h"

#define NAIVE_GEMM(name, T)                                                                       \
    static void name(gemm_state *s)                                                               \
    {                                                                                             \
        const T *a = s->a, *b = s->b;                                                             \
        T *c = s->c;                                                                              \
        size_t m = s->m, n = s->n, k = s->k;                                                      \
        for (size_t i = 0; i < m; i++) {                                                          \
            T *ci = c + i * n;                                                                    \
            for (size_t j = 0; j < n; j++)                                                        \
                ci[j] = 0;                                                                        \
            for (size_t p = 0; p < k; p++) {                                                      \
                T aip = a[i * k + p];                                                             \
                const T *bp = b + p * n;                                                          \
                for (size_t j = 0; j < n; j++)                                                    \
                    ci[j] += aip * bp[j];                                                         \
            }                                                                                     \
        }                                                                                         \
    }

NAIVE_GEMM(naive_sgemm, float)
NAIVE_GEMM(naive_dgemm, double)

static int naive_prepare(mlb_ctx *ctx, gemm_state *s)
{
    /* Once per run, not once per repetition. */
    if (s->threads > 1 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                s->threads);
    return 0;
}

const gemm_kernel gemm_kernels_naive = {
    .prepare = naive_prepare,
    .sgemm = naive_sgemm,
    .dgemm = naive_dgemm,
};

MLB_DEFINE_VARIANT(gemm, gemm_kernels_naive, "naive",
                   "plain i-k-j triple loop, single-threaded (reference point)", NULL);
