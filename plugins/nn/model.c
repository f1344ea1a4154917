/*
 * Models as a static graph: nodes in topological order (every node reads
 * nodes before it), built once, then compiled into flat, preallocated
 * blocks. Forward walks the nodes in order, backward in reverse; a node
 * read twice (a residual block's input) gets both gradients because every
 * backward pass accumulates.
 */
#include "nn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PyTorch's BatchNorm defaults. */
#define NN_BN_MOMENTUM 0.1
#define NN_BN_EPS 1e-5

int nn_model_init(nn_model *m, int c, int h, int w)
{
    memset(m, 0, sizeof *m);
    m->bn.momentum = (nn_real)NN_BN_MOMENTUM;
    m->bn.eps = (nn_real)NN_BN_EPS;
    m->cache_budget = NN_CONV_CACHE_BUDGET;
    if (c < 1 || h < 1 || w < 1)
        return -EINVAL;
    m->cap_nodes = 16;
    m->nodes = calloc((size_t)m->cap_nodes, sizeof *m->nodes);
    if (!m->nodes)
        return -ENOMEM;
    m->nodes[0] = (nn_node){.op = NN_OP_INPUT, .in0 = -1, .in1 = -1, .c = c, .h = h, .w = w,
                            .size = (size_t)c * (size_t)h * (size_t)w, .p_weight = -1,
                            .p_bias = -1, .p_mean = -1, .p_var = -1};
    m->n_nodes = 1;
    return 0;
}

void nn_model_free(nn_model *m)
{
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *nd = &m->nodes[i];
        if (!nd->aliases) {
            nn_free(nd->y);
            nn_free(nd->dy);
        }
        nn_free(nd->argmax);
        nn_free(nd->save_mean);
        nn_free(nd->save_invstd);
        nn_free(nd->cache);
        nn_recurrent_free(nd);
    }
    free(m->nodes);
    free(m->params);
    nn_free(m->weights);
    nn_free(m->grads);
    nn_free(m->buffers);
    nn_free(m->scratch);
    nn_free(m->probs);
    memset(m, 0, sizeof *m);
}

/* Appends a node reading `in` (validated); returns its index or -errno. */
static int push_node(nn_model *m, nn_op op, int in0, int in1)
{
    if (m->compiled || !m->nodes || in0 < 0 || in0 >= m->n_nodes || in1 >= m->n_nodes)
        return -EINVAL;
    if (m->n_nodes == m->cap_nodes) {
        nn_node *p = realloc(m->nodes, (size_t)m->cap_nodes * 2 * sizeof *p);
        if (!p)
            return -ENOMEM;
        m->nodes = p;
        m->cap_nodes *= 2;
    }
    nn_node *nd = &m->nodes[m->n_nodes];
    memset(nd, 0, sizeof *nd);
    nd->op = op;
    nd->in0 = in0;
    nd->in1 = in1;
    nd->p_weight = nd->p_bias = nd->p_mean = nd->p_var = -1;
    return m->n_nodes++;
}

static void set_shape(nn_node *nd, int c, int h, int w)
{
    nd->c = c;
    nd->h = h;
    nd->w = w;
    nd->size = (size_t)c * (size_t)h * (size_t)w;
}

/* Appends a named tensor; returns its index or -errno. */
static int push_param(nn_model *m, const char *module, const char *leaf, int trainable, int ndim,
                      const int *dims)
{
    if (m->n_params == m->cap_params) {
        int cap = m->cap_params ? m->cap_params * 2 : 32;
        nn_param *p = realloc(m->params, (size_t)cap * sizeof *p);
        if (!p)
            return -ENOMEM;
        m->params = p;
        m->cap_params = cap;
    }
    nn_param *p = &m->params[m->n_params];
    memset(p, 0, sizeof *p);
    int len = snprintf(p->name, sizeof p->name, "%s.%s", module, leaf);
    if (len < 0 || (size_t)len >= sizeof p->name)
        return -ENAMETOOLONG;
    p->ndim = ndim;
    p->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->dims[i] = dims[i];
        p->size *= (size_t)dims[i];
    }
    p->trainable = trainable;
    if (trainable) {
        p->offset = m->n_weights;
        m->n_weights += p->size;
    } else {
        p->offset = m->n_buffers;
        m->n_buffers += p->size;
    }
    return m->n_params++;
}

int nn_add_conv(nn_model *m, const char *name, int in, int c_out, int k, int stride, int pad,
                int bias)
{
    int i = push_node(m, NN_OP_CONV, in, -1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    const nn_node *src = &m->nodes[in];
    if (nn_conv_shape_init(&nd->conv, src->c, src->h, src->w, c_out, k, stride, pad) < 0) {
        m->n_nodes--;
        return -EINVAL;
    }
    set_shape(nd, c_out, nd->conv.h_out, nd->conv.w_out);
    int wd[4] = {c_out, src->c, k, k};
    if ((nd->p_weight = push_param(m, name, "weight", 1, 4, wd)) < 0)
        return nd->p_weight;
    nd->has_bias = bias;
    if (bias && (nd->p_bias = push_param(m, name, "bias", 1, 1, &c_out)) < 0)
        return nd->p_bias;
    return i;
}

int nn_add_linear(nn_model *m, const char *name, int in, int out, int bias)
{
    if (in >= 0 && in < m->n_nodes && (m->nodes[in].h != 1 || m->nodes[in].w != 1))
        return -EINVAL; /* flatten first, as PyTorch would need */
    int i = push_node(m, NN_OP_LINEAR, in, -1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    if (out < 1) {
        m->n_nodes--;
        return -EINVAL;
    }
    set_shape(nd, out, 1, 1);
    int wd[2] = {out, m->nodes[in].c};
    if ((nd->p_weight = push_param(m, name, "weight", 1, 2, wd)) < 0)
        return nd->p_weight;
    nd->has_bias = bias;
    if (bias && (nd->p_bias = push_param(m, name, "bias", 1, 1, &out)) < 0)
        return nd->p_bias;
    return i;
}

int nn_add_bn(nn_model *m, const char *name, int in)
{
    int i = push_node(m, NN_OP_BN, in, -1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    const nn_node *src = &m->nodes[in];
    set_shape(nd, src->c, src->h, src->w);
    int c = src->c;
    if ((nd->p_weight = push_param(m, name, "weight", 1, 1, &c)) < 0 ||
        (nd->p_bias = push_param(m, name, "bias", 1, 1, &c)) < 0 ||
        (nd->p_mean = push_param(m, name, "running_mean", 0, 1, &c)) < 0 ||
        (nd->p_var = push_param(m, name, "running_var", 0, 1, &c)) < 0)
        return -ENOMEM;
    return i;
}

static int add_same_shape(nn_model *m, nn_op op, int in, int in1)
{
    int i = push_node(m, op, in, in1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    const nn_node *src = &m->nodes[in];
    if (in1 >= 0) {
        const nn_node *b = &m->nodes[in1];
        if (b->c != src->c || b->h != src->h || b->w != src->w) {
            m->n_nodes--;
            return -EINVAL;
        }
    }
    set_shape(nd, src->c, src->h, src->w);
    return i;
}

int nn_add_relu(nn_model *m, int in)
{
    return add_same_shape(m, NN_OP_RELU, in, -1);
}

int nn_add_add(nn_model *m, int in0, int in1)
{
    if (in1 < 0)
        return -EINVAL;
    return add_same_shape(m, NN_OP_ADD, in0, in1);
}

static int add_pool(nn_model *m, nn_op op, int in, int k, int stride, int pad)
{
    int i = push_node(m, op, in, -1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    const nn_node *src = &m->nodes[in];
    if (nn_pool_shape_init(&nd->pool, src->c, src->h, src->w, k, stride, pad) < 0) {
        m->n_nodes--;
        return -EINVAL;
    }
    set_shape(nd, src->c, nd->pool.h_out, nd->pool.w_out);
    return i;
}

int nn_add_maxpool(nn_model *m, int in, int k, int stride, int pad)
{
    return add_pool(m, NN_OP_MAXPOOL, in, k, stride, pad);
}

int nn_add_avgpool(nn_model *m, int in, int k, int stride, int pad)
{
    return add_pool(m, NN_OP_AVGPOOL, in, k, stride, pad);
}

int nn_add_gap(nn_model *m, int in)
{
    int i = push_node(m, NN_OP_GAP, in, -1);
    if (i < 0)
        return i;
    set_shape(&m->nodes[i], m->nodes[in].c, 1, 1);
    return i;
}

int nn_add_flatten(nn_model *m, int in)
{
    int i = push_node(m, NN_OP_FLATTEN, in, -1);
    if (i < 0)
        return i;
    nn_node *nd = &m->nodes[i];
    set_shape(nd, (int)m->nodes[in].size, 1, 1);
    nd->aliases = 1;
    return i;
}

int nn_model_compile(nn_model *m, const nn_backend *be, int max_batch, char *err, size_t errlen)
{
    if (m->compiled || !m->nodes || m->n_nodes < 2) {
        snprintf(err, errlen, "model: nothing to compile (or compiled twice)");
        return -EINVAL;
    }
    if (max_batch < 1) {
        snprintf(err, errlen, "model: batch size %d must be at least 1", max_batch);
        return -EINVAL;
    }
    const nn_node *out = &m->nodes[m->n_nodes - 1];
    if (out->h != 1 || out->w != 1) {
        snprintf(err, errlen, "model: the output is %dx%dx%d, not a vector of class scores",
                 out->c, out->h, out->w);
        return -EINVAL;
    }
    m->be = be;
    m->max_batch = max_batch;
    size_t nb = (size_t)max_batch;
    double bytes = 0;
    m->weights = nn_alloc(m->n_weights, sizeof(nn_real));
    m->grads = nn_alloc(m->n_weights, sizeof(nn_real));
    m->buffers = nn_alloc(m->n_buffers ? m->n_buffers : 1, sizeof(nn_real));
    m->probs = nn_alloc(nb * (size_t)out->c, sizeof(nn_real));
    if (!m->weights || !m->grads || !m->buffers || !m->probs)
        goto oom;
    bytes += (double)(2 * m->n_weights + m->n_buffers) * sizeof(nn_real);
    for (int i = 0; i < m->n_params; i++) {
        nn_param *p = &m->params[i];
        p->data = (p->trainable ? m->weights : m->buffers) + p->offset;
        p->grad = p->trainable ? m->grads + p->offset : NULL;
    }
    size_t scratch = 0;
    for (int i = 0; i < m->n_nodes; i++) {
        nn_node *nd = &m->nodes[i];
        if (nd->aliases) {
            nd->y = m->nodes[nd->in0].y;
            nd->dy = m->nodes[nd->in0].dy;
            continue;
        }
        size_t count = nb * nd->size;
        if (count / nb != nd->size)
            goto oom;
        nd->y = nn_alloc(count, sizeof(nn_real));
        /* The input needs no gradient. */
        nd->dy = i == 0 ? NULL : nn_alloc(count, sizeof(nn_real));
        if (!nd->y || (i && !nd->dy))
            goto oom;
        bytes += (double)count * sizeof(nn_real) * (i ? 2 : 1);
        if (nd->op == NN_OP_MAXPOOL && !(nd->argmax = nn_alloc(count, sizeof(int32_t))))
            goto oom;
        if (nd->op == NN_OP_BN && (!(nd->save_mean = nn_alloc((size_t)nd->c, sizeof(nn_real))) ||
                                   !(nd->save_invstd = nn_alloc((size_t)nd->c, sizeof(nn_real)))))
            goto oom;
        if (nd->op == NN_OP_RECURRENT && nn_recurrent_compile(nd, max_batch, &bytes) < 0)
            goto oom;
        if (nd->op == NN_OP_CONV) {
            size_t s = be->k->conv_scratch(&nd->conv, max_batch);
            if (s > scratch)
                scratch = s;
            size_t c = be->k->conv_cache ? be->k->conv_cache(&nd->conv, max_batch) : 0;
            if (c && c * sizeof(nn_real) <= m->cache_budget) {
                if (!(nd->cache = nn_alloc(c, sizeof(nn_real))))
                    goto oom;
                m->cache_budget -= c * sizeof(nn_real);
                bytes += (double)c * sizeof(nn_real);
            }
        }
    }
    m->scratch_size = scratch;
    if (scratch && !(m->scratch = nn_alloc(scratch, sizeof(nn_real))))
        goto oom;
    m->compiled = 1;
    return 0;
oom:
    snprintf(err, errlen,
             "model: out of memory allocating %.1f MiB of weights and activations for batch %d",
             bytes / 1048576.0, max_batch);
    return -ENOMEM;
}

static void fill_uniform(nn_real *p, size_t n, double bound, nn_rng *r)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (nn_real)((2.0 * nn_rng_uniform(r) - 1.0) * bound);
}

void nn_model_init_weights(nn_model *m, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed);
    for (int i = 1; i < m->n_nodes; i++) {
        nn_node *nd = &m->nodes[i];
        if (nd->op == NN_OP_CONV || nd->op == NN_OP_LINEAR) {
            const nn_param *w = &m->params[nd->p_weight];
            size_t fan_in = w->size / (size_t)w->dims[0];
            /* kaiming_uniform_(a=sqrt(5)): gain sqrt(2/(1+5)) times
             * sqrt(3/fan_in) is 1/sqrt(fan_in); the bias uses the same
             * bound. */
            double bound = 1.0 / sqrt((double)fan_in);
            fill_uniform(w->data, w->size, bound, &r);
            if (nd->p_bias >= 0)
                fill_uniform(m->params[nd->p_bias].data, m->params[nd->p_bias].size, bound, &r);
        } else if (nd->op == NN_OP_BN) {
            for (int ch = 0; ch < nd->c; ch++) {
                m->params[nd->p_weight].data[ch] = 1;
                m->params[nd->p_bias].data[ch] = 0;
                m->params[nd->p_mean].data[ch] = 0;
                m->params[nd->p_var].data[ch] = 1;
            }
        } else if (nd->op == NN_OP_RECURRENT) {
            nn_recurrent_init_weights(m, nd, &r);
        }
    }
}

const nn_real *nn_model_output(const nn_model *m)
{
    return m->nodes[m->n_nodes - 1].y;
}

int nn_model_classes(const nn_model *m)
{
    return m->nodes[m->n_nodes - 1].c;
}

size_t nn_model_input_size(const nn_model *m)
{
    return m->nodes[0].size;
}

static nn_real *pdata(const nn_model *m, int idx)
{
    return idx >= 0 ? m->params[idx].data : NULL;
}

static nn_real *pgrad(const nn_model *m, int idx)
{
    return idx >= 0 ? m->params[idx].grad : NULL;
}

void nn_model_forward(nn_model *m, const nn_real *x, int n, int training)
{
    const nn_backend *be = m->be;
    memcpy(m->nodes[0].y, x, (size_t)n * m->nodes[0].size * sizeof *x);
    nn_bn_mode bn = m->bn;
    bn.training = training;
    m->last_training = training;
    for (int i = 1; i < m->n_nodes; i++) {
        nn_node *nd = &m->nodes[i];
        const nn_node *a = &m->nodes[nd->in0];
        size_t count = (size_t)n * nd->size;
        switch (nd->op) {
        case NN_OP_CONV:
            be->k->conv_forward(be, &nd->conv, n, a->y, pdata(m, nd->p_weight),
                                pdata(m, nd->p_bias), nd->y, m->scratch, nd->cache);
            break;
        case NN_OP_LINEAR:
            nn_linear_forward(be, n, a->c, nd->c, a->y, pdata(m, nd->p_weight),
                              pdata(m, nd->p_bias), nd->y);
            break;
        case NN_OP_BN:
            nn_batchnorm_forward(bn, n, nd->c, nd->h * nd->w, a->y, pdata(m, nd->p_weight),
                                 pdata(m, nd->p_bias), pdata(m, nd->p_mean),
                                 pdata(m, nd->p_var), nd->save_mean, nd->save_invstd, nd->y);
            break;
        case NN_OP_RELU:
            nn_relu_forward(count, a->y, nd->y);
            break;
        case NN_OP_MAXPOOL:
            nn_maxpool_forward(&nd->pool, n, a->y, nd->y, nd->argmax);
            break;
        case NN_OP_AVGPOOL:
            nn_avgpool_forward(&nd->pool, n, a->y, nd->y);
            break;
        case NN_OP_GAP:
            nn_gap_forward(n, a->c, a->h * a->w, a->y, nd->y);
            break;
        case NN_OP_ADD:
            nn_add_forward(count, a->y, m->nodes[nd->in1].y, nd->y);
            break;
        case NN_OP_RECURRENT:
            nn_recurrent_forward(m, nd, a->y, n);
            break;
        case NN_OP_FLATTEN: /* a view of its input */
        case NN_OP_INPUT:
            break;
        }
    }
}

double nn_model_loss(nn_model *m, int n, const int32_t *labels)
{
    return nn_xent_forward(n, nn_model_classes(m), nn_model_output(m), labels, m->probs);
}

void nn_model_zero_grad(nn_model *m)
{
    memset(m->grads, 0, m->n_weights * sizeof *m->grads);
}

/* The output's gradient is softmax cross-entropy's for labels, or dout. */
static void model_backward(nn_model *m, int n, const int32_t *labels, const nn_real *dout)
{
    const nn_backend *be = m->be;
    for (int i = 1; i < m->n_nodes; i++) {
        nn_node *nd = &m->nodes[i];
        if (!nd->aliases)
            memset(nd->dy, 0, (size_t)n * nd->size * sizeof *nd->dy);
    }
    nn_node *last = &m->nodes[m->n_nodes - 1];
    if (labels)
        nn_xent_backward(n, last->c, m->probs, labels, last->dy);
    else
        memcpy(last->dy, dout, (size_t)n * last->size * sizeof *dout);
    nn_bn_mode bn = m->bn;
    bn.training = m->last_training;
    for (int i = m->n_nodes - 1; i > 0; i--) {
        nn_node *nd = &m->nodes[i];
        nn_node *a = &m->nodes[nd->in0];
        nn_real *dx = a->dy; /* NULL for the network's input */
        size_t count = (size_t)n * nd->size;
        switch (nd->op) {
        case NN_OP_CONV:
            be->k->conv_backward(be, &nd->conv, n, a->y, pdata(m, nd->p_weight), nd->dy, dx,
                                 pgrad(m, nd->p_weight), pgrad(m, nd->p_bias), m->scratch,
                                 nd->cache);
            break;
        case NN_OP_LINEAR:
            nn_linear_backward(be, n, a->c, nd->c, a->y, pdata(m, nd->p_weight), nd->dy, dx,
                               pgrad(m, nd->p_weight), pgrad(m, nd->p_bias));
            break;
        case NN_OP_BN:
            nn_batchnorm_backward(bn, n, nd->c, nd->h * nd->w, a->y, pdata(m, nd->p_weight),
                                  nd->save_mean, nd->save_invstd, nd->dy, dx,
                                  pgrad(m, nd->p_weight), pgrad(m, nd->p_bias));
            break;
        case NN_OP_RELU:
            if (dx)
                nn_relu_backward(count, nd->y, nd->dy, dx);
            break;
        case NN_OP_MAXPOOL:
            if (dx)
                nn_maxpool_backward(&nd->pool, n, nd->dy, nd->argmax, dx);
            break;
        case NN_OP_AVGPOOL:
            if (dx)
                nn_avgpool_backward(&nd->pool, n, nd->dy, dx);
            break;
        case NN_OP_GAP:
            if (dx)
                nn_gap_backward(n, a->c, a->h * a->w, nd->dy, dx);
            break;
        case NN_OP_ADD:
            nn_add_backward(count, nd->dy, dx, m->nodes[nd->in1].dy);
            break;
        case NN_OP_RECURRENT:
            nn_recurrent_backward(m, nd, dx, n);
            break;
        case NN_OP_FLATTEN: /* shares its input's gradient */
        case NN_OP_INPUT:
            break;
        }
    }
}

void nn_model_backward(nn_model *m, int n, const int32_t *labels)
{
    model_backward(m, n, labels, NULL);
}

void nn_model_backward_from(nn_model *m, int n, const nn_real *dout)
{
    model_backward(m, n, NULL, dout);
}

const nn_param *nn_model_find(const nn_model *m, const char *name)
{
    for (int i = 0; i < m->n_params; i++)
        if (!strcmp(m->params[i].name, name))
            return &m->params[i];
    return NULL;
}

double nn_model_forward_flops(const nn_model *m)
{
    double macs = 0;
    for (int i = 1; i < m->n_nodes; i++) {
        const nn_node *nd = &m->nodes[i];
        if (nd->op == NN_OP_CONV)
            macs += (double)nd->size * nd->conv.c_in * nd->conv.k * nd->conv.k;
        else if (nd->op == NN_OP_LINEAR)
            macs += (double)nd->c * m->nodes[nd->in0].c;
        else if (nd->op == NN_OP_RECURRENT)
            macs += nn_recurrent_flops(nd) / 2;
    }
    return 2 * macs;
}

int nn_model_push_node(nn_model *m, nn_op op, int in0, int in1)
{
    return push_node(m, op, in0, in1);
}

int nn_model_push_param(nn_model *m, const char *module, const char *leaf, int trainable,
                        int ndim, const int *dims)
{
    return push_param(m, module, leaf, trainable, ndim, dims);
}
