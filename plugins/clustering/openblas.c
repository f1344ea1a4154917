/*
 * clustering:openblas: distances by GEMM, ||a||^2 + ||b||^2 - 2 a.b with the
 * squared norms precomputed (as scikit-learn's euclidean_distances and its
 * Lloyd loop), for Lloyd's assignment, k-means++ and brute-force DBSCAN;
 * BLAS (daxpy) for the centre sums; openblas_set_num_threads(threads).
 * Elkan's per-point distances, the k-d tree and agglomerative clustering
 * are the shared code's.
 */
#include "clustering.h"

#include "../common/openblas_threads.h"

static void ob_set_threads(int threads)
{
    mlb_openblas_set_threads(threads);
}

static void ob_sqdist(const double *A, const double *an, size_t m, const double *B,
                      const double *bn, size_t k, size_t d, double *D, size_t ldd)
{
    /* -2 A B^T, then the norms added in one pass over D (as scikit-learn's
     * euclidean_distances), rather than B's norms copied into D first for
     * beta = 1: one write of the block less, most of the cost at small d.
     * Sizes are within the plugin's sanity limits, well inside blasint. */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)k, (blasint)d,
                -2.0, A, (blasint)d, B, (blasint)d, 0.0, D, (blasint)ldd);
    for (size_t i = 0; i < m; i++) {
        double *row = D + i * ldd, a = an[i];
        for (size_t j = 0; j < k; j++) {
            double v = row[j] + a + bn[j];
            row[j] = v > 0 ? v : 0; /* cancellation can go below 0; sklearn clips too */
        }
    }
}

static void ob_assign(const double *X, size_t m, size_t d, const double *C, const double *cnorm,
                      size_t k, int *labels, double *sums, double *counts, double *scratch)
{
    /* -2 x.c, plus ||c||^2 in the argmin: ||x||^2 is the same for every
     * centre of a row, so the argmin needs no more (sklearn's Lloyd loop
     * omits it likewise). */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)k, (blasint)d,
                -2.0, X, (blasint)d, C, (blasint)d, 0.0, scratch, (blasint)k);
    for (size_t i = 0; i < m; i++) {
        const double *row = scratch + i * k;
        size_t best = 0;
        double min = row[0] + cnorm[0];
        for (size_t j = 1; j < k; j++) {
            double v = row[j] + cnorm[j];
            if (v < min) {
                min = v;
                best = j;
            }
        }
        labels[i] = (int)best;
        if (sums) {
            cblas_daxpy((blasint)d, 1.0, X + i * d, 1, sums + best * d, 1);
            counts[best] += 1;
        }
    }
}

const clu_kernels clu_kernels_openblas = {
    .name = "openblas",
    .set_threads = ob_set_threads,
    .sqdist = ob_sqdist,
    .assign = ob_assign,
};

MLB_DEFINE_VARIANT(clustering, clu_kernels_openblas, "openblas",
                   "k-means, DBSCAN, agglomerative with GEMM distances (||x||^2 + ||c||^2 - "
                   "2 X C^T) and BLAS centre sums, openblas_set_num_threads(threads); infer "
                   "(kmeans only): nearest centre per row",
                   NULL);
