/*
 * The kernels a regression variant supplies. The shared maths (regression.c)
 * is written once in terms of these BLAS-like operations; naive.c fills the
 * table with plain loops, openblas.c with CBLAS/LAPACKE calls, gsl.c with
 * GSL's. Matrices are row-major with a leading dimension, as in CBLAS.
 *
 * Kernels neither allocate nor fail, except posv (a matrix that is not
 * positive definite) and fit_ls (GSL's own workspace).
 */
#ifndef MLB_REGRESSION_KERNELS_H
#define MLB_REGRESSION_KERNELS_H

#include <stddef.h>

/* Which algorithms a variant runs (bit per reg_algorithm). */
#define REG_ALGO_BIT(a) (1u << (a))

typedef struct reg_kernels {
    const char *name; /* the variant */
    unsigned algorithms; /* REG_ALGO_BIT(...) of what it can run */
    const char *why_not; /* one line: why the others cannot run */

    /* x . y over n contiguous entries. */
    double (*dot)(size_t n, const double *x, const double *y);
    /* y += a x over n contiguous entries. */
    void (*axpy)(size_t n, double a, const double *x, double *y);
    /* y = alpha op(A) x + beta y; A is m x n (lda >= n); op(A) = A, or A^T
     * when trans (then x has m entries and y n). */
    void (*gemv)(int trans, size_t m, size_t n, double alpha, const double *A, size_t lda,
                 const double *x, double beta, double *y);
    /* C = A^T A + beta C (trans) or A A^T + beta C (!trans), on the upper
     * triangle of C only, as BLAS dsyrk with CblasUpper: the strict lower
     * triangle is neither read nor set (the shared code mirrors it once,
     * after the last block). A is m x k (lda >= k); C is k x k (trans) or
     * m x m, with leading dimension ldc. beta is 0 or 1. */
    void (*syrk)(int trans, size_t m, size_t k, const double *A, size_t lda, double beta,
                 double *C, size_t ldc);
    /* Solves A x = b for symmetric positive definite A (n x n); b is
     * overwritten by x, and the lower triangle of A (row-major) by the
     * Cholesky factor L, A = L L^T (the shared code reads its diagonal).
     * Returns 0, or > 0 when A is not positive definite. */
    int (*posv)(size_t n, double *A, double *b);

    /* Optional: the variant's own least-squares solver for OLS (alpha = 0)
     * and ridge, on the centred design Xc (n x d, row-major) and yc:
     * minimises ||yc - Xc w||^2 + alpha ||w||^2, with the workspace ls_alloc
     * made for n x d. Returns 0 or negative with a message in err. NULL: the
     * shared normal-equations solve. */
    int (*fit_ls)(void *ws, const double *Xc, const double *yc, size_t n, size_t d, double alpha,
                  double *w, char *err, size_t err_len);
    void *(*ls_alloc)(size_t n, size_t d); /* NULL on failure */
    void (*ls_free)(void *ws);

    /* Optional: called once per repetition, in setup (thread count). */
    void (*set_threads)(int threads);
} reg_kernels;

#endif
