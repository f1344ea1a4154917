/*
 * svm:openblas: the same solvers with the dense kernels in OpenBLAS: a
 * kernel row is one dgemv over the sub-problem's rows, a block of test
 * rows against the support vectors one dgemm, the coordinate steps of
 * LinearSVC ddot and daxpy; openblas_set_num_threads(threads). The rbf
 * kernel's exponentials go four (AVX2) or two at a time through glibc's
 * vector math library where it is built with it (SVM_HAVE_LIBMVEC).
 */
#include "svm.h"

#include <math.h>

#include "../common/openblas_threads.h"

#ifdef SVM_HAVE_LIBMVEC
#include <immintrin.h>

/* libmvec's exp under the x86-64 vector function ABI's names (<math.h>
 * declares them only under -ffast-math, which this build does not use).
 * Within an ulp of the scalar exp, and rounded to the float of the kernel
 * cache the same values (43% of 7500 doubles differed in the last bit, no
 * float did), so the solver still takes the naive variant's steps, at a
 * sixth of the scalar exp's time. */
__m128d _ZGVbN2v_exp(__m128d x);
__attribute__((target("avx2"))) __m256d _ZGVdN4v_exp(__m256d x);

__attribute__((target("avx2"))) static void vexp4(size_t n, double *v)
{
    size_t t = 0;
    for (; t + 4 <= n; t += 4)
        _mm256_storeu_pd(v + t, _ZGVdN4v_exp(_mm256_loadu_pd(v + t)));
    for (; t < n; t++)
        v[t] = exp(v[t]);
}

static void vexp2(size_t n, double *v)
{
    size_t t = 0;
    for (; t + 2 <= n; t += 2)
        _mm_storeu_pd(v + t, _ZGVbN2v_exp(_mm_loadu_pd(v + t)));
    for (; t < n; t++)
        v[t] = exp(v[t]);
}

static void ob_vexp(size_t n, double *v)
{
    /* A read of libgcc's CPU model, filled at load: cheap once a row. */
    if (__builtin_cpu_supports("avx2"))
        vexp4(n, v);
    else
        vexp2(n, v);
}
#define OB_VEXP ob_vexp
#else
#define OB_VEXP NULL
#endif

static int openblas_prepare(mlb_ctx *ctx, int threads)
{
    (void)ctx;
    mlb_openblas_set_threads(threads);
    return 0;
}

/* Sizes are within blasint: svm_rules bound rows and features. */
static double ob_dot(size_t n, const double *x, const double *y)
{
    return cblas_ddot((blasint)n, x, 1, y, 1);
}

static void ob_axpy(size_t n, double a, const double *x, double *y)
{
    cblas_daxpy((blasint)n, a, x, 1, y, 1);
}

static void ob_gemv(size_t m, size_t d, const double *A, const double *x, double *out)
{
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (blasint)m, (blasint)d, 1.0, A, (blasint)d, x, 1,
                0.0, out, 1);
}

static void ob_gemm_nt(size_t m, size_t n, size_t d, const double *A, const double *B,
                       double *C)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (blasint)m, (blasint)n, (blasint)d, 1.0,
                A, (blasint)d, B, (blasint)d, 0.0, C, (blasint)n);
}

const svm_kernels svm_kernels_openblas = {
    .name = "openblas",
    .models = SVM_MODEL_BIT(SVM_SVC) | SVM_MODEL_BIT(SVM_NUSVC) | SVM_MODEL_BIT(SVM_LINEARSVC),
    .prepare = openblas_prepare,
    .dot = ob_dot,
    .axpy = ob_axpy,
    .gemv = ob_gemv,
    .gemm_nt = ob_gemm_nt,
    .vexp = OB_VEXP,
};

MLB_DEFINE_VARIANT(svm, svm_kernels_openblas, "openblas",
                   "the naive variant's solvers with OpenBLAS kernels (dgemv kernel rows, dgemm "
                   "prediction blocks, ddot/daxpy) and libmvec's vector exp, "
                   "openblas_set_num_threads(threads)",
                   NULL);
