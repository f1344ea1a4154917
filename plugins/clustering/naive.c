/*
 * clustering:naive, the reference point: every distance as a plain loop over
 * the differences, sum_j (a_j - b_j)^2, single-threaded. This is also the
 * exact form the k-d tree tests points with, so the two DBSCAN indexes agree
 * to the bit in this variant.
 */
#include "clustering.h"

static void naive_sqdist(const double *A, const double *an, size_t m, const double *B,
                         const double *bn, size_t k, size_t d, double *D, size_t ldd)
{
    (void)an;
    (void)bn;
    for (size_t i = 0; i < m; i++) {
        const double *a = A + i * d;
        for (size_t j = 0; j < k; j++) {
            const double *b = B + j * d;
            double s = 0;
            for (size_t t = 0; t < d; t++) {
                double u = a[t] - b[t];
                s += u * u;
            }
            D[i * ldd + j] = s;
        }
    }
}

static void naive_assign(const double *X, size_t m, size_t d, const double *C,
                         const double *cnorm, size_t k, int *labels, double *sums,
                         double *counts, double *scratch)
{
    (void)cnorm;
    (void)scratch;
    for (size_t i = 0; i < m; i++) {
        const double *x = X + i * d;
        size_t best = 0;
        double min = 0;
        for (size_t j = 0; j < k; j++) {
            const double *c = C + j * d;
            double s = 0;
            for (size_t t = 0; t < d; t++) {
                double u = x[t] - c[t];
                s += u * u;
            }
            if (j == 0 || s < min) {
                min = s;
                best = j;
            }
        }
        labels[i] = (int)best;
        if (sums) {
            double *dst = sums + best * d;
            for (size_t t = 0; t < d; t++)
                dst[t] += x[t];
            counts[best] += 1;
        }
    }
}

const clu_kernels clu_kernels_naive = {
    .name = "naive",
    .sqdist = naive_sqdist,
    .assign = naive_assign,
};

MLB_DEFINE_VARIANT(clustering, clu_kernels_naive, "naive",
                   "k-means (lloyd, elkan), DBSCAN (kdtree, brute), agglomerative (NN-chain, "
                   "MST) in plain C loops; infer (kmeans only): nearest centre per row",
                   NULL);
