/*
 * nn kernels, `openblas` variant: GEMM through OpenBLAS, convolution as
 * im2col + GEMM.
 *
 * cblas_* are called directly, as plugins/gemm/openblas.c does: in the
 * engine's global lookup order libopenblas comes before GSL's libgslcblas
 * (loaded too, as libgsl's dependency), so they bind to OpenBLAS; see the
 * top meson.build.
 *
 * Convolution: the im2col matrix of a group of images, [c_in*k*k, g*h_out*
 * w_out], times the weights [c_out, c_in*k*k]. Late ResNet stages have 4x4
 * outputs; one GEMM per image would then have 16 columns and run far below
 * peak, so images are grouped until a GEMM has about NN_CONV_COLS columns.
 * When the model gives a layer a cache (conv_cache), forward writes the
 * batch's im2col there and backward reuses it instead of recomputing it:
 * on LeNet-5, whose small GEMMs leave im2col a fifth of the time, that is
 * ~13% of a training step; ResNet-18's 75 MB-per-layer matrices mostly
 * exceed the model's budget and are recomputed.
 */
#include "nn.h"

#include "../common/openblas_threads.h"
#include <string.h>

/* Columns per convolution GEMM to aim for: enough for OpenBLAS's kernels
 * to reach their peak, small enough that the im2col buffers stay within a
 * few tens of MiB. */
#define NN_CONV_COLS 2048

#ifdef NN_DOUBLE
#define CBLAS_GEMM cblas_dgemm
#define CBLAS_GEMV cblas_dgemv
#else
#define CBLAS_GEMM cblas_sgemm
#define CBLAS_GEMV cblas_sgemv
#endif

static int openblas_init(nn_backend *be, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    mlb_openblas_set_threads(be->threads);
    return 0;
}

static void openblas_gemm(const nn_backend *be, int trans_a, int trans_b, int m, int n, int k,
                          const nn_real *a, int lda, const nn_real *b, int ldb, nn_real beta,
                          nn_real *c, int ldc)
{
    (void)be;
    CBLAS_GEMM(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans,
               trans_b ? CblasTrans : CblasNoTrans, m, n, k, 1, a, lda, b, ldb, beta, c, ldc);
}

static void openblas_gemv(const nn_backend *be, int m, int n, const nn_real *a, int lda,
                          const nn_real *x, nn_real beta, nn_real *y)
{
    (void)be;
    CBLAS_GEMV(CblasRowMajor, CblasNoTrans, m, n, 1, a, lda, x, 1, beta, y, 1);
}

/* Images per GEMM for this geometry and a batch of n. */
static int conv_group(const nn_conv_shape *s, int n)
{
    int ohw = s->h_out * s->w_out;
    int g = ohw >= NN_CONV_COLS ? 1 : NN_CONV_COLS / ohw;
    return g < n ? g : n;
}

/* The im2col of the whole batch, kept from forward for backward. */
size_t nn_im2col_conv_cache(const nn_conv_shape *s, int n)
{
    return (size_t)n * (size_t)s->c_in * (size_t)s->k * (size_t)s->k * (size_t)s->h_out *
           (size_t)s->w_out;
}

size_t nn_im2col_conv_scratch(const nn_conv_shape *s, int n)
{
    size_t cols = (size_t)conv_group(s, n) * (size_t)s->h_out * (size_t)s->w_out;
    size_t kk = (size_t)s->c_in * (size_t)s->k * (size_t)s->k;
    /* backward: im2col, its gradient, the gathered output gradient;
     * forward needs less (im2col and the gathered output). */
    return (2 * kk + (size_t)s->c_out) * cols;
}

/* Stride 1 with "same" padding (w_out == w_in): the taps (ky, kx) of one
 * channel map the whole output plane onto the input plane shifted by a
 * constant offset, so one contiguous copy (or add) moves the plane, after
 * which only the cells that wrapped across a row edge, or fell outside the
 * image, are patched. Most of ResNet's and SimpleCNN's convolutions take
 * this path; per-row loops over 4..32-wide rows cost several times more. */
static int same_stride1(const nn_conv_shape *s)
{
    return s->stride == 1 && s->w_out == s->w_in && s->h_out == s->h_in;
}

/* The plane offset of tap (ky, kx) and the output range [lo, hi) whose
 * sources lie inside the input plane. */
static void shifted_range(const nn_conv_shape *s, int ky, int kx, long *off, long *lo, long *hi)
{
    long w = s->w_in, plane = (long)s->h_in * w;
    *off = (long)(ky - s->pad) * w + (kx - s->pad);
    *lo = *off < 0 ? -*off : 0;
    *hi = plane - *off < plane ? plane - *off : plane;
}

/* One image x [c_in, h, w] into columns [c_in*k*k, h_out*w_out] of col,
 * whose rows are ld apart. */
static void im2col(const nn_conv_shape *s, const nn_real *x, nn_real *col, size_t ld)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    int fast = same_stride1(s);
    for (int ci = 0; ci < s->c_in; ci++)
        for (int ky = 0; ky < s->k; ky++) {
            int oh0, oh1;
            nn_conv_valid_range(ky, s->stride, s->pad, s->h_in, s->h_out, &oh0, &oh1);
            for (int kx = 0; kx < s->k; kx++) {
                int ow0, ow1;
                nn_conv_valid_range(kx, s->stride, s->pad, s->w_in, s->w_out, &ow0, &ow1);
                nn_real *row = col + ((size_t)(ci * s->k + ky) * (size_t)s->k + (size_t)kx) * ld;
                const nn_real *xp = x + (size_t)ci * in_plane;
                if (fast) {
                    long off, lo, hi, w = s->w_out, plane = (long)in_plane;
                    shifted_range(s, ky, kx, &off, &lo, &hi);
                    if (hi > lo) {
                        memset(row, 0, (size_t)lo * sizeof *row);
                        memcpy(row + lo, xp + lo + off, (size_t)(hi - lo) * sizeof *row);
                        memset(row + hi, 0, (size_t)(plane - hi) * sizeof *row);
                    } else {
                        memset(row, 0, (size_t)plane * sizeof *row);
                    }
                    /* Columns outside [ow0, ow1) read across a row edge. */
                    if (ow0 > 0 || ow1 < w)
                        for (long oh = 0; oh < s->h_out; oh++) {
                            for (long ow = 0; ow < ow0; ow++)
                                row[oh * w + ow] = 0;
                            for (long ow = ow1; ow < w; ow++)
                                row[oh * w + ow] = 0;
                        }
                    continue;
                }
                for (int oh = 0; oh < s->h_out; oh++) {
                    nn_real *r = row + (size_t)oh * (size_t)s->w_out;
                    if (oh < oh0 || oh >= oh1) {
                        memset(r, 0, (size_t)s->w_out * sizeof *r);
                        continue;
                    }
                    const nn_real *xr =
                        xp + (size_t)(oh * s->stride - s->pad + ky) * (size_t)s->w_in;
                    int ow = 0;
                    for (; ow < ow0 && ow < s->w_out; ow++)
                        r[ow] = 0;
                    if (s->stride == 1) { /* contiguous: let the compiler vectorise */
                        const nn_real *src = xr - s->pad + kx;
                        for (; ow < ow1; ow++)
                            r[ow] = src[ow];
                    } else {
                        for (; ow < ow1; ow++)
                            r[ow] = xr[ow * s->stride - s->pad + kx];
                    }
                    for (; ow < s->w_out; ow++)
                        r[ow] = 0;
                }
            }
        }
}

/* The adjoint of im2col: dx [c_in, h, w] += the columns' contributions.
 * On the fast path it zeroes the cells of col that map outside the image,
 * which im2col would have zeroed: col is scratch. */
static void col2im(const nn_conv_shape *s, nn_real *col, size_t ld, nn_real *dx)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    int fast = same_stride1(s);
    for (int ci = 0; ci < s->c_in; ci++)
        for (int ky = 0; ky < s->k; ky++) {
            int oh0, oh1;
            nn_conv_valid_range(ky, s->stride, s->pad, s->h_in, s->h_out, &oh0, &oh1);
            for (int kx = 0; kx < s->k; kx++) {
                int ow0, ow1;
                nn_conv_valid_range(kx, s->stride, s->pad, s->w_in, s->w_out, &ow0, &ow1);
                nn_real *row = col + ((size_t)(ci * s->k + ky) * (size_t)s->k + (size_t)kx) * ld;
                nn_real *dp = dx + (size_t)ci * in_plane;
                if (fast) {
                    long off, lo, hi, w = s->w_out;
                    shifted_range(s, ky, kx, &off, &lo, &hi);
                    if (ow0 > 0 || ow1 < w)
                        for (long oh = 0; oh < s->h_out; oh++) {
                            for (long ow = 0; ow < ow0; ow++)
                                row[oh * w + ow] = 0;
                            for (long ow = ow1; ow < w; ow++)
                                row[oh * w + ow] = 0;
                        }
                    for (long i = lo; i < hi; i++)
                        dp[i + off] += row[i];
                    continue;
                }
                for (int oh = oh0; oh < oh1; oh++) {
                    const nn_real *r = row + (size_t)oh * (size_t)s->w_out;
                    nn_real *dr = dp + (size_t)(oh * s->stride - s->pad + ky) * (size_t)s->w_in;
                    if (s->stride == 1)
                        for (int ow = ow0; ow < ow1; ow++)
                            dr[ow - s->pad + kx] += r[ow];
                    else
                        for (int ow = ow0; ow < ow1; ow++)
                            dr[ow * s->stride - s->pad + kx] += r[ow];
                }
            }
        }
}

void nn_im2col_conv_forward(const nn_backend *be, const nn_conv_shape *s, int n,
                            const nn_real *x, const nn_real *w, const nn_real *bias, nn_real *y,
                            nn_real *scratch, nn_real *cache)
{
    size_t in_size = (size_t)s->c_in * (size_t)s->h_in * (size_t)s->w_in;
    size_t ohw = (size_t)s->h_out * (size_t)s->w_out;
    size_t out_size = (size_t)s->c_out * ohw;
    int kk = s->c_in * s->k * s->k;
    int g = conv_group(s, n);
    for (int b0 = 0; b0 < n; b0 += g) {
        int gb = n - b0 < g ? n - b0 : g;
        size_t cols = (size_t)gb * ohw;
        /* With a cache, each group's columns go to their own block of it
         * (the block of images b0.. starts at b0*kk*ohw). */
        nn_real *col = cache ? cache + (size_t)b0 * (size_t)kk * ohw : scratch;
        for (int j = 0; j < gb; j++)
            im2col(s, x + (size_t)(b0 + j) * in_size, col + (size_t)j * ohw, cols);
        nn_real *yb = y + (size_t)b0 * out_size;
        if (gb == 1) {
            be->k->gemm(be, 0, 0, s->c_out, (int)cols, kk, w, kk, col, (int)cols, 0, yb,
                        (int)cols);
        } else {
            /* [c_out, gb*ohw] -> gb images of [c_out, ohw] */
            nn_real *out = cache ? scratch : scratch + (size_t)kk * cols;
            be->k->gemm(be, 0, 0, s->c_out, (int)cols, kk, w, kk, col, (int)cols, 0, out,
                        (int)cols);
            for (int j = 0; j < gb; j++)
                for (int co = 0; co < s->c_out; co++)
                    memcpy(yb + (size_t)j * out_size + (size_t)co * ohw,
                           out + (size_t)co * cols + (size_t)j * ohw, ohw * sizeof *out);
        }
        if (bias)
            for (int j = 0; j < gb; j++)
                for (int co = 0; co < s->c_out; co++) {
                    nn_real *p = yb + (size_t)j * out_size + (size_t)co * ohw;
                    for (size_t o = 0; o < ohw; o++)
                        p[o] += bias[co];
                }
    }
}

void nn_im2col_conv_backward(const nn_backend *be, const nn_conv_shape *s, int n,
                             const nn_real *x, const nn_real *w, const nn_real *dy, nn_real *dx,
                             nn_real *dw, nn_real *db, nn_real *scratch, const nn_real *cache)
{
    size_t in_size = (size_t)s->c_in * (size_t)s->h_in * (size_t)s->w_in;
    size_t ohw = (size_t)s->h_out * (size_t)s->w_out;
    size_t out_size = (size_t)s->c_out * ohw;
    int kk = s->c_in * s->k * s->k;
    int g = conv_group(s, n);
    for (int b0 = 0; b0 < n; b0 += g) {
        int gb = n - b0 < g ? n - b0 : g;
        size_t cols = (size_t)gb * ohw;
        nn_real *col = scratch;
        nn_real *dcol = col + (size_t)kk * cols;
        const nn_real *dym = dy + (size_t)b0 * out_size;
        if (gb > 1) {
            nn_real *gathered = dcol + (size_t)kk * cols;
            for (int j = 0; j < gb; j++)
                for (int co = 0; co < s->c_out; co++)
                    memcpy(gathered + (size_t)co * cols + (size_t)j * ohw,
                           dym + (size_t)j * out_size + (size_t)co * ohw, ohw * sizeof *dym);
            dym = gathered;
        }
        if (db)
            for (int co = 0; co < s->c_out; co++) {
                const nn_real *r = dym + (size_t)co * cols;
                nn_real sum = 0;
                for (size_t o = 0; o < cols; o++)
                    sum += r[o];
                db[co] += sum;
            }
        const nn_real *colr = col;
        if (cache)
            colr = cache + (size_t)b0 * (size_t)kk * ohw;
        else
            for (int j = 0; j < gb; j++)
                im2col(s, x + (size_t)(b0 + j) * in_size, col + (size_t)j * ohw, cols);
        /* dw [c_out, kk] += dym [c_out, cols] col^T */
        be->k->gemm(be, 0, 1, s->c_out, kk, (int)cols, dym, (int)cols, colr, (int)cols, 1, dw,
                    kk);
        if (!dx)
            continue;
        /* dcol [kk, cols] = w^T dym */
        be->k->gemm(be, 1, 0, kk, (int)cols, s->c_out, w, kk, dym, (int)cols, 0, dcol,
                    (int)cols);
        for (int j = 0; j < gb; j++)
            col2im(s, dcol + (size_t)j * ohw, cols, dx + (size_t)(b0 + j) * in_size);
    }
}

const nn_kernels nn_kernels_openblas = {
    .name = "openblas",
    .init = openblas_init,
    .gemm = openblas_gemm,
    .conv_scratch = nn_im2col_conv_scratch,
    .conv_cache = nn_im2col_conv_cache,
    .conv_forward = nn_im2col_conv_forward,
    .conv_backward = nn_im2col_conv_backward,
    .gemv = openblas_gemv,
};
