/*
 * svm:naive, the reference point: the dense kernels as plain C loops,
 * single-threaded. A kernel row is one dot product per row in index order,
 * the sum LIBSVM and scikit-learn's dense LIBSVM form, so on the same rows
 * this variant computes their kernel values to the bit.
 */
#include "svm.h"

static int naive_prepare(mlb_ctx *ctx, int threads)
{
    /* Accepted rather than refused, so that one suite entry runs every
     * variant; said once per run, not once per repetition. */
    if (threads > 1 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    return 0;
}

static double naive_dot(size_t n, const double *x, const double *y)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * y[i];
    return s;
}

static void naive_axpy(size_t n, double a, const double *x, double *y)
{
    for (size_t i = 0; i < n; i++)
        y[i] += a * x[i];
}

/* out[r] = A[r,:] . x for four rows at once: each sum still runs in index
 * order (the same value as naive_dot, to the bit), but four independent
 * chains of additions keep the FPU busy where one chain waits on each add's
 * latency. */
static void dot4(size_t d, const double *a0, size_t lda, const double *x, double *out)
{
    const double *a1 = a0 + lda, *a2 = a1 + lda, *a3 = a2 + lda;
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (size_t k = 0; k < d; k++) {
        s0 += a0[k] * x[k];
        s1 += a1[k] * x[k];
        s2 += a2[k] * x[k];
        s3 += a3[k] * x[k];
    }
    out[0] = s0;
    out[1] = s1;
    out[2] = s2;
    out[3] = s3;
}

static void naive_gemv(size_t m, size_t d, const double *A, const double *x, double *out)
{
    size_t r = 0;
    for (; r + 4 <= m; r += 4)
        dot4(d, A + r * d, d, x, out + r);
    for (; r < m; r++)
        out[r] = naive_dot(d, A + r * d, x);
}

static void naive_gemm_nt(size_t m, size_t n, size_t d, const double *A, const double *B,
                          double *C)
{
    for (size_t i = 0; i < m; i++)
        naive_gemv(n, d, B, A + i * d, C + i * n); /* row i of C = B A_i */
}

const svm_kernels svm_kernels_naive = {
    .name = "naive",
    .models = SVM_MODEL_BIT(SVM_SVC) | SVM_MODEL_BIT(SVM_NUSVC) | SVM_MODEL_BIT(SVM_LINEARSVC),
    .prepare = naive_prepare,
    .dot = naive_dot,
    .axpy = naive_axpy,
    .gemv = naive_gemv,
    .gemm_nt = naive_gemm_nt,
};

MLB_DEFINE_VARIANT(svm, svm_kernels_naive, "naive",
                   "SVC/NuSVC by SMO (LIBSVM's WSS3, shrinking, LRU kernel cache) and LinearSVC "
                   "by dual coordinate descent, plain C loops",
                   NULL);
