/*
 * The part of the rnn task every variant shares: parameters, data (Fashion-
 * MNIST rows as sequences, or seeded synthetic sequences), the model, the
 * training loop (BPTT, optional clipping, a test evaluation per epoch for
 * the learning curve), batched inference, metrics, teardown.
 */
#include "rnn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlbench/data.h"
#include "classifier.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the rnn plugins run the float32 NN core");

/* Synthetic data when no size is given: enough batches to time. */
#define RNN_SYNTH_TRAIN 2048
#define RNN_SYNTH_TEST 512
/* Synthetic classes: Gaussian clusters (centres ~ N(0, 2^2) per value)
 * with this spread, learnable but not at a glance. */
#define RNN_SYNTH_NOISE 4.0

typedef struct {
    char model_name[16], nonlinearity[8], dataset[16];
    int hidden, layers, bidirectional;
    int T, I; /* each sample: T steps of I values */
    double clip;
    char weights_out[1024];
    nn_backend be;
    const nn_engine *eng; /* NULL: the NN core runs the network */
    void *eng_impl;
    float *logits; /* engines: one batch's logits [max_batch * classes] */
    float *probs;  /* engines: their softmax, for the loss */
    nn_model model;
    nn_optim opt;
    nn_clf clf; /* data, batches, loop, metrics (plugins/nn/classifier.h) */
    const nn_clf_net *net; /* the core's model or the engine */
} rnn_state;

/* Copies up to `limit` rows (0: all) of a loaded dataset as T x I
 * sequences. */
static int data_from(mlb_ctx *ctx, nn_samples *d, mlb_dataset *ds, size_t limit, int T, int I)
{
    if (ds->d != (size_t)T * (size_t)I)
        return mlb_error(ctx, "%s: %zu features are not %d steps of %d", ds->name, ds->d, T, I);
    return nn_samples_from(ctx, d, ds, limit, ds->d);
}

static int load_data(mlb_ctx *ctx, rnn_state *s, size_t n_train, size_t n_test)
{
    char err[512];
    mlb_dataset *a = NULL, *b = NULL;
    int rc;
    if (!strcmp(s->dataset, "fashion-mnist")) {
        /* Each 28 x 28 image read top to bottom: 28 steps of one row. */
        mlb_data_opts o = {.dtype = MLB_DTYPE_F32, .image_unit = 1, .max_rows = n_train};
        if ((rc = mlb_dataset_load("fashion-mnist", &o, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        o.max_rows = n_test;
        if ((rc = mlb_dataset_load("fashion-mnist-test", &o, &b, err, sizeof err)) < 0) {
            mlb_dataset_free(a);
            return mlb_error(ctx, "%s", err);
        }
        s->T = s->I = 28;
        rc = data_from(ctx, &s->clf.train, a, n_train, 28, 28);
        if (rc == 0)
            rc = data_from(ctx, &s->clf.test, b, n_test, 28, 28);
        s->clf.classes = a->n_classes;
    } else {
        int T = (int)mlb_param_int(ctx, "seq_len"), I = (int)mlb_param_int(ctx, "input_size");
        size_t ntr = n_train ? n_train : RNN_SYNTH_TRAIN, nte = n_test ? n_test : RNN_SYNTH_TEST;
        s->clf.classes = (int)mlb_param_int(ctx, "n_classes");
        s->T = T;
        s->I = I;
        mlb_synth_opts so = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = ntr + nte,
                             .n_features = (size_t)T * (size_t)I, .seed = mlb_seed(ctx),
                             .noise = RNN_SYNTH_NOISE, .n_classes = s->clf.classes};
        if ((rc = mlb_data_synth(&so, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        rc = data_from(ctx, &s->clf.train, a, ntr, T, I);
        if (rc == 0 && (rc = mlb_data_subset(a, ntr, nte, &b)) < 0)
            rc = mlb_error(ctx, "synthetic: out of memory");
        if (rc == 0)
            rc = data_from(ctx, &s->clf.test, b, 0, T, I);
    }
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    return rc;
}

static void state_free(rnn_state *s)
{
    if (!s)
        return;
    if (s->eng && s->eng_impl)
        s->eng->destroy(s->eng_impl);
    nn_free(s->logits);
    nn_free(s->probs);
    nn_model_free(&s->model);
    nn_optim_free(&s->opt);
    nn_backend_release(&s->be);
    nn_clf_free(&s->clf);
    free(s);
}

/* The engine has checked every value against rnn_rules (so the ints fit an
 * int, and the names are the rules' choices). */
static int read_params(mlb_ctx *ctx, rnn_state *s, size_t *n_train, size_t *n_test, int *threads,
                       nn_optim_kind *kind)
{
    snprintf(s->model_name, sizeof s->model_name, "%s", mlb_param_str(ctx, "model"));
    snprintf(s->nonlinearity, sizeof s->nonlinearity, "%s", mlb_param_str(ctx, "nonlinearity"));
    snprintf(s->dataset, sizeof s->dataset, "%s", mlb_param_str(ctx, "dataset"));
    s->hidden = (int)mlb_param_int(ctx, "hidden_size");
    s->layers = (int)mlb_param_int(ctx, "num_layers");
    s->bidirectional = mlb_param_bool(ctx, "bidirectional");
    s->clf.epochs = (int)mlb_param_int(ctx, "epochs");
    s->clf.batch_size = (int)mlb_param_int(ctx, "batch_size");
    s->clf.infer_batch = (int)mlb_param_int(ctx, "infer_batch");
    s->clip = mlb_param_float(ctx, "clip_grad");
    *threads = (int)mlb_param_int(ctx, "threads");
    *n_train = (size_t)mlb_param_int(ctx, "train_samples");
    *n_test = (size_t)mlb_param_int(ctx, "test_samples");
    *kind = strcmp(mlb_param_str(ctx, "optimizer"), "adam") ? NN_SGD : NN_ADAM;
    s->clf.target_accuracy = mlb_param_float(ctx, "target_accuracy");
    const char *wo = mlb_param_str(ctx, "weights_out");
    if (strlen(wo) >= sizeof s->weights_out)
        return mlb_error(ctx, "parameter weights_out: path too long");
    snprintf(s->weights_out, sizeof s->weights_out, "%s", wo);
    if (strcmp(s->model_name, "rnn") && strcmp(s->nonlinearity, "tanh"))
        mlb_log(ctx, MLB_LOG_WARN, "nonlinearity=%s applies to model=rnn only; ignored for %s",
                s->nonlinearity, s->model_name);
    return 0;
}

static const nn_clf_net rnn_net, rnn_engine_net;

int rnn_setup(mlb_ctx *ctx, void **state, const rnn_variant *variant)
{
    const nn_kernels *kernels = variant->kernels;
    *state = NULL;
    rnn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    size_t n_train = 0, n_test = 0;
    int threads = 1;
    nn_optim_kind kind = NN_ADAM;
    char err[512];
    int rc = read_params(ctx, s, &n_train, &n_test, &threads, &kind);
    if (rc == 0 && (rc = nn_backend_init(&s->be, kernels, threads, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    s->eng = variant->engine;
    if (rc == 0 && threads > 1 && kernels == &nn_kernels_naive && !s->eng)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    nn_clf *c = &s->clf;
    if (rc == 0)
        rc = load_data(ctx, s, n_train, n_test);
    if (rc == 0)
        rc = nn_clf_prepare(ctx, c, s->dataset, INT32_MAX);
    /* Zero mean and unit variance over every value (torchvision's
     * Normalize((mean,), (std,)) on one channel). */
    if (rc == 0 && mlb_param_bool(ctx, "standardize"))
        nn_clf_standardize(c, 1);

    if (rc == 0 &&
        (rc = rnn_model_build(&s->model, s->model_name, s->nonlinearity, s->T, s->I, s->hidden,
                              s->layers, s->bidirectional, c->classes, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0)
        rc = nn_clf_trainer_init(ctx, c, &s->model, &s->be, s->eng, threads, kind, s->clip,
                                 &s->eng_impl, &s->logits, &s->probs, &s->opt);
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    c->flops_fwd = nn_model_forward_flops(&s->model);
    /* One inference pass now, so that one-off costs (OpenBLAS's thread
     * pool and buffers, first touches) are not inside the timed phases. */
    int warm = c->test.n < (size_t)c->max_batch ? (int)c->test.n : c->max_batch;
    s->net = s->eng ? &rnn_engine_net : &rnn_net;
    (void)s->net->forward(s, c->test.x, warm);

    mlb_log(ctx, MLB_LOG_DEBUG,
            "%s on %s: %zu train / %zu test sequences of %d x %d, %d classes, %d layer(s) of %d%s, "
            "%zu parameters, %.3f MFLOP per sequence forward, %s kernels, %d thread(s)",
            s->model_name, s->dataset, c->train.n, c->test.n, s->T, s->I, c->classes, s->layers,
            s->hidden, s->bidirectional ? " x 2 directions" : "", s->model.n_weights,
            c->flops_fwd * 1e-6, s->eng ? s->eng->name : s->be.k->name, threads);
    *state = s;
    return 0;
}

/* The NN core's model as the harness's network. */
static double net_train_step(void *u, const float *x, const int32_t *y, int n)
{
    rnn_state *s = u;
    nn_model_forward(&s->model, x, n, 1);
    double loss = nn_model_loss(&s->model, n, y);
    if (!isfinite(loss))
        return loss;
    nn_model_zero_grad(&s->model);
    nn_model_backward(&s->model, n, y);
    if (s->clip > 0)
        nn_clip_grad_norm(s->model.grads, s->model.n_weights, s->clip);
    nn_optim_step(&s->opt, s->model.weights, s->model.grads);
    return loss;
}

static const float *net_forward(void *u, const float *x, int n)
{
    rnn_state *s = u;
    nn_model_forward(&s->model, x, n, 0);
    return nn_model_output(&s->model);
}

static double net_loss(void *u, int n, const int32_t *y)
{
    rnn_state *s = u;
    return nn_model_loss(&s->model, n, y);
}

static const nn_clf_net rnn_net = {net_train_step, net_forward, net_loss};

/* An engine as the harness's network: it runs forward, backward, clipping
 * and the update itself; the loss of its logits is the core's. */
static double eng_train_step(void *u, const float *x, const int32_t *y, int n)
{
    rnn_state *s = u;
    return s->eng->train_step(s->eng_impl, x, y, n);
}

static const float *eng_forward(void *u, const float *x, int n)
{
    rnn_state *s = u;
    s->eng->forward(s->eng_impl, x, n, s->logits);
    return s->logits;
}

static double eng_loss(void *u, int n, const int32_t *y)
{
    rnn_state *s = u;
    return nn_xent_forward(n, s->clf.classes, s->logits, y, s->probs);
}

static const nn_clf_net rnn_engine_net = {eng_train_step, eng_forward, eng_loss};

int rnn_train(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    return nn_clf_train(ctx, &s->clf, s->net, s, "lower lr or set clip_grad");
}

int rnn_infer(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    return nn_clf_infer(ctx, &s->clf, s->net, s);
}

/* For peers (docs/peer-protocol.md): the sequences and labels exactly as
 * the network sees them, [n, T, I] float32 and int64, and the initial
 * weights as a weight file. */
int rnn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    rnn_state *s = state;
    size_t row[2] = {(size_t)s->T, (size_t)s->I};
    return nn_clf_export(ctx, &s->clf, dir, row, 2, &s->model);
}

int rnn_teardown(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    int rc = 0;
    char err[512];
    if (s && s->weights_out[0] && s->eng &&
        s->eng->weights_to(s->eng_impl, &s->model, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s engine: %s", s->eng->name, err);
    else if (s && s->weights_out[0] &&
             nn_weights_save(&s->model, s->weights_out, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    state_free(s);
    return rc;
}
