/*
 * svm: support-vector classification with scikit-learn's models and
 * parameters, in native C and through LIBSVM and LIBLINEAR themselves.
 *
 *   svc        C-SVC:  min 1/2 a^T Q a - e^T a,  0 <= a_i <= C,  y^T a = 0
 *   nusvc      nu-SVC: min 1/2 a^T Q a,  0 <= a_i <= 1/l,  y^T a = 0,  e^T a = nu
 *              (solved, as LIBSVM does, with bounds 1 and e^T a = nu l, then
 *              rescaled to the equivalent C-SVC)
 *              Q_ij = y_i y_j K(x_i, x_j), K linear, poly, rbf or sigmoid;
 *              multiclass one-vs-one with voting, as LIBSVM.
 *   linearsvc  min 1/2 ||w||^2 + C sum_i max(0, 1 - y_i w^T [x_i; s])^2
 *              (squared hinge, the intercept as an extra feature of value
 *              s = intercept_scaling, regularised like the others, as
 *              LIBLINEAR and scikit-learn do), by dual coordinate descent
 *              (LIBLINEAR's solver 1); multiclass one-vs-rest.
 *
 * The maths is written once against the kernel table below: the SMO solver
 * (svm_smo.c: LIBSVM's WSS3 working-set selection, shrinking, an LRU cache
 * of kernel rows), dual coordinate descent (svm_linear.c), prediction and
 * the checks (svm_model.c), and the plugin glue (svm.c). naive.c and
 * openblas.c fill the table with dense kernels; libsvm.c and liblinear.c
 * hand the whole fit to the library (svm_ext).
 */
#ifndef MLB_SVM_H
#define MLB_SVM_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "mlbench/data.h"
#include "mlbench/variant.h"

/* LIBSVM's <libsvm/svm.h> declares svm_train. MLB_DEFINE_VARIANT names the
 * task's train callback svm_train by pasting, and the pasted name is
 * rescanned for macros: renaming it here keeps the library's svm_train free
 * for the libsvm variant to call (a hidden svm_train in the same module
 * would otherwise capture the call at link time). */
#define svm_train svm_task_train

typedef enum { SVM_SVC = 0, SVM_NUSVC = 1, SVM_LINEARSVC = 2 } svm_model_kind;
#define SVM_N_MODELS 3
#define SVM_MODEL_BIT(m) (1u << (m))

/* LIBSVM's order of kernel_type. */
typedef enum { SVM_K_LINEAR = 0, SVM_K_POLY = 1, SVM_K_RBF = 2, SVM_K_SIGMOID = 3 } svm_kernel_kind;

const char *svm_model_name(svm_model_kind m);
const char *svm_kernel_name(svm_kernel_kind k);

typedef struct {
    svm_kernel_kind kind;
    double gamma, coef0;
    int degree;
} svm_kparams;

typedef struct {
    svm_model_kind model;
    svm_kparams kp;
    double C;
    double nu;
    double tol;      /* resolved: 1e-3 (svc, nusvc) or 1e-4 (linearsvc) unless given */
    int shrinking;
    double cache_mb;
    long max_iter;   /* resolved: LIBSVM's max(10^7, 100 l) per sub-problem is
                      * svm_smo_max_iter(0, l); linearsvc 1000 epochs */
    double bias;     /* linearsvc: intercept_scaling, or -1 without an intercept
                      * (LIBLINEAR's convention) */
    uint64_t seed;   /* linearsvc: the generator of the per-epoch permutations */
} svm_config;

/* The training rows as every solver sees them: grouped by class, in class
 * order and stably within a class, as LIBSVM and LIBLINEAR group them, so
 * that the pairs' sub-problems are contiguous runs of rows. */
typedef struct {
    size_t n, d;
    int n_classes;
    const double *X; /* n x d, row-major */
    const int *y;    /* n labels in [0, n_classes), non-decreasing */
    const size_t *start, *count; /* n_classes: each class's run of rows */
} svm_data;

/* A fitted model, in one representation whatever fitted it (the libsvm
 * and liblinear variants convert theirs for the checks). */
typedef struct {
    svm_model_kind kind;
    int n_classes;
    size_t d;
    size_t cap; /* training rows: the most support vectors there can be */

    /* one-vs-one kernel models (svc, nusvc), in LIBSVM's layout */
    size_t n_sv;
    size_t *sv;       /* cap: training row of each support vector, ascending */
    size_t *class_sv; /* n_classes: support vectors per class */
    double *coef;     /* (n_classes - 1) x cap: LIBSVM's sv_coef; row stride cap */
    double *rho;      /* n_pairs: decision of pair p is sum coef K - rho */
    double *SV;       /* cap x d: the support vectors, gathered, for prediction */
    double *sv_sq;    /* cap: their squared norms */
    double *pair_obj; /* n_pairs: the solver's own dual objective, or NaN */
    long *pair_iter;  /* n_pairs: SMO iterations, or -1 (not known) */

    /* one-vs-rest linear models (linearsvc) */
    size_t n_w;       /* 1 (binary: class 0 positive, as LIBLINEAR) or n_classes */
    double *W;        /* n_w x (d + 1): weights, then the intercept's weight */
    double bias;      /* the intercept feature's value, or -1: none */
    double *w_obj;    /* n_w: the solver's dual objective, or NaN */
    long *w_iter;     /* n_w: epochs, or -1 */
    int converged;    /* every sub-problem stopped on the tolerance, not max_iter */
} svm_fitted;

static inline size_t svm_n_pairs(int k)
{
    return (size_t)k * (size_t)(k - 1) / 2;
}

/* ---- what a variant supplies ---------------------------------------------- */

/* A variant that hands the fit to an external library (libsvm, liblinear):
 * its own copy of the data in its own format, made in setup; the fit, in
 * train; its predictions; and its model converted for the checks. */
typedef struct svm_ext {
    int (*open)(mlb_ctx *ctx, void **ws, const svm_config *cfg, const svm_data *train,
                const double *X_test, size_t n_test, char *err, size_t err_len);
    int (*fit)(void *ws, char *err, size_t err_len);
    /* Labels of test rows [first, first + count). */
    void (*predict)(void *ws, size_t first, size_t count, int *out);
    /* The fitted model into m (allocated for the training set); 0 or < 0
     * with a message. */
    int (*export_model)(void *ws, svm_fitted *m, char *err, size_t err_len);
    void (*close)(void *ws);
} svm_ext;

typedef struct svm_kernels {
    const char *name;
    unsigned models;     /* SVM_MODEL_BIT(...) of what the variant fits */
    const char *why_not; /* one line: why it cannot fit the others */
    /* Optional, at the end of setup: threads. 0 or mlb_error(...). */
    int (*prepare)(mlb_ctx *ctx, int threads);

    /* Dense kernels of the native solvers (NULL when ext is set). They
     * neither allocate nor fail. Matrices are row-major. */
    double (*dot)(size_t n, const double *x, const double *y);
    /* y += a x */
    void (*axpy)(size_t n, double a, const double *x, double *y);
    /* out[r] = A[r,:] . x for r < m; A is m x d. One kernel row's dot
     * products. */
    void (*gemv)(size_t m, size_t d, const double *A, const double *x, double *out);
    /* C = A B^T; A is m x d, B is n x d, C is m x n. Blocks of the kernel
     * matrix (prediction). */
    void (*gemm_nt)(size_t m, size_t n, size_t d, const double *A, const double *B, double *C);
    /* Optional: v[t] = exp(v[t]) for t < n (the rbf kernel). NULL: the C
     * library's exp, one value at a time. */
    void (*vexp)(size_t n, double *v);

    const svm_ext *ext; /* NULL: the native solvers with the kernels above */
} svm_kernels;

extern const svm_kernels svm_kernels_naive;
extern const svm_kernels svm_kernels_openblas;
extern const svm_kernels svm_kernels_libsvm;
extern const svm_kernels svm_kernels_liblinear;

/* ---- kernel functions ------------------------------------------------------ */

/* x^e by squaring, as LIBSVM's powi (so that poly kernels agree to the bit). */
static inline double svm_powi(double x, int e)
{
    double r = 1.0;
    for (int t = e; t > 0; t /= 2) {
        if (t % 2 == 1)
            r *= x;
        x *= x;
    }
    return r;
}

/* K(a, b) from a . b and the squared norms, with LIBSVM's formulas and
 * order of operations (rbf: exp(-gamma (|a|^2 + |b|^2 - 2 a.b))). */
static inline double svm_kval(const svm_kparams *kp, double dot, double sq_a, double sq_b)
{
    switch (kp->kind) {
    case SVM_K_LINEAR: return dot;
    case SVM_K_POLY: return svm_powi(kp->gamma * dot + kp->coef0, kp->degree);
    case SVM_K_RBF: return exp(-kp->gamma * (sq_a + sq_b - 2 * dot));
    case SVM_K_SIGMOID: return tanh(kp->gamma * dot + kp->coef0);
    }
    return NAN;
}

/* v[t] = K(a, b_t) in place, from v[t] = a . b_t and sq_b[t] = |b_t|^2;
 * rbf through k->vexp when the variant has one. */
void svm_kernel_row(const struct svm_kernels *k, const svm_kparams *kp, size_t n, double *v,
                    double sq_a, const double *sq_b);

/* ---- SMO (svm_smo.c) ---------------------------------------------------------- */

typedef struct svm_smo svm_smo;

/* A solver for sub-problems of up to cap rows of d features, from a
 * training set of n rows, with a kernel cache of cache_mb (never more than
 * cap x cap entries). NULL on failure. */
svm_smo *svm_smo_alloc(int cap, size_t n, size_t d, double cache_mb);
void svm_smo_free(svm_smo *w);
/* LIBSVM's iteration bound for l rows when max_iter is 0. */
long svm_smo_max_iter(long max_iter, int l);

/* Fits the one-vs-one models of cfg (svc or nusvc) to data into m, with the
 * alphas of every pair in pair_alpha ((n_classes - 1) x n doubles). Returns
 * 0, or negative with a message (an infeasible nu). */
int svm_fit_ovo(const svm_kernels *k, const svm_config *cfg, const svm_data *data, svm_smo *w,
                double *pair_alpha, svm_fitted *m, char *err, size_t err_len);

/* Checks nu against every pair of classes as LIBSVM does: 0 or negative
 * with a message. */
int svm_nu_feasible(const svm_data *data, double nu, char *err, size_t err_len);

/* ---- dual coordinate descent (svm_linear.c) ------------------------------- */

typedef struct svm_dcd svm_dcd;

svm_dcd *svm_dcd_alloc(size_t n);
void svm_dcd_free(svm_dcd *w);
/* Fits the one-vs-rest linear models of cfg to data into m. */
void svm_fit_linear(const svm_kernels *k, const svm_config *cfg, const svm_data *data,
                    svm_dcd *w, svm_fitted *m);

/* ---- models, prediction, checks (svm_model.c) ------------------------------- */

int svm_fitted_alloc(svm_fitted *m, svm_model_kind kind, int n_classes, size_t n, size_t d);
void svm_fitted_free(svm_fitted *m);

/* Scratch for predicting up to batch rows at once (the kernel block). */
typedef struct {
    size_t batch;
    double *K;  /* batch x cap */
    double *sq; /* batch */
    int *votes; /* n_classes */
    size_t *cstart; /* n_classes + 1: where each class's support vectors start */
} svm_scratch;

int svm_scratch_alloc(svm_scratch *s, size_t batch, size_t cap, int n_classes);
void svm_scratch_free(svm_scratch *s);

/* Labels of the n rows of X (n x d) by m, n <= s->batch, with the native
 * kernels; dec (optional: n x n_pairs, or n x n_w) gets the decision
 * values. */
void svm_fitted_predict(const svm_kernels *k, const svm_kparams *kp, const svm_fitted *m,
                        const double *X, size_t n, svm_scratch *s, int *out, double *dec);

/* The dual objective of each pair of a kernel model, recomputed from its
 * coefficients in plain double loops (independent of any variant): svc
 * 1/2 c^T K c - sum |c_i|, nusvc 1/2 c^T K c (LIBSVM's obj, rescaled), for
 * c the pair's signed coefficients. obj has n_pairs entries. */
void svm_pair_objectives(const svm_kparams *kp, const svm_fitted *m, const svm_data *data,
                         double *obj);

/* The primal objective of a linear model (sum over its binary models):
 * 1/2 ||w||^2 + C sum max(0, 1 - y w^T [x; bias])^2. */
double svm_linear_primal(const svm_config *cfg, const svm_fitted *m, const svm_data *data);

/* Checks that a kernel model's coefficients are feasible: within their
 * box and summing to zero per pair. 0, or negative with a message. */
int svm_check_feasible(const svm_config *cfg, const svm_fitted *m, const svm_data *data,
                       char *err, size_t err_len);

/* ---- plugin glue (svm.c) ---------------------------------------------------- */

/* Sanity limits (a typo, not a memory check). */
#define SVM_MAX_SAMPLES (1 << 22)
#define SVM_MAX_FEATURES (1 << 16)
#define SVM_MAX_CLASSES 100

static const mlb_param_def svm_params[] = {
    {"model", MLB_PARAM_STRING, "svc", "svc (C-SVC), nusvc (nu-SVC) or linearsvc"},
    {"kernel", MLB_PARAM_STRING, "rbf", "svc, nusvc: the kernel"},
    {"C", MLB_PARAM_FLOAT, "1.0", "svc, linearsvc: the penalty"},
    {"nu", MLB_PARAM_FLOAT, "0.5", "nusvc: bound on the share of margin errors and support vectors"},
    {"gamma", MLB_PARAM_STRING, "scale",
     "rbf, poly, sigmoid: scale (1 / (n_features Var(X))), auto (1 / n_features) or a number > 0"},
    {"degree", MLB_PARAM_INT, "3", "poly: the degree"},
    {"coef0", MLB_PARAM_FLOAT, "0.0", "poly, sigmoid: the constant term"},
    {"tol", MLB_PARAM_FLOAT, "0",
     "stopping tolerance; 0: scikit-learn's default (1e-3 svc, nusvc; 1e-4 linearsvc)"},
    {"shrinking", MLB_PARAM_BOOL, "true", "svc, nusvc: the shrinking heuristic"},
    {"cache_mb", MLB_PARAM_FLOAT, "200", "svc, nusvc: kernel-row cache, MB"},
    {"max_iter", MLB_PARAM_INT, "0",
     "iteration bound; 0: the default (svc, nusvc: LIBSVM's max(10^7, 100 l); linearsvc: 1000)"},
    {"fit_intercept", MLB_PARAM_BOOL, "true", "linearsvc: fit an intercept"},
    {"intercept_scaling", MLB_PARAM_FLOAT, "1.0",
     "linearsvc: value of the intercept's synthetic feature"},
    {"dataset", MLB_PARAM_STRING, "digits",
     "digits, breast_cancer, heart_scale, iris, wine (registered), synthetic, or your own file "
     "(CSV, LIBSVM, X.npy,y.npy; its labels become the classes)"},
    {"scaling", MLB_PARAM_STRING, "auto",
     "auto (digits: pixels / 16; iris, heart_scale: as they are; breast_cancer, wine, synthetic, "
     "a file: standard), none, standard (the training split's mean and std)"},
    {"n_samples", MLB_PARAM_INT, "10000", "synthetic: rows, before the train/test split"},
    {"n_features", MLB_PARAM_INT, "20", "synthetic: features"},
    {"n_classes", MLB_PARAM_INT, "2", "synthetic: classes"},
    {"cluster_std", MLB_PARAM_FLOAT, "3.5",
     "synthetic: each class's standard deviation around its centre (centres ~ N(0, 2^2))"},
    {"test_fraction", MLB_PARAM_FLOAT, "0.25", "share of the rows held out for the scores"},
    {"batch_size", MLB_PARAM_INT, "64", "test rows predicted per infer query"},
    {"fit_repeats", MLB_PARAM_INT, "1", "fits per train call (short fits on small data)"},
    {"threads", MLB_PARAM_INT, "1", "BLAS threads (openblas; the others are serial)"},
    MLB_DATA_FILE_PARAMS, /* target, header, delimiter, format: a dataset file's layout */
};

/* Enforced by the engine. Setup checks what these cannot say: the dataset
 * (registered, synthetic, or a file that loads, with classes), gamma's words
 * or number, a variant that cannot fit the model, an infeasible nu, a class
 * missing from the training split. */
static const mlb_param_rule svm_rules[] = {
    MLB_RULE_CHOICES("model", "svc", "nusvc", "linearsvc"),
    MLB_RULE_CHOICES("kernel", "linear", "rbf", "poly", "sigmoid"),
    {"C", MLB_RULE_HAS_MIN | MLB_RULE_MIN_EXCLUSIVE | MLB_RULE_HAS_MAX, 0, 1e12, NULL},
    {"nu", MLB_RULE_HAS_MIN | MLB_RULE_MIN_EXCLUSIVE | MLB_RULE_HAS_MAX, 0, 1, NULL},
    MLB_RULE_RANGE("degree", 0, 100),
    MLB_RULE_RANGE("coef0", -1e6, 1e6),
    MLB_RULE_RANGE_AUTO("tol", 0, 1),
    MLB_RULE_TUNING_RANGE("cache_mb", 1, 1 << 20),
    MLB_RULE_RANGE_AUTO("max_iter", 1, 1e9),
    {"intercept_scaling", MLB_RULE_HAS_MIN | MLB_RULE_MIN_EXCLUSIVE | MLB_RULE_HAS_MAX, 0, 1e6,
     NULL},
    MLB_RULE_CHOICES("scaling", "auto", "none", "standard"),
    MLB_RULE_RANGE("n_samples", 4, SVM_MAX_SAMPLES),
    MLB_RULE_RANGE("n_features", 1, SVM_MAX_FEATURES),
    MLB_RULE_RANGE("n_classes", 2, SVM_MAX_CLASSES),
    {"cluster_std", MLB_RULE_HAS_MIN | MLB_RULE_MIN_EXCLUSIVE | MLB_RULE_HAS_MAX, 0, 1e6, NULL},
    MLB_RULE_OPEN("test_fraction", 0, 1),
    MLB_RULE_RANGE("batch_size", 1, SVM_MAX_SAMPLES),
    MLB_RULE_RANGE("fit_repeats", 1, 1e6),
    MLB_RULE_RANGE("threads", 1, 1024),
    MLB_DATA_FILE_RULES,
};

/* Parses gamma ("scale", "auto" or a finite number > 0) for X (n x d);
 * returns 0, or -EINVAL with a message naming the parameter. */
int svm_gamma_parse(const char *text, const double *X, size_t n, size_t d, double *gamma,
                    char *err, size_t err_len);

int svm_setup(mlb_ctx *ctx, void **state, const svm_kernels *k);
int svm_train(mlb_ctx *ctx, void *state);
int svm_infer(mlb_ctx *ctx, void *state);
int svm_teardown(mlb_ctx *ctx, void *state);
int svm_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
