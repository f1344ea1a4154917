/*
 * nn kernels, `onednn` variant: GEMM through oneDNN's dnnl_sgemm, GEMV as
 * the same call with one column, convolution as im2col + that GEMM (the
 * openblas table's, kernels_openblas.c); `threads` sets OpenMP's threads,
 * the runtime of Debian's libdnnl 2.6.
 *
 * Why dnnl_sgemm rather than matmul primitives: the table's gemm takes any
 * shape and stride on each call, and a matmul primitive is made for one
 * shape, so the table would keep a cache of primitives keyed by shape in
 * be->data and create one (compiling its JIT kernel) on each new shape's
 * first call, inside the timed phases (the rnn task's short last batch
 * among them). dnnl_sgemm needs no state; its JIT kernels are generated
 * once per process, on the first calls (the tasks' warm-up pass in setup).
 * tools/bench/onednn_gemm.c times the two on the rnn and gpt2 shapes
 * (docs/PERFORMANCE.md has the figures).
 *
 * Neither meets the kernel table's "no allocation in the timed phases"
 * strictly: oneDNN 2.6's GEMM driver allocates its packing buffer on each
 * dnnl_sgemm call with more than one column (counted with an LD_PRELOAD
 * malloc counter: one per call; none for the one-column GEMV case), and a
 * matmul primitive's execute allocates its argument maps (seven per call,
 * even with a user-supplied scratchpad). The buffers are freed before the
 * call returns, so memory does not grow; the cost is inside the timings.
 */
#include "nn.h"

#include <oneapi/dnnl/dnnl.h>
#include <errno.h>
#include <stdio.h>

#ifdef NN_DOUBLE
#error "kernels_onednn.c is float32 only (dnnl_sgemm)"
#endif

/* OpenMP's, the runtime of Debian's libdnnl (declared here so that the NN
 * core does not need OpenMP's headers). */
void omp_set_num_threads(int n);

const char *nn_onednn_available(void)
{
    if (dnnl_engine_get_count(dnnl_cpu) < 1)
        return "oneDNN finds no CPU engine";
    /* A 1 x 1 x 1 product: what would fail for every shape fails here. */
    float a = 1, b = 2, c = 0;
    if (dnnl_sgemm('N', 'N', 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1) != dnnl_success || c != 2)
        return "oneDNN's dnnl_sgemm fails on this machine";
    return NULL;
}

static int onednn_init(nn_backend *be, char *err, size_t errlen)
{
    const char *why = nn_onednn_available();
    if (why) {
        snprintf(err, errlen, "onednn kernels: %s", why);
        return -ENODEV;
    }
    omp_set_num_threads(be->threads);
    return 0;
}

/* dnnl_sgemm fails on invalid arguments (leading dimensions shorter than
 * the rows), which no caller of the table passes, or when its packing
 * buffer cannot be allocated. The table's gemm cannot report failure, so
 * the status is dropped: an out-of-memory failure there would go
 * unreported (a known gap, see above). */
static void onednn_gemm(const nn_backend *be, int trans_a, int trans_b, int m, int n, int k,
                        const nn_real *a, int lda, const nn_real *b, int ldb, nn_real beta,
                        nn_real *c, int ldc)
{
    (void)be;
    (void)dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb,
                     beta, c, ldc);
}

/* y [m] = A [m, n] x + beta*y as C [m, 1] = A x [n, 1]: oneDNN's GEMM
 * driver takes a one-column product to its GEMV kernels itself. */
static void onednn_gemv(const nn_backend *be, int m, int n, const nn_real *a, int lda,
                        const nn_real *x, nn_real beta, nn_real *y)
{
    (void)be;
    (void)dnnl_sgemm('N', 'N', m, 1, n, 1.0f, a, lda, x, 1, beta, y, 1);
}

const nn_kernels nn_kernels_onednn = {
    .name = "onednn",
    .init = onednn_init,
    .gemm = onednn_gemm,
    .conv_scratch = nn_im2col_conv_scratch,
    .conv_cache = nn_im2col_conv_cache,
    .conv_forward = nn_im2col_conv_forward,
    .conv_backward = nn_im2col_conv_backward,
    .gemv = onednn_gemv,
};
