/*
 * SMO for C-SVC and nu-SVC, the algorithm of LIBSVM's Solver and Solver_NU
 * (Fan, Chen and Lin, JMLR 6, 2005; Chang and Lin, ACM TIST 2011): working
 * sets by second-order information (WSS3), shrinking with a final
 * unshrink, gradient reconstruction from G_bar, and an LRU cache of kernel
 * rows held as float. Written from the papers and a reading of LIBSVM
 * 3.24's solver (no code taken), keeping its choices wherever they decide
 * the iterates (ties go to the later index, rows are cached as float, the
 * shrinking period, the order of the clipping cases), so that on the same
 * rows the solver takes LIBSVM's steps and reaches its dual objective and
 * support vectors.
 *
 * Unlike LIBSVM, nothing is allocated while solving: the workspace, the
 * cache's pool and the sub-problem's copy of its rows are made once, in
 * setup, for the largest pair.
 */
#include "svm.h"

#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TAU 1e-12

enum { ST_LOWER = 0, ST_UPPER = 1, ST_FREE = 2 };

struct svm_smo {
    int cap;             /* most rows of a sub-problem */
    size_t d;
    /* The sub-problem, in the solver's order: shrinking swaps rows, so that
     * the active ones are the first active_size, contiguous for gemv. */
    double *X;           /* cap x d */
    double *sq;          /* cap: |x_i|^2 */
    double *dots;        /* cap: scratch, one row's dot products */
    signed char *y;      /* cap: +1 or -1 */
    char *status;        /* cap: ST_* */
    int *active_set;     /* cap: original position of each row */
    unsigned char *nonzero; /* n: the training row is a support vector */
    int *swap_i, *swap_j;   /* cap: the pairs a shrinking pass swapped, i < j */
    int n_swaps;
    double *alpha, *G, *G_bar, *p, *QD; /* cap each */

    /* Kernel-row cache: a pool of slots of `stride` floats (the current
     * sub-problem's l), each holding the first len[s] entries of row
     * owner[s] of Q, in an LRU list with sentinel n_slots. */
    float *pool;
    size_t pool_floats;
    int n_slots, stride;
    int *slot_of; /* cap: the slot holding row i, or -1 */
    int *owner, *len, *prev, *next; /* cap + 1 each (the last is the sentinel) */

    /* The problem being solved. */
    int l, active_size, nu, unshrink;
    double Cp, Cn, eps;
    const svm_kernels *k;
    const svm_kparams *kp;
};

long svm_smo_max_iter(long max_iter, int l)
{
    if (max_iter > 0)
        return max_iter;
    long lim = l > INT_MAX / 100 ? INT_MAX : 100L * l;
    return lim > 10000000 ? lim : 10000000;
}

void svm_smo_free(svm_smo *w)
{
    if (!w)
        return;
    free(w->X);
    free(w->sq);
    free(w->dots);
    free(w->y);
    free(w->status);
    free(w->active_set);
    free(w->nonzero);
    free(w->swap_i);
    free(w->swap_j);
    free(w->alpha);
    free(w->G);
    free(w->G_bar);
    free(w->p);
    free(w->QD);
    free(w->pool);
    free(w->slot_of);
    free(w->owner);
    free(w->len);
    free(w->prev);
    free(w->next);
    free(w);
}

svm_smo *svm_smo_alloc(int cap, size_t n, size_t d, double cache_mb)
{
    if (cap < 2)
        return NULL;
    svm_smo *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    size_t c = (size_t)cap;
    w->cap = cap;
    w->d = d;
    w->X = malloc(c * d * sizeof *w->X);
    w->sq = malloc(c * sizeof *w->sq);
    w->dots = malloc(c * sizeof *w->dots);
    w->y = malloc(c);
    w->status = malloc(c);
    w->active_set = malloc(c * sizeof *w->active_set);
    w->nonzero = malloc(n);
    w->swap_i = malloc(c * sizeof(int));
    w->swap_j = malloc(c * sizeof(int));
    w->alpha = malloc(c * sizeof(double));
    w->G = malloc(c * sizeof(double));
    w->G_bar = malloc(c * sizeof(double));
    w->p = malloc(c * sizeof(double));
    w->QD = malloc(c * sizeof(double));
    w->slot_of = malloc(c * sizeof(int));
    w->owner = malloc((c + 1) * sizeof(int));
    w->len = malloc((c + 1) * sizeof(int));
    w->prev = malloc((c + 1) * sizeof(int));
    w->next = malloc((c + 1) * sizeof(int));
    /* The budget, but no more than the whole matrix, and at least two rows
     * (a step needs rows i and j at once). */
    double budget = cache_mb * 1048576.0 / sizeof(float);
    double whole = (double)c * (double)c;
    double floats = budget < whole ? budget : whole;
    if (floats < 2.0 * (double)c)
        floats = 2.0 * (double)c;
    w->pool_floats = (size_t)floats;
    w->pool = malloc(w->pool_floats * sizeof(float));
    if (!w->X || !w->sq || !w->dots || !w->y || !w->status || !w->active_set || !w->nonzero || !w->swap_i || !w->swap_j || !w->alpha ||
        !w->G || !w->G_bar || !w->p || !w->QD || !w->slot_of || !w->owner || !w->len ||
        !w->prev || !w->next || !w->pool) {
        svm_smo_free(w);
        return NULL;
    }
    /* Everything but the pool is written now so that the fit does not pay
     * its page faults. The pool is a budget, as LIBSVM's cache_size is: its
     * pages are touched only as rows are first cached, as LIBSVM's malloc'd
     * rows are, so a problem that needs a few rows does not hold cache_mb. */
    memset(w->X, 0, c * d * sizeof *w->X);
    memset(w->sq, 0, c * sizeof *w->sq);
    memset(w->dots, 0, c * sizeof *w->dots);
    memset(w->y, 0, c);
    memset(w->status, 0, c);
    memset(w->active_set, 0, c * sizeof *w->active_set);
    memset(w->nonzero, 0, n);
    memset(w->swap_i, 0, c * sizeof(int));
    memset(w->swap_j, 0, c * sizeof(int));
    memset(w->alpha, 0, c * sizeof(double));
    memset(w->G, 0, c * sizeof(double));
    memset(w->G_bar, 0, c * sizeof(double));
    memset(w->p, 0, c * sizeof(double));
    memset(w->QD, 0, c * sizeof(double));
    return w;
}

/* ---- the cache ------------------------------------------------------------ */

static void lru_unlink(svm_smo *w, int s)
{
    w->next[w->prev[s]] = w->next[s];
    w->prev[w->next[s]] = w->prev[s];
}

/* Most recently used: just before the sentinel. */
static void lru_push_mru(svm_smo *w, int s)
{
    int sent = w->n_slots;
    w->prev[s] = w->prev[sent];
    w->next[s] = sent;
    w->next[w->prev[sent]] = s;
    w->prev[sent] = s;
}

/* Least recently used: just after the sentinel, the next to be reused. */
static void lru_push_lru(svm_smo *w, int s)
{
    int sent = w->n_slots;
    w->next[s] = w->next[sent];
    w->prev[s] = sent;
    w->prev[w->next[sent]] = s;
    w->next[sent] = s;
}

static void cache_reset(svm_smo *w, int l)
{
    w->n_swaps = 0;
    w->stride = l;
    size_t slots = w->pool_floats / (size_t)l;
    w->n_slots = slots > (size_t)l ? l : (int)slots;
    int sent = w->n_slots;
    w->next[sent] = w->prev[sent] = sent;
    for (int s = 0; s < w->n_slots; s++) {
        w->owner[s] = -1;
        w->len[s] = 0;
        lru_push_mru(w, s);
    }
    for (int i = 0; i < l; i++)
        w->slot_of[i] = -1;
}

/* Q_i[start, end) into out[start, end): one gemv over the rows, then the
 * kernel function, signs, and LIBSVM's rounding to float. */
static void q_fill(svm_smo *w, int i, int start, int end, float *out)
{
    size_t d = w->d;
    int m = end - start;
    w->k->gemv((size_t)m, d, w->X + (size_t)start * d, w->X + (size_t)i * d, w->dots);
    svm_kernel_row(w->k, w->kp, (size_t)m, w->dots, w->sq[i], w->sq + start);
    int yi = w->y[i];
    for (int t = 0; t < m; t++)
        out[start + t] = (float)(yi * w->y[start + t] * w->dots[t]);
}

/* Row i of Q, its first len entries valid; stays valid until two other
 * rows have been asked for (the LRU never evicts the row just used). */
static const float *get_q(svm_smo *w, int i, int len)
{
    int s = w->slot_of[i];
    if (s < 0) {
        s = w->next[w->n_slots]; /* the least recently used */
        if (w->owner[s] >= 0)
            w->slot_of[w->owner[s]] = -1;
        w->owner[s] = i;
        w->len[s] = 0;
        w->slot_of[i] = s;
    }
    lru_unlink(w, s);
    lru_push_mru(w, s);
    float *row = w->pool + (size_t)s * (size_t)w->stride;
    if (w->len[s] < len) {
        q_fill(w, i, w->len[s], len, row);
        w->len[s] = len;
    }
    return row;
}

/* Rows i < j trade places in the cache: the owners now, the entries of
 * the cached rows later (cache_swap_entries), for every pair a shrinking
 * pass swaps at once. */
static void cache_swap_owners(svm_smo *w, int i, int j)
{
    int si = w->slot_of[i], sj = w->slot_of[j];
    w->slot_of[i] = sj;
    w->slot_of[j] = si;
    if (si >= 0)
        w->owner[si] = j;
    if (sj >= 0)
        w->owner[sj] = i;
    w->swap_i[w->n_swaps] = i;
    w->swap_j[w->n_swaps] = j;
    w->n_swaps++;
}

/* The recorded swaps applied to the entries of every cached row: entries i
 * and j trade places, and a row cached past i but not past j keeps only its
 * first i entries (LIBSVM drops such a row whole). One shrinking pass swaps
 * disjoint pairs in increasing i, so a row takes them in any order: one row
 * at a time keeps each row in cache, where LIBSVM's pair at a time walks
 * every cached row for every pair. */
static void cache_swap_entries(svm_smo *w)
{
    int sent = w->n_slots, n = w->n_swaps;
    if (n == 0)
        return;
    for (int s = w->next[sent]; s != sent;) {
        int nx = w->next[s];
        float *row = w->pool + (size_t)s * (size_t)w->stride;
        for (int k = 0; k < n && w->len[s] > w->swap_i[k]; k++) {
            int i = w->swap_i[k], j = w->swap_j[k];
            if (w->len[s] > j) {
                float t = row[i];
                row[i] = row[j];
                row[j] = t;
            } else {
                w->len[s] = i;
                break;
            }
        }
        if (w->len[s] == 0 && w->owner[s] >= 0) {
            w->slot_of[w->owner[s]] = -1;
            w->owner[s] = -1;
            lru_unlink(w, s);
            lru_push_lru(w, s);
        }
        s = nx;
    }
    w->n_swaps = 0;
}

/* ---- the solver ------------------------------------------------------------ */

static double get_c(const svm_smo *w, int i)
{
    return w->y[i] > 0 ? w->Cp : w->Cn;
}

static void update_status(svm_smo *w, int i)
{
    if (w->alpha[i] >= get_c(w, i))
        w->status[i] = ST_UPPER;
    else if (w->alpha[i] <= 0)
        w->status[i] = ST_LOWER;
    else
        w->status[i] = ST_FREE;
}

#define IS_UPPER(w, i) ((w)->status[i] == ST_UPPER)
#define IS_LOWER(w, i) ((w)->status[i] == ST_LOWER)
#define IS_FREE(w, i) ((w)->status[i] == ST_FREE)

static void swap_d(double *a, int i, int j)
{
    double t = a[i];
    a[i] = a[j];
    a[j] = t;
}

static void swap_index(svm_smo *w, int i, int j)
{
    if (i == j)
        return;
    if (i > j) {
        int t = i;
        i = j;
        j = t;
    }
    cache_swap_owners(w, i, j);
    double *xi = w->X + (size_t)i * w->d, *xj = w->X + (size_t)j * w->d;
    for (size_t c = 0; c < w->d; c++) {
        double t = xi[c];
        xi[c] = xj[c];
        xj[c] = t;
    }
    swap_d(w->sq, i, j);
    swap_d(w->QD, i, j);
    swap_d(w->G, i, j);
    swap_d(w->alpha, i, j);
    swap_d(w->p, i, j);
    swap_d(w->G_bar, i, j);
    signed char ty = w->y[i];
    w->y[i] = w->y[j];
    w->y[j] = ty;
    char ts = w->status[i];
    w->status[i] = w->status[j];
    w->status[j] = ts;
    int ta = w->active_set[i];
    w->active_set[i] = w->active_set[j];
    w->active_set[j] = ta;
}

/* G of the shrunk variables, from G_bar and the free variables' rows,
 * whichever way touches fewer kernel entries. */
static void reconstruct_gradient(svm_smo *w)
{
    int l = w->l, as = w->active_size;
    if (as == l)
        return;
    for (int j = as; j < l; j++)
        w->G[j] = w->G_bar[j] + w->p[j];
    int nr_free = 0;
    for (int j = 0; j < as; j++)
        if (IS_FREE(w, j))
            nr_free++;
    if ((double)nr_free * l > 2.0 * as * (l - as)) {
        for (int i = as; i < l; i++) {
            const float *Qi = get_q(w, i, as);
            for (int j = 0; j < as; j++)
                if (IS_FREE(w, j))
                    w->G[i] += w->alpha[j] * Qi[j];
        }
    } else {
        for (int i = 0; i < as; i++)
            if (IS_FREE(w, i)) {
                const float *Qi = get_q(w, i, l);
                double ai = w->alpha[i];
                for (int j = as; j < l; j++)
                    w->G[j] += ai * Qi[j];
            }
    }
}

/* The working-set loops divide once per violating candidate, -d^2 / quad,
 * to compare with the best so far, obj_min (< 0 once there is one). A
 * candidate with d^2 < -obj_min quad (1 - 4 eps) has a quotient that, even
 * rounded, stays above obj_min: it is skipped on a multiplication, and the
 * choice (ties included) is the one the division would make. */
static double bound_factor(double obj_min)
{
    return obj_min < 0 && obj_min > -HUGE_VAL ? -obj_min * (1 - 4 * DBL_EPSILON) : 0.0;
}

/* WSS3 for C-SVC: i maximises -y_i G_i over I_up; j minimises the
 * second-order decrease over I_low. Returns 1 when optimal within eps. */
static int select_c(svm_smo *w, int *out_i, int *out_j)
{
    double Gmax = -HUGE_VAL, Gmax2 = -HUGE_VAL, obj_min = HUGE_VAL;
    int imax = -1, jmin = -1, as = w->active_size;
    const double *G = w->G, *QD = w->QD;
    for (int t = 0; t < as; t++) {
        if (w->y[t] == +1) {
            if (!IS_UPPER(w, t) && -G[t] >= Gmax) {
                Gmax = -G[t];
                imax = t;
            }
        } else if (!IS_LOWER(w, t) && G[t] >= Gmax) {
            Gmax = G[t];
            imax = t;
        }
    }
    const float *Qi = imax >= 0 ? get_q(w, imax, as) : NULL;
    for (int j = 0; j < as; j++) {
        double diff, quad;
        if (w->y[j] == +1) {
            if (IS_LOWER(w, j))
                continue;
            diff = Gmax + G[j];
            if (G[j] >= Gmax2)
                Gmax2 = G[j];
            if (!(diff > 0))
                continue;
            quad = QD[imax] + QD[j] - 2.0 * w->y[imax] * Qi[j];
        } else {
            if (IS_UPPER(w, j))
                continue;
            diff = Gmax - G[j];
            if (-G[j] >= Gmax2)
                Gmax2 = -G[j];
            if (!(diff > 0))
                continue;
            quad = QD[imax] + QD[j] + 2.0 * w->y[imax] * Qi[j];
        }
        double dd = diff * diff;
        if (quad > 0 && dd < bound_factor(obj_min) * quad)
            continue; /* cannot reach obj_min: the division is spared */
        double obj = quad > 0 ? -dd / quad : -dd / TAU;
        if (obj <= obj_min) {
            jmin = j;
            obj_min = obj;
        }
    }
    if (Gmax + Gmax2 < w->eps || jmin == -1)
        return 1;
    *out_i = imax;
    *out_j = jmin;
    return 0;
}

/* WSS3 for nu-SVC: i and j from the same class (its extra equality
 * constraint fixes e^T alpha per class). */
static int select_nu(svm_smo *w, int *out_i, int *out_j)
{
    double Gmaxp = -HUGE_VAL, Gmaxp2 = -HUGE_VAL, Gmaxn = -HUGE_VAL, Gmaxn2 = -HUGE_VAL;
    double obj_min = HUGE_VAL;
    int ip = -1, in = -1, jmin = -1, as = w->active_size;
    const double *G = w->G, *QD = w->QD;
    for (int t = 0; t < as; t++) {
        if (w->y[t] == +1) {
            if (!IS_UPPER(w, t) && -G[t] >= Gmaxp) {
                Gmaxp = -G[t];
                ip = t;
            }
        } else if (!IS_LOWER(w, t) && G[t] >= Gmaxn) {
            Gmaxn = G[t];
            in = t;
        }
    }
    const float *Qp = ip >= 0 ? get_q(w, ip, as) : NULL;
    const float *Qn = in >= 0 ? get_q(w, in, as) : NULL;
    for (int j = 0; j < as; j++) {
        double diff, quad;
        if (w->y[j] == +1) {
            if (IS_LOWER(w, j))
                continue;
            diff = Gmaxp + G[j];
            if (G[j] >= Gmaxp2)
                Gmaxp2 = G[j];
            if (!(diff > 0))
                continue;
            quad = QD[ip] + QD[j] - 2 * Qp[j];
        } else {
            if (IS_UPPER(w, j))
                continue;
            diff = Gmaxn - G[j];
            if (-G[j] >= Gmaxn2)
                Gmaxn2 = -G[j];
            if (!(diff > 0))
                continue;
            quad = QD[in] + QD[j] - 2 * Qn[j];
        }
        double dd = diff * diff;
        if (quad > 0 && dd < bound_factor(obj_min) * quad)
            continue;
        double obj = quad > 0 ? -dd / quad : -dd / TAU;
        if (obj <= obj_min) {
            jmin = j;
            obj_min = obj;
        }
    }
    if (fmax(Gmaxp + Gmaxp2, Gmaxn + Gmaxn2) < w->eps || jmin == -1)
        return 1;
    *out_i = w->y[jmin] == +1 ? ip : in;
    *out_j = jmin;
    return 0;
}

/* Whether variable i is bound to stay at its bound: it is, and its
 * gradient points out of the box further than the most violating pair. */
static int shrinkable(const svm_smo *w, int i, const double gm[4])
{
    /* gm: (Gmax1, Gmax2) bound the y = +1 variables, (Gmax3, Gmax4) the
     * y = -1 ones (do_shrinking). */
    double g = w->G[i];
    if (IS_UPPER(w, i))
        return w->y[i] == +1 ? -g > gm[0] : -g > gm[3];
    if (IS_LOWER(w, i))
        return w->y[i] == +1 ? g > gm[1] : g > gm[2];
    return 0;
}

static void do_shrinking(svm_smo *w)
{
    /* gm: Gmax1 = max -y G over I_up (y = +1), Gmax2 = max y G over I_low
     * (y = +1), Gmax3, Gmax4 the same for y = -1; C-SVC pools both classes
     * into one pair (Gmax1, Gmax2) as -y G and y G. */
    double gm[4] = {-HUGE_VAL, -HUGE_VAL, -HUGE_VAL, -HUGE_VAL};
    const double *G = w->G;
    int as = w->active_size;
    if (!w->nu) {
        double g1 = -HUGE_VAL, g2 = -HUGE_VAL;
        for (int i = 0; i < as; i++) {
            if (w->y[i] == +1) {
                if (!IS_UPPER(w, i) && -G[i] >= g1)
                    g1 = -G[i];
                if (!IS_LOWER(w, i) && G[i] >= g2)
                    g2 = G[i];
            } else {
                if (!IS_UPPER(w, i) && -G[i] >= g2)
                    g2 = -G[i];
                if (!IS_LOWER(w, i) && G[i] >= g1)
                    g1 = G[i];
            }
        }
        /* In C-SVC terms a y = -1 variable at its upper bound shrinks when
         * -G > Gmax2, at its lower bound when G > Gmax1. */
        gm[0] = g1;
        gm[1] = g2;
        gm[2] = g1;
        gm[3] = g2;
        if (!w->unshrink && g1 + g2 <= w->eps * 10) {
            w->unshrink = 1;
            reconstruct_gradient(w);
            w->active_size = w->l;
        }
    } else {
        for (int i = 0; i < as; i++) {
            if (!IS_UPPER(w, i)) {
                if (w->y[i] == +1) {
                    if (-G[i] > gm[0])
                        gm[0] = -G[i];
                } else if (-G[i] > gm[3]) {
                    gm[3] = -G[i];
                }
            }
            if (!IS_LOWER(w, i)) {
                if (w->y[i] == +1) {
                    if (G[i] > gm[1])
                        gm[1] = G[i];
                } else if (G[i] > gm[2]) {
                    gm[2] = G[i];
                }
            }
        }
        if (!w->unshrink && fmax(gm[0] + gm[1], gm[2] + gm[3]) <= w->eps * 10) {
            w->unshrink = 1;
            reconstruct_gradient(w);
            w->active_size = w->l;
        }
    }
    for (int i = 0; i < w->active_size; i++) {
        if (!shrinkable(w, i, gm))
            continue;
        w->active_size--;
        while (w->active_size > i) {
            if (!shrinkable(w, w->active_size, gm)) {
                swap_index(w, i, w->active_size);
                break;
            }
            w->active_size--;
        }
    }
    cache_swap_entries(w);
}

/* b (C-SVC): the mean of y G over the free variables, else the middle of
 * the interval the bounded ones allow. */
static double rho_c(const svm_smo *w)
{
    double ub = HUGE_VAL, lb = -HUGE_VAL, sum = 0;
    int nfree = 0;
    for (int i = 0; i < w->active_size; i++) {
        double yG = w->y[i] * w->G[i];
        if (IS_UPPER(w, i)) {
            if (w->y[i] == -1)
                ub = fmin(ub, yG);
            else
                lb = fmax(lb, yG);
        } else if (IS_LOWER(w, i)) {
            if (w->y[i] == +1)
                ub = fmin(ub, yG);
            else
                lb = fmax(lb, yG);
        } else {
            nfree++;
            sum += yG;
        }
    }
    return nfree > 0 ? sum / nfree : (ub + lb) / 2;
}

/* nu-SVC: one such estimate per class, r1 and r2; rho = (r1 - r2) / 2 and
 * r = (r1 + r2) / 2 (the scale back to C-SVC). */
static double rho_nu(const svm_smo *w, double *r)
{
    double ub[2] = {HUGE_VAL, HUGE_VAL}, lb[2] = {-HUGE_VAL, -HUGE_VAL}, sum[2] = {0, 0};
    int nfree[2] = {0, 0};
    for (int i = 0; i < w->active_size; i++) {
        int c = w->y[i] == +1 ? 0 : 1;
        if (IS_UPPER(w, i))
            lb[c] = fmax(lb[c], w->G[i]);
        else if (IS_LOWER(w, i))
            ub[c] = fmin(ub[c], w->G[i]);
        else {
            nfree[c]++;
            sum[c] += w->G[i];
        }
    }
    double r1 = nfree[0] > 0 ? sum[0] / nfree[0] : (ub[0] + lb[0]) / 2;
    double r2 = nfree[1] > 0 ? sum[1] / nfree[1] : (ub[1] + lb[1]) / 2;
    *r = (r1 + r2) / 2;
    return (r1 - r2) / 2;
}

/* G += dai Q_i + daj Q_j over the active set: the one pass every
 * iteration makes over l entries. Compiled also for AVX2 (four doubles a
 * step instead of SSE2's two) and chosen at load time; without FMA
 * contraction (ISO C mode) both clones compute the same values. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("avx2", "default")))
#endif
static void grad_update(int n, double *restrict G, const float *restrict Qi,
                        const float *restrict Qj, double dai, double daj)
{
    for (int t = 0; t < n; t++)
        G[t] += Qi[t] * dai + Qj[t] * daj;
}

typedef struct {
    double rho, obj, r;
    long iter;
    int hit_max_iter;
} smo_result;

/* Solves the sub-problem set up in w (X, sq, y, alpha, p of its l rows)
 * with bounds Cp (y = +1) and Cn (y = -1); alpha_out[0..l) gets the
 * solution in the original row order. */
static void smo_solve(svm_smo *w, int shrinking, long max_iter, double *alpha_out,
                      smo_result *res)
{
    int l = w->l;
    w->unshrink = 0;
    for (int i = 0; i < l; i++) {
        update_status(w, i);
        w->active_set[i] = i;
    }
    w->active_size = l;
    for (int i = 0; i < l; i++) {
        w->G[i] = w->p[i];
        w->G_bar[i] = 0;
    }
    for (int i = 0; i < l; i++) {
        if (IS_LOWER(w, i))
            continue;
        const float *Qi = get_q(w, i, l);
        double ai = w->alpha[i], Ci = get_c(w, i);
        for (int j = 0; j < l; j++)
            w->G[j] += ai * Qi[j];
        if (IS_UPPER(w, i))
            for (int j = 0; j < l; j++)
                w->G_bar[j] += Ci * Qi[j];
    }

    long iter = 0;
    int counter = (l < 1000 ? l : 1000) + 1;
    while (iter < max_iter) {
        if (--counter == 0) {
            counter = l < 1000 ? l : 1000;
            if (shrinking)
                do_shrinking(w);
        }
        int i = -1, j = -1;
        if ((w->nu ? select_nu(w, &i, &j) : select_c(w, &i, &j)) != 0) {
            reconstruct_gradient(w);
            w->active_size = l;
            if ((w->nu ? select_nu(w, &i, &j) : select_c(w, &i, &j)) != 0)
                break;
            counter = 1; /* shrink again at the next iteration */
        }
        ++iter;

        int as = w->active_size;
        const float *Qi = get_q(w, i, as);
        const float *Qj = get_q(w, j, as);
        double Ci = get_c(w, i), Cj = get_c(w, j);
        double *a = w->alpha;
        double ai_old = a[i], aj_old = a[j];
        /* The two-variable sub-problem along the constraint, then clipped
         * to the box, in LIBSVM's order of cases. */
        if (w->y[i] != w->y[j]) {
            double quad = w->QD[i] + w->QD[j] + 2 * Qi[j];
            if (quad <= 0)
                quad = TAU;
            double delta = (-w->G[i] - w->G[j]) / quad;
            double diff = a[i] - a[j];
            a[i] += delta;
            a[j] += delta;
            if (diff > 0) {
                if (a[j] < 0) {
                    a[j] = 0;
                    a[i] = diff;
                }
            } else if (a[i] < 0) {
                a[i] = 0;
                a[j] = -diff;
            }
            if (diff > Ci - Cj) {
                if (a[i] > Ci) {
                    a[i] = Ci;
                    a[j] = Ci - diff;
                }
            } else if (a[j] > Cj) {
                a[j] = Cj;
                a[i] = Cj + diff;
            }
        } else {
            double quad = w->QD[i] + w->QD[j] - 2 * Qi[j];
            if (quad <= 0)
                quad = TAU;
            double delta = (w->G[i] - w->G[j]) / quad;
            double sum = a[i] + a[j];
            a[i] -= delta;
            a[j] += delta;
            if (sum > Ci) {
                if (a[i] > Ci) {
                    a[i] = Ci;
                    a[j] = sum - Ci;
                }
            } else if (a[j] < 0) {
                a[j] = 0;
                a[i] = sum;
            }
            if (sum > Cj) {
                if (a[j] > Cj) {
                    a[j] = Cj;
                    a[i] = sum - Cj;
                }
            } else if (a[i] < 0) {
                a[i] = 0;
                a[j] = sum;
            }
        }

        grad_update(as, w->G, Qi, Qj, a[i] - ai_old, a[j] - aj_old);

        /* G_bar follows the variables at their upper bound. */
        int ui = IS_UPPER(w, i), uj = IS_UPPER(w, j);
        update_status(w, i);
        update_status(w, j);
        if (ui != IS_UPPER(w, i)) {
            Qi = get_q(w, i, l);
            double s = ui ? -Ci : Ci;
            for (int t = 0; t < l; t++)
                w->G_bar[t] += s * Qi[t];
        }
        if (uj != IS_UPPER(w, j)) {
            Qj = get_q(w, j, l);
            double s = uj ? -Cj : Cj;
            for (int t = 0; t < l; t++)
                w->G_bar[t] += s * Qj[t];
        }
    }
    res->hit_max_iter = iter >= max_iter;
    if (res->hit_max_iter && w->active_size < l) {
        reconstruct_gradient(w);
        w->active_size = l;
    }
    res->r = 0;
    res->rho = w->nu ? rho_nu(w, &res->r) : rho_c(w);
    double v = 0;
    for (int i = 0; i < l; i++)
        v += w->alpha[i] * (w->G[i] + w->p[i]);
    res->obj = v / 2;
    res->iter = iter;
    for (int i = 0; i < l; i++)
        alpha_out[w->active_set[i]] = w->alpha[i];
}

/* ---- one-vs-one ------------------------------------------------------------ */

int svm_nu_feasible(const svm_data *data, double nu, char *err, size_t err_len)
{
    for (int a = 0; a < data->n_classes; a++)
        for (int b = a + 1; b < data->n_classes; b++) {
            double na = (double)data->count[a], nb = (double)data->count[b];
            double lim = 2.0 * fmin(na, nb) / (na + nb);
            if (nu * (na + nb) / 2 > fmin(na, nb)) {
                snprintf(err, err_len,
                         "parameter nu: %g is infeasible for classes %d and %d (%zu and %zu "
                         "training rows): nu may be at most 2 min(n_a, n_b) / (n_a + n_b) = %.6g",
                         nu, a, b, data->count[a], data->count[b], lim);
                return -EDOM;
            }
        }
    return 0;
}

/* The rows of classes a then b into w, with the labels and the starting
 * point of the model. */
static void load_pair(svm_smo *w, const svm_config *cfg, const svm_data *data, int a, int b)
{
    size_t d = data->d, na = data->count[a], nb = data->count[b];
    int l = (int)(na + nb);
    memcpy(w->X, data->X + data->start[a] * d, na * d * sizeof(double));
    memcpy(w->X + na * d, data->X + data->start[b] * d, nb * d * sizeof(double));
    for (int i = 0; i < l; i++) {
        const double *x = w->X + (size_t)i * d;
        w->y[i] = (size_t)i < na ? +1 : -1;
        w->sq[i] = w->k->dot(d, x, x);
        w->QD[i] = svm_kval(w->kp, w->sq[i], w->sq[i], w->sq[i]); /* K(x, x), as LIBSVM's QD */
    }
    w->l = l;
    if (cfg->model == SVM_NUSVC) {
        /* A feasible start: the first nu l / 2 of each class at 1. */
        double pos = cfg->nu * l / 2, neg = cfg->nu * l / 2;
        for (int i = 0; i < l; i++) {
            if (w->y[i] == +1) {
                w->alpha[i] = fmin(1.0, pos);
                pos -= w->alpha[i];
            } else {
                w->alpha[i] = fmin(1.0, neg);
                neg -= w->alpha[i];
            }
            w->p[i] = 0;
        }
        w->Cp = w->Cn = 1.0;
        w->nu = 1;
    } else {
        for (int i = 0; i < l; i++) {
            w->alpha[i] = 0;
            w->p[i] = -1;
        }
        w->Cp = w->Cn = cfg->C;
        w->nu = 0;
    }
    w->eps = cfg->tol;
    cache_reset(w, l);
}

int svm_fit_ovo(const svm_kernels *k, const svm_config *cfg, const svm_data *data, svm_smo *w,
                double *pair_alpha, svm_fitted *m, char *err, size_t err_len)
{
    int nc = data->n_classes;
    size_t n = data->n, d = data->d;
    w->k = k;
    w->kp = &cfg->kp;
    m->converged = 1;
    /* pair_alpha holds pair p's l_p signed alphas at offset off; a row is
     * a support vector when any pair gives it a nonzero alpha. */
    size_t off = 0, p = 0;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++, p++) {
            load_pair(w, cfg, data, a, b);
            smo_result r;
            double *al = pair_alpha + off;
            smo_solve(w, cfg->shrinking, svm_smo_max_iter(cfg->max_iter, w->l), al, &r);
            if (cfg->model == SVM_NUSVC) {
                /* Back to the equivalent C-SVC with C = 1 / r. */
                for (int i = 0; i < w->l; i++)
                    al[i] *= (i < (int)data->count[a] ? 1.0 : -1.0) / r.r;
                r.rho /= r.r;
                r.obj /= r.r * r.r;
            } else {
                for (int i = (int)data->count[a]; i < w->l; i++)
                    al[i] = -al[i];
            }
            m->rho[p] = r.rho;
            m->pair_obj[p] = r.obj;
            m->pair_iter[p] = r.iter;
            if (r.hit_max_iter)
                m->converged = 0;
            off += (size_t)w->l;
        }
    for (size_t q = 0; q < p; q++)
        if (!isfinite(m->rho[q])) {
            snprintf(err, err_len, "pair %zu: the solver diverged (rho is not finite)", q);
            return -EDOM;
        }

    /* Support vectors in row order (so grouped by class): the rows with a
     * nonzero alpha in any pair, as LIBSVM counts them. */
    memset(w->nonzero, 0, n);
    off = 0;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++) {
            size_t na = data->count[a], nb = data->count[b];
            for (size_t i = 0; i < na; i++)
                if (fabs(pair_alpha[off + i]) > 0)
                    w->nonzero[data->start[a] + i] = 1;
            for (size_t i = 0; i < nb; i++)
                if (fabs(pair_alpha[off + na + i]) > 0)
                    w->nonzero[data->start[b] + i] = 1;
            off += na + nb;
        }
    m->n_sv = 0;
    for (int c = 0; c < nc; c++)
        m->class_sv[c] = 0;
    for (size_t i = 0; i < n; i++)
        if (w->nonzero[i]) {
            m->sv[m->n_sv++] = i;
            m->class_sv[data->y[i]]++;
        }
    /* Each support vector's coefficient against every other class, in
     * LIBSVM's sv_coef layout: in pair (a, b), a's vectors go in row b - 1,
     * b's in row a. */
    size_t cap = m->cap;
    for (size_t r = 0; r + 1 < (size_t)nc; r++)
        memset(m->coef + r * cap, 0, m->n_sv * sizeof(double));
    /* Walk the support vectors class by class; s indexes m->sv. */
    off = 0;
    for (int a = 0; a < nc; a++)
        for (int b = a + 1; b < nc; b++) {
            size_t na = data->count[a];
            for (size_t s = 0; s < m->n_sv; s++) {
                size_t i = m->sv[s];
                int c = data->y[i];
                if (c == a)
                    m->coef[(size_t)(b - 1) * cap + s] = pair_alpha[off + (i - data->start[a])];
                else if (c == b)
                    m->coef[(size_t)a * cap + s] = pair_alpha[off + na + (i - data->start[b])];
            }
            off += na + data->count[b];
        }
    for (size_t s = 0; s < m->n_sv; s++) {
        const double *x = data->X + m->sv[s] * d;
        memcpy(m->SV + s * d, x, d * sizeof(double));
        m->sv_sq[s] = k->dot(d, x, x);
    }
    return 0;
}
