/*
 * Unit tests of the NN core's BERT encoder (plugins/nn/bert.c and its
 * layers in transformer.c), against the float64 build: every tensor's
 * gradient, for both heads and both kernel tables, against central finite
 * differences on batches with padding; the padding mask's effect (masked
 * keys get probability 0, a padded token changes no real output); the
 * layers against direct formulas; AdamW and the schedule against hand
 * computations; the weights file round-tripped and refused when broken.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bert.h"

#ifndef NN_DOUBLE
#error "test_bert checks gradients in double precision: build it against nn64"
#endif

#define FD_STEP 1e-5
#define FD_RTOL 1e-6
#define FD_ATOL 1e-9
#define FD_SAMPLES 40

static const nn_kernels *const variants[] = {&nn_kernels_naive, &nn_kernels_openblas};

static nn_backend backend(int v)
{
    nn_backend be;
    char err[256];
    ck_assert_msg(nn_backend_init(&be, variants[v], 1, err, sizeof err) == 0, "%s", err);
    return be;
}

static void fill(nn_real *p, size_t n, nn_rng *r, double scale)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (nn_real)((2 * nn_rng_uniform(r) - 1) * scale);
}

static nn_real *arr(size_t n, nn_rng *r, double scale)
{
    nn_real *p = nn_alloc(n, sizeof *p);
    ck_assert_ptr_nonnull(p);
    fill(p, n, r, scale);
    return p;
}

static double dot(const nn_real *a, const nn_real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

typedef double (*objective_fn)(void *ctx);

/* Compares g[i] with the central difference of f at sampled i of x (all
 * of them for small tensors). */
static void fd_check(const char *what, nn_real *x, const nn_real *g, size_t n, objective_fn f,
                     void *ctx, int *nonzero)
{
    size_t stride = n > 4 * FD_SAMPLES ? n / FD_SAMPLES : 1;
    for (size_t i = (n > 4 * FD_SAMPLES ? (size_t)3 % stride : 0); i < n; i += stride) {
        nn_real keep = x[i];
        x[i] = keep + FD_STEP;
        double fp = f(ctx);
        x[i] = keep - FD_STEP;
        double fm = f(ctx);
        x[i] = keep;
        double num = (fp - fm) / (2 * FD_STEP);
        double tol = FD_RTOL * fmax(fabs(num), fabs((double)g[i])) + FD_ATOL;
        ck_assert_msg(fabs(num - (double)g[i]) <= tol, "%s[%zu]: analytic %.12g, numeric %.12g",
                      what, i, (double)g[i], num);
        if (fabs(num) > 1e-7 && nonzero)
            *nonzero = 1;
    }
}

/* ---- the model ------------------------------------------------------------- */

enum { TB = 3, TT = 6, TV = 20 };

static nn_bert_config tiny_cfg(nn_bert_head head)
{
    nn_bert_config c = {.vocab_size = TV, .max_len = 8, .type_vocab = 2, .num_layers = 2,
                        .num_heads = 2, .hidden = 8, .ffn = 12, .head = head,
                        .num_classes = head == NN_BERT_HEAD_QA ? 2 : 3};
    return c;
}

/* A batch with padding: sequence 0 full, 1 padded at the end, 2 with a
 * hole in the middle as well (the mask is honoured wherever it is). */
static const int32_t b_ids[TB * TT] = {1, 5, 7, 9, 3, 2, 1, 4, 4, 8, 0, 0, 1, 6, 11, 2, 0, 0};
static const int32_t b_seg[TB * TT] = {0, 0, 0, 1, 1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 1, 1, 0, 0};
static const int32_t b_mask[TB * TT] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0};
static const int32_t b_cls[TB] = {2, 0, 1};
static const int32_t b_qa[2 * TB] = {1, 4, 2, 3, 1, 3}; /* on real tokens */

static void make_model(nn_bert *m, const nn_backend *be, nn_bert_head head, int training,
                       uint64_t seed)
{
    char err[512];
    nn_bert_config c = tiny_cfg(head);
    ck_assert_msg(nn_bert_create(m, &c, be, TB, TT, training, err, sizeof err) == 0, "%s", err);
    nn_bert_init_weights(m, seed);
    /* Larger weights than BERT's 0.02, so that every path carries a
     * gradient well above the finite differences' noise. */
    nn_rng r;
    nn_rng_seed(&r, seed + 100);
    size_t at = 0;
    for (int t = 0; t < NN_BERT_NUM_TENSORS; t++) {
        const char *nm = nn_bert_tensor_names[t];
        int gain = nm[0] == 'l' && nm[1] == 'n' && nm[strlen(nm) - 1] == 'w';
        for (size_t i = 0; i < m->sizes[t]; i++)
            m->params_mem[at + i] =
                (nn_real)((gain ? 1 : 0) + (2 * nn_rng_uniform(&r) - 1) * 0.4);
        at += m->sizes[t];
    }
}

static const int32_t *labels_of(nn_bert_head head)
{
    return head == NN_BERT_HEAD_QA ? b_qa : b_cls;
}

typedef struct {
    nn_bert *m;
    int B, T;
    int32_t ids[TB * TT], seg[TB * TT], mask[TB * TT];
} model_case;

/* The first B rows and T columns of the batch above (B <= TB, T <= TT). */
static void model_case_init(model_case *c, nn_bert *m, int B, int T)
{
    c->m = m;
    c->B = B;
    c->T = T;
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            c->ids[b * T + t] = b_ids[b * TT + t];
            c->seg[b * T + t] = b_seg[b * TT + t];
            c->mask[b * T + t] = b_mask[b * TT + t];
        }
}

static double model_obj(void *p)
{
    model_case *c = p;
    nn_bert_forward(c->m, c->ids, c->seg, c->mask, labels_of(c->m->cfg.head), c->B, c->T);
    return c->m->mean_loss;
}

/* _i: bit 0 the kernel table, bit 1 the head, bit 2 a smaller batch
 * (B=2, T=5) than the model's maximum (3 x 6). */
START_TEST(test_bert_grad)
{
    nn_bert_head head = (nn_bert_head)((_i >> 1) & 1);
    nn_backend be = backend(_i & 1);
    nn_bert m;
    make_model(&m, &be, head, 1, 7);
    model_case c;
    model_case_init(&c, &m, _i & 4 ? 2 : TB, _i & 4 ? 5 : TT);
    double loss = model_obj(&c);
    ck_assert(loss > 0 && isfinite(loss));
    nn_bert_zero_grad(&m);
    nn_bert_backward(&m);
    nn_real *g = nn_alloc(m.n_params, sizeof *g);
    memcpy(g, m.grads_mem, m.n_params * sizeof *g);
    size_t at = 0;
    for (int t = 0; t < NN_BERT_NUM_TENSORS; t++) {
        const char *nm = nn_bert_tensor_names[t];
        int nonzero = 0;
        fd_check(nm, m.params_mem + at, g + at, m.sizes[t], model_obj, &c, &nonzero);
        /* Every tensor matters, except, for qa, the pooler, which feeds
         * no per-token output, and the head's bias, which shifts every
         * position's logit alike and so cancels in each softmax. */
        int idle = !strcmp(nm, "poolw") || !strcmp(nm, "poolb") || !strcmp(nm, "headb");
        if (head == NN_BERT_HEAD_QA && idle) {
            for (size_t i = 0; i < m.sizes[t]; i++)
                ck_assert(fabs((double)g[at + i]) < 1e-15);
        } else {
            ck_assert_msg(nonzero, "%s: no sampled entry has a gradient", nm);
        }
        at += m.sizes[t];
    }
    /* Backward accumulates: twice gives twice. */
    model_obj(&c);
    nn_bert_backward(&m);
    for (size_t i = 0; i < m.n_params; i += 17)
        ck_assert(fabs((double)m.grads_mem[i] - 2 * (double)g[i]) <= 1e-12 + 1e-12 * fabs(g[i]));
    nn_free(g);
    nn_bert_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* Padded tokens are invisible: a different id, segment or embedding row at
 * a padded position changes no real position's output, nor the loss. */
START_TEST(test_bert_padding_invisible)
{
    nn_bert_head head = (nn_bert_head)(_i / 2);
    nn_backend be = backend(_i % 2);
    nn_bert m;
    make_model(&m, &be, head, 0, 9);
    const int32_t *lab = labels_of(head);
    int K = head == NN_BERT_HEAD_QA ? TT * 2 : m.cfg.num_classes;
    nn_real ref[TB * TT * 2];
    nn_bert_forward(&m, b_ids, b_seg, b_mask, lab, TB, TT);
    double loss = m.mean_loss;
    memcpy(ref, m.logits, (size_t)TB * K * sizeof *ref);
    int32_t ids[TB * TT], seg[TB * TT];
    memcpy(ids, b_ids, sizeof ids);
    memcpy(seg, b_seg, sizeof seg);
    for (int i = 0; i < TB * TT; i++)
        if (!b_mask[i]) {
            ids[i] = 19; /* a token no real position uses */
            seg[i] = 1;
        }
    for (int round = 0; round < 2; round++) {
        if (round == 1) /* and that token's embedding changed */
            for (int h = 0; h < m.cfg.hidden; h++)
                m.params.wte[19 * m.cfg.hidden + h] += 3;
        nn_bert_forward(&m, ids, seg, b_mask, lab, TB, TT);
        ck_assert_msg(m.mean_loss == loss, "loss %.17g, was %.17g", m.mean_loss, loss);
        for (int b = 0; b < TB; b++)
            for (int k = 0; k < K; k++) {
                int t = k / 2;
                if (head == NN_BERT_HEAD_QA && !b_mask[b * TT + t])
                    continue;
                ck_assert(m.logits[b * K + k] == ref[b * K + k]);
            }
    }
    /* While a real token's change does change the loss. */
    ids[1] = 19;
    nn_bert_forward(&m, ids, seg, b_mask, lab, TB, TT);
    ck_assert(m.mean_loss != loss);
    nn_bert_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* Forward without labels: the same logits, no loss; and naive and
 * openblas agree. */
START_TEST(test_bert_kernels_agree)
{
    for (int head = 0; head < 2; head++) {
        nn_backend b0 = backend(0), b1 = backend(1);
        nn_bert m0, m1;
        make_model(&m0, &b0, (nn_bert_head)head, 0, 11);
        make_model(&m1, &b1, (nn_bert_head)head, 0, 11);
        int K = head == NN_BERT_HEAD_QA ? TT * 2 : m0.cfg.num_classes;
        nn_bert_forward(&m0, b_ids, b_seg, b_mask, labels_of((nn_bert_head)head), TB, TT);
        nn_real ref[TB * TT * 2];
        memcpy(ref, m0.logits, (size_t)TB * K * sizeof *ref);
        nn_bert_forward(&m0, b_ids, b_seg, b_mask, NULL, TB, TT);
        ck_assert(m0.mean_loss == -1);
        nn_bert_forward(&m1, b_ids, b_seg, b_mask, NULL, TB, TT);
        for (int i = 0; i < TB * K; i++) {
            ck_assert(m0.logits[i] == ref[i]);
            ck_assert_msg(fabs((double)m0.logits[i] - (double)m1.logits[i]) < 1e-12,
                          "logit %d: naive %.15g openblas %.15g", i, (double)m0.logits[i],
                          (double)m1.logits[i]);
        }
        /* An inference model reuses one layer's activations for all its
         * layers; a training model keeps each: the same logits. */
        nn_bert mt;
        make_model(&mt, &b0, (nn_bert_head)head, 1, 11);
        ck_assert(mt.n_acts > m0.n_acts);
        nn_bert_forward(&mt, b_ids, b_seg, b_mask, NULL, TB, TT);
        for (int i = 0; i < TB * K; i++)
            ck_assert(mt.logits[i] == m0.logits[i]);
        nn_bert_free(&mt);
        /* A shorter batch in the same model. */
        nn_bert_forward(&m1, b_ids, b_seg, b_mask, NULL, 2, TT);
        nn_bert_free(&m0);
        nn_bert_free(&m1);
        nn_backend_release(&b0);
        nn_backend_release(&b1);
    }
}
END_TEST

/* ---- the layers on their own ------------------------------------------------- */

typedef struct {
    const nn_backend *be;
    int B, T, C, NH;
    const int32_t *mask;
    nn_real *qkv, *out, *att, *r;
} att_case;

static double att_obj(void *p)
{
    att_case *c = p;
    nn_attention_masked_forward(c->be, c->B, c->T, c->C, c->NH, c->qkv, c->mask, c->out,
                                c->att);
    return dot(c->out, c->r, (size_t)c->B * c->T * c->C);
}

START_TEST(test_masked_attention)
{
    nn_backend be = backend(_i);
    nn_rng r;
    nn_rng_seed(&r, 3);
    enum { B = 3, T = 5, C = 6, NH = 2, hs = C / NH };
    static const int32_t mask[B * T] = {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 0, 1, 0, 1};
    att_case c = {.be = &be, .B = B, .T = T, .C = C, .NH = NH, .mask = mask};
    size_t n3 = (size_t)B * T * 3 * C, n = (size_t)B * T * C;
    c.qkv = arr(n3, &r, 1.5);
    c.out = arr(n, &r, 0);
    c.att = arr((size_t)B * NH * T * T, &r, 0);
    c.r = arr(n, &r, 1);
    nn_real *dqkv = arr(n3, &r, 0), *scratch = arr((size_t)T * T, &r, 0);
    att_obj(&c);
    /* Against a direct loop: softmax over the real keys of q.k/sqrt(hs). */
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const nn_real *q = c.qkv + ((size_t)b * T + t) * 3 * C + h * hs;
                double s[T], mx = -INFINITY, sum = 0;
                for (int j = 0; j < T; j++) {
                    const nn_real *k = c.qkv + ((size_t)b * T + j) * 3 * C + C + h * hs;
                    s[j] = 0;
                    for (int i = 0; i < hs; i++)
                        s[j] += (double)q[i] * (double)k[i];
                    s[j] /= sqrt((double)hs);
                    if (mask[b * T + j] && s[j] > mx)
                        mx = s[j];
                }
                for (int j = 0; j < T; j++)
                    sum += (s[j] = mask[b * T + j] ? exp(s[j] - mx) : 0);
                for (int j = 0; j < T; j++) {
                    double a = (double)c.att[(((size_t)b * NH + h) * T + t) * T + j];
                    if (!mask[b * T + j])
                        ck_assert(a == 0); /* exactly */
                    ck_assert_msg(fabs(a - s[j] / sum) < 1e-14, "att %g vs %g", a, s[j] / sum);
                }
                for (int i = 0; i < hs; i++) {
                    double o = 0;
                    for (int j = 0; j < T; j++)
                        o += s[j] / sum *
                             (double)c.qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * hs + i];
                    ck_assert(fabs(o - (double)c.out[((size_t)b * T + t) * C + h * hs + i]) <
                              1e-13);
                }
            }
    nn_attention_masked_backward(&be, B, T, C, NH, c.qkv, c.att, c.r, dqkv, scratch);
    fd_check("dqkv", c.qkv, dqkv, n3, att_obj, &c, NULL);
    /* No mask: every key counts. */
    nn_attention_masked_forward(&be, B, T, C, NH, c.qkv, NULL, c.out, c.att);
    for (size_t i = 0; i < (size_t)B * NH * T * T; i++)
        ck_assert(c.att[i] > 0);
    nn_free(c.qkv), nn_free(c.out), nn_free(c.att), nn_free(c.r), nn_free(dqkv);
    nn_free(scratch);
    nn_backend_release(&be);
}
END_TEST

typedef struct {
    size_t n;
    nn_real *x, *y, *r;
} gelu_case;

static double gelu_obj(void *p)
{
    gelu_case *c = p;
    nn_gelu_erf_forward(c->n, c->x, c->y);
    return dot(c->y, c->r, c->n);
}

START_TEST(test_gelu_erf)
{
    nn_rng r;
    nn_rng_seed(&r, 4);
    gelu_case c = {.n = 64};
    c.x = arr(c.n, &r, 6);
    c.x[0] = 0;
    c.x[1] = -30; /* the tails: 0 and x */
    c.x[2] = 30;
    c.y = arr(c.n, &r, 0);
    c.r = arr(c.n, &r, 1);
    gelu_obj(&c);
    for (size_t i = 0; i < c.n; i++) {
        double x = (double)c.x[i];
        double want = 0.5 * x * erfc(-x / sqrt(2.0)); /* x Phi(x), another route */
        ck_assert_msg(fabs((double)c.y[i] - want) <= 1e-15 * fmax(1, fabs(x)), "gelu(%g)", x);
    }
    ck_assert(c.y[0] == 0 && fabs((double)c.y[1]) < 1e-100 && c.y[2] == 30);
    nn_real *dx = arr(c.n, &r, 0);
    nn_gelu_erf_backward(c.n, c.x, c.r, dx);
    fd_check("gelu_erf dx", c.x, dx, c.n, gelu_obj, &c, NULL);
    nn_free(c.x), nn_free(c.y), nn_free(c.r), nn_free(dx);
}
END_TEST

START_TEST(test_layernorm_eps)
{
    nn_rng r;
    nn_rng_seed(&r, 5);
    enum { N = 3, C = 6 };
    nn_real *x = arr(N * C, &r, 1e-4), *w = arr(C, &r, 1), *b = arr(C, &r, 1);
    nn_real *o1 = arr(N * C, &r, 0), *o2 = arr(N * C, &r, 0), mean[N], rstd[N], m2[N], s2[N];
    /* The old entry point is eps 1e-5, bit for bit. */
    nn_layernorm_forward(N, C, x, w, b, o1, mean, rstd);
    nn_layernorm_forward_eps(N, C, x, w, b, 1e-5, o2, m2, s2);
    ck_assert(!memcmp(o1, o2, sizeof(nn_real) * N * C));
    /* With a variance of ~1e-9 the epsilon matters: BERT's 1e-12. */
    nn_layernorm_forward_eps(N, C, x, w, b, 1e-12, o2, m2, s2);
    for (int n = 0; n < N; n++) {
        double m = 0, v = 0;
        for (int i = 0; i < C; i++)
            m += (double)x[n * C + i] / C;
        for (int i = 0; i < C; i++)
            v += ((double)x[n * C + i] - m) * ((double)x[n * C + i] - m) / C;
        double s = 1 / sqrt(v + 1e-12);
        ck_assert(fabs((double)s2[n] - s) <= 1e-12 * s);
        ck_assert(fabs((double)rstd[n] - 1 / sqrt(v + 1e-5)) <= 1e-12 * (double)rstd[n]);
        for (int i = 0; i < C; i++)
            ck_assert(fabs((double)o2[n * C + i] -
                           (((double)x[n * C + i] - m) * s * (double)w[i] + (double)b[i])) <
                      1e-10);
    }
    nn_free(x), nn_free(w), nn_free(b), nn_free(o1), nn_free(o2);
}
END_TEST

/* ---- optimiser, schedule --------------------------------------------------- */

START_TEST(test_bert_adamw_clip)
{
    nn_backend be = backend(0);
    nn_bert m;
    make_model(&m, &be, NN_BERT_HEAD_CLASSIFY, 1, 13);
    nn_adamw o = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.999, .eps = 1e-6, .weight_decay = 0.1};
    size_t n = m.n_params;
    double *w = malloc(n * sizeof *w), *mm = calloc(n, sizeof *mm), *vv = calloc(n, sizeof *vv);
    int *dec = malloc(n * sizeof *dec);
    size_t at = 0;
    for (int t = 0; t < NN_BERT_NUM_TENSORS; t++)
        for (size_t i = 0; i < m.sizes[t]; i++)
            dec[at++] = nn_bert_tensor_decays[t];
    for (size_t i = 0; i < n; i++)
        w[i] = (double)m.params_mem[i];
    nn_rng r;
    nn_rng_seed(&r, 14);
    for (int step = 1; step <= 3; step++) {
        fill(m.grads_mem, n, &r, 1);
        for (size_t i = 0; i < n; i++) {
            double g = (double)m.grads_mem[i];
            mm[i] = 0.9 * mm[i] + 0.1 * g;
            vv[i] = 0.999 * vv[i] + 0.001 * g * g;
            double mh = mm[i] / (1 - pow(0.9, step)), vh = vv[i] / (1 - pow(0.999, step));
            w[i] = w[i] * (1 - (dec[i] ? o.lr * o.weight_decay : 0)) - o.lr * mh / (sqrt(vh) + 1e-6);
        }
        nn_bert_adamw_step(&m, &o);
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(fabs((double)m.params_mem[i] - w[i]) < 1e-12, "w[%zu] step %d", i,
                          step);
    }
    /* The decay set: matrices and embeddings, not LayerNorm nor biases. */
    static const char *const decayed[] = {"wte", "wpe", "wtt", "qkvw", "attow",
                                          "fcw", "fcprojw", "poolw", "headw"};
    for (int t = 0; t < NN_BERT_NUM_TENSORS; t++) {
        int want = 0;
        for (size_t k = 0; k < sizeof decayed / sizeof decayed[0]; k++)
            want |= !strcmp(decayed[k], nn_bert_tensor_names[t]);
        ck_assert_msg(nn_bert_tensor_decays[t] == want, "%s", nn_bert_tensor_names[t]);
    }
    /* Clipping: the norm before, and the norm after is max_norm. */
    double ss0 = 0;
    for (size_t i = 0; i < n; i++) {
        m.grads_mem[i] = (nn_real)(i % 2 ? 3 : -4) / (nn_real)sqrt((double)n);
        ss0 += (double)m.grads_mem[i] * (double)m.grads_mem[i];
    }
    double before = nn_bert_clip_grad(&m, 1.0);
    ck_assert(fabs(before - sqrt(ss0)) < 1e-12 && before > 3);
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        ss += (double)m.grads_mem[i] * (double)m.grads_mem[i];
    ck_assert(fabs(sqrt(ss) - 1.0 / (1 + 1e-6 / before)) < 1e-9);
    /* max_norm 0: the norm, and no clipping at all. */
    nn_real g5 = m.grads_mem[5];
    ck_assert(fabs(nn_bert_clip_grad(&m, 0) - sqrt(ss)) < 1e-12);
    ck_assert(m.grads_mem[5] == g5 && g5 != 0);
    ck_assert(fabs(nn_bert_clip_grad(&m, 1e9) - sqrt(ss)) < 1e-12); /* below: unchanged */
    ck_assert(m.grads_mem[5] == g5);
    free(w), free(mm), free(vv), free(dec);
    nn_bert_free(&m);
    nn_backend_release(&be);
}
END_TEST

START_TEST(test_bert_lr)
{
    /* transformers' get_linear_schedule_with_warmup(warmup 10, total 110) */
    ck_assert(nn_bert_lr(1.0, 0, 10, 110) == 0);
    ck_assert(fabs(nn_bert_lr(1.0, 5, 10, 110) - 0.5) < 1e-15);
    ck_assert(fabs(nn_bert_lr(2.0, 10, 10, 110) - 2.0) < 1e-15); /* the peak */
    ck_assert(fabs(nn_bert_lr(1.0, 60, 10, 110) - 0.5) < 1e-15);
    ck_assert(fabs(nn_bert_lr(1.0, 109, 10, 110) - 0.01) < 1e-15);
    ck_assert(nn_bert_lr(1.0, 110, 10, 110) == 0);
    ck_assert(nn_bert_lr(1.0, 200, 10, 110) == 0); /* never negative */
    /* No warm-up: decay from the first step. */
    ck_assert(nn_bert_lr(1.0, 0, 0, 4) == 1.0);
    ck_assert(fabs(nn_bert_lr(1.0, 1, 0, 4) - 0.75) < 1e-15);
}
END_TEST

/* ---- the weights file ------------------------------------------------------ */

static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/mlb_test_bert_%d_%s", (int)getpid(), name);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(n == 0 || fwrite(p, 1, n, f) == n);
    fclose(f);
}

START_TEST(test_bert_weights_file)
{
    nn_backend be = backend(0);
    nn_bert a, b;
    char err[1024], path[256];
    make_model(&a, &be, NN_BERT_HEAD_QA, 0, 17);
    for (size_t i = 0; i < a.n_params; i++) /* float32-exact, so the trip is exact */
        a.params_mem[i] = (nn_real)(float)a.params_mem[i];
    tmp_path(path, sizeof path, "w.bin");
    ck_assert_msg(nn_bert_save(&a, path, err, sizeof err) == 0, "%s", err);
    nn_bert_config c;
    ck_assert_msg(nn_bert_read_config(path, &c, err, sizeof err) == 0, "%s", err);
    nn_bert_config want = tiny_cfg(NN_BERT_HEAD_QA);
    ck_assert(!memcmp(&c, &want, sizeof c));
    ck_assert(nn_bert_create(&b, &c, &be, 1, 4, 0, err, sizeof err) == 0);
    ck_assert_msg(nn_bert_load(&b, path, err, sizeof err) == 0, "%s", err);
    ck_assert(!memcmp(a.params_mem, b.params_mem, a.n_params * sizeof(nn_real)));

    size_t len = 1024 + 4 * a.n_params;
    unsigned char *buf = malloc(len + 8);
    FILE *f = fopen(path, "rb");
    ck_assert(fread(buf, 1, len, f) == len);
    ck_assert(fgetc(f) == EOF);
    fclose(f);
    /* The header as the format says: little-endian int32. */
    ck_assert(buf[0] == (NN_BERT_MAGIC & 0xff) && buf[8] == TV && buf[36] == 1 && buf[40] == 2);
    struct {
        const char *what;
        size_t off;
        int32_t val;
        size_t len;
        const char *expect;
    } bad[] = {
        {"magic", 0, 20240326, len, "magic 20240326"},
        {"version", 4, 2, len, "version 2"},
        {"truncated", 8, TV, len - 4, "truncated"},
        {"extended", 8, TV, len + 4, "trailing bytes"},
        {"heads", 24, 3, len, "num_heads = 3 does not divide hidden = 8"},
        {"hidden", 28, 0, len, "hidden = 0"},
        {"vocab", 8, -5, len, "vocab_size = -5"},
        {"huge", 8, 3000000, len, "vocab_size = 3000000, expected 1..2097152"},
        {"head", 36, 2, len, "head = 2"},
        {"qa classes", 40, 3, len, "qa head has 2 outputs"},
        {"reserved", 4 * 200, 1, len, "reserved"},
        {"sizes", 8, TV + 1, len, "truncated"},
        {"short", 0, NN_BERT_MAGIC, 100, "shorter than the 1024-byte header"},
        {"empty", 0, NN_BERT_MAGIC, 0, "shorter"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        unsigned char *copy = calloc(1, len + 8);
        memcpy(copy, buf, len);
        int32_t v = bad[k].val;
        memcpy(copy + bad[k].off, &v, 4);
        write_bytes(path, copy, bad[k].len);
        int rc = nn_bert_load(&b, path, err, sizeof err);
        ck_assert_msg(rc == -EINVAL && strstr(err, bad[k].expect) && strstr(err, path),
                      "%s: rc %d, '%s'", bad[k].what, rc, err);
        rc = nn_bert_read_config(path, &c, err, sizeof err);
        ck_assert_msg(rc == -EINVAL && strstr(err, bad[k].expect), "%s: rc %d, '%s'",
                      bad[k].what, rc, err);
        /* The parser of bytes says the same. */
        ck_assert(nn_bert_parse(&b, copy, bad[k].len, err, sizeof err) == -EINVAL);
        free(copy);
    }
    /* Non-finite values, named by tensor and index. */
    {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        size_t at = 0;
        for (int t = 0; t < 5; t++) /* wte, wpe, wtt, lnew, lneb: qkvw[7] */
            at += a.sizes[t];
        float bad_v = NAN;
        memcpy(copy + 1024 + 4 * (at + 7), &bad_v, 4);
        ck_assert(nn_bert_parse(&b, copy, len, err, sizeof err) == -EINVAL);
        ck_assert_msg(strstr(err, "qkvw[7] is NaN"), "%s", err);
        bad_v = -INFINITY;
        memcpy(copy + 1024 + 4 * (a.n_params - 1), &bad_v, 4);
        memcpy(copy + 1024 + 4 * (at + 7), buf + 1024 + 4 * (at + 7), 4);
        ck_assert(nn_bert_parse(&b, copy, len, err, sizeof err) == -EINVAL);
        ck_assert_msg(strstr(err, "headb[1] is infinite"), "%s", err);
        free(copy);
    }
    /* A file of another configuration than the model. */
    nn_bert o;
    make_model(&o, &be, NN_BERT_HEAD_CLASSIFY, 0, 18);
    ck_assert(nn_bert_save(&o, path, err, sizeof err) == 0);
    ck_assert(nn_bert_load(&b, path, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "but the model is"), "%s", err);
    ck_assert(nn_bert_load(&b, "/nonexistent/w.bin", err, sizeof err) == -ENOENT);
    ck_assert_msg(strstr(err, "/nonexistent/w.bin"), "%s", err);
    unlink(path);
    free(buf);
    nn_bert_free(&o);
    nn_bert_free(&a);
    nn_bert_free(&b);
    nn_backend_release(&be);
}
END_TEST

START_TEST(test_bert_config_and_create)
{
    nn_backend be = backend(0);
    char err[512];
    nn_bert_config c = tiny_cfg(NN_BERT_HEAD_CLASSIFY);
    ck_assert(nn_bert_config_check(&c, err, sizeof err) == 0);
    c.num_classes = 1;
    ck_assert(nn_bert_config_check(&c, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "num_classes"), "%s", err);
    c = tiny_cfg(NN_BERT_HEAD_CLASSIFY);
    c.num_layers = 1000;
    c.hidden = 8192;
    ck_assert(nn_bert_config_check(&c, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "limits"), "%s", err);
    c = tiny_cfg(NN_BERT_HEAD_CLASSIFY);
    nn_bert m;
    ck_assert(nn_bert_create(&m, &c, &be, 2, 9, 0, err, sizeof err) == -EINVAL); /* T > max_len */
    ck_assert_msg(strstr(err, "max_len"), "%s", err);
    /* BERT-base's sizes count 109.5M parameters with its pooler, plus the
     * head's 768*K + K (as Hugging Face's BertModel: 109,482,240). */
    nn_bert_config base = {.vocab_size = 30522, .max_len = 512, .type_vocab = 2,
                           .num_layers = 12, .num_heads = 12, .hidden = 768, .ffn = 3072,
                           .head = NN_BERT_HEAD_CLASSIFY, .num_classes = 2};
    size_t sizes[NN_BERT_NUM_TENSORS];
    ck_assert(nn_bert_config_check(&base, err, sizeof err) == 0);
    ck_assert_uint_eq(nn_bert_param_sizes(&base, sizes), 109482240u + 768 * 2 + 2);
    nn_backend_release(&be);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("bert");
    TCase *tc = tcase_create("bert");
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_bert_grad, 0, 8);
    tcase_add_loop_test(tc, test_bert_padding_invisible, 0, 4);
    tcase_add_test(tc, test_bert_kernels_agree);
    tcase_add_loop_test(tc, test_masked_attention, 0, 2);
    tcase_add_test(tc, test_gelu_erf);
    tcase_add_test(tc, test_layernorm_eps);
    tcase_add_test(tc, test_bert_adamw_clip);
    tcase_add_test(tc, test_bert_lr);
    tcase_add_test(tc, test_bert_weights_file);
    tcase_add_test(tc, test_bert_config_and_create);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *r = srunner_create(suite());
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
