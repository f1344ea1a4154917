/*
 * Every layer's forward and backward pass, written once. The heavy inner
 * products go through the backend's kernel table (be->k); what is left here
 * is memory-bound and the same in every variant.
 */
#include "nn.h"

#include <float.h>
#include <math.h>
#include <string.h>

/* ---- linear ------------------------------------------------------------ */

void nn_linear_forward(const nn_backend *be, int n, int in, int out, const nn_real *x,
                       const nn_real *w, const nn_real *b, nn_real *y)
{
    /* The whole batch in one GEMM: y[n, out] = x[n, in] w^T. */
    be->k->gemm(be, 0, 1, n, out, in, x, in, w, in, 0, y, out);
    if (b)
        for (int i = 0; i < n; i++) {
            nn_real *yi = y + (size_t)i * (size_t)out;
            for (int o = 0; o < out; o++)
                yi[o] += b[o];
        }
}

void nn_linear_backward(const nn_backend *be, int n, int in, int out, const nn_real *x,
                        const nn_real *w, const nn_real *dy, nn_real *dx, nn_real *dw,
                        nn_real *db)
{
    if (dx) /* dx[n, in] += dy[n, out] w[out, in] */
        be->k->gemm(be, 0, 0, n, in, out, dy, out, w, in, 1, dx, in);
    /* dw[out, in] += dy^T x */
    be->k->gemm(be, 1, 0, out, in, n, dy, out, x, in, 1, dw, in);
    if (db)
        for (int i = 0; i < n; i++) {
            const nn_real *dyi = dy + (size_t)i * (size_t)out;
            for (int o = 0; o < out; o++)
                db[o] += dyi[o];
        }
}

/* ---- pooling ----------------------------------------------------------- */

/* One plane, any window: padding cells never win (PyTorch pads with
 * -inf; the shape check guarantees every window holds a real cell); the
 * first maximum wins and a NaN wins outright, as in PyTorch. */
static void maxpool_plane(const nn_pool_shape *s, const nn_real *xp, nn_real *yp, int32_t *ap)
{
    for (int oh = 0; oh < s->h_out; oh++)
        for (int ow = 0; ow < s->w_out; ow++) {
            int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
            nn_real best = -(nn_real)INFINITY;
            int32_t at = -1;
            for (int i = h0 < 0 ? 0 : h0; i < h0 + s->k && i < s->h_in; i++)
                for (int j = w0 < 0 ? 0 : w0; j < w0 + s->k && j < s->w_in; j++) {
                    nn_real v = xp[i * s->w_in + j];
                    if (at < 0 || v > best || (isnan(v) && !isnan(best))) {
                        best = v;
                        at = i * s->w_in + j;
                    }
                }
            yp[oh * s->w_out + ow] = best;
            ap[oh * s->w_out + ow] = at;
        }
}

/* The common 2x2, stride-2 window without branches on the data (they
 * mispredict half the time): selects through masks, which the compiler
 * vectorises. NaNs are only noted; a plane holding one is redone by the
 * general loop. Returns nonzero when it saw a NaN. */
static int maxpool_plane_2x2(const nn_pool_shape *s, const nn_real *restrict xp,
                             nn_real *restrict yp, int32_t *restrict ap)
{
    int nan = 0;
    for (int oh = 0; oh < s->h_out; oh++)
        for (int ow = 0; ow < s->w_out; ow++) {
            int32_t i = 2 * oh * s->w_in + 2 * ow;
            int32_t cand[3] = {i + 1, i + s->w_in, i + s->w_in + 1};
            nn_real best = xp[i];
            int32_t at = i;
            nan |= best != best;
            for (int t = 0; t < 3; t++) {
                nn_real v = xp[cand[t]];
                int32_t m = -(int32_t)(v > best);
                nan |= v != v;
                best = v > best ? v : best;
                at = (at & ~m) | (cand[t] & m);
            }
            yp[oh * s->w_out + ow] = best;
            ap[oh * s->w_out + ow] = at;
        }
    return nan;
}

void nn_maxpool_forward(const nn_pool_shape *s, int n, const nn_real *x, nn_real *y,
                        int32_t *argmax)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    size_t planes = (size_t)n * (size_t)s->c;
    int fast = s->k == 2 && s->stride == 2 && s->pad == 0;
    for (size_t p = 0; p < planes; p++) {
        const nn_real *xp = x + p * in_plane;
        nn_real *yp = y + p * out_plane;
        int32_t *ap = argmax + p * out_plane;
        if (!fast || maxpool_plane_2x2(s, xp, yp, ap))
            maxpool_plane(s, xp, yp, ap);
    }
}

void nn_maxpool_backward(const nn_pool_shape *s, int n, const nn_real *dy, const int32_t *argmax,
                         nn_real *dx)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    size_t planes = (size_t)n * (size_t)s->c;
    for (size_t p = 0; p < planes; p++) {
        nn_real *dxp = dx + p * in_plane;
        const nn_real *dyp = dy + p * out_plane;
        const int32_t *ap = argmax + p * out_plane;
        for (size_t o = 0; o < out_plane; o++)
            dxp[ap[o]] += dyp[o];
    }
}

void nn_avgpool_forward(const nn_pool_shape *s, int n, const nn_real *x, nn_real *y)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    size_t planes = (size_t)n * (size_t)s->c;
    nn_real inv = (nn_real)1 / (nn_real)(s->k * s->k);
    for (size_t p = 0; p < planes; p++) {
        const nn_real *xp = x + p * in_plane;
        nn_real *yp = y + p * out_plane;
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++) {
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                nn_real sum = 0;
                for (int i = h0 < 0 ? 0 : h0; i < h0 + s->k && i < s->h_in; i++)
                    for (int j = w0 < 0 ? 0 : w0; j < w0 + s->k && j < s->w_in; j++)
                        sum += xp[i * s->w_in + j];
                yp[oh * s->w_out + ow] = sum * inv;
            }
    }
}

void nn_avgpool_backward(const nn_pool_shape *s, int n, const nn_real *dy, nn_real *dx)
{
    size_t in_plane = (size_t)s->h_in * (size_t)s->w_in;
    size_t out_plane = (size_t)s->h_out * (size_t)s->w_out;
    size_t planes = (size_t)n * (size_t)s->c;
    nn_real inv = (nn_real)1 / (nn_real)(s->k * s->k);
    for (size_t p = 0; p < planes; p++) {
        nn_real *dxp = dx + p * in_plane;
        const nn_real *dyp = dy + p * out_plane;
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++) {
                int h0 = oh * s->stride - s->pad, w0 = ow * s->stride - s->pad;
                nn_real g = dyp[oh * s->w_out + ow] * inv;
                for (int i = h0 < 0 ? 0 : h0; i < h0 + s->k && i < s->h_in; i++)
                    for (int j = w0 < 0 ? 0 : w0; j < w0 + s->k && j < s->w_in; j++)
                        dxp[i * s->w_in + j] += g;
            }
    }
}

void nn_gap_forward(int n, int c, int hw, const nn_real *x, nn_real *y)
{
    size_t planes = (size_t)n * (size_t)c;
    for (size_t p = 0; p < planes; p++) {
        const nn_real *xp = x + p * (size_t)hw;
        double sum = 0;
        for (int j = 0; j < hw; j++)
            sum += xp[j];
        y[p] = (nn_real)(sum / hw);
    }
}

void nn_gap_backward(int n, int c, int hw, const nn_real *dy, nn_real *dx)
{
    size_t planes = (size_t)n * (size_t)c;
    for (size_t p = 0; p < planes; p++) {
        nn_real g = dy[p] / (nn_real)hw;
        nn_real *dxp = dx + p * (size_t)hw;
        for (int j = 0; j < hw; j++)
            dxp[j] += g;
    }
}

/* ---- batch normalisation ----------------------------------------------- */

/* Reductions in double over float data: exact enough that batch norm's
 * gradients match float64 PyTorch to ~1e-6 even where they cancel (beta's
 * gradient is a sum of terms ~1000x larger than itself), which float32
 * accumulation does not (PyTorch's own float32 path is ~1e-3 off there).
 * NN_SIMD_REDUCTION lets the compiler reorder the sum into vector lanes
 * (-fopenmp-simd); the order of a double sum of floats is immaterial. */
#ifdef NN_OPENMP_SIMD
#define NN_SIMD_REDUCTION(...) _Pragma(NN_STR(omp simd reduction(+ : __VA_ARGS__)))
#define NN_STR(x) #x
#else
#define NN_SIMD_REDUCTION(...)
#endif

void nn_batchnorm_forward(nn_bn_mode mode, int n, int c, int hw, const nn_real *x,
                          const nn_real *gamma, const nn_real *beta, nn_real *running_mean,
                          nn_real *running_var, nn_real *save_mean, nn_real *save_invstd,
                          nn_real *y)
{
    size_t cs = (size_t)c * (size_t)hw; /* stride between samples */
    double count = (double)n * (double)hw;
    for (int ch = 0; ch < c; ch++) {
        double mean, var;
        if (mode.training) {
            /* One pass for sum and sum of squares: in double, the
             * cancellation in E[x^2] - E[x]^2 costs nothing measurable for
             * activations (|mean|/std would need to exceed ~1e4). */
            double sum = 0, sq = 0;
            for (int i = 0; i < n; i++) {
                const nn_real *xp = x + (size_t)i * cs + (size_t)ch * (size_t)hw;
                NN_SIMD_REDUCTION(sum, sq)
                for (int j = 0; j < hw; j++) {
                    double v = xp[j];
                    sum += v;
                    sq += v * v;
                }
            }
            mean = sum / count;
            var = sq / count - mean * mean;
            if (var < 0)
                var = 0;
            double unbiased = count > 1 ? var * count / (count - 1) : var;
            running_mean[ch] = (nn_real)((1 - mode.momentum) * running_mean[ch] +
                                         mode.momentum * mean);
            running_var[ch] = (nn_real)((1 - mode.momentum) * running_var[ch] +
                                        mode.momentum * unbiased);
        } else {
            mean = running_mean[ch];
            var = running_var[ch];
        }
        double invstd = 1.0 / sqrt(var + mode.eps);
        save_mean[ch] = (nn_real)mean;
        save_invstd[ch] = (nn_real)invstd;
        /* y = (x - mean) * scale + beta: subtracting first keeps the result
         * exact to float rounding however large the mean. */
        nn_real scale = (nn_real)(gamma[ch] * invstd), m = (nn_real)mean, b = beta[ch];
        for (int i = 0; i < n; i++) {
            size_t off = (size_t)i * cs + (size_t)ch * (size_t)hw;
            const nn_real *xp = x + off;
            nn_real *yp = y + off;
            for (int j = 0; j < hw; j++)
                yp[j] = (xp[j] - m) * scale + b;
        }
    }
}

void nn_batchnorm_backward(nn_bn_mode mode, int n, int c, int hw, const nn_real *x,
                           const nn_real *gamma, const nn_real *save_mean,
                           const nn_real *save_invstd, const nn_real *dy, nn_real *dx,
                           nn_real *dgamma, nn_real *dbeta)
{
    size_t cs = (size_t)c * (size_t)hw;
    double count = (double)n * (double)hw;
    for (int ch = 0; ch < c; ch++) {
        nn_real m = save_mean[ch];
        double invstd = save_invstd[ch];
        double sdy = 0, sdyx = 0; /* sum dy, sum dy * (x - mean) */
        for (int i = 0; i < n; i++) {
            size_t off = (size_t)i * cs + (size_t)ch * (size_t)hw;
            const nn_real *xp = x + off, *gp = dy + off;
            NN_SIMD_REDUCTION(sdy, sdyx)
            for (int j = 0; j < hw; j++) {
                double g = gp[j];
                sdy += g;
                sdyx += g * (double)(xp[j] - m);
            }
        }
        sdyx *= invstd; /* sum dy * xhat */
        dgamma[ch] += (nn_real)sdyx;
        dbeta[ch] += (nn_real)sdy;
        if (!dx)
            continue;
        /* Training: the batch statistics depend on x too, so
         * dx = gamma*invstd * (dy - mean(dy) - xhat*mean(dy*xhat));
         * inference: dx = gamma*invstd * dy. Per element in float, from
         * coefficients computed in double. */
        nn_real k = (nn_real)(gamma[ch] * invstd);
        nn_real mdy = mode.training ? (nn_real)(sdy / count) : 0;
        nn_real kx = mode.training ? (nn_real)(sdyx / count * invstd) : 0; /* per (x - mean) */
        for (int i = 0; i < n; i++) {
            size_t off = (size_t)i * cs + (size_t)ch * (size_t)hw;
            const nn_real *xp = x + off, *gp = dy + off;
            nn_real *dp = dx + off;
            for (int j = 0; j < hw; j++)
                dp[j] += k * (gp[j] - mdy - (xp[j] - m) * kx);
        }
    }
}

/* ---- elementwise --------------------------------------------------------- */

/* The buffers of these passes never overlap (restrict): that, and selects
 * instead of branches on the data's signs, lets the compiler vectorise. */
void nn_relu_forward(size_t count, const nn_real *restrict x, nn_real *restrict y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = x[i] > 0 ? x[i] : 0;
}

void nn_relu_backward(size_t count, const nn_real *restrict y, const nn_real *restrict dy,
                      nn_real *restrict dx)
{
    for (size_t i = 0; i < count; i++) {
        nn_real g = dy[i]; /* loaded unconditionally: a select, not a branch */
        dx[i] += y[i] > 0 ? g : 0;
    }
}

void nn_add_forward(size_t count, const nn_real *restrict a, const nn_real *restrict b,
                    nn_real *restrict y)
{
    for (size_t i = 0; i < count; i++)
        y[i] = a[i] + b[i];
}

void nn_add_backward(size_t count, const nn_real *restrict dy, nn_real *da,
                     nn_real *db)
{
    if (da)
        for (size_t i = 0; i < count; i++)
            da[i] += dy[i];
    if (db)
        for (size_t i = 0; i < count; i++)
            db[i] += dy[i];
}

/* ---- softmax cross-entropy ---------------------------------------------- */

double nn_xent_forward(int n, int k, const nn_real *logits, const int32_t *labels,
                       nn_real *probs)
{
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const nn_real *z = logits + (size_t)i * (size_t)k;
        nn_real *p = probs + (size_t)i * (size_t)k;
        double mx = z[0];
        for (int j = 1; j < k; j++)
            if (z[j] > mx)
                mx = z[j];
        double sum = 0;
        for (int j = 0; j < k; j++)
            sum += exp((double)z[j] - mx);
        double lse = mx + log(sum);
        for (int j = 0; j < k; j++)
            p[j] = (nn_real)exp((double)z[j] - lse);
        loss += lse - (double)z[labels[i]];
    }
    return loss / n;
}

void nn_xent_backward(int n, int k, const nn_real *probs, const int32_t *labels,
                      nn_real *dlogits)
{
    nn_real inv = (nn_real)1 / (nn_real)n;
    for (int i = 0; i < n; i++) {
        const nn_real *p = probs + (size_t)i * (size_t)k;
        nn_real *d = dlogits + (size_t)i * (size_t)k;
        for (int j = 0; j < k; j++)
            d[j] += (p[j] - (j == labels[i] ? 1 : 0)) * inv;
    }
}
