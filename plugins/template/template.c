/*
 * template: a complete, tiny mlbench task written in the one idiom every
 * task uses, to copy when writing a new one. It computes x . y; its
 * variants are naive.c (a C loop) and openblas.c (cblas_ddot).
 *
 * To turn it into a new task, say `knn`:
 *
 *  1. Copy plugins/template to plugins/knn.
 *  2. Rename the files (template.[ch] -> knn.[ch]) and every template_ and
 *     TEMPLATE_ symbol (sed -i 's/template/knn/g; s/TEMPLATE/KNN/g' *): the
 *     prefix is the task's name, which MLB_DEFINE_VARIANT pastes onto
 *     knn_params, knn_rules, knn_setup, ... and shows in --list.
 *  3. Add subdir('knn') to plugins/meson.build.
 *  4. Fill the kernels: say in knn.h what a variant supplies (the kernel
 *     table), write the task's maths once in knn.c against that table, and
 *     give each variant a file holding its table and one line,
 *     MLB_DEFINE_VARIANT(knn, knn_kernels_naive, "naive", "...", NULL);
 *     list the variants in meson.build.
 *  5. Declare the parameters and their rules in knn.h (knn_params,
 *     knn_rules). The engine enforces the rules; setup checks only what a
 *     rule cannot say (a relation between two parameters, a dataset that
 *     does not exist).
 *  6. Add the tests: tests/test_knn.c (the maths with every kernel table)
 *     and tests/integration/test_knn.py (the real engine on the plugins, a
 *     metric against an independent computation, a bad parameter), both
 *     registered in tests/meson.build.
 *  7. Add the task to config/default.yaml and config/full.yaml.
 *
 * docs/plugin-guide.md walks through this file. The rules every plugin
 * follows: all allocation in setup, nothing global and mutable, data from
 * mlb_seed(), errors through mlb_error().
 */
#include "template.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const template_kernels *k;
    size_t n;
    int repeats;
    double *x, *y;
    double dot;   /* the last result */
    int computed; /* train or infer ran: teardown checks dot */
} template_state;

void template_fill(double *v, size_t n, int ones, uint64_t *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = ones ? 1.0 : (double)(mlb_rand_u64(rng) >> 11) * 0x1.0p-52 - 1.0;
}

double template_reference(size_t n, const double *x, const double *y, double *scale)
{
    long double sum = 0, abs_sum = 0;
    for (size_t i = 0; i < n; i++) {
        long double t = (long double)x[i] * (long double)y[i];
        sum += t;
        abs_sum += fabsl(t);
    }
    *scale = (double)abs_sum;
    return (double)sum;
}

double template_bound(size_t n)
{
    return (double)n * DBL_EPSILON;
}

static void state_free(template_state *s)
{
    if (!s)
        return;
    free(s->x);
    free(s->y);
    free(s);
}

int template_setup(mlb_ctx *ctx, void **state, const template_kernels *kernels)
{
    *state = NULL;
    template_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->k = kernels;
    /* template_rules bound every value, so no range checks here. */
    s->n = (size_t)mlb_param_int(ctx, "n");
    s->repeats = (int)mlb_param_int(ctx, "repeats");
    int ones = !strcmp(mlb_param_str(ctx, "data"), "ones");
    s->x = malloc(s->n * sizeof *s->x);
    s->y = malloc(s->n * sizeof *s->y);
    if (!s->x || !s->y) {
        int rc = mlb_error(ctx, "cannot allocate 2 x %zu doubles", s->n);
        state_free(s); /* teardown does not run after a failed setup */
        return rc;
    }
    /* Writing the data also faults the pages in, outside the timed train. */
    uint64_t rng = mlb_seed(ctx);
    template_fill(s->x, s->n, ones, &rng);
    template_fill(s->y, s->n, ones, &rng);
    int rc = kernels->prepare ? kernels->prepare(ctx, (int)mlb_param_int(ctx, "threads")) : 0;
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    *state = s;
    return 0;
}

/* Train and infer only compute; teardown checks the result, so that the
 * phases' times (and GFLOP/s) are the kernel's alone. */
int template_train(mlb_ctx *ctx, void *state)
{
    template_state *s = state;
    for (int r = 0; r < s->repeats; r++)
        s->dot = s->k->dot(s->n, s->x, s->y);
    s->computed = 1;
    mlb_report_work(ctx, MLB_WORK_FLOPS, 2.0 * (double)s->n * s->repeats);
    mlb_report_work(ctx, MLB_WORK_ITEMS, s->repeats);
    return 0;
}

int template_infer(mlb_ctx *ctx, void *state)
{
    template_state *s = state;
    s->dot = s->k->dot(s->n, s->x, s->y); /* one query: one dot product */
    s->computed = 1;
    mlb_report_work(ctx, MLB_WORK_FLOPS, 2.0 * (double)s->n);
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

/* A wrong result fails teardown, and with it the repetition, so that a
 * fast but wrong variant cannot win. */
int template_teardown(mlb_ctx *ctx, void *state)
{
    template_state *s = state;
    int rc = 0;
    if (s && s->computed) {
        double scale, ref = template_reference(s->n, s->x, s->y, &scale);
        double err = fabs(s->dot - ref) / (scale > 0 ? scale : 1.0);
        /* The value itself, for checks from outside; the variants agree to
         * rounding, so its direction means little. */
        mlb_report_metric(ctx, "dot", s->dot, MLB_HIGHER_IS_BETTER);
        mlb_report_metric(ctx, "rel_err", err, MLB_LOWER_IS_BETTER);
        if (!(err <= template_bound(s->n))) /* also catches NaN */
            rc = mlb_error(ctx, "wrong result: x.y = %.17g, reference %.17g (relative error %.3g, "
                                "bound %.3g)",
                           s->dot, ref, err, template_bound(s->n));
    }
    state_free(s);
    return rc;
}
