/*
 * template: the dot product x . y of two seeded vectors of doubles, the
 * example task to copy (the steps are at the top of template.c).
 *
 * This header is the task's interface: its parameters and their rules, the
 * kernel table a variant fills, and the shared callbacks that
 * MLB_DEFINE_VARIANT reaches by pasting the task's name (template_*).
 */
#ifndef MLB_TEMPLATE_H
#define MLB_TEMPLATE_H

#include <stddef.h>
#include <stdint.h>

#include "mlbench/variant.h"

/* A sanity limit (2 GiB of vectors), not a memory check: beyond it the run
 * is a typo. Also keeps n within every BLAS's integer. */
#define TEMPLATE_MAX_N (1 << 27)

static const mlb_param_def template_params[] = {
    {"n", MLB_PARAM_INT, "100000", "vector length"},
    {"data", MLB_PARAM_STRING, "uniform",
     "entries: uniform in [-1, 1), or ones (the exact answer is n)"},
    {"repeats", MLB_PARAM_INT, "10", "dot products per train call"},
    {"threads", MLB_PARAM_INT, "1", "threads the kernel may use (openblas; naive is serial)"},
};

/* Checked by the engine before any repetition, so setup reads the values
 * as they are. */
static const mlb_param_rule template_rules[] = {
    MLB_RULE_RANGE("n", 1, TEMPLATE_MAX_N),
    MLB_RULE_CHOICES("data", "uniform", "ones"),
    MLB_RULE_RANGE("repeats", 1, 1000000),
    MLB_RULE_RANGE("threads", 1, 1024),
};

/* What a variant contributes. Kernels run inside the timed phases, so they
 * neither allocate nor fail; anything they need is set up in prepare. */
typedef struct {
    /* Optional, at the end of setup: thread count, library state. Returns
     * 0 or mlb_error(...). */
    int (*prepare)(mlb_ctx *ctx, int threads);
    /* x . y over n contiguous entries. */
    double (*dot)(size_t n, const double *x, const double *y);
} template_kernels;

/* One per variant file; declared here so that tests/test_template.c can
 * link them all (MLB_VARIANT_KERNELS_ONLY). */
extern const template_kernels template_kernels_naive;
extern const template_kernels template_kernels_openblas;

/* ---- the maths (template.c) ---- */

/* v[0..n) from the generator state *rng: each entry (u >> 11) * 2^-52 - 1
 * for the next u = mlb_rand_u64(rng), uniform in [-1, 1); or all 1 (ones).
 * Setup fills x, then y, from mlb_seed(). */
void template_fill(double *v, size_t n, int ones, uint64_t *rng);

/* x . y accumulated in long double, the reference a result is checked
 * against; *scale = sum |x_i y_i|, which rounding error bounds scale with. */
double template_reference(size_t n, const double *x, const double *y, double *scale);

/* The largest |dot - reference| / scale a correct double kernel can give:
 * twice the classical bound n * eps / 2, whatever its summation order. */
double template_bound(size_t n);

/* ---- the shared callbacks, reached by MLB_DEFINE_VARIANT ---- */

int template_setup(mlb_ctx *ctx, void **state, const template_kernels *kernels);
int template_train(mlb_ctx *ctx, void *state);
int template_infer(mlb_ctx *ctx, void *state);
int template_teardown(mlb_ctx *ctx, void *state);
/* No peers run this task, so it has no data to export. */
#define template_export_data NULL

#endif
