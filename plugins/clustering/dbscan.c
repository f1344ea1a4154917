/*
 * DBSCAN with scikit-learn's labels, and the k-d tree it can use.
 *
 * sklearn stores every neighbourhood (O(total neighbours) memory, unknown
 * before the queries) and expands clusters depth-first. The labels depend
 * on nothing but which pairs are neighbours, so this computes them in
 * O(n) memory allocated up front, in passes over the neighbourhoods:
 *
 *   1. neighbourhood sizes -> core points (size >= min_samples, the point
 *      itself counted);
 *   2. core rows: union-find joins core neighbours; clusters are the
 *      components, numbered by their lowest-index core point (the order in
 *      which sklearn's loop over the points starts them);
 *   3. other rows: the lowest-numbered cluster among their core neighbours,
 *      which is the first expansion to reach them in sklearn; none: noise.
 *
 * Brute force computes each pass's distances in blocks of rows through the
 * kernel's sqdist (GEMM in openblas); the k-d tree answers radius queries
 * with the same per-point test as the naive brute force.
 */
#include "clustering.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- k-d tree ------------------------------------------------------------ */

static size_t tree_levels(size_t n, size_t leaf_size)
{
    /* sklearn's BinaryTree: 1 + floor(log2(max(1, (n - 1) / leaf_size))). */
    size_t q = n > 1 ? (n - 1) / leaf_size : 0, levels = 1;
    while (q > 1) {
        q >>= 1;
        levels++;
    }
    return levels;
}

int clu_kdtree_alloc(clu_kdtree *t, size_t n, size_t d, size_t leaf_size)
{
    memset(t, 0, sizeof *t);
    size_t levels = tree_levels(n, leaf_size ? leaf_size : 1);
    t->n = n;
    t->d = d;
    t->n_nodes = ((size_t)1 << levels) - 1;
    t->idx = clu_alloc(n, sizeof *t->idx);
    t->lo_i = clu_alloc(t->n_nodes, sizeof *t->lo_i);
    t->hi_i = clu_alloc(t->n_nodes, sizeof *t->hi_i);
    t->lo = clu_alloc(t->n_nodes * d, sizeof *t->lo);
    t->hi = clu_alloc(t->n_nodes * d, sizeof *t->hi);
    t->Xp = clu_alloc(n * d, sizeof *t->Xp);
    if (!t->idx || !t->lo_i || !t->hi_i || !t->lo || !t->hi || !t->Xp) {
        clu_kdtree_free(t);
        return -ENOMEM;
    }
    return 0;
}

void clu_kdtree_free(clu_kdtree *t)
{
    if (!t)
        return;
    free(t->idx);
    free(t->lo_i);
    free(t->hi_i);
    free(t->lo);
    free(t->hi);
    free(t->Xp);
    memset(t, 0, sizeof *t);
}

/* Reorders idx[lo..hi) so that idx[k] holds the row with the k-th smallest
 * value in column `dim`, smaller-or-equal ones before it and
 * greater-or-equal ones after (quickselect, middle pivot: deterministic). */
static void select_kth(size_t *idx, size_t lo, size_t hi, size_t k, const double *X, size_t d,
                       size_t dim)
{
    while (hi - lo > 1) {
        /* The lower middle: the partition point j then stays below hi - 1,
         * so both sides shrink. */
        double pivot = X[idx[lo + (hi - lo - 1) / 2] * d + dim];
        size_t i = lo, j = hi - 1;
        for (;;) {
            while (X[idx[i] * d + dim] < pivot)
                i++;
            while (X[idx[j] * d + dim] > pivot)
                j--;
            if (i >= j)
                break;
            size_t t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            i++;
            j--;
        }
        /* [lo, j] <= pivot <= [j + 1, hi) */
        if (k <= j)
            hi = j + 1;
        else
            lo = j + 1;
    }
}

void clu_kdtree_build(clu_kdtree *t, const double *X)
{
    size_t n = t->n, d = t->d;
    for (size_t i = 0; i < n; i++)
        t->idx[i] = i;
    t->lo_i[0] = 0;
    t->hi_i[0] = n;
    /* Nodes in index order: a parent is always built before its children. */
    for (size_t node = 0; node < t->n_nodes; node++) {
        size_t a = t->lo_i[node], b = t->hi_i[node];
        double *lo = t->lo + node * d, *hi = t->hi + node * d;
        for (size_t j = 0; j < d; j++) {
            lo[j] = INFINITY;
            hi[j] = -INFINITY;
        }
        for (size_t i = a; i < b; i++) {
            const double *x = X + t->idx[i] * d;
            for (size_t j = 0; j < d; j++) {
                if (x[j] < lo[j])
                    lo[j] = x[j];
                if (x[j] > hi[j])
                    hi[j] = x[j];
            }
        }
        size_t left = 2 * node + 1;
        if (left >= t->n_nodes)
            continue;
        size_t dim = 0;
        double spread = -1;
        for (size_t j = 0; j < d; j++)
            if (hi[j] - lo[j] > spread) {
                spread = hi[j] - lo[j];
                dim = j;
            }
        size_t mid = a + (b - a) / 2;
        if (b - a > 1)
            select_kth(t->idx, a, b, mid, X, d, dim);
        t->lo_i[left] = a;
        t->hi_i[left] = mid;
        t->lo_i[left + 1] = mid;
        t->hi_i[left + 1] = b;
    }
    /* The rows in tree order: a leaf's points are then contiguous, and the
     * per-point tests stream through memory instead of gathering. */
    for (size_t i = 0; i < n; i++)
        memcpy(t->Xp + i * d, X + t->idx[i] * d, d * sizeof *X);
}

size_t clu_kdtree_radius(const clu_kdtree *t, const double *q, double r2, size_t *out)
{
    size_t d = t->d, found = 0;
    size_t stack[130];
    size_t top = 0;
    stack[top++] = 0;
    while (top) {
        size_t node = stack[--top];
        size_t a = t->lo_i[node], b = t->hi_i[node];
        if (a >= b)
            continue;
        const double *lo = t->lo + node * d, *hi = t->hi + node * d;
        /* The box's nearest and farthest points, summed in the same order
         * as the per-point test: rounding is monotonic, so a point's sum
         * lies between the two, and pruning agrees with testing each. */
        double dmin = 0, dmax = 0;
        for (size_t j = 0; j < d; j++) {
            double below = lo[j] - q[j], above = q[j] - hi[j];
            double gap = below > 0 ? below : above > 0 ? above : 0;
            dmin += gap * gap;
            double f1 = q[j] - lo[j], f2 = hi[j] - q[j];
            double far = f1 > f2 ? f1 : f2;
            dmax += far * far;
        }
        if (dmin > r2)
            continue;
        size_t left = 2 * node + 1;
        if (dmax <= r2) {
            if (out)
                for (size_t i = a; i < b; i++)
                    out[found + i - a] = t->idx[i];
            found += b - a;
        } else if (left >= t->n_nodes) {
            for (size_t i = a; i < b; i++) {
                const double *x = t->Xp + i * d;
                double s = 0;
                for (size_t j = 0; j < d; j++) {
                    double u = q[j] - x[j];
                    s += u * u;
                }
                if (s <= r2) {
                    if (out)
                        out[found] = t->idx[i];
                    found++;
                }
            }
        } else {
            stack[top++] = left + 1;
            stack[top++] = left;
        }
    }
    return found;
}

/* ---- DBSCAN -------------------------------------------------------------- */

void clu_dbscan_work_free(clu_dbscan_work *w)
{
    if (!w)
        return;
    clu_kdtree_free(&w->tree);
    free(w->xnorm);
    free(w->D);
    free(w->rows);
    free(w->rnorm);
    free(w->rid);
    free(w->nbr);
    free(w->count);
    free(w->core);
    free(w->parent);
    free(w->cid);
    memset(w, 0, sizeof *w);
}

int clu_dbscan_work_alloc(clu_dbscan_work *w, size_t n, size_t d, const clu_dbscan_cfg *cfg)
{
    memset(w, 0, sizeof *w);
    w->n = n;
    w->d = d;
    w->count = clu_alloc(n, sizeof *w->count);
    w->core = clu_alloc(n, 1);
    w->parent = clu_alloc(n, sizeof *w->parent);
    w->cid = clu_alloc(n, sizeof *w->cid);
    int ok = w->count && w->core && w->parent && w->cid;
    if (ok && cfg->index == CLU_INDEX_KDTREE) {
        ok = clu_kdtree_alloc(&w->tree, n, d, cfg->leaf_size) == 0 &&
             (w->nbr = clu_alloc(n, sizeof *w->nbr)) != NULL;
    } else if (ok) {
        /* Blocks of rows against all n: about 8 MB of distances at most,
         * and whole GEMM-friendly blocks when n is small. */
        size_t b = ((size_t)1 << 20) / n;
        w->block = b < 1 ? 1 : b > CLU_BLOCK ? CLU_BLOCK : b;
        w->xnorm = clu_alloc(n, sizeof *w->xnorm);
        w->D = clu_alloc(w->block * n, sizeof *w->D);
        w->rows = clu_alloc(w->block * d, sizeof *w->rows);
        w->rnorm = clu_alloc(w->block, sizeof *w->rnorm);
        w->rid = clu_alloc(w->block, sizeof *w->rid);
        ok = w->xnorm && w->D && w->rows && w->rnorm && w->rid;
    }
    if (!ok) {
        clu_dbscan_work_free(w);
        return -ENOMEM;
    }
    return 0;
}

static size_t find(size_t *parent, size_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]]; /* path halving */
        i = parent[i];
    }
    return i;
}

static void unite(size_t *parent, size_t a, size_t b)
{
    a = find(parent, a);
    b = find(parent, b);
    /* The lower index becomes the root: deterministic, whatever the order
     * the pairs come in. */
    if (a < b)
        parent[b] = a;
    else if (b < a)
        parent[a] = b;
}

enum { PASS_COUNT, PASS_CORE, PASS_BORDER };

/* What a pass does with row i and its neighbours nb[0..m) (or, for the
 * brute force, with a row of distances: see brute_pass). */
static void visit(clu_dbscan_work *w, int pass, size_t i, const size_t *nb, size_t m, int *labels)
{
    if (pass == PASS_CORE) {
        for (size_t t = 0; t < m; t++)
            if (w->core[nb[t]])
                unite(w->parent, i, nb[t]);
    } else {
        int best = -1;
        for (size_t t = 0; t < m; t++) {
            size_t j = nb[t];
            if (w->core[j]) {
                int c = w->cid[find(w->parent, j)];
                if (best < 0 || c < best)
                    best = c;
            }
        }
        labels[i] = best;
    }
}

/* One pass by brute force over the rows `pass` concerns (all, core, or
 * non-core), in gathered blocks. Counting and joining core points need
 * each pair once: a block of rows is compared with the rows from its first
 * one on, and pair (p, j > p) serves both ends, which halves those passes
 * and gives both ends the same distance. Border rows need all their core
 * neighbours, at any index; they are few. */
static void brute_pass(const clu_kernels *kern, clu_dbscan_work *w, const double *X, double r2,
                       int pass, int *labels)
{
    size_t n = w->n, d = w->d, i = 0;
    if (pass == PASS_COUNT)
        memset(w->count, 0, n * sizeof *w->count);
    while (i < n) {
        size_t m = 0;
        for (; i < n && m < w->block; i++) {
            if (pass == PASS_CORE && !w->core[i])
                continue;
            if (pass == PASS_BORDER && w->core[i])
                continue;
            w->rid[m] = i;
            memcpy(w->rows + m * d, X + i * d, d * sizeof *X);
            w->rnorm[m] = w->xnorm[i];
            m++;
        }
        if (!m)
            break;
        size_t c0 = pass == PASS_BORDER ? 0 : w->rid[0], cols = n - c0;
        kern->sqdist(w->rows, w->rnorm, m, X + c0 * d, w->xnorm + c0, cols, d, w->D, cols);
        for (size_t r = 0; r < m; r++) {
            const double *row = w->D + r * cols - c0; /* row[j]: the pair (p, j) */
            size_t p = w->rid[r];
            if (pass == PASS_COUNT) {
                /* Branch-free, so that it vectorises: most pairs are far. */
                size_t c = 1, *cnt = w->count; /* the point itself */
                for (size_t j = p + 1; j < n; j++) {
                    size_t hit = row[j] <= r2;
                    c += hit;
                    cnt[j] += hit;
                }
                cnt[p] += c;
            } else if (pass == PASS_CORE) {
                for (size_t j = p + 1; j < n; j++)
                    if (row[j] <= r2 && w->core[j])
                        unite(w->parent, p, j);
            } else {
                int best = -1;
                for (size_t j = 0; j < n; j++)
                    if (row[j] <= r2 && w->core[j]) {
                        int c = w->cid[find(w->parent, j)];
                        if (best < 0 || c < best)
                            best = c;
                    }
                labels[p] = best;
            }
        }
    }
}

static void tree_pass(clu_dbscan_work *w, const double *X, double r2, int pass, int *labels)
{
    size_t n = w->n, d = w->d;
    for (size_t i = 0; i < n; i++) {
        if (pass == PASS_COUNT) {
            w->count[i] = clu_kdtree_radius(&w->tree, X + i * d, r2, NULL);
            continue;
        }
        if ((pass == PASS_CORE) != (w->core[i] != 0))
            continue;
        size_t m = clu_kdtree_radius(&w->tree, X + i * d, r2, w->nbr);
        visit(w, pass, i, w->nbr, m, labels);
    }
}

void clu_dbscan_fit(const clu_kernels *kern, const clu_dbscan_cfg *cfg, const double *X,
                    clu_dbscan_work *w, clu_dbscan_result *r)
{
    size_t n = w->n, d = w->d;
    double r2 = cfg->eps * cfg->eps;
    int *labels = r->labels;
    int tree = cfg->index == CLU_INDEX_KDTREE;
    if (tree) {
        clu_kdtree_build(&w->tree, X);
    } else {
        for (size_t i = 0; i < n; i++) {
            double s = 0;
            for (size_t j = 0; j < d; j++)
                s += X[i * d + j] * X[i * d + j];
            w->xnorm[i] = s;
        }
    }
    if (tree)
        tree_pass(w, X, r2, PASS_COUNT, labels);
    else
        brute_pass(kern, w, X, r2, PASS_COUNT, labels);
    r->n_core = 0;
    for (size_t i = 0; i < n; i++) {
        w->core[i] = w->count[i] >= cfg->min_samples;
        r->n_core += w->core[i];
        w->parent[i] = i;
    }
    if (tree)
        tree_pass(w, X, r2, PASS_CORE, labels);
    else
        brute_pass(kern, w, X, r2, PASS_CORE, labels);
    /* Clusters numbered by their lowest-index core point. */
    size_t next = 0;
    for (size_t i = 0; i < n; i++)
        w->cid[i] = -1;
    for (size_t i = 0; i < n; i++) {
        if (!w->core[i])
            continue;
        size_t root = find(w->parent, i);
        if (w->cid[root] < 0)
            w->cid[root] = (int)next++;
        labels[i] = w->cid[root];
    }
    if (tree)
        tree_pass(w, X, r2, PASS_BORDER, labels);
    else
        brute_pass(kern, w, X, r2, PASS_BORDER, labels);
    r->n_clusters = next;
    r->n_noise = 0;
    for (size_t i = 0; i < n; i++)
        r->n_noise += labels[i] < 0;
}
