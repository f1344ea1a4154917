/*
 * template:naive, the reference point: the dot product as a plain C loop,
 * single-threaded.
 */
#include "template.h"

static int naive_prepare(mlb_ctx *ctx, int threads)
{
    /* Accepted rather than refused, so that one suite entry runs every
     * variant; said once per run, not once per repetition. */
    if (threads > 1 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    return 0;
}

static double naive_dot(size_t n, const double *x, const double *y)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += x[i] * y[i];
    return sum;
}

const template_kernels template_kernels_naive = {
    .prepare = naive_prepare,
    .dot = naive_dot,
};

MLB_DEFINE_VARIANT(template, template_kernels_naive, "naive",
                   "example: x.y as a plain C loop (plugins/template, the task to copy)", NULL);
