/*
 * The fitted model, whoever fitted it: storage, prediction with the
 * variant's dense kernels (one-vs-one voting or one-vs-rest argmax, as
 * LIBSVM and LIBLINEAR predict), and the checks teardown runs on it (dual
 * and primal objectives recomputed in plain loops, feasibility).
 */
#include "svm.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const model_names[SVM_N_MODELS] = {"svc", "nusvc", "linearsvc"};
static const char *const kernel_names[] = {"linear", "poly", "rbf", "sigmoid"};

const char *svm_model_name(svm_model_kind m)
{
    return (unsigned)m < SVM_N_MODELS ? model_names[m] : "unknown";
}

const char *svm_kernel_name(svm_kernel_kind k)
{
    return (unsigned)k <= SVM_K_SIGMOID ? kernel_names[k] : "unknown";
}

void svm_kernel_row(const svm_kernels *k, const svm_kparams *kp, size_t n, double *v,
                    double sq_a, const double *sq_b)
{
    /* One loop per kind, so that the loop body has no branch. */
    double g = kp->gamma, c0 = kp->coef0;
    switch (kp->kind) {
    case SVM_K_LINEAR: break;
    case SVM_K_POLY:
        for (size_t t = 0; t < n; t++)
            v[t] = svm_powi(g * v[t] + c0, kp->degree);
        break;
    case SVM_K_RBF:
        if (k && k->vexp) {
            for (size_t t = 0; t < n; t++)
                v[t] = -g * (sq_a + sq_b[t] - 2 * v[t]);
            k->vexp(n, v);
        } else {
            for (size_t t = 0; t < n; t++)
                v[t] = exp(-g * (sq_a + sq_b[t] - 2 * v[t]));
        }
        break;
    case SVM_K_SIGMOID:
        for (size_t t = 0; t < n; t++)
            v[t] = tanh(g * v[t] + c0);
        break;
    }
}

void svm_fitted_free(svm_fitted *m)
{
    free(m->sv);
    free(m->class_sv);
    free(m->coef);
    free(m->rho);
    free(m->SV);
    free(m->sv_sq);
    free(m->pair_obj);
    free(m->pair_iter);
    free(m->W);
    free(m->w_obj);
    free(m->w_iter);
    memset(m, 0, sizeof *m);
}

/* malloc and write: the fit then pays no first-touch page faults. */
static void *alloc_touched(size_t count, size_t size)
{
    size_t bytes = (count ? count : 1) * size;
    void *p = malloc(bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

int svm_fitted_alloc(svm_fitted *m, svm_model_kind kind, int n_classes, size_t n, size_t d)
{
    memset(m, 0, sizeof *m);
    m->kind = kind;
    m->n_classes = n_classes;
    m->d = d;
    m->cap = n;
    m->converged = 1;
    size_t np = svm_n_pairs(n_classes);
    int ok;
    if (kind == SVM_LINEARSVC) {
        m->n_w = n_classes == 2 ? 1 : (size_t)n_classes;
        m->W = alloc_touched(m->n_w * (d + 1), sizeof(double));
        m->w_obj = alloc_touched(m->n_w, sizeof(double));
        m->w_iter = alloc_touched(m->n_w, sizeof(long));
        ok = m->W && m->w_obj && m->w_iter;
    } else {
        m->sv = alloc_touched(n, sizeof(size_t));
        m->class_sv = alloc_touched((size_t)n_classes, sizeof(size_t));
        m->coef = alloc_touched((size_t)(n_classes - 1) * n, sizeof(double));
        m->rho = alloc_touched(np, sizeof(double));
        m->SV = alloc_touched(n * d, sizeof(double));
        m->sv_sq = alloc_touched(n, sizeof(double));
        m->pair_obj = alloc_touched(np, sizeof(double));
        m->pair_iter = alloc_touched(np, sizeof(long));
        ok = m->sv && m->class_sv && m->coef && m->rho && m->SV && m->sv_sq && m->pair_obj &&
             m->pair_iter;
    }
    if (!ok) {
        svm_fitted_free(m);
        return -ENOMEM;
    }
    return 0;
}

int svm_scratch_alloc(svm_scratch *s, size_t batch, size_t cap, int n_classes)
{
    s->batch = batch;
    s->K = alloc_touched(batch * (cap ? cap : 1), sizeof(double));
    s->sq = alloc_touched(batch, sizeof(double));
    s->votes = alloc_touched((size_t)n_classes, sizeof(int));
    s->cstart = alloc_touched((size_t)n_classes + 1, sizeof(size_t));
    if (!s->K || !s->sq || !s->votes || !s->cstart) {
        svm_scratch_free(s);
        return -ENOMEM;
    }
    return 0;
}

void svm_scratch_free(svm_scratch *s)
{
    free(s->K);
    free(s->sq);
    free(s->votes);
    free(s->cstart);
    memset(s, 0, sizeof *s);
}

static int argmax_first(const int *v, int n)
{
    int best = 0;
    for (int c = 1; c < n; c++)
        if (v[c] > v[best])
            best = c;
    return best;
}

static void predict_linear(const svm_kernels *k, const svm_fitted *m, const double *X, size_t n,
                           int *out, double *dec)
{
    size_t d = m->d, d1 = d + 1;
    double bias = m->bias > 0 ? m->bias : 0.0;
    for (size_t r = 0; r < n; r++) {
        const double *x = X + r * d;
        size_t best = 0;
        double best_v = -HUGE_VAL;
        for (size_t c = 0; c < m->n_w; c++) {
            const double *w = m->W + c * d1;
            double v = k->dot(d, w, x) + w[d] * bias;
            if (dec)
                dec[r * m->n_w + c] = v;
            if (v > best_v) {
                best_v = v;
                best = c;
            }
        }
        /* Binary: one model, class 0 positive (LIBLINEAR's label[0]). */
        out[r] = m->n_w == 1 ? (best_v > 0 ? 0 : 1) : (int)best;
    }
}

void svm_fitted_predict(const svm_kernels *k, const svm_kparams *kp, const svm_fitted *m,
                        const double *X, size_t n, svm_scratch *s, int *out, double *dec)
{
    if (m->kind == SVM_LINEARSVC) {
        predict_linear(k, m, X, n, out, dec);
        return;
    }
    size_t d = m->d, nsv = m->n_sv, cap = m->cap;
    int nc = m->n_classes;
    size_t np = svm_n_pairs(nc);
    /* K (n x nsv): the kernel block of the rows against the support
     * vectors, one gemm for the batch. */
    if (nsv > 0)
        k->gemm_nt(n, nsv, d, X, m->SV, s->K);
    s->cstart[0] = 0;
    for (int c = 0; c < nc; c++)
        s->cstart[c + 1] = s->cstart[c] + m->class_sv[c];
    for (size_t r = 0; r < n; r++) {
        const double *x = X + r * d;
        double *Kr = s->K + r * nsv;
        if (nsv > 0)
            svm_kernel_row(k, kp, nsv, Kr, k->dot(d, x, x), m->sv_sq);
        memset(s->votes, 0, (size_t)nc * sizeof *s->votes);
        size_t p = 0;
        for (int a = 0; a < nc; a++)
            for (int b = a + 1; b < nc; b++, p++) {
                const double *ca = m->coef + (size_t)(b - 1) * cap;
                const double *cb = m->coef + (size_t)a * cap;
                double sum = 0;
                for (size_t t = s->cstart[a]; t < s->cstart[a + 1]; t++)
                    sum += ca[t] * Kr[t];
                for (size_t t = s->cstart[b]; t < s->cstart[b + 1]; t++)
                    sum += cb[t] * Kr[t];
                sum -= m->rho[p];
                if (dec)
                    dec[r * np + p] = sum;
                s->votes[sum > 0 ? a : b]++;
            }
        out[r] = argmax_first(s->votes, nc);
    }
}

/* x . y in plain order, for the checks (no variant's kernel). */
static double plain_dot(size_t n, const double *x, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

void svm_pair_objectives(const svm_kparams *kp, const svm_fitted *m, const svm_data *data,
                         double *obj)
{
    size_t d = data->d, cap = m->cap;
    int nc = m->n_classes;
    size_t cs[SVM_MAX_CLASSES + 1];
    cs[0] = 0;
    for (int c = 0; c < nc; c++)
        cs[c + 1] = cs[c] + m->class_sv[c];
    size_t p = 0;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++, p++) {
            /* The pair's vectors: a's, then b's, with their coefficients. */
            const double *ca = m->coef + (size_t)(b - 1) * cap;
            const double *cb = m->coef + (size_t)a * cap;
            size_t lo_a = cs[a], hi_a = cs[a + 1], lo_b = cs[b], hi_b = cs[b + 1];
            size_t na = hi_a - lo_a, cnt = na + (hi_b - lo_b);
            double quad = 0, lin = 0;
            for (size_t u = 0; u < cnt; u++) {
                size_t su = u < na ? lo_a + u : lo_b + (u - na);
                double cu = u < na ? ca[su] : cb[su];
                if (cu == 0)
                    continue;
                const double *xu = data->X + m->sv[su] * d;
                double squ = plain_dot(d, xu, xu);
                lin += fabs(cu);
                /* The diagonal once, the upper triangle twice. */
                quad += cu * cu * svm_kval(kp, squ, squ, squ);
                for (size_t v = u + 1; v < cnt; v++) {
                    size_t sv = v < na ? lo_a + v : lo_b + (v - na);
                    double cv = v < na ? ca[sv] : cb[sv];
                    if (cv == 0)
                        continue;
                    const double *xv = data->X + m->sv[sv] * d;
                    quad += 2 * cu * cv *
                            svm_kval(kp, plain_dot(d, xu, xv), squ, plain_dot(d, xv, xv));
                }
            }
            obj[p] = 0.5 * quad - (m->kind == SVM_SVC ? lin : 0.0);
        }
}

double svm_linear_primal(const svm_config *cfg, const svm_fitted *m, const svm_data *data)
{
    size_t d = data->d, d1 = d + 1;
    double bias = m->bias > 0 ? m->bias : 0.0, total = 0;
    for (size_t c = 0; c < m->n_w; c++) {
        const double *w = m->W + c * d1;
        double reg = plain_dot(d1, w, w), loss = 0;
        for (size_t i = 0; i < data->n; i++) {
            double y = data->y[i] == (int)c ? 1.0 : -1.0;
            double margin = 1 - y * (plain_dot(d, w, data->X + i * d) + w[d] * bias);
            if (margin > 0)
                loss += margin * margin;
        }
        total += 0.5 * reg + cfg->C * loss;
    }
    return total;
}

int svm_check_feasible(const svm_config *cfg, const svm_fitted *m, const svm_data *data,
                       char *err, size_t err_len)
{
    (void)data;
    if (m->kind == SVM_LINEARSVC) {
        for (size_t j = 0; j < m->n_w * (m->d + 1); j++)
            if (!isfinite(m->W[j])) {
                snprintf(err, err_len, "the weights are not finite");
                return -EDOM;
            }
        return 0;
    }
    size_t cap = m->cap;
    int nc = m->n_classes;
    size_t cs[SVM_MAX_CLASSES + 1];
    cs[0] = 0;
    for (int c = 0; c < nc; c++)
        cs[c + 1] = cs[c] + m->class_sv[c];
    size_t p = 0;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++, p++) {
            const double *ca = m->coef + (size_t)(b - 1) * cap;
            const double *cb = m->coef + (size_t)a * cap;
            double sum = 0, mag = 0;
            for (size_t t = cs[a]; t < cs[a + 1]; t++) {
                /* Class a is the pair's +1: its coefficients are y a >= 0. */
                if (!(ca[t] >= 0) || (cfg->model == SVM_SVC && ca[t] > cfg->C * (1 + 1e-12))) {
                    snprintf(err, err_len, "pair (%d, %d): coefficient %.17g outside [0, C]", a,
                             b, ca[t]);
                    return -EDOM;
                }
                sum += ca[t];
                mag += ca[t];
            }
            for (size_t t = cs[b]; t < cs[b + 1]; t++) {
                if (!(cb[t] <= 0) || (cfg->model == SVM_SVC && -cb[t] > cfg->C * (1 + 1e-12))) {
                    snprintf(err, err_len, "pair (%d, %d): coefficient %.17g outside [-C, 0]", a,
                             b, cb[t]);
                    return -EDOM;
                }
                sum += cb[t];
                mag -= cb[t];
            }
            /* y^T alpha = 0: each step keeps it, to rounding. */
            if (!(fabs(sum) <= 1e-9 * (mag + 1))) {
                snprintf(err, err_len, "pair (%d, %d): y^T alpha = %.3g, not 0 (sum |alpha| %.6g)",
                         a, b, sum, mag);
                return -EDOM;
            }
            if (!isfinite(m->rho[p])) {
                snprintf(err, err_len, "pair (%d, %d): rho is not finite", a, b);
                return -EDOM;
            }
        }
    return 0;
}
