/*
 * gemm:openblas, the tuned reference: cblas_sgemm / cblas_dgemm from OpenBLAS.
 *
 * The engine links GSL with OpenBLAS, so libopenblas precedes GSL's
 * libgslcblas (also loaded, as libgsl's dependency) in the global lookup
 * order and these direct calls bind to OpenBLAS; see the top meson.build.
 */
#include "gemm.h"

#include "../common/openblas_threads.h"
#include <stdint.h>

static int openblas_prepare(mlb_ctx *ctx, gemm_state *s)
{
    /* m, n, k <= 2^31 - 2 by gemm.c's element limit; blasint is at least 32 bits. */
    const uint64_t blas_max = sizeof(blasint) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
    if (s->m > blas_max || s->n > blas_max || s->k > blas_max)
        return mlb_error(ctx, "%zux%zux%zu exceeds OpenBLAS's integer size", s->m, s->n, s->k);
    mlb_openblas_set_threads(s->threads);
    mlb_log(ctx, MLB_LOG_DEBUG, "%s", openblas_get_config());
    return 0;
}

static void openblas_sgemm(gemm_state *s)
{
    blasint m = (blasint)s->m, n = (blasint)s->n, k = (blasint)s->k;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, s->a, k, s->b, n, 0.0f,
                s->c, n);
}

static void openblas_dgemm(gemm_state *s)
{
    blasint m = (blasint)s->m, n = (blasint)s->n, k = (blasint)s->k;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, s->a, k, s->b, n, 0.0,
                s->c, n);
}

const gemm_kernel gemm_kernels_openblas = {
    .prepare = openblas_prepare,
    .warm_up = 1,
    .sgemm = openblas_sgemm,
    .dgemm = openblas_dgemm,
};

MLB_DEFINE_VARIANT(gemm, gemm_kernels_openblas, "openblas",
                   "OpenBLAS cblas_sgemm/cblas_dgemm, openblas_set_num_threads(threads)", NULL);
