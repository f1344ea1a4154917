/* Optimisers over a model's flat weight block, following torch.optim's
 * update rules step for step so that runs compare with PyTorch's. */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#if defined(__SSE__) || defined(__x86_64__)
#include <xmmintrin.h>
#define NN_HAVE_MXCSR 1
#endif

int nn_optim_init(nn_optim *o, nn_optim_kind kind, size_t n, double lr, double momentum,
                  double weight_decay, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    if (!(lr > 0) || !(momentum >= 0 && momentum < 1) || !(weight_decay >= 0)) {
        snprintf(err, errlen,
                 "optimiser: lr=%g must be > 0, momentum=%g in [0, 1), weight_decay=%g >= 0", lr,
                 momentum, weight_decay);
        return -EINVAL;
    }
    o->kind = kind;
    o->n = n;
    o->lr = lr;
    o->momentum = momentum;
    o->weight_decay = weight_decay;
    /* Adam's defaults; `momentum` is SGD's only. */
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->m = nn_alloc(n ? n : 1, sizeof *o->m);
    if (kind == NN_ADAM)
        o->v = nn_alloc(n ? n : 1, sizeof *o->v);
    if (!o->m || (kind == NN_ADAM && !o->v)) {
        nn_optim_free(o);
        snprintf(err, errlen, "optimiser: out of memory for the state of %zu weights", n);
        return -ENOMEM;
    }
    return 0;
}

/* sqrt in nn_real: for float, sqrtf equals the float-rounded double sqrt
 * (double rounding is exact here), so the results are unchanged; with
 * -fno-math-errno (meson.build) the loop vectorises. The scalar sqrt and
 * division chain was half of a small network's training step (dqn). */
#ifdef NN_DOUBLE
#define NN_SQRT sqrt
#else
#define NN_SQRT sqrtf
#endif

static void adam_update(size_t n, nn_real *restrict w, const nn_real *restrict g,
                        nn_real *restrict m, nn_real *restrict v, nn_real wd, nn_real b1,
                        nn_real b2, nn_real eps, nn_real step_size, nn_real inv_sqrt_bc2)
{
#ifdef NN_OPENMP_SIMD
#pragma omp simd
#endif
    for (size_t i = 0; i < n; i++) {
        nn_real d = g[i] + wd * w[i];
        m[i] = b1 * m[i] + (1 - b1) * d;
        v[i] = b2 * v[i] + (1 - b2) * d * d;
        nn_real denom = NN_SQRT(v[i]) * inv_sqrt_bc2 + eps;
        w[i] -= step_size * m[i] / denom;
    }
}

void nn_optim_step(nn_optim *o, nn_real *w, const nn_real *g)
{
    o->step++;
    nn_real wd = (nn_real)o->weight_decay;
    if (o->kind == NN_SGD) {
        /* buf = momentum*buf + g; starting from buf = 0 this equals
         * PyTorch's first step, buf = g. */
        nn_real lr = (nn_real)o->lr, mu = (nn_real)o->momentum;
        for (size_t i = 0; i < o->n; i++) {
            nn_real d = g[i] + wd * w[i];
            if (mu != 0) {
                o->m[i] = mu * o->m[i] + d;
                d = o->m[i];
            }
            w[i] -= lr * d;
        }
        return;
    }
    nn_real b1 = (nn_real)o->beta1, b2 = (nn_real)o->beta2, eps = (nn_real)o->eps;
    double bc1 = 1.0 - pow(o->beta1, (double)o->step);
    double bc2 = 1.0 - pow(o->beta2, (double)o->step);
    nn_real step_size = (nn_real)(o->lr / bc1);
    nn_real inv_sqrt_bc2 = (nn_real)(1.0 / sqrt(bc2));
#ifdef NN_HAVE_MXCSR
    /* Flush subnormals to zero in the update only: the moments of weights
     * whose gradients vanish (dead ReLUs) decay through the subnormal range,
     * where each SSE operation takes a microcode assist that made Adam
     * half of a small network's step. Values below 1e-38 change no weight. */
    unsigned int csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040); /* FTZ | DAZ */
#endif
    adam_update(o->n, w, g, o->m, o->v, wd, b1, b2, eps, step_size, inv_sqrt_bc2);
#ifdef NN_HAVE_MXCSR
    _mm_setcsr(csr);
#endif
}

void nn_optim_free(nn_optim *o)
{
    nn_free(o->m);
    nn_free(o->v);
    o->m = o->v = NULL;
}
