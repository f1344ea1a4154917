/*
 * regression:gsl: GSL's least-squares solvers. OLS is gsl_multifit_linear
 * (SVD of the column-balanced design); ridge is gsl_multifit_linear_svd +
 * gsl_multifit_linear_solve with lambda = sqrt(alpha), GSL's Tikhonov form
 * min ||y - X c||^2 + lambda^2 ||c||^2. GSL has no L1 solver, so lasso and
 * elastic net are refused in setup. The BLAS kernels (prediction) are
 * gsl_blas_*, which call the CBLAS that GSL is linked with: OpenBLAS here
 * (see the top meson.build), so `threads` sets OpenBLAS's thread count
 * (blas_threads.c), as in the openblas variant.
 */
#include "regression.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <gsl/gsl_blas.h>
#include <gsl/gsl_errno.h>
#include <gsl/gsl_linalg.h>
#include <gsl/gsl_multifit.h>

static double gsl_k_dot(size_t n, const double *x, const double *y)
{
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, n);
    gsl_vector_const_view yv = gsl_vector_const_view_array(y, n);
    double r = 0;
    gsl_blas_ddot(&xv.vector, &yv.vector, &r);
    return r;
}

static void gsl_k_axpy(size_t n, double a, const double *x, double *y)
{
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, n);
    gsl_vector_view yv = gsl_vector_view_array(y, n);
    gsl_blas_daxpy(a, &xv.vector, &yv.vector);
}

static void gsl_k_gemv(int trans, size_t m, size_t n, double alpha, const double *A, size_t lda,
                       const double *x, double beta, double *y)
{
    gsl_matrix_const_view Av = gsl_matrix_const_view_array_with_tda(A, m, n, lda);
    gsl_vector_const_view xv = gsl_vector_const_view_array(x, trans ? m : n);
    gsl_vector_view yv = gsl_vector_view_array(y, trans ? n : m);
    gsl_blas_dgemv(trans ? CblasTrans : CblasNoTrans, alpha, &Av.matrix, &xv.vector, beta,
                   &yv.vector);
}

static void gsl_k_syrk(int trans, size_t m, size_t k, const double *A, size_t lda, double beta,
                       double *C, size_t ldc)
{
    size_t order = trans ? k : m;
    gsl_matrix_const_view Av = gsl_matrix_const_view_array_with_tda(A, m, k, lda);
    gsl_matrix_view Cv = gsl_matrix_view_array_with_tda(C, order, order, ldc);
    gsl_blas_dsyrk(CblasUpper, trans ? CblasTrans : CblasNoTrans, 1.0, &Av.matrix, beta,
                   &Cv.matrix);
}

static int gsl_k_posv(size_t n, double *A, double *b)
{
    gsl_matrix_view Av = gsl_matrix_view_array(A, n, n);
    gsl_vector_view bv = gsl_vector_view_array(b, n);
    /* GSL's default handler aborts on a matrix that is not positive
     * definite; here that is an answer, not a bug. */
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc = gsl_linalg_cholesky_decomp1(&Av.matrix);
    if (rc == 0)
        rc = gsl_linalg_cholesky_svx(&Av.matrix, &bv.vector);
    gsl_set_error_handler(old);
    return rc == 0 ? 0 : 1;
}

typedef struct {
    gsl_multifit_linear_workspace *ws;
    gsl_matrix *cov;
} gsl_ls;

static void gsl_k_ls_free(void *p)
{
    gsl_ls *ls = p;
    if (!ls)
        return;
    if (ls->ws)
        gsl_multifit_linear_free(ls->ws);
    if (ls->cov)
        gsl_matrix_free(ls->cov);
    free(ls);
}

static void *gsl_k_ls_alloc(size_t n, size_t d)
{
    gsl_ls *ls = calloc(1, sizeof *ls);
    if (!ls)
        return NULL;
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    ls->ws = gsl_multifit_linear_alloc(n, d);
    ls->cov = gsl_matrix_alloc(d, d);
    gsl_set_error_handler(old);
    if (!ls->ws || !ls->cov) {
        gsl_k_ls_free(ls);
        return NULL;
    }
    return ls;
}

static int gsl_k_fit_ls(void *p, const double *Xc, const double *yc, size_t n, size_t d,
                        double alpha, double *w, char *err, size_t err_len)
{
    gsl_ls *ls = p;
    if (n < d) {
        snprintf(err, err_len, "gsl: %zu rows for %zu features: GSL's SVD needs rows >= features",
                 n, d);
        return -EDOM;
    }
    /* GSL's API takes non-const matrices but does not write X or y. */
    gsl_matrix_view X = gsl_matrix_view_array((double *)Xc, n, d);
    gsl_vector_view y = gsl_vector_view_array((double *)yc, n);
    gsl_vector_view c = gsl_vector_view_array(w, d);
    gsl_error_handler_t *old = gsl_set_error_handler_off();
    int rc;
    if (alpha == 0) {
        double chisq;
        rc = gsl_multifit_linear(&X.matrix, &y.vector, &c.vector, ls->cov, &chisq, ls->ws);
    } else {
        double rnorm, snorm;
        rc = gsl_multifit_linear_svd(&X.matrix, ls->ws);
        if (rc == 0)
            rc = gsl_multifit_linear_solve(sqrt(alpha), &X.matrix, &y.vector, &c.vector, &rnorm,
                                           &snorm, ls->ws);
    }
    gsl_set_error_handler(old);
    if (rc != 0) {
        snprintf(err, err_len, "gsl: %s failed: %s",
                 alpha == 0 ? "gsl_multifit_linear" : "gsl_multifit_linear_solve",
                 gsl_strerror(rc));
        return -EDOM;
    }
    return 0;
}

const reg_kernels reg_kernels_gsl = {
    .name = "gsl",
    .algorithms = REG_ALGO_BIT(REG_LINEAR) | REG_ALGO_BIT(REG_RIDGE),
    .why_not = "GSL has no L1-penalised (coordinate descent) solver; use the naive or openblas "
               "variant",
    .dot = gsl_k_dot,
    .axpy = gsl_k_axpy,
    .gemv = gsl_k_gemv,
    .syrk = gsl_k_syrk,
    .posv = gsl_k_posv,
    .fit_ls = gsl_k_fit_ls,
    .ls_alloc = gsl_k_ls_alloc,
    .ls_free = gsl_k_ls_free,
    .set_threads = reg_openblas_set_threads,
};

MLB_DEFINE_VARIANT(regression, reg_kernels_gsl, "gsl",
                   "GSL: gsl_multifit_linear (OLS), gsl_multifit_linear_svd/_solve (ridge); no "
                   "lasso or elasticnet; gsl_blas_* in OpenBLAS, openblas_set_num_threads(threads)",
                   NULL);
