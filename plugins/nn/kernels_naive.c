/*
 * nn kernels, `naive` variant: direct loops. The reference point for the
 * tuned kernels, and the one with no dependencies; loop orders keep the
 * innermost loop on contiguous memory so that the compiler may vectorise
 * it, but nothing is blocked, packed or threaded.
 */
#include "nn.h"

#include <stdio.h>

static int naive_init(nn_backend *be, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    /* Single-threaded by design: threads > 1 is accepted and ignored, so
     * that one configuration can compare every variant. */
    be->data = NULL;
    return 0;
}

static void naive_gemm(const nn_backend *be, int trans_a, int trans_b, int m, int n, int k,
                       const nn_real *a, int lda, const nn_real *b, int ldb, nn_real beta,
                       nn_real *c, int ldc)
{
    (void)be;
    for (int i = 0; i < m; i++) {
        nn_real *ci = c + (size_t)i * (size_t)ldc;
        if (beta == 0)
            for (int j = 0; j < n; j++)
                ci[j] = 0;
        else if (beta != 1)
            for (int j = 0; j < n; j++)
                ci[j] *= beta;
        for (int p = 0; p < k; p++) {
            nn_real aip = trans_a ? a[(size_t)p * (size_t)lda + (size_t)i]
                                  : a[(size_t)i * (size_t)lda + (size_t)p];
            if (trans_b) {
                for (int j = 0; j < n; j++)
                    ci[j] += aip * b[(size_t)j * (size_t)ldb + (size_t)p];
            } else {
                const nn_real *bp = b + (size_t)p * (size_t)ldb;
                for (int j = 0; j < n; j++)
                    ci[j] += aip * bp[j];
            }
        }
    }
}

static void naive_gemv(const nn_backend *be, int m, int n, const nn_real *a, int lda,
                       const nn_real *x, nn_real beta, nn_real *y)
{
    (void)be;
    for (int i = 0; i < m; i++) {
        const nn_real *ai = a + (size_t)i * (size_t)lda;
        nn_real sum = 0;
        for (int j = 0; j < n; j++)
            sum += ai[j] * x[j];
        y[i] = (beta == 0 ? 0 : beta * y[i]) + sum;
    }
}

static size_t naive_conv_scratch(const nn_conv_shape *s, int n)
{
    (void)s;
    (void)n;
    return 0;
}

static void naive_conv_forward(const nn_backend *be, const nn_conv_shape *s, int n,
                               const nn_real *x, const nn_real *w, const nn_real *bias,
                               nn_real *y, nn_real *scratch, nn_real *cache)
{
    (void)be;
    (void)scratch;
    (void)cache;
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    for (int b = 0; b < n; b++)
        for (int co = 0; co < s->c_out; co++) {
            nn_real *yp = y + ((size_t)b * (size_t)s->c_out + (size_t)co) * out_plane;
            nn_real b0 = bias ? bias[co] : 0;
            for (size_t o = 0; o < out_plane; o++)
                yp[o] = b0;
            for (int ci = 0; ci < s->c_in; ci++) {
                const nn_real *xp = x + ((size_t)b * (size_t)s->c_in + (size_t)ci) * in_plane;
                const nn_real *wp = w + ((size_t)co * (size_t)s->c_in + (size_t)ci) *
                                            (size_t)s->k * (size_t)s->k;
                for (int ky = 0; ky < s->k; ky++) {
                    int oh0, oh1;
                    nn_conv_valid_range(ky, s->stride, s->pad, s->h_in, s->h_out, &oh0, &oh1);
                    for (int kx = 0; kx < s->k; kx++) {
                        int ow0, ow1;
                        nn_conv_valid_range(kx, s->stride, s->pad, s->w_in, s->w_out, &ow0, &ow1);
                        nn_real wv = wp[ky * s->k + kx];
                        for (int oh = oh0; oh < oh1; oh++) {
                            const nn_real *xr = xp + (size_t)(oh * s->stride - s->pad + ky) *
                                                         (size_t)s->w_in;
                            nn_real *yr = yp + (size_t)oh * (size_t)s->w_out;
                            for (int ow = ow0; ow < ow1; ow++)
                                yr[ow] += wv * xr[ow * s->stride - s->pad + kx];
                        }
                    }
                }
            }
        }
}

static void naive_conv_backward(const nn_backend *be, const nn_conv_shape *s, int n,
                                const nn_real *x, const nn_real *w, const nn_real *dy,
                                nn_real *dx, nn_real *dw, nn_real *db, nn_real *scratch,
                                const nn_real *cache)
{
    (void)be;
    (void)scratch;
    (void)cache;
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    for (int b = 0; b < n; b++)
        for (int co = 0; co < s->c_out; co++) {
            const nn_real *dyp = dy + ((size_t)b * (size_t)s->c_out + (size_t)co) * out_plane;
            if (db) {
                nn_real sum = 0;
                for (size_t o = 0; o < out_plane; o++)
                    sum += dyp[o];
                db[co] += sum;
            }
            for (int ci = 0; ci < s->c_in; ci++) {
                size_t xo = ((size_t)b * (size_t)s->c_in + (size_t)ci) * in_plane;
                const nn_real *xp = x + xo;
                nn_real *dxp = dx ? dx + xo : NULL;
                size_t wo = ((size_t)co * (size_t)s->c_in + (size_t)ci) * (size_t)s->k *
                            (size_t)s->k;
                for (int ky = 0; ky < s->k; ky++) {
                    int oh0, oh1;
                    nn_conv_valid_range(ky, s->stride, s->pad, s->h_in, s->h_out, &oh0, &oh1);
                    for (int kx = 0; kx < s->k; kx++) {
                        int ow0, ow1;
                        nn_conv_valid_range(kx, s->stride, s->pad, s->w_in, s->w_out, &ow0, &ow1);
                        nn_real wv = w[wo + (size_t)(ky * s->k + kx)];
                        nn_real gw = 0;
                        for (int oh = oh0; oh < oh1; oh++) {
                            size_t r = (size_t)(oh * s->stride - s->pad + ky) * (size_t)s->w_in;
                            const nn_real *dyr = dyp + (size_t)oh * (size_t)s->w_out;
                            for (int ow = ow0; ow < ow1; ow++) {
                                size_t at = r + (size_t)(ow * s->stride - s->pad + kx);
                                gw += dyr[ow] * xp[at];
                                if (dxp)
                                    dxp[at] += wv * dyr[ow];
                            }
                        }
                        dw[wo + (size_t)(ky * s->k + kx)] += gw;
                    }
                }
            }
        }
}

const nn_kernels nn_kernels_naive = {
    .name = "naive",
    .init = naive_init,
    .gemm = naive_gemm,
    .conv_scratch = naive_conv_scratch,
    .conv_forward = naive_conv_forward,
    .conv_backward = naive_conv_backward,
    .gemv = naive_gemv,
};
