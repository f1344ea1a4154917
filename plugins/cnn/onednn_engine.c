/*
 * cnn:onednn's engine: the NN-core model's graph (models.c) as oneDNN 2.6
 * primitives (C API): convolution forward, backward-data and
 * backward-weights, batch normalisation, pooling, ReLU, inner product,
 * residual add and the softmax of the loss.
 *
 * Activations and their gradients stay in oneDNN's blocked layout
 * (nChw16c on AVX-512, nChw8c on AVX2: the one its convolutions pick for
 * themselves, found by a probe) from the first convolution to the pooling
 * before the classifier, so that no convolution reorders its input or
 * output and batch norm, ReLU, pooling and the residual adds run their
 * blocked kernels. A tensor whose channels are not a multiple of the block
 * stays plain NCHW (the input image, LeNet-5's six-channel layer): blocking
 * it would pad, and its buffers are the plain size. Flattening a blocked
 * tensor with more than one pixel per channel reorders it to NCHW, the
 * order the classifier's weights are in. Weights stay plain (the layout
 * the optimiser, the weights file and the other variants use); each
 * convolution reorders its weights into its own format once per pass.
 * The optimiser is the NN core's (nn_optim: the same update as naive and
 * openblas).
 *
 * A plan (the primitives and their arguments for one batch size and mode)
 * is created once and kept: setup makes the full-batch inference plan, the
 * training one and (through cnn.c's warm-up) the one of a single query; a
 * short last batch makes one more on its first use.
 */
#include "cnn_engine.h"
#include "onednn_plan.h"

#include <dnnl.h>
#include <dnnl_debug.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define OD_MAX_PLANS 8

/* The steps besides primitives (onednn_plan.h's nn_dnnl_step): float
 * arrays src and dst of count elements; ST_BN_RUNNING: the batch norm
 * node's running statistics, aux = n * h * w. */
enum { ST_ACCUM = 1, ST_COPY, ST_ZERO, ST_BN_RUNNING };
typedef nn_dnnl_steps od_steps;
typedef nn_dnnl_step od_step;

typedef struct {
    int n, training;
    od_steps fwd, bwd;
    dnnl_primitive_t softmax;
    dnnl_exec_arg_t softmax_args[2];
    nn_dnnl_store st; /* everything created for the plan, freed with it */
} od_plan;

/* Per node and plan, what the backward pass of a convolution or linear
 * layer reuses from its forward one. */
typedef struct {
    dnnl_primitive_desc_t fwd_pd;
    dnnl_memory_t src, weights; /* as the forward primitive read them */
} od_fwd_info;

typedef struct {
    const nn_model *m;
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    int max_batch, classes;
    float *w, *g, *buf;     /* plain master weights, gradients, buffers */
    float **y, **dy;        /* per node [max_batch * size]; flatten aliases */
    int *root;              /* the node whose buffers a node's are */
    int *consumers;         /* readers of each root */
    int *vec;               /* node is [n, c] rather than [n, c, h, w] */
    dnnl_format_tag_t *tag; /* layout of a 4-d node's activations and gradients */
    dnnl_format_tag_t blocked; /* the convolutions' own layout, or nchw */
    float **save_mean, **save_var; /* batch norm, [c] */
    float *tmp;             /* gradient of a multi-consumer input, before adding */
    float *probs;
    od_fwd_info *info;      /* [n_nodes], for the plan being built */
    od_plan plans[OD_MAX_PLANS];
    int n_plans;
    nn_optim opt;
    char err[512];
} od_engine;

#define CK(call) NN_DNNL_CK(e->err, sizeof e->err, call)

static void md_plain(dnnl_memory_desc_t *md, int ndims, const int64_t *dims)
{
    static const dnnl_format_tag_t tag[5] = {dnnl_format_tag_undef, dnnl_x, dnnl_nc, dnnl_abc,
                                             dnnl_nchw};
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag[ndims]);
}

static void md_any(dnnl_memory_desc_t *md, int ndims, const int64_t *dims)
{
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, dnnl_format_tag_any);
}

/* An output in the layout `got`: the plain memory when they agree, else a
 * buffer; *post tells the caller to reorder it into plain afterwards. */
static int give(od_engine *e, od_plan *p, dnnl_memory_t plain, const dnnl_memory_desc_t *got,
                dnnl_memory_t *out, int *post)
{
    const dnnl_memory_desc_t *have;
    CK(dnnl_memory_get_memory_desc(plain, &have));
    *post = !dnnl_memory_desc_equal(have, got);
    if (!*post) {
        *out = plain;
        return 0;
    }
    return nn_dnnl_mem(&p->st, got, NULL, out);
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

static void md_tag(dnnl_memory_desc_t *md, const int64_t *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d = {dims[0], dims[1], dims[2], dims[3]};
    dnnl_memory_desc_init_by_tag(md, 4, d, dnnl_f32, tag);
}

/* Layout of a node's activations and gradients for a batch of n. */
static void node_md(const od_engine *e, int i, int n, dnnl_memory_desc_t *md)
{
    const nn_node *nd = &e->m->nodes[i];
    if (e->vec[i])
        md_plain(md, 2, (const int64_t[]){n, (int64_t)nd->size});
    else
        md_tag(md, (const int64_t[]){n, nd->c, nd->h, nd->w}, e->tag[i]);
}

/* The layout oneDNN's convolutions choose for themselves on this CPU, when
 * it is one of the channel-blocked ones; else plain NCHW everywhere. */
static dnnl_format_tag_t probe_blocked(od_engine *e)
{
    int64_t sd[4] = {2, 64, 8, 8}, wd[4] = {64, 64, 3, 3};
    dnnl_memory_desc_t src, w, dst;
    md_any(&src, 4, sd);
    md_any(&w, 4, wd);
    md_any(&dst, 4, sd);
    dnnl_dims_t st = {1, 1}, pad = {1, 1};
    dnnl_convolution_desc_t cd;
    dnnl_primitive_desc_t pd;
    if (dnnl_convolution_forward_desc_init(&cd, dnnl_forward_training, dnnl_convolution_direct,
                                           &src, &w, NULL, &dst, st, pad, pad) != dnnl_success ||
        dnnl_primitive_desc_create(&pd, &cd, NULL, e->eng, NULL) != dnnl_success)
        return dnnl_nchw;
    const dnnl_memory_desc_t *got = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    dnnl_format_tag_t tags[2] = {dnnl_nChw16c, dnnl_nChw8c}, r = dnnl_nchw;
    for (int k = 0; k < 2 && r == dnnl_nchw; k++) {
        dnnl_memory_desc_t want;
        md_tag(&want, sd, tags[k]);
        if (dnnl_memory_desc_equal(got, &want))
            r = tags[k];
    }
    dnnl_primitive_desc_destroy(pd);
    return r;
}

static int block_of(dnnl_format_tag_t t)
{
    return t == dnnl_nChw16c ? 16 : t == dnnl_nChw8c ? 8 : 1;
}

/* A flatten of a blocked tensor with more than one pixel per channel is a
 * reorder into its own NCHW buffers; any other is a view of its input. */
static int flatten_reorders(const od_engine *e, int i)
{
    const nn_node *a = &e->m->nodes[e->m->nodes[i].in0];
    return e->m->nodes[i].op == NN_OP_FLATTEN && !e->vec[e->m->nodes[i].in0] &&
           e->tag[e->m->nodes[i].in0] != dnnl_nchw && (int64_t)a->h * a->w > 1;
}

static float *param(const od_engine *e, int idx, int grad)
{
    if (idx < 0)
        return NULL;
    const nn_param *pp = &e->m->params[idx];
    return (pp->trainable ? (grad ? e->g : e->w) : e->buf) + pp->offset;
}

static int plain_of(od_plan *p, float *ptr, int ndims, const int64_t *dims, dnnl_memory_t *out)
{
    dnnl_memory_desc_t md;
    md_plain(&md, ndims, dims);
    return nn_dnnl_mem(&p->st, &md, ptr, out);
}

/* ---- forward ---------------------------------------------------------- */

/* 1 when oneDNN could only give its reference implementation (a plain
 * loop nest), as it does for a convolution between a plain and a blocked
 * tensor in backward (LeNet-5's second convolution: 6 channels plain, 16
 * blocked): then the convolution picks its own formats and reorders. */
static int is_ref(const_dnnl_primitive_desc_t pd)
{
    const char *impl = NULL;
    return dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl) == dnnl_success &&
           impl && strncmp(impl, "ref", 3) == 0;
}

/* A convolution's source and destination descriptors: the activations'
 * layouts (any = 0), or format any (any = 1). */
static void conv_mds(const od_engine *e, int i, int n, int any, dnnl_memory_desc_t *src,
                     dnnl_memory_desc_t *dst)
{
    const nn_conv_shape *s = &e->m->nodes[i].conv;
    if (any) {
        md_any(src, 4, (const int64_t[]){n, s->c_in, s->h_in, s->w_in});
        md_any(dst, 4, (const int64_t[]){n, s->c_out, s->h_out, s->w_out});
    } else {
        node_md(e, e->m->nodes[i].in0, n, src);
        node_md(e, i, n, dst);
    }
}

/* What forward and both backward convolutions share: the plain weight and
 * bias shapes, the weights in format any, the activations' own layouts
 * (src_n, dst_n), stride and padding. */
typedef struct {
    int64_t wd[4], bd[1];
    dnnl_memory_desc_t w_a, b_md, src_n, dst_n;
    dnnl_dims_t st, pad;
} od_conv_geom;

static void conv_geom(const od_engine *e, int i, int n, od_conv_geom *g)
{
    const nn_conv_shape *s = &e->m->nodes[i].conv;
    *g = (od_conv_geom){.wd = {s->c_out, s->c_in, s->k, s->k},
                        .bd = {s->c_out},
                        .st = {s->stride, s->stride},
                        .pad = {s->pad, s->pad}};
    conv_mds(e, i, n, 0, &g->src_n, &g->dst_n);
    md_any(&g->w_a, 4, g->wd);
    md_plain(&g->b_md, 1, g->bd);
}

static int fwd_conv(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    int n = p->n;
    od_conv_geom g;
    conv_geom(e, i, n, &g);
    dnnl_memory_desc_t src_a, dst_a;
    dnnl_primitive_desc_t pd = NULL;
    int rc = 0;
    for (int any = 0; any < 2 && rc == 0; any++) {
        conv_mds(e, i, n, any, &src_a, &dst_a);
        dnnl_convolution_desc_t cd;
        CK(dnnl_convolution_forward_desc_init(
            &cd, p->training ? dnnl_forward_training : dnnl_forward_inference,
            dnnl_convolution_direct, &src_a, &g.w_a, nd->p_bias >= 0 ? &g.b_md : NULL, &dst_a,
            g.st, g.pad, g.pad));
        rc = nn_dnnl_pd_create(&p->st, &pd, &cd, NULL);
        if (rc == 0 && !is_ref(pd))
            break;
    }
    dnnl_memory_t src_p, w_p, dst_p, b_p = NULL, src, w, dst;
    int post = 0;
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &g.src_n, e->y[nd->in0], &src_p);
    if (rc == 0)
        rc = plain_of(p, param(e, nd->p_weight, 0), 4, g.wd, &w_p);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &g.dst_n, e->y[i], &dst_p);
    if (rc == 0 && nd->p_bias >= 0)
        rc = plain_of(p, param(e, nd->p_bias, 0), 1, g.bd, &b_p);
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->fwd, src_p, q(pd, dnnl_query_src_md), &src);
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->fwd, w_p, q(pd, dnnl_query_weights_md), &w);
    if (rc == 0)
        rc = give(e, p, dst_p, q(pd, dnnl_query_dst_md), &dst, &post);
    if (rc == 0) {
        int args[4] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS};
        dnnl_memory_t ms[4] = {src, w, dst, b_p};
        rc = nn_dnnl_add_prim(&p->st, &p->fwd, pd, b_p ? 4 : 3, args, ms);
    }
    if (rc == 0 && post)
        rc = nn_dnnl_add_reorder(&p->st, &p->fwd, dst, dst_p);
    e->info[i] = (od_fwd_info){pd, src, w};
    return rc;
}

/* A fully connected layer's descriptors, all plain (row-major): source
 * [n, in], weights [out, in], destination [n, out], bias [out]. */
static void linear_mds(const od_engine *e, int i, int n, dnnl_memory_desc_t *s_md,
                       dnnl_memory_desc_t *w_md, dnnl_memory_desc_t *d_md,
                       dnnl_memory_desc_t *b_md)
{
    const nn_node *nd = &e->m->nodes[i];
    int64_t in = (int64_t)e->m->nodes[nd->in0].size;
    md_plain(s_md, 2, (const int64_t[]){n, in});
    md_plain(w_md, 2, (const int64_t[]){nd->c, in});
    md_plain(d_md, 2, (const int64_t[]){n, nd->c});
    md_plain(b_md, 1, (const int64_t[]){nd->c});
}

static int fwd_linear(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    int n = p->n;
    dnnl_memory_desc_t s_md, w_md, d_md, b_md;
    linear_mds(e, i, n, &s_md, &w_md, &d_md, &b_md);
    dnnl_inner_product_desc_t id;
    CK(dnnl_inner_product_forward_desc_init(
        &id, p->training ? dnnl_forward_training : dnnl_forward_inference, &s_md, &w_md,
        nd->p_bias >= 0 ? &b_md : NULL, &d_md));
    dnnl_primitive_desc_t pd;
    int rc = nn_dnnl_pd_create(&p->st, &pd, &id, NULL);
    dnnl_memory_t ms[4] = {NULL, NULL, NULL, NULL};
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &s_md, e->y[nd->in0], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &w_md, param(e, nd->p_weight, 0), &ms[1]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[2]);
    if (rc == 0 && nd->p_bias >= 0)
        rc = nn_dnnl_mem(&p->st, &b_md, param(e, nd->p_bias, 0), &ms[3]);
    if (rc == 0)
        rc = nn_dnnl_add_prim(
            &p->st, &p->fwd, pd, nd->p_bias >= 0 ? 4 : 3,
            (const int[]){DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST, DNNL_ARG_BIAS}, ms);
    e->info[i] = (od_fwd_info){pd, ms[0], ms[1]};
    return rc;
}

static unsigned bn_flags(int training)
{
    return dnnl_use_scale | dnnl_use_shift | (training ? 0 : dnnl_use_global_stats);
}

static int fwd_bn(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    dnnl_memory_desc_t d_md, c_md;
    node_md(e, i, p->n, &d_md);
    md_plain(&c_md, 1, (const int64_t[]){nd->c});
    dnnl_batch_normalization_desc_t bd;
    CK(dnnl_batch_normalization_forward_desc_init(
        &bd, p->training ? dnnl_forward_training : dnnl_forward_inference, &d_md,
        (float)e->m->bn.eps, bn_flags(p->training)));
    dnnl_primitive_desc_t pd;
    int rc = nn_dnnl_pd_create(&p->st, &pd, &bd, NULL);
    dnnl_memory_t ms[6];
    /* Training: the batch's statistics come out (then the running ones
     * are updated as PyTorch does); inference reads the running ones. */
    float *mean = p->training ? e->save_mean[i] : param(e, nd->p_mean, 0);
    float *var = p->training ? e->save_var[i] : param(e, nd->p_var, 0);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[nd->in0], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[1]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &c_md, param(e, nd->p_weight, 0), &ms[2]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &c_md, param(e, nd->p_bias, 0), &ms[3]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &c_md, mean, &ms[4]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &c_md, var, &ms[5]);
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->fwd, pd, 6,
                              (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_SCALE,
                                            DNNL_ARG_SHIFT, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE},
                              ms);
    if (rc == 0 && p->training) {
        od_step *st = nn_dnnl_push(&p->st, &p->fwd);
        if (!st)
            return -ENOMEM;
        st->kind = ST_BN_RUNNING;
        st->node = i;
        st->aux = (double)p->n * nd->h * nd->w;
    }
    e->info[i] = (od_fwd_info){pd, NULL, NULL};
    return rc;
}

static int fwd_relu(od_engine *e, od_plan *p, int i)
{
    dnnl_memory_desc_t d_md;
    node_md(e, i, p->n, &d_md);
    dnnl_eltwise_desc_t ed;
    CK(dnnl_eltwise_forward_desc_init(&ed,
                                      p->training ? dnnl_forward_training : dnnl_forward_inference,
                                      dnnl_eltwise_relu_use_dst_for_bwd, &d_md, 0, 0));
    dnnl_primitive_desc_t pd;
    int rc = nn_dnnl_pd_create(&p->st, &pd, &ed, NULL);
    dnnl_memory_t ms[2];
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[e->m->nodes[i].in0], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[1]);
    if (rc == 0)
        rc =
            nn_dnnl_add_prim(&p->st, &p->fwd, pd, 2, (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST}, ms);
    e->info[i] = (od_fwd_info){pd, NULL, NULL};
    return rc;
}

/* Pooling geometry of a node (GAP: one window over the whole plane). */
static void pool_geom(const od_engine *e, int i, dnnl_alg_kind_t *alg, int64_t *k, int64_t *st,
                      int64_t *pad, int64_t *sd, int64_t *dd, int n)
{
    const nn_node *nd = &e->m->nodes[i];
    const nn_node *a = &e->m->nodes[nd->in0];
    sd[0] = dd[0] = n;
    sd[1] = dd[1] = a->c;
    sd[2] = a->h;
    sd[3] = a->w;
    if (nd->op == NN_OP_GAP) {
        *alg = dnnl_pooling_avg_exclude_padding;
        k[0] = a->h;
        k[1] = a->w;
        st[0] = st[1] = 1;
        pad[0] = pad[1] = 0;
        dd[2] = dd[3] = 1;
    } else {
        *alg = nd->op == NN_OP_MAXPOOL ? dnnl_pooling_max : dnnl_pooling_avg_include_padding;
        k[0] = k[1] = nd->pool.k;
        st[0] = st[1] = nd->pool.stride;
        pad[0] = pad[1] = nd->pool.pad;
        dd[2] = nd->pool.h_out;
        dd[3] = nd->pool.w_out;
    }
}

/* A pooling's source and destination in its input's layout (the pooled
 * tensor has the same channels; the global average's [n, c, 1, 1] blocked
 * is byte for byte the [n, c] the classifier reads). */
static void pool_mds(const od_engine *e, int i, const int64_t *sd, const int64_t *dd,
                     dnnl_memory_desc_t *s_md, dnnl_memory_desc_t *d_md)
{
    dnnl_format_tag_t t = e->tag[e->m->nodes[i].in0];
    md_tag(s_md, sd, t);
    md_tag(d_md, dd, t);
}

static int fwd_pool(od_engine *e, od_plan *p, int i)
{
    dnnl_alg_kind_t alg;
    int64_t k[2], st[2], pad[2], sd[4], dd[4];
    pool_geom(e, i, &alg, k, st, pad, sd, dd, p->n);
    dnnl_memory_desc_t s_md, d_md;
    pool_mds(e, i, sd, dd, &s_md, &d_md);
    dnnl_dims_t kk = {k[0], k[1]}, ss = {st[0], st[1]}, pp = {pad[0], pad[1]};
    dnnl_pooling_desc_t pdsc;
    CK(dnnl_pooling_forward_desc_init(&pdsc,
                                      p->training ? dnnl_forward_training : dnnl_forward_inference,
                                      alg, &s_md, &d_md, ss, kk, pp, pp));
    dnnl_primitive_desc_t pd;
    int rc = nn_dnnl_pd_create(&p->st, &pd, &pdsc, NULL);
    dnnl_memory_t ms[3], ws = NULL;
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &s_md, e->y[e->m->nodes[i].in0], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[1]);
    const dnnl_memory_desc_t *ws_md = rc == 0 ? q(pd, dnnl_query_workspace_md) : NULL;
    if (rc == 0 && ws_md && dnnl_memory_desc_get_size(ws_md) > 0)
        rc = nn_dnnl_mem(&p->st, ws_md, NULL, &ws);
    ms[2] = ws;
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->fwd, pd, ws ? 3 : 2,
                              (const int[]){DNNL_ARG_SRC, DNNL_ARG_DST, DNNL_ARG_WORKSPACE}, ms);
    e->info[i] = (od_fwd_info){pd, ws, NULL};
    return rc;
}

/* Only a flatten that reorders has work: its input's blocks into NCHW. */
static int fwd_flatten(od_engine *e, od_plan *p, int i)
{
    if (!flatten_reorders(e, i))
        return 0;
    const nn_node *a = &e->m->nodes[e->m->nodes[i].in0];
    int64_t d[4] = {p->n, a->c, a->h, a->w};
    dnnl_memory_desc_t s_md, d_md;
    node_md(e, e->m->nodes[i].in0, p->n, &s_md);
    md_tag(&d_md, d, dnnl_nchw);
    dnnl_memory_t from, to;
    int rc = nn_dnnl_mem(&p->st, &s_md, e->y[e->m->nodes[i].in0], &from);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &to);
    return rc ? rc : nn_dnnl_add_reorder(&p->st, &p->fwd, from, to);
}

static int fwd_add(od_engine *e, od_plan *p, int i)
{
    dnnl_memory_desc_t d_md; /* both inputs have it (od_create) */
    node_md(e, i, p->n, &d_md);
    dnnl_binary_desc_t bd;
    CK(dnnl_binary_desc_init(&bd, dnnl_binary_add, &d_md, &d_md, &d_md));
    dnnl_primitive_desc_t pd;
    int rc = nn_dnnl_pd_create(&p->st, &pd, &bd, NULL);
    dnnl_memory_t ms[3];
    const nn_node *nd = &e->m->nodes[i];
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[nd->in0], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[nd->in1], &ms[1]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[2]);
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->fwd, pd, 3,
                              (const int[]){DNNL_ARG_SRC_0, DNNL_ARG_SRC_1, DNNL_ARG_DST}, ms);
    return rc;
}

/* ---- backward --------------------------------------------------------- */

/* Where node i's gradient for its input `in` goes: straight into the
 * input's gradient when i is its only reader, else into tmp, added after. */
static float *grad_target(const od_engine *e, int in, int *accumulate)
{
    int r = e->root[in];
    *accumulate = e->consumers[r] > 1;
    return *accumulate ? e->tmp : e->dy[r];
}

static int add_accum(od_engine *e, od_plan *p, int in, size_t count)
{
    od_step *st = nn_dnnl_push(&p->st, &p->bwd);
    if (!st)
        return -ENOMEM;
    st->kind = ST_ACCUM;
    st->src = e->tmp;
    st->dst = e->dy[e->root[in]];
    st->count = count;
    return 0;
}

static int bwd_conv(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    int n = p->n;
    od_conv_geom g;
    conv_geom(e, i, n, &g);
    dnnl_memory_desc_t src_a, dst_a;
    const od_fwd_info *fi = &e->info[i];
    dnnl_memory_t dy_p, dyd = NULL;
    int rc = nn_dnnl_mem(&p->st, &g.dst_n, e->dy[i], &dy_p);
    if (rc == 0 && e->root[nd->in0] != 0) {
        dnnl_primitive_desc_t pd = NULL;
        for (int any = 0; any < 2 && rc == 0; any++) {
            conv_mds(e, i, n, any, &src_a, &dst_a);
            dnnl_convolution_desc_t cd;
            CK(dnnl_convolution_backward_data_desc_init(&cd, dnnl_convolution_direct, &src_a,
                                                        &g.w_a, &dst_a, g.st, g.pad, g.pad));
            rc = nn_dnnl_pd_create(&p->st, &pd, &cd, fi->fwd_pd);
            if (rc == 0 && !is_ref(pd))
                break;
        }
        int acc = 0, post = 0;
        float *target = grad_target(e, nd->in0, &acc);
        dnnl_memory_t w, dx_p, dx;
        if (rc == 0)
            rc = nn_dnnl_need(&p->st, &p->bwd, dy_p, q(pd, dnnl_query_diff_dst_md), &dyd);
        if (rc == 0)
            rc = nn_dnnl_need(&p->st, &p->bwd, fi->weights, q(pd, dnnl_query_weights_md), &w);
        if (rc == 0)
            rc = nn_dnnl_mem(&p->st, &g.src_n, target, &dx_p);
        if (rc == 0)
            rc = give(e, p, dx_p, q(pd, dnnl_query_diff_src_md), &dx, &post);
        if (rc == 0)
            rc = nn_dnnl_add_prim(
                &p->st, &p->bwd, pd, 3,
                (const int[]){DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                (const dnnl_memory_t[]){dyd, w, dx});
        if (rc == 0 && post)
            rc = nn_dnnl_add_reorder(&p->st, &p->bwd, dx, dx_p);
        if (rc == 0 && acc)
            rc = add_accum(e, p, nd->in0, (size_t)n * e->m->nodes[nd->in0].size);
    }
    if (rc < 0)
        return rc;
    dnnl_primitive_desc_t pd = NULL;
    for (int any = 0; any < 2 && rc == 0; any++) {
        conv_mds(e, i, n, any, &src_a, &dst_a);
        dnnl_convolution_desc_t cw;
        CK(dnnl_convolution_backward_weights_desc_init(&cw, dnnl_convolution_direct, &src_a,
                                                       &g.w_a, nd->p_bias >= 0 ? &g.b_md : NULL,
                                                       &dst_a, g.st, g.pad, g.pad));
        rc = nn_dnnl_pd_create(&p->st, &pd, &cw, fi->fwd_pd);
        if (rc == 0 && !is_ref(pd))
            break;
    }
    dnnl_memory_t src, dyw, dw_p, dw, db = NULL;
    int post = 0;
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->bwd, fi->src, q(pd, dnnl_query_src_md), &src);
    if (rc == 0) {
        const dnnl_memory_desc_t *want = q(pd, dnnl_query_diff_dst_md), *have = NULL;
        if (dyd)
            CK(dnnl_memory_get_memory_desc(dyd, &have));
        if (have && dnnl_memory_desc_equal(have, want))
            dyw = dyd; /* reordered for backward-data already */
        else
            rc = nn_dnnl_need(&p->st, &p->bwd, dy_p, want, &dyw);
    }
    if (rc == 0)
        rc = plain_of(p, param(e, nd->p_weight, 1), 4, g.wd, &dw_p);
    if (rc == 0)
        rc = give(e, p, dw_p, q(pd, dnnl_query_diff_weights_md), &dw, &post);
    if (rc == 0 && nd->p_bias >= 0)
        rc = plain_of(p, param(e, nd->p_bias, 1), 1, g.bd, &db);
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->bwd, pd, db ? 4 : 3,
                              (const int[]){DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                                            DNNL_ARG_DIFF_BIAS},
                              (const dnnl_memory_t[]){src, dyw, dw, db});
    if (rc == 0 && post)
        rc = nn_dnnl_add_reorder(&p->st, &p->bwd, dw, dw_p);
    return rc;
}

static int bwd_linear(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    const nn_node *a = &e->m->nodes[nd->in0];
    int n = p->n;
    dnnl_memory_desc_t s_md, w_md, d_md, b_md;
    linear_mds(e, i, n, &s_md, &w_md, &d_md, &b_md);
    const od_fwd_info *fi = &e->info[i];
    dnnl_memory_t dy;
    int rc = nn_dnnl_mem(&p->st, &d_md, e->dy[i], &dy);
    if (rc == 0 && e->root[nd->in0] != 0) {
        dnnl_inner_product_desc_t id;
        CK(dnnl_inner_product_backward_data_desc_init(&id, &s_md, &w_md, &d_md));
        dnnl_primitive_desc_t pd;
        int acc = 0;
        float *target = grad_target(e, nd->in0, &acc);
        dnnl_memory_t dx;
        rc = nn_dnnl_pd_create(&p->st, &pd, &id, fi->fwd_pd);
        if (rc == 0)
            rc = nn_dnnl_mem(&p->st, &s_md, target, &dx);
        if (rc == 0)
            rc = nn_dnnl_add_prim(
                &p->st, &p->bwd, pd, 3,
                (const int[]){DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC},
                (const dnnl_memory_t[]){dy, fi->weights, dx});
        if (rc == 0 && acc)
            rc = add_accum(e, p, nd->in0, (size_t)n * a->size);
    }
    if (rc < 0)
        return rc;
    dnnl_inner_product_desc_t iw;
    CK(dnnl_inner_product_backward_weights_desc_init(&iw, &s_md, &w_md,
                                                     nd->p_bias >= 0 ? &b_md : NULL, &d_md));
    dnnl_primitive_desc_t pd;
    dnnl_memory_t dw, db = NULL;
    rc = nn_dnnl_pd_create(&p->st, &pd, &iw, fi->fwd_pd);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &w_md, param(e, nd->p_weight, 1), &dw);
    if (rc == 0 && nd->p_bias >= 0)
        rc = nn_dnnl_mem(&p->st, &b_md, param(e, nd->p_bias, 1), &db);
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->bwd, pd, db ? 4 : 3,
                              (const int[]){DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS,
                                            DNNL_ARG_DIFF_BIAS},
                              (const dnnl_memory_t[]){fi->src, dy, dw, db});
    return rc;
}

static int bwd_bn(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    dnnl_memory_desc_t d_md, c_md;
    node_md(e, i, p->n, &d_md);
    md_plain(&c_md, 1, (const int64_t[]){nd->c});
    dnnl_batch_normalization_desc_t bd;
    CK(dnnl_batch_normalization_backward_desc_init(&bd, dnnl_backward, &d_md, &d_md,
                                                   (float)e->m->bn.eps, bn_flags(1)));
    dnnl_primitive_desc_t pd;
    int acc = 0;
    float *target = grad_target(e, nd->in0, &acc);
    int rc = nn_dnnl_pd_create(&p->st, &pd, &bd, e->info[i].fwd_pd);
    dnnl_memory_t ms[9];
    float *ptr[9] = {e->y[nd->in0],
                     e->save_mean[i],
                     e->save_var[i],
                     e->dy[i],
                     param(e, nd->p_weight, 0),
                     target,
                     param(e, nd->p_weight, 1),
                     param(e, nd->p_bias, 1),
                     param(e, nd->p_bias, 0)};
    for (int k = 0; k < 9 && rc == 0; k++)
        rc = nn_dnnl_mem(&p->st, k == 0 || k == 3 || k == 5 ? &d_md : &c_md, ptr[k], &ms[k]);
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->bwd, pd, 9,
                              (const int[]){DNNL_ARG_SRC, DNNL_ARG_MEAN, DNNL_ARG_VARIANCE,
                                            DNNL_ARG_DIFF_DST, DNNL_ARG_SCALE, DNNL_ARG_DIFF_SRC,
                                            DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT,
                                            DNNL_ARG_SHIFT},
                              ms);
    if (rc == 0 && acc)
        rc = add_accum(e, p, nd->in0, (size_t)p->n * nd->size);
    return rc;
}

static int bwd_relu(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    dnnl_memory_desc_t d_md;
    node_md(e, i, p->n, &d_md);
    dnnl_eltwise_desc_t ed;
    CK(dnnl_eltwise_backward_desc_init(&ed, dnnl_eltwise_relu_use_dst_for_bwd, &d_md, &d_md, 0,
                                       0));
    dnnl_primitive_desc_t pd;
    int acc = 0;
    float *target = grad_target(e, nd->in0, &acc);
    int rc = nn_dnnl_pd_create(&p->st, &pd, &ed, e->info[i].fwd_pd);
    dnnl_memory_t ms[3];
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->y[i], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->dy[i], &ms[1]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, target, &ms[2]);
    if (rc == 0)
        rc =
            nn_dnnl_add_prim(&p->st, &p->bwd, pd, 3,
                             (const int[]){DNNL_ARG_DST, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC}, ms);
    if (rc == 0 && acc)
        rc = add_accum(e, p, nd->in0, (size_t)p->n * nd->size);
    return rc;
}

static int bwd_pool(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    dnnl_alg_kind_t alg;
    int64_t k[2], st[2], pad[2], sd[4], dd[4];
    pool_geom(e, i, &alg, k, st, pad, sd, dd, p->n);
    dnnl_memory_desc_t s_md, d_md;
    pool_mds(e, i, sd, dd, &s_md, &d_md);
    dnnl_dims_t kk = {k[0], k[1]}, ss = {st[0], st[1]}, pp = {pad[0], pad[1]};
    dnnl_pooling_desc_t pdsc;
    CK(dnnl_pooling_backward_desc_init(&pdsc, alg, &s_md, &d_md, ss, kk, pp, pp));
    dnnl_primitive_desc_t pd;
    int acc = 0;
    float *target = grad_target(e, nd->in0, &acc);
    int rc = nn_dnnl_pd_create(&p->st, &pd, &pdsc, e->info[i].fwd_pd);
    dnnl_memory_t ms[3];
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d_md, e->dy[i], &ms[0]);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &s_md, target, &ms[1]);
    ms[2] = e->info[i].src; /* the workspace, max pooling only */
    if (rc == 0)
        rc = nn_dnnl_add_prim(
            &p->st, &p->bwd, pd, ms[2] ? 3 : 2,
            (const int[]){DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_SRC, DNNL_ARG_WORKSPACE}, ms);
    if (rc == 0 && acc)
        rc = add_accum(e, p, nd->in0, (size_t)p->n * e->m->nodes[nd->in0].size);
    return rc;
}

static int bwd_flatten(od_engine *e, od_plan *p, int i)
{
    if (!flatten_reorders(e, i))
        return 0;
    int in = e->m->nodes[i].in0;
    const nn_node *a = &e->m->nodes[in];
    int64_t d[4] = {p->n, a->c, a->h, a->w};
    dnnl_memory_desc_t s_md, d_md;
    node_md(e, in, p->n, &s_md);
    md_tag(&d_md, d, dnnl_nchw);
    int acc = 0;
    float *target = grad_target(e, in, &acc);
    dnnl_memory_t from, to;
    int rc = nn_dnnl_mem(&p->st, &d_md, e->dy[i], &from);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &s_md, target, &to);
    if (rc == 0)
        rc = nn_dnnl_add_reorder(&p->st, &p->bwd, from, to);
    if (rc == 0 && acc)
        rc = add_accum(e, p, in, (size_t)p->n * a->size);
    return rc;
}

static int bwd_add(od_engine *e, od_plan *p, int i)
{
    const nn_node *nd = &e->m->nodes[i];
    int ins[2] = {nd->in0, nd->in1};
    for (int k = 0; k < 2; k++) {
        int r = e->root[ins[k]];
        if (r == 0)
            continue;
        od_step *st = nn_dnnl_push(&p->st, &p->bwd);
        if (!st)
            return -ENOMEM;
        st->kind = e->consumers[r] > 1 ? ST_ACCUM : ST_COPY;
        st->src = e->dy[i];
        st->dst = e->dy[r];
        st->count = (size_t)p->n * nd->size;
    }
    return 0;
}

static void plan_free(od_plan *p)
{
    nn_dnnl_steps_free(&p->fwd);
    nn_dnnl_steps_free(&p->bwd);
    if (p->softmax)
        dnnl_primitive_destroy(p->softmax);
    nn_dnnl_store_free(&p->st);
    memset(p, 0, sizeof *p);
}

typedef int (*od_step_fn)(od_engine *e, od_plan *p, int i);

static int step_none(od_engine *e, od_plan *p, int i)
{
    (void)e, (void)p, (void)i;
    return 0;
}

static int step_unsupported(od_engine *e, od_plan *p, int i)
{
    (void)p;
    snprintf(e->err, sizeof e->err, "node %d: operation %d has no oneDNN step", i,
             (int)e->m->nodes[i].op);
    return -ENOTSUP;
}

/* Each operation's forward and backward step builders, by nn_op; the
 * recurrent operation is never in a cnn model. */
static od_step_fn node_step(nn_op op, int backward)
{
    static const od_step_fn steps[][2] = {
        [NN_OP_INPUT] = {step_none, step_none},
        [NN_OP_CONV] = {fwd_conv, bwd_conv},
        [NN_OP_LINEAR] = {fwd_linear, bwd_linear},
        [NN_OP_BN] = {fwd_bn, bwd_bn},
        [NN_OP_RELU] = {fwd_relu, bwd_relu},
        [NN_OP_MAXPOOL] = {fwd_pool, bwd_pool},
        [NN_OP_AVGPOOL] = {fwd_pool, bwd_pool},
        [NN_OP_GAP] = {fwd_pool, bwd_pool},
        [NN_OP_ADD] = {fwd_add, bwd_add},
        [NN_OP_FLATTEN] = {fwd_flatten, bwd_flatten},
    };
    if ((unsigned)op >= sizeof steps / sizeof steps[0] || !steps[op][backward])
        return step_unsupported;
    return steps[op][backward];
}

static int plan_build(od_engine *e, od_plan *p)
{
    const nn_model *m = e->m;
    int rc = 0;
    for (int i = 1; i < m->n_nodes && rc == 0; i++)
        rc = node_step(m->nodes[i].op, 0)(e, p, i);
    if (rc == 0) { /* the loss's softmax over the logits */
        dnnl_memory_desc_t md;
        md_plain(&md, 2, (const int64_t[]){p->n, e->classes});
        dnnl_softmax_desc_t sd;
        CK(dnnl_softmax_forward_desc_init(&sd, dnnl_forward_inference, &md, 1));
        dnnl_primitive_desc_t pd;
        dnnl_memory_t a, b;
        rc = nn_dnnl_pd_create(&p->st, &pd, &sd, NULL);
        if (rc == 0)
            rc = nn_dnnl_mem(&p->st, &md, e->y[m->n_nodes - 1], &a);
        if (rc == 0)
            rc = nn_dnnl_mem(&p->st, &md, e->probs, &b);
        if (rc == 0) {
            CK(dnnl_primitive_create(&p->softmax, pd));
            p->softmax_args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, a};
            p->softmax_args[1] = (dnnl_exec_arg_t){DNNL_ARG_DST, b};
        }
    }
    if (rc == 0 && p->training) {
        /* Multi-reader inputs collect their gradient by adding: zero first. */
        for (int r = 1; r < m->n_nodes && rc == 0; r++)
            if (e->root[r] == r && e->consumers[r] > 1) {
                od_step *st = nn_dnnl_push(&p->st, &p->bwd);
                if (!st)
                    return -ENOMEM;
                st->kind = ST_ZERO;
                st->dst = e->dy[r];
                st->count = (size_t)p->n * m->nodes[r].size;
            }
        for (int i = m->n_nodes - 1; i > 0 && rc == 0; i--)
            rc = node_step(m->nodes[i].op, 1)(e, p, i);
    }
    return rc;
}

static void plan_free_v(void *p)
{
    plan_free(p);
}

static int plan_build_v(void *e, void *p)
{
    od_engine *eng = e;
    od_plan *plan = p;
    plan->st = (nn_dnnl_store){.eng = eng->eng, .err = eng->err, .errlen = sizeof eng->err};
    return plan_build(eng, plan);
}

static od_plan *plan_get(od_engine *e, int n, int training)
{
    return nn_dnnl_plan_get(e->plans, sizeof e->plans[0], &e->n_plans, OD_MAX_PLANS, n, training,
                            plan_build_v, plan_free_v, e, "cnn:onednn", e->err);
}

/* 0, or -EIO with the failing primitive's status said on stderr (the
 * passes cannot return errors; the caller turns it into a NaN loss). */
static int run_steps(od_engine *e, const od_steps *s)
{
    for (int j = 0; j < s->n; j++) {
        const od_step *st = &s->v[j];
        switch (st->kind) {
        case NN_DNNL_PRIM: {
            dnnl_status_t rs = nn_dnnl_exec(st, e->strm);
            if (rs != dnnl_success) {
                fprintf(stderr, "cnn:onednn: step %d of a plan for %d images failed: %s\n", j,
                        e->max_batch, dnnl_status2str(rs)); /* (the largest plan) */
                return -EIO;
            }
            break;
        }
        case ST_ACCUM: {
            float *d = st->dst;
            const float *a = st->src;
            for (size_t k = 0; k < st->count; k++)
                d[k] += a[k];
            break;
        }
        case ST_COPY:
            memcpy(st->dst, st->src, st->count * sizeof(float));
            break;
        case ST_ZERO:
            memset(st->dst, 0, st->count * sizeof(float));
            break;
        case ST_BN_RUNNING: {
            /* PyTorch's rule: momentum, unbiased variance. */
            const nn_node *nd = &e->m->nodes[st->node];
            float *rm = param(e, nd->p_mean, 0), *rv = param(e, nd->p_var, 0);
            double mom = e->m->bn.momentum, cnt = st->aux;
            double unbias = cnt > 1 ? cnt / (cnt - 1) : 1;
            for (int c = 0; c < nd->c; c++) {
                rm[c] = (float)((1 - mom) * rm[c] + mom * e->save_mean[st->node][c]);
                rv[c] = (float)((1 - mom) * rv[c] + mom * e->save_var[st->node][c] * unbias);
            }
            break;
        }
        }
    }
    return dnnl_stream_wait(e->strm) == dnnl_success ? 0 : -EIO;
}

/* Forward in the plan's mode on x; the logits are e->y[last]. */
static od_plan *forward_pass(od_engine *e, const float *x, int n, int training)
{
    od_plan *p = plan_get(e, n, training);
    if (!p)
        return NULL;
    memcpy(e->y[0], x, (size_t)n * e->m->nodes[0].size * sizeof *x);
    return run_steps(e, &p->fwd) < 0 ? NULL : p;
}

/* Loss from the softmax primitive's probabilities, and the gradient of the
 * logits (p - onehot) / n. */
static double loss_and_grad(od_engine *e, od_plan *p, const int32_t *y, int n)
{
    dnnl_primitive_execute(p->softmax, e->strm, 2, p->softmax_args);
    dnnl_stream_wait(e->strm);
    int k = e->classes;
    float *dz = e->dy[e->m->n_nodes - 1];
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const float *pr = e->probs + (size_t)i * (size_t)k;
        loss -= log(pr[y[i]] > 1e-38f ? (double)pr[y[i]] : 1e-38);
        for (int j = 0; j < k; j++)
            dz[(size_t)i * (size_t)k + (size_t)j] = (pr[j] - (j == y[i] ? 1.0f : 0.0f)) / (float)n;
    }
    return loss / n;
}

static double od_gradients_(od_engine *e, const float *x, const int32_t *y, int n)
{
    od_plan *p = forward_pass(e, x, n, 1);
    if (!p)
        return NAN;
    double loss = loss_and_grad(e, p, y, n);
    if (run_steps(e, &p->bwd) < 0)
        return NAN;
    return loss;
}

static double od_train_step(void *impl, const float *x, const int32_t *y, int n)
{
    od_engine *e = impl;
    double loss = od_gradients_(e, x, y, n);
    if (isfinite(loss))
        nn_optim_step(&e->opt, e->w, e->g);
    return loss;
}

static void od_forward(void *impl, const float *x, int n, float *logits)
{
    od_engine *e = impl;
    size_t k = (size_t)n * (size_t)e->classes;
    if (!forward_pass(e, x, n, 0)) {
        for (size_t i = 0; i < k; i++)
            logits[i] = NAN;
        return;
    }
    memcpy(logits, e->y[e->m->n_nodes - 1], k * sizeof *logits);
}

/* Node i's activations for a batch of n into dst in plain NCHW (or [n, c]),
 * through a reorder made for the call (the parity driver's, not timed). */
static int export_plain(od_engine *e, int i, int n, float *dst)
{
    const nn_node *nd = &e->m->nodes[i];
    if (e->vec[i] || e->tag[i] == dnnl_nchw) {
        memcpy(dst, e->y[i], (size_t)n * nd->size * sizeof *dst);
        return 0;
    }
    int64_t d[4] = {n, nd->c, nd->h, nd->w};
    dnnl_memory_desc_t a, b;
    node_md(e, i, n, &a);
    md_tag(&b, d, dnnl_nchw);
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t r;
    dnnl_memory_t ma, mb;
    CK(dnnl_reorder_primitive_desc_create(&pd, &a, e->eng, &b, e->eng, NULL));
    dnnl_status_t st = dnnl_primitive_create(&r, pd);
    dnnl_primitive_desc_destroy(pd);
    CK(st);
    st = dnnl_memory_create(&ma, &a, e->eng, e->y[i]);
    if (st == dnnl_success && (st = dnnl_memory_create(&mb, &b, e->eng, dst)) != dnnl_success)
        dnnl_memory_destroy(ma);
    if (st == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, ma}, {DNNL_ARG_TO, mb}};
        st = dnnl_primitive_execute(r, e->strm, 2, args);
        if (st == dnnl_success)
            st = dnnl_stream_wait(e->strm);
        dnnl_memory_destroy(ma);
        dnnl_memory_destroy(mb);
    }
    dnnl_primitive_destroy(r);
    CK(st);
    return 0;
}

/* Also leaves each ReLU's output in the model's node buffers, so that the
 * parity tool compares against a reference with oneDNN's own kink sides. */
static double od_gradients(void *impl, const float *x, const int32_t *y, int n, float *logits,
                           nn_model *m)
{
    od_engine *e = impl;
    double loss = od_gradients_(e, x, y, n);
    for (int i = 0; i < m->n_nodes && isfinite(loss); i++)
        if (m->nodes[i].op == NN_OP_RELU && export_plain(e, i, n, m->nodes[i].y) < 0) {
            fprintf(stderr, "cnn:onednn: %s\n", e->err);
            loss = NAN;
        }
    memcpy(logits, e->y[m->n_nodes - 1], (size_t)n * (size_t)e->classes * sizeof *logits);
    memcpy(m->grads, e->g, m->n_weights * sizeof *e->g);
    memcpy(m->buffers, e->buf, m->n_buffers * sizeof *e->buf);
    return loss;
}

static int od_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    od_engine *e = impl;
    memcpy(m->weights, e->w, m->n_weights * sizeof *e->w);
    memcpy(m->buffers, e->buf, m->n_buffers * sizeof *e->buf);
    return 0;
}

static void od_destroy(void *impl)
{
    od_engine *e = impl;
    if (!e)
        return;
    for (int k = 0; k < e->n_plans; k++)
        plan_free(&e->plans[k]);
    if (e->y)
        for (int i = 0; i < e->m->n_nodes; i++)
            if (e->root[i] == i) {
                nn_free(e->y[i]);
                nn_free(e->dy[i]);
            }
    if (e->save_mean)
        for (int i = 0; i < e->m->n_nodes; i++) {
            nn_free(e->save_mean[i]);
            nn_free(e->save_var[i]);
        }
    free(e->y);
    free(e->dy);
    free(e->root);
    free(e->consumers);
    free(e->vec);
    free(e->tag);
    free(e->save_mean);
    free(e->save_var);
    free(e->info);
    nn_free(e->w);
    nn_free(e->g);
    nn_free(e->buf);
    nn_free(e->tmp);
    nn_free(e->probs);
    nn_optim_free(&e->opt);
    nn_dnnl_close(e->eng, e->strm);
    free(e);
}

static int od_create(void **impl, const cnn_engine_setup *su, char *err, size_t errlen)
{
    *impl = NULL;
    od_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    const nn_model *m = su->init;
    int nn = m->n_nodes;
    e->m = m;
    e->max_batch = su->max_batch;
    e->classes = m->nodes[nn - 1].c;
    int rc = nn_dnnl_open(&e->eng, &e->strm, su->threads, err, errlen);
    if (rc < 0) {
        od_destroy(e);
        return rc;
    }
    e->tag = calloc((size_t)nn, sizeof *e->tag);
    e->y = calloc((size_t)nn, sizeof *e->y);
    e->dy = calloc((size_t)nn, sizeof *e->dy);
    e->root = calloc((size_t)nn, sizeof *e->root);
    e->consumers = calloc((size_t)nn, sizeof *e->consumers);
    e->vec = calloc((size_t)nn, sizeof *e->vec);
    e->save_mean = calloc((size_t)nn, sizeof *e->save_mean);
    e->save_var = calloc((size_t)nn, sizeof *e->save_var);
    e->info = calloc((size_t)nn, sizeof *e->info);
    e->w = nn_alloc(m->n_weights, sizeof *e->w);
    e->g = nn_alloc(m->n_weights, sizeof *e->g);
    e->buf = nn_alloc(m->n_buffers ? m->n_buffers : 1, sizeof *e->buf);
    e->probs = nn_alloc((size_t)su->max_batch * (size_t)e->classes, sizeof *e->probs);
    if (!e->tag || !e->y || !e->dy || !e->root || !e->consumers || !e->vec || !e->save_mean ||
        !e->save_var || !e->info || !e->w || !e->g || !e->buf || !e->probs)
        rc = -ENOMEM;
    for (int i = 0; i < nn && rc == 0; i++) {
        const nn_node *nd = &m->nodes[i];
        e->vec[i] = nd->op == NN_OP_LINEAR || nd->op == NN_OP_GAP || nd->op == NN_OP_FLATTEN ||
                    ((nd->op == NN_OP_RELU || nd->op == NN_OP_BN || nd->op == NN_OP_ADD) &&
                     e->vec[nd->in0]);
    }
    /* Layouts: blocked from each convolution whose channels fill whole
     * blocks, inherited by what follows it. A residual add of two layouts
     * would need a reorder per pass: then the model runs plain throughout. */
    e->blocked = rc == 0 ? probe_blocked(e) : dnnl_nchw;
    for (int again = 1; again && rc == 0;) {
        again = 0;
        for (int i = 0; i < nn; i++) {
            const nn_node *nd = &m->nodes[i];
            if (i == 0 || e->vec[i])
                e->tag[i] = dnnl_nchw;
            else if (nd->op == NN_OP_CONV)
                e->tag[i] = nd->c % block_of(e->blocked) == 0 ? e->blocked : dnnl_nchw;
            else
                e->tag[i] = e->tag[nd->in0];
            if (nd->op == NN_OP_ADD && !e->vec[i] && e->tag[nd->in1] != e->tag[i] &&
                e->blocked != dnnl_nchw) {
                e->blocked = dnnl_nchw;
                again = 1;
                break;
            }
        }
    }
    size_t biggest = 0;
    for (int i = 0; i < nn && rc == 0; i++) {
        const nn_node *nd = &m->nodes[i];
        if (nd->size > biggest)
            biggest = nd->size;
        if (nd->op == NN_OP_FLATTEN && !flatten_reorders(e, i)) { /* a view of its input */
            e->root[i] = e->root[nd->in0];
            e->y[i] = e->y[nd->in0];
            e->dy[i] = e->dy[nd->in0];
        } else {
            e->root[i] = i;
            e->y[i] = nn_alloc((size_t)su->max_batch * nd->size, sizeof(float));
            e->dy[i] = nn_alloc((size_t)su->max_batch * nd->size, sizeof(float));
            if (!e->y[i] || !e->dy[i])
                rc = -ENOMEM;
        }
        if (i > 0 && e->root[i] == i) {
            e->consumers[e->root[nd->in0]]++;
            if (nd->op == NN_OP_ADD)
                e->consumers[e->root[nd->in1]]++;
        }
        if (nd->op == NN_OP_BN && rc == 0) {
            e->save_mean[i] = nn_alloc((size_t)nd->c, sizeof(float));
            e->save_var[i] = nn_alloc((size_t)nd->c, sizeof(float));
            if (!e->save_mean[i] || !e->save_var[i])
                rc = -ENOMEM;
        }
    }
    if (rc == 0 && !(e->tmp = nn_alloc((size_t)su->max_batch * biggest, sizeof(float))))
        rc = -ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "out of memory for %d-image batches", su->max_batch);
        od_destroy(e);
        return rc;
    }
    memcpy(e->w, m->weights, m->n_weights * sizeof *e->w);
    memcpy(e->buf, m->buffers, m->n_buffers * sizeof *e->buf);
    if ((rc = nn_optim_init(&e->opt, su->optimizer, m->n_weights, su->lr, su->momentum,
                            su->weight_decay, err, errlen)) < 0) {
        od_destroy(e);
        return rc;
    }
    /* The inference plan of the full batch and the training plan now, so
     * that a bad geometry fails setup and neither is made in a timed pass
     * (cnn.c's warm-up makes the single query's). */
    if (!plan_get(e, su->max_batch, 0) ||
        (su->train_batch > 0 && !plan_get(e, su->train_batch, 1))) {
        snprintf(err, errlen, "%s", e->err);
        od_destroy(e);
        return -EIO;
    }
    *impl = e;
    return 0;
}

const cnn_engine cnn_engine_onednn = {
    "onednn", od_create, od_train_step, od_forward, od_weights_to, od_destroy, od_gradients,
};
