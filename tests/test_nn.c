/*
 * Unit tests of the neural-network core (plugins/nn), compiled against its
 * float64 build (-DNN_DOUBLE): every layer's hand-written backward pass is
 * checked against central finite differences, with each kernel table
 * (naive and openblas), then a small residual network end to end, the
 * optimisers against their update rules, and the weight file format.
 */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"

#ifndef NN_DOUBLE
#error "test_nn checks gradients in double precision: build it against nn64"
#endif

/* Central differences in double: the truncation error is O(h^2) and the
 * rounding error O(eps/h); h = 1e-5 balances them near 1e-10, far below
 * the tolerance, which a wrong gradient (an off-by-one, a missing term)
 * exceeds by orders of magnitude. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6
/* Elements checked per tensor; larger tensors are sampled. */
#define FD_SAMPLES 60

static const nn_kernels *const variants[] = {&nn_kernels_naive, &nn_kernels_openblas};
#define N_VARIANTS 2

static nn_real *rand_array(size_t n, nn_rng *r, double scale)
{
    nn_real *p = nn_alloc(n, sizeof *p);
    ck_assert_ptr_nonnull(p);
    for (size_t i = 0; i < n; i++)
        p[i] = (nn_real)((2 * nn_rng_uniform(r) - 1) * scale);
    return p;
}

static void backend_for(nn_backend *be, int v)
{
    char err[256];
    int rc = nn_backend_init(be, variants[v], 1, err, sizeof err);
    ck_assert_msg(rc == 0, "backend %s: %s", variants[v]->name, err);
}

/* ---- the finite-difference harness --------------------------------------
 * A case is a function out = f(inputs). The scalar checked is
 * L = sum(r * out) for a fixed random r, so dL/dout = r is what backward is
 * given, and every input's analytic gradient is compared with
 * (L(x+h) - L(x-h)) / 2h. */
typedef struct {
    const char *name;
    nn_real *x, *g; /* the input and its analytic gradient */
    size_t n;
} gc_input;

typedef struct gc_case gc_case;
struct gc_case {
    void (*forward)(gc_case *c);
    void (*backward)(gc_case *c); /* accumulates into the inputs' g */
    const nn_backend *be;
    nn_real *out, *r;
    size_t out_n;
    gc_input in[4];
    int n_in;
    void *layer; /* the case's own parameters */
};

static double objective(gc_case *c)
{
    c->forward(c);
    double s = 0;
    for (size_t i = 0; i < c->out_n; i++)
        s += (double)c->r[i] * (double)c->out[i];
    return s;
}

/* Returns the worst relative error over the checked elements. */
static double gradcheck(gc_case *c, const char *what)
{
    nn_rng r;
    nn_rng_seed(&r, 42);
    for (size_t i = 0; i < c->out_n; i++)
        c->r[i] = (nn_real)(2 * nn_rng_uniform(&r) - 1);
    for (int k = 0; k < c->n_in; k++)
        memset(c->in[k].g, 0, c->in[k].n * sizeof(nn_real));
    c->forward(c);
    c->backward(c);
    double worst = 0;
    for (int k = 0; k < c->n_in; k++) {
        gc_input *in = &c->in[k];
        size_t checks = in->n < FD_SAMPLES ? in->n : FD_SAMPLES;
        for (size_t t = 0; t < checks; t++) {
            size_t i = in->n <= FD_SAMPLES ? t : (size_t)nn_rng_below(&r, in->n);
            nn_real keep = in->x[i];
            in->x[i] = keep + FD_STEP;
            double lp = objective(c);
            in->x[i] = keep - FD_STEP;
            double lm = objective(c);
            in->x[i] = keep;
            double num = (lp - lm) / (2 * FD_STEP);
            double ana = in->g[i];
            double err = fabs(num - ana) / fmax(1.0, fabs(num) + fabs(ana));
            if (!(err <= FD_TOL))
                ck_abort_msg("%s (%s kernels): d/d%s[%zu]: analytic %.10g, numeric %.10g", what,
                             c->be->k->name, in->name, i, ana, num);
            if (err > worst)
                worst = err;
        }
    }
    return worst;
}

/* ---- linear ---- */

typedef struct {
    int n, in, out;
    nn_real *b, *db;
} lin_layer;

static void lin_fwd(gc_case *c)
{
    lin_layer *l = c->layer;
    nn_linear_forward(c->be, l->n, l->in, l->out, c->in[0].x, c->in[1].x, l->b, c->out);
}

static void lin_bwd(gc_case *c)
{
    lin_layer *l = c->layer;
    nn_linear_backward(c->be, l->n, l->in, l->out, c->in[0].x, c->in[1].x, c->r, c->in[0].g,
                       c->in[1].g, l->db);
}

START_TEST(test_linear_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 1);
    for (int v = 0; v < N_VARIANTS; v++)
        for (int bias = 0; bias < 2; bias++) {
            nn_backend be;
            backend_for(&be, v);
            lin_layer l = {.n = 5, .in = 7, .out = 4};
            gc_case c = {.forward = lin_fwd, .backward = lin_bwd, .be = &be, .layer = &l};
            c.out_n = (size_t)l.n * (size_t)l.out;
            c.out = rand_array(c.out_n, &r, 1);
            c.r = rand_array(c.out_n, &r, 1);
            c.in[0] = (gc_input){"x", rand_array(35, &r, 1), rand_array(35, &r, 0), 35};
            c.in[1] = (gc_input){"w", rand_array(28, &r, 1), rand_array(28, &r, 0), 28};
            c.n_in = 2;
            if (bias) {
                l.b = rand_array(4, &r, 1);
                l.db = rand_array(4, &r, 0);
                c.in[2] = (gc_input){"b", l.b, l.db, 4};
                c.n_in = 3;
            }
            gradcheck(&c, bias ? "linear+bias" : "linear");
            for (int k = 0; k < c.n_in; k++) {
                nn_free(c.in[k].x);
                nn_free(c.in[k].g);
            }
            nn_free(c.out);
            nn_free(c.r);
            nn_backend_release(&be);
        }
}
END_TEST

/* ---- convolution ---- */

typedef struct {
    nn_conv_shape s;
    int n;
    nn_real *scratch;
    nn_real *cache; /* the kernel's forward-to-backward cache, or NULL */
} conv_layer;

static void conv_fwd(gc_case *c)
{
    conv_layer *l = c->layer;
    c->be->k->conv_forward(c->be, &l->s, l->n, c->in[0].x, c->in[1].x,
                           c->n_in > 2 ? c->in[2].x : NULL, c->out, l->scratch, l->cache);
}

static void conv_bwd(gc_case *c)
{
    conv_layer *l = c->layer;
    c->be->k->conv_backward(c->be, &l->s, l->n, c->in[0].x, c->in[1].x, c->r, c->in[0].g,
                            c->in[1].g, c->n_in > 2 ? c->in[2].g : NULL, l->scratch, l->cache);
}

static void check_conv_cached(int v, int n, int c_in, int h, int w, int c_out, int k,
                              int stride, int pad, int bias, int cached)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(h * 131 + k * 17 + stride * 7 + pad));
    nn_backend be;
    backend_for(&be, v);
    conv_layer l = {.n = n};
    ck_assert_int_eq(nn_conv_shape_init(&l.s, c_in, h, w, c_out, k, stride, pad), 0);
    size_t scratch = be.k->conv_scratch(&l.s, n);
    l.scratch = nn_alloc(scratch ? scratch : 1, sizeof(nn_real));
    size_t cache = cached && be.k->conv_cache ? be.k->conv_cache(&l.s, n) : 0;
    if (cache)
        l.cache = nn_alloc(cache, sizeof(nn_real));
    gc_case c = {.forward = conv_fwd, .backward = conv_bwd, .be = &be, .layer = &l};
    c.out_n = (size_t)n * (size_t)c_out * (size_t)l.s.h_out * (size_t)l.s.w_out;
    c.out = rand_array(c.out_n, &r, 1);
    c.r = rand_array(c.out_n, &r, 1);
    size_t nx = (size_t)n * (size_t)c_in * (size_t)h * (size_t)w;
    size_t nw = (size_t)c_out * (size_t)c_in * (size_t)k * (size_t)k;
    c.in[0] = (gc_input){"x", rand_array(nx, &r, 1), rand_array(nx, &r, 0), nx};
    c.in[1] = (gc_input){"w", rand_array(nw, &r, 1), rand_array(nw, &r, 0), nw};
    c.n_in = 2;
    if (bias) {
        c.in[2] = (gc_input){"b", rand_array((size_t)c_out, &r, 1),
                             rand_array((size_t)c_out, &r, 0), (size_t)c_out};
        c.n_in = 3;
    }
    char what[128];
    snprintf(what, sizeof what, "conv %dx%dx%dx%d -> %d, k%d s%d p%d%s", n, c_in, h, w, c_out,
             k, stride, pad, cache ? " (cached im2col)" : "");
    gradcheck(&c, what);
    for (int i = 0; i < c.n_in; i++) {
        nn_free(c.in[i].x);
        nn_free(c.in[i].g);
    }
    nn_free(c.out);
    nn_free(c.r);
    nn_free(l.scratch);
    nn_free(l.cache);
    nn_backend_release(&be);
}

/* Each geometry with and without the kernel's forward-to-backward cache. */
static void check_conv(int v, int n, int c_in, int h, int w, int c_out, int k, int stride,
                       int pad, int bias)
{
    check_conv_cached(v, n, c_in, h, w, c_out, k, stride, pad, bias, 0);
    check_conv_cached(v, n, c_in, h, w, c_out, k, stride, pad, bias, 1);
}

START_TEST(test_conv_grad)
{
    for (int v = 0; v < N_VARIANTS; v++) {
        check_conv(v, 2, 3, 7, 6, 4, 3, 1, 1, 1);
        check_conv(v, 3, 2, 8, 8, 3, 3, 2, 1, 0); /* ResNet's strided 3x3 */
        check_conv(v, 2, 3, 7, 7, 5, 1, 2, 0, 0); /* ResNet's 1x1 shortcut */
        check_conv(v, 2, 1, 9, 9, 2, 5, 1, 2, 1); /* LeNet's first layer, padded */
        check_conv(v, 2, 2, 10, 9, 3, 5, 1, 0, 1);
        check_conv(v, 2, 2, 9, 11, 2, 2, 3, 1, 0); /* stride > kernel: skipped pixels */
        /* 1024 outputs per image: openblas groups two images per GEMM, so
         * a batch of three exercises both the grouped and the single path. */
        check_conv(v, 3, 1, 32, 32, 2, 3, 1, 1, 1);
    }
}
END_TEST

START_TEST(test_conv_variants_agree)
{
    /* The two kernel tables compute the same sums in another order. */
    nn_rng r;
    nn_rng_seed(&r, 9);
    nn_conv_shape s;
    ck_assert_int_eq(nn_conv_shape_init(&s, 4, 12, 12, 6, 3, 1, 1), 0);
    int n = 5;
    size_t nx = (size_t)n * 4 * 144, ny = (size_t)n * 6 * 144, nw = 6 * 4 * 9;
    nn_real *x = rand_array(nx, &r, 1), *w = rand_array(nw, &r, 1), *b = rand_array(6, &r, 1);
    /* naive, openblas, openblas with its im2col cache */
    nn_real *y[3], *dx[3], *dw[3], *db[3];
    nn_real *dy = rand_array(ny, &r, 1);
    for (int v = 0; v < 3; v++) {
        nn_backend be;
        backend_for(&be, v < 2 ? v : 1);
        size_t sc = be.k->conv_scratch(&s, n);
        nn_real *scratch = nn_alloc(sc ? sc : 1, sizeof(nn_real));
        nn_real *cache = v == 2 ? nn_alloc(be.k->conv_cache(&s, n), sizeof(nn_real)) : NULL;
        y[v] = nn_alloc(ny, sizeof(nn_real));
        dx[v] = nn_alloc(nx, sizeof(nn_real));
        dw[v] = nn_alloc(nw, sizeof(nn_real));
        db[v] = nn_alloc(6, sizeof(nn_real));
        be.k->conv_forward(&be, &s, n, x, w, b, y[v], scratch, cache);
        be.k->conv_backward(&be, &s, n, x, w, dy, dx[v], dw[v], db[v], scratch, cache);
        nn_free(scratch);
        nn_free(cache);
        nn_backend_release(&be);
    }
    /* The cache changes where the columns live, not the arithmetic. */
    ck_assert_int_eq(memcmp(y[1], y[2], ny * sizeof(nn_real)), 0);
    ck_assert_int_eq(memcmp(dx[1], dx[2], nx * sizeof(nn_real)), 0);
    ck_assert_int_eq(memcmp(dw[1], dw[2], nw * sizeof(nn_real)), 0);
    for (size_t i = 0; i < ny; i++)
        ck_assert_double_eq_tol(y[0][i], y[1][i], 1e-12);
    for (size_t i = 0; i < nx; i++)
        ck_assert_double_eq_tol(dx[0][i], dx[1][i], 1e-12);
    for (size_t i = 0; i < nw; i++)
        ck_assert_double_eq_tol(dw[0][i], dw[1][i], 1e-11);
    for (int i = 0; i < 6; i++)
        ck_assert_double_eq_tol(db[0][i], db[1][i], 1e-11);
    for (int v = 0; v < 3; v++) {
        nn_free(y[v]);
        nn_free(dx[v]);
        nn_free(dw[v]);
        nn_free(db[v]);
    }
    nn_free(x);
    nn_free(w);
    nn_free(b);
    nn_free(dy);
}
END_TEST

/* ---- pooling, batch norm, elementwise: one harness each ---- */

typedef struct {
    nn_pool_shape s;
    int n, max;
    int32_t *argmax;
    int gap_c, gap_hw;
    nn_bn_mode bn;
    nn_real *rm, *rv, *sm, *si;
    int bn_c, bn_hw;
} misc_layer;

static void pool_fwd(gc_case *c)
{
    misc_layer *l = c->layer;
    if (l->max)
        nn_maxpool_forward(&l->s, l->n, c->in[0].x, c->out, l->argmax);
    else
        nn_avgpool_forward(&l->s, l->n, c->in[0].x, c->out);
}

static void pool_bwd(gc_case *c)
{
    misc_layer *l = c->layer;
    if (l->max)
        nn_maxpool_backward(&l->s, l->n, c->r, l->argmax, c->in[0].g);
    else
        nn_avgpool_backward(&l->s, l->n, c->r, c->in[0].g);
}

static void one_input_case(gc_case *c, nn_rng *r, size_t nx, size_t ny)
{
    c->out_n = ny;
    c->out = rand_array(ny, r, 1);
    c->r = rand_array(ny, r, 1);
    c->in[0] = (gc_input){"x", rand_array(nx, r, 1), rand_array(nx, r, 0), nx};
    c->n_in = 1;
}

static void free_case(gc_case *c)
{
    for (int i = 0; i < c->n_in; i++) {
        nn_free(c->in[i].x);
        nn_free(c->in[i].g);
    }
    nn_free(c->out);
    nn_free(c->r);
}

static void check_pool(int max, int k, int stride, int pad)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(k * 10 + stride + pad * 100 + max * 1000));
    nn_backend be;
    backend_for(&be, 0); /* pooling has no kernels: one backend suffices */
    misc_layer l = {.n = 2, .max = max};
    ck_assert_int_eq(nn_pool_shape_init(&l.s, 3, 7, 8, k, stride, pad), 0);
    size_t nx = 2 * 3 * 7 * 8, ny = (size_t)2 * 3 * (size_t)(l.s.h_out * l.s.w_out);
    l.argmax = nn_alloc(ny, sizeof(int32_t));
    gc_case c = {.forward = pool_fwd, .backward = pool_bwd, .be = &be, .layer = &l};
    one_input_case(&c, &r, nx, ny);
    char what[64];
    snprintf(what, sizeof what, "%s pool k%d s%d p%d", max ? "max" : "avg", k, stride, pad);
    gradcheck(&c, what);
    free_case(&c);
    nn_free(l.argmax);
    nn_backend_release(&be);
}

START_TEST(test_pool_grad)
{
    check_pool(1, 2, 2, 0);
    check_pool(1, 3, 2, 1);
    check_pool(1, 3, 1, 1);
    check_pool(0, 2, 2, 0);
    check_pool(0, 3, 2, 1);
    check_pool(0, 3, 1, 1);
}
END_TEST

START_TEST(test_maxpool_values)
{
    /* A known case: padding never wins, even against negative values. */
    nn_pool_shape s;
    ck_assert_int_eq(nn_pool_shape_init(&s, 1, 2, 2, 3, 2, 1), 0);
    ck_assert_int_eq(s.h_out, 1);
    nn_real x[4] = {-4, -3, -2, -1}, y[1];
    int32_t am[1];
    nn_maxpool_forward(&s, 1, x, y, am);
    ck_assert_double_eq(y[0], -1);
    ck_assert_int_eq(am[0], 3);
    ck_assert_int_eq(nn_pool_shape_init(&s, 1, 4, 4, 2, 2, 2), -EINVAL);
}
END_TEST

static void gap_fwd(gc_case *c)
{
    misc_layer *l = c->layer;
    nn_gap_forward(l->n, l->gap_c, l->gap_hw, c->in[0].x, c->out);
}

static void gap_bwd(gc_case *c)
{
    misc_layer *l = c->layer;
    nn_gap_backward(l->n, l->gap_c, l->gap_hw, c->r, c->in[0].g);
}

START_TEST(test_gap_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 5);
    nn_backend be;
    backend_for(&be, 0);
    misc_layer l = {.n = 3, .gap_c = 4, .gap_hw = 9};
    gc_case c = {.forward = gap_fwd, .backward = gap_bwd, .be = &be, .layer = &l};
    one_input_case(&c, &r, 3 * 4 * 9, 3 * 4);
    gradcheck(&c, "global average pool");
    free_case(&c);
    nn_backend_release(&be);
}
END_TEST

static void bn_fwd(gc_case *c)
{
    misc_layer *l = c->layer;
    nn_batchnorm_forward(l->bn, l->n, l->bn_c, l->bn_hw, c->in[0].x, c->in[1].x, c->in[2].x,
                         l->rm, l->rv, l->sm, l->si, c->out);
}

static void bn_bwd(gc_case *c)
{
    misc_layer *l = c->layer;
    nn_batchnorm_backward(l->bn, l->n, l->bn_c, l->bn_hw, c->in[0].x, c->in[1].x, l->sm, l->si,
                          c->r, c->in[0].g, c->in[1].g, c->in[2].g);
}

static void check_bn(int training, int n, int ch, int hw)
{
    nn_rng r;
    nn_rng_seed(&r, (uint64_t)(training * 7 + hw));
    nn_backend be;
    backend_for(&be, 0);
    misc_layer l = {.n = n, .bn_c = ch, .bn_hw = hw,
                    .bn = {.training = training, .momentum = 0.1, .eps = 1e-5}};
    l.rm = rand_array((size_t)ch, &r, 0.5);
    l.rv = rand_array((size_t)ch, &r, 0.5);
    for (int i = 0; i < ch; i++)
        l.rv[i] += 1; /* a variance */
    l.sm = nn_alloc((size_t)ch, sizeof(nn_real));
    l.si = nn_alloc((size_t)ch, sizeof(nn_real));
    gc_case c = {.forward = bn_fwd, .backward = bn_bwd, .be = &be, .layer = &l};
    size_t nx = (size_t)n * (size_t)ch * (size_t)hw;
    one_input_case(&c, &r, nx, nx);
    c.in[1] = (gc_input){"gamma", rand_array((size_t)ch, &r, 1), rand_array((size_t)ch, &r, 0),
                         (size_t)ch};
    c.in[2] = (gc_input){"beta", rand_array((size_t)ch, &r, 1), rand_array((size_t)ch, &r, 0),
                         (size_t)ch};
    c.n_in = 3;
    if (training) {
        /* Training mode normalises with the batch's statistics. */
        nn_real *y = c.out;
        bn_fwd(&c);
        for (int k = 0; k < ch; k++) {
            double s = 0, ss = 0;
            for (int i = 0; i < n; i++)
                for (int j = 0; j < hw; j++) {
                    double v = (y[((size_t)i * (size_t)ch + (size_t)k) * (size_t)hw +
                                  (size_t)j] - c.in[2].x[k]) / c.in[1].x[k];
                    s += v;
                    ss += v * v;
                }
            double cnt = (double)n * hw;
            ck_assert_double_eq_tol(s / cnt, 0, 1e-9);
            ck_assert_double_eq_tol(ss / cnt, 1, 1e-3); /* eps shifts it slightly */
        }
    }
    char what[64];
    snprintf(what, sizeof what, "batch norm (%s, hw=%d)", training ? "train" : "eval", hw);
    gradcheck(&c, what);
    free_case(&c);
    nn_free(l.rm);
    nn_free(l.rv);
    nn_free(l.sm);
    nn_free(l.si);
    nn_backend_release(&be);
}

START_TEST(test_bn_grad)
{
    check_bn(1, 4, 3, 5);
    check_bn(1, 6, 5, 1); /* after a linear layer */
    check_bn(0, 4, 3, 5);
    check_bn(0, 6, 5, 1);
}
END_TEST

START_TEST(test_bn_running_stats)
{
    /* PyTorch's rule: running = 0.9*running + 0.1*batch, with the
     * unbiased variance. x = {1, 2, 3, 6} for one channel. */
    nn_bn_mode mode = {.training = 1, .momentum = 0.1, .eps = 1e-5};
    nn_real x[4] = {1, 2, 3, 6}, y[4], g = 1, b = 0, rm = 0, rv = 1, sm, si;
    nn_batchnorm_forward(mode, 4, 1, 1, x, &g, &b, &rm, &rv, &sm, &si, y);
    ck_assert_double_eq_tol(rm, 0.1 * 3.0, 1e-12);
    ck_assert_double_eq_tol(rv, 0.9 + 0.1 * (14.0 / 3.0), 1e-12);
    ck_assert_double_eq_tol(si, 1.0 / sqrt(3.5 + 1e-5), 1e-12);
}
END_TEST

static void relu_fwd(gc_case *c)
{
    nn_relu_forward(c->out_n, c->in[0].x, c->out);
}

static void relu_bwd(gc_case *c)
{
    nn_relu_backward(c->out_n, c->out, c->r, c->in[0].g);
}

static void add_fwd(gc_case *c)
{
    nn_add_forward(c->out_n, c->in[0].x, c->in[1].x, c->out);
}

static void add_bwd(gc_case *c)
{
    nn_add_backward(c->out_n, c->r, c->in[0].g, c->in[1].g);
}

START_TEST(test_elementwise_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 3);
    nn_backend be;
    backend_for(&be, 0);
    gc_case c = {.forward = relu_fwd, .backward = relu_bwd, .be = &be};
    one_input_case(&c, &r, 50, 50);
    for (int i = 0; i < 50; i++) /* keep away from the kink */
        if (fabs(c.in[0].x[i]) < 1e-3)
            c.in[0].x[i] = 0.5;
    gradcheck(&c, "relu");
    free_case(&c);

    gc_case a = {.forward = add_fwd, .backward = add_bwd, .be = &be};
    one_input_case(&a, &r, 30, 30);
    a.in[1] = (gc_input){"b", rand_array(30, &r, 1), rand_array(30, &r, 0), 30};
    a.n_in = 2;
    gradcheck(&a, "residual add");
    free_case(&a);
    nn_backend_release(&be);
}
END_TEST

/* Softmax cross-entropy: checked on the loss itself (L = loss, r = 1). */
typedef struct {
    int n, k;
    int32_t labels[8];
    nn_real *probs, loss;
} xent_layer;

static void xent_fwd(gc_case *c)
{
    xent_layer *l = c->layer;
    c->out[0] = (nn_real)nn_xent_forward(l->n, l->k, c->in[0].x, l->labels, l->probs);
}

static void xent_bwd(gc_case *c)
{
    xent_layer *l = c->layer;
    /* dL/dloss = r[0] scales the gradient. */
    size_t nk = (size_t)l->n * (size_t)l->k;
    nn_real *tmp = nn_alloc(nk, sizeof(nn_real));
    nn_xent_backward(l->n, l->k, l->probs, l->labels, tmp);
    for (size_t i = 0; i < nk; i++)
        c->in[0].g[i] += c->r[0] * tmp[i];
    nn_free(tmp);
}

START_TEST(test_xent_grad)
{
    nn_rng r;
    nn_rng_seed(&r, 11);
    nn_backend be;
    backend_for(&be, 0);
    xent_layer l = {.n = 6, .k = 5};
    for (int i = 0; i < l.n; i++)
        l.labels[i] = (int32_t)nn_rng_below(&r, 5);
    l.probs = nn_alloc(30, sizeof(nn_real));
    gc_case c = {.forward = xent_fwd, .backward = xent_bwd, .be = &be, .layer = &l};
    one_input_case(&c, &r, 30, 1);
    for (int i = 0; i < 30; i++)
        c.in[0].x[i] *= 5;
    gradcheck(&c, "softmax cross-entropy");
    /* Large logits stay finite (log-sum-exp). */
    nn_real big[2] = {1000, -1000};
    int32_t lab = 1;
    nn_real p[2];
    double loss = nn_xent_forward(1, 2, big, &lab, p);
    ck_assert_double_eq_tol(loss, 2000, 1e-9);
    free_case(&c);
    nn_free(l.probs);
    nn_backend_release(&be);
}
END_TEST

/* ---- a whole model: conv, bn, relu, pools, residual add, gap, flatten,
 * linear, and the loss, through the graph's backward ---- */

static int build_tiny_resnet(nn_model *m)
{
    int rc = nn_model_init(m, 2, 8, 8);
    int x = 0, a, b, s;
    if (rc < 0)
        return rc;
    if ((a = nn_add_conv(m, "stem", x, 4, 3, 1, 1, 0)) < 0 || (a = nn_add_bn(m, "bn0", a)) < 0 ||
        (a = nn_add_relu(m, a)) < 0 || (a = nn_add_maxpool(m, a, 2, 2, 0)) < 0)
        return -1;
    /* a basic block with a projection shortcut */
    if ((b = nn_add_conv(m, "blk.conv1", a, 6, 3, 2, 1, 0)) < 0 ||
        (b = nn_add_bn(m, "blk.bn1", b)) < 0 || (b = nn_add_relu(m, b)) < 0 ||
        (b = nn_add_conv(m, "blk.conv2", b, 6, 3, 1, 1, 0)) < 0 ||
        (b = nn_add_bn(m, "blk.bn2", b)) < 0 ||
        (s = nn_add_conv(m, "blk.down.0", a, 6, 1, 2, 0, 0)) < 0 ||
        (s = nn_add_bn(m, "blk.down.1", s)) < 0 || (b = nn_add_add(m, b, s)) < 0 ||
        (b = nn_add_relu(m, b)) < 0)
        return -1;
    /* an identity block: the block's input is read twice */
    int c2;
    if ((c2 = nn_add_conv(m, "id.conv", b, 6, 3, 1, 1, 1)) < 0 ||
        (c2 = nn_add_add(m, c2, b)) < 0 || (c2 = nn_add_avgpool(m, c2, 2, 1, 0)) < 0)
        return -1;
    int g, f;
    if ((g = nn_add_gap(m, c2)) < 0 || (f = nn_add_flatten(m, c2)) < 0 ||
        (f = nn_add_linear(m, "fc0", f, 5, 1)) < 0 || (f = nn_add_relu(m, f)) < 0)
        return -1;
    (void)g;
    if ((f = nn_add_linear(m, "fc", f, 3, 1)) < 0)
        return -1;
    return 0;
}

START_TEST(test_model_grad)
{
    for (int v = 0; v < N_VARIANTS; v++)
        for (int training = 0; training < 2; training++) {
            nn_backend be;
            backend_for(&be, v);
            nn_model m;
            char err[256];
            ck_assert_int_eq(build_tiny_resnet(&m), 0);
            ck_assert_msg(nn_model_compile(&m, &be, 4, err, sizeof err) == 0, "%s", err);
            nn_model_init_weights(&m, 7);
            nn_rng r;
            nn_rng_seed(&r, 99);
            int n = 4;
            size_t nx = (size_t)n * nn_model_input_size(&m);
            nn_real *x = rand_array(nx, &r, 1);
            int32_t labels[4] = {0, 2, 1, 2};
            /* Batch norm in training mode updates its running statistics
             * on every pass; they do not enter that mode's output, and in
             * inference mode they are only read. */
            nn_model_zero_grad(&m);
            nn_model_forward(&m, x, n, training);
            nn_model_loss(&m, n, labels);
            nn_model_backward(&m, n, labels);
            double worst = 0;
            for (int p = 0; p < m.n_params; p++) {
                nn_param *prm = &m.params[p];
                if (!prm->trainable)
                    continue;
                for (size_t t = 0; t < 12 && t < prm->size; t++) {
                    size_t i = prm->size <= 12 ? t : (size_t)nn_rng_below(&r, prm->size);
                    nn_real keep = prm->data[i];
                    prm->data[i] = keep + FD_STEP;
                    nn_model_forward(&m, x, n, training);
                    double lp = nn_model_loss(&m, n, labels);
                    prm->data[i] = keep - FD_STEP;
                    nn_model_forward(&m, x, n, training);
                    double lm = nn_model_loss(&m, n, labels);
                    prm->data[i] = keep;
                    double num = (lp - lm) / (2 * FD_STEP), ana = prm->grad[i];
                    double e = fabs(num - ana) / fmax(1.0, fabs(num) + fabs(ana));
                    ck_assert_msg(e <= FD_TOL, "model (%s, %s): d/d%s[%zu]: %.10g vs %.10g",
                                  be.k->name, training ? "train" : "eval", prm->name, i, ana,
                                  num);
                    if (e > worst)
                        worst = e;
                }
            }
            nn_free(x);
            nn_model_free(&m);
            nn_backend_release(&be);
        }
}
END_TEST

START_TEST(test_model_errors)
{
    nn_model m;
    ck_assert_int_eq(nn_model_init(&m, 1, 4, 4), 0);
    /* a linear layer on an image needs a flatten first */
    ck_assert_int_eq(nn_add_linear(&m, "fc", 0, 3, 1), -EINVAL);
    /* a kernel larger than the padded input */
    ck_assert_int_eq(nn_add_conv(&m, "c", 0, 2, 7, 1, 1, 0), -EINVAL);
    int a = nn_add_conv(&m, "c", 0, 2, 3, 1, 1, 0);
    ck_assert_int_ge(a, 1);
    ck_assert_int_eq(nn_add_add(&m, a, 0), -EINVAL); /* 2 channels + 1 channel */
    nn_backend be;
    backend_for(&be, 0);
    char err[256];
    ck_assert_int_eq(nn_model_compile(&m, &be, 2, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a vector"));
    nn_model_free(&m);
    nn_backend_release(&be);
}
END_TEST

START_TEST(test_init_bounds)
{
    /* PyTorch's defaults: U(+-1/sqrt(fan_in)) for weights and biases. */
    nn_model m;
    nn_backend be;
    backend_for(&be, 0);
    char err[256];
    ck_assert_int_eq(nn_model_init(&m, 3, 6, 6), 0);
    int a = nn_add_conv(&m, "conv", 0, 8, 3, 1, 0, 1);
    a = nn_add_flatten(&m, a);
    a = nn_add_linear(&m, "fc", a, 4, 1);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(nn_model_compile(&m, &be, 1, err, sizeof err), 0);
    nn_model_init_weights(&m, 1);
    struct {
        const char *name;
        double bound;
    } want[] = {{"conv.weight", 1 / sqrt(27.0)},
                {"conv.bias", 1 / sqrt(27.0)},
                {"fc.weight", 1 / sqrt(128.0)},
                {"fc.bias", 1 / sqrt(128.0)}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        const nn_param *p = nn_model_find(&m, want[k].name);
        ck_assert_ptr_nonnull(p);
        double mx = 0;
        for (size_t i = 0; i < p->size; i++)
            mx = fmax(mx, fabs(p->data[i]));
        ck_assert_msg(mx <= want[k].bound && mx > 0.5 * want[k].bound, "%s: max |w| %g, bound %g",
                      want[k].name, mx, want[k].bound);
    }
    /* The same seed gives the same weights. */
    nn_real first = m.weights[0];
    nn_model_init_weights(&m, 1);
    ck_assert_double_eq(first, m.weights[0]);
    nn_model_init_weights(&m, 2);
    ck_assert_double_ne(first, m.weights[0]);
    nn_model_free(&m);
    nn_backend_release(&be);
}
END_TEST

/* ---- optimisers: the update rules, step by step ---- */

START_TEST(test_sgd)
{
    char err[256];
    nn_optim o;
    ck_assert_int_eq(nn_optim_init(&o, NN_SGD, 1, 0.1, 0.9, 0.01, err, sizeof err), 0);
    nn_real w = 1, g = 0.5;
    /* step 1: d = g + wd*w = 0.51; buf = 0.51; w = 1 - 0.051 */
    nn_optim_step(&o, &w, &g);
    ck_assert_double_eq_tol(w, 0.949, 1e-12);
    /* step 2: d = 0.5 + 0.00949; buf = 0.9*0.51 + d */
    double buf = 0.9 * 0.51 + 0.5 + 0.01 * 0.949;
    nn_optim_step(&o, &w, &g);
    ck_assert_double_eq_tol(w, 0.949 - 0.1 * buf, 1e-12);
    nn_optim_free(&o);
    ck_assert_int_eq(nn_optim_init(&o, NN_SGD, 1, -1, 0.9, 0, err, sizeof err), -EINVAL);
    ck_assert_ptr_nonnull(strstr(err, "lr"));
}
END_TEST

START_TEST(test_adam)
{
    char err[256];
    nn_optim o;
    ck_assert_int_eq(nn_optim_init(&o, NN_ADAM, 2, 0.01, 0, 0, err, sizeof err), 0);
    nn_real w[2] = {1, -2}, g[2] = {0.3, -4};
    double m[2] = {0, 0}, v[2] = {0, 0}, ref[2] = {1, -2};
    for (int t = 1; t <= 3; t++) {
        nn_optim_step(&o, w, g);
        for (int i = 0; i < 2; i++) {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
            double mh = m[i] / (1 - pow(0.9, t)), vh = v[i] / (1 - pow(0.999, t));
            ref[i] -= 0.01 * mh / (sqrt(vh) + 1e-8);
            ck_assert_double_eq_tol(w[i], ref[i], 1e-12);
        }
    }
    /* Adam's first step moves every weight by about lr, whatever the
     * gradient's scale. */
    ck_assert_double_eq_tol(ref[0], 1 - 0.03, 1e-6);
    nn_optim_free(&o);
}
END_TEST

/* ---- weight files ---- */

static char tmpdir[256];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mlb-test-nn-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void path_in_tmp(char *out, size_t n, const char *name)
{
    snprintf(out, n, "%s/%s", tmpdir, name);
}

static void compiled_tiny(nn_model *m, nn_backend *be, uint64_t seed)
{
    char err[256];
    backend_for(be, 0);
    ck_assert_int_eq(build_tiny_resnet(m), 0);
    ck_assert_int_eq(nn_model_compile(m, be, 2, err, sizeof err), 0);
    nn_model_init_weights(m, seed);
    for (size_t i = 0; i < m->n_buffers; i++) /* running statistics */
        m->buffers[i] = (nn_real)(0.25 + 0.001 * (double)i);
}

static long file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void patch_byte(const char *path, long at, unsigned char value)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, at, SEEK_SET);
    fputc(value, f);
    fclose(f);
}

static void flip_byte(const char *path, long at)
{
    FILE *f = fopen(path, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, at, SEEK_SET);
    int ch = fgetc(f);
    fseek(f, at, SEEK_SET);
    fputc(ch ^ 0x10, f);
    fclose(f);
}

static void copy_file(const char *from, const char *to, long limit)
{
    FILE *a = fopen(from, "rb"), *b = fopen(to, "wb");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(b);
    int ch;
    for (long i = 0; (limit < 0 || i < limit) && (ch = fgetc(a)) != EOF; i++)
        fputc(ch, b);
    fclose(a);
    fclose(b);
}

static void expect_load_error(nn_model *m, const char *path, const char *needle)
{
    char err[512] = "";
    int rc = nn_weights_load(m, path, err, sizeof err);
    ck_assert_int_lt(rc, 0);
    ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
    ck_assert_msg(strstr(err, path) != NULL, "error '%s' lacks the path", err);
}

START_TEST(test_weights_round_trip)
{
    make_tmpdir();
    char path[512], err[512];
    path_in_tmp(path, sizeof path, "w.bin");
    nn_model a, b;
    nn_backend ba, bb;
    compiled_tiny(&a, &ba, 1);
    compiled_tiny(&b, &bb, 2);
    ck_assert_msg(nn_weights_save(&a, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(nn_weights_load(&b, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(memcmp(a.weights, b.weights, a.n_weights * sizeof(nn_real)), 0);
    ck_assert_int_eq(memcmp(a.buffers, b.buffers, a.n_buffers * sizeof(nn_real)), 0);

    /* Header fields, as docs/weights-format.md specifies them. */
    FILE *f = fopen(path, "rb");
    unsigned char h[24];
    ck_assert_uint_eq(fread(h, 1, 24, f), 24);
    fclose(f);
    ck_assert_int_eq(memcmp(h, "MLBNNWT\0", 8), 0);
    ck_assert_uint_eq(h[8], 1);               /* version */
    ck_assert_uint_eq(h[12], sizeof(nn_real)); /* element size */
    ck_assert_uint_eq(h[16] | h[17] << 8, (unsigned)a.n_params);
    unlink(path);
    nn_model_free(&a);
    nn_model_free(&b);
    nn_backend_release(&ba);
    nn_backend_release(&bb);
    rmdir(tmpdir);
}
END_TEST

START_TEST(test_weights_corrupt)
{
    make_tmpdir();
    char good[512], bad[512], err[512];
    path_in_tmp(good, sizeof good, "good.bin");
    path_in_tmp(bad, sizeof bad, "bad.bin");
    nn_model m;
    nn_backend be;
    compiled_tiny(&m, &be, 1);
    ck_assert_int_eq(nn_weights_save(&m, good, err, sizeof err), 0);
    long size = file_size(good);

    path_in_tmp(bad, sizeof bad, "missing.bin");
    expect_load_error(&m, bad, "cannot open");
    path_in_tmp(bad, sizeof bad, "bad.bin");

    copy_file(good, bad, -1);
    patch_byte(bad, 0, 'X');
    expect_load_error(&m, bad, "bad magic");

    copy_file(good, bad, -1);
    patch_byte(bad, 8, 7);
    expect_load_error(&m, bad, "version 7");

    copy_file(good, bad, -1);
    patch_byte(bad, 12, 2);
    expect_load_error(&m, bad, "element size 2");

    copy_file(good, bad, size / 2);
    expect_load_error(&m, bad, "checksum");

    copy_file(good, bad, 10);
    expect_load_error(&m, bad, "too short");

    copy_file(good, bad, -1);
    flip_byte(bad, size / 2);
    expect_load_error(&m, bad, "checksum");

    /* A well-formed file of another model: a missing tensor, an unknown
     * one, another shape. */
    nn_model other;
    ck_assert_int_eq(nn_model_init(&other, 2, 8, 8), 0);
    int a = nn_add_conv(&other, "stem", 0, 4, 3, 1, 1, 0);
    a = nn_add_flatten(&other, a);
    a = nn_add_linear(&other, "fc", a, 3, 1);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(nn_model_compile(&other, &be, 1, err, sizeof err), 0);
    ck_assert_int_eq(nn_weights_save(&other, bad, err, sizeof err), 0);
    expect_load_error(&m, bad, "fc.weight' has another shape");
    ck_assert_int_eq(nn_weights_save(&m, bad, err, sizeof err), 0);
    expect_load_error(&other, bad, "is not in this model");

    nn_model fewer;
    ck_assert_int_eq(nn_model_init(&fewer, 2, 8, 8), 0);
    a = nn_add_conv(&fewer, "stem", 0, 4, 3, 1, 1, 0);
    a = nn_add_gap(&fewer, a);
    ck_assert_int_ge(a, 0);
    ck_assert_int_eq(nn_model_compile(&fewer, &be, 1, err, sizeof err), 0);
    ck_assert_int_eq(nn_weights_save(&fewer, bad, err, sizeof err), 0);
    expect_load_error(&m, bad, "is missing");

    unlink(good);
    unlink(bad);
    rmdir(tmpdir);
    nn_model_free(&m);
    nn_model_free(&other);
    nn_model_free(&fewer);
    nn_backend_release(&be);
}
END_TEST

static Suite *nn_suite(void)
{
    Suite *s = suite_create("nn");
    TCase *g = tcase_create("gradients");
    tcase_set_timeout(g, 120);
    tcase_add_test(g, test_linear_grad);
    tcase_add_test(g, test_conv_grad);
    tcase_add_test(g, test_conv_variants_agree);
    tcase_add_test(g, test_pool_grad);
    tcase_add_test(g, test_maxpool_values);
    tcase_add_test(g, test_gap_grad);
    tcase_add_test(g, test_bn_grad);
    tcase_add_test(g, test_bn_running_stats);
    tcase_add_test(g, test_elementwise_grad);
    tcase_add_test(g, test_xent_grad);
    tcase_add_test(g, test_model_grad);
    suite_add_tcase(s, g);
    TCase *o = tcase_create("model");
    tcase_add_test(o, test_model_errors);
    tcase_add_test(o, test_init_bounds);
    tcase_add_test(o, test_sgd);
    tcase_add_test(o, test_adam);
    tcase_add_test(o, test_weights_round_trip);
    tcase_add_test(o, test_weights_corrupt);
    suite_add_tcase(s, o);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(nn_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
