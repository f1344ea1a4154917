/*
 * regression:naive: the kernels as plain C loops (the baseline the tuned
 * variants are measured against). Cholesky is the textbook column
 * algorithm; the Gram matrix is a triple loop over rows.
 */
#include "regression.h"

#include <math.h>

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

static void naive_gemv(int trans, size_t m, size_t n, double alpha, const double *A, size_t lda,
                       const double *x, double beta, double *y)
{
    if (!trans) {
        for (size_t i = 0; i < m; i++)
            y[i] = alpha * naive_dot(n, A + i * lda, x) + (beta != 0 ? beta * y[i] : 0.0);
        return;
    }
    /* y = alpha A^T x + beta y: accumulate row by row, reading A in order. */
    for (size_t j = 0; j < n; j++)
        y[j] = beta != 0 ? beta * y[j] : 0.0;
    for (size_t i = 0; i < m; i++)
        naive_axpy(n, alpha * x[i], A + i * lda, y);
}

static void naive_syrk(int trans, size_t m, size_t k, const double *A, size_t lda, double beta,
                       double *C, size_t ldc)
{
    if (trans) {
        /* C (k x k) = A^T A + beta C: add each row's outer product (upper
         * half). */
        for (size_t a = 0; a < k; a++)
            for (size_t b = a; b < k; b++)
                C[a * ldc + b] = beta != 0 ? beta * C[a * ldc + b] : 0.0;
        for (size_t i = 0; i < m; i++) {
            const double *r = A + i * lda;
            for (size_t a = 0; a < k; a++)
                for (size_t b = a; b < k; b++)
                    C[a * ldc + b] += r[a] * r[b];
        }
        return;
    }
    /* C (m x m) = A A^T + beta C: dot products of rows (upper half). */
    for (size_t a = 0; a < m; a++)
        for (size_t b = a; b < m; b++)
            C[a * ldc + b] =
                naive_dot(k, A + a * lda, A + b * lda) + (beta != 0 ? beta * C[a * ldc + b] : 0.0);
}

static int naive_posv(size_t n, double *A, double *b)
{
    /* In-place Cholesky A = L L^T (lower triangle), then two triangular
     * solves. */
    for (size_t j = 0; j < n; j++) {
        double s = A[j * n + j];
        for (size_t p = 0; p < j; p++)
            s -= A[j * n + p] * A[j * n + p];
        if (!(s > 0))
            return (int)j + 1;
        double ljj = sqrt(s);
        A[j * n + j] = ljj;
        for (size_t i = j + 1; i < n; i++) {
            double t = A[i * n + j];
            for (size_t p = 0; p < j; p++)
                t -= A[i * n + p] * A[j * n + p];
            A[i * n + j] = t / ljj;
        }
    }
    for (size_t i = 0; i < n; i++) { /* L z = b */
        double t = b[i];
        for (size_t p = 0; p < i; p++)
            t -= A[i * n + p] * b[p];
        b[i] = t / A[i * n + i];
    }
    for (size_t i = n; i-- > 0;) { /* L^T x = z */
        double t = b[i];
        for (size_t p = i + 1; p < n; p++)
            t -= A[p * n + i] * b[p];
        b[i] = t / A[i * n + i];
    }
    return 0;
}

const reg_kernels reg_kernels_naive = {
    .name = "naive",
    .algorithms = REG_ALL_ALGOS,
    .dot = naive_dot,
    .axpy = naive_axpy,
    .gemv = naive_gemv,
    .syrk = naive_syrk,
    .posv = naive_posv,
};

MLB_DEFINE_VARIANT(regression, reg_kernels_naive, "naive",
                   "plain C loops: normal equations by Cholesky, scikit-learn's coordinate descent",
                   NULL);
