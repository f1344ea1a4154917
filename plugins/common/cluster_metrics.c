/*
 * Clustering metrics as scikit-learn 1.2 computes them (cluster_metrics.h;
 * tests/test_clustering.c holds them to sklearn's values).
 */
#include "cluster_metrics.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <mlbench/plugin.h>

static size_t row_of(const size_t *idx, size_t i)
{
    return idx ? idx[i] : i;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

/* Maps the m labels to 0..L-1 in increasing label order (out[i] for the
 * i-th row); returns L, or 0 when m == 0 or memory runs out. Sorting keeps
 * it O(m log m) whatever the label values (a DBSCAN run may have thousands
 * of clusters, and -1). */
static size_t compress(const int *labels, const size_t *idx, size_t m, int *out)
{
    if (m == 0)
        return 0;
    int *u = malloc(m * sizeof *u);
    if (!u)
        return 0;
    for (size_t i = 0; i < m; i++)
        u[i] = labels[row_of(idx, i)];
    qsort(u, m, sizeof *u, cmp_int);
    size_t L = 0;
    for (size_t i = 0; i < m; i++)
        if (i == 0 || u[i] != u[L - 1])
            u[L++] = u[i];
    for (size_t i = 0; i < m; i++) {
        int v = labels[row_of(idx, i)];
        const int *p = bsearch(&v, u, L, sizeof *u, cmp_int);
        out[i] = (int)(p - u);
    }
    free(u);
    return L;
}

typedef struct {
    int a, b;
} pair;

static int cmp_pair(const void *x, const void *y)
{
    const pair *p = x, *q = y;
    if (p->a != q->a)
        return (p->a > q->a) - (p->a < q->a);
    return (p->b > q->b) - (p->b < q->b);
}

double cmetrics_adjusted_rand(const int *a, const int *b, size_t n)
{
    if (!a || !b || n == 0)
        return NAN;
    double r = NAN;
    int *ca = malloc(n * sizeof *ca), *cb = malloc(n * sizeof *cb);
    pair *p = malloc(n * sizeof *p);
    size_t La = 0, Lb = 0;
    if (ca && cb && p) {
        La = compress(a, NULL, n, ca);
        Lb = compress(b, NULL, n, cb);
    }
    uint64_t *na = La ? calloc(La, sizeof *na) : NULL, *nb = Lb ? calloc(Lb, sizeof *nb) : NULL;
    if (!na || !nb)
        goto out;
    for (size_t i = 0; i < n; i++) {
        na[ca[i]]++;
        nb[cb[i]]++;
        p[i] = (pair){ca[i], cb[i]};
    }
    /* The contingency table's non-zero cells as runs of equal pairs: no
     * La x Lb table, which all-singleton labelings would make n x n. The
     * pair counts are sklearn's pair_confusion_matrix (ordered pairs). */
    qsort(p, n, sizeof *p, cmp_pair);
    uint64_t sum_sq = 0, dot_b = 0, dot_a = 0;
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && p[j].a == p[i].a && p[j].b == p[i].b)
            j++;
        uint64_t c = (uint64_t)(j - i);
        sum_sq += c * c;
        dot_b += c * nb[p[i].b];
        dot_a += c * na[p[i].a];
        i = j;
    }
    uint64_t nn = (uint64_t)n;
    uint64_t tp = sum_sq - nn, fp = dot_b - sum_sq, fn = dot_a - sum_sq;
    uint64_t tn = nn * nn - fp - fn - sum_sq;
    if (fn == 0 && fp == 0) {
        r = 1.0;
        goto out;
    }
    long double TP = tp, FP = fp, FN = fn, TN = tn;
    r = (double)(2.0L * (TP * TN - FN * FP) / ((TP + FN) * (FN + TN) + (TP + FP) * (FP + TN)));
out:
    free(ca);
    free(cb);
    free(p);
    free(na);
    free(nb);
    return r;
}

double cmetrics_inertia(const double *X, size_t d, const int *labels, const size_t *idx, size_t m,
                        const double *centers)
{
    if (!X || !labels || !centers || m == 0)
        return NAN;
    double sum = 0;
    for (size_t i = 0; i < m; i++) {
        size_t r = row_of(idx, i);
        if (labels[r] < 0)
            return NAN;
        const double *x = X + r * d, *c = centers + (size_t)labels[r] * d;
        double s = 0;
        for (size_t j = 0; j < d; j++) {
            double t = x[j] - c[j];
            s += t * t;
        }
        sum += s;
    }
    return sum;
}

static double dist(const double *x, const double *y, size_t d)
{
    double s = 0;
    for (size_t j = 0; j < d; j++) {
        double t = x[j] - y[j];
        s += t * t;
    }
    return sqrt(s);
}

double cmetrics_silhouette(const double *X, size_t d, const int *labels, const size_t *idx,
                           size_t m)
{
    if (!X || !labels || m < 3)
        return NAN;
    int *c = malloc(m * sizeof *c);
    size_t L = c ? compress(labels, idx, m, c) : 0;
    double *sum = L ? malloc(L * sizeof *sum) : NULL;
    size_t *cnt = L ? calloc(L, sizeof *cnt) : NULL;
    double r = NAN;
    if (!sum || !cnt || L < 2 || L > m - 1)
        goto out;
    for (size_t i = 0; i < m; i++)
        cnt[c[i]]++;
    /* Each row's distance sums per cluster, then a and b from them: O(m^2 d)
     * time and O(L) memory, the same sums sklearn's chunked reduction
     * forms (its distances come from the GEMM expansion, hence agreement to
     * rounding rather than to the bit). */
    double total = 0;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + row_of(idx, i) * d;
        memset(sum, 0, L * sizeof *sum);
        for (size_t j = 0; j < m; j++)
            if (j != i)
                sum[c[j]] += dist(x, X + row_of(idx, j) * d, d);
        size_t own = (size_t)c[i];
        if (cnt[own] < 2)
            continue; /* a cluster of one scores 0 */
        double a = sum[own] / (double)(cnt[own] - 1), b = INFINITY;
        for (size_t l = 0; l < L; l++)
            if (l != own && sum[l] / (double)cnt[l] < b)
                b = sum[l] / (double)cnt[l];
        double den = a > b ? a : b;
        if (den > 0)
            total += (b - a) / den;
    }
    r = total / (double)m;
out:
    free(c);
    free(sum);
    free(cnt);
    return r;
}

double cmetrics_davies_bouldin(const double *X, size_t d, const int *labels, const size_t *idx,
                               size_t m)
{
    if (!X || !labels || m < 3 || d == 0)
        return NAN;
    int *c = malloc(m * sizeof *c);
    size_t L = c ? compress(labels, idx, m, c) : 0;
    double *cen = L ? calloc(L * d, sizeof *cen) : NULL, *s = L ? calloc(L, sizeof *s) : NULL;
    size_t *cnt = L ? calloc(L, sizeof *cnt) : NULL;
    double r = NAN;
    if (!cen || !s || !cnt || L < 2 || L > m - 1)
        goto out;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + row_of(idx, i) * d;
        double *cc = cen + (size_t)c[i] * d;
        cnt[c[i]]++;
        for (size_t j = 0; j < d; j++)
            cc[j] += x[j];
    }
    for (size_t l = 0; l < L; l++)
        for (size_t j = 0; j < d; j++)
            cen[l * d + j] /= (double)cnt[l];
    for (size_t i = 0; i < m; i++)
        s[c[i]] += dist(X + row_of(idx, i) * d, cen + (size_t)c[i] * d, d);
    int all_s_zero = 1, all_c_zero = 1;
    for (size_t l = 0; l < L; l++) {
        s[l] /= (double)cnt[l];
        all_s_zero &= fabs(s[l]) <= 1e-8;
    }
    for (size_t a = 0; a < L && all_c_zero; a++)
        for (size_t b = 0; b < L; b++)
            if (!(dist(cen + a * d, cen + b * d, d) <= 1e-8)) {
                all_c_zero = 0;
                break;
            }
    if (all_s_zero || all_c_zero) {
        r = 0.0;
        goto out;
    }
    double total = 0;
    for (size_t a = 0; a < L; a++) {
        double worst = 0;
        for (size_t b = 0; b < L; b++) {
            if (b == a)
                continue;
            double cd = dist(cen + a * d, cen + b * d, d);
            /* Coinciding centroids count as infinitely far, as sklearn sets
             * them: they contribute 0, not a division by zero. */
            double v = cd > 0 ? (s[a] + s[b]) / cd : 0.0;
            if (v > worst)
                worst = v;
        }
        total += worst;
    }
    r = total / (double)L;
out:
    free(c);
    free(cen);
    free(s);
    free(cnt);
    return r;
}

int cmetrics_sample_rows(size_t n, size_t m, uint64_t seed, size_t *idx)
{
    if (m > n || !idx)
        return -EINVAL;
    if (m == 0)
        return 0;
    size_t *perm = malloc(n * sizeof *perm);
    if (!perm)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        perm[i] = i;
    uint64_t s = seed;
    for (size_t i = 0; i < m; i++) {
        double u = (double)(mlb_rand_u64(&s) >> 11) * 0x1.0p-53;
        size_t j = i + (size_t)(u * (double)(n - i));
        if (j >= n) /* u < 1, but the product may round up */
            j = n - 1;
        size_t t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
        idx[i] = perm[i];
    }
    free(perm);
    return 0;
}
