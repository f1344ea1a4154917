/*
 * The regression maths, once, in terms of the variant's kernels: centring,
 * the normal equations, scikit-learn's coordinate descent (both its forms:
 * on the data, cd_fast.enet_coordinate_descent, and on the Gram matrix,
 * enet_coordinate_descent_gram) with the same duality-gap stopping rule,
 * prediction and scores.
 */
#include "regression.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

static const char *const algo_names[REG_N_ALGOS] = {"linear", "ridge", "lasso", "elasticnet"};

const char *reg_algorithm_name(reg_algorithm a)
{
    return (unsigned)a < REG_N_ALGOS ? algo_names[a] : "unknown";
}

int reg_algorithm_parse(const char *s, reg_algorithm *out)
{
    for (int a = 0; a < REG_N_ALGOS; a++) {
        if (!strcmp(s, algo_names[a])) {
            *out = (reg_algorithm)a;
            return 0;
        }
    }
    return -1;
}

static int is_cd(reg_algorithm a)
{
    return a == REG_LASSO || a == REG_ENET;
}

int reg_work_alloc(reg_work *w, const reg_kernels *k, const reg_config *cfg, size_t n, size_t d)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->d = d;
    int direct_ls = !is_cd(cfg->algo) && k->fit_ls;
    /* Coordinate descent on the data walks one feature at a time: store
     * the design feature-major so that each column is contiguous, as
     * scikit-learn keeps X in Fortran order. */
    if (is_cd(cfg->algo) && !cfg->gram)
        w->layout = REG_LAYOUT_COLS;
    else if (direct_ls)
        w->layout = REG_LAYOUT_ROWS;
    else
        w->layout = REG_LAYOUT_BLOCKS;
    size_t xrows = w->layout == REG_LAYOUT_BLOCKS && n > REG_BLOCK_ROWS ? REG_BLOCK_ROWS : n;
    w->Xc = malloc(xrows * d * sizeof(double));
    w->yc = malloc(n * sizeof(double));
    w->mean = malloc(d * sizeof(double));
    w->v = malloc(d * sizeof(double));
    if (!direct_ls) {
        w->G = malloc(d * d * sizeof(double));
        w->q = malloc(d * sizeof(double));
    }
    if (is_cd(cfg->algo)) {
        if (cfg->gram)
            w->H = malloc(d * sizeof(double));
        else
            w->R = malloc(n * sizeof(double));
    }
    if (direct_ls && k->ls_alloc)
        w->ls = k->ls_alloc(n, d);
    if (!w->Xc || !w->yc || !w->mean || !w->v || (!direct_ls && (!w->G || !w->q)) ||
        (is_cd(cfg->algo) && !(cfg->gram ? (void *)w->H : (void *)w->R)) ||
        (direct_ls && k->ls_alloc && !w->ls)) {
        reg_work_free(k, w);
        return -ENOMEM;
    }
    /* Touch everything now, so that the timed fit does not pay the first
     * page faults of a large design matrix. */
    memset(w->Xc, 0, xrows * d * sizeof(double));
    memset(w->yc, 0, n * sizeof(double));
    if (w->R)
        memset(w->R, 0, n * sizeof(double));
    if (w->G)
        memset(w->G, 0, d * d * sizeof(double));
    return 0;
}

void reg_work_free(const reg_kernels *k, reg_work *w)
{
    free(w->Xc);
    free(w->yc);
    free(w->R);
    free(w->G);
    free(w->q);
    free(w->H);
    free(w->v);
    free(w->mean);
    if (w->ls && k->ls_free)
        k->ls_free(w->ls);
    memset(w, 0, sizeof *w);
}

int reg_model_alloc(reg_model *m, size_t d)
{
    memset(m, 0, sizeof *m);
    m->coef = calloc(d ? d : 1, sizeof(double));
    return m->coef ? 0 : -ENOMEM;
}

void reg_model_free(reg_model *m)
{
    free(m->coef);
    memset(m, 0, sizeof *m);
}

/* Column means of X into w->mean, the centred targets into yc, and, for the
 * full layouts, the centred design into w->Xc; returns mean(y). Two passes
 * (mean, then differences) as scikit-learn does, so large offsets cost no
 * accuracy. */
static double centre(const double *X, const double *y, reg_work *w)
{
    size_t n = w->n, d = w->d;
    for (size_t j = 0; j < d; j++)
        w->mean[j] = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            w->mean[j] += X[i * d + j];
    for (size_t j = 0; j < d; j++)
        w->mean[j] /= (double)n;
    if (w->layout == REG_LAYOUT_COLS) {
        /* Blocked transpose: a tile of rows at a time keeps the writes of
         * each feature's run in cache. */
        const size_t B = 64;
        for (size_t i0 = 0; i0 < n; i0 += B) {
            size_t i1 = i0 + B < n ? i0 + B : n;
            for (size_t j = 0; j < d; j++)
                for (size_t i = i0; i < i1; i++)
                    w->Xc[j * n + i] = X[i * d + j] - w->mean[j];
        }
    } else if (w->layout == REG_LAYOUT_ROWS) {
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                w->Xc[i * d + j] = X[i * d + j] - w->mean[j];
    }
    double ym = 0;
    for (size_t i = 0; i < n; i++)
        ym += y[i];
    ym /= (double)n;
    for (size_t i = 0; i < n; i++)
        w->yc[i] = y[i] - ym;
    return ym;
}

/* Copies the upper triangle of the d x d matrix G into its lower one. The
 * syrk kernels set only the upper triangle (kernels.h); posv reads the lower
 * one and coordinate descent reads whole rows. */
static void mirror_upper(double *G, size_t d)
{
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < a; b++)
            G[a * d + b] = G[b * d + a];
}

/* G = Xc^T Xc (both triangles) and q = Xc^T yc (after centre), whatever the
 * layout. */
static void normal_equations(const reg_kernels *k, const double *X, reg_work *w)
{
    size_t n = w->n, d = w->d;
    if (w->layout == REG_LAYOUT_COLS) {
        k->syrk(0, d, n, w->Xc, n, 0.0, w->G, d);
        k->gemv(0, d, n, 1.0, w->Xc, n, w->yc, 0.0, w->q);
    } else if (w->layout == REG_LAYOUT_ROWS) {
        k->syrk(1, n, d, w->Xc, d, 0.0, w->G, d);
        k->gemv(1, n, d, 1.0, w->Xc, d, w->yc, 0.0, w->q);
    } else {
        for (size_t i0 = 0; i0 < n; i0 += REG_BLOCK_ROWS) {
            size_t rows = n - i0 < REG_BLOCK_ROWS ? n - i0 : REG_BLOCK_ROWS;
            for (size_t i = 0; i < rows; i++)
                for (size_t j = 0; j < d; j++)
                    w->Xc[i * d + j] = X[(i0 + i) * d + j] - w->mean[j];
            double beta = i0 ? 1.0 : 0.0;
            k->syrk(1, rows, d, w->Xc, d, beta, w->G, d);
            k->gemv(1, rows, d, 1.0, w->Xc, d, w->yc + i0, beta, w->q);
        }
    }
    mirror_upper(w->G, d);
}

/* Smallest pivot, relative to its column's squared norm, that the normal
 * equations accept: below it the solution has no correct digit left
 * (cond(X) above ~1e6 squares to the 1e12 here). */
#define REG_PIVOT_RTOL 1e-12

static int fit_direct(const reg_kernels *k, const reg_config *cfg, const double *X, reg_work *w,
                      reg_model *m, char *err, size_t err_len)
{
    size_t d = w->d;
    double alpha = cfg->algo == REG_RIDGE ? cfg->alpha : 0.0;
    if (k->fit_ls)
        return k->fit_ls(w->ls, w->Xc, w->yc, w->n, d, alpha, m->coef, err, err_len);
    normal_equations(k, X, w);
    for (size_t j = 0; j < d; j++) {
        w->G[j * d + j] += alpha;
        w->v[j] = w->G[j * d + j];
    }
    int info = k->posv(d, w->G, w->q);
    /* Every variant's posv leaves the Cholesky factor L in the lower
     * triangle, so L_jj^2 is the pivot of column j: what is left of its
     * squared norm once the earlier columns are projected out. A pivot
     * that is all rounding error means a column is (numerically) a
     * combination of the others; LAPACK only catches exact zeros. */
    for (size_t j = 0; j < d && info == 0; j++)
        if (!(w->G[j * d + j] * w->G[j * d + j] > REG_PIVOT_RTOL * w->v[j]))
            info = (int)j + 1;
    if (info != 0) {
        snprintf(err, err_len,
                 "the normal equations are singular (leading minor %d of X^T X%s is not "
                 "positive): collinear or constant features; use algorithm=ridge with alpha > 0",
                 info, alpha > 0 ? " + alpha I" : "");
        return -EDOM;
    }
    memcpy(m->coef, w->q, d * sizeof(double));
    return 0;
}

static double fsign(double x)
{
    return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
}

/* The duality gap of scikit-learn's cd_fast, from the quantities both forms
 * have: ||XtA||_inf where XtA = X^T R - beta w, ||R||^2, R.y, ||w||^2, |w|_1. */
static double dual_gap(double dual_norm_xta, double r_norm2, double r_dot_y, double w_norm2,
                       double l1_norm, double alpha, double beta)
{
    double cst, gap;
    if (dual_norm_xta > alpha) {
        cst = alpha / dual_norm_xta;
        gap = 0.5 * (r_norm2 + r_norm2 * cst * cst);
    } else {
        cst = 1.0;
        gap = r_norm2;
    }
    return gap + alpha * l1_norm - cst * r_dot_y + 0.5 * beta * (1.0 + cst * cst) * w_norm2;
}

static double abs_max(const double *v, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        if (fabs(v[i]) > m)
            m = fabs(v[i]);
    return m;
}

static double abs_sum(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += fabs(v[i]);
    return s;
}

/* One coordinate's soft-thresholded update, shared by both forms. */
static double cd_update(double tmp, double alpha, double norm, double beta)
{
    return fsign(tmp) * fmax(fabs(tmp) - alpha, 0.0) / (norm + beta);
}

/* cd_fast.enet_coordinate_descent: w = 0 start, residuals R kept current. */
static void cd_data(const reg_kernels *k, const reg_config *cfg, reg_work *w, reg_model *m,
                    double alpha, double beta)
{
    size_t n = w->n, d = w->d;
    double *wt = m->coef, *norm = w->v;
    const double *Xt = w->Xc; /* column-major: feature j is Xt[j*n .. j*n+n) */
    for (size_t j = 0; j < d; j++) {
        norm[j] = k->dot(n, Xt + j * n, Xt + j * n);
        wt[j] = 0;
    }
    memcpy(w->R, w->yc, n * sizeof(double));
    double tol = cfg->tol * k->dot(n, w->yc, w->yc);
    m->gap_tol = tol;
    m->converged = 0;
    int it;
    for (it = 0; it < cfg->max_iter; it++) {
        double w_max = 0, d_w_max = 0;
        for (size_t j = 0; j < d; j++) {
            if (norm[j] == 0.0)
                continue;
            const double *xj = Xt + j * n;
            double w_j = wt[j];
            if (w_j != 0.0)
                k->axpy(n, w_j, xj, w->R);
            double tmp = k->dot(n, xj, w->R);
            wt[j] = cd_update(tmp, alpha, norm[j], beta);
            if (wt[j] != 0.0)
                k->axpy(n, -wt[j], xj, w->R);
            d_w_max = fmax(d_w_max, fabs(wt[j] - w_j));
            w_max = fmax(w_max, fabs(wt[j]));
        }
        if (w_max == 0.0 || d_w_max / w_max < cfg->tol || it == cfg->max_iter - 1) {
            /* XtA = X^T R - beta w, in w->q as scratch. */
            k->gemv(0, d, n, 1.0, Xt, n, w->R, 0.0, w->q);
            for (size_t j = 0; j < d; j++)
                w->q[j] -= beta * wt[j];
            m->gap = dual_gap(abs_max(w->q, d), k->dot(n, w->R, w->R), k->dot(n, w->R, w->yc),
                              k->dot(d, wt, wt), abs_sum(wt, d), alpha, beta);
            if (m->gap < tol) {
                m->converged = 1;
                it++;
                break;
            }
        }
    }
    m->n_iter = it > cfg->max_iter ? cfg->max_iter : it;
}

/* cd_fast.enet_coordinate_descent_gram: the same iterates from G = X^T X
 * and q = X^T y, keeping H = G w current; an epoch costs O(d^2) instead of
 * O(n d), after the O(n d^2) Gram matrix. */
static void cd_gram(const reg_kernels *k, const reg_config *cfg, const double *X, reg_work *w,
                    reg_model *m, double alpha, double beta)
{
    size_t d = w->d;
    double *wt = m->coef, *G = w->G, *q = w->q, *H = w->H;
    normal_equations(k, X, w);
    double y_norm2 = k->dot(w->n, w->yc, w->yc);
    for (size_t j = 0; j < d; j++) {
        wt[j] = 0;
        H[j] = 0;
    }
    double tol = cfg->tol * y_norm2;
    m->gap_tol = tol;
    m->converged = 0;
    int it;
    for (it = 0; it < cfg->max_iter; it++) {
        double w_max = 0, d_w_max = 0;
        for (size_t j = 0; j < d; j++) {
            double gjj = G[j * d + j];
            if (gjj == 0.0)
                continue;
            const double *gj = G + j * d; /* row j == column j */
            double w_j = wt[j];
            if (w_j != 0.0)
                k->axpy(d, -w_j, gj, H);
            double tmp = q[j] - H[j];
            wt[j] = cd_update(tmp, alpha, gjj, beta);
            if (wt[j] != 0.0)
                k->axpy(d, wt[j], gj, H);
            d_w_max = fmax(d_w_max, fabs(wt[j] - w_j));
            w_max = fmax(w_max, fabs(wt[j]));
        }
        if (w_max == 0.0 || d_w_max / w_max < cfg->tol || it == cfg->max_iter - 1) {
            double q_dot_w = k->dot(d, wt, q);
            for (size_t j = 0; j < d; j++)
                w->v[j] = q[j] - H[j] - beta * wt[j];
            double r_norm2 = y_norm2 + k->dot(d, wt, H) - 2.0 * q_dot_w;
            /* R.y = y.y - w.q */
            m->gap = dual_gap(abs_max(w->v, d), r_norm2, y_norm2 - q_dot_w, k->dot(d, wt, wt),
                              abs_sum(wt, d), alpha, beta);
            if (m->gap < tol) {
                m->converged = 1;
                it++;
                break;
            }
        }
    }
    m->n_iter = it > cfg->max_iter ? cfg->max_iter : it;
}

int reg_fit(const reg_kernels *k, const reg_config *cfg, const double *X, const double *y,
            reg_work *w, reg_model *m, char *err, size_t err_len)
{
    if (!(k->algorithms & REG_ALGO_BIT(cfg->algo))) {
        snprintf(err, err_len, "%s cannot run algorithm=%s: %s", k->name,
                 reg_algorithm_name(cfg->algo), k->why_not ? k->why_not : "not implemented");
        return -ENOTSUP;
    }
    double ymean = centre(X, y, w);
    int rc = 0;
    m->gap = 0;
    m->gap_tol = 0;
    m->n_iter = 1;
    m->converged = 1;
    if (is_cd(cfg->algo)) {
        double l1 = cfg->algo == REG_LASSO ? 1.0 : cfg->l1_ratio;
        double alpha = cfg->alpha * l1 * (double)w->n;
        double beta = cfg->alpha * (1.0 - l1) * (double)w->n;
        if (cfg->gram)
            cd_gram(k, cfg, X, w, m, alpha, beta);
        else
            cd_data(k, cfg, w, m, alpha, beta);
    } else {
        rc = fit_direct(k, cfg, X, w, m, err, err_len);
    }
    if (rc < 0)
        return rc;
    double off = 0;
    for (size_t j = 0; j < w->d; j++)
        off += w->mean[j] * m->coef[j];
    m->intercept = ymean - off;
    return 0;
}

void reg_predict(const reg_kernels *k, const reg_model *m, const double *X, size_t n, size_t d,
                 double *out)
{
    for (size_t i = 0; i < n; i++)
        out[i] = m->intercept;
    k->gemv(0, n, d, 1.0, X, d, m->coef, 1.0, out);
}

void reg_score(const double *y, const double *pred, size_t n, reg_scores *out)
{
    out->r2 = metrics_r2(y, pred, n);
    out->rmse = metrics_rmse(y, pred, n);
    out->mae = metrics_mae(y, pred, n);
}

double reg_objective(const reg_config *cfg, const double *X, const double *y, size_t n, size_t d,
                     const reg_model *m)
{
    double rss = 0, l1 = 0, l2 = 0;
    for (size_t i = 0; i < n; i++) {
        double r = y[i] - m->intercept;
        for (size_t j = 0; j < d; j++)
            r -= X[i * d + j] * m->coef[j];
        rss += r * r;
    }
    for (size_t j = 0; j < d; j++) {
        l1 += fabs(m->coef[j]);
        l2 += m->coef[j] * m->coef[j];
    }
    switch (cfg->algo) {
    case REG_LINEAR: return rss;
    case REG_RIDGE: return rss + cfg->alpha * l2;
    case REG_LASSO: return rss / (2.0 * (double)n) + cfg->alpha * l1;
    case REG_ENET:
        return rss / (2.0 * (double)n) + cfg->alpha * cfg->l1_ratio * l1 +
               0.5 * cfg->alpha * (1.0 - cfg->l1_ratio) * l2;
    }
    return NAN;
}
