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
    nn_clf_task t; /* network, optimiser, loop, metrics (plugins/nn/classifier.h) */
} rnn_state;

/* Copies up to `limit` rows (0: all) of a loaded dataset as T x I
 * sequences. */
static int data_from(mlb_ctx *ctx, nn_samples *d, mlb_dataset *ds, size_t limit, int T, int I)
{
    if (ds->d != (size_t)T * (size_t)I)
        return mlb_error(ctx, "%s: %zu features are not %d steps of %d", ds->name, ds->d, T, I);
    return nn_samples_from(ctx, d, ds, limit, ds->d);
}

/* The data set, up to train_samples and test_samples rows (0: all). */
static int load_data(mlb_ctx *ctx, rnn_state *s)
{
    const size_t n_train = s->t.n_train, n_test = s->t.n_test;
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
        rc = data_from(ctx, &s->t.clf.train, a, n_train, 28, 28);
        if (rc == 0)
            rc = data_from(ctx, &s->t.clf.test, b, n_test, 28, 28);
        s->t.clf.classes = a->n_classes;
    } else {
        int T = (int)mlb_param_int(ctx, "seq_len"), I = (int)mlb_param_int(ctx, "input_size");
        size_t ntr = n_train ? n_train : RNN_SYNTH_TRAIN, nte = n_test ? n_test : RNN_SYNTH_TEST;
        s->t.clf.classes = (int)mlb_param_int(ctx, "n_classes");
        s->T = T;
        s->I = I;
        mlb_synth_opts so = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = ntr + nte,
                             .n_features = (size_t)T * (size_t)I, .seed = mlb_seed(ctx),
                             .noise = RNN_SYNTH_NOISE, .n_classes = s->t.clf.classes};
        if ((rc = mlb_data_synth(&so, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        rc = data_from(ctx, &s->t.clf.train, a, ntr, T, I);
        if (rc == 0 && (rc = mlb_data_subset(a, ntr, nte, &b)) < 0)
            rc = mlb_error(ctx, "synthetic: out of memory");
        if (rc == 0)
            rc = data_from(ctx, &s->t.clf.test, b, 0, T, I);
    }
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    return rc;
}

static void state_free(rnn_state *s)
{
    if (!s)
        return;
    nn_clf_task_free(&s->t);
    free(s);
}

/* The engine has checked every value against rnn_rules (so the ints fit an
 * int, and the names are the rules' choices). */
static int read_params(mlb_ctx *ctx, rnn_state *s)
{
    snprintf(s->model_name, sizeof s->model_name, "%s", mlb_param_str(ctx, "model"));
    snprintf(s->nonlinearity, sizeof s->nonlinearity, "%s", mlb_param_str(ctx, "nonlinearity"));
    snprintf(s->dataset, sizeof s->dataset, "%s", mlb_param_str(ctx, "dataset"));
    s->hidden = (int)mlb_param_int(ctx, "hidden_size");
    s->layers = (int)mlb_param_int(ctx, "num_layers");
    s->bidirectional = mlb_param_bool(ctx, "bidirectional");
    s->t.clip = mlb_param_float(ctx, "clip_grad");
    int rc = nn_clf_task_params(ctx, &s->t);
    if (rc < 0)
        return rc;
    if (strcmp(s->model_name, "rnn") && strcmp(s->nonlinearity, "tanh"))
        mlb_log(ctx, MLB_LOG_WARN, "nonlinearity=%s applies to model=rnn only; ignored for %s",
                s->nonlinearity, s->model_name);
    return 0;
}

int rnn_setup(mlb_ctx *ctx, void **state, const rnn_variant *variant)
{
    *state = NULL;
    rnn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    nn_clf_task *t = &s->t;
    nn_clf *c = &t->clf;
    char err[512];
    int rc = read_params(ctx, s);
    if (rc == 0)
        rc = nn_clf_task_backend(ctx, t, variant->kernels, variant->engine);
    if (rc == 0)
        rc = load_data(ctx, s);
    if (rc == 0)
        rc = nn_clf_prepare(ctx, c, s->dataset, INT32_MAX);
    /* Zero mean and unit variance over every value (torchvision's
     * Normalize((mean,), (std,)) on one channel). */
    if (rc == 0 && mlb_param_bool(ctx, "standardize"))
        nn_clf_standardize(c, 1);

    if (rc == 0 &&
        (rc = rnn_model_build(&t->model, s->model_name, s->nonlinearity, s->T, s->I, s->hidden,
                              s->layers, s->bidirectional, c->classes, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0)
        rc = nn_clf_task_trainer(ctx, t);
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    mlb_log(ctx, MLB_LOG_DEBUG,
            "%s on %s: %zu train / %zu test sequences of %d x %d, %d classes, %d layer(s) of %d%s, "
            "%zu parameters, %.3f MFLOP per sequence forward, %s kernels, %d thread(s)",
            s->model_name, s->dataset, c->train.n, c->test.n, s->T, s->I, c->classes, s->layers,
            s->hidden, s->bidirectional ? " x 2 directions" : "", t->model.n_weights,
            c->flops_fwd * 1e-6, t->eng ? t->eng->name : t->be.k->name, t->threads);
    *state = s;
    return 0;
}

int rnn_train(mlb_ctx *ctx, void *state)
{
    return nn_clf_task_train(ctx, &((rnn_state *)state)->t, "lower lr or set clip_grad");
}

int rnn_infer(mlb_ctx *ctx, void *state)
{
    return nn_clf_task_infer(ctx, &((rnn_state *)state)->t);
}

/* For peers (docs/peer-protocol.md): the sequences and labels exactly as
 * the network sees them, [n, T, I] float32 and int64, and the initial
 * weights as a weight file. */
int rnn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    rnn_state *s = state;
    size_t row[2] = {(size_t)s->T, (size_t)s->I};
    return nn_clf_export(ctx, &s->t.clf, dir, row, 2, &s->t.model);
}

int rnn_teardown(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    int rc = nn_clf_task_teardown(ctx, s ? &s->t : NULL);
    free(s);
    return rc;
}
