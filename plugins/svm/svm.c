/*
 * The svm task's plugin glue, shared by every variant: parameters
 * (declared in svm.h), data (a registered dataset or the seeded generator,
 * split, scaled, the training rows grouped by class), the timed fit
 * (train), predictions (infer), the scores and checks (teardown), export
 * for peers.
 */
#include "dataset_params.h"
#include "svm.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "metrics.h"

typedef struct {
    const svm_kernels *k;
    svm_config cfg;
    const char *dataset;
    mlb_dataset *test;
    size_t n, d, n_test;
    int n_classes;
    double *X;          /* n x d: the training rows, grouped by class */
    double *y_f;        /* n: their labels as doubles (export) */
    int *y;             /* n */
    int *y_test;        /* n_test */
    size_t *start, *count; /* n_classes */
    svm_data data;
    svm_smo *smo;       /* svc, nusvc (native) */
    double *pair_alpha; /* (n_classes - 1) x n (native svc, nusvc) */
    svm_dcd *dcd;       /* linearsvc (native) */
    void *ext;          /* the library's workspace (libsvm, liblinear) */
    svm_fitted m;
    svm_scratch sc;
    int *pred;          /* n_test */
    size_t batch, cursor;
    int fit_repeats;
    int fitted; /* train completed: teardown scores the model */
} svm_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void state_free(svm_state *s)
{
    if (!s)
        return;
    if (s->ext)
        s->k->ext->close(s->ext);
    svm_smo_free(s->smo);
    svm_dcd_free(s->dcd);
    free(s->pair_alpha);
    svm_fitted_free(&s->m);
    svm_scratch_free(&s->sc);
    mlb_dataset_free(s->test);
    free(s->X);
    free(s->y_f);
    free(s->y);
    free(s->y_test);
    free(s->start);
    free(s->count);
    free(s->pred);
    free(s);
}

int svm_gamma_parse(const char *text, const double *X, size_t n, size_t d, double *gamma,
                    char *err, size_t err_len)
{
    if (!strcmp(text, "auto")) {
        *gamma = 1.0 / (double)d;
        return 0;
    }
    if (!strcmp(text, "scale")) {
        /* 1 / (d Var(X)) over every entry, as scikit-learn's X.var(); two
         * passes in long double so the value does not hang on the order. */
        size_t cells = n * d;
        long double mean = 0, var = 0;
        for (size_t i = 0; i < cells; i++)
            mean += X[i];
        mean /= (long double)cells;
        for (size_t i = 0; i < cells; i++) {
            long double t = X[i] - mean;
            var += t * t;
        }
        var /= (long double)cells;
        *gamma = var != 0 ? 1.0 / ((double)d * (double)var) : 1.0;
        return 0;
    }
    char *end;
    errno = 0;
    double g = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(g) || !(g > 0)) {
        snprintf(err, err_len, "parameter gamma: '%s' is not scale, auto or a number > 0", text);
        return -EINVAL;
    }
    *gamma = g;
    return 0;
}

static int parse_choice(const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v, names[i]))
            return i;
    return 0; /* the rule admitted only these */
}

/* The engine has checked every value against svm_rules. */
static void read_config(mlb_ctx *ctx, svm_state *s)
{
    static const char *const models[] = {"svc", "nusvc", "linearsvc"};
    static const char *const kernels[] = {"linear", "poly", "rbf", "sigmoid"};
    svm_config *c = &s->cfg;
    c->model = (svm_model_kind)parse_choice(mlb_param_str(ctx, "model"), models, 3);
    c->kp.kind = (svm_kernel_kind)parse_choice(mlb_param_str(ctx, "kernel"), kernels, 4);
    c->kp.degree = (int)mlb_param_int(ctx, "degree");
    c->kp.coef0 = mlb_param_float(ctx, "coef0");
    c->C = mlb_param_float(ctx, "C");
    c->nu = mlb_param_float(ctx, "nu");
    c->tol = mlb_param_float(ctx, "tol");
    if (c->tol == 0)
        c->tol = c->model == SVM_LINEARSVC ? 1e-4 : 1e-3;
    c->shrinking = mlb_param_bool(ctx, "shrinking");
    c->cache_mb = mlb_param_float(ctx, "cache_mb");
    c->max_iter = (long)mlb_param_int(ctx, "max_iter");
    c->bias = mlb_param_bool(ctx, "fit_intercept") ? mlb_param_float(ctx, "intercept_scaling")
                                                    : -1.0;
    c->seed = mlb_seed(ctx);
    s->batch = (size_t)mlb_param_int(ctx, "batch_size");
    s->fit_repeats = (int)mlb_param_int(ctx, "fit_repeats");
}

/* Standardises train and test with the training split's moments. */
static int standardise(mlb_dataset *train, mlb_dataset *test)
{
    double *mom = malloc(2 * train->d * sizeof *mom);
    if (!mom)
        return -ENOMEM;
    int rc = mlb_data_moments(train, mom, mom + train->d);
    if (!rc)
        rc = mlb_data_standardize(train, mom, mom + train->d);
    if (!rc)
        rc = mlb_data_standardize(test, mom, mom + train->d);
    free(mom);
    return rc;
}

static void scale_all(mlb_dataset *ds, double f)
{
    for (size_t i = 0; i < ds->n * ds->d; i++)
        ds->X[i] *= f;
}

/* The training split, grouped by class (a stable counting sort), into s. */
static int group_train(mlb_ctx *ctx, svm_state *s, const mlb_dataset *tr)
{
    size_t n = tr->n, d = tr->d;
    int nc = s->n_classes;
    s->n = n;
    s->d = d;
    s->X = malloc(n * d * sizeof *s->X);
    s->y_f = malloc(n * sizeof *s->y_f);
    s->y = malloc(n * sizeof *s->y);
    s->start = calloc((size_t)nc, sizeof *s->start);
    s->count = calloc((size_t)nc, sizeof *s->count);
    if (!s->X || !s->y_f || !s->y || !s->start || !s->count)
        return mlb_error(ctx, "out of memory for %zu x %zu training rows", n, d);
    for (size_t i = 0; i < n; i++)
        s->count[(int)tr->y[i]]++;
    for (int c = 0; c < nc; c++) {
        if (s->count[c] == 0)
            return mlb_error(ctx,
                             "dataset=%s: class %d has no training rows (raise n_samples or "
                             "lower test_fraction)",
                             s->dataset, c);
        if (c > 0)
            s->start[c] = s->start[c - 1] + s->count[c - 1];
    }
    size_t *next = calloc((size_t)nc, sizeof *next);
    if (!next)
        return mlb_error(ctx, "out of memory");
    memcpy(next, s->start, (size_t)nc * sizeof *next);
    for (size_t i = 0; i < n; i++) {
        int c = (int)tr->y[i];
        size_t r = next[c]++;
        memcpy(s->X + r * d, tr->X + i * d, d * sizeof(double));
        s->y[r] = c;
        s->y_f[r] = (double)c;
    }
    free(next);
    s->data = (svm_data){.n = n, .d = d, .n_classes = nc, .X = s->X, .y = s->y,
                         .start = s->start, .count = s->count};
    return 0;
}

static int load_data(mlb_ctx *ctx, svm_state *s)
{
    const char *name = s->dataset = mlb_param_str(ctx, "dataset");
    char err[768];
    mlb_dataset *all = NULL, *train = NULL;
    int rc;
    int synthetic = !strcmp(name, "synthetic");
    if (synthetic) {
        mlb_synth_opts o = {.kind = MLB_SYNTH_CLASSIFICATION,
                            .n_samples = (size_t)mlb_param_int(ctx, "n_samples"),
                            .n_features = (size_t)mlb_param_int(ctx, "n_features"),
                            .seed = mlb_seed(ctx),
                            .noise = mlb_param_float(ctx, "cluster_std"),
                            .n_classes = (int)mlb_param_int(ctx, "n_classes")};
        if ((rc = mlb_data_synth(&o, &all, err, sizeof err)) < 0)
            return mlb_error(ctx, "dataset=%s: %s", name, err);
    } else {
        /* A registered name, or the user's own file: the file options say
         * how to read it (a registered name knows its layout), and its
         * labels, whatever they are, become classes 0..k-1. */
        mlb_data_opts o = {.classify = 1};
        if ((rc = common_dataset_load(ctx, name, &o, "synthetic", &all)) < 0)
            return rc;
    }
    if (all->n_classes < 2 || all->n_classes > SVM_MAX_CLASSES) {
        int k = all->n_classes;
        mlb_dataset_free(all);
        return mlb_error(ctx, "parameter dataset: %s has %d classes: the svm task classifies 2 to %d",
                         name, k, SVM_MAX_CLASSES);
    }
    s->n_classes = all->n_classes;
    rc = mlb_data_split(all, mlb_param_float(ctx, "test_fraction"), mlb_seed(ctx), &train,
                        &s->test, err, sizeof err);
    mlb_dataset_free(all);
    if (rc < 0)
        return mlb_error(ctx, "dataset=%s: %s", name, err);
    /* auto: what each dataset is usually given to an SVM as. */
    const char *scaling = mlb_param_str(ctx, "scaling");
    if (!strcmp(scaling, "auto"))
        scaling = !strcmp(name, "digits")                                    ? "pixels"
                  : !strcmp(name, "iris") || !strcmp(name, "heart_scale") ? "none"
                                                                          : "standard";
    if (!strcmp(scaling, "pixels")) {
        scale_all(train, 1.0 / 16); /* exact: a power of two */
        scale_all(s->test, 1.0 / 16);
    } else if (!strcmp(scaling, "standard")) {
        rc = standardise(train, s->test);
        if (rc < 0) {
            mlb_dataset_free(train);
            return mlb_error(ctx, "dataset=%s: standardisation failed (%s)", name, strerror(-rc));
        }
    }
    s->n_test = s->test->n;
    s->y_test = malloc(s->n_test * sizeof *s->y_test);
    if (!s->y_test) {
        mlb_dataset_free(train);
        return mlb_error(ctx, "out of memory");
    }
    for (size_t i = 0; i < s->n_test; i++)
        s->y_test[i] = (int)s->test->y[i];
    rc = group_train(ctx, s, train);
    mlb_dataset_free(train);
    return rc;
}

/* One call of each dense kernel on a tiny block, so that one-off costs of
 * a library's first calls (OpenBLAS's buffers, lazy binding) fall in setup
 * rather than in the timed fit. */
static void warm_up(const svm_kernels *k)
{
    double A[4 * 3] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, x[3] = {1, 0, -1}, out[16];
    (void)k->dot(3, A, x);
    k->gemv(4, 3, A, x, out);
    k->gemm_nt(4, 4, 3, A, A, out);
    k->axpy(3, 0.5, A, x);
}

static int alloc_solver(mlb_ctx *ctx, svm_state *s)
{
    const svm_kernels *k = s->k;
    size_t n = s->n, d = s->d;
    int nc = s->n_classes;
    char err[512] = "";
    if (k->ext) {
        int rc = k->ext->open(ctx, &s->ext, &s->cfg, &s->data, s->test->X, s->n_test, err,
                              sizeof err);
        if (rc < 0)
            return mlb_error(ctx, "%s: %s", k->name, err);
        return 0;
    }
    if (s->cfg.model == SVM_LINEARSVC) {
        if (!(s->dcd = svm_dcd_alloc(n)))
            return mlb_error(ctx, "out of memory for the solver (%zu rows)", n);
    } else {
        size_t cap = 0;
        for (int a = 0; a < nc; a++)
            for (int b = a + 1; b < nc; b++)
                if (s->count[a] + s->count[b] > cap)
                    cap = s->count[a] + s->count[b];
        /* Every pair's alphas are kept until the support vectors are known:
         * (n_classes - 1) x n doubles. */
        if ((size_t)(nc - 1) * n > ((size_t)1 << 28) || cap > (size_t)INT32_MAX)
            return mlb_error(ctx, "%d classes x %zu training rows is too many alphas to keep", nc,
                             n);
        s->smo = svm_smo_alloc((int)cap, n, d, s->cfg.cache_mb);
        s->pair_alpha = malloc((size_t)(nc - 1) * n * sizeof *s->pair_alpha);
        if (!s->smo || !s->pair_alpha)
            return mlb_error(ctx, "out of memory for the solver (pairs of up to %zu rows)", cap);
        memset(s->pair_alpha, 0, (size_t)(nc - 1) * n * sizeof *s->pair_alpha);
    }
    warm_up(k);
    return 0;
}

int svm_setup(mlb_ctx *ctx, void **state, const svm_kernels *k)
{
    *state = NULL;
    svm_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->k = k;
    read_config(ctx, s);
    int rc = 0;
    if (!(k->models & SVM_MODEL_BIT(s->cfg.model)))
        rc = mlb_error(ctx, "parameter model: the %s variant cannot fit model=%s: %s", k->name,
                       svm_model_name(s->cfg.model), k->why_not);
    if (!rc)
        rc = load_data(ctx, s);
    char err[512];
    if (!rc && s->cfg.model != SVM_LINEARSVC &&
        svm_gamma_parse(mlb_param_str(ctx, "gamma"), s->X, s->n, s->d, &s->cfg.kp.gamma, err,
                        sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (!rc && s->cfg.model == SVM_NUSVC && svm_nu_feasible(&s->data, s->cfg.nu, err,
                                                            sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (!rc && (svm_fitted_alloc(&s->m, s->cfg.model, s->n_classes, s->n, s->d) < 0 ||
                svm_scratch_alloc(&s->sc, s->batch < s->n_test ? s->batch : s->n_test, s->n,
                                  s->n_classes) < 0 ||
                !(s->pred = calloc(s->n_test, sizeof *s->pred))))
        rc = mlb_error(ctx, "out of memory for the model (%zu x %zu)", s->n, s->d);
    if (!rc)
        rc = alloc_solver(ctx, s);
    if (!rc && k->prepare)
        rc = k->prepare(ctx, (int)mlb_param_int(ctx, "threads"));
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    if (s->cfg.model == SVM_LINEARSVC)
        mlb_log(ctx, MLB_LOG_DEBUG, "linearsvc on %s: %zu x %zu, %d classes (test %zu rows)",
                s->dataset, s->n, s->d, s->n_classes, s->n_test);
    else
        mlb_log(ctx, MLB_LOG_DEBUG, "%s %s on %s: %zu x %zu, %d classes, gamma %.17g (test %zu)",
                svm_model_name(s->cfg.model), svm_kernel_name(s->cfg.kp.kind), s->dataset, s->n,
                s->d, s->n_classes, s->cfg.kp.gamma, s->n_test);
    *state = s;
    return 0;
}

static int fit_once(svm_state *s, char *err, size_t err_len)
{
    if (s->k->ext)
        return s->k->ext->fit(s->ext, err, err_len);
    if (s->cfg.model == SVM_LINEARSVC) {
        svm_fit_linear(s->k, &s->cfg, &s->data, s->dcd, &s->m);
        return 0;
    }
    return svm_fit_ovo(s->k, &s->cfg, &s->data, s->smo, s->pair_alpha, &s->m, err, err_len);
}

/* Train times the fits only; scoring and the checks run in teardown,
 * which the engine times apart (the scikit-learn peer does the same). */
int svm_train(mlb_ctx *ctx, void *state)
{
    svm_state *s = state;
    char err[512] = "";
    double t0 = now_s();
    for (int r = 0; r < s->fit_repeats; r++) {
        int rc = fit_once(s, err, sizeof err);
        if (rc < 0)
            return mlb_error(ctx, "%s", err);
    }
    double fit_s = (now_s() - t0) / s->fit_repeats;
    s->fitted = 1;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)s->n * s->fit_repeats);
    /* The fit alone, for a reader; the train comparison already judges it. */
    mlb_report_metric_ex(ctx, "fit_s", fit_s, MLB_LOWER_IS_BETTER, 0, 0,
                         MLB_METRIC_RESTATES_TIME);
    if (s->k->ext)
        return 0; /* the libraries do not say how many iterations they ran */
    long iter = 0;
    if (s->cfg.model == SVM_LINEARSVC) {
        for (size_t c = 0; c < s->m.n_w; c++)
            if (s->m.w_iter[c] > iter)
                iter = s->m.w_iter[c]; /* epochs of the slowest model, as n_iter_ */
    } else {
        for (size_t p = 0; p < svm_n_pairs(s->n_classes); p++)
            iter += s->m.pair_iter[p]; /* SMO steps of all pairs, as sum(n_iter_) */
    }
    mlb_report_metric(ctx, "iterations", (double)iter, MLB_LOWER_IS_BETTER);
    if (!s->m.converged)
        mlb_log(ctx, MLB_LOG_WARN,
                "%s stopped at max_iter before reaching tol=%g (raise max_iter or tol)",
                svm_model_name(s->cfg.model), s->cfg.tol);
    return 0;
}

/* Labels of test rows [first, first + count), count <= s->sc.batch. */
static void predict_rows(svm_state *s, size_t first, size_t count)
{
    if (s->k->ext)
        s->k->ext->predict(s->ext, first, count, s->pred + first);
    else
        svm_fitted_predict(s->k, &s->cfg.kp, &s->m, s->test->X + first * s->d, count, &s->sc,
                           s->pred + first, NULL);
}

int svm_infer(mlb_ctx *ctx, void *state)
{
    svm_state *s = state;
    size_t rows = s->sc.batch;
    /* Contiguous rows from the cursor, wrapping to the start. */
    size_t first = s->cursor + rows <= s->n_test ? s->cursor : 0;
    predict_rows(s, first, rows);
    s->cursor = first + rows;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)rows);
    return 0;
}

/* The fitted model's scores on the whole test set, its size, its
 * objective recomputed from its coefficients, and the feasibility check
 * that fails a wrong model. */
static int report_quality(mlb_ctx *ctx, svm_state *s)
{
    char err[512] = "";
    if (s->k->ext) {
        int rc = s->k->ext->export_model(s->ext, &s->m, err, sizeof err);
        if (rc < 0)
            return mlb_error(ctx, "%s: %s", s->k->name, err);
    }
    for (size_t first = 0; first < s->n_test; first += s->sc.batch) {
        size_t rows = s->n_test - first < s->sc.batch ? s->n_test - first : s->sc.batch;
        predict_rows(s, first, rows);
    }
    int rc = metrics_report_classification(ctx, s->y_test, s->pred, s->n_test, s->n_classes);
    if (rc < 0)
        return mlb_error(ctx, "predicted labels out of range (%s)", strerror(-rc));
    if (svm_check_feasible(&s->cfg, &s->m, &s->data, err, sizeof err) < 0)
        return mlb_error(ctx, "wrong model: %s", err);
    if (s->cfg.model == SVM_LINEARSVC) {
        mlb_report_metric(ctx, "primal_objective", svm_linear_primal(&s->cfg, &s->m, &s->data),
                          MLB_LOWER_IS_BETTER);
        if (!s->k->ext) {
            double dual = 0;
            for (size_t c = 0; c < s->m.n_w; c++)
                dual += s->m.w_obj[c];
            mlb_report_metric(ctx, "dual_objective", dual, MLB_LOWER_IS_BETTER);
        }
        return 0;
    }
    size_t np = svm_n_pairs(s->n_classes);
    double *obj = malloc(np * sizeof *obj);
    if (!obj)
        return mlb_error(ctx, "out of memory");
    svm_pair_objectives(&s->cfg.kp, &s->m, &s->data, obj);
    double total = 0;
    for (size_t p = 0; p < np; p++)
        total += obj[p];
    free(obj);
    mlb_report_metric(ctx, "dual_objective", total, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "n_support", (double)s->m.n_sv, MLB_LOWER_IS_BETTER);
    return 0;
}

int svm_teardown(mlb_ctx *ctx, void *state)
{
    svm_state *s = state;
    /* Only a completed train has a model to score (not after a failed
     * train, nor after setup alone, as for --export-data). */
    int rc = s && s->fitted ? report_quality(ctx, s) : 0;
    state_free(s);
    return rc;
}

int svm_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    svm_state *s = state;
    const struct {
        const char *name;
        const void *data;
        size_t rows, cols;
    } arrays[] = {
        {"X_train", s->X, s->n, s->d},
        {"y_train", s->y_f, s->n, 0},
        {"X_test", s->test->X, s->n_test, s->d},
        {"y_test", s->test->y, s->n_test, 0},
    };
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        char path[4096];
        if (snprintf(path, sizeof path, "%s/%s.npy", dir, arrays[i].name) >= (int)sizeof path)
            return mlb_error(ctx, "export directory name too long: %s", dir);
        size_t shape[2] = {arrays[i].rows, arrays[i].cols};
        int rc = mlb_npy_write(ctx, path, MLB_NPY_F64, arrays[i].data, arrays[i].cols ? 2 : 1,
                               shape);
        if (rc < 0)
            return rc;
    }
    return 0;
}
