/*
 * regression:openblas: the kernels as OpenBLAS calls. The normal equations
 * are BLAS-3 (dsyrk) and a LAPACK Cholesky solve (dposv); coordinate
 * descent uses BLAS-1 (ddot, daxpy) per coordinate and BLAS-2 (dgemv) for
 * the duality gap, on the Gram matrix when there are more rows than
 * features (precompute=auto).
 */
#include "regression.h"

#include <cblas.h>
#include <lapacke.h>

static double ob_dot(size_t n, const double *x, const double *y)
{
    return cblas_ddot((blasint)n, x, 1, y, 1);
}

static void ob_axpy(size_t n, double a, const double *x, double *y)
{
    cblas_daxpy((blasint)n, a, x, 1, y, 1);
}

static void ob_gemv(int trans, size_t m, size_t n, double alpha, const double *A, size_t lda,
                    const double *x, double beta, double *y)
{
    cblas_dgemv(CblasRowMajor, trans ? CblasTrans : CblasNoTrans, (blasint)m, (blasint)n, alpha,
                A, (blasint)lda, x, 1, beta, y, 1);
}

static void ob_syrk(int trans, size_t m, size_t k, const double *A, size_t lda, double beta,
                    double *C, size_t ldc)
{
    size_t order = trans ? k : m;
    cblas_dsyrk(CblasRowMajor, CblasUpper, trans ? CblasTrans : CblasNoTrans, (blasint)order,
                (blasint)(trans ? m : k), 1.0, A, (blasint)lda, beta, C, (blasint)ldc);
}

static int ob_posv(size_t n, double *A, double *b)
{
    /* A is symmetric, so its row-major array is also its column-major one:
     * calling the column-major LAPACK layout directly spares LAPACKE's
     * transposed copy (an allocation inside the timed fit). */
    lapack_int info = LAPACKE_dposv(LAPACK_COL_MAJOR, 'U', (lapack_int)n, 1, A, (lapack_int)n, b,
                                    (lapack_int)n);
    return info == 0 ? 0 : (info > 0 ? (int)info : 1);
}

const reg_kernels reg_kernels_openblas = {
    .name = "openblas",
    .algorithms = REG_ALL_ALGOS,
    .dot = ob_dot,
    .axpy = ob_axpy,
    .gemv = ob_gemv,
    .syrk = ob_syrk,
    .posv = ob_posv,
    .set_threads = reg_openblas_set_threads,
};

MLB_DEFINE_VARIANT(regression, reg_kernels_openblas, "openblas",
                   "OpenBLAS/LAPACKE: dsyrk + dposv normal equations, ddot/daxpy/dgemv coordinate "
                   "descent (Gram when rows > features), openblas_set_num_threads(threads)",
                   NULL);
