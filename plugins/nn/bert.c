/*
 * BERT's encoder, heads, loss, optimiser and weights file (bert.h), on the
 * transformer core's layers. Everything heavier than O(N*H) is a GEMM of
 * the backend, so both kernel tables share this file.
 */
#include "bert.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BERT_LN_EPS 1e-12

#ifdef NN_DOUBLE
#define R_EXP exp
#define R_TANH tanh
#else
#define R_EXP expf
#define R_TANH tanhf
#endif

const char *const nn_bert_tensor_names[NN_BERT_NUM_TENSORS] = {
    "wte",  "wpe",  "wtt",  "lnew",    "lneb",    "qkvw", "qkvb",  "attow",
    "attob", "ln1w", "ln1b", "fcw",     "fcb",     "fcprojw", "fcprojb", "ln2w",
    "ln2b", "poolw", "poolb", "headw", "headb"};
/* Matrices and embeddings decay; LayerNorm and biases do not. */
const int nn_bert_tensor_decays[NN_BERT_NUM_TENSORS] = {1, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1,
                                                        0, 1, 0, 0, 0, 1, 0, 1, 0};

int nn_bert_config_check(const nn_bert_config *c, char *err, size_t errlen)
{
    const struct {
        const char *name;
        int v, lo, hi;
    } f[] = {{"vocab_size", c->vocab_size, 1, 1 << 21},  {"max_len", c->max_len, 1, 65536},
             {"type_vocab", c->type_vocab, 1, 1024},      {"num_layers", c->num_layers, 1, 1024},
             {"num_heads", c->num_heads, 1, 65536},       {"hidden", c->hidden, 1, 65536},
             {"ffn", c->ffn, 1, 1 << 18},                 {"head", (int)c->head, 0, 1},
             {"num_classes", c->num_classes, 2, 1 << 20}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (f[i].v < f[i].lo || f[i].v > f[i].hi) {
            snprintf(err, errlen, "BERT configuration: %s = %d, expected %d..%d", f[i].name,
                     f[i].v, f[i].lo, f[i].hi);
            return -EINVAL;
        }
    if (c->hidden % c->num_heads) {
        snprintf(err, errlen, "BERT configuration: num_heads = %d does not divide hidden = %d",
                 c->num_heads, c->hidden);
        return -EINVAL;
    }
    if (c->head == NN_BERT_HEAD_QA && c->num_classes != 2) {
        snprintf(err, errlen,
                 "BERT configuration: num_classes = %d, the qa head has 2 outputs (start, end)",
                 c->num_classes);
        return -EINVAL;
    }
    /* Sizes far beyond any real model are typos or hostile headers; these
     * bounds keep every product below within size_t and int. */
    double H = c->hidden, L = c->num_layers, F = c->ffn;
    if (((double)c->vocab_size + c->max_len + c->type_vocab) * H > 4e9 ||
        L * (4 * H * H + 2 * H * F) > 4e10 || (double)c->num_classes * H > 4e9) {
        snprintf(err, errlen,
                 "BERT configuration: V=%d max_len=%d S=%d L=%d H=%d F=%d K=%d: tensors beyond "
                 "this implementation's limits (embeddings and heads <= 4e9 elements, layers "
                 "<= 4e10)",
                 c->vocab_size, c->max_len, c->type_vocab, c->num_layers, c->hidden, c->ffn,
                 c->num_classes);
        return -EINVAL;
    }
    return 0;
}

size_t nn_bert_param_sizes(const nn_bert_config *c, size_t s[NN_BERT_NUM_TENSORS])
{
    size_t H = (size_t)c->hidden, L = (size_t)c->num_layers, F = (size_t)c->ffn;
    size_t K = (size_t)c->num_classes;
    size_t v[NN_BERT_NUM_TENSORS] = {(size_t)c->vocab_size * H,
                                     (size_t)c->max_len * H,
                                     (size_t)c->type_vocab * H,
                                     H,
                                     H,
                                     L * 3 * H * H,
                                     L * 3 * H,
                                     L * H * H,
                                     L * H,
                                     L * H,
                                     L * H,
                                     L * F * H,
                                     L * F,
                                     L * H * F,
                                     L * H,
                                     L * H,
                                     L * H,
                                     H * H,
                                     H,
                                     K * H,
                                     K};
    size_t total = 0;
    for (int i = 0; i < NN_BERT_NUM_TENSORS; i++)
        total += (s[i] = v[i]);
    return total;
}

static void params_view(nn_bert_params *p, nn_real *mem, const size_t *sizes)
{
    nn_real **ptrs[NN_BERT_NUM_TENSORS] = {
        &p->wte,  &p->wpe,  &p->wtt,  &p->lnew,    &p->lneb,    &p->qkvw,  &p->qkvb,
        &p->attow, &p->attob, &p->ln1w, &p->ln1b,  &p->fcw,     &p->fcb,   &p->fcprojw,
        &p->fcprojb, &p->ln2w, &p->ln2b, &p->poolw, &p->poolb,  &p->headw, &p->headb};
    for (int i = 0; i < NN_BERT_NUM_TENSORS; i++) {
        *ptrs[i] = mem;
        mem += sizes[i];
    }
}

/* ---- activations ------------------------------------------------------------ */

#define BERT_NUM_ACTS 24
typedef struct {
    nn_real *emb;                 /* [N,H] embeddings' sum */
    nn_real *x0;                  /* [N,H] after LN_emb */
    nn_real *lne_mean, *lne_rstd; /* [N] */
    nn_real *qkv;                 /* [L,N,3H] */
    nn_real *atty;                /* [L,N,H] attention's output */
    nn_real *att;                 /* [L,B,NH,T,T] probabilities */
    nn_real *attproj;             /* [L,N,H] */
    nn_real *res1;                /* [L,N,H] x + attproj */
    nn_real *x1;                  /* [L,N,H] LN_1 */
    nn_real *ln1_mean, *ln1_rstd; /* [L,N] */
    nn_real *fch, *fchg;          /* [L,N,F] before, after GELU */
    nn_real *fcproj;              /* [L,N,H] */
    nn_real *res2;                /* [L,N,H] x1 + fcproj */
    nn_real *x2;                  /* [L,N,H] LN_2: the layer's output */
    nn_real *ln2_mean, *ln2_rstd; /* [L,N] */
    nn_real *cls;                 /* [B,H] x_L[:, 0] */
    nn_real *pooled;              /* [B,H] tanh(cls W_pool^T + b) */
    nn_real *logits;              /* classify [B,K]; qa [N,2] */
    nn_real *probs;               /* the same shape */
} bert_acts;

/* Lays the activations of a (B, T) pass out in mem (NULL: only counts);
 * returns the elements. L_kept layers of per-layer activations: all of
 * them when training (backward reads them), one for inference, whose
 * layers then reuse it (BERT-base's 12 layers at 32 x 128 would hold 3 GB). */
static size_t acts_layout(const nn_bert_config *c, int L_kept, int B, int T, nn_real *mem,
                          bert_acts *a)
{
    size_t H = (size_t)c->hidden, L = (size_t)L_kept, F = (size_t)c->ffn;
    size_t NH = (size_t)c->num_heads, N = (size_t)B * (size_t)T, Bz = (size_t)B;
    size_t out = c->head == NN_BERT_HEAD_QA ? N * 2 : Bz * (size_t)c->num_classes;
    size_t sz[BERT_NUM_ACTS] = {N * H,     N * H,     N,     N,     L * N * 3 * H,
                                L * N * H, L * Bz * NH * (size_t)T * (size_t)T,
                                L * N * H, L * N * H, L * N * H, L * N, L * N,
                                L * N * F, L * N * F, L * N * H, L * N * H, L * N * H,
                                L * N,     L * N,     Bz * H, Bz * H, out, out, 0};
    nn_real **ptrs[BERT_NUM_ACTS] = {
        &a->emb,      &a->x0,     &a->lne_mean, &a->lne_rstd, &a->qkv,      &a->atty,
        &a->att,      &a->attproj, &a->res1,    &a->x1,       &a->ln1_mean, &a->ln1_rstd,
        &a->fch,      &a->fchg,   &a->fcproj,   &a->res2,     &a->x2,       &a->ln2_mean,
        &a->ln2_rstd, &a->cls,    &a->pooled,   &a->logits,   &a->probs,    NULL};
    size_t total = 0;
    for (int i = 0; i < BERT_NUM_ACTS; i++) {
        if (mem && ptrs[i])
            *ptrs[i] = mem + total;
        total += sz[i];
    }
    return total;
}

void nn_bert_free(nn_bert *m)
{
    nn_free(m->params_mem);
    nn_free(m->grads_mem);
    nn_free(m->m_mem);
    nn_free(m->v_mem);
    nn_free(m->acts_mem);
    nn_free(m->grads_acts_mem);
    nn_free(m->ids);
    nn_free(m->segments);
    nn_free(m->mask);
    nn_free(m->labels);
    memset(m, 0, sizeof *m);
}

int nn_bert_create(nn_bert *m, const nn_bert_config *cfg, const nn_backend *be, int max_B,
                   int max_T, int training, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    int rc = nn_bert_config_check(cfg, err, errlen);
    if (rc < 0)
        return rc;
    /* N * max(3H, F) must stay an int for the layers' row counts. */
    double widest = fmax(3.0 * cfg->hidden, (double)cfg->ffn);
    if (max_B < 1 || max_T < 1 || max_T > cfg->max_len ||
        (double)max_B * max_T * widest > (double)INT_MAX) {
        snprintf(err, errlen,
                 "BERT: batch %d x %d must be positive with T <= max_len = %d and B*T*max(3H, "
                 "F) within an int",
                 max_B, max_T, cfg->max_len);
        return -EINVAL;
    }
    m->cfg = *cfg;
    m->be = be;
    m->max_B = max_B;
    m->max_T = max_T;
    m->training = training;
    m->n_params = nn_bert_param_sizes(cfg, m->sizes);
    bert_acts a;
    m->n_acts = acts_layout(cfg, training ? cfg->num_layers : 1, max_B, max_T, NULL, &a);
    size_t N = (size_t)max_B * (size_t)max_T;
    m->params_mem = nn_alloc(m->n_params, sizeof(nn_real));
    m->acts_mem = nn_alloc(m->n_acts, sizeof(nn_real));
    m->ids = nn_alloc(N, sizeof *m->ids);
    m->segments = nn_alloc(N, sizeof *m->segments);
    m->mask = nn_alloc(N, sizeof *m->mask);
    m->labels = nn_alloc(2 * (size_t)max_B, sizeof *m->labels);
    int ok = m->params_mem && m->acts_mem && m->ids && m->segments && m->mask && m->labels;
    if (ok && training) {
        m->grads_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->m_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->v_mem = nn_alloc(m->n_params, sizeof(nn_real));
        m->grads_acts_mem = nn_alloc(m->n_acts, sizeof(nn_real));
        ok = m->grads_mem && m->m_mem && m->v_mem && m->grads_acts_mem;
    }
    if (!ok) {
        snprintf(err, errlen,
                 "BERT: out of memory for %zu parameters and %zu activations (batch %d x %d)%s",
                 m->n_params, m->n_acts, max_B, max_T, training ? ", with gradients" : "");
        nn_bert_free(m);
        return -ENOMEM;
    }
    params_view(&m->params, m->params_mem, m->sizes);
    if (training)
        params_view(&m->grads, m->grads_mem, m->sizes);
    m->mean_loss = -1;
    return 0;
}

void nn_bert_init_weights(nn_bert *m, uint64_t seed)
{
    nn_rng r;
    nn_rng_seed(&r, seed);
    nn_real *p = m->params_mem;
    for (int i = 0; i < NN_BERT_NUM_TENSORS; i++) {
        const char *nm = nn_bert_tensor_names[i];
        size_t n = m->sizes[i];
        if (!strcmp(nm, "lnew") || !strcmp(nm, "ln1w") || !strcmp(nm, "ln2w")) {
            for (size_t j = 0; j < n; j++)
                p[j] = 1;
        } else if (nn_bert_tensor_decays[i]) {
            for (size_t j = 0; j < n; j++)
                p[j] = (nn_real)(0.02 * nn_rng_normal(&r));
        } else {
            memset(p, 0, n * sizeof *p);
        }
        p += m->sizes[i];
    }
}

/* ---- QA's loss: start and end cross-entropies over each sequence's real
 * tokens. logits[B,T,2]; probs the same (0 on padding). -------------------- */

static double qa_xent_forward(int B, int T, const nn_real *logits, const int32_t *mask,
                              const int32_t *labels, nn_real *probs)
{
    double loss = 0;
    for (int b = 0; b < B; b++)
        for (int s = 0; s < 2; s++) {
            const nn_real *l = logits + (size_t)b * T * 2 + s;
            nn_real *p = probs + (size_t)b * T * 2 + s;
            const int32_t *mk = mask + (size_t)b * T;
            nn_real mx = -INFINITY;
            for (int t = 0; t < T; t++)
                if (mk[t] && l[2 * t] > mx)
                    mx = l[2 * t];
            double sum = 0;
            for (int t = 0; t < T; t++) {
                p[2 * t] = mk[t] ? R_EXP(l[2 * t] - mx) : 0;
                sum += p[2 * t];
            }
            nn_real inv = (nn_real)(1.0 / sum);
            for (int t = 0; t < T; t++)
                p[2 * t] *= inv;
            if (labels) /* log p from the logits: exact where p underflows */
                loss += log(sum) - (double)(l[2 * labels[2 * b + s]] - mx);
        }
    return loss / (2.0 * B);
}

/* dlogits += (probs - onehot) / (2B) */
static void qa_xent_backward(int B, int T, const nn_real *probs, const int32_t *labels,
                             nn_real *dlogits)
{
    nn_real inv = (nn_real)(1.0 / (2.0 * B));
    for (int b = 0; b < B; b++)
        for (int s = 0; s < 2; s++) {
            const nn_real *p = probs + (size_t)b * T * 2 + s;
            nn_real *d = dlogits + (size_t)b * T * 2 + s;
            int y = labels[2 * b + s];
            for (int t = 0; t < T; t++)
                d[2 * t] += (p[2 * t] - (t == y ? 1 : 0)) * inv;
        }
}

/* ---- forward and backward ----------------------------------------------------- */

void nn_bert_forward(nn_bert *m, const int32_t *ids, const int32_t *segments,
                     const int32_t *mask, const int32_t *labels, int B, int T)
{
    const nn_bert_config *c = &m->cfg;
    const nn_backend *be = m->be;
    int H = c->hidden, L = c->num_layers, NH = c->num_heads, F = c->ffn, K = c->num_classes;
    int N = B * T;
    size_t NHd = (size_t)N * H, NF = (size_t)N * F;
    m->B = B;
    m->T = T;
    memcpy(m->ids, ids, (size_t)N * sizeof *ids);
    memcpy(m->segments, segments, (size_t)N * sizeof *segments);
    memcpy(m->mask, mask, (size_t)N * sizeof *mask);
    m->have_labels = labels != NULL;
    int qa = c->head == NN_BERT_HEAD_QA;
    if (labels)
        memcpy(m->labels, labels, (size_t)(qa ? 2 * B : B) * sizeof *labels);
    bert_acts a;
    /* Without training, every layer works in layer 0's block: a layer's
     * input (the last one's x2) is read by its qkv product and its first
     * residual, before its own LN_2 overwrites x2. */
    int keep = m->training;
    acts_layout(c, keep ? L : 1, B, T, m->acts_mem, &a);
    const nn_bert_params *p = &m->params;

    nn_encoder_forward(B, T, H, ids, p->wte, p->wpe, a.emb);
    for (int n = 0; n < N; n++) {
        nn_real *o = a.emb + (size_t)n * H;
        const nn_real *te = p->wtt + (size_t)segments[n] * H;
        for (int i = 0; i < H; i++)
            o[i] += te[i];
    }
    nn_layernorm_forward_be(be, N, H, a.emb, p->lnew, p->lneb, BERT_LN_EPS, a.x0, a.lne_mean,
                            a.lne_rstd);
    for (int l = 0; l < L; l++) {
        size_t lh = (size_t)l * H, la = keep ? (size_t)l : 0, lN = la * N;
        const nn_real *x = l == 0 ? a.x0 : a.x2 + (keep ? (size_t)(l - 1) : 0) * NHd;
        nn_real *qkv = a.qkv + la * 3 * NHd, *atty = a.atty + la * NHd;
        nn_real *att = a.att + la * B * NH * T * T, *attproj = a.attproj + la * NHd;
        nn_real *res1 = a.res1 + la * NHd, *x1 = a.x1 + la * NHd;
        nn_real *fch = a.fch + la * NF, *fchg = a.fchg + la * NF;
        nn_real *fcproj = a.fcproj + la * NHd, *res2 = a.res2 + la * NHd, *x2 = a.x2 + la * NHd;
        nn_linear_forward(be, N, H, 3 * H, x, p->qkvw + lh * 3 * H, p->qkvb + 3 * lh, qkv);
        nn_attention_masked_forward(be, B, T, H, NH, qkv, mask, atty, att);
        nn_linear_forward(be, N, H, H, atty, p->attow + lh * H, p->attob + lh, attproj);
        nn_add_forward(NHd, x, attproj, res1);
        nn_layernorm_forward_be(be, N, H, res1, p->ln1w + lh, p->ln1b + lh, BERT_LN_EPS, x1,
                                a.ln1_mean + lN, a.ln1_rstd + lN);
        nn_linear_forward(be, N, H, F, x1, p->fcw + (size_t)l * F * H, p->fcb + (size_t)l * F,
                          fch);
        nn_gelu_erf_forward(NF, fch, fchg);
        nn_linear_forward(be, N, F, H, fchg, p->fcprojw + lh * F, p->fcprojb + lh, fcproj);
        nn_add_forward(NHd, x1, fcproj, res2);
        nn_layernorm_forward_be(be, N, H, res2, p->ln2w + lh, p->ln2b + lh, BERT_LN_EPS, x2,
                                a.ln2_mean + lN, a.ln2_rstd + lN);
    }
    const nn_real *xL = a.x2 + (keep ? (size_t)(L - 1) : 0) * NHd;
    double loss;
    if (qa) {
        /* The pooler feeds no qa output: skipped (its gradient is 0). */
        nn_linear_forward(be, N, H, 2, xL, p->headw, p->headb, a.logits);
        loss = qa_xent_forward(B, T, a.logits, mask, labels, a.probs);
    } else {
        for (int b = 0; b < B; b++)
            memcpy(a.cls + (size_t)b * H, xL + (size_t)b * T * H, (size_t)H * sizeof *xL);
        nn_linear_forward(be, B, H, H, a.cls, p->poolw, p->poolb, a.pooled);
        for (size_t i = 0; i < (size_t)B * H; i++)
            a.pooled[i] = R_TANH(a.pooled[i]);
        nn_linear_forward(be, B, H, K, a.pooled, p->headw, p->headb, a.logits);
        loss = labels ? nn_xent_forward(B, K, a.logits, labels, a.probs) : -1;
    }
    m->logits = a.logits;
    m->mean_loss = labels ? loss : -1;
}

void nn_bert_zero_grad(nn_bert *m)
{
    if (m->grads_mem)
        memset(m->grads_mem, 0, m->n_params * sizeof(nn_real));
}

void nn_bert_backward(nn_bert *m)
{
    if (!m->training || !m->have_labels)
        return;
    const nn_bert_config *c = &m->cfg;
    const nn_backend *be = m->be;
    int H = c->hidden, L = c->num_layers, NH = c->num_heads, F = c->ffn, K = c->num_classes;
    int B = m->B, T = m->T, N = B * T;
    size_t NHd = (size_t)N * H, NF = (size_t)N * F;
    bert_acts a, g;
    acts_layout(c, L, B, T, m->acts_mem, &a);
    size_t used = acts_layout(c, L, B, T, m->grads_acts_mem, &g);
    memset(m->grads_acts_mem, 0, used * sizeof(nn_real));
    const nn_bert_params *p = &m->params;
    nn_bert_params *dp = &m->grads;

    const nn_real *xL = a.x2 + (L - 1) * NHd;
    nn_real *dxL = g.x2 + (L - 1) * NHd;
    if (c->head == NN_BERT_HEAD_QA) {
        qa_xent_backward(B, T, a.probs, m->labels, g.logits);
        nn_linear_backward(be, N, H, 2, xL, p->headw, g.logits, dxL, dp->headw, dp->headb);
    } else {
        nn_xent_backward(B, K, a.probs, m->labels, g.logits);
        nn_linear_backward(be, B, H, K, a.pooled, p->headw, g.logits, g.pooled, dp->headw,
                           dp->headb);
        for (size_t i = 0; i < (size_t)B * H; i++) /* tanh' = 1 - tanh^2, in place */
            g.pooled[i] *= 1 - a.pooled[i] * a.pooled[i];
        nn_linear_backward(be, B, H, H, a.cls, p->poolw, g.pooled, g.cls, dp->poolw,
                           dp->poolb);
        for (int b = 0; b < B; b++) {
            nn_real *d = dxL + (size_t)b * T * H;
            const nn_real *s = g.cls + (size_t)b * H;
            for (int i = 0; i < H; i++)
                d[i] += s[i];
        }
    }
    for (int l = L - 1; l >= 0; l--) {
        size_t lh = (size_t)l * H, lN = (size_t)l * N;
        const nn_real *x = l == 0 ? a.x0 : a.x2 + (l - 1) * NHd;
        nn_real *dx = l == 0 ? g.x0 : g.x2 + (l - 1) * NHd;
        nn_layernorm_backward_be(be, N, H, a.res2 + l * NHd, p->ln2w + lh, a.ln2_mean + lN,
                                 a.ln2_rstd + lN, BERT_LN_EPS, g.x2 + l * NHd, g.res2 + l * NHd,
                                 dp->ln2w + lh, dp->ln2b + lh);
        /* res2 = x1 + fcproj */
        nn_add_backward(NHd, g.res2 + l * NHd, g.x1 + l * NHd, g.fcproj + l * NHd);
        nn_linear_backward(be, N, F, H, a.fchg + l * NF, p->fcprojw + lh * F, g.fcproj + l * NHd,
                           g.fchg + l * NF, dp->fcprojw + lh * F, dp->fcprojb + lh);
        nn_gelu_erf_backward(NF, a.fch + l * NF, g.fchg + l * NF, g.fch + l * NF);
        nn_linear_backward(be, N, H, F, a.x1 + l * NHd, p->fcw + (size_t)l * F * H,
                           g.fch + l * NF, g.x1 + l * NHd, dp->fcw + (size_t)l * F * H,
                           dp->fcb + (size_t)l * F);
        nn_layernorm_backward_be(be, N, H, a.res1 + l * NHd, p->ln1w + lh, a.ln1_mean + lN,
                                 a.ln1_rstd + lN, BERT_LN_EPS, g.x1 + l * NHd, g.res1 + l * NHd,
                                 dp->ln1w + lh, dp->ln1b + lh);
        /* res1 = x + attproj */
        nn_add_backward(NHd, g.res1 + l * NHd, dx, g.attproj + l * NHd);
        nn_linear_backward(be, N, H, H, a.atty + l * NHd, p->attow + lh * H, g.attproj + l * NHd,
                           g.atty + l * NHd, dp->attow + lh * H, dp->attob + lh);
        /* The layer's datt block is free scratch: the gradient flows
         * through qkv only. */
        nn_attention_masked_backward(be, B, T, H, NH, a.qkv + l * 3 * NHd,
                                     a.att + (size_t)l * B * NH * T * T, g.atty + l * NHd,
                                     g.qkv + l * 3 * NHd, g.att + (size_t)l * B * NH * T * T);
        nn_linear_backward(be, N, H, 3 * H, x, p->qkvw + lh * 3 * H, g.qkv + l * 3 * NHd, dx,
                           dp->qkvw + lh * 3 * H, dp->qkvb + 3 * lh);
    }
    nn_layernorm_backward_be(be, N, H, a.emb, p->lnew, a.lne_mean, a.lne_rstd, BERT_LN_EPS, g.x0,
                             g.emb, dp->lnew, dp->lneb);
    nn_encoder_backward(B, T, H, m->ids, g.emb, dp->wte, dp->wpe);
    for (int n = 0; n < N; n++) {
        const nn_real *d = g.emb + (size_t)n * H;
        nn_real *dt = dp->wtt + (size_t)m->segments[n] * H;
        for (int i = 0; i < H; i++)
            dt[i] += d[i];
    }
}

double nn_bert_clip_grad(nn_bert *m, double max_norm)
{
    if (!m->grads_mem)
        return 0;
    if (max_norm > 0)
        return nn_clip_grad_norm(m->grads_mem, m->n_params, max_norm);
    /* 0: no clipping (nn_clip_grad_norm would scale by 0), the norm only */
    double ss = 0;
    for (size_t i = 0; i < m->n_params; i++)
        ss += (double)m->grads_mem[i] * (double)m->grads_mem[i];
    return sqrt(ss);
}

void nn_bert_adamw_step(nn_bert *m, const nn_adamw *o)
{
    if (!m->training)
        return;
    m->adam_step++;
    nn_adamw_apply(o, m->adam_step, NN_BERT_NUM_TENSORS, m->sizes, nn_bert_tensor_decays,
                   m->params_mem, m->grads_mem, m->m_mem, m->v_mem);
}

double nn_bert_lr(double lr, int step, int warmup, int total)
{
    if (step < warmup)
        return lr * (double)step / (double)(warmup > 1 ? warmup : 1);
    int span = total - warmup > 1 ? total - warmup : 1;
    double f = (double)(total - step) / (double)span;
    return lr * (f > 0 ? f : 0);
}

/* ---- the weights file --------------------------------------------------------- */

#define HDR_BYTES (NN_BERT_HEADER_INTS * 4)

static void config_str(const nn_bert_config *c, char *buf, size_t n)
{
    snprintf(buf, n, "V=%d max_len=%d S=%d L=%d NH=%d H=%d F=%d head=%s K=%d", c->vocab_size,
             c->max_len, c->type_vocab, c->num_layers, c->num_heads, c->hidden, c->ffn,
             c->head == NN_BERT_HEAD_QA ? "qa" : "classify", c->num_classes);
}

int nn_bert_parse_header(const void *data, size_t len, nn_bert_config *cfg, char *err,
                         size_t errlen)
{
    const unsigned char *p = data;
    if (len < HDR_BYTES) {
        snprintf(err, errlen, "BERT weights: %zu bytes, shorter than the %d-byte header", len,
                 HDR_BYTES);
        return -EINVAL;
    }
    int32_t magic = nn_le32(p), version = nn_le32(p + 4);
    if (magic != NN_BERT_MAGIC) {
        snprintf(err, errlen, "BERT weights: magic %d, expected %d (an nn_bert weights file)",
                 magic, NN_BERT_MAGIC);
        return -EINVAL;
    }
    if (version != NN_BERT_VERSION) {
        snprintf(err, errlen, "BERT weights: version %d, only version %d is read", version,
                 NN_BERT_VERSION);
        return -EINVAL;
    }
    for (int i = 11; i < NN_BERT_HEADER_INTS; i++)
        if (nn_le32(p + 4 * i) != 0) {
            snprintf(err, errlen,
                     "BERT weights: header int %d is %d; ints 11..%d are reserved and must be 0",
                     i, nn_le32(p + 4 * i), NN_BERT_HEADER_INTS - 1);
            return -EINVAL;
        }
    nn_bert_config c = {.vocab_size = nn_le32(p + 8),
                        .max_len = nn_le32(p + 12),
                        .type_vocab = nn_le32(p + 16),
                        .num_layers = nn_le32(p + 20),
                        .num_heads = nn_le32(p + 24),
                        .hidden = nn_le32(p + 28),
                        .ffn = nn_le32(p + 32),
                        .num_classes = nn_le32(p + 40)};
    int32_t head = nn_le32(p + 36);
    if (head != NN_BERT_HEAD_CLASSIFY && head != NN_BERT_HEAD_QA) {
        snprintf(err, errlen, "BERT weights: head = %d, expected 0 (classify) or 1 (qa)", head);
        return -EINVAL;
    }
    c.head = (nn_bert_head)head;
    char msg[384];
    int rc = nn_bert_config_check(&c, msg, sizeof msg);
    if (rc < 0) {
        snprintf(err, errlen, "BERT weights: header: %s", msg);
        return rc;
    }
    size_t sizes[NN_BERT_NUM_TENSORS];
    size_t want = nn_bert_param_sizes(&c, sizes);
    size_t have = len - HDR_BYTES;
    if (have / 4 < want || have != want * 4) {
        char cs[256];
        config_str(&c, cs, sizeof cs);
        snprintf(err, errlen,
                 "BERT weights: %zu bytes of tensors, but %s needs %zu float32 (%zu bytes): %s",
                 have, cs, want, want * 4, have < want * 4 ? "truncated" : "trailing bytes");
        return -EINVAL;
    }
    if (cfg)
        *cfg = c;
    return 0;
}

int nn_bert_parse(nn_bert *m, const void *data, size_t len, char *err, size_t errlen)
{
    nn_bert_config c;
    int rc = nn_bert_parse_header(data, len, &c, err, errlen);
    if (rc < 0)
        return rc;
    if (memcmp(&c, &m->cfg, sizeof c)) {
        char fs[256], ms[256];
        config_str(&c, fs, sizeof fs);
        config_str(&m->cfg, ms, sizeof ms);
        snprintf(err, errlen, "BERT weights: the file is %s, but the model is %s", fs, ms);
        return -EINVAL;
    }
    return nn_params_decode(m->params_mem, (const unsigned char *)data + HDR_BYTES, m->sizes,
                            NN_BERT_NUM_TENSORS, nn_bert_tensor_names, "BERT weights", err,
                            errlen);
}

static int header_cb(void *cfg, const unsigned char *data, size_t len, char *err, size_t errlen)
{
    return nn_bert_parse_header(data, len, cfg, err, errlen);
}

static int parse_cb(void *m, const unsigned char *data, size_t len, char *err, size_t errlen)
{
    return nn_bert_parse(m, data, len, err, errlen);
}

int nn_bert_read_config(const char *path, nn_bert_config *cfg, char *err, size_t errlen)
{
    return nn_file_parse(path, HDR_BYTES, header_cb, cfg, err, errlen);
}

int nn_bert_load(nn_bert *m, const char *path, char *err, size_t errlen)
{
    return nn_file_parse(path, 0, parse_cb, m, err, errlen);
}

int nn_bert_save(const nn_bert *m, const char *path, char *err, size_t errlen)
{
    const nn_bert_config *c = &m->cfg;
    int32_t v[11] = {NN_BERT_MAGIC, NN_BERT_VERSION, c->vocab_size, c->max_len,
                     c->type_vocab,  c->num_layers,   c->num_heads,  c->hidden,
                     c->ffn,         (int32_t)c->head, c->num_classes};
    return nn_params_save(path, v, 11, HDR_BYTES, m->params_mem, m->n_params, err, errlen);
}
