/*
 * svm:libsvm: LIBSVM itself (Debian's libsvm-dev, <libsvm/svm.h>):
 * svm_train and svm_predict on the same rows, for SVC and NuSVC. LIBSVM has
 * no LinearSVC (that is LIBLINEAR), so model=linearsvc fails setup.
 *
 * The rows are handed over as svm_node lists holding every feature, zeros
 * included: LIBSVM's sparse dot product compares indices at every step,
 * and with the zeros left out (as a LIBSVM data file has them) the
 * comparisons go unpredictable; on digits, half zeros, svm_train then takes
 * 1.5 times as long (0.167 s against 0.108 s, measured on the 1347 training
 * rows). They go in the grouped order the native solvers use, so that
 * LIBSVM's classes in order of first appearance are the sorted classes and
 * each pair's sub-problem holds the same rows in the same order. Its model
 * is converted to the task's for the checks, after the timed fit.
 */
#include "svm.h"

#ifdef SVM_HAVE_LIBSVM
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* svm.h renamed the task's svm_train (see there): from here on svm_train is
 * LIBSVM's, until the variant's definition at the end. */
#undef svm_train
#include <libsvm/svm.h>

typedef struct {
    const svm_data *train;
    struct svm_problem prob;
    struct svm_parameter param;
    struct svm_node *nodes;   /* every row's nodes, training then test */
    struct svm_node **test_x; /* n_test */
    struct svm_model *model;
} libsvm_ws;

/* LIBSVM prints its progress to stdout; the engine's child has no use for
 * it (and a peer's stdout is its protocol). */
static void quiet(const char *s)
{
    (void)s;
}

static void libsvm_close(void *p)
{
    libsvm_ws *w = p;
    if (!w)
        return;
    if (w->model)
        svm_free_and_destroy_model(&w->model);
    free(w->nodes);
    free(w->prob.x);
    free(w->prob.y);
    free(w->test_x);
    free(w);
}

/* Row x (d entries) as nodes at *next, with the -1 terminator; returns
 * where the row starts. */
static struct svm_node *put_row(const double *x, size_t d, struct svm_node **next)
{
    struct svm_node *row = *next, *p = row;
    for (size_t j = 0; j < d; j++, p++) {
        p->index = (int)j + 1;
        p->value = x[j];
    }
    p->index = -1;
    p->value = 0;
    *next = p + 1;
    return row;
}

static int libsvm_open(mlb_ctx *ctx, void **ws, const svm_config *cfg, const svm_data *train,
                       const double *X_test, size_t n_test, char *err, size_t err_len)
{
    size_t n = train->n, d = train->d;
    libsvm_ws *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    w->train = train;
    size_t count = (n + n_test) * (d + 1);
    w->nodes = malloc(count * sizeof *w->nodes);
    w->prob.x = malloc(n * sizeof *w->prob.x);
    w->prob.y = malloc(n * sizeof *w->prob.y);
    w->test_x = malloc((n_test ? n_test : 1) * sizeof *w->test_x);
    if (!w->nodes || !w->prob.x || !w->prob.y || !w->test_x) {
        libsvm_close(w);
        snprintf(err, err_len, "out of memory for %zu LIBSVM nodes", count);
        return -ENOMEM;
    }
    struct svm_node *next = w->nodes;
    for (size_t i = 0; i < n; i++) {
        w->prob.x[i] = put_row(train->X + i * d, d, &next);
        w->prob.y[i] = train->y[i];
    }
    for (size_t i = 0; i < n_test; i++)
        w->test_x[i] = put_row(X_test + i * d, d, &next);
    w->prob.l = (int)n;

    static const int kinds[] = {LINEAR, POLY, RBF, SIGMOID};
    w->param = (struct svm_parameter){
        .svm_type = cfg->model == SVM_NUSVC ? NU_SVC : C_SVC,
        .kernel_type = kinds[cfg->kp.kind],
        .degree = cfg->kp.degree,
        .gamma = cfg->kp.gamma,
        .coef0 = cfg->kp.coef0,
        .cache_size = cfg->cache_mb,
        .eps = cfg->tol,
        .C = cfg->C,
        .nu = cfg->nu,
        .p = 0.1,
        .shrinking = cfg->shrinking,
        .probability = 0,
    };
    svm_set_print_string_function(quiet);
    const char *why = svm_check_parameter(&w->prob, &w->param);
    if (why) {
        libsvm_close(w);
        snprintf(err, err_len, "svm_check_parameter: %s", why);
        return -EINVAL;
    }
    if (cfg->max_iter > 0 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN,
                "max_iter=%ld ignored: LIBSVM %d has no iteration bound but its own "
                "max(10^7, 100 l)",
                cfg->max_iter, libsvm_version);
    *ws = w;
    return 0;
}

static int libsvm_fit(void *p, char *err, size_t err_len)
{
    libsvm_ws *w = p;
    if (w->model)
        svm_free_and_destroy_model(&w->model); /* the last repeat's */
    w->model = svm_train(&w->prob, &w->param);
    if (!w->model) {
        snprintf(err, err_len, "svm_train returned no model");
        return -ENOMEM;
    }
    return 0;
}

static void libsvm_predict(void *p, size_t first, size_t count, int *out)
{
    libsvm_ws *w = p;
    for (size_t i = 0; i < count; i++)
        out[i] = (int)svm_predict(w->model, w->test_x[first + i]);
}

static int libsvm_export(void *p, svm_fitted *m, char *err, size_t err_len)
{
    libsvm_ws *w = p;
    const struct svm_model *lm = w->model;
    const svm_data *t = w->train;
    int nc = lm->nr_class;
    if (nc != t->n_classes) {
        snprintf(err, err_len, "LIBSVM found %d classes, the data has %d", nc, t->n_classes);
        return -EDOM;
    }
    for (int c = 0; c < nc; c++)
        if (lm->label[c] != c) {
            snprintf(err, err_len, "LIBSVM ordered class %d at position %d", lm->label[c], c);
            return -EDOM;
        }
    size_t cap = m->cap, d = t->d;
    m->n_sv = (size_t)lm->l;
    for (int c = 0; c < nc; c++)
        m->class_sv[c] = (size_t)lm->nSV[c];
    for (size_t s = 0; s < m->n_sv; s++) {
        m->sv[s] = (size_t)lm->sv_indices[s] - 1; /* 1-based rows of prob */
        for (int r = 0; r + 1 < nc; r++)
            m->coef[(size_t)r * cap + s] = lm->sv_coef[r][s];
        const double *x = t->X + m->sv[s] * d;
        memcpy(m->SV + s * d, x, d * sizeof(double));
        double sq = 0;
        for (size_t j = 0; j < d; j++)
            sq += x[j] * x[j];
        m->sv_sq[s] = sq;
    }
    for (size_t q = 0; q < svm_n_pairs(nc); q++) {
        m->rho[q] = lm->rho[q];
        m->pair_obj[q] = NAN;
        m->pair_iter[q] = -1;
    }
    return 0;
}

static const svm_ext libsvm_ext = {
    .open = libsvm_open,
    .fit = libsvm_fit,
    .predict = libsvm_predict,
    .export_model = libsvm_export,
    .close = libsvm_close,
};

#ifndef MLB_VARIANT_KERNELS_ONLY
/* The structs above are LIBSVM's of the header compiled against; another
 * major version may lay them out differently. */
static const char *libsvm_available(void)
{
    return libsvm_version / 100 == LIBSVM_VERSION / 100 && libsvm_version >= 317
               ? NULL
               : "the LIBSVM loaded is not the 3.x (>= 3.17) this plugin was built against";
}
#endif

const svm_kernels svm_kernels_libsvm = {
    .name = "libsvm",
    .models = SVM_MODEL_BIT(SVM_SVC) | SVM_MODEL_BIT(SVM_NUSVC),
    .why_not = "LIBSVM has no LinearSVC (that is LIBLINEAR: use the liblinear, naive or "
               "openblas variant, or model=svc with kernel=linear)",
    .ext = &libsvm_ext,
};

#define svm_train svm_task_train

#else /* built without <libsvm/svm.h>: a variant that says so */

#ifndef MLB_VARIANT_KERNELS_ONLY
static const char *libsvm_available(void)
{
    return "built without libsvm-dev (apt-get install libsvm-dev, or tools/setup.sh; then "
           "rebuild)";
}
#endif

const svm_kernels svm_kernels_libsvm = {
    .name = "libsvm",
    .why_not = "this build has no LIBSVM (libsvm-dev was not installed)",
};
#endif

MLB_DEFINE_VARIANT(svm, svm_kernels_libsvm, "libsvm",
                   "LIBSVM itself (svm_train/svm_predict, Debian libsvm-dev) for SVC and NuSVC; "
                   "no LinearSVC",
                   libsvm_available);
