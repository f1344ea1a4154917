/*
 * template:openblas, the tuned reference: cblas_ddot from OpenBLAS, with
 * openblas_set_num_threads(threads).
 */
#include "template.h"

#include "../common/openblas_threads.h"

static int openblas_prepare(mlb_ctx *ctx, int threads)
{
    (void)ctx;
    mlb_openblas_set_threads(threads);
    return 0;
}

static double openblas_dot(size_t n, const double *x, const double *y)
{
    /* n <= TEMPLATE_MAX_N (template_rules), well within blasint. */
    return cblas_ddot((blasint)n, x, 1, y, 1);
}

const template_kernels template_kernels_openblas = {
    .prepare = openblas_prepare,
    .dot = openblas_dot,
};

MLB_DEFINE_VARIANT(template, template_kernels_openblas, "openblas",
                   "example: x.y with OpenBLAS cblas_ddot, openblas_set_num_threads(threads)",
                   NULL);
