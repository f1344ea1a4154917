/*
 * Agglomerative clustering as SciPy's linkage computes it, and
 * scikit-learn's AgglomerativeClustering labels from it.
 *
 * ward, average and complete: the nearest-neighbour chain on the condensed
 * Euclidean distance matrix, updated by the Lance-Williams formulas, O(n^2)
 * time and n(n-1)/2 doubles; a cluster lives on in the higher-index
 * representative of the two it merges (SciPy's convention). single: Prim's
 * minimum spanning tree with distances computed on the fly, O(n) memory.
 * Either way the merges are then sorted by height (stable), and the labels
 * for n_clusters are the components after the first n - n_clusters merges,
 * which is where sklearn's _hc_cut cuts SciPy's sorted tree.
 */
#include "clustering.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t clu_condensed_len(size_t n)
{
    if (n < 2)
        return 0;
    if (n > ((size_t)1 << 32))
        return 0;
    return n * (n - 1) / 2;
}

void clu_agglo_work_free(clu_agglo_work *w)
{
    if (!w)
        return;
    void *p[] = {w->cond, w->size, w->active, w->chain, w->rowstart, w->cur,
                 w->in_tree, w->ma, w->mb, w->mh, w->order, w->tmp, w->parent, w->root_label};
    for (size_t i = 0; i < sizeof p / sizeof p[0]; i++)
        free(p[i]);
    memset(w, 0, sizeof *w);
}

int clu_agglo_work_alloc(clu_agglo_work *w, size_t n, size_t d, clu_linkage linkage)
{
    memset(w, 0, sizeof *w);
    if (n < 2)
        return -EINVAL;
    w->n = n;
    w->d = d;
    size_t m = n - 1;
    w->ma = clu_alloc(m, sizeof *w->ma);
    w->mb = clu_alloc(m, sizeof *w->mb);
    w->mh = clu_alloc(m, sizeof *w->mh);
    w->order = clu_alloc(m, sizeof *w->order);
    w->tmp = clu_alloc(m, sizeof *w->tmp);
    w->parent = clu_alloc(n, sizeof *w->parent);
    w->root_label = clu_alloc(n, sizeof *w->root_label);
    int ok = w->ma && w->mb && w->mh && w->order && w->tmp && w->parent && w->root_label;
    if (ok && linkage == CLU_SINGLE) {
        w->cur = clu_alloc(n, sizeof *w->cur);
        w->in_tree = clu_alloc(n, 1);
        ok = w->cur && w->in_tree;
    } else if (ok) {
        size_t len = clu_condensed_len(n);
        w->cond = len ? clu_alloc(len, sizeof *w->cond) : NULL;
        w->size = clu_alloc(n, sizeof *w->size);
        w->active = clu_alloc(n, sizeof *w->active);
        w->chain = clu_alloc(n, sizeof *w->chain);
        w->rowstart = clu_alloc(n, sizeof *w->rowstart);
        ok = w->cond && w->size && w->active && w->chain && w->rowstart;
    }
    if (!ok) {
        clu_agglo_work_free(w);
        return -ENOMEM;
    }
    return 0;
}

/* Index of the pair (a, b), a < b, in SciPy's condensed layout. */
static size_t cidx(size_t n, size_t a, size_t b)
{
    return n * a - a * (a + 1) / 2 + (b - a - 1);
}

static double *dref(double *cond, size_t n, size_t a, size_t b)
{
    return a < b ? cond + cidx(n, a, b) : cond + cidx(n, b, a);
}

/* The condensed matrix, row by row, as SciPy's pdist: each distance the
 * square root of sum_j (x_j - y_j)^2 in order, so that equal distances in
 * tie-heavy data (iris) stay equal and the chain breaks ties as SciPy does.
 * A GEMM form would differ in the last bits, and the chain, not this
 * O(n^2 d) pass, is most of the fit. */
static void pairwise(clu_agglo_work *w, const double *X)
{
    size_t n = w->n, d = w->d;
    double *dst = w->cond;
    for (size_t i = 0; i + 1 < n; i++) {
        const double *x = X + i * d;
        for (size_t j = i + 1; j < n; j++) {
            const double *y = X + j * d;
            double s = 0;
            for (size_t t = 0; t < d; t++) {
                double u = x[t] - y[t];
                s += u * u;
            }
            *dst++ = sqrt(s);
        }
    }
}

static double lance_williams(clu_linkage l, double dxi, double dyi, double dxy, double nx,
                             double ny, double ni)
{
    switch (l) {
    case CLU_WARD: {
        double t = 1.0 / (nx + ny + ni);
        double v = (ni + nx) * t * dxi * dxi + (ni + ny) * t * dyi * dyi - ni * t * dxy * dxy;
        return sqrt(v > 0 ? v : 0);
    }
    case CLU_AVERAGE: return (nx * dxi + ny * dyi) / (nx + ny);
    case CLU_COMPLETE: return dxi > dyi ? dxi : dyi;
    case CLU_SINGLE: break;
    }
    return dxi < dyi ? dxi : dyi;
}

/* Position of x in the sorted active list. */
static size_t active_pos(const clu_agglo_work *w, size_t n_active, size_t x)
{
    size_t lo = 0, hi = n_active;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->active[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* The active cluster nearest to x, scanning in index order; *cur and *y
 * come in as the chain's previous element and its distance (or infinity),
 * and only a strictly smaller distance replaces them. The entries (i, x)
 * for i < x lie one condensed row apart each: the scan is a stream of
 * cache misses, so it prefetches ahead; those for i > x are row x. */
static void nearest(const clu_agglo_work *w, size_t n_active, size_t x, double *cur, size_t *y)
{
    const double *D = w->cond;
    const size_t *act = w->active, *rs = w->rowstart;
    size_t split = active_pos(w, n_active, x), by = *y;
    double best = *cur;
    enum { AHEAD = 16 };
    for (size_t t = 0; t < split; t++) {
        if (t + AHEAD < split)
            __builtin_prefetch(D + rs[act[t + AHEAD]] + (x - act[t + AHEAD] - 1));
        size_t i = act[t];
        double v = D[rs[i] + (x - i - 1)];
        if (v < best || by == SIZE_MAX) {
            best = v;
            by = i;
        }
    }
    const double *row = D + rs[x] - x - 1; /* row[i] = D(x, i) for i > x */
    for (size_t t = split + 1; t < n_active; t++) {
        size_t i = act[t];
        double v = row[i];
        if (v < best || by == SIZE_MAX) {
            best = v;
            by = i;
        }
    }
    *cur = best;
    *y = by;
}

static void remove_active(clu_agglo_work *w, size_t *n_active, size_t x)
{
    size_t at = active_pos(w, *n_active, x);
    memmove(w->active + at, w->active + at + 1, (*n_active - at - 1) * sizeof *w->active);
    (*n_active)--;
}

static void nn_chain(clu_agglo_work *w, clu_linkage linkage)
{
    size_t n = w->n, n_active = n, len = 0;
    double *D = w->cond;
    for (size_t i = 0; i < n; i++) {
        w->size[i] = 1;
        w->active[i] = i;
        w->rowstart[i] = n * i - i * (i + 1) / 2;
    }
    for (size_t step = 0; step + 1 < n; step++) {
        if (len == 0)
            w->chain[len++] = w->active[0];
        size_t x, y;
        double cur;
        for (;;) {
            x = w->chain[len - 1];
            /* The chain's previous element wins ties, so that the chain
             * cannot cycle between equidistant clusters. */
            if (len > 1) {
                y = w->chain[len - 2];
                cur = *dref(D, n, x, y);
            } else {
                y = SIZE_MAX;
                cur = INFINITY;
            }
            nearest(w, n_active, x, &cur, &y);
            if (len > 1 && y == w->chain[len - 2])
                break;
            w->chain[len++] = y;
        }
        len -= 2;
        if (x > y) {
            size_t t = x;
            x = y;
            y = t;
        }
        double nx = (double)w->size[x], ny = (double)w->size[y];
        w->ma[step] = x;
        w->mb[step] = y;
        w->mh[step] = cur;
        w->size[y] += w->size[x];
        w->size[x] = 0;
        remove_active(w, &n_active, x);
        enum { AHEAD = 16 };
        for (size_t t = 0; t < n_active; t++) {
            if (t + AHEAD < n_active) {
                size_t a = w->active[t + AHEAD];
                if (a < y)
                    __builtin_prefetch(D + w->rowstart[a] + (y - a - 1), 1);
                if (a < x)
                    __builtin_prefetch(D + w->rowstart[a] + (x - a - 1));
            }
            size_t i = w->active[t];
            if (i == y)
                continue;
            double *dy = dref(D, n, i, y);
            *dy = lance_williams(linkage, *dref(D, n, i, x), *dy, cur, nx, ny,
                                 (double)w->size[i]);
        }
    }
}

static double euclid(const double *x, const double *y, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = x[j] - y[j];
        s += t * t;
    }
    return sqrt(s);
}

/* Prim's algorithm from row 0, as sklearn's mst_linkage_core: the edge to
 * each new node is the smallest current distance, ties to the lowest index. */
static void prim(clu_agglo_work *w, const double *X)
{
    size_t n = w->n, d = w->d, current = 0;
    for (size_t i = 0; i < n; i++) {
        w->cur[i] = INFINITY;
        w->in_tree[i] = 0;
    }
    for (size_t step = 0; step + 1 < n; step++) {
        w->in_tree[current] = 1;
        const double *xc = X + current * d;
        double best = INFINITY;
        size_t next = 0;
        int found = 0;
        for (size_t j = 0; j < n; j++) {
            if (w->in_tree[j])
                continue;
            double v = euclid(xc, X + j * d, d);
            if (v < w->cur[j])
                w->cur[j] = v;
            if (!found || w->cur[j] < best) {
                best = w->cur[j];
                next = j;
                found = 1;
            }
        }
        w->ma[step] = current;
        w->mb[step] = next;
        w->mh[step] = best;
        current = next;
    }
}

/* order[0..m) = merge indices by height, equal heights in merge order. */
static void sort_merges(clu_agglo_work *w)
{
    size_t m = w->n - 1;
    size_t *a = w->order, *b = w->tmp;
    for (size_t i = 0; i < m; i++)
        a[i] = i;
    for (size_t width = 1; width < m; width *= 2) {
        for (size_t lo = 0; lo < m; lo += 2 * width) {
            size_t mid = lo + width < m ? lo + width : m;
            size_t hi = lo + 2 * width < m ? lo + 2 * width : m;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi)
                b[o++] = w->mh[a[j]] < w->mh[a[i]] ? a[j++] : a[i++];
            while (i < mid)
                b[o++] = a[i++];
            while (j < hi)
                b[o++] = a[j++];
        }
        size_t *t = a;
        a = b;
        b = t;
    }
    if (a != w->order)
        memcpy(w->order, a, m * sizeof *a);
}

static size_t root_of(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

void clu_agglo_fit(const clu_kernels *kern, const clu_agglo_cfg *cfg, const double *X,
                   clu_agglo_work *w, clu_agglo_result *r)
{
    (void)kern; /* every variant runs this code: see pairwise() */
    size_t n = w->n, m = n - 1;
    if (cfg->linkage == CLU_SINGLE) {
        prim(w, X);
    } else {
        pairwise(w, X);
        nn_chain(w, cfg->linkage);
    }
    sort_merges(w);
    r->height_sum = 0;
    for (size_t t = 0; t < m; t++) {
        double h = w->mh[w->order[t]];
        r->height_sum += h;
        if (r->heights)
            r->heights[t] = h;
    }
    for (size_t i = 0; i < n; i++) {
        w->parent[i] = i;
        w->root_label[i] = -1;
    }
    size_t k = cfg->n_clusters < n ? cfg->n_clusters : n;
    for (size_t t = 0; t < n - k; t++) {
        size_t a = root_of(w->parent, w->ma[w->order[t]]);
        size_t b = root_of(w->parent, w->mb[w->order[t]]);
        if (a != b)
            w->parent[a > b ? a : b] = a < b ? a : b;
    }
    int next = 0;
    for (size_t i = 0; i < n; i++) {
        size_t root = root_of(w->parent, i);
        if (w->root_label[root] < 0)
            w->root_label[root] = next++;
        r->labels[i] = w->root_label[root];
    }
}
