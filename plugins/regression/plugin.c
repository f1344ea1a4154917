/*
 * The regression task's plugin glue, shared by every variant: parameters,
 * data (a registered dataset or the seeded generator, split and optionally
 * standardised), the timed fit (train), predictions (infer), the scores and
 * objective (teardown), export for peers.
 */
#include "regression.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mlbench/data.h"

/* Sanity limits (a typo, not a memory check). */
#define REG_MAX_SAMPLES (INT64_C(1) << 26)
#define REG_MAX_FEATURES (INT64_C(1) << 14)
#define REG_MAX_THREADS 1024

const mlb_param_def reg_params[REG_N_PARAMS] = {
    {"algorithm", MLB_PARAM_STRING, "linear", "linear | ridge | lasso | elasticnet"},
    {"dataset", MLB_PARAM_STRING, "diabetes",
     "a registered dataset (diabetes, ...; its target is regressed) or synthetic"},
    {"n_samples", MLB_PARAM_INT, "10000", "synthetic: rows, before the train/test split"},
    {"n_features", MLB_PARAM_INT, "20", "synthetic: features"},
    {"noise", MLB_PARAM_FLOAT, "10", "synthetic: standard deviation of the noise in y"},
    {"test_fraction", MLB_PARAM_FLOAT, "0.25", "share of the rows held out for the scores"},
    {"standardize", MLB_PARAM_BOOL, "false",
     "standardise features with the training split's mean and std"},
    {"alpha", MLB_PARAM_FLOAT, "1.0", "regularisation strength (ridge, lasso, elasticnet)"},
    {"l1_ratio", MLB_PARAM_FLOAT, "0.5", "elasticnet: share of the L1 penalty (0..1)"},
    {"tol", MLB_PARAM_FLOAT, "0.0001", "coordinate descent: scikit-learn's duality-gap tol"},
    {"max_iter", MLB_PARAM_INT, "1000", "coordinate descent: maximum epochs"},
    {"precompute", MLB_PARAM_STRING, "auto",
     "coordinate descent on the Gram matrix: auto (when rows > features), true, false"},
    {"batch_size", MLB_PARAM_INT, "64", "test rows predicted per infer query"},
    {"threads", MLB_PARAM_INT, "1", "BLAS threads (openblas and gsl variants; naive is serial)"},
    {"fit_repeats", MLB_PARAM_INT, "1", "fits per train call (short fits on small data)"},
};

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

static int read_config(mlb_ctx *ctx, reg_state *s)
{
    reg_config *c = &s->cfg;
    const char *algo = mlb_param_str(ctx, "algorithm");
    if (reg_algorithm_parse(algo, &c->algo) < 0)
        return mlb_error(ctx, "parameter algorithm='%s': must be linear, ridge, lasso or "
                              "elasticnet",
                         algo);
    c->alpha = mlb_param_float(ctx, "alpha");
    c->l1_ratio = mlb_param_float(ctx, "l1_ratio");
    c->tol = mlb_param_float(ctx, "tol");
    int64_t max_iter = mlb_param_int(ctx, "max_iter");
    if (!(c->alpha >= 0))
        return mlb_error(ctx, "parameter alpha=%g: must be >= 0", c->alpha);
    if (!(c->l1_ratio >= 0 && c->l1_ratio <= 1))
        return mlb_error(ctx, "parameter l1_ratio=%g: must be between 0 and 1", c->l1_ratio);
    if (!(c->tol >= 0))
        return mlb_error(ctx, "parameter tol=%g: must be >= 0", c->tol);
    if (max_iter < 1 || max_iter > 100000000)
        return mlb_error(ctx, "parameter max_iter=%" PRId64 ": must be between 1 and 10^8",
                         max_iter);
    c->max_iter = (int)max_iter;
    if ((c->algo == REG_LASSO || c->algo == REG_ENET) && c->alpha == 0)
        return mlb_error(ctx, "algorithm=%s with alpha=0 is OLS by coordinate descent, which "
                              "scikit-learn advises against; use algorithm=linear",
                         algo);
    if (c->algo == REG_LASSO)
        c->l1_ratio = 1.0;

    int64_t batch = mlb_param_int(ctx, "batch_size");
    if (batch < 1 || batch > REG_MAX_SAMPLES)
        return mlb_error(ctx, "parameter batch_size=%" PRId64 ": must be between 1 and %" PRId64,
                         batch, REG_MAX_SAMPLES);
    s->batch = (size_t)batch;
    int64_t reps = mlb_param_int(ctx, "fit_repeats");
    if (reps < 1 || reps > 1000000)
        return mlb_error(ctx, "parameter fit_repeats=%" PRId64 ": must be between 1 and 10^6",
                         reps);
    s->fit_repeats = (int)reps;
    int64_t threads = mlb_param_int(ctx, "threads");
    if (threads < 1 || threads > REG_MAX_THREADS)
        return mlb_error(ctx, "parameter threads=%" PRId64 ": must be between 1 and %d", threads,
                         REG_MAX_THREADS);
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
        if (n < 2 || n > REG_MAX_SAMPLES)
            return mlb_error(ctx, "parameter n_samples=%" PRId64 ": must be between 2 and %" PRId64,
                             n, REG_MAX_SAMPLES);
        if (d < 1 || d > REG_MAX_FEATURES)
            return mlb_error(ctx,
                             "parameter n_features=%" PRId64 ": must be between 1 and %" PRId64, d,
                             REG_MAX_FEATURES);
        mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION,
                            .n_samples = (size_t)n,
                            .n_features = (size_t)d,
                            .seed = mlb_seed(ctx),
                            .noise = mlb_param_float(ctx, "noise")};
        rc = mlb_data_synth(&o, &all, err, sizeof err);
    } else {
        rc = mlb_dataset_load(name, NULL, &all, err, sizeof err);
        if (rc == -ENOENT && !strncmp(err, "unknown dataset", 15))
            return mlb_error(ctx, "parameter dataset: %s, synthetic", err);
    }
    if (rc < 0)
        return mlb_error(ctx, "dataset=%s: %s", name, err);
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

int reg_setup(mlb_ctx *ctx, void **state, const reg_kernels *k)
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
    const char *pre = mlb_param_str(ctx, "precompute");
    if (!strcmp(pre, "auto"))
        s->cfg.gram = n > d;
    else if (!strcmp(pre, "true"))
        s->cfg.gram = 1;
    else if (!strcmp(pre, "false"))
        s->cfg.gram = 0;
    else {
        state_free(s);
        return mlb_error(ctx, "parameter precompute='%s': must be auto, true or false", pre);
    }
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
int reg_train(mlb_ctx *ctx, void *state)
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
    mlb_report_metric(ctx, "fit_s", fit_s, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "iterations", s->m.n_iter, MLB_LOWER_IS_BETTER);
    if (!s->m.converged)
        mlb_log(ctx, MLB_LOG_WARN,
                "no convergence in max_iter=%d epochs: duality gap %.3g, tolerance %.3g "
                "(raise max_iter or tol)",
                s->cfg.max_iter, s->m.gap, s->m.gap_tol);
    return 0;
}

/* The fitted model's scores on the whole test set and its objective on the
 * training set (teardown: see reg_train). */
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

int reg_infer(mlb_ctx *ctx, void *state)
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

int reg_teardown(mlb_ctx *ctx, void *state)
{
    reg_state *s = state;
    /* Only a completed train has a model to score (not after a failed
     * train, nor after setup alone, as for --export-data). */
    int rc = s && s->fitted ? report_quality(ctx, s) : 0;
    state_free(s);
    return rc;
}

int reg_export_data(mlb_ctx *ctx, void *state, const char *dir)
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
