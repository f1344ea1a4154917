/*
 * svm:liblinear: LIBLINEAR itself (Debian's liblinear-dev, <linear.h>):
 * train and predict with solver L2R_L2LOSS_SVC_DUAL, the LinearSVC that
 * scikit-learn runs, one-vs-rest. LIBLINEAR has no kernel SVMs, so
 * model=svc and model=nusvc fail setup.
 *
 * The rows go over sparse, in the grouped order, with the intercept as
 * LIBLINEAR's bias feature (index d + 1, value intercept_scaling). Debian's
 * LIBLINEAR 2.3 stops at a fixed 1000 epochs and draws its permutations
 * from rand(), which fit seeds from the run's seed.
 */
#include "svm.h"

#ifdef SVM_HAVE_LIBLINEAR
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linear.h>

typedef struct {
    const svm_data *train;
    struct problem prob;
    struct parameter param;
    struct feature_node *nodes;   /* every row's nodes, training then test */
    struct feature_node **test_x; /* n_test */
    struct model *model;
    unsigned seed;
} liblinear_ws;

static void quiet(const char *s)
{
    (void)s;
}

static void liblinear_close(void *p)
{
    liblinear_ws *w = p;
    if (!w)
        return;
    if (w->model)
        free_and_destroy_model(&w->model);
    free(w->nodes);
    free(w->prob.x);
    free(w->prob.y);
    free(w->test_x);
    free(w);
}

static size_t nonzeros(const double *X, size_t n, size_t d)
{
    size_t c = 0;
    for (size_t i = 0; i < n * d; i++)
        c += X[i] != 0;
    return c;
}

/* Row x as nodes at *next: its nonzeros, the bias feature (bias >= 0),
 * the -1 terminator. */
static struct feature_node *put_row(const double *x, size_t d, double bias,
                                    struct feature_node **next)
{
    struct feature_node *row = *next, *p = row;
    for (size_t j = 0; j < d; j++)
        if (x[j] != 0) {
            p->index = (int)j + 1;
            p->value = x[j];
            p++;
        }
    if (bias >= 0) {
        p->index = (int)d + 1;
        p->value = bias;
        p++;
    }
    p->index = -1;
    p->value = 0;
    *next = p + 1;
    return row;
}

static int liblinear_open(mlb_ctx *ctx, void **ws, const svm_config *cfg, const svm_data *train,
                          const double *X_test, size_t n_test, char *err, size_t err_len)
{
    size_t n = train->n, d = train->d;
    liblinear_ws *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(err, err_len, "out of memory");
        return -ENOMEM;
    }
    w->train = train;
    double bias = cfg->bias > 0 ? cfg->bias : -1.0;
    size_t count = nonzeros(train->X, n, d) + 2 * n + nonzeros(X_test, n_test, d) + 2 * n_test;
    w->nodes = malloc(count * sizeof *w->nodes);
    w->prob.x = malloc(n * sizeof *w->prob.x);
    w->prob.y = malloc(n * sizeof *w->prob.y);
    w->test_x = malloc((n_test ? n_test : 1) * sizeof *w->test_x);
    if (!w->nodes || !w->prob.x || !w->prob.y || !w->test_x) {
        liblinear_close(w);
        snprintf(err, err_len, "out of memory for %zu LIBLINEAR nodes", count);
        return -ENOMEM;
    }
    struct feature_node *next = w->nodes;
    for (size_t i = 0; i < n; i++) {
        w->prob.x[i] = put_row(train->X + i * d, d, bias, &next);
        w->prob.y[i] = train->y[i];
    }
    for (size_t i = 0; i < n_test; i++)
        w->test_x[i] = put_row(X_test + i * d, d, bias, &next);
    w->prob.l = (int)n;
    w->prob.n = (int)d + (bias >= 0 ? 1 : 0);
    w->prob.bias = bias;
    w->param = (struct parameter){
        .solver_type = L2R_L2LOSS_SVC_DUAL,
        .eps = cfg->tol,
        .C = cfg->C,
        .p = 0.1,
    };
    set_print_string_function(quiet);
    const char *why = check_parameter(&w->prob, &w->param);
    if (why) {
        liblinear_close(w);
        snprintf(err, err_len, "check_parameter: %s", why);
        return -EINVAL;
    }
    if (cfg->max_iter > 0 && cfg->max_iter != 1000 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "max_iter=%ld ignored: LIBLINEAR %d stops at 1000 epochs",
                cfg->max_iter, liblinear_version);
    w->seed = (unsigned)(cfg->seed ^ (cfg->seed >> 32));
    *ws = w;
    return 0;
}

static int liblinear_fit(void *p, char *err, size_t err_len)
{
    liblinear_ws *w = p;
    if (w->model)
        free_and_destroy_model(&w->model); /* the last repeat's */
    /* LIBLINEAR's permutations come from rand(): seeded from the run's
     * seed, every repetition and repeat draws the same ones. */
    srand(w->seed);
    w->model = train(&w->prob, &w->param);
    if (!w->model) {
        snprintf(err, err_len, "train returned no model");
        return -ENOMEM;
    }
    return 0;
}

static void liblinear_predict(void *p, size_t first, size_t count, int *out)
{
    liblinear_ws *w = p;
    for (size_t i = 0; i < count; i++)
        out[i] = (int)predict(w->model, w->test_x[first + i]);
}

static int liblinear_export(void *p, svm_fitted *m, char *err, size_t err_len)
{
    liblinear_ws *w = p;
    const struct model *lm = w->model;
    const svm_data *t = w->train;
    int nc = lm->nr_class;
    if (nc != t->n_classes) {
        snprintf(err, err_len, "LIBLINEAR found %d classes, the data has %d", nc, t->n_classes);
        return -EDOM;
    }
    for (int c = 0; c < nc; c++)
        if (lm->label[c] != c) {
            snprintf(err, err_len, "LIBLINEAR ordered class %d at position %d", lm->label[c], c);
            return -EDOM;
        }
    /* LIBLINEAR's w is feature-major, w[j * nr_w + c], over its n features
     * (the bias last); binary problems have one model, class 0 positive. */
    size_t d = t->d, d1 = d + 1, nr_w = nc == 2 ? 1 : (size_t)nc;
    size_t nf = (size_t)w->prob.n;
    for (size_t c = 0; c < nr_w; c++) {
        double *wc = m->W + c * d1;
        for (size_t j = 0; j < d1; j++)
            wc[j] = j < nf ? lm->w[j * nr_w + c] : 0.0;
        m->w_obj[c] = NAN;
        m->w_iter[c] = -1;
    }
    m->bias = lm->bias;
    return 0;
}

static const svm_ext liblinear_ext = {
    .open = liblinear_open,
    .fit = liblinear_fit,
    .predict = liblinear_predict,
    .export_model = liblinear_export,
    .close = liblinear_close,
};

#ifndef MLB_VARIANT_KERNELS_ONLY
/* The structs above are those of the header compiled against. */
static const char *liblinear_available(void)
{
    return liblinear_version / 100 == LIBLINEAR_VERSION / 100
               ? NULL
               : "the LIBLINEAR loaded is not the major version this plugin was built against";
}
#endif

const svm_kernels svm_kernels_liblinear = {
    .name = "liblinear",
    .models = SVM_MODEL_BIT(SVM_LINEARSVC),
    .why_not = "LIBLINEAR has no kernel SVMs (use the libsvm, naive or openblas variant)",
    .ext = &liblinear_ext,
};

#else /* built without <linear.h>: a variant that says so */

#ifndef MLB_VARIANT_KERNELS_ONLY
static const char *liblinear_available(void)
{
    return "built without liblinear-dev (apt-get install liblinear-dev, or tools/setup.sh; then "
           "rebuild)";
}
#endif

const svm_kernels svm_kernels_liblinear = {
    .name = "liblinear",
    .why_not = "this build has no LIBLINEAR (liblinear-dev was not installed)",
};
#endif

MLB_DEFINE_VARIANT(svm, svm_kernels_liblinear, "liblinear",
                   "LIBLINEAR itself (train/predict, solver L2R_L2LOSS_SVC_DUAL, Debian "
                   "liblinear-dev) for LinearSVC; no kernel SVMs",
                   liblinear_available);
