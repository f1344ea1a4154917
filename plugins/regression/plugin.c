/*
 * The regression task's plugin glue, shared by every variant: reading the
 * parameters (declared in regression.h), data (a registered dataset, the
 * user's own file or the seeded generator, split and optionally
 * standardised), the timed fit
 * (train), predictions (infer), the scores and objective (teardown), export
 * for peers.
 */
#include "dataset_params.h"
#include "regression.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlbench/data.h"

typedef struct {
    const reg_kernels *k;
    reg_config cfg;
    mlb_dataset *train, *test;
    reg_work w;
    reg_model m;
    double *pred;     /* test-set predictions */
    size_t batch;     /* rows per infer query */
    size_t cursor;    /* next test row an infer query starts at */
    int fit_repeats;
    int fitted;       /* train completed: teardown scores the model */
} reg_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void state_free(reg_state *s)
{
    if (!s)
        return;
    if (s->k)
        reg_work_free(s->k, &s->w);
    reg_model_free(&s->m);
    mlb_dataset_free(s->train);
    mlb_dataset_free(s->test);
    free(s->pred);
    free(s);
}

/* The engine has checked every value against regression_rules; what is
 * left to check here are the combinations. */
static int read_config(mlb_ctx *ctx, reg_state *s)
{
    reg_config *c = &s->cfg;
    const char *algo = mlb_param_str(ctx, "algorithm");
    (void)reg_algorithm_parse(algo, &c->algo); /* one of the rule's four names */
    c->alpha = mlb_param_float(ctx, "alpha");
    c->l1_ratio = mlb_param_float(ctx, "l1_ratio");
    c->tol = mlb_param_float(ctx, "tol");
    c->max_iter = (int)mlb_param_int(ctx, "max_iter");
    if ((c->algo == REG_LASSO || c->algo == REG_ENET) && c->alpha == 0)
        return mlb_error(ctx, "algorithm=%s with alpha=0 is OLS by coordinate descent, which "
                              "scikit-learn advises against; use algorithm=linear",
                         algo);
    if (c->algo == REG_LASSO)
        c->l1_ratio = 1.0;

    s->batch = (size_t)mlb_param_int(ctx, "batch_size");
    s->fit_repeats = (int)mlb_param_int(ctx, "fit_repeats");
    int64_t threads = mlb_param_int(ctx, "threads");
    if (s->k->set_threads)
        s->k->set_threads((int)threads);
    else if (threads > 1)
        mlb_log(ctx, MLB_LOG_DEBUG, "threads=%" PRId64 " ignored: the %s variant is serial",
                threads, s->k->name);
    return 0;
}

static int load_data(mlb_ctx *ctx, reg_state *s)
{
    const char *name = mlb_param_str(ctx, "dataset");
    char err[768];
    mlb_dataset *all = NULL;
    int rc;
    if (!strcmp(name, "synthetic")) {
        int64_t n = mlb_param_int(ctx, "n_samples"), d = mlb_param_int(ctx, "n_features");
        mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION,
                            .n_samples = (size_t)n,
                            .n_features = (size_t)d,
                            .seed = mlb_seed(ctx),
                            .noise = mlb_param_float(ctx, "noise")};
        if ((rc = mlb_data_synth(&o, &all, err, sizeof err)) < 0)
            return mlb_error(ctx, "dataset=%s: %s", name, err);
    } else {
        /* A registered name, or the user's own file (the file options say
         * how to read it; a registered name knows its own layout). */
        mlb_data_opts o = {0};
        if ((rc = common_dataset_load(ctx, name, &o, "synthetic", &all)) < 0)
            return rc;
    }
    rc = mlb_data_split(all, mlb_param_float(ctx, "test_fraction"), mlb_seed(ctx), &s->train,
                        &s->test, err, sizeof err);
    mlb_dataset_free(all);
    if (rc < 0)
        return mlb_error(ctx, "dataset=%s: %s", name, err);
    if (mlb_param_bool(ctx, "standardize")) {
        /* The test rows get the training rows' moments, as a fitted
         * StandardScaler would give them. */
        double *mom = malloc(2 * s->train->d * sizeof *mom);
        if (!mom)
            return mlb_error(ctx, "out of memory");
        rc = mlb_data_moments(s->train, mom, mom + s->train->d);
        if (!rc)
            rc = mlb_data_standardize(s->train, mom, mom + s->train->d);
        if (!rc)
            rc = mlb_data_standardize(s->test, mom, mom + s->train->d);
        free(mom);
        if (rc < 0)
            return mlb_error(ctx, "dataset=%s: standardisation failed (%s)", name,
                             strerror(-rc));
    }
    return 0;
}

/* Runs the configured fit once on a small made-up problem, so that one-off
 * costs of the first library calls (lazy symbol binding, OpenBLAS's buffer
 * pool, LAPACK's first queries) are paid here rather than in the timed
 * train; on diabetes-sized data they would otherwise dominate. */
static void warm_up(const reg_kernels *k, const reg_config *cfg)
{
    enum { N = 32, D = 4 };
    double X[N * D], y[N];
    for (int i = 0; i < N; i++) {
        y[i] = 0;
        for (int j = 0; j < D; j++) {
            X[i * D + j] = (double)((i * 7 + j * 13) % 17) - 8.0 + (i == j);
            y[i] += (j + 1) * X[i * D + j];
        }
        y[i] += (double)(i % 3);
    }
    reg_work w;
    reg_model m;
    char err[256];
    if (reg_work_alloc(&w, k, cfg, N, D) < 0)
        return;
    if (reg_model_alloc(&m, D) == 0) {
        (void)reg_fit(k, cfg, X, y, &w, &m, err, sizeof err);
        reg_predict(k, &m, X, N, D, y);
        reg_model_free(&m);
    }
    reg_work_free(k, &w);
}

int regression_setup(mlb_ctx *ctx, void **state, const reg_kernels *k)
{
    *state = NULL;
    reg_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->k = k;
    int rc = read_config(ctx, s);
    if (!rc && !(k->algorithms & REG_ALGO_BIT(s->cfg.algo)))
        rc = mlb_error(ctx, "the %s variant cannot run algorithm=%s: %s", k->name,
                       reg_algorithm_name(s->cfg.algo), k->why_not);
    if (!rc)
        rc = load_data(ctx, s);
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    size_t n = s->train->n, d = s->train->d;
    const char *pre = mlb_param_str(ctx, "precompute"); /* auto, true or false */
    s->cfg.gram = !strcmp(pre, "auto") ? n > d : !strcmp(pre, "true");
    if (reg_work_alloc(&s->w, k, &s->cfg, n, d) < 0 || reg_model_alloc(&s->m, d) < 0 ||
        !(s->pred = calloc(s->test->n, sizeof(double)))) {
        state_free(s);
        return mlb_error(ctx, "cannot allocate the workspace for %zu x %zu", n, d);
    }
    warm_up(k, &s->cfg);
    mlb_log(ctx, MLB_LOG_DEBUG, "%s on %zu x %zu (test %zu rows)%s",
            reg_algorithm_name(s->cfg.algo), n, d, s->test->n,
            s->cfg.gram && (s->cfg.algo == REG_LASSO || s->cfg.algo == REG_ENET)
                ? ", Gram coordinate descent"
                : "");
    *state = s;
    return 0;
}

/* Train times the fits only. Scoring the held-out predictions and
 * evaluating the objective (a plain-loop pass over the training set) are
 * checks, not the workload: they run in teardown, which the engine times
 * apart, so that train compares the variants' fits and nothing else (and the
 * scikit-learn peer, which scores in teardown too, times the same work). */
int regression_train(mlb_ctx *ctx, void *state)
{
    reg_state *s = state;
    char err[512] = "";
    double t0 = now_s();
    for (int r = 0; r < s->fit_repeats; r++) {
        int rc = reg_fit(s->k, &s->cfg, s->train->X, s->train->y, &s->w, &s->m, err, sizeof err);
        if (rc < 0)
            return mlb_error(ctx, "%s", err);
    }
    double fit_s = (now_s() - t0) / s->fit_repeats;
    s->fitted = 1;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)s->train->n * s->fit_repeats);
    /* The fit alone, for a reader; the train comparison already judges it. */
    mlb_report_metric_ex(ctx, "fit_s", fit_s, MLB_LOWER_IS_BETTER, 0, 0,
                         MLB_METRIC_RESTATES_TIME);
    mlb_report_metric(ctx, "iterations", s->m.n_iter, MLB_LOWER_IS_BETTER);
    if (!s->m.converged)
        mlb_log(ctx, MLB_LOG_WARN,
                "no convergence in max_iter=%d epochs: duality gap %.3g, tolerance %.3g "
                "(raise max_iter or tol)",
                s->cfg.max_iter, s->m.gap, s->m.gap_tol);
    return 0;
}

/* The fitted model's scores on the whole test set and its objective on the
 * training set (teardown: see regression_train). */
static int report_quality(mlb_ctx *ctx, reg_state *s)
{
    reg_predict(s->k, &s->m, s->test->X, s->test->n, s->test->d, s->pred);
    reg_scores sc;
    reg_score(s->test->y, s->pred, s->test->n, &sc);
    if (!isfinite(sc.rmse))
        return mlb_error(ctx, "the fitted model predicts non-finite values");
    mlb_report_metric(ctx, "r2", sc.r2, MLB_HIGHER_IS_BETTER);
    mlb_report_metric(ctx, "rmse", sc.rmse, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "mae", sc.mae, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "objective",
                      reg_objective(&s->cfg, s->train->X, s->train->y, s->train->n, s->train->d,
                                    &s->m),
                      MLB_LOWER_IS_BETTER);
    return 0;
}

int regression_infer(mlb_ctx *ctx, void *state)
{
    reg_state *s = state;
    size_t n = s->test->n, d = s->test->d;
    size_t rows = s->batch < n ? s->batch : n;
    /* Contiguous rows from the cursor, wrapping to the start. */
    size_t first = s->cursor + rows <= n ? s->cursor : 0;
    reg_predict(s->k, &s->m, s->test->X + first * d, rows, d, s->pred + first);
    s->cursor = first + rows;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)rows);
    return 0;
}

int regression_teardown(mlb_ctx *ctx, void *state)
{
    reg_state *s = state;
    /* Only a completed train has a model to score (not after a failed
     * train, nor after setup alone, as for --export-data). */
    int rc = s && s->fitted ? report_quality(ctx, s) : 0;
    state_free(s);
    return rc;
}

int regression_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    reg_state *s = state;
    const struct {
        const char *name;
        const mlb_dataset *ds;
        int is_x;
    } arrays[] = {
        {"X_train", s->train, 1},
        {"y_train", s->train, 0},
        {"X_test", s->test, 1},
        {"y_test", s->test, 0},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s.npy", dir, arrays[i].name) >= (int)sizeof path)
            return mlb_error(ctx, "export directory name too long: %s", dir);
        size_t shape[2] = {arrays[i].ds->n, arrays[i].ds->d};
        int rc = arrays[i].is_x
                     ? mlb_npy_write(ctx, path, MLB_NPY_F64, arrays[i].ds->X, 2, shape)
                     : mlb_npy_write(ctx, path, MLB_NPY_F64, arrays[i].ds->y, 1, shape);
        if (rc < 0)
            return rc;
    }
    return 0;
}
