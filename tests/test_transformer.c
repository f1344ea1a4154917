/*
 * Unit tests of the NN core's transformer (plugins/nn/transformer.c,
 * gpt2_io.c), against its float64 build: each layer's backward pass, and
 * the whole GPT-2's, against central finite differences with both kernel
 * tables; the KV-cache decoder against the full forward pass; AdamW,
 * clipping and the schedule against their formulas; llm.c's checkpoint
 * and shard files round-tripped and refused when broken.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "transformer.h"

#ifndef NN_DOUBLE
#error "test_transformer checks gradients in double precision: build it against nn64"
#endif

#define FD_STEP 1e-5
#define FD_TOL 1e-6
#define FD_SAMPLES 40

static const nn_kernels *const variants[] = {&nn_kernels_naive, &nn_kernels_openblas};

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

static nn_backend backend(int v)
{
    nn_backend be;
    char err[256];
    ck_assert_msg(nn_backend_init(&be, variants[v], 1, err, sizeof err) == 0, "%s", err);
    return be;
}

/* Compares g[i] with the central difference of f at sampled i of x. */
typedef double (*objective_fn)(void *ctx);
static void fd_check(const char *what, nn_real *x, const nn_real *g, size_t n, objective_fn f,
                     void *ctx)
{
    size_t stride = n > FD_SAMPLES ? n / FD_SAMPLES : 1;
    for (size_t i = 0; i < n; i += stride) {
        nn_real keep = x[i];
        x[i] = keep + FD_STEP;
        double fp = f(ctx);
        x[i] = keep - FD_STEP;
        double fm = f(ctx);
        x[i] = keep;
        double num = (fp - fm) / (2 * FD_STEP);
        double scale = fmax(1.0, fmax(fabs(num), fabs((double)g[i])));
        ck_assert_msg(fabs(num - (double)g[i]) <= FD_TOL * scale,
                      "%s[%zu]: analytic %.12g, numeric %.12g", what, i, (double)g[i], num);
    }
}

static double dot(const nn_real *a, const nn_real *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += (double)a[i] * (double)b[i];
    return s;
}

/* ---- encoder ---- */
typedef struct {
    int B, T, C, V;
    int32_t *inp;
    nn_real *wte, *wpe, *out, *r;
} enc_case;

static double enc_obj(void *p)
{
    enc_case *c = p;
    nn_encoder_forward(c->B, c->T, c->C, c->inp, c->wte, c->wpe, c->out);
    return dot(c->out, c->r, (size_t)c->B * c->T * c->C);
}

START_TEST(test_encoder_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 1);
    enc_case c = {.B = 2, .T = 3, .C = 4, .V = 5};
    int32_t inp[6] = {0, 4, 4, 2, 1, 0}; /* a repeated token accumulates */
    c.inp = inp;
    c.wte = arr(20, &r, 1);
    c.wpe = arr(12, &r, 1);
    c.out = arr(24, &r, 0);
    c.r = arr(24, &r, 1);
    nn_real *dwte = arr(20, &r, 0), *dwpe = arr(12, &r, 0);
    nn_encoder_backward(c.B, c.T, c.C, inp, c.r, dwte, dwpe);
    fd_check("dwte", c.wte, dwte, 20, enc_obj, &c);
    fd_check("dwpe", c.wpe, dwpe, 12, enc_obj, &c);
    nn_free(c.wte), nn_free(c.wpe), nn_free(c.out), nn_free(c.r), nn_free(dwte), nn_free(dwpe);
}
END_TEST

/* ---- layernorm ---- */
typedef struct {
    int N, C;
    nn_real *x, *w, *b, *out, *mean, *rstd, *r;
} ln_case;

static double ln_obj(void *p)
{
    ln_case *c = p;
    nn_layernorm_forward(c->N, c->C, c->x, c->w, c->b, c->out, c->mean, c->rstd);
    return dot(c->out, c->r, (size_t)c->N * c->C);
}

START_TEST(test_layernorm_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 2);
    ln_case c = {.N = 3, .C = 7};
    size_t nc = 21;
    c.x = arr(nc, &r, 2);
    c.x[0] += 50; /* a large mean: the two-pass statistics must hold */
    c.w = arr(7, &r, 1);
    c.b = arr(7, &r, 1);
    c.out = arr(nc, &r, 0);
    c.mean = arr(3, &r, 0);
    c.rstd = arr(3, &r, 0);
    c.r = arr(nc, &r, 1);
    nn_real *dx = arr(nc, &r, 0), *dw = arr(7, &r, 0), *db = arr(7, &r, 0);
    ln_obj(&c);
    /* Against torch.nn.LayerNorm's definition: mean 0, variance 1. */
    for (int n = 0; n < c.N; n++) {
        double s = 0;
        for (int i = 0; i < c.C; i++)
            s += (double)c.x[n * c.C + i];
        ck_assert(fabs(s / c.C - (double)c.mean[n]) < 1e-12);
    }
    nn_layernorm_backward(c.N, c.C, c.x, c.w, c.mean, c.rstd, c.r, dx, dw, db);
    fd_check("dx", c.x, dx, nc, ln_obj, &c);
    fd_check("dw", c.w, dw, 7, ln_obj, &c);
    fd_check("db", c.b, db, 7, ln_obj, &c);
    nn_free(c.x), nn_free(c.w), nn_free(c.b), nn_free(c.out), nn_free(c.mean);
    nn_free(c.rstd), nn_free(c.r), nn_free(dx), nn_free(dw), nn_free(db);
}
END_TEST

/* ---- attention ---- */
typedef struct {
    const nn_backend *be;
    int B, T, C, NH;
    nn_real *qkv, *out, *att, *r;
} att_case;

static double att_obj(void *p)
{
    att_case *c = p;
    nn_attention_forward(c->be, c->B, c->T, c->C, c->NH, c->qkv, c->out, c->att);
    return dot(c->out, c->r, (size_t)c->B * c->T * c->C);
}

START_TEST(test_attention_grad)
{
    nn_backend be = backend(_i);
    nn_rng r;
    nn_rng_seed(&r, 3);
    att_case c = {.be = &be, .B = 2, .T = 5, .C = 6, .NH = 2};
    size_t n3 = (size_t)c.B * c.T * 3 * c.C, n = (size_t)c.B * c.T * c.C;
    c.qkv = arr(n3, &r, 1.5);
    c.out = arr(n, &r, 0);
    c.att = arr((size_t)c.B * c.NH * c.T * c.T, &r, 0);
    c.r = arr(n, &r, 1);
    nn_real *dqkv = arr(n3, &r, 0), *scratch = arr((size_t)c.T * c.T, &r, 0);
    att_obj(&c);
    /* Causal: rows sum to 1, nothing above the diagonal. */
    for (int bh = 0; bh < c.B * c.NH; bh++)
        for (int t = 0; t < c.T; t++) {
            double s = 0;
            for (int j = 0; j < c.T; j++) {
                double a = (double)c.att[((size_t)bh * c.T + t) * c.T + j];
                if (j > t)
                    ck_assert(a == 0);
                s += a;
            }
            ck_assert(fabs(s - 1) < 1e-12);
        }
    nn_attention_backward(&be, c.B, c.T, c.C, c.NH, c.qkv, c.att, c.r, dqkv, scratch);
    fd_check("dqkv", c.qkv, dqkv, n3, att_obj, &c);
    nn_free(c.qkv), nn_free(c.out), nn_free(c.att), nn_free(c.r), nn_free(dqkv);
    nn_free(scratch);
    nn_backend_release(&be);
}
END_TEST

/* ---- GELU ---- */
typedef struct {
    size_t n;
    nn_real *x, *y, *r;
} gelu_case;

static double gelu_obj(void *p)
{
    gelu_case *c = p;
    nn_gelu_forward(c->n, c->x, c->y);
    return dot(c->y, c->r, c->n);
}

START_TEST(test_gelu_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 4);
    gelu_case c = {.n = 50};
    c.x = arr(c.n, &r, 4);
    c.y = arr(c.n, &r, 0);
    c.r = arr(c.n, &r, 1);
    nn_real *dx = arr(c.n, &r, 0);
    nn_real x1 = 1, y1;
    nn_gelu_forward(1, &x1, &y1);
    /* torch.nn.functional.gelu(torch.tensor(1.0, dtype=float64), approximate='tanh') */
    ck_assert_msg(fabs((double)y1 - 0.8411919906082768) < 1e-15, "gelu(1) = %.17g", (double)y1);
    nn_gelu_backward(c.n, c.x, c.r, dx);
    fd_check("dx", c.x, dx, c.n, gelu_obj, &c);
    nn_free(c.x), nn_free(c.y), nn_free(c.r), nn_free(dx);
}
END_TEST

/* ---- softmax cross-entropy ---- */
typedef struct {
    int N, V, Vp;
    nn_real *logits, *probs;
    int32_t *t;
} xent_case;

static double xent_obj(void *p)
{
    xent_case *c = p;
    return nn_softmax_xent_forward(c->N, c->V, c->Vp, c->logits, c->t, c->probs);
}

START_TEST(test_xent_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 5);
    xent_case c = {.N = 4, .V = 5, .Vp = 8};
    int32_t t[4] = {0, 4, 2, 4};
    c.t = t;
    c.logits = arr(32, &r, 3);
    c.logits[7] = 1000; /* a padded column never enters the loss */
    c.probs = arr(32, &r, 0);
    nn_real *dl = arr(32, &r, 0);
    xent_obj(&c);
    nn_softmax_xent_backward(c.N, c.V, c.Vp, c.probs, t, dl);
    ck_assert(dl[7] == 0 && c.probs[7] == 0);
    fd_check("dlogits", c.logits, dl, 32, xent_obj, &c);
    nn_free(c.logits), nn_free(c.probs), nn_free(dl);
}
END_TEST

/* ---- the whole model ---- */
static const nn_gpt2_config tiny = {.max_seq_len = 6, .vocab_size = 11,
                                    .padded_vocab_size = 16, .num_layers = 2,
                                    .num_heads = 2, .channels = 8};

typedef struct {
    nn_gpt2 *m;
    int32_t *x, *y;
    int B, T;
} model_case;

static double model_obj(void *p)
{
    model_case *c = p;
    nn_gpt2_forward(c->m, c->x, c->y, c->B, c->T);
    return c->m->mean_loss;
}

static void make_model(nn_gpt2 *m, const nn_backend *be, int B, int T, uint64_t seed)
{
    char err[256];
    ck_assert_msg(nn_gpt2_create(m, &tiny, be, B, T, 1, err, sizeof err) == 0, "%s", err);
    nn_gpt2_init_weights(m, seed);
    /* GPT-2's init is too small for the differences to probe the
     * nonlinearities: perturb everything to O(0.3), LayerNorm gains near 1. */
    nn_rng r;
    nn_rng_seed(&r, seed + 1);
    size_t vc = (size_t)tiny.vocab_size * tiny.channels;
    for (size_t i = 0; i < m->n_params; i++)
        if (i < vc || i >= m->sizes[0])
            m->params_mem[i] += (nn_real)(0.3 * (2 * nn_rng_uniform(&r) - 1));
}

START_TEST(test_gpt2_grad)
{
    nn_backend be = backend(_i);
    nn_gpt2 m;
    int B = 2, T = 5;
    make_model(&m, &be, B, T, 7);
    int32_t x[10] = {1, 2, 3, 4, 5, 10, 0, 3, 3, 7}, y[10] = {2, 3, 4, 5, 6, 0, 3, 3, 7, 9};
    model_case c = {&m, x, y, B, T};
    model_obj(&c);
    ck_assert(m.mean_loss > 0);
    nn_gpt2_zero_grad(&m);
    nn_gpt2_backward(&m);
    nn_real *g = nn_alloc(m.n_params, sizeof *g);
    memcpy(g, m.grads_mem, m.n_params * sizeof *g);
    size_t at = 0;
    for (int t = 0; t < NN_GPT2_NUM_TENSORS; t++) {
        fd_check(nn_gpt2_tensor_names[t], m.params_mem + at, g + at, m.sizes[t], model_obj, &c);
        at += m.sizes[t];
    }
    /* The padded rows of wte get no gradient. */
    for (size_t i = (size_t)tiny.vocab_size * tiny.channels; i < m.sizes[0]; i++)
        ck_assert(g[i] == 0);
    nn_free(g);
    nn_gpt2_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* The KV-cache decoder gives the full forward pass's last logits. */
START_TEST(test_gpt2_kv_step)
{
    nn_backend be = backend(_i);
    nn_gpt2 m;
    make_model(&m, &be, 1, 6, 9);
    int32_t seq[6] = {3, 1, 4, 1, 5, 9};
    for (int t = 1; t <= 6; t++) {
        const nn_real *step = nn_gpt2_step(&m, seq[t - 1], t - 1);
        nn_gpt2_forward(&m, seq, NULL, 1, t);
        const nn_real *full = m.acts.logits + (size_t)(t - 1) * tiny.padded_vocab_size;
        for (int v = 0; v < tiny.vocab_size; v++)
            ck_assert_msg(fabs((double)(step[v] - full[v])) < 1e-12, "t=%d v=%d: %g vs %g", t,
                          v, (double)step[v], (double)full[v]);
    }
    nn_gpt2_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* AdamW, clipping and the schedule against torch's formulas. */
START_TEST(test_gpt2_adamw)
{
    nn_backend be = backend(0);
    nn_gpt2 m;
    make_model(&m, &be, 1, 2, 11);
    nn_real *w0 = nn_alloc(m.n_params, sizeof *w0);
    memcpy(w0, m.params_mem, m.n_params * sizeof *w0);
    for (size_t i = 0; i < m.n_params; i++)
        m.grads_mem[i] = (nn_real)(0.001 * (double)(i % 7) - 0.003);
    nn_adamw o = {.lr = 1e-2, .beta1 = 0.9, .beta2 = 0.95, .eps = 1e-8, .weight_decay = 0.1};
    nn_gpt2_adamw_step(&m, &o);
    nn_gpt2_adamw_step(&m, &o);
    size_t at = 0;
    for (int t = 0; t < NN_GPT2_NUM_TENSORS; t++) {
        size_t i = at + m.sizes[t] / 2;
        double g = (double)m.grads_mem[i], w = (double)w0[i], mm = 0, vv = 0;
        double wd = nn_gpt2_tensor_decays[t] ? o.weight_decay : 0;
        for (int s = 1; s <= 2; s++) {
            w *= 1 - o.lr * wd;
            mm = o.beta1 * mm + (1 - o.beta1) * g;
            vv = o.beta2 * vv + (1 - o.beta2) * g * g;
            double mh = mm / (1 - pow(o.beta1, s)), vh = vv / (1 - pow(o.beta2, s));
            w -= o.lr * mh / (sqrt(vh) + o.eps);
        }
        ck_assert_msg(fabs(w - (double)m.params_mem[i]) < 1e-12, "%s: %.15g vs %.15g",
                      nn_gpt2_tensor_names[t], w, (double)m.params_mem[i]);
        at += m.sizes[t];
    }
    double ss = 0;
    for (size_t i = 0; i < m.n_params; i++)
        ss += (double)m.grads_mem[i] * (double)m.grads_mem[i];
    double norm = nn_gpt2_clip_grad(&m, 0.01);
    ck_assert(fabs(norm - sqrt(ss)) < 1e-12 * norm);
    ck_assert(fabs(nn_gpt2_clip_grad(&m, 0) - 0.01 * norm / (norm + 1e-6)) < 1e-12);
    ck_assert(fabs(nn_lr_schedule(1.0, 0, 4, 10, 1, 0.1) - 0.25) < 1e-15);
    ck_assert(fabs(nn_lr_schedule(1.0, 4, 4, 10, 1, 0.1) - 1.0) < 1e-15);
    ck_assert(fabs(nn_lr_schedule(1.0, 7, 4, 10, 1, 0.1) - 0.55) < 1e-12);
    ck_assert(fabs(nn_lr_schedule(1.0, 10, 4, 10, 1, 0.1) - 0.1) < 1e-12);
    ck_assert(nn_lr_schedule(1.0, 9, 4, 10, 0, 0.1) == 1.0);
    nn_free(w0);
    nn_gpt2_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* ---- files ---- */
static void tmp_path(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "/tmp/mlb_test_transformer_%d_%s", (int)getpid(), name);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert(fwrite(p, 1, n, f) == n);
    fclose(f);
}

START_TEST(test_ckpt_roundtrip)
{
    nn_backend be = backend(0);
    nn_gpt2 a, b;
    char err[512], path[256];
    make_model(&a, &be, 1, 2, 13);
    for (size_t i = 0; i < a.n_params; i++) /* float32-exact, so the trip is exact */
        a.params_mem[i] = (nn_real)(float)a.params_mem[i];
    tmp_path(path, sizeof path, "ckpt.bin");
    ck_assert_msg(nn_gpt2_ckpt_save(&a, path, err, sizeof err) == 0, "%s", err);
    nn_gpt2_config c;
    ck_assert_msg(nn_gpt2_ckpt_read_config(path, &c, err, sizeof err) == 0, "%s", err);
    ck_assert(!memcmp(&c, &tiny, sizeof c));
    ck_assert(nn_gpt2_create(&b, &c, &be, 1, 2, 0, err, sizeof err) == 0);
    ck_assert_msg(nn_gpt2_ckpt_load(&b, path, err, sizeof err) == 0, "%s", err);
    ck_assert(!memcmp(a.params_mem, b.params_mem, a.n_params * sizeof(nn_real)));

    /* Broken files, each refused with its reason. */
    FILE *f = fopen(path, "rb");
    size_t len = 1024 + 4 * a.n_params;
    unsigned char *buf = malloc(len + 8);
    ck_assert(fread(buf, 1, len, f) == len);
    fclose(f);
    struct {
        const char *what;
        size_t off;
        int32_t val;
        size_t len;
        const char *expect;
    } bad[] = {
        {"magic", 0, 20240520, len, "magic 20240520"},
        {"version", 4, 5, len, "bfloat16"},
        {"truncated", 8, 6, len - 4, "truncated"},
        {"trailing", 8, 6, len + 8, "trailing"},
        {"inconsistent", 20, 3, len, "NH must divide C"},
        {"sizes", 16, 3, len, "truncated"},
        {"header", 0, 20240326, 100, "shorter than its 1024-byte header"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        unsigned char *copy = calloc(1, len + 8);
        memcpy(copy, buf, len);
        int32_t v = bad[k].val;
        memcpy(copy + bad[k].off, &v, 4);
        write_bytes(path, copy, bad[k].len);
        int rc = nn_gpt2_ckpt_load(&b, path, err, sizeof err);
        ck_assert_msg(rc == -EINVAL && strstr(err, bad[k].expect), "%s: rc %d, '%s'",
                      bad[k].what, rc, err);
        free(copy);
    }
    /* Non-finite values, named by tensor and index, after the path. */
    {
        unsigned char *copy = malloc(len);
        memcpy(copy, buf, len);
        size_t at = a.sizes[0] + a.sizes[1]; /* wte, wpe: ln1w[3] */
        float v = NAN;
        memcpy(copy + 1024 + 4 * (at + 3), &v, 4);
        write_bytes(path, copy, len);
        ck_assert(nn_gpt2_ckpt_load(&b, path, err, sizeof err) == -EINVAL);
        ck_assert_msg(strstr(err, path) && strstr(err, "GPT-2 checkpoint: ln1w[3] is NaN"), "%s",
                      err);
        v = INFINITY;
        memcpy(copy + 1024 + 4 * (at + 3), buf + 1024 + 4 * (at + 3), 4);
        memcpy(copy + 1024 + 4 * (a.n_params - 1), &v, 4);
        ck_assert(nn_gpt2_ckpt_parse(&b, copy, len, err, sizeof err) == -EINVAL);
        ck_assert_msg(strstr(err, "lnfb[" ) && strstr(err, "] is infinite"), "%s", err);
        free(copy);
    }
    /* A file of another configuration than the model. */
    nn_gpt2_config other = tiny;
    other.channels = 4;
    nn_gpt2 o;
    ck_assert(nn_gpt2_create(&o, &other, &be, 1, 2, 0, err, sizeof err) == 0);
    ck_assert(nn_gpt2_ckpt_save(&o, path, err, sizeof err) == 0);
    ck_assert(nn_gpt2_ckpt_load(&b, path, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "but the model is"), "%s", err);
    unlink(path);
    free(buf);
    nn_gpt2_free(&o);
    nn_gpt2_free(&a);
    nn_gpt2_free(&b);
    nn_backend_release(&be);
}
END_TEST

START_TEST(test_shard_and_loader)
{
    char err[512], path[256];
    tmp_path(path, sizeof path, "shard.bin");
    uint16_t tok[23];
    for (int i = 0; i < 23; i++)
        tok[i] = (uint16_t)(i * 3001);
    ck_assert(nn_gpt2_shard_save(path, tok, 23, err, sizeof err) == 0);
    uint16_t *back;
    size_t n;
    ck_assert_msg(nn_gpt2_shard_load(path, &back, &n, err, sizeof err) == 0, "%s", err);
    ck_assert(n == 23 && !memcmp(back, tok, sizeof tok));
    /* B*T = 6: windows of 7 at 0, 6, 12 (the last needs tokens 12..18);
     * 18..24 does not fit in 23. */
    ck_assert(nn_gpt2_loader_batches(n, 2, 3) == 3);
    nn_gpt2_loader l;
    nn_gpt2_loader_init(&l, back, n, 2, 3);
    int32_t x[6], y[6];
    for (int b = 0; b < 3; b++) {
        ck_assert(nn_gpt2_loader_next(&l, x, y) == 0);
        for (int i = 0; i < 6; i++) {
            ck_assert(x[i] == tok[6 * b + i]);
            ck_assert(y[i] == tok[6 * b + i + 1]);
        }
    }
    ck_assert(nn_gpt2_loader_next(&l, x, y) == -ENODATA);
    nn_free(back);

    unsigned char raw[1024 + 46];
    FILE *f = fopen(path, "rb");
    ck_assert(fread(raw, 1, sizeof raw, f) == sizeof raw);
    fclose(f);
    int32_t v;
    unsigned char copy[sizeof raw];
    memcpy(copy, raw, sizeof raw);
    v = 20240326;
    memcpy(copy, &v, 4);
    ck_assert(nn_gpt2_shard_parse(copy, sizeof copy, &back, &n, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "magic 20240326"), "%s", err);
    memcpy(copy, raw, sizeof raw);
    v = 2;
    memcpy(copy + 4, &v, 4);
    ck_assert(nn_gpt2_shard_parse(copy, sizeof copy, &back, &n, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "version 2"), "%s", err);
    ck_assert(nn_gpt2_shard_parse(raw, sizeof raw - 1, &back, &n, err, sizeof err) == -EINVAL);
    ck_assert_msg(strstr(err, "truncated"), "%s", err);
    ck_assert(nn_gpt2_shard_parse(raw, 10, &back, &n, err, sizeof err) == -EINVAL);
    unlink(path);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("transformer");
    TCase *tc = tcase_create("layers");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_encoder_grad);
    tcase_add_test(tc, test_layernorm_grad);
    tcase_add_loop_test(tc, test_attention_grad, 0, 2);
    tcase_add_test(tc, test_gelu_grad);
    tcase_add_test(tc, test_xent_grad);
    tcase_add_loop_test(tc, test_gpt2_grad, 0, 2);
    tcase_add_loop_test(tc, test_gpt2_kv_step, 0, 2);
    tcase_add_test(tc, test_gpt2_adamw);
    tcase_add_test(tc, test_ckpt_roundtrip);
    tcase_add_test(tc, test_shard_and_loader);
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
