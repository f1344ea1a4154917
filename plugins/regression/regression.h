/*
 * regression: linear models with scikit-learn's objectives and parameters.
 *
 *   linear      min ||y - Xw - b||^2                                   (OLS)
 *   ridge       min ||y - Xw - b||^2 + alpha ||w||^2
 *   lasso       min 1/(2n) ||y - Xw - b||^2 + alpha ||w||_1
 *   elasticnet  min 1/(2n) ||y - Xw - b||^2 + alpha l1_ratio ||w||_1
 *                                           + alpha (1 - l1_ratio)/2 ||w||^2
 *
 * The intercept b is not penalised: X and y are centred first, as
 * scikit-learn does, and b = mean(y) - mean(X) w. OLS and ridge solve the
 * normal equations by Cholesky (or the variant's own solver, fit_ls); lasso
 * and elastic net run scikit-learn's cyclic coordinate descent with its
 * duality-gap stopping rule, on the data or on the precomputed Gram matrix.
 *
 * The maths (regression.c) is written once against the kernel table of
 * kernels.h; the plugin glue (plugin.c) reads parameters and data. Each
 * variant file fills a table and declares its plugin with
 * MLB_DEFINE_VARIANT (<mlbench/variant.h>), as in plugins/template.
 */
#ifndef MLB_REGRESSION_H
#define MLB_REGRESSION_H

#include <stddef.h>

#include "kernels.h"
#include "mlbench/variant.h"
#include "mlbench/data.h"

typedef enum {
    REG_LINEAR = 0,
    REG_RIDGE = 1,
    REG_LASSO = 2,
    REG_ENET = 3,
} reg_algorithm;
#define REG_N_ALGOS 4
#define REG_ALL_ALGOS 0xfu

typedef struct {
    reg_algorithm algo;
    double alpha;    /* ridge, lasso, elasticnet */
    double l1_ratio; /* elasticnet (lasso: 1) */
    double tol;      /* coordinate descent: as scikit-learn's tol */
    int max_iter;    /* coordinate descent epochs */
    int gram;        /* coordinate descent on the precomputed Gram matrix X^T X */
} reg_config;

/* Everything a fit needs besides the data, allocated once (in setup) so that
 * the timed fit does not allocate. */
/* How the centred design is held. The normal equations (OLS, ridge, Gram
 * coordinate descent) only need X^T X and X^T y, so they centre a block of
 * rows at a time into a small buffer and accumulate: no n x d copy, and one
 * pass over X instead of a read, a write and a re-read. */
typedef enum {
    REG_LAYOUT_BLOCKS = 0, /* Xc: REG_BLOCK_ROWS x d buffer, refilled per block */
    REG_LAYOUT_ROWS = 1,   /* Xc: the whole centred design, row-major (fit_ls) */
    REG_LAYOUT_COLS = 2,   /* Xc: the whole centred design, feature by feature (d x n),
                            * for coordinate descent on the data */
} reg_layout;
#define REG_BLOCK_ROWS 1024

typedef struct {
    size_t n, d;
    reg_layout layout;
    double *Xc;   /* centred design, as layout says */
    double *yc;   /* n centred targets */
    double *R;    /* n residuals (coordinate descent on the data) */
    double *G;    /* d*d Gram matrix or normal-equations matrix */
    double *q;    /* d: X^T y */
    double *H;    /* d: G w (Gram coordinate descent) */
    double *v;    /* d: scratch (column norms, X^T R) */
    double *mean; /* d column means */
    void *ls;     /* the variant's fit_ls workspace, if any */
} reg_work;

typedef struct {
    double *coef;     /* d */
    double intercept;
    int n_iter;       /* coordinate descent epochs run (scikit-learn's n_iter_); 1 for direct solves */
    double gap;       /* final duality gap (coordinate descent), in scikit-learn's scale */
    double gap_tol;   /* the gap it had to reach: tol * ||yc||^2 */
    int converged;
} reg_model;

typedef struct {
    double r2, rmse, mae;
} reg_scores;

const char *reg_algorithm_name(reg_algorithm a);
/* Returns 0, or -1 for an unknown name. */
int reg_algorithm_parse(const char *s, reg_algorithm *out);

/* Workspace and model for an n x d problem; 0 or -ENOMEM. */
int reg_work_alloc(reg_work *w, const reg_kernels *k, const reg_config *cfg, size_t n, size_t d);
void reg_work_free(const reg_kernels *k, reg_work *w);
int reg_model_alloc(reg_model *m, size_t d);
void reg_model_free(reg_model *m);

/* Fits cfg's model to X (n x d, row-major) and y, the sizes w was made for.
 * Returns 0, or negative with a message in err (a singular system for
 * OLS, an algorithm the kernels cannot run). Not converging within max_iter
 * is not an error: m->converged says so. */
int reg_fit(const reg_kernels *k, const reg_config *cfg, const double *X, const double *y,
            reg_work *w, reg_model *m, char *err, size_t err_len);

/* out = X m->coef + m->intercept for n rows of X (row-major, d columns). */
void reg_predict(const reg_kernels *k, const reg_model *m, const double *X, size_t n, size_t d,
                 double *out);

/* R^2 (scikit-learn's r2_score), RMSE and MAE of pred against y. */
void reg_score(const double *y, const double *pred, size_t n, reg_scores *out);

/* cfg's objective (as in the comment at the top) at m, on X and y, in plain
 * loops independent of any kernel (for checks). */
double reg_objective(const reg_config *cfg, const double *X, const double *y, size_t n, size_t d,
                     const reg_model *m);

/* ---- Plugin glue (plugin.c) ---------------------------------------------- */

/* Sanity limits (a typo, not a memory check). */
#define REG_MAX_SAMPLES (1 << 26)
#define REG_MAX_FEATURES (1 << 14)

static const mlb_param_def regression_params[] = {
    {"algorithm", MLB_PARAM_STRING, "linear", "the linear model to fit"},
    {"dataset", MLB_PARAM_STRING, "diabetes",
     "a registered dataset (diabetes, ...; its target is regressed), synthetic, or your own "
     "file: CSV, LIBSVM, or X.npy,y.npy (see target, header, delimiter, format)"},
    {"n_samples", MLB_PARAM_INT, "10000", "synthetic: rows, before the train/test split"},
    {"n_features", MLB_PARAM_INT, "20", "synthetic: features"},
    {"noise", MLB_PARAM_FLOAT, "10", "synthetic: standard deviation of the noise in y"},
    {"test_fraction", MLB_PARAM_FLOAT, "0.25", "share of the rows held out for the scores"},
    {"standardize", MLB_PARAM_BOOL, "false",
     "standardise features with the training split's mean and std"},
    {"alpha", MLB_PARAM_FLOAT, "1.0", "regularisation strength (ridge, lasso, elasticnet)"},
    {"l1_ratio", MLB_PARAM_FLOAT, "0.5", "elasticnet: share of the L1 penalty"},
    {"tol", MLB_PARAM_FLOAT, "0.0001", "coordinate descent: scikit-learn's duality-gap tol"},
    {"max_iter", MLB_PARAM_INT, "1000", "coordinate descent: maximum epochs"},
    {"precompute", MLB_PARAM_STRING, "auto",
     "coordinate descent on the Gram matrix: auto (when rows > features), true, false"},
    {"batch_size", MLB_PARAM_INT, "64", "test rows predicted per infer query"},
    {"threads", MLB_PARAM_INT, "1", "BLAS threads (openblas and gsl variants; naive is serial)"},
    {"fit_repeats", MLB_PARAM_INT, "1", "fits per train call (short fits on small data)"},
    MLB_DATA_FILE_PARAMS, /* target, header, delimiter, format: a dataset file's layout */
};

/* Enforced by the engine. plugin.c checks what these cannot say: lasso and
 * elasticnet need alpha > 0, a variant may not run every algorithm, and
 * the dataset must be registered, synthetic or a file that loads. */
static const mlb_param_rule regression_rules[] = {
    MLB_RULE_CHOICES("algorithm", "linear", "ridge", "lasso", "elasticnet"),
    MLB_RULE_RANGE("n_samples", 2, REG_MAX_SAMPLES),
    MLB_RULE_RANGE("n_features", 1, REG_MAX_FEATURES),
    MLB_RULE_MIN("noise", 0),
    MLB_RULE_OPEN("test_fraction", 0, 1),
    MLB_RULE_MIN("alpha", 0),
    MLB_RULE_RANGE("l1_ratio", 0, 1),
    MLB_RULE_MIN("tol", 0),
    MLB_RULE_RANGE("max_iter", 1, 1e8),
    MLB_RULE_CHOICES("precompute", "auto", "true", "false"),
    MLB_RULE_RANGE("batch_size", 1, REG_MAX_SAMPLES),
    MLB_RULE_RANGE("threads", 1, 1024),
    MLB_RULE_RANGE("fit_repeats", 1, 1e6),
    MLB_DATA_FILE_RULES,
};

int regression_setup(mlb_ctx *ctx, void **state, const reg_kernels *k);
int regression_train(mlb_ctx *ctx, void *state);
int regression_infer(mlb_ctx *ctx, void *state);
int regression_teardown(mlb_ctx *ctx, void *state);
int regression_export_data(mlb_ctx *ctx, void *state, const char *dir);

/* set_threads of the variants whose BLAS is OpenBLAS (blas_threads.c). */
void reg_openblas_set_threads(int threads);

/* The kernel tables, one per variant file. */
extern const reg_kernels reg_kernels_naive;
extern const reg_kernels reg_kernels_openblas;
extern const reg_kernels reg_kernels_gsl;

#endif
