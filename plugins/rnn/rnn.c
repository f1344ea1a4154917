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
#include "metrics.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the rnn plugins run the float32 NN core");

/* Synthetic data when no size is given: enough batches to time. */
#define RNN_SYNTH_TRAIN 2048
#define RNN_SYNTH_TEST 512
/* Synthetic classes: Gaussian clusters (centres ~ N(0, 2^2) per value)
 * with this spread, learnable but not at a glance. */
#define RNN_SYNTH_NOISE 4.0

/* Sequences as the network sees them: n x (T x I) float32, batch-first. */
typedef struct {
    size_t n;
    int T, I;
    size_t d;
    float *x;
    int32_t *y;
} rnn_data;

typedef struct {
    char model_name[16], nonlinearity[8], dataset[16];
    int hidden, layers, bidirectional;
    int epochs, batch_size, infer_batch, max_batch;
    int classes;
    double target_accuracy, clip;
    char weights_out[1024];
    nn_backend be;
    const nn_engine *eng; /* NULL: the NN core runs the network */
    void *eng_impl;
    float *logits; /* engines: one batch's logits [max_batch * classes] */
    float *probs;  /* engines: their softmax, for the loss */
    nn_model model;
    nn_optim opt;
    rnn_data train, test;
    float *xb;     /* one batch of inputs [max_batch * d] */
    int32_t *yb;   /* its labels */
    size_t *order; /* training-set permutation */
    int32_t *pred; /* predictions of one batch */
    size_t *conf;  /* evaluate's confusion matrix [classes x classes] */
    nn_rng shuffle;
    size_t infer_cursor;
    double flops_fwd; /* per sequence */
} rnn_state;

static void data_free(rnn_data *d)
{
    nn_free(d->x);
    nn_free(d->y);
    memset(d, 0, sizeof *d);
}

static int data_alloc(rnn_data *d, size_t n, int T, int I)
{
    d->n = n;
    d->T = T;
    d->I = I;
    d->d = (size_t)T * (size_t)I;
    d->x = nn_alloc(n * d->d > 0 ? n * d->d : 1, sizeof *d->x);
    d->y = nn_alloc(n ? n : 1, sizeof *d->y);
    return d->x && d->y ? 0 : -ENOMEM;
}

/* Copies up to `limit` rows (0: all) of a loaded dataset as T x I
 * sequences. */
static int data_from(mlb_ctx *ctx, rnn_data *d, mlb_dataset *ds, size_t limit, int T, int I)
{
    if (mlb_data_view_f32(ds) < 0)
        return mlb_error(ctx, "%s: out of memory for a float32 view", ds->name);
    if (ds->d != (size_t)T * (size_t)I)
        return mlb_error(ctx, "%s: %zu features are not %d steps of %d", ds->name, ds->d, T, I);
    size_t n = limit && limit < ds->n ? limit : ds->n;
    if (data_alloc(d, n, T, I) < 0)
        return mlb_error(ctx, "%s: out of memory for %zu sequences", ds->name, n);
    memcpy(d->x, ds->X32, n * d->d * sizeof *d->x);
    for (size_t i = 0; i < n; i++)
        d->y[i] = (int32_t)ds->y[i];
    return 0;
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
        rc = data_from(ctx, &s->train, a, n_train, 28, 28);
        if (rc == 0)
            rc = data_from(ctx, &s->test, b, n_test, 28, 28);
        s->classes = a->n_classes;
    } else {
        int T = (int)mlb_param_int(ctx, "seq_len"), I = (int)mlb_param_int(ctx, "input_size");
        size_t ntr = n_train ? n_train : RNN_SYNTH_TRAIN, nte = n_test ? n_test : RNN_SYNTH_TEST;
        s->classes = (int)mlb_param_int(ctx, "n_classes");
        mlb_synth_opts so = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = ntr + nte,
                             .n_features = (size_t)T * (size_t)I, .seed = mlb_seed(ctx),
                             .noise = RNN_SYNTH_NOISE, .n_classes = s->classes};
        if ((rc = mlb_data_synth(&so, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        rc = data_from(ctx, &s->train, a, ntr, T, I);
        if (rc == 0 && (rc = mlb_data_subset(a, ntr, nte, &b)) < 0)
            rc = mlb_error(ctx, "synthetic: out of memory");
        if (rc == 0)
            rc = data_from(ctx, &s->test, b, 0, T, I);
    }
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    if (rc < 0)
        return rc;
    if (s->train.n == 0 || s->test.n == 0)
        return mlb_error(ctx, "%s: empty training or test set", s->dataset);
    if (s->classes < 2)
        return mlb_error(ctx, "%s: %d classes", s->dataset, s->classes);
    for (int k = 0; k < 2; k++) {
        const rnn_data *d = k ? &s->test : &s->train;
        for (size_t i = 0; i < d->n; i++)
            if (d->y[i] < 0 || d->y[i] >= s->classes)
                return mlb_error(ctx, "%s: label %d of sample %zu outside 0..%d", s->dataset,
                                 d->y[i], i, s->classes - 1);
    }
    return 0;
}

/* Zero mean and unit variance over every value, with the training set's
 * statistics (torchvision's Normalize((mean,), (std,)) on one channel). */
static void standardize(rnn_state *s)
{
    size_t count = s->train.n * s->train.d;
    double sum = 0, ss = 0;
    for (size_t i = 0; i < count; i++)
        sum += s->train.x[i];
    double mean = sum / (double)count;
    for (size_t i = 0; i < count; i++)
        ss += (s->train.x[i] - mean) * (s->train.x[i] - mean);
    double sd = sqrt(ss / (double)count);
    float inv = sd > 0 ? (float)(1.0 / sd) : 1.0f, m = (float)mean;
    for (int k = 0; k < 2; k++) {
        rnn_data *d = k ? &s->test : &s->train;
        for (size_t i = 0; i < d->n * d->d; i++)
            d->x[i] = (d->x[i] - m) * inv;
    }
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
    data_free(&s->train);
    data_free(&s->test);
    nn_free(s->xb);
    nn_free(s->yb);
    nn_free(s->order);
    nn_free(s->pred);
    nn_free(s->conf);
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
    s->epochs = (int)mlb_param_int(ctx, "epochs");
    s->batch_size = (int)mlb_param_int(ctx, "batch_size");
    s->infer_batch = (int)mlb_param_int(ctx, "infer_batch");
    s->clip = mlb_param_float(ctx, "clip_grad");
    *threads = (int)mlb_param_int(ctx, "threads");
    *n_train = (size_t)mlb_param_int(ctx, "train_samples");
    *n_test = (size_t)mlb_param_int(ctx, "test_samples");
    *kind = strcmp(mlb_param_str(ctx, "optimizer"), "adam") ? NN_SGD : NN_ADAM;
    s->target_accuracy = mlb_param_float(ctx, "target_accuracy");
    const char *wo = mlb_param_str(ctx, "weights_out");
    if (strlen(wo) >= sizeof s->weights_out)
        return mlb_error(ctx, "parameter weights_out: path too long");
    snprintf(s->weights_out, sizeof s->weights_out, "%s", wo);
    if (strcmp(s->model_name, "rnn") && strcmp(s->nonlinearity, "tanh"))
        mlb_log(ctx, MLB_LOG_WARN, "nonlinearity=%s applies to model=rnn only; ignored for %s",
                s->nonlinearity, s->model_name);
    return 0;
}

/* Logits of n sequences (training mode or not): the engine's or the NN
 * core's. */
static const float *forward(rnn_state *s, const float *x, int n, int training)
{
    if (s->eng) {
        s->eng->forward(s->eng_impl, x, n, s->logits);
        return s->logits;
    }
    nn_model_forward(&s->model, x, n, training);
    return nn_model_output(&s->model);
}

/* After forward: the batch's mean loss. */
static double batch_loss(rnn_state *s, int n, const int32_t *y)
{
    if (s->eng)
        return nn_xent_forward(n, s->classes, s->logits, y, s->probs);
    return nn_model_loss(&s->model, n, y);
}

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
    if (rc == 0)
        rc = load_data(ctx, s, n_train, n_test);
    if (rc == 0 && mlb_param_bool(ctx, "standardize"))
        standardize(s);

    s->max_batch = s->batch_size > s->infer_batch ? s->batch_size : s->infer_batch;
    if (rc == 0 &&
        (rc = rnn_model_build(&s->model, s->model_name, s->nonlinearity, s->train.T, s->train.I,
                              s->hidden, s->layers, s->bidirectional, s->classes, err,
                              sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    /* An engine's model only holds the weights: activations for one sequence. */
    if (rc == 0 && (rc = nn_model_compile(&s->model, &s->be, s->eng ? 1 : s->max_batch, err,
                                          sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        nn_model_init_weights(&s->model, mlb_seed(ctx));
        const char *wi = mlb_param_str(ctx, "weights_in");
        if (wi[0] && (rc = nn_weights_load(&s->model, wi, err, sizeof err)) < 0)
            rc = mlb_error(ctx, "parameter weights_in: %s", err);
    }
    if (rc == 0 && s->eng) {
        nn_engine_setup su = {.init = &s->model, .max_batch = s->max_batch,
                              .train_batch = s->batch_size, .threads = threads,
                              .optimizer = kind, .lr = mlb_param_float(ctx, "lr"),
                              .momentum = mlb_param_float(ctx, "momentum"),
                              .weight_decay = mlb_param_float(ctx, "weight_decay"),
                              .clip = s->clip};
        size_t nk = (size_t)s->max_batch * (size_t)s->classes;
        s->logits = nn_alloc(nk, sizeof *s->logits);
        s->probs = nn_alloc(nk, sizeof *s->probs);
        if (!s->logits || !s->probs)
            rc = mlb_error(ctx, "out of memory for logits");
        else if ((rc = s->eng->create(&s->eng_impl, &su, err, sizeof err)) < 0)
            rc = mlb_error(ctx, "%s engine: %s", s->eng->name, err);
    }
    if (rc == 0 && !s->eng &&
        (rc = nn_optim_init(&s->opt, kind, s->model.n_weights, mlb_param_float(ctx, "lr"),
                            mlb_param_float(ctx, "momentum"),
                            mlb_param_float(ctx, "weight_decay"), err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        s->xb = nn_alloc((size_t)s->max_batch * s->train.d, sizeof *s->xb);
        s->yb = nn_alloc((size_t)s->max_batch, sizeof *s->yb);
        s->pred = nn_alloc((size_t)s->max_batch, sizeof *s->pred);
        s->order = nn_alloc(s->train.n, sizeof *s->order);
        s->conf = nn_alloc((size_t)s->classes * (size_t)s->classes, sizeof *s->conf);
        if (!s->xb || !s->yb || !s->pred || !s->order || !s->conf)
            rc = mlb_error(ctx, "out of memory for batch buffers");
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    for (size_t i = 0; i < s->train.n; i++)
        s->order[i] = i;
    nn_rng_seed(&s->shuffle, mlb_seed(ctx) ^ UINT64_C(0x73687566666c6521)); /* "shuffle!" */
    s->flops_fwd = nn_model_forward_flops(&s->model);
    /* One inference pass now, so that one-off costs (OpenBLAS's thread
     * pool and buffers, first touches) are not inside the timed phases. */
    int warm = s->test.n < (size_t)s->max_batch ? (int)s->test.n : s->max_batch;
    (void)forward(s, s->test.x, warm, 0);

    mlb_log(ctx, MLB_LOG_DEBUG,
            "%s on %s: %zu train / %zu test sequences of %d x %d, %d classes, %d layer(s) of %d%s, "
            "%zu parameters, %.3f MFLOP per sequence forward, %s kernels, %d thread(s)",
            s->model_name, s->dataset, s->train.n, s->test.n, s->train.T, s->train.I, s->classes,
            s->layers, s->hidden, s->bidirectional ? " x 2 directions" : "", s->model.n_weights,
            s->flops_fwd * 1e-6, s->eng ? s->eng->name : s->be.k->name, threads);
    *state = s;
    return 0;
}

static void gather(rnn_state *s, const rnn_data *d, const size_t *idx, size_t first, int n)
{
    nn_gather_batch(d->x, d->y, d->n, d->d, idx, first, n, s->xb, s->yb);
}

typedef struct {
    double accuracy, loss;
} rnn_eval;

/* Accuracy and mean loss on the test set; the confusion matrix stays in
 * s->conf for the other metrics (metrics.h). */
static void evaluate(rnn_state *s, rnn_eval *out)
{
    int k = s->classes;
    size_t *conf = s->conf; /* [truth][pred] */
    memset(conf, 0, (size_t)k * (size_t)k * sizeof *conf);
    double loss = 0;
    for (size_t b = 0; b < s->test.n; b += (size_t)s->max_batch) {
        int n = s->test.n - b < (size_t)s->max_batch ? (int)(s->test.n - b) : s->max_batch;
        const int32_t *y = s->test.y + b;
        const float *z = forward(s, s->test.x + b * s->test.d, n, 0);
        loss += batch_loss(s, n, y) * n;
        nn_argmax_rows(z, n, k, s->pred);
        (void)metrics_confusion_add(y, s->pred, (size_t)n, k, conf);
    }
    out->accuracy = metrics_accuracy_cm(conf, k);
    out->loss = loss / (double)s->test.n;
}

int rnn_train(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    size_t n = s->train.n;
    double epoch_loss = NAN, epochs_to_target = NAN, steps = 0;
    rnn_eval ev;
    for (int e = 1; e <= s->epochs; e++) {
        /* Fisher-Yates: a fresh, seeded order every epoch. */
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)nn_rng_below(&s->shuffle, i + 1);
            size_t t = s->order[i];
            s->order[i] = s->order[j];
            s->order[j] = t;
        }
        double sum = 0;
        for (size_t b = 0; b < n; b += (size_t)s->batch_size) {
            int bn = n - b < (size_t)s->batch_size ? (int)(n - b) : s->batch_size;
            gather(s, &s->train, s->order, b, bn);
            double loss;
            if (s->eng) { /* forward, backward, clipping and the update */
                loss = s->eng->train_step(s->eng_impl, s->xb, s->yb, bn);
            } else {
                nn_model_forward(&s->model, s->xb, bn, 1);
                loss = nn_model_loss(&s->model, bn, s->yb);
            }
            if (!isfinite(loss))
                return mlb_error(ctx, "epoch %d: the loss diverged (%g) at sample %zu; lower lr "
                                      "or set clip_grad",
                                 e, loss, b);
            sum += loss * bn;
            steps++;
            if (s->eng)
                continue;
            nn_model_zero_grad(&s->model);
            nn_model_backward(&s->model, bn, s->yb);
            if (s->clip > 0)
                nn_clip_grad_norm(s->model.grads, s->model.n_weights, s->clip);
            nn_optim_step(&s->opt, s->model.weights, s->model.grads);
        }
        epoch_loss = sum / (double)n;
        evaluate(s, &ev);
        mlb_report_progress(ctx, e, epoch_loss, "accuracy", ev.accuracy);
        if (s->target_accuracy > 0 && isnan(epochs_to_target) && ev.accuracy >= s->target_accuracy)
            epochs_to_target = e;
    }
    if (s->epochs == 0)
        evaluate(s, &ev);
    double samples = (double)n * s->epochs;
    mlb_report_work(ctx, MLB_WORK_ITEMS, samples);
    mlb_report_work(ctx, MLB_WORK_STEPS, steps);
    /* Backward costs about twice the forward pass. */
    mlb_report_work(ctx, MLB_WORK_FLOPS, 3.0 * s->flops_fwd * samples);
    metrics_report_confusion(ctx, s->conf, s->classes);
    if (s->epochs)
        mlb_report_metric(ctx, "loss", epoch_loss, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "test_loss", ev.loss, MLB_LOWER_IS_BETTER);
    if (s->target_accuracy > 0) /* NaN (null in the results) when never reached */
        mlb_report_metric(ctx, "epochs_to_target", epochs_to_target, MLB_LOWER_IS_BETTER);
    return 0;
}

int rnn_infer(mlb_ctx *ctx, void *state)
{
    rnn_state *s = state;
    int n = s->infer_batch;
    /* Consecutive test sequences, wrapping around. */
    gather(s, &s->test, NULL, s->infer_cursor, n);
    s->infer_cursor = (s->infer_cursor + (size_t)n) % s->test.n;
    nn_argmax_rows(forward(s, s->xb, n, 0), n, s->classes, s->pred);
    mlb_report_work(ctx, MLB_WORK_ITEMS, n);
    mlb_report_work(ctx, MLB_WORK_FLOPS, s->flops_fwd * n);
    return 0;
}

/* For peers (docs/peer-protocol.md): the sequences and labels exactly as
 * the network sees them, [n, T, I] float32 and int64, and the initial
 * weights as a weight file. */
int rnn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    rnn_state *s = state;
    char path[4096], err[512];
    for (int k = 0; k < 2; k++) {
        const rnn_data *d = k ? &s->test : &s->train;
        const char *part = k ? "test" : "train";
        size_t xs[3] = {d->n, (size_t)d->T, (size_t)d->I}, ys[1] = {d->n};
        int64_t *y = malloc((d->n ? d->n : 1) * sizeof *y);
        if (!y)
            return mlb_error(ctx, "out of memory");
        for (size_t i = 0; i < d->n; i++)
            y[i] = d->y[i];
        int rc;
        snprintf(path, sizeof path, "%s/X_%s.npy", dir, part);
        rc = mlb_npy_write(ctx, path, MLB_NPY_F32, d->x, 3, xs);
        snprintf(path, sizeof path, "%s/y_%s.npy", dir, part);
        if (rc == 0)
            rc = mlb_npy_write(ctx, path, MLB_NPY_I64, y, 1, ys);
        free(y);
        if (rc < 0)
            return rc;
    }
    snprintf(path, sizeof path, "%s/weights_init.bin", dir);
    if (nn_weights_save(&s->model, path, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    return 0;
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
