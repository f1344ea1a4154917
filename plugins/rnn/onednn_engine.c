/*
 * rnn:onednn's engine: the rnn task's network (rnn.h: PyTorch's
 * nn.{RNN,LSTM,GRU}(batch_first) and a Linear head on the last step) on
 * oneDNN 2.6's own recurrent primitives (C API):
 *
 *   rnn (tanh, relu)  dnnl_vanilla_rnn_*: h = act(W x + U h' + b)
 *   lstm              dnnl_lstm_* (no peephole, no projection), gates
 *                     i, f, c~, o: PyTorch's i, f, g, o
 *   gru               dnnl_lbr_gru_*, linear-before-reset:
 *                     o = tanh(W_o x + b_o + r (U_o h' + b_u')), which is
 *                     PyTorch's n = tanh(W_in x + b_in + r (W_hn h' + b_hn));
 *                     gates u, r, o against PyTorch's r, z, n (u is z)
 *
 * so every configuration the task allows has a primitive with PyTorch's
 * equations, and none falls back to the NN core's cells. Forward training
 * (with its workspace) and backward for training, forward inference for
 * evaluation and queries; one direction, or both as one primitive with
 * dnnl_bidirectional_concat (the forward direction's states in the first H
 * columns, as PyTorch's output).
 *
 * One primitive per layer, not one for the stack: a stacked primitive has
 * one input width for every layer (weights_layer is [L, D, SLC, G, H]), so
 * it would need input_size == H (unidirectional) or 2H (bidirectional) for
 * layer 0. Layer k's output [T, n, H*D] (tnc) is layer k+1's input as it
 * lies, and layer k+1's input gradient is layer k's output gradient, so the
 * split costs no copies.
 *
 * Weights. The master weights, their gradients and the optimiser (the NN
 * core's nn_optim, the update of every variant) are in PyTorch's layout
 * (the model's tensors, by name). Before a pass after an update they are
 * packed per layer into ldgoi staging buffers ([D, G, H, in] row-major:
 * each direction's weight_ih as it lies, with GRU's gates permuted into
 * oneDNN's order) and one bias per gate (b_ih + b_hh; GRU's n gate keeps
 * b_in and b_hn apart as oneDNN's fourth bias, u'); each primitive
 * reorders those into the format it chose (format_any: ldigo or packed)
 * once per update. Its weight gradients (ldigo) are reordered into ldgoi
 * staging and scattered back into PyTorch's tensors (a bias's gradient
 * into both b_ih and b_hh, as the sum's gradient is each one's).
 *
 * Data. x [n, T, I] is transposed into oneDNN's time-major tnc; the last
 * step's output is the contiguous last [n, H*D] block of the top layer's
 * tnc output, read by the head in place. The head (fc, [classes, H*D]) and
 * the softmax cross-entropy are small loops (classes x H*D per sequence
 * against the recurrent stack's thousands of times that).
 *
 * A plan (the primitives and their arguments for one batch size and mode)
 * is created once and kept: create() makes the full-batch inference plan
 * and the training one, rnn.c's warm-up the one of a single query; a short
 * last batch makes one more on its first use.
 */
#include "onednn_plan.h"
#include "rnn.h"

#include <dnnl.h>
#include <dnnl_debug.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#define RD_MAX_PLANS 8
#define RD_MAX_ARGS 16

/* Besides primitives (onednn_plan.h's nn_dnnl_step): ST_ZERO clears
 * count bytes at dst. */
enum { ST_ZERO = 1 };
typedef nn_dnnl_step rd_step;
typedef nn_dnnl_steps rd_steps;

typedef struct {
    int n, training;
    long wver;    /* the weights' version the weight reorders last ran for */
    rd_steps wfwd; /* staging -> the forward primitives' weight formats */
    rd_steps fwd;
    rd_steps wbwd; /* staging -> the backward primitives' weight formats */
    rd_steps bwd;  /* zeroing of the weight gradients, the backward primitives */
    rd_steps gout; /* the weight gradients -> staging */
    float *x;      /* [T, n, I] */
    float **y;     /* per layer [T, n, H*D] */
    float **dy;    /* training: their gradients; dy[-1] is layer 0's input's */
    float *dx;     /* training: [T, n, I], layer 0's input gradient (not used) */
    nn_dnnl_store st; /* everything created for the plan, freed with it */
} rd_plan;

/* A layer's weights in oneDNN's gate order, ldgoi / ldgo, and their
 * gradients as its backward primitive gives them, reordered likewise. */
typedef struct {
    int in; /* input features: I for layer 0, H*D above */
    float *wl, *wi, *b;
    float *dwl, *dwi, *db;
} rd_layer;

typedef struct {
    const nn_model *m;
    const nn_recurrent *r;
    int T, I, H, L, D, G, Gb, classes, max_batch;
    int p_fcw, p_fcb; /* the head's tensors, indices into m->params */
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    float *w, *g; /* master weights and gradients, the model's layout */
    rd_layer *lay;
    float *logits, *probs, *dz; /* [max_batch * classes] */
    long wver, packed; /* version of w, and the one the staging holds */
    rd_plan plans[RD_MAX_PLANS];
    int n_plans;
    nn_optim opt;
    double clip;
    char err[512];
} rd_engine;

#define CK(call) NN_DNNL_CK(e->err, sizeof e->err, call)

/* oneDNN's gate g is PyTorch's gate perm[g]: GRU's (u, r, o) are
 * PyTorch's (z, r, n); LSTM's and the vanilla cell's orders agree. */
static int gate_of(const rd_engine *e, int g)
{
    static const int gru[3] = {1, 0, 2};
    return e->r->cell == NN_CELL_GRU ? gru[g] : g;
}

static void md_init(dnnl_memory_desc_t *md, int ndims, const int64_t *dims, dnnl_format_tag_t tag)
{
    dnnl_dims_t d;
    for (int i = 0; i < ndims; i++)
        d[i] = dims[i];
    dnnl_memory_desc_init_by_tag(md, ndims, d, dnnl_f32, tag);
}

/* A weight gradient in the layout `got`: zeroed before the primitive (s)
 * in case it accumulates, and reordered into the plain memory after it
 * (post) when the layouts differ. */
static int give_grad(rd_engine *e, rd_plan *p, rd_steps *s, rd_steps *post, dnnl_memory_t plain,
                     const dnnl_memory_desc_t *got, dnnl_memory_t *out)
{
    const dnnl_memory_desc_t *have;
    CK(dnnl_memory_get_memory_desc(plain, &have));
    int rc = 0, same = dnnl_memory_desc_equal(have, got);
    *out = plain;
    if (!same)
        rc = nn_dnnl_mem(&p->st, got, NULL, out);
    rd_step *z = rc == 0 ? nn_dnnl_push(&p->st, s) : NULL;
    if (!z)
        return rc ? rc : -ENOMEM;
    z->kind = ST_ZERO;
    z->count = dnnl_memory_desc_get_size(got);
    CK(dnnl_memory_get_data_handle(*out, &z->dst));
    return same ? 0 : nn_dnnl_add_reorder(&p->st, post, *out, plain);
}

static const dnnl_memory_desc_t *q(const_dnnl_primitive_desc_t pd, dnnl_query_t what)
{
    return dnnl_primitive_desc_query_md(pd, what, 0);
}

/* The descriptors of layer l for a batch of n: weights and their gradients
 * format_any (the primitive chooses), everything else plain. The initial
 * states (h, and c for LSTM) are given as explicit zero tensors (iter),
 * with their gradients, though oneDNN takes NULL for zero: without them,
 * oneDNN 2.6's backward of a one-direction vanilla RNN or LSTM returns a
 * wrong dW_hh (0.4 to 1.3 relative error against PyTorch in
 * tools/parity/rnn_torch.py; GRU and both directions were right). */
typedef struct {
    dnnl_memory_desc_t src, wl, wi, b, dst, wl_any, wi_any, iter;
} rd_mds;

static void layer_mds(const rd_engine *e, int l, int n, rd_mds *d)
{
    int64_t in = e->lay[l].in, H = e->H, D = e->D;
    int64_t sd[3] = {e->T, n, in}, dd[3] = {e->T, n, H * D};
    int64_t wl[5] = {1, D, in, e->G, H}, wi[5] = {1, D, H, e->G, H}, bd[4] = {1, D, e->Gb, H};
    md_init(&d->src, 3, sd, dnnl_tnc);
    md_init(&d->dst, 3, dd, dnnl_tnc);
    md_init(&d->wl, 5, wl, dnnl_ldgoi);
    md_init(&d->wi, 5, wi, dnnl_ldgoi);
    md_init(&d->b, 4, bd, dnnl_ldgo);
    md_init(&d->iter, 4, (const int64_t[]){1, D, n, H}, dnnl_ldnc);
    md_init(&d->wl_any, 5, wl, dnnl_format_tag_any);
    md_init(&d->wi_any, 5, wi, dnnl_format_tag_any);
}

static dnnl_rnn_direction_t direction(const rd_engine *e)
{
    return e->D == 2 ? dnnl_bidirectional_concat : dnnl_unidirectional_left2right;
}

static dnnl_alg_kind_t activation(const rd_engine *e)
{
    return e->r->cell == NN_CELL_RNN_RELU ? dnnl_eltwise_relu : dnnl_eltwise_tanh;
}

static int fwd_desc(rd_engine *e, dnnl_rnn_desc_t *rd, dnnl_prop_kind_t prop, const rd_mds *d)
{
    switch (e->r->cell) {
    case NN_CELL_LSTM:
        CK(dnnl_lstm_forward_desc_init(rd, prop, direction(e), &d->src, &d->iter, &d->iter, &d->wl_any,
                                       &d->wi_any, &d->b, &d->dst, NULL, NULL, 0));
        break;
    case NN_CELL_GRU:
        CK(dnnl_lbr_gru_forward_desc_init(rd, prop, direction(e), &d->src, &d->iter, &d->wl_any,
                                          &d->wi_any, &d->b, &d->dst, NULL, 0));
        break;
    case NN_CELL_RNN_TANH:
    case NN_CELL_RNN_RELU:
        CK(dnnl_vanilla_rnn_forward_desc_init(rd, prop, activation(e), direction(e), &d->src,
                                              &d->iter, &d->wl_any, &d->wi_any, &d->b, &d->dst, NULL,
                                              0, 0.0f, 0.0f));
        break;
    }
    return 0;
}

static int bwd_desc(rd_engine *e, dnnl_rnn_desc_t *rd, const rd_mds *d)
{
    switch (e->r->cell) {
    case NN_CELL_LSTM:
        CK(dnnl_lstm_backward_desc_init(rd, dnnl_backward, direction(e), &d->src, &d->iter, &d->iter,
                                        &d->wl_any, &d->wi_any, &d->b, &d->dst, NULL, NULL,
                                        &d->src, &d->iter, &d->iter, &d->wl_any, &d->wi_any, &d->b,
                                        &d->dst, NULL, NULL, 0));
        break;
    case NN_CELL_GRU:
        CK(dnnl_lbr_gru_backward_desc_init(rd, dnnl_backward, direction(e), &d->src, &d->iter,
                                           &d->wl_any, &d->wi_any, &d->b, &d->dst, NULL, &d->src,
                                           &d->iter, &d->wl_any, &d->wi_any, &d->b, &d->dst, NULL,
                                           0));
        break;
    case NN_CELL_RNN_TANH:
    case NN_CELL_RNN_RELU:
        CK(dnnl_vanilla_rnn_backward_desc_init(rd, dnnl_backward, activation(e), direction(e),
                                               &d->src, &d->iter, &d->wl_any, &d->wi_any, &d->b,
                                               &d->dst, NULL, &d->src, &d->iter, &d->wl_any,
                                               &d->wi_any, &d->b, &d->dst, NULL, 0, 0.0f, 0.0f));
        break;
    }
    return 0;
}

/* Layer l of plan p: its forward primitive (and, training, its backward
 * one), with the weight reorders they need. */
static int plan_layer(rd_engine *e, rd_plan *p, int l)
{
    rd_mds d;
    layer_mds(e, l, p->n, &d);
    rd_layer *ly = &e->lay[l];
    float *src = l ? p->y[l - 1] : p->x;
    dnnl_rnn_desc_t fd;
    int rc = fwd_desc(e, &fd, p->training ? dnnl_forward_training : dnnl_forward_inference, &d);
    dnnl_primitive_desc_t fpd;
    if (rc == 0)
        rc = nn_dnnl_pd_create(&p->st, &fpd, &fd, NULL);
    dnnl_memory_t src_m, dst_m, wl_p, wi_p, b_m, wl, wi, ws = NULL;
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.src, src, &src_m);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.dst, p->y[l], &dst_m);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.wl, ly->wl, &wl_p);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.wi, ly->wi, &wi_p);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.b, ly->b, &b_m);
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->wfwd, wl_p, q(fpd, dnnl_query_weights_md), &wl);
    if (rc == 0) {
        const dnnl_memory_desc_t *wi_md =
            dnnl_primitive_desc_query_md(fpd, dnnl_query_weights_md, 1);
        rc = nn_dnnl_need(&p->st, &p->wfwd, wi_p, wi_md, &wi);
    }
    if (rc == 0 && p->training) {
        const dnnl_memory_desc_t *ws_md = q(fpd, dnnl_query_workspace_md);
        if (ws_md && dnnl_memory_desc_get_size(ws_md) > 0)
            rc = nn_dnnl_mem(&p->st, ws_md, NULL, &ws);
    }
    /* The initial states, zero (see layer_mds). */
    int lstm = e->r->cell == NN_CELL_LSTM;
    dnnl_memory_t h0 = NULL, dh0 = NULL, dc0 = NULL;
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.iter, NULL, &h0);
    int fa[8] = {DNNL_ARG_SRC_LAYER,  DNNL_ARG_WEIGHTS_LAYER, DNNL_ARG_WEIGHTS_ITER,
                 DNNL_ARG_BIAS,       DNNL_ARG_DST_LAYER,     DNNL_ARG_SRC_ITER,
                 DNNL_ARG_SRC_ITER_C, DNNL_ARG_WORKSPACE};
    dnnl_memory_t fm[8] = {src_m, wl, wi, b_m, dst_m, h0, h0, ws};
    int nf = 6;
    if (lstm)
        nf++;
    if (ws) {
        fa[nf] = DNNL_ARG_WORKSPACE;
        fm[nf++] = ws;
    }
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->fwd, fpd, nf, fa, fm);
    if (rc < 0 || !p->training)
        return rc;

    dnnl_rnn_desc_t bd;
    dnnl_primitive_desc_t bpd;
    rc = bwd_desc(e, &bd, &d);
    if (rc == 0)
        rc = nn_dnnl_pd_create(&p->st, &bpd, &bd, fpd);
    dnnl_memory_t bwl, bwi, dsrc_m, ddst_m, dwl_p, dwi_p, db_p, dwl, dwi, db;
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->wbwd, wl_p, q(bpd, dnnl_query_weights_md), &bwl);
    if (rc == 0)
        rc = nn_dnnl_need(&p->st, &p->wbwd, wi_p,
                          dnnl_primitive_desc_query_md(bpd, dnnl_query_weights_md, 1), &bwi);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.src, l ? p->dy[l - 1] : p->dx, &dsrc_m);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.dst, p->dy[l], &ddst_m);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.wl, ly->dwl, &dwl_p);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.wi, ly->dwi, &dwi_p);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.b, ly->db, &db_p);
    if (rc == 0)
        rc = give_grad(e, p, &p->bwd, &p->gout, dwl_p, q(bpd, dnnl_query_diff_weights_md), &dwl);
    if (rc == 0)
        rc = give_grad(e, p, &p->bwd, &p->gout, dwi_p,
                       dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 1), &dwi);
    if (rc == 0)
        rc = give_grad(e, p, &p->bwd, &p->gout, db_p,
                       dnnl_primitive_desc_query_md(bpd, dnnl_query_diff_weights_md, 2), &db);
    if (rc == 0)
        rc = nn_dnnl_mem(&p->st, &d.iter, NULL, &dh0);
    if (rc == 0 && lstm)
        rc = nn_dnnl_mem(&p->st, &d.iter, NULL, &dc0);
    int ba[RD_MAX_ARGS] = {DNNL_ARG_SRC_LAYER,          DNNL_ARG_WEIGHTS_LAYER,
                           DNNL_ARG_WEIGHTS_ITER,       DNNL_ARG_BIAS,
                           DNNL_ARG_DST_LAYER,          DNNL_ARG_DIFF_SRC_LAYER,
                           DNNL_ARG_DIFF_WEIGHTS_LAYER, DNNL_ARG_DIFF_WEIGHTS_ITER,
                           DNNL_ARG_DIFF_BIAS,          DNNL_ARG_DIFF_DST_LAYER,
                           DNNL_ARG_SRC_ITER,           DNNL_ARG_DIFF_SRC_ITER,
                           DNNL_ARG_SRC_ITER_C,         DNNL_ARG_DIFF_SRC_ITER_C};
    dnnl_memory_t bm[RD_MAX_ARGS] = {src_m, bwl, bwi, b_m, dst_m, dsrc_m, dwl,
                                     dwi,   db,  ddst_m, h0, dh0, h0, dc0};
    int nb = lstm ? 14 : 12;
    if (ws) {
        ba[nb] = DNNL_ARG_WORKSPACE;
        bm[nb++] = ws;
    }
    if (rc == 0)
        rc = nn_dnnl_add_prim(&p->st, &p->bwd, bpd, nb, ba, bm);
    return rc;
}

static void plan_free(rd_plan *p)
{
    nn_dnnl_steps_free(&p->wfwd);
    nn_dnnl_steps_free(&p->fwd);
    nn_dnnl_steps_free(&p->wbwd);
    nn_dnnl_steps_free(&p->bwd);
    nn_dnnl_steps_free(&p->gout);
    nn_dnnl_store_free(&p->st);
    free(p->y);
    free(p->dy);
    memset(p, 0, sizeof *p);
}

static int plan_build(rd_engine *e, rd_plan *p)
{
    size_t n = (size_t)p->n, T = (size_t)e->T, HD = (size_t)e->H * e->D;
    p->wver = -1;
    p->y = calloc((size_t)e->L, sizeof *p->y);
    p->dy = calloc((size_t)e->L, sizeof *p->dy);
    if (!p->y || !p->dy || !(p->x = nn_dnnl_buf(&p->st, T * n * e->I * sizeof(float)))) {
        snprintf(e->err, sizeof e->err, "out of memory for a plan");
        return -ENOMEM;
    }
    for (int l = 0; l < e->L; l++) {
        if (!(p->y[l] = nn_dnnl_buf(&p->st, T * n * HD * sizeof(float))))
            return -ENOMEM;
        if (p->training && !(p->dy[l] = nn_dnnl_buf(&p->st, T * n * HD * sizeof(float))))
            return -ENOMEM;
    }
    if (p->training && !(p->dx = nn_dnnl_buf(&p->st, T * n * e->I * sizeof(float))))
        return -ENOMEM;
    int rc = 0;
    for (int l = 0; l < e->L && rc == 0; l++)
        rc = plan_layer(e, p, l);
    /* The backward primitives run top layer first. */
    if (rc == 0 && p->training) {
        /* plan_layer appended each layer's zeroing and primitive in layer
         * order; reverse the groups (each ends with its primitive). */
        rd_steps rev = {0};
        int end = p->bwd.n;
        while (end > 0 && rc == 0) {
            int start = end - 1;
            while (start > 0 && p->bwd.v[start - 1].kind == ST_ZERO)
                start--;
            for (int j = start; j < end; j++) {
                rd_step *st = nn_dnnl_push(&p->st, &rev);
                if (!st) {
                    rc = -ENOMEM;
                    break;
                }
                *st = p->bwd.v[j];
            }
            end = start;
        }
        if (rc == 0) {
            free(p->bwd.v);
            p->bwd = rev;
        } else {
            free(rev.v);
        }
    }
    return rc;
}

static void plan_free_v(void *p)
{
    plan_free(p);
}

static int plan_build_v(void *e, void *p)
{
    rd_engine *eng = e;
    rd_plan *plan = p;
    plan->st = (nn_dnnl_store){.eng = eng->eng, .err = eng->err, .errlen = sizeof eng->err};
    return plan_build(eng, plan);
}

static rd_plan *plan_get(rd_engine *e, int n, int training)
{
    return nn_dnnl_plan_get(e->plans, sizeof e->plans[0], &e->n_plans, RD_MAX_PLANS, n, training,
                            plan_build_v, plan_free_v, e, "rnn:onednn", e->err);
}

/* 0, or -EIO with the failing primitive's status said on stderr (the
 * passes cannot return errors; the caller turns it into a NaN loss). */
static int run_steps(rd_engine *e, const rd_steps *s, int n)
{
    for (int j = 0; j < s->n; j++) {
        const rd_step *st = &s->v[j];
        if (st->kind == ST_ZERO) {
            memset(st->dst, 0, st->count);
            continue;
        }
        dnnl_status_t rs = nn_dnnl_exec(st, e->strm);
        if (rs != dnnl_success) {
            fprintf(stderr, "rnn:onednn: step %d of a plan for %d sequences failed: %s\n", j, n,
                    dnnl_status2str(rs));
            return -EIO;
        }
    }
    return dnnl_stream_wait(e->strm) == dnnl_success ? 0 : -EIO;
}

static float *param(const rd_engine *e, int idx, int grad)
{
    return (grad ? e->g : e->w) + e->m->params[idx].offset;
}

/* The tensors of layer l, direction d: k = w_ih, w_hh, b_ih, b_hh. */
static int rec_param(const rd_engine *e, int l, int d, int k)
{
    return e->r->p_first + 4 * (l * e->D + d) + k;
}

/* The master weights into every layer's staging (oneDNN's gate order). */
static void pack(rd_engine *e)
{
    size_t H = (size_t)e->H;
    for (int l = 0; l < e->L; l++) {
        rd_layer *ly = &e->lay[l];
        size_t in = (size_t)ly->in;
        for (int d = 0; d < e->D; d++) {
            const float *wih = param(e, rec_param(e, l, d, 0), 0);
            const float *whh = param(e, rec_param(e, l, d, 1), 0);
            const float *bih = param(e, rec_param(e, l, d, 2), 0);
            const float *bhh = param(e, rec_param(e, l, d, 3), 0);
            for (int g = 0; g < e->G; g++) {
                size_t pg = (size_t)gate_of(e, g);
                memcpy(ly->wl + ((size_t)d * e->G + g) * H * in, wih + pg * H * in,
                       H * in * sizeof(float));
                memcpy(ly->wi + ((size_t)d * e->G + g) * H * H, whh + pg * H * H,
                       H * H * sizeof(float));
            }
            float *b = ly->b + (size_t)d * e->Gb * H;
            for (int g = 0; g < e->G; g++) {
                size_t pg = (size_t)gate_of(e, g);
                /* GRU's o gate (PyTorch's n) takes b_in alone; b_hn is u'. */
                int split = e->r->cell == NN_CELL_GRU && g == 2;
                for (size_t h = 0; h < H; h++)
                    b[g * H + h] = bih[pg * H + h] + (split ? 0.0f : bhh[pg * H + h]);
            }
            if (e->r->cell == NN_CELL_GRU)
                memcpy(b + 3 * H, bhh + 2 * H, H * sizeof(float));
        }
    }
    e->packed = e->wver;
}

/* Every layer's staged gradients into the model's (PyTorch's) layout. */
static void unpack_grads(rd_engine *e)
{
    size_t H = (size_t)e->H;
    for (int l = 0; l < e->L; l++) {
        const rd_layer *ly = &e->lay[l];
        size_t in = (size_t)ly->in;
        for (int d = 0; d < e->D; d++) {
            float *wih = param(e, rec_param(e, l, d, 0), 1);
            float *whh = param(e, rec_param(e, l, d, 1), 1);
            float *bih = param(e, rec_param(e, l, d, 2), 1);
            float *bhh = param(e, rec_param(e, l, d, 3), 1);
            for (int g = 0; g < e->G; g++) {
                size_t pg = (size_t)gate_of(e, g);
                memcpy(wih + pg * H * in, ly->dwl + ((size_t)d * e->G + g) * H * in,
                       H * in * sizeof(float));
                memcpy(whh + pg * H * H, ly->dwi + ((size_t)d * e->G + g) * H * H,
                       H * H * sizeof(float));
            }
            const float *db = ly->db + (size_t)d * e->Gb * H;
            for (int g = 0; g < e->G; g++) {
                size_t pg = (size_t)gate_of(e, g);
                int split = e->r->cell == NN_CELL_GRU && g == 2;
                memcpy(bih + pg * H, db + g * H, H * sizeof(float));
                memcpy(bhh + pg * H, db + (split ? 3 : g) * H, H * sizeof(float));
            }
        }
    }
}

/* The last step's output of the top layer, [n, H*D]: tnc's last block. */
static float *last_step(const rd_engine *e, const rd_plan *p, float *const *buf)
{
    return buf[e->L - 1] + (size_t)(e->T - 1) * (size_t)p->n * (size_t)e->H * (size_t)e->D;
}

/* Forward in the plan's mode on x [n, T, I]; the logits into e->logits. */
static rd_plan *forward_pass(rd_engine *e, const float *x, int n, int training)
{
    rd_plan *p = plan_get(e, n, training);
    if (!p)
        return NULL;
    if (e->packed != e->wver)
        pack(e);
    if (p->wver != e->wver) {
        if (run_steps(e, &p->wfwd, n) < 0 || (training && run_steps(e, &p->wbwd, n) < 0))
            return NULL;
        p->wver = e->wver;
    }
    size_t T = (size_t)e->T, I = (size_t)e->I, nn = (size_t)n;
    for (size_t i = 0; i < nn; i++) /* [n, T, I] -> [T, n, I] */
        for (size_t t = 0; t < T; t++)
            memcpy(p->x + (t * nn + i) * I, x + (i * T + t) * I, I * sizeof *x);
    if (run_steps(e, &p->fwd, n) < 0)
        return NULL;
    /* The head: logits = h W^T + b. */
    size_t HD = (size_t)e->H * e->D, C = (size_t)e->classes;
    const float *h = last_step(e, p, p->y), *W = param(e, e->p_fcw, 0), *b = param(e, e->p_fcb, 0);
    for (size_t i = 0; i < nn; i++)
        for (size_t c = 0; c < C; c++) {
            const float *hi = h + i * HD, *wc = W + c * HD;
            float s = 0;
            for (size_t k = 0; k < HD; k++)
                s += hi[k] * wc[k];
            e->logits[i * C + c] = s + b[c];
        }
    return p;
}

/* Forward in training mode, loss, backward into e->g. */
static double gradients_(rd_engine *e, const float *x, const int32_t *y, int n)
{
    rd_plan *p = forward_pass(e, x, n, 1);
    if (!p)
        return NAN;
    int C = e->classes;
    size_t HD = (size_t)e->H * e->D, nn = (size_t)n, Cs = (size_t)C;
    double loss = nn_xent_forward(n, C, e->logits, y, e->probs);
    memset(e->dz, 0, nn * Cs * sizeof *e->dz);
    nn_xent_backward(n, C, e->probs, y, e->dz);
    /* The head's gradients, and its input's into the top layer's output
     * gradient, zero at every other step. */
    const float *h = last_step(e, p, p->y), *W = param(e, e->p_fcw, 0);
    float *dW = param(e, e->p_fcw, 1), *db = param(e, e->p_fcb, 1);
    float *dh = last_step(e, p, p->dy);
    memset(p->dy[e->L - 1], 0, (size_t)(e->T - 1) * nn * HD * sizeof(float));
    memset(dW, 0, Cs * HD * sizeof *dW);
    memset(db, 0, Cs * sizeof *db);
    memset(dh, 0, nn * HD * sizeof *dh);
    for (size_t i = 0; i < nn; i++)
        for (size_t c = 0; c < Cs; c++) {
            float g = e->dz[i * Cs + c];
            const float *hi = h + i * HD, *wc = W + c * HD;
            float *dwc = dW + c * HD, *dhi = dh + i * HD;
            db[c] += g;
            for (size_t k = 0; k < HD; k++) {
                dwc[k] += g * hi[k];
                dhi[k] += g * wc[k];
            }
        }
    if (run_steps(e, &p->bwd, n) < 0 || run_steps(e, &p->gout, n) < 0)
        return NAN;
    unpack_grads(e);
    return loss;
}

static double rd_train_step(void *impl, const float *x, const int32_t *y, int n)
{
    rd_engine *e = impl;
    double loss = gradients_(e, x, y, n);
    if (!isfinite(loss))
        return loss;
    if (e->clip > 0)
        nn_clip_grad_norm(e->g, e->m->n_weights, e->clip);
    nn_optim_step(&e->opt, e->w, e->g);
    e->wver++;
    return loss;
}

static void rd_forward(void *impl, const float *x, int n, float *logits)
{
    rd_engine *e = impl;
    size_t k = (size_t)n * (size_t)e->classes;
    if (!forward_pass(e, x, n, 0)) {
        for (size_t i = 0; i < k; i++)
            logits[i] = NAN;
        return;
    }
    memcpy(logits, e->logits, k * sizeof *logits);
}

static double rd_gradients(void *impl, const float *x, const int32_t *y, int n, float *logits,
                           nn_model *m)
{
    rd_engine *e = impl;
    double loss = gradients_(e, x, y, n);
    memcpy(logits, e->logits, (size_t)n * (size_t)e->classes * sizeof *logits);
    memcpy(m->grads, e->g, m->n_weights * sizeof *e->g);
    return loss;
}

static int rd_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    rd_engine *e = impl;
    memcpy(m->weights, e->w, m->n_weights * sizeof *e->w);
    return 0;
}

static void rd_destroy(void *impl)
{
    rd_engine *e = impl;
    if (!e)
        return;
    for (int k = 0; k < e->n_plans; k++)
        plan_free(&e->plans[k]);
    if (e->lay)
        for (int l = 0; l < e->L; l++) {
            rd_layer *ly = &e->lay[l];
            float *bufs[6] = {ly->wl, ly->wi, ly->b, ly->dwl, ly->dwi, ly->db};
            for (int k = 0; k < 6; k++)
                nn_free(bufs[k]);
        }
    free(e->lay);
    nn_free(e->w);
    nn_free(e->g);
    nn_free(e->logits);
    nn_free(e->probs);
    nn_free(e->dz);
    nn_optim_free(&e->opt);
    nn_dnnl_close(e->eng, e->strm);
    free(e);
}

static int rd_create(void **impl, const nn_engine_setup *su, char *err, size_t errlen)
{
    *impl = NULL;
    const nn_model *m = su->init;
    const nn_recurrent *r = NULL;
    int head = -1;
    for (int i = 0; i < m->n_nodes; i++) {
        if (m->nodes[i].op == NN_OP_RECURRENT)
            r = m->nodes[i].rec;
        else if (m->nodes[i].op == NN_OP_LINEAR)
            head = i;
    }
    if (!r || head < 0 || m->nodes[head].p_bias < 0 || head != m->n_nodes - 1) {
        snprintf(err, errlen, "onednn: the model is not a recurrent stack and a linear head");
        return -EINVAL;
    }
    rd_engine *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    e->m = m;
    e->r = r;
    e->T = r->seq_len;
    e->I = r->input_size;
    e->H = r->hidden;
    e->L = r->layers;
    e->D = r->dirs;
    e->G = r->gates;
    e->Gb = r->cell == NN_CELL_GRU ? 4 : r->gates; /* lbr_gru's extra bias, u' */
    e->classes = m->nodes[head].c;
    e->max_batch = su->max_batch;
    e->p_fcw = m->nodes[head].p_weight;
    e->p_fcb = m->nodes[head].p_bias;
    e->clip = su->clip;
    e->packed = -1;
    if (nn_dnnl_open(&e->eng, &e->strm, su->threads, err, errlen) < 0) {
        rd_destroy(e);
        return -EIO;
    }
    size_t k = (size_t)su->max_batch * (size_t)e->classes;
    e->w = nn_alloc(m->n_weights, sizeof *e->w);
    e->g = nn_alloc(m->n_weights, sizeof *e->g);
    e->logits = nn_alloc(k, sizeof *e->logits);
    e->probs = nn_alloc(k, sizeof *e->probs);
    e->dz = nn_alloc(k, sizeof *e->dz);
    e->lay = calloc((size_t)e->L, sizeof *e->lay);
    int rc = e->w && e->g && e->logits && e->probs && e->dz && e->lay ? 0 : -ENOMEM;
    size_t H = (size_t)e->H, D = (size_t)e->D;
    for (int l = 0; l < e->L && rc == 0; l++) {
        rd_layer *ly = &e->lay[l];
        ly->in = l ? e->H * e->D : e->I;
        size_t nl = D * e->G * H * ly->in, ni = D * e->G * H * H, nb = D * e->Gb * H;
        ly->wl = nn_alloc(nl, sizeof(float));
        ly->wi = nn_alloc(ni, sizeof(float));
        ly->b = nn_alloc(nb, sizeof(float));
        ly->dwl = nn_alloc(nl, sizeof(float));
        ly->dwi = nn_alloc(ni, sizeof(float));
        ly->db = nn_alloc(nb, sizeof(float));
        if (!ly->wl || !ly->wi || !ly->b || !ly->dwl || !ly->dwi || !ly->db)
            rc = -ENOMEM;
    }
    if (rc < 0) {
        snprintf(err, errlen, "out of memory for the weights");
        rd_destroy(e);
        return rc;
    }
    memcpy(e->w, m->weights, m->n_weights * sizeof *e->w);
    memset(e->g, 0, m->n_weights * sizeof *e->g);
    if ((rc = nn_optim_init(&e->opt, su->optimizer, m->n_weights, su->lr, su->momentum,
                            su->weight_decay, err, errlen)) < 0) {
        rd_destroy(e);
        return rc;
    }
    /* The inference plan of the full batch and the training plan now, so
     * that a geometry oneDNN refuses fails setup and neither is made in a
     * timed pass (rnn.c's warm-up makes the single query's). */
    if (!plan_get(e, su->max_batch, 0) ||
        (su->train_batch > 0 && !plan_get(e, su->train_batch, 1))) {
        snprintf(err, errlen, "%s", e->err);
        rd_destroy(e);
        return -EIO;
    }
    *impl = e;
    return 0;
}

const nn_engine rnn_engine_onednn = {
    "onednn", rd_create, rd_train_step, rd_forward, rd_weights_to, rd_destroy, rd_gradients,
};
