/*
 * Unit tests of the NN core's recurrent layers (plugins/nn/recurrent.c),
 * against its float64 build as tests/test_nn.c: every cell's
 * backpropagation through time checked against central finite differences
 * (the input and every weight and bias), for 1 and 2 layers, one and two
 * directions, with both kernel tables; the loss through a linear head in a
 * model; PyTorch's parameter names and shapes; weight files; gradient
 * clipping; PyTorch's own float64 forward, loss and gradients for every
 * cell (tests/ref/rnn, made by make_ref.py there). The float32 build
 * against PyTorch: tools/parity/rnn_torch.py.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nn.h"

#ifndef NN_DOUBLE
#error "test_nn_recurrent checks gradients in double precision: build it against nn64"
#endif

/* As test_nn.c: h = 1e-5 puts the central difference's error near 1e-10. */
#define FD_STEP 1e-5
#define FD_TOL 1e-6
#define FD_SAMPLES 16

static const nn_kernels *const variants[] = {&nn_kernels_naive, &nn_kernels_openblas};
#define N_VARIANTS 2

typedef struct {
    nn_backend be;
    nn_model m;
    int node, n;
    nn_real *x, *dx, *r; /* input [n, T, I], its gradient, dL/dout */
} rec_case;

static void case_init(rec_case *c, int v, nn_cell cell, int T, int I, int H, int layers, int bidir,
                      int n, int head)
{
    char err[256];
    memset(c, 0, sizeof *c);
    ck_assert_msg(nn_backend_init(&c->be, variants[v], 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(nn_model_init(&c->m, T, I, 1), 0);
    c->node = nn_add_recurrent(&c->m, "rnn", 0, cell, H, layers, bidir);
    ck_assert_int_gt(c->node, 0);
    if (head)
        ck_assert_int_gt(nn_add_linear(&c->m, "fc", c->node, 3, 1), 0);
    ck_assert_msg(nn_model_compile(&c->m, &c->be, n, err, sizeof err) == 0, "%s", err);
    nn_model_init_weights(&c->m, 11);
    c->n = n;
    nn_rng r;
    nn_rng_seed(&r, 5);
    size_t nx = (size_t)n * (size_t)T * (size_t)I;
    c->x = nn_alloc(nx, sizeof *c->x);
    c->dx = nn_alloc(nx, sizeof *c->dx);
    c->r = nn_alloc((size_t)n * c->m.nodes[c->node].size, sizeof *c->r);
    ck_assert(c->x && c->dx && c->r);
    for (size_t i = 0; i < nx; i++)
        c->x[i] = (nn_real)(2 * nn_rng_uniform(&r) - 1);
    for (size_t i = 0; i < (size_t)n * c->m.nodes[c->node].size; i++)
        c->r[i] = (nn_real)(2 * nn_rng_uniform(&r) - 1);
    /* Larger weights than the default init, so that gates saturate
     * partly and every term of the backward pass carries weight. */
    for (size_t i = 0; i < c->m.n_weights; i++)
        c->m.weights[i] *= 2;
}

static void case_free(rec_case *c)
{
    nn_free(c->x);
    nn_free(c->dx);
    nn_free(c->r);
    nn_model_free(&c->m);
    nn_backend_release(&c->be);
}

/* L = sum(r * output of the recurrent node) */
static double objective(rec_case *c)
{
    nn_node *nd = &c->m.nodes[c->node];
    nn_recurrent_forward(&c->m, nd, c->x, c->n);
    double s = 0;
    for (size_t i = 0; i < (size_t)c->n * nd->size; i++)
        s += (double)c->r[i] * (double)nd->y[i];
    return s;
}

static void check_one(rec_case *c, nn_real *p, const nn_real *g, size_t size, const char *what,
                      nn_rng *rng)
{
    for (size_t t = 0; t < FD_SAMPLES && t < size; t++) {
        size_t i = size <= FD_SAMPLES ? t : (size_t)nn_rng_below(rng, size);
        nn_real keep = p[i];
        p[i] = keep + FD_STEP;
        double lp = objective(c);
        p[i] = keep - FD_STEP;
        double lm = objective(c);
        p[i] = keep;
        double num = (lp - lm) / (2 * FD_STEP), ana = g[i];
        double e = fabs(num - ana) / fmax(1.0, fabs(num) + fabs(ana));
        ck_assert_msg(e <= FD_TOL, "%s[%zu]: analytic %.10g, numeric %.10g", what, i, ana, num);
    }
}

static void check_cell(int v, nn_cell cell, int layers, int bidir)
{
    rec_case c;
    int T = 5, I = 3, H = 4, n = 3;
    case_init(&c, v, cell, T, I, H, layers, bidir, n, 0);
    char what[160];
    snprintf(what, sizeof what, "%s, %d layer(s), %s, %s kernels", nn_cell_name(cell), layers,
             bidir ? "bidirectional" : "one direction", variants[v]->name);
    nn_node *nd = &c.m.nodes[c.node];
    objective(&c);
    memcpy(nd->dy, c.r, (size_t)n * nd->size * sizeof *c.r);
    nn_model_zero_grad(&c.m);
    memset(c.dx, 0, (size_t)n * T * I * sizeof *c.dx);
    nn_recurrent_backward(&c.m, nd, c.dx, n);
    /* Copies: the finite differences rerun the forward pass only, but keep
     * the analytic values apart from anything a pass may touch. */
    size_t nx = (size_t)n * T * I;
    nn_real *gx = nn_alloc(nx, sizeof *gx), *gw = nn_alloc(c.m.n_weights, sizeof *gw);
    ck_assert(gx && gw);
    memcpy(gx, c.dx, nx * sizeof *gx);
    memcpy(gw, c.m.grads, c.m.n_weights * sizeof *gw);
    nn_rng rng;
    nn_rng_seed(&rng, 3);
    char w2[240];
    snprintf(w2, sizeof w2, "%s: input", what);
    check_one(&c, c.x, gx, nx, w2, &rng);
    for (int p = 0; p < c.m.n_params; p++) {
        nn_param *prm = &c.m.params[p];
        snprintf(w2, sizeof w2, "%s: %s", what, prm->name);
        check_one(&c, prm->data, gw + prm->offset, prm->size, w2, &rng);
    }
    nn_free(gx);
    nn_free(gw);
    case_free(&c);
}

START_TEST(test_recurrent_grad)
{
    static const nn_cell cells[] = {NN_CELL_RNN_TANH, NN_CELL_RNN_RELU, NN_CELL_LSTM, NN_CELL_GRU};
    for (int v = 0; v < N_VARIANTS; v++)
        for (int k = 0; k < 4; k++)
            for (int layers = 1; layers <= 2; layers++)
                for (int bidir = 0; bidir < 2; bidir++)
                    check_cell(v, cells[k], layers, bidir);
}
END_TEST

/* The whole model: recurrent node, linear head, cross-entropy, through
 * nn_model_backward. */
START_TEST(test_recurrent_model_grad)
{
    for (int v = 0; v < N_VARIANTS; v++)
        for (int cell = NN_CELL_LSTM; cell <= NN_CELL_GRU; cell++) {
            rec_case c;
            int n = 4;
            case_init(&c, v, (nn_cell)cell, 6, 2, 3, 2, 1, n, 1);
            int32_t labels[4] = {0, 2, 1, 2};
            nn_model_zero_grad(&c.m);
            nn_model_forward(&c.m, c.x, n, 1);
            nn_model_loss(&c.m, n, labels);
            nn_model_backward(&c.m, n, labels);
            nn_rng rng;
            nn_rng_seed(&rng, 8);
            for (int p = 0; p < c.m.n_params; p++) {
                nn_param *prm = &c.m.params[p];
                for (size_t t = 0; t < 8 && t < prm->size; t++) {
                    size_t i = (size_t)nn_rng_below(&rng, prm->size);
                    nn_real keep = prm->data[i];
                    prm->data[i] = keep + FD_STEP;
                    nn_model_forward(&c.m, c.x, n, 1);
                    double lp = nn_model_loss(&c.m, n, labels);
                    prm->data[i] = keep - FD_STEP;
                    nn_model_forward(&c.m, c.x, n, 1);
                    double lm = nn_model_loss(&c.m, n, labels);
                    prm->data[i] = keep;
                    double num = (lp - lm) / (2 * FD_STEP), ana = prm->grad[i];
                    double e = fabs(num - ana) / fmax(1.0, fabs(num) + fabs(ana));
                    ck_assert_msg(e <= FD_TOL, "model %s (%s): d/d%s[%zu]: %.10g vs %.10g",
                                  nn_cell_name((nn_cell)cell), variants[v]->name, prm->name, i,
                                  ana, num);
                }
            }
            case_free(&c);
        }
}
END_TEST

/* PyTorch's state_dict keys and shapes for nn.LSTM(3, 4, num_layers=2,
 * bidirectional=True, batch_first=True) as module `rnn`, in its order, and
 * the init bound 1/sqrt(hidden). */
START_TEST(test_recurrent_params)
{
    rec_case c;
    case_init(&c, 0, NN_CELL_LSTM, 5, 3, 4, 2, 1, 2, 1);
    static const struct {
        const char *name;
        int d0, d1;
    } want[] = {
        {"rnn.weight_ih_l0", 16, 3},         {"rnn.weight_hh_l0", 16, 4},
        {"rnn.bias_ih_l0", 16, 0},           {"rnn.bias_hh_l0", 16, 0},
        {"rnn.weight_ih_l0_reverse", 16, 3}, {"rnn.weight_hh_l0_reverse", 16, 4},
        {"rnn.bias_ih_l0_reverse", 16, 0},   {"rnn.bias_hh_l0_reverse", 16, 0},
        {"rnn.weight_ih_l1", 16, 8},         {"rnn.weight_hh_l1", 16, 4},
        {"rnn.bias_ih_l1", 16, 0},           {"rnn.bias_hh_l1", 16, 0},
        {"rnn.weight_ih_l1_reverse", 16, 8}, {"rnn.weight_hh_l1_reverse", 16, 4},
        {"rnn.bias_ih_l1_reverse", 16, 0},   {"rnn.bias_hh_l1_reverse", 16, 0},
        {"fc.weight", 3, 8},                 {"fc.bias", 3, 0},
    };
    ck_assert_int_eq(c.m.n_params, (int)(sizeof want / sizeof want[0]));
    for (int i = 0; i < c.m.n_params; i++) {
        const nn_param *p = &c.m.params[i];
        ck_assert_str_eq(p->name, want[i].name);
        ck_assert_int_eq(p->dims[0], want[i].d0);
        ck_assert_int_eq(p->ndim, want[i].d1 ? 2 : 1);
        if (want[i].d1)
            ck_assert_int_eq(p->dims[1], want[i].d1);
    }
    nn_model_init_weights(&c.m, 3);
    double lo = 0, hi = 0;
    for (int i = 0; i < 16; i++) {
        const nn_param *p = &c.m.params[i];
        for (size_t j = 0; j < p->size; j++) {
            lo = fmin(lo, p->data[j]);
            hi = fmax(hi, p->data[j]);
        }
    }
    ck_assert(hi <= 0.5 && lo >= -0.5);
    ck_assert(hi > 0.45 && lo < -0.45); /* the whole range is used */
    /* Output node: the last step of both directions. */
    ck_assert_int_eq(c.m.nodes[c.node].c, 8);
    ck_assert_int_eq(nn_model_input_size(&c.m), 15);
    /* Not a sequence: a (c, h, w) image with w > 1. */
    nn_model bad;
    ck_assert_int_eq(nn_model_init(&bad, 2, 3, 4), 0);
    ck_assert_int_lt(nn_add_recurrent(&bad, "rnn", 0, NN_CELL_GRU, 4, 1, 0), 0);
    ck_assert_int_lt(nn_add_recurrent(&bad, "rnn", 0, NN_CELL_GRU, 0, 1, 0), 0);
    nn_model_free(&bad);
    ck_assert_int_eq(nn_cell_parse("gru"), NN_CELL_GRU);
    ck_assert_int_eq(nn_cell_parse("rnn_relu"), NN_CELL_RNN_RELU);
    ck_assert_int_eq(nn_cell_parse("conv"), -1);
    case_free(&c);
}
END_TEST

START_TEST(test_recurrent_weights_round_trip)
{
    char dir[] = "/tmp/mlb-nnrec-XXXXXX", path[256], err[256];
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/w.bin", dir);
    rec_case a, b;
    case_init(&a, 1, NN_CELL_GRU, 4, 3, 5, 2, 1, 2, 1);
    case_init(&b, 1, NN_CELL_GRU, 4, 3, 5, 2, 1, 2, 1);
    nn_model_init_weights(&b.m, 999);
    ck_assert_msg(nn_weights_save(&a.m, path, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(nn_weights_load(&b.m, path, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(memcmp(a.m.weights, b.m.weights, a.m.n_weights * sizeof(nn_real)), 0);
    /* Another cell has other shapes (3 gates against 4): refused. */
    rec_case l;
    case_init(&l, 1, NN_CELL_LSTM, 4, 3, 5, 2, 1, 2, 1);
    ck_assert_int_lt(nn_weights_load(&l.m, path, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "shape") != NULL, "%s", err);
    case_free(&a);
    case_free(&b);
    case_free(&l);
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(test_clip_grad_norm)
{
    nn_real g[4] = {3, 4, 0, 0};
    double norm = nn_clip_grad_norm(g, 4, 10);
    ck_assert(fabs(norm - 5) < 1e-12);
    ck_assert(g[0] == 3 && g[1] == 4); /* below the bound: untouched */
    norm = nn_clip_grad_norm(g, 4, 1);
    ck_assert(fabs(norm - 5) < 1e-12);
    /* PyTorch's coefficient max_norm / (norm + 1e-6) */
    ck_assert(fabs(g[0] - 3 / (5 + 1e-6)) < 1e-12 && fabs(g[1] - 4 / (5 + 1e-6)) < 1e-12);
}
END_TEST

/* Against PyTorch itself, in float64, without PyTorch at test time: the
 * rnn task's network (2 bidirectional layers, hidden 4, a linear head) with
 * PyTorch's own initial weights, one batch, forward, loss and every
 * gradient, as tests/ref/rnn/make_ref.py computed them. */
#ifndef RNN_REF_DIR
#error "RNN_REF_DIR: the directory of tests/ref/rnn"
#endif

static void read_doubles(FILE *f, double *out, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fscanf(f, "%lf", &out[i]) == 1, "%s: value %zu unreadable", what, i);
}

static void build_ref(nn_model *m, nn_backend *be, int v, nn_cell cell)
{
    char err[256];
    ck_assert_msg(nn_backend_init(be, variants[v], 1, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(nn_model_init(m, 5, 3, 1), 0);
    int r = nn_add_recurrent(m, "rnn", 0, cell, 4, 2, 1);
    ck_assert_int_gt(r, 0);
    ck_assert_int_gt(nn_add_linear(m, "fc", r, 3, 1), 0);
    ck_assert_msg(nn_model_compile(m, be, 3, err, sizeof err) == 0, "%s", err);
}

START_TEST(test_recurrent_pytorch_reference)
{
    static const nn_cell cells[] = {NN_CELL_RNN_TANH, NN_CELL_RNN_RELU, NN_CELL_LSTM, NN_CELL_GRU};
    for (int v = 0; v < N_VARIANTS; v++)
        for (int k = 0; k < 4; k++) {
            const char *name = nn_cell_name(cells[k]);
            char path[512], err[512];
            nn_model m, g;
            nn_backend be, be2;
            build_ref(&m, &be, v, cells[k]);
            build_ref(&g, &be2, v, cells[k]);
            snprintf(path, sizeof path, "%s/%s.weights.bin", RNN_REF_DIR, name);
            ck_assert_msg(nn_weights_load(&m, path, err, sizeof err) == 0, "%s", err);
            snprintf(path, sizeof path, "%s/%s.grads.bin", RNN_REF_DIR, name);
            ck_assert_msg(nn_weights_load(&g, path, err, sizeof err) == 0, "%s", err);
            snprintf(path, sizeof path, "%s/%s.txt", RNN_REF_DIR, name);
            FILE *f = fopen(path, "r");
            ck_assert_msg(f != NULL, "%s: cannot open", path);
            ck_assert(fscanf(f, "%*[^\n]\n") == 0); /* the comment line */
            double xd[45], yd[3], logits[9], loss;
            read_doubles(f, xd, 45, path);
            read_doubles(f, yd, 3, path);
            read_doubles(f, logits, 9, path);
            read_doubles(f, &loss, 1, path);
            fclose(f);
            nn_real x[45];
            int32_t y[3];
            for (int i = 0; i < 45; i++)
                x[i] = xd[i];
            for (int i = 0; i < 3; i++)
                y[i] = (int32_t)yd[i];
            nn_model_zero_grad(&m);
            nn_model_forward(&m, x, 3, 1);
            double l = nn_model_loss(&m, 3, y);
            nn_model_backward(&m, 3, y);
            ck_assert_msg(fabs(l - loss) <= 1e-12 * fabs(loss), "%s (%s): loss %.17g, torch %.17g",
                          name, variants[v]->name, l, loss);
            for (int i = 0; i < 9; i++)
                ck_assert_msg(fabs(nn_model_output(&m)[i] - logits[i]) <= 1e-12,
                              "%s (%s): logit %d: %.17g, torch %.17g", name, variants[v]->name, i,
                              nn_model_output(&m)[i], logits[i]);
            ck_assert_int_eq(m.n_weights, g.n_weights);
            for (size_t i = 0; i < m.n_weights; i++)
                ck_assert_msg(fabs(m.grads[i] - g.weights[i]) <= 1e-12,
                              "%s (%s): gradient %zu: %.17g, torch %.17g", name, variants[v]->name,
                              i, m.grads[i], g.weights[i]);
            nn_model_free(&m);
            nn_model_free(&g);
            nn_backend_release(&be);
            nn_backend_release(&be2);
        }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("nn_recurrent");
    TCase *g = tcase_create("gradients");
    tcase_set_timeout(g, 120);
    tcase_add_test(g, test_recurrent_grad);
    tcase_add_test(g, test_recurrent_model_grad);
    suite_add_tcase(s, g);
    TCase *o = tcase_create("model");
    tcase_add_test(o, test_recurrent_params);
    tcase_add_test(o, test_recurrent_weights_round_trip);
    tcase_add_test(o, test_clip_grad_norm);
    tcase_add_test(o, test_recurrent_pytorch_reference);
    suite_add_tcase(s, o);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
