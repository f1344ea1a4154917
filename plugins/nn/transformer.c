/*
 * GPT-2's layers and model, forward and backward by hand (transformer.h).
 * Everything heavier than O(N*C) is a GEMM through the backend, so the two
 * kernel tables share this file; the attention products run one GEMM per
 * (sequence, head) on strided views of the fused qkv block.
 */
#include "transformer.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define LN_EPS NN_GPT2_LN_EPS

/* The element type's own exp: in float32, the double one costs a tenth
 * of a small model's training step. */
#ifdef NN_DOUBLE
#define R_EXP exp
#else
#define R_EXP expf
#endif

/* ---- encoder -------------------------------------------------------------- */

void nn_encoder_forward(int B, int T, int C, const int32_t *inp, const nn_real *wte,
                        const nn_real *wpe, nn_real *out)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            nn_real *o = out + ((size_t)b * T + t) * C;
            const nn_real *we = wte + (size_t)inp[(size_t)b * T + t] * C;
            const nn_real *pe = wpe + (size_t)t * C;
            for (int i = 0; i < C; i++)
                o[i] = we[i] + pe[i];
        }
}

void nn_encoder_backward(int B, int T, int C, const int32_t *inp, const nn_real *dout,
                         nn_real *dwte, nn_real *dwpe)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            const nn_real *d = dout + ((size_t)b * T + t) * C;
            nn_real *dwe = dwte + (size_t)inp[(size_t)b * T + t] * C;
            nn_real *dpe = dwpe + (size_t)t * C;
            for (int i = 0; i < C; i++) {
                dwe[i] += d[i];
                dpe[i] += d[i];
            }
        }
}

/* ---- layernorm ------------------------------------------------------------ */

void nn_layernorm_forward(int N, int C, const nn_real *x, const nn_real *w, const nn_real *b,
                          nn_real *out, nn_real *mean, nn_real *rstd)
{
    nn_layernorm_forward_eps(N, C, x, w, b, LN_EPS, out, mean, rstd);
}

void nn_layernorm_forward_eps(int N, int C, const nn_real *x, const nn_real *w, const nn_real *b,
                              double eps, nn_real *out, nn_real *mean, nn_real *rstd)
{
    for (int n = 0; n < N; n++) {
        const nn_real *xr = x + (size_t)n * C;
        nn_real *o = out + (size_t)n * C;
        /* Two passes in double: one-pass variance cancels catastrophically
         * on residual streams with a large mean. */
        double m = 0;
        for (int i = 0; i < C; i++)
            m += xr[i];
        m /= C;
        double v = 0;
        for (int i = 0; i < C; i++) {
            double d = xr[i] - m;
            v += d * d;
        }
        v /= C;
        double s = 1.0 / sqrt(v + eps);
        for (int i = 0; i < C; i++)
            o[i] = (nn_real)((xr[i] - m) * s) * w[i] + b[i];
        mean[n] = (nn_real)m;
        rstd[n] = (nn_real)s;
    }
}

void nn_layernorm_backward(int N, int C, const nn_real *x, const nn_real *w, const nn_real *mean,
                           const nn_real *rstd, const nn_real *dout, nn_real *dx, nn_real *dw,
                           nn_real *db)
{
    for (int n = 0; n < N; n++) {
        const nn_real *xr = x + (size_t)n * C, *d = dout + (size_t)n * C;
        nn_real *dxr = dx + (size_t)n * C;
        nn_real m = mean[n], s = rstd[n];
        /* dx = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) */
        double dmean = 0, dnmean = 0;
        for (int i = 0; i < C; i++) {
            nn_real norm = (xr[i] - m) * s;
            nn_real dn = w[i] * d[i];
            dmean += dn;
            dnmean += dn * norm;
        }
        nn_real a = (nn_real)(dmean / C), c = (nn_real)(dnmean / C);
        for (int i = 0; i < C; i++) {
            nn_real norm = (xr[i] - m) * s;
            nn_real dn = w[i] * d[i];
            db[i] += d[i];
            dw[i] += norm * d[i];
            dxr[i] += (dn - a - norm * c) * s;
        }
    }
}

/* exp(x) for x <= 0, where BERT's layers need it: softmax over x - max
 * and GELU's density exp(-x^2 / 2). */
#ifdef NN_DOUBLE
#define NONPOS_EXP exp
#else
/* In float32, inline so that the loops calling it vectorise (a call to
 * expf per element kept them scalar): Cephes' expf, 2^n by the exponent
 * bits, n rounded by the 1.5 * 2^23 trick (no rintf without SSE4.1).
 * Clamped to [-87, 0]: below, exp leaves float's normal range (and the
 * callers' terms no longer matter); above 0 is outside its use, clamped so
 * that a lane computed and then discarded (a masked key) stays in range.
 * NaN stays NaN. */
static inline float nonpos_exp_f32(float x)
{
    x = x < -87.f ? -87.f : x;
    x = x > 0.f ? 0.f : x;
    /* n = round(x / ln 2): 1.5 * 2^23 added leaves it in the low mantissa
     * bits, read back as integer bits (defined for any x, NaN included,
     * which a conversion to int would not be). */
    float t = x * 1.44269504088896341f + 12582912.f;
    float n = t - 12582912.f;
    uint32_t tb;
    memcpy(&tb, &t, sizeof tb);
    float r = x - n * 0.693359375f - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * r * r + r + 1.f;
    uint32_t e = (tb - 0x4B400000u + 127u) << 23; /* 2^n's bits */
    float scale;
    memcpy(&scale, &e, sizeof scale);
    return y * scale;
}
#define NONPOS_EXP nonpos_exp_f32
#endif

/* ---- attention ------------------------------------------------------------ */

/* The causal (GPT-2) and the padding-masked bidirectional (BERT) attention
 * share this pass. Keys a row may see: j <= t when causal; else the
 * sequence's keys whose mask is nonzero (all of them without a mask). Keys
 * at or beyond the sequence's last real one are skipped in the products
 * too, so trailing padding costs nothing but its query rows. */
static void attention_forward(const nn_backend *be, int B, int T, int C, int NH,
                              const nn_real *qkv, int causal, const int32_t *mask, nn_real *out,
                              nn_real *att)
{
    int hs = C / NH, C3 = 3 * C;
    nn_real scale = (nn_real)(1.0 / sqrt((double)hs));
    for (int b = 0; b < B; b++) {
        const int32_t *mk = mask ? mask + (size_t)b * T : NULL;
        int klen = T; /* keys [klen, T) are all masked */
        if (mk)
            while (klen > 0 && !mk[klen - 1])
                klen--;
        for (int h = 0; h < NH; h++) {
            const nn_real *q = qkv + (size_t)b * T * C3 + (size_t)h * hs;
            const nn_real *k = q + C, *v = q + 2 * C;
            nn_real *a = att + ((size_t)b * NH + h) * T * T;
            /* a[T,klen] = q k^T; the causal upper triangle is computed and
             * dropped, which costs less than T small products. */
            if (klen > 0)
                be->k->gemm(be, 0, 1, T, klen, hs, q, C3, k, C3, 0, a, T);
            for (int t = 0; t < T; t++) {
                nn_real *r = a + (size_t)t * T;
                int lim = causal ? t + 1 : klen;
                nn_real mx = -INFINITY, sum = 0;
                if (mk) {
                    for (int j = 0; j < lim; j++) {
                        r[j] *= scale;
                        if (mk[j] && r[j] > mx)
                            mx = r[j];
                    }
                    /* exactly 0 on masked keys, as masked_fill(-inf) */
                    for (int j = 0; j < lim; j++) {
                        r[j] = mk[j] ? NONPOS_EXP(r[j] - mx) : 0;
                        sum += r[j];
                    }
                } else if (!causal) {
                    for (int j = 0; j < lim; j++) {
                        r[j] *= scale;
                        if (r[j] > mx)
                            mx = r[j];
                    }
                    for (int j = 0; j < lim; j++) {
                        r[j] = NONPOS_EXP(r[j] - mx);
                        sum += r[j];
                    }
                } else { /* GPT-2's, unchanged: libm's exp */
                    for (int j = 0; j < lim; j++) {
                        r[j] *= scale;
                        if (r[j] > mx)
                            mx = r[j];
                    }
                    for (int j = 0; j < lim; j++) {
                        r[j] = R_EXP(r[j] - mx);
                        sum += r[j];
                    }
                }
                /* sum is 0 only for a row with no key at all (a sequence
                 * masked entirely, which callers must not pass): zeros
                 * rather than NaN. */
                nn_real inv = sum > 0 ? 1 / sum : 0;
                for (int j = 0; j < lim; j++)
                    r[j] *= inv;
                for (int j = lim; j < T; j++)
                    r[j] = 0;
            }
            /* out[T,hs] (rows C apart) = a[:, :klen] v[:klen] */
            nn_real *o = out + (size_t)b * T * C + h * hs;
            if (klen > 0)
                be->k->gemm(be, 0, 0, T, hs, klen, a, T, v, C3, 0, o, C);
            else
                for (int t = 0; t < T; t++)
                    memset(o + (size_t)t * C, 0, (size_t)hs * sizeof *o);
        }
    }
}

/* Backward from the saved probabilities: masked keys have probability 0,
 * so the softmax's gradient a * (da - sum(a * da)) is 0 there without the
 * mask. */
static void attention_backward(const nn_backend *be, int B, int T, int C, int NH,
                               const nn_real *qkv, int causal, const nn_real *att,
                               const nn_real *dout, nn_real *dqkv, nn_real *scratch)
{
    int hs = C / NH, C3 = 3 * C;
    nn_real scale = (nn_real)(1.0 / sqrt((double)hs));
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++) {
            size_t off = (size_t)b * T * C3 + (size_t)h * hs;
            const nn_real *q = qkv + off, *k = q + C, *v = q + 2 * C;
            nn_real *dq = dqkv + off, *dk = dq + C, *dv = dq + 2 * C;
            const nn_real *a = att + ((size_t)b * NH + h) * T * T;
            const nn_real *d = dout + (size_t)b * T * C + h * hs;
            nn_real *da = scratch;
            be->k->gemm(be, 0, 1, T, T, hs, d, C, v, C3, 0, da, T); /* da = dout v^T */
            be->k->gemm(be, 1, 0, T, hs, T, a, T, d, C, 1, dv, C3); /* dv += a^T dout */
            /* Softmax backward, then the scale; above the causal diagonal
             * the gradient is 0. */
            for (int t = 0; t < T; t++) {
                const nn_real *ar = a + (size_t)t * T;
                nn_real *dr = da + (size_t)t * T;
                int lim = causal ? t + 1 : T;
                nn_real dot = 0;
                for (int j = 0; j < lim; j++)
                    dot += ar[j] * dr[j];
                for (int j = 0; j < lim; j++)
                    dr[j] = ar[j] * (dr[j] - dot) * scale;
                for (int j = lim; j < T; j++)
                    dr[j] = 0;
            }
            be->k->gemm(be, 0, 0, T, hs, T, da, T, k, C3, 1, dq, C3); /* dq += dpre k */
            be->k->gemm(be, 1, 0, T, hs, T, da, T, q, C3, 1, dk, C3); /* dk += dpre^T q */
        }
}

void nn_attention_forward(const nn_backend *be, int B, int T, int C, int NH, const nn_real *qkv,
                          nn_real *out, nn_real *att)
{
    attention_forward(be, B, T, C, NH, qkv, 1, NULL, out, att);
}

void nn_attention_backward(const nn_backend *be, int B, int T, int C, int NH, const nn_real *qkv,
                           const nn_real *att, const nn_real *dout, nn_real *dqkv,
                           nn_real *scratch)
{
    attention_backward(be, B, T, C, NH, qkv, 1, att, dout, dqkv, scratch);
}

void nn_attention_masked_forward(const nn_backend *be, int B, int T, int C, int NH,
                                 const nn_real *qkv, const int32_t *mask, nn_real *out,
                                 nn_real *att)
{
    attention_forward(be, B, T, C, NH, qkv, 0, mask, out, att);
}

void nn_attention_masked_backward(const nn_backend *be, int B, int T, int C, int NH,
                                  const nn_real *qkv, const nn_real *att, const nn_real *dout,
                                  nn_real *dqkv, nn_real *scratch)
{
    attention_backward(be, B, T, C, NH, qkv, 0, att, dout, dqkv, scratch);
}

/* ---- GELU ----------------------------------------------------------------- */

#define GELU_S 0.7978845608028654 /* sqrt(2/pi) */

/* 0.5 (1 + tanh u) = 1 / (1 + exp(-2u)): one exp instead of a tanh, which
 * libm computes several times slower (it was a third of a small model's
 * training step). exp(-2u) overflowing to inf gives the limit, 0. */
void nn_gelu_forward(size_t n, const nn_real *x, nn_real *y)
{
    for (size_t i = 0; i < n; i++) {
        nn_real v = x[i];
        nn_real u = (nn_real)GELU_S * (v + (nn_real)0.044715 * v * v * v);
        y[i] = v / (1 + R_EXP(-2 * u));
    }
}

void nn_gelu_backward(size_t n, const nn_real *x, const nn_real *dy, nn_real *dx)
{
    for (size_t i = 0; i < n; i++) {
        nn_real v = x[i];
        nn_real u = (nn_real)GELU_S * (v + (nn_real)0.044715 * v * v * v);
        nn_real s = 1 / (1 + R_EXP(-2 * u)); /* 0.5 (1 + tanh u) */
        nn_real du = (nn_real)GELU_S * (1 + (nn_real)(3 * 0.044715) * v * v);
        /* d/dv [v s] = s + v * 2 s (1 - s) du, as 1 - tanh^2 = 4 s (1 - s) */
        dx[i] += dy[i] * (s + 2 * v * s * (1 - s) * du);
    }
}

#define SQRT1_2 0.70710678118654752440 /* 1/sqrt(2) */
#define INV_SQRT_2PI 0.39894228040143267794

#ifdef NN_DOUBLE
#define GELU_ERF erf
#else
/* erf in float32 as a rational function of x (Eigen's and TensorFlow's
 * generic_fast_erf_float: odd degree 13 over even degree 8 on [-4, 4],
 * where erf is +-1 in float outside), within 7e-8 of erf in exact
 * arithmetic, a few ulp in float. Unlike libm's erff (a call per element,
 * a sixth of a small encoder's training step) it vectorises. The float64
 * build keeps libm's erf, which the gradient checks compare against. */
static inline float gelu_erf_f32(float x)
{
    x = x > 4.f ? 4.f : x;
    x = x < -4.f ? -4.f : x;
    float x2 = x * x;
    float p = -2.72614225801306e-10f;
    p = p * x2 + 2.77068142495902e-08f;
    p = p * x2 + -2.10102402082508e-06f;
    p = p * x2 + -5.69250639462346e-05f;
    p = p * x2 + -7.34990630326855e-04f;
    p = p * x2 + -2.95459980854025e-03f;
    p = p * x2 + -1.60960333262415e-02f;
    float q = -1.45660718464996e-05f;
    q = q * x2 + -2.13374055278905e-04f;
    q = q * x2 + -1.68282697438203e-03f;
    q = q * x2 + -7.37332916720468e-03f;
    q = q * x2 + -1.42647390514189e-02f;
    return x * p / q;
}
#define GELU_ERF gelu_erf_f32
#endif

void nn_gelu_erf_forward(size_t n, const nn_real *x, nn_real *y)
{
#ifdef NN_OPENMP_SIMD
#pragma omp simd
#endif
    for (size_t i = 0; i < n; i++) {
        nn_real v = x[i];
        y[i] = (nn_real)0.5 * v * (1 + GELU_ERF(v * (nn_real)SQRT1_2));
    }
}


/* d/dx [x Phi(x)] = Phi(x) + x phi(x) */
void nn_gelu_erf_backward(size_t n, const nn_real *x, const nn_real *dy, nn_real *dx)
{
#ifdef NN_OPENMP_SIMD
#pragma omp simd
#endif
    for (size_t i = 0; i < n; i++) {
        nn_real v = x[i];
        nn_real cdf = (nn_real)0.5 * (1 + GELU_ERF(v * (nn_real)SQRT1_2));
        nn_real pdf = (nn_real)INV_SQRT_2PI * NONPOS_EXP((nn_real)-0.5 * v * v);
        dx[i] += dy[i] * (cdf + v * pdf);
    }
}

/* ---- softmax cross-entropy ------------------------------------------------ */

double nn_softmax_xent_forward(int N, int V, int Vp, const nn_real *logits,
                               const int32_t *targets, nn_real *probs)
{
    double loss = 0;
    for (int n = 0; n < N; n++) {
        const nn_real *l = logits + (size_t)n * Vp;
        nn_real *p = probs + (size_t)n * Vp;
        nn_real mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx)
                mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++) {
            p[i] = R_EXP(l[i] - mx);
            sum += p[i];
        }
        nn_real inv = (nn_real)(1.0 / sum);
        for (int i = 0; i < V; i++)
            p[i] *= inv;
        for (int i = V; i < Vp; i++)
            p[i] = 0;
        if (targets) /* log p from the logits: exact even where p underflows */
            loss += log(sum) - (double)(l[targets[n]] - mx);
    }
    return loss / N;
}

void nn_layernorm_forward_be(const nn_backend *be, int N, int C, const nn_real *x,
                             const nn_real *w, const nn_real *b, double eps, nn_real *out,
                             nn_real *mean, nn_real *rstd)
{
    if (be->k->layernorm_forward)
        be->k->layernorm_forward(be, N, C, x, w, b, eps, out, mean, rstd);
    else
        nn_layernorm_forward_eps(N, C, x, w, b, eps, out, mean, rstd);
}

void nn_layernorm_backward_be(const nn_backend *be, int N, int C, const nn_real *x,
                              const nn_real *w, const nn_real *mean, const nn_real *rstd,
                              double eps, const nn_real *dout, nn_real *dx, nn_real *dw,
                              nn_real *db)
{
    if (be->k->layernorm_backward)
        be->k->layernorm_backward(be, N, C, x, w, mean, rstd, eps, dout, dx, dw, db);
    else
        nn_layernorm_backward(N, C, x, w, mean, rstd, dout, dx, dw, db);
}

/* With the table's softmax the loss is -log p[target] from its
 * probabilities, in double; a row whose p[target] is below float's normal
 * range (where -log p would lose its digits or be infinite) gets the
 * core's exact log-sum-exp from its logits instead. */
double nn_softmax_xent_forward_be(const nn_backend *be, int N, int V, int Vp,
                                  const nn_real *logits, const int32_t *targets, nn_real *probs)
{
    if (!be->k->softmax || be->k->softmax(be, N, V, Vp, logits, probs) != 0)
        return nn_softmax_xent_forward(N, V, Vp, logits, targets, probs);
    double loss = 0;
    for (int n = 0; n < N; n++) {
        nn_real *p = probs + (size_t)n * Vp;
        for (int i = V; i < Vp; i++)
            p[i] = 0;
        if (!targets)
            continue;
        nn_real pt = p[targets[n]];
        if (pt >= (nn_real)1.17549435e-38f) { /* FLT_MIN */
            loss -= log((double)pt);
            continue;
        }
        const nn_real *l = logits + (size_t)n * Vp;
        nn_real mx = -INFINITY;
        for (int i = 0; i < V; i++)
            if (l[i] > mx)
                mx = l[i];
        double sum = 0;
        for (int i = 0; i < V; i++)
            sum += R_EXP(l[i] - mx);
        loss += log(sum) - (double)(l[targets[n]] - mx);
    }
    return loss / N;
}

void nn_softmax_xent_backward(int N, int V, int Vp, const nn_real *probs, const int32_t *targets,
                              nn_real *dlogits)
{
    nn_real inv = (nn_real)(1.0 / N);
    for (int n = 0; n < N; n++) {
        const nn_real *p = probs + (size_t)n * Vp;
        nn_real *d = dlogits + (size_t)n * Vp;
        for (int i = 0; i < V; i++)
            d[i] += (p[i] - (i == targets[n] ? 1 : 0)) * inv;
    }
}

/* ---- the model ------------------------------------------------------------ */

const char *const nn_gpt2_tensor_names[NN_GPT2_NUM_TENSORS] = {
    "wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"};
const int nn_gpt2_tensor_decays[NN_GPT2_NUM_TENSORS] = {1, 1, 0, 0, 1, 0, 1, 0,
                                                        0, 0, 1, 0, 1, 0, 0, 0};

int nn_gpt2_config_check(const nn_gpt2_config *c, char *err, size_t errlen)
{
    if (c->max_seq_len < 1 || c->vocab_size < 1 || c->padded_vocab_size < c->vocab_size ||
        c->num_layers < 1 || c->num_heads < 1 || c->channels < 1 ||
        c->channels % c->num_heads) {
        snprintf(err, errlen,
                 "GPT-2 configuration: maxT=%d V=%d Vp=%d L=%d NH=%d C=%d: every size must be "
                 "positive, Vp >= V and NH must divide C",
                 c->max_seq_len, c->vocab_size, c->padded_vocab_size, c->num_layers,
                 c->num_heads, c->channels);
        return -EINVAL;
    }
    /* Sizes far beyond any real model are typos or hostile headers; these
     * bounds also keep every product below within size_t and int. */
    if (c->max_seq_len > 65536 || c->padded_vocab_size > (1 << 20) || c->num_layers > 1024 ||
        c->channels > 65536 || (double)c->padded_vocab_size * c->channels > 4e9 ||
        (double)c->num_layers * 12.0 * c->channels * c->channels > 4e10) {
        snprintf(err, errlen,
                 "GPT-2 configuration: maxT=%d V=%d Vp=%d L=%d NH=%d C=%d is beyond this "
                 "implementation's limits (maxT <= 65536, Vp <= 2^20, L <= 1024, C <= 65536)",
                 c->max_seq_len, c->vocab_size, c->padded_vocab_size, c->num_layers,
                 c->num_heads, c->channels);
        return -EINVAL;
    }
    return 0;
}

size_t nn_gpt2_param_sizes(const nn_gpt2_config *c, size_t s[NN_GPT2_NUM_TENSORS])
{
    size_t C = (size_t)c->channels, L = (size_t)c->num_layers;
    size_t v[NN_GPT2_NUM_TENSORS] = {(size_t)c->padded_vocab_size * C,
                                     (size_t)c->max_seq_len * C,
                                     L * C,
                                     L * C,
                                     L * 3 * C * C,
                                     L * 3 * C,
                                     L * C * C,
                                     L * C,
                                     L * C,
                                     L * C,
                                     L * 4 * C * C,
                                     L * 4 * C,
                                     L * C * 4 * C,
                                     L * C,
                                     C,
                                     C};
    size_t total = 0;
    for (int i = 0; i < NN_GPT2_NUM_TENSORS; i++)
        total += (s[i] = v[i]);
    return total;
}

static void params_view(nn_gpt2_params *p, nn_real *mem, const size_t *sizes)
{
    nn_real **ptrs[NN_GPT2_NUM_TENSORS] = {
        &p->wte,  &p->wpe,  &p->ln1w, &p->ln1b,    &p->qkvw,    &p->qkvb,
        &p->attprojw, &p->attprojb, &p->ln2w, &p->ln2b, &p->fcw, &p->fcb,
        &p->fcprojw, &p->fcprojb, &p->lnfw, &p->lnfb};
    for (int i = 0; i < NN_GPT2_NUM_TENSORS; i++) {
        *ptrs[i] = mem;
        mem += sizes[i];
    }
}

/* Lays the activations of a (B, T) pass out in mem (NULL: only counts);
 * returns the elements. */
static size_t acts_layout(const nn_gpt2_config *c, int B, int T, nn_real *mem, nn_gpt2_acts *a)
{
    size_t C = (size_t)c->channels, L = (size_t)c->num_layers, NH = (size_t)c->num_heads;
    size_t N = (size_t)B * (size_t)T, Vp = (size_t)c->padded_vocab_size;
    size_t sz[NN_GPT2_NUM_ACTS] = {N * C, L * N * C, L * N, L * N, L * N * 3 * C, L * N * C,
                                   L * (size_t)B * NH * (size_t)T * (size_t)T, L * N * C,
                                   L * N * C, L * N * C, L * N, L * N, L * N * 4 * C,
                                   L * N * 4 * C, L * N * C, L * N * C, N * C, N, N, N * Vp,
                                   N * Vp};
    nn_real **ptrs[NN_GPT2_NUM_ACTS] = {
        &a->encoded, &a->ln1, &a->ln1_mean, &a->ln1_rstd, &a->qkv, &a->atty, &a->att,
        &a->attproj, &a->residual2, &a->ln2, &a->ln2_mean, &a->ln2_rstd, &a->fch,
        &a->fch_gelu, &a->fcproj, &a->residual3, &a->lnf, &a->lnf_mean, &a->lnf_rstd,
        &a->logits, &a->probs};
    size_t total = 0;
    for (int i = 0; i < NN_GPT2_NUM_ACTS; i++) {
        if (mem)
            *ptrs[i] = mem + total;
        total += sz[i];
    }
    return total;
}

/* One token's working set for nn_gpt2_step. */
static size_t step_size(const nn_gpt2_config *c)
{
    return (size_t)c->channels * 15 + (size_t)c->max_seq_len + 4;
}

void nn_gpt2_free(nn_gpt2 *m)
{
    nn_free(m->params_mem);
    nn_free(m->grads_mem);
    nn_free(m->m_mem);
    nn_free(m->v_mem);
    nn_free(m->acts_mem);
    nn_free(m->grads_acts_mem);
    nn_free(m->inputs);
    nn_free(m->targets);
    nn_free(m->kv);
    nn_free(m->step_buf);
    nn_free(m->step_logits);
    memset(m, 0, sizeof *m);
}

int nn_gpt2_create(nn_gpt2 *m, const nn_gpt2_config *cfg, const nn_backend *be, int max_B,
                   int max_T, int training, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int rc = nn_gpt2_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    if (max_B < 1 || max_T < 1 || max_T > cfg->max_seq_len ||
        (double)max_B * max_T > (double)INT_MAX / 8) {
        snprintf(err, errlen, "GPT-2: batch %d x %d must be positive with T <= maxT = %d", max_B,
                 max_T, cfg->max_seq_len);
        return -EINVAL;
    }
    m->cfg = *cfg;
    m->be = be;
    m->max_B = max_B;
    m->max_T = max_T;
    m->training = training;
    m->n_params = nn_gpt2_param_sizes(cfg, m->sizes);
    m->n_acts = acts_layout(cfg, max_B, max_T, NULL, &m->acts);
    size_t N = (size_t)max_B * (size_t)max_T;
    m->params_mem = nn_alloc(m->n_params, sizeof(nn_real));
    m->acts_mem = nn_alloc(m->n_acts, sizeof(nn_real));
    m->inputs = nn_alloc(N, sizeof *m->inputs);
    m->targets = nn_alloc(N, sizeof *m->targets);
    m->kv = nn_alloc((size_t)cfg->num_layers * (size_t)cfg->max_seq_len * 2 *
                         (size_t)cfg->channels,
                     sizeof(nn_real));
    m->step_buf = nn_alloc(step_size(cfg), sizeof(nn_real));
    m->step_logits = nn_alloc((size_t)cfg->padded_vocab_size, sizeof(nn_real));
    int ok = m->params_mem && m->acts_mem && m->inputs && m->targets && m->kv && m->step_buf &&
             m->step_logits;
    if (ok && training) {
        m->grads_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->m_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->v_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->grads_acts_mem = nn_alloc(m->n_acts, sizeof(nn_real));
        ok = m->grads_mem && m->m_mem && m->v_mem && m->grads_acts_mem;
    }
    if (!ok) {
        snprintf(err, errlen,
                 "GPT-2: out of memory for %zu parameters and %zu activations (batch %d x %d)%s",
                 m->n_params, m->n_acts, max_B, max_T, training ? ", with gradients" : "");
        nn_gpt2_free(m);
        return -ENOMEM;
    }
    params_view(&m->params, m->params_mem, m->sizes);
    if (training)
        params_view(&m->grads, m->grads_mem, m->sizes);
    m->mean_loss = -1;
    return 0;
}

void nn_gpt2_init_weights(nn_gpt2 *m, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed);
    const nn_gpt2_config *c = &m->cfg;
    double resid_std = 0.02 / sqrt(2.0 * c->num_layers);
    nn_real *p = m->params_mem;
    for (int i = 0; i < NN_GPT2_NUM_TENSORS; i++) {
        const char *nm = nn_gpt2_tensor_names[i];
        size_t n = m->sizes[i];
        if (i == 0) /* wte: only the real vocabulary's rows */
            n = (size_t)c->vocab_size * (size_t)c->channels;
        if (!strcmp(nm, "ln1w") || !strcmp(nm, "ln2w") || !strcmp(nm, "lnfw")) {
            for (size_t j = 0; j < n; j++)
                p[j] = 1;
        } else if (nn_gpt2_tensor_decays[i]) {
            double sd = (!strcmp(nm, "attprojw") || !strcmp(nm, "fcprojw")) ? resid_std : 0.02;
            for (size_t j = 0; j < n; j++)
                p[j] = (nn_real)(sd * nn_rng_normal(&r));
        } /* biases stay 0 (nn_alloc zeroed them) */
        p += m->sizes[i];
    }
}

void nn_gpt2_forward(nn_gpt2 *m, const int32_t *inputs, const int32_t *targets, int B, int T)
{
    const nn_gpt2_config *c = &m->cfg;
    const nn_backend *be = m->be;
    int C = c->channels, L = c->num_layers, NH = c->num_heads, Vp = c->padded_vocab_size;
    int N = B * T;
    m->B = B;
    m->T = T;
    memcpy(m->inputs, inputs, (size_t)N * sizeof *inputs);
    m->have_targets = targets != NULL;
    if (targets)
        memcpy(m->targets, targets, (size_t)N * sizeof *targets);
    nn_gpt2_acts *a = &m->acts;
    acts_layout(c, B, T, m->acts_mem, a);
    const nn_gpt2_params *p = &m->params;
    size_t NC = (size_t)N * C;
    nn_encoder_forward(B, T, C, inputs, p->wte, p->wpe, a->encoded);
    for (int l = 0; l < L; l++) {
        const nn_real *res = l == 0 ? a->encoded : a->residual3 + (size_t)(l - 1) * NC;
        nn_real *ln1 = a->ln1 + l * NC, *qkv = a->qkv + l * 3 * NC, *atty = a->atty + l * NC;
        nn_real *att = a->att + (size_t)l * B * NH * T * T, *attproj = a->attproj + l * NC;
        nn_real *res2 = a->residual2 + l * NC, *ln2 = a->ln2 + l * NC;
        nn_real *fch = a->fch + l * 4 * NC, *fchg = a->fch_gelu + l * 4 * NC;
        nn_real *fcproj = a->fcproj + l * NC, *res3 = a->residual3 + l * NC;
        size_t lc = (size_t)l * C;
        nn_layernorm_forward_be(be, N, C, res, p->ln1w + lc, p->ln1b + lc, LN_EPS, ln1,
                             a->ln1_mean + (size_t)l * N, a->ln1_rstd + (size_t)l * N);
        nn_linear_forward(be, N, C, 3 * C, ln1, p->qkvw + lc * 3 * C, p->qkvb + 3 * lc, qkv);
        nn_attention_forward(be, B, T, C, NH, qkv, atty, att);
        nn_linear_forward(be, N, C, C, atty, p->attprojw + lc * C, p->attprojb + lc, attproj);
        nn_add_forward(NC, res, attproj, res2);
        nn_layernorm_forward_be(be, N, C, res2, p->ln2w + lc, p->ln2b + lc, LN_EPS, ln2,
                             a->ln2_mean + (size_t)l * N, a->ln2_rstd + (size_t)l * N);
        nn_linear_forward(be, N, C, 4 * C, ln2, p->fcw + lc * 4 * C, p->fcb + 4 * lc, fch);
        nn_gelu_forward(4 * NC, fch, fchg);
        nn_linear_forward(be, N, 4 * C, C, fchg, p->fcprojw + lc * 4 * C, p->fcprojb + lc,
                          fcproj);
        nn_add_forward(NC, res2, fcproj, res3);
    }
    nn_layernorm_forward_be(be, N, C, a->residual3 + (size_t)(L - 1) * NC, p->lnfw, p->lnfb,
                            LN_EPS, a->lnf,
                         a->lnf_mean, a->lnf_rstd);
    /* The tied head: logits[N,Vp] = lnf wte^T. */
    nn_linear_forward(be, N, C, Vp, a->lnf, p->wte, NULL, a->logits);
    double loss =
        nn_softmax_xent_forward_be(be, N, c->vocab_size, Vp, a->logits, targets, a->probs);
    m->mean_loss = targets ? loss : -1;
}

void nn_gpt2_zero_grad(nn_gpt2 *m)
{
    if (m->grads_mem)
        memset(m->grads_mem, 0, m->n_params * sizeof(nn_real));
}

void nn_gpt2_backward(nn_gpt2 *m)
{
    if (!m->training || !m->have_targets)
        return;
    const nn_gpt2_config *c = &m->cfg;
    const nn_backend *be = m->be;
    int C = c->channels, L = c->num_layers, NH = c->num_heads, Vp = c->padded_vocab_size;
    int B = m->B, T = m->T, N = B * T;
    size_t NC = (size_t)N * C;
    const nn_gpt2_acts *a = &m->acts;
    nn_gpt2_acts *g = &m->grads_acts;
    size_t used = acts_layout(c, B, T, m->grads_acts_mem, g);
    memset(m->grads_acts_mem, 0, used * sizeof(nn_real));
    const nn_gpt2_params *p = &m->params;
    nn_gpt2_params *dp = &m->grads;

    nn_softmax_xent_backward(N, c->vocab_size, Vp, a->probs, m->targets, g->logits);
    nn_linear_backward(be, N, C, Vp, a->lnf, p->wte, g->logits, g->lnf, dp->wte, NULL);
    nn_real *dres_last = g->residual3 + (size_t)(L - 1) * NC;
    nn_layernorm_backward_be(be, N, C, a->residual3 + (size_t)(L - 1) * NC, p->lnfw, a->lnf_mean,
                             a->lnf_rstd, LN_EPS, g->lnf, dres_last, dp->lnfw, dp->lnfb);
    for (int l = L - 1; l >= 0; l--) {
        size_t lc = (size_t)l * C, lN = (size_t)l * N;
        const nn_real *res = l == 0 ? a->encoded : a->residual3 + (size_t)(l - 1) * NC;
        nn_real *dres = l == 0 ? g->encoded : g->residual3 + (size_t)(l - 1) * NC;
        /* res3 = res2 + fcproj */
        nn_add_backward(NC, g->residual3 + l * NC, g->residual2 + l * NC, g->fcproj + l * NC);
        nn_linear_backward(be, N, 4 * C, C, a->fch_gelu + l * 4 * NC, p->fcprojw + lc * 4 * C,
                           g->fcproj + l * NC, g->fch_gelu + l * 4 * NC, dp->fcprojw + lc * 4 * C,
                           dp->fcprojb + lc);
        nn_gelu_backward(4 * NC, a->fch + l * 4 * NC, g->fch_gelu + l * 4 * NC,
                         g->fch + l * 4 * NC);
        nn_linear_backward(be, N, C, 4 * C, a->ln2 + l * NC, p->fcw + lc * 4 * C,
                           g->fch + l * 4 * NC, g->ln2 + l * NC, dp->fcw + lc * 4 * C,
                           dp->fcb + 4 * lc);
        nn_layernorm_backward_be(be, N, C, a->residual2 + l * NC, p->ln2w + lc,
                                 a->ln2_mean + lN, a->ln2_rstd + lN, LN_EPS, g->ln2 + l * NC,
                                 g->residual2 + l * NC, dp->ln2w + lc, dp->ln2b + lc);
        /* res2 = res + attproj */
        nn_add_backward(NC, g->residual2 + l * NC, dres, g->attproj + l * NC);
        nn_linear_backward(be, N, C, C, a->atty + l * NC, p->attprojw + lc * C,
                           g->attproj + l * NC, g->atty + l * NC, dp->attprojw + lc * C,
                           dp->attprojb + lc);
        /* The layer's datt block is free scratch: attention's gradient
         * flows through qkv only. */
        nn_attention_backward(be, B, T, C, NH, a->qkv + l * 3 * NC,
                              a->att + (size_t)l * B * NH * T * T, g->atty + l * NC,
                              g->qkv + l * 3 * NC, g->att + (size_t)l * B * NH * T * T);
        nn_linear_backward(be, N, C, 3 * C, a->ln1 + l * NC, p->qkvw + lc * 3 * C,
                           g->qkv + l * 3 * NC, g->ln1 + l * NC, dp->qkvw + lc * 3 * C,
                           dp->qkvb + 3 * lc);
        nn_layernorm_backward_be(be, N, C, res, p->ln1w + lc, a->ln1_mean + lN,
                                 a->ln1_rstd + lN, LN_EPS, g->ln1 + l * NC, dres, dp->ln1w + lc,
                                 dp->ln1b + lc);
    }
    nn_encoder_backward(B, T, C, m->inputs, g->encoded, dp->wte, dp->wpe);
}

double nn_gpt2_clip_grad(nn_gpt2 *m, double max_norm)
{
    if (!m->grads_mem)
        return 0;
    double ss = 0;
    for (size_t i = 0; i < m->n_params; i++)
        ss += (double)m->grads_mem[i] * (double)m->grads_mem[i];
    double norm = sqrt(ss);
    if (max_norm > 0) {
        double coef = max_norm / (norm + 1e-6);
        if (coef < 1)
            for (size_t i = 0; i < m->n_params; i++)
                m->grads_mem[i] *= (nn_real)coef;
    }
    return norm;
}

void nn_adamw_apply(const nn_adamw *o, long step_no, int n_tensors, const size_t *sizes,
                    const int *decays, nn_real *params, const nn_real *grads, nn_real *m,
                    nn_real *v)
{
    double bc1 = 1.0 - pow(o->beta1, (double)step_no);
    double bc2 = 1.0 - pow(o->beta2, (double)step_no);
    /* torch.optim.AdamW: w *= 1 - lr*wd; w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps) */
    nn_real b1 = (nn_real)o->beta1, b2 = (nn_real)o->beta2, eps = (nn_real)o->eps;
    nn_real step = (nn_real)(o->lr / bc1), isb2 = (nn_real)(1.0 / sqrt(bc2));
    size_t at = 0;
    for (int t = 0; t < n_tensors; t++) {
        nn_real keep = (nn_real)(1.0 - (decays[t] ? o->lr * o->weight_decay : 0));
        nn_real *w = params + at, *mm = m + at, *vv = v + at;
        const nn_real *g = grads + at;
        for (size_t i = 0; i < sizes[t]; i++) {
            mm[i] = b1 * mm[i] + (1 - b1) * g[i];
            vv[i] = b2 * vv[i] + (1 - b2) * g[i] * g[i];
            w[i] *= keep;
            w[i] -= step * mm[i] / ((nn_real)sqrt((double)vv[i]) * isb2 + eps);
        }
        at += sizes[t];
    }
}

void nn_gpt2_adamw_step(nn_gpt2 *m, const nn_adamw *o)
{
    if (!m->training)
        return;
    m->adam_step++;
    nn_adamw_apply(o, m->adam_step, NN_GPT2_NUM_TENSORS, m->sizes, nn_gpt2_tensor_decays,
                   m->params_mem, m->grads_mem, m->m_mem, m->v_mem);
}

double nn_lr_schedule(double lr, int step, int warmup, int total, int cosine, double min_frac)
{
    if (step < warmup)
        return lr * (step + 1) / warmup;
    if (!cosine || total <= warmup)
        return lr;
    double r = (double)(step - warmup) / (double)(total - warmup);
    if (r > 1)
        r = 1;
    double coef = 0.5 * (1.0 + cos(3.14159265358979323846 * r));
    return lr * (min_frac + (1 - min_frac) * coef);
}

/* ---- incremental decoding ------------------------------------------------- */

/* One row through the linear layer: y[out] = w[out, in] x + b. */
static void linear1(const nn_backend *be, int in, int out, const nn_real *x, const nn_real *w,
                    const nn_real *b, nn_real *y)
{
    if (!be->k->gemv) {
        nn_linear_forward(be, 1, in, out, x, w, b, y);
        return;
    }
    be->k->gemv(be, out, in, w, in, x, 0, y);
    if (b)
        for (int o = 0; o < out; o++)
            y[o] += b[o];
}

const nn_real *nn_gpt2_step(nn_gpt2 *m, int32_t token, int pos)
{
    const nn_gpt2_config *c = &m->cfg;
    const nn_backend *be = m->be;
    int C = c->channels, NH = c->num_heads, hs = C / NH, maxT = c->max_seq_len;
    const nn_gpt2_params *p = &m->params;
    nn_real *x = m->step_buf, *ln = x + C, *qkv = ln + C, *atty = qkv + 3 * C;
    nn_real *tmp = atty + C, *fch = tmp + C, *fchg = fch + 4 * C, *sc = fchg + 4 * C;
    nn_real *stat = sc + maxT; /* mean, rstd */
    nn_real scale = (nn_real)(1.0 / sqrt((double)hs));
    nn_encoder_forward(1, 1, C, &token, p->wte, p->wpe + (size_t)pos * C, x);
    for (int l = 0; l < c->num_layers; l++) {
        size_t lc = (size_t)l * C;
        nn_real *kv = m->kv + (size_t)l * maxT * 2 * C; /* [maxT, 2C] */
        nn_layernorm_forward_be(be, 1, C, x, p->ln1w + lc, p->ln1b + lc, LN_EPS, ln, stat,
                                stat + 1);
        linear1(be, C, 3 * C, ln, p->qkvw + lc * 3 * C, p->qkvb + 3 * lc, qkv);
        memcpy(kv + (size_t)pos * 2 * C, qkv + C, 2 * (size_t)C * sizeof *qkv);
        for (int h = 0; h < NH; h++) {
            const nn_real *q = qkv + h * hs;
            nn_real mx = -INFINITY;
            for (int t = 0; t <= pos; t++) {
                const nn_real *k = kv + (size_t)t * 2 * C + h * hs;
                nn_real d = 0;
                for (int i = 0; i < hs; i++)
                    d += q[i] * k[i];
                sc[t] = d * scale;
                if (sc[t] > mx)
                    mx = sc[t];
            }
            nn_real sum = 0;
            for (int t = 0; t <= pos; t++) {
                sc[t] = R_EXP(sc[t] - mx);
                sum += sc[t];
            }
            nn_real *o = atty + h * hs;
            for (int i = 0; i < hs; i++)
                o[i] = 0;
            for (int t = 0; t <= pos; t++) {
                const nn_real *v = kv + (size_t)t * 2 * C + C + h * hs;
                nn_real w = sc[t] / sum;
                for (int i = 0; i < hs; i++)
                    o[i] += w * v[i];
            }
        }
        linear1(be, C, C, atty, p->attprojw + lc * C, p->attprojb + lc, tmp);
        for (int i = 0; i < C; i++) /* in place: nn_add_forward's are restrict */
            x[i] += tmp[i];
        nn_layernorm_forward_be(be, 1, C, x, p->ln2w + lc, p->ln2b + lc, LN_EPS, ln, stat,
                                stat + 1);
        linear1(be, C, 4 * C, ln, p->fcw + lc * 4 * C, p->fcb + 4 * lc, fch);
        nn_gelu_forward(4 * (size_t)C, fch, fchg);
        linear1(be, 4 * C, C, fchg, p->fcprojw + lc * 4 * C, p->fcprojb + lc, tmp);
        for (int i = 0; i < C; i++)
            x[i] += tmp[i];
    }
    nn_layernorm_forward_be(be, 1, C, x, p->lnfw, p->lnfb, LN_EPS, ln, stat, stat + 1);
    linear1(be, C, c->padded_vocab_size, ln, p->wte, NULL, m->step_logits);
    return m->step_logits;
}
