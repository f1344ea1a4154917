/* Optimisers over a model's flat weight block, following torch.optim's
 * update rules step for step so that runs compare with PyTorch's. */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

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
    for (size_t i = 0; i < o->n; i++) {
        nn_real d = g[i] + wd * w[i];
        o->m[i] = b1 * o->m[i] + (1 - b1) * d;
        o->v[i] = b2 * o->v[i] + (1 - b2) * d * d;
        nn_real denom = (nn_real)sqrt((double)o->v[i]) * inv_sqrt_bc2 + eps;
        w[i] -= step_size * o->m[i] / denom;
    }
}

void nn_optim_free(nn_optim *o)
{
    nn_free(o->m);
    nn_free(o->v);
    o->m = o->v = NULL;
}
