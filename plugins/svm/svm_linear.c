/*
 * LinearSVC: L2-regularised squared-hinge loss by dual coordinate descent
 * (Hsieh, Chang, Lin, Keerthi and Sundararajan, ICML 2008), the algorithm
 * of LIBLINEAR's solver 1 (L2R_L2LOSS_SVC_DUAL) with its shrinking and its
 * stopping rule (the spread of the projected gradient over an epoch at most
 * tol), one-vs-rest.
 *
 * The dual of each binary model is
 *     min 1/2 a^T (Q + D) a - e^T a,  a >= 0,  Q_ij = y_i y_j x_i^T x_j,
 *     D = I / (2C),
 * and w = sum a_i y_i x_i is kept current, so a coordinate step costs two
 * passes over one row (a dot and an axpy kernel). The intercept is one
 * more feature of value `bias` in every row, as LIBLINEAR appends it; it is
 * handled beside the kernels rather than copied into the data.
 *
 * The order of the coordinates is a fresh random permutation every epoch,
 * from the run's seed (LIBLINEAR uses rand(), scikit-learn its own
 * generator): the iterates differ from theirs, the optimum does not.
 */
#include "svm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct svm_dcd {
    size_t cap;
    double *alpha; /* cap */
    double *QD;    /* cap: x_i^T x_i + bias^2 + 1 / (2C) */
    size_t *index; /* cap: the permutation; the first `active` are not shrunk */
    signed char *y;
};

svm_dcd *svm_dcd_alloc(size_t n)
{
    svm_dcd *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cap = n;
    w->alpha = calloc(n ? n : 1, sizeof *w->alpha);
    w->QD = calloc(n ? n : 1, sizeof *w->QD);
    w->index = calloc(n ? n : 1, sizeof *w->index);
    w->y = calloc(n ? n : 1, 1);
    if (!w->alpha || !w->QD || !w->index || !w->y) {
        svm_dcd_free(w);
        return NULL;
    }
    return w;
}

void svm_dcd_free(svm_dcd *w)
{
    if (!w)
        return;
    free(w->alpha);
    free(w->QD);
    free(w->index);
    free(w->y);
    free(w);
}

/* A uniform index in [0, m): the modulo's bias is below m / 2^64. */
static size_t rand_below(uint64_t *rng, size_t m)
{
    return (size_t)(mlb_rand_u64(rng) % (uint64_t)m);
}

/* One binary model: y_i = +1 for class `pos`, -1 for the others; w has
 * d + 1 entries (the last is the intercept's). Returns the epochs run and
 * sets *obj to the dual objective and *converged. */
static long dcd_binary(const svm_kernels *k, const svm_config *cfg, const svm_data *data,
                       svm_dcd *ws, int pos, uint64_t *rng, double *w, double *obj,
                       int *converged)
{
    size_t n = data->n, d = data->d;
    const double *X = data->X;
    double bias = cfg->bias > 0 ? cfg->bias : 0.0;
    double diag = 0.5 / cfg->C; /* the squared hinge's term; no upper bound */
    for (size_t i = 0; i < n; i++) {
        const double *xi = X + i * d;
        ws->y[i] = data->y[i] == pos ? +1 : -1;
        ws->alpha[i] = 0;
        ws->QD[i] = diag + k->dot(d, xi, xi) + bias * bias;
        ws->index[i] = i;
    }
    memset(w, 0, (d + 1) * sizeof *w);

    /* No variable has an upper bound with the squared hinge, so only the
     * largest projected gradient of the last epoch decides shrinking. */
    double pg_max_old = HUGE_VAL;
    size_t active = n;
    long iter = 0, max_iter = cfg->max_iter > 0 ? cfg->max_iter : 1000;
    *converged = 0;
    while (iter < max_iter) {
        double pg_max = -HUGE_VAL, pg_min = HUGE_VAL;
        for (size_t s = 0; s < active; s++) {
            size_t t = s + rand_below(rng, active - s);
            size_t tmp = ws->index[s];
            ws->index[s] = ws->index[t];
            ws->index[t] = tmp;
        }
        for (size_t s = 0; s < active; s++) {
            size_t i = ws->index[s];
            const double *xi = X + i * d;
            double yi = ws->y[i];
            double G = yi * (k->dot(d, w, xi) + w[d] * bias) - 1 + ws->alpha[i] * diag;
            double PG = 0;
            if (ws->alpha[i] == 0) {
                /* At its bound and pushing out of the box more than anything
                 * moved last epoch: set aside until the final check. */
                if (G > pg_max_old) {
                    active--;
                    ws->index[s] = ws->index[active];
                    ws->index[active] = i;
                    s--;
                    continue;
                }
                if (G < 0)
                    PG = G;
            } else {
                PG = G; /* no upper bound with the squared hinge */
            }
            pg_max = fmax(pg_max, PG);
            pg_min = fmin(pg_min, PG);
            if (fabs(PG) > 1.0e-12) {
                double old = ws->alpha[i];
                ws->alpha[i] = fmax(old - G / ws->QD[i], 0.0);
                double step = (ws->alpha[i] - old) * yi;
                k->axpy(d, step, xi, w);
                w[d] += step * bias;
            }
        }
        iter++;
        if (pg_max - pg_min <= cfg->tol) {
            if (active == n) {
                *converged = 1;
                break;
            }
            /* Converged on the active set: check everything once more. */
            active = n;
            pg_max_old = HUGE_VAL;
            continue;
        }
        pg_max_old = pg_max <= 0 ? HUGE_VAL : pg_max;
    }
    double v = 0;
    for (size_t j = 0; j <= d; j++)
        v += w[j] * w[j];
    for (size_t i = 0; i < n; i++)
        v += ws->alpha[i] * (ws->alpha[i] * diag - 2);
    *obj = v / 2;
    return iter;
}

void svm_fit_linear(const svm_kernels *k, const svm_config *cfg, const svm_data *data,
                    svm_dcd *w, svm_fitted *m)
{
    uint64_t rng = cfg->seed;
    size_t d1 = data->d + 1;
    m->converged = 1;
    m->bias = cfg->bias;
    for (size_t c = 0; c < m->n_w; c++) {
        int conv;
        m->w_iter[c] = dcd_binary(k, cfg, data, w, (int)c, &rng, m->W + c * d1, &m->w_obj[c],
                                  &conv);
        if (!conv)
            m->converged = 0;
    }
}
