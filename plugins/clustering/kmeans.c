/*
 * k-means as scikit-learn 1.2 runs it (KMeans with sample weights 1):
 * centred data, k-means++ / random / given initial centres, Lloyd's or
 * Elkan's iterations, empty clusters relocated to the farthest points, and
 * the stopping rule: labels unchanged (strict convergence), or the squared
 * centre shift within tol * mean(var(X)); after a tolerance stop one more
 * assignment so that labels match the final centres. Same rule, same
 * iteration count: tests/test_clustering.c holds iterations, labels and
 * inertia to sklearn's from the same initial centres.
 */
#include "clustering.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

size_t clu_kmeanspp_trials(size_t k)
{
    return 2 + (size_t)floor(log((double)k));
}

void clu_kmeans_work_free(clu_kmeans_work *w)
{
    if (!w)
        return;
    void *p[] = {w->Xc, w->mean, w->xnorm, w->C, w->Cnew, w->cnorm, w->counts, w->shift,
                 w->labels, w->labels_old, w->best_C, w->best_labels, w->scratch, w->closest,
                 w->csum, w->cand, w->cand_rows, w->cand_norm, w->cand_id, w->pp_ids, w->map, w->perm, w->upper,
                 w->lower, w->half, w->next};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    memset(w, 0, sizeof *w);
}

int clu_kmeans_work_alloc(clu_kmeans_work *w, size_t n, size_t d, const clu_kmeans_cfg *cfg)
{
    memset(w, 0, sizeof *w);
    size_t k = cfg->k;
    w->n = n;
    w->d = d;
    w->k = k;
    w->trials = clu_kmeanspp_trials(k);
    w->Xc = clu_alloc(n * d, sizeof *w->Xc);
    w->mean = clu_alloc(d, sizeof *w->mean);
    w->xnorm = clu_alloc(n, sizeof *w->xnorm);
    w->C = clu_alloc(k * d, sizeof *w->C);
    w->Cnew = clu_alloc(k * d, sizeof *w->Cnew);
    w->cnorm = clu_alloc(k, sizeof *w->cnorm);
    w->counts = clu_alloc(k, sizeof *w->counts);
    w->shift = clu_alloc(k, sizeof *w->shift);
    w->labels = clu_alloc(n, sizeof *w->labels);
    w->labels_old = clu_alloc(n, sizeof *w->labels_old);
    w->best_C = clu_alloc(k * d, sizeof *w->best_C);
    w->best_labels = clu_alloc(n, sizeof *w->best_labels);
    w->scratch = clu_alloc((size_t)CLU_BLOCK * k, sizeof *w->scratch);
    w->closest = clu_alloc(n, sizeof *w->closest);
    w->map = clu_alloc(k, sizeof *w->map);
    int ok = w->map && w->Xc && w->mean && w->xnorm && w->C && w->Cnew && w->cnorm && w->counts &&
             w->shift && w->labels && w->labels_old && w->best_C && w->best_labels &&
             w->scratch && w->closest;
    if (ok && cfg->init == CLU_INIT_KMEANSPP) {
        w->csum = clu_alloc(n, sizeof *w->csum);
        w->cand = clu_alloc(w->trials * n, sizeof *w->cand);
        w->cand_rows = clu_alloc(w->trials * d, sizeof *w->cand_rows);
        w->cand_norm = clu_alloc(w->trials, sizeof *w->cand_norm);
        w->cand_id = clu_alloc(w->trials, sizeof *w->cand_id);
        w->pp_ids = clu_alloc(k, sizeof *w->pp_ids);
        ok = w->csum && w->cand && w->cand_rows && w->cand_norm && w->cand_id && w->pp_ids;
    }
    if (ok && cfg->init == CLU_INIT_RANDOM)
        ok = (w->perm = clu_alloc(n, sizeof *w->perm)) != NULL;
    if (ok && cfg->algo == CLU_ELKAN && k > 1) {
        w->upper = clu_alloc(n, sizeof *w->upper);
        w->lower = clu_alloc(n * k, sizeof *w->lower);
        w->half = clu_alloc(k * k, sizeof *w->half);
        w->next = clu_alloc(k, sizeof *w->next);
        ok = w->upper && w->lower && w->half && w->next;
    }
    if (!ok) {
        clu_kmeans_work_free(w);
        return -ENOMEM;
    }
    return 0;
}

static double rand_unit(uint64_t *s)
{
    return (double)(mlb_rand_u64(s) >> 11) * 0x1.0p-53;
}

/* floor(u * m), kept below m when the product rounds up to it. */
static size_t rand_below(uint64_t *s, size_t m)
{
    size_t j = (size_t)(rand_unit(s) * (double)m);
    return j < m ? j : m - 1;
}

static double sqdist_row(const double *x, const double *y, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = x[j] - y[j];
        s += t * t;
    }
    return s;
}

static void row_norms(const double *X, size_t m, size_t d, double *out)
{
    for (size_t i = 0; i < m; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++)
            s += X[i * d + j] * X[i * d + j];
        out[i] = s;
    }
}

/* ---- initialisation ------------------------------------------------------ */

/* First index with running sum >= v (numpy's searchsorted, side left),
 * kept within the array as sklearn clips it. */
static size_t search_left(const double *csum, size_t n, double v)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (csum[mid] < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? lo : n - 1;
}

void clu_kmeanspp(const clu_kernels *kern, clu_kmeans_work *w, uint64_t *rng, size_t *ids)
{
    size_t n = w->n, d = w->d, k = w->k, T = w->trials;
    const double *X = w->Xc;
    size_t first = rand_below(rng, n);
    ids[0] = first;
    memcpy(w->C, X + first * d, d * sizeof *w->C);
    kern->sqdist(X + first * d, w->xnorm + first, 1, X, w->xnorm, n, d, w->closest, n);
    double pot = 0;
    for (size_t i = 0; i < n; i++)
        pot += w->closest[i];
    for (size_t c = 1; c < k; c++) {
        double run = 0;
        for (size_t i = 0; i < n; i++)
            w->csum[i] = run += w->closest[i];
        for (size_t t = 0; t < T; t++) {
            size_t id = search_left(w->csum, n, rand_unit(rng) * pot);
            w->cand_id[t] = id;
            memcpy(w->cand_rows + t * d, X + id * d, d * sizeof *X);
            w->cand_norm[t] = w->xnorm[id];
        }
        kern->sqdist(w->cand_rows, w->cand_norm, T, X, w->xnorm, n, d, w->cand, n);
        size_t best = 0;
        double best_pot = INFINITY;
        for (size_t t = 0; t < T; t++) {
            double *row = w->cand + t * n, p = 0;
            for (size_t i = 0; i < n; i++) {
                if (w->closest[i] < row[i])
                    row[i] = w->closest[i];
                p += row[i];
            }
            if (p < best_pot) {
                best_pot = p;
                best = t;
            }
        }
        pot = best_pot;
        memcpy(w->closest, w->cand + best * n, n * sizeof *w->closest);
        ids[c] = w->cand_id[best];
        memcpy(w->C + c * d, X + ids[c] * d, d * sizeof *X);
    }
}

/* w->C = the initial centres of one run (of Xc's coordinates). */
static void init_centres(const clu_kernels *kern, const clu_kmeans_cfg *cfg, clu_kmeans_work *w,
                         uint64_t *rng)
{
    size_t n = w->n, d = w->d, k = w->k;
    if (cfg->init == CLU_INIT_FIRST) {
        memcpy(w->C, w->Xc, k * d * sizeof *w->C);
    } else if (cfg->init == CLU_INIT_RANDOM) {
        for (size_t i = 0; i < n; i++)
            w->perm[i] = i;
        for (size_t i = 0; i < k; i++) {
            size_t j = i + rand_below(rng, n - i), t = w->perm[i];
            w->perm[i] = w->perm[j];
            w->perm[j] = t;
            memcpy(w->C + i * d, w->Xc + w->perm[i] * d, d * sizeof *w->C);
        }
    } else {
        clu_kmeanspp(kern, w, rng, w->pp_ids);
    }
}

/* ---- shared steps -------------------------------------------------------- */

/* Moves each empty cluster's centre onto the point farthest from its own
 * centre (old centres C), taking that point's weight from its cluster's
 * sums, as sklearn's _relocate_empty_clusters: farthest first, ties to the
 * lowest index. sums are the new centres before averaging. */
static void relocate_empty(clu_kmeans_work *w, const double *C, double *sums, const int *labels)
{
    size_t n = w->n, d = w->d, k = w->k, empty = 0;
    for (size_t j = 0; j < k; j++)
        empty += w->counts[j] == 0;
    if (!empty)
        return;
    double *dist = w->closest;
    for (size_t i = 0; i < n; i++)
        dist[i] = sqdist_row(w->Xc + i * d, C + (size_t)labels[i] * d, d);
    for (size_t j = 0; j < k; j++) {
        if (w->counts[j] != 0)
            continue;
        size_t far = 0;
        for (size_t i = 1; i < n; i++)
            if (dist[i] > dist[far])
                far = i;
        dist[far] = -1; /* taken */
        size_t old = (size_t)labels[far];
        const double *x = w->Xc + far * d;
        for (size_t t = 0; t < d; t++) {
            sums[old * d + t] -= x[t];
            sums[j * d + t] = x[t];
        }
        w->counts[j] = 1;
        w->counts[old] -= 1;
    }
}

/* sums / counts (by the reciprocal, as sklearn), and each centre's shift. */
static void average_and_shift(clu_kmeans_work *w, const double *C, double *Cnew)
{
    size_t d = w->d, k = w->k;
    for (size_t j = 0; j < k; j++) {
        if (w->counts[j] > 0) {
            double a = 1.0 / w->counts[j];
            for (size_t t = 0; t < d; t++)
                Cnew[j * d + t] *= a;
        }
        w->shift[j] = sqrt(sqdist_row(C + j * d, Cnew + j * d, d));
    }
}

static double shift_total(const clu_kmeans_work *w)
{
    double s = 0;
    for (size_t j = 0; j < w->k; j++)
        s += w->shift[j] * w->shift[j];
    return s;
}

/* ---- Lloyd --------------------------------------------------------------- */

/* One assignment with centres C; with Cnew, also the next centres. */
static void lloyd_step(const clu_kernels *kern, clu_kmeans_work *w, const double *C, double *Cnew,
                       int *labels)
{
    size_t n = w->n, d = w->d, k = w->k;
    row_norms(C, k, d, w->cnorm);
    if (Cnew) {
        memset(Cnew, 0, k * d * sizeof *Cnew);
        memset(w->counts, 0, k * sizeof *w->counts);
    }
    for (size_t b = 0; b < n; b += CLU_BLOCK) {
        size_t m = n - b < CLU_BLOCK ? n - b : CLU_BLOCK;
        kern->assign(w->Xc + b * d, m, d, C, w->cnorm, k, labels + b, Cnew,
                     Cnew ? w->counts : NULL, w->scratch);
    }
    if (Cnew) {
        relocate_empty(w, C, Cnew, labels);
        average_and_shift(w, C, Cnew);
    }
}

/* ---- Elkan --------------------------------------------------------------- */

static void centre_half_distances(clu_kmeans_work *w, const double *C)
{
    size_t d = w->d, k = w->k;
    for (size_t a = 0; a < k; a++) {
        w->half[a * k + a] = 0;
        for (size_t b = a + 1; b < k; b++)
            w->half[a * k + b] = w->half[b * k + a] =
                sqrt(sqdist_row(C + a * d, C + b * d, d)) / 2;
    }
    for (size_t a = 0; a < k; a++) {
        double m = INFINITY;
        for (size_t b = 0; b < k; b++)
            if (b != a && w->half[a * k + b] < m)
                m = w->half[a * k + b];
        w->next[a] = m;
    }
}

/* Labels and bounds from scratch, skipping centres the triangle inequality
 * rules out (sklearn's init_bounds). */
static void elkan_init_bounds(clu_kmeans_work *w, const double *C, int *labels)
{
    size_t n = w->n, d = w->d, k = w->k;
    for (size_t i = 0; i < n; i++) {
        const double *x = w->Xc + i * d;
        double *lo = w->lower + i * k;
        size_t best = 0;
        double min = sqrt(sqdist_row(x, C, d));
        memset(lo, 0, k * sizeof *lo);
        lo[0] = min;
        for (size_t j = 1; j < k; j++) {
            if (min > w->half[best * k + j]) {
                double dd = sqrt(sqdist_row(x, C + j * d, d));
                lo[j] = dd;
                if (dd < min) {
                    min = dd;
                    best = j;
                }
            }
        }
        labels[i] = (int)best;
        w->upper[i] = min;
    }
}

/* One Elkan iteration from centres C; with Cnew, the next centres and the
 * bounds moved by the centres' shifts. */
static void elkan_step(clu_kmeans_work *w, const double *C, double *Cnew, int *labels)
{
    size_t n = w->n, d = w->d, k = w->k;
    if (Cnew) {
        memset(Cnew, 0, k * d * sizeof *Cnew);
        memset(w->counts, 0, k * sizeof *w->counts);
    }
    for (size_t i = 0; i < n; i++) {
        const double *x = w->Xc + i * d;
        double *lo = w->lower + i * k;
        double ub = w->upper[i];
        size_t label = (size_t)labels[i];
        int tight = 0;
        if (!(w->next[label] >= ub)) {
            for (size_t j = 0; j < k; j++) {
                if (j == label || !(ub > lo[j]) || !(ub > w->half[label * k + j]))
                    continue;
                if (!tight) {
                    ub = sqrt(sqdist_row(x, C + label * d, d));
                    lo[label] = ub;
                    tight = 1;
                }
                if (ub > lo[j] || ub > w->half[label * k + j]) {
                    double dd = sqrt(sqdist_row(x, C + j * d, d));
                    lo[j] = dd;
                    if (dd < ub) {
                        label = j;
                        ub = dd;
                    }
                }
            }
            labels[i] = (int)label;
            w->upper[i] = ub;
        }
        if (Cnew) {
            w->counts[label] += 1;
            double *s = Cnew + label * d;
            for (size_t t = 0; t < d; t++)
                s[t] += x[t];
        }
    }
    if (!Cnew)
        return;
    relocate_empty(w, C, Cnew, labels);
    average_and_shift(w, C, Cnew);
    for (size_t i = 0; i < n; i++) {
        w->upper[i] += w->shift[labels[i]];
        double *lo = w->lower + i * k;
        for (size_t j = 0; j < k; j++) {
            lo[j] -= w->shift[j];
            if (lo[j] < 0)
                lo[j] = 0;
        }
    }
}

/* ---- one run, and the fit ------------------------------------------------ */

/* Iterates from w->C; leaves the final centres in w->C and the labels in
 * w->labels. Returns the iterations run. */
static int run_once(const clu_kernels *kern, const clu_kmeans_cfg *cfg, clu_kmeans_work *w,
                    double tol_abs, int *converged)
{
    size_t n = w->n, k = w->k;
    int elkan = cfg->algo == CLU_ELKAN && k > 1; /* sklearn: elkan with one cluster is lloyd */
    double *cur = w->C, *nxt = w->Cnew;
    int *labels = w->labels;
    for (size_t i = 0; i < n; i++)
        w->labels_old[i] = -1;
    if (elkan) {
        centre_half_distances(w, cur);
        elkan_init_bounds(w, cur, labels);
    }
    int strict = 0, n_iter = cfg->max_iter;
    *converged = 0;
    for (int it = 0; it < cfg->max_iter; it++) {
        if (elkan) {
            elkan_step(w, cur, nxt, labels);
            centre_half_distances(w, nxt);
        } else {
            lloyd_step(kern, w, cur, nxt, labels);
        }
        double *t = cur;
        cur = nxt;
        nxt = t;
        if (!memcmp(labels, w->labels_old, n * sizeof *labels)) {
            strict = 1;
            *converged = 1;
            n_iter = it + 1;
            break;
        }
        if (shift_total(w) <= tol_abs) {
            *converged = 1;
            n_iter = it + 1;
            break;
        }
        memcpy(w->labels_old, labels, n * sizeof *labels);
    }
    if (!strict) {
        /* The labels of the final centres (sklearn's extra E-step). */
        if (elkan)
            elkan_step(w, cur, NULL, labels);
        else
            lloyd_step(kern, w, cur, NULL, labels);
    }
    if (cur != w->C)
        memcpy(w->C, cur, k * w->d * sizeof *cur);
    return n_iter;
}

/* sklearn's _is_same_clustering: b is a relabelling of a. */
static int same_clustering(const int *a, const int *b, size_t n, size_t k, int *map)
{
    for (size_t j = 0; j < k; j++)
        map[j] = -1;
    for (size_t i = 0; i < n; i++) {
        if (map[a[i]] == -1)
            map[a[i]] = b[i];
        else if (map[a[i]] != b[i])
            return 0;
    }
    return 1;
}

void clu_kmeans_fit(const clu_kernels *kern, const clu_kmeans_cfg *cfg, const double *X,
                    clu_kmeans_work *w, clu_kmeans_result *r)
{
    size_t n = w->n, d = w->d, k = w->k;
    /* Centred, as sklearn fits dense data: the GEMM distance form loses less
     * to cancellation, and the two agree to rounding. */
    memset(w->mean, 0, d * sizeof *w->mean);
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++)
            w->mean[j] += X[i * d + j];
    for (size_t j = 0; j < d; j++)
        w->mean[j] /= (double)n;
    double var = 0;
    for (size_t i = 0; i < n; i++) {
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = X[i * d + j] - w->mean[j];
            w->Xc[i * d + j] = t;
            s += t * t;
        }
        w->xnorm[i] = s; /* the row's squared norm, and its share of the variance */
        var += s;
    }
    /* sklearn's _tolerance: tol times the mean of the per-feature variances. */
    double tol_abs = cfg->tol == 0 ? 0 : cfg->tol * (var / (double)n / (double)d);

    uint64_t rng = cfg->seed;
    int n_init = cfg->init == CLU_INIT_FIRST ? 1 : cfg->n_init;
    double best = INFINITY;
    int have = 0;
    int *map = w->map;
    for (int run = 0; run < n_init; run++) {
        init_centres(kern, cfg, w, &rng);
        int conv = 0, it = run_once(kern, cfg, w, tol_abs, &conv);
        double inertia = 0;
        for (size_t i = 0; i < n; i++)
            inertia += sqdist_row(w->Xc + i * d, w->C + (size_t)w->labels[i] * d, d);
        if (!have ||
            (inertia < best && !same_clustering(w->labels, w->best_labels, n, k, map))) {
            have = 1;
            best = inertia;
            memcpy(w->best_C, w->C, k * d * sizeof *w->C);
            memcpy(w->best_labels, w->labels, n * sizeof *w->labels);
            r->n_iter = it;
            r->converged = conv;
        }
    }
    r->inertia = best;
    for (size_t j = 0; j < k; j++)
        for (size_t t = 0; t < d; t++)
            r->centers[j * d + t] = w->best_C[j * d + t] + w->mean[t];
    memcpy(r->labels, w->best_labels, n * sizeof *r->labels);
}

void clu_kmeans_predict(const clu_kernels *kern, const double *X, size_t m, size_t d,
                        const double *C, const double *cnorm, size_t k, int *labels,
                        double *scratch)
{
    for (size_t b = 0; b < m; b += CLU_BLOCK) {
        size_t rows = m - b < CLU_BLOCK ? m - b : CLU_BLOCK;
        kern->assign(X + b * d, rows, d, C, cnorm, k, labels + b, NULL, NULL, scratch);
    }
}
