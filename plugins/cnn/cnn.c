/*
 * The part of the cnn task every variant shares: parameters, data, model
 * set-up, the training loop (with a test evaluation per epoch for the
 * learning curve), batched inference, metrics, teardown.
 */
#include "cnn.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlbench/data.h"
#include "metrics.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the cnn plugins run the float32 NN core");

#define CNN_CLASSES_MAX 1000
/* Synthetic data when no size is given: enough batches to time. */
#define CNN_SYNTH_TRAIN 2048
#define CNN_SYNTH_TEST 512
/* Synthetic classes: Gaussian clusters whose spread makes the task
 * learnable but not trivial. */
#define CNN_SYNTH_NOISE 16.0

/* Images as the network sees them: n x (c x h x w) float32, labels. */
typedef struct {
    size_t n;
    int c, h, w;
    size_t d;
    float *x;
    int32_t *y;
} cnn_data;

typedef struct {
    char model_name[32];
    char dataset[8200]; /* a registered name, or a file or pair of files */
    int epochs, batch_size, infer_batch, max_batch;
    int classes;
    double target_accuracy;
    char weights_out[1024];
    nn_backend be;
    nn_model model;
    nn_optim opt;
    cnn_data train, test;
    float *xb;        /* one batch of inputs [max_batch * d] */
    int32_t *yb;      /* its labels */
    size_t *order;    /* training-set permutation */
    int32_t *pred;    /* predictions of one batch */
    size_t *conf;     /* evaluate's confusion matrix [classes x classes] */
    nn_rng shuffle;
    size_t infer_cursor;
    const cnn_engine *eng; /* NULL: the NN core runs the network */
    void *eng_impl;
    float *logits; /* engines: one batch's logits [max_batch * classes] */
    float *probs;  /* engines: their softmax, for the loss */
    double flops_fwd; /* per sample */
} cnn_state;

static void data_free(cnn_data *d)
{
    nn_free(d->x);
    nn_free(d->y);
    memset(d, 0, sizeof *d);
}

static int data_alloc(cnn_data *d, size_t n, int c, int h, int w)
{
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->d = (size_t)c * (size_t)h * (size_t)w;
    d->x = nn_alloc(n * d->d, sizeof *d->x);
    d->y = nn_alloc(n ? n : 1, sizeof *d->y);
    return d->x && d->y ? 0 : -ENOMEM;
}

/* Copies up to `limit` rows (0: all) of a loaded dataset. */
static int data_from(mlb_ctx *ctx, cnn_data *d, mlb_dataset *ds, size_t limit)
{
    if (mlb_data_view_f32(ds) < 0)
        return mlb_error(ctx, "%s: out of memory for a float32 view", ds->name);
    size_t n = limit && limit < ds->n ? limit : ds->n;
    int c = ds->channels ? (int)ds->channels : 1;
    int h = ds->height ? (int)ds->height : 0, w = ds->width ? (int)ds->width : 0;
    if (!h) { /* a flat square image (digits: 64 features) */
        int side = (int)sqrt((double)ds->d);
        if ((size_t)side * (size_t)side != ds->d)
            return mlb_error(ctx, "%s: %zu features are not a square image", ds->name, ds->d);
        h = w = side;
    }
    if (data_alloc(d, n, c, h, w) < 0)
        return mlb_error(ctx, "%s: out of memory for %zu images", ds->name, n);
    memcpy(d->x, ds->X32, n * d->d * sizeof *d->x);
    for (size_t i = 0; i < n; i++)
        d->y[i] = (int32_t)ds->y[i];
    return 0;
}

/* 8x8 digits onto the 28x28 canvas the models expect: each pixel 3x3
 * (nearest neighbour, 24x24), centred with a 2-pixel border of background. */
static int digits_to_28(mlb_ctx *ctx, cnn_data *d)
{
    if (d->h != 8 || d->w != 8 || d->c != 1)
        return mlb_error(ctx, "digits: expected 1x8x8 images, got %dx%dx%d", d->c, d->h, d->w);
    cnn_data big = {0};
    if (data_alloc(&big, d->n, 1, 28, 28) < 0)
        return mlb_error(ctx, "digits: out of memory");
    for (size_t i = 0; i < d->n; i++) {
        const float *src = d->x + i * 64;
        float *dst = big.x + i * 784;
        for (int r = 0; r < 24; r++)
            for (int col = 0; col < 24; col++)
                dst[(r + 2) * 28 + col + 2] = src[(r / 3) * 8 + col / 3];
        big.y[i] = d->y[i];
    }
    data_free(d);
    *d = big;
    return 0;
}

/* The datasets the task knows, after the data layer's "unknown dataset"
 * message (whose list of every registered name is not the task's). */
#define CNN_DATASETS                                                                               \
    "the cnn task's datasets: auto, fashion-mnist, digits, synthetic, or images in a file "      \
    "(X.npy,y.npy; images.idx,labels.idx; CSV rows of s*s pixels)"

/* The user's own images (cnn_params' dataset): loaded as labelled images,
 * split 80/20 as digits is. 0, or the error reported. */
static int load_file(mlb_ctx *ctx, cnn_state *s, mlb_dataset **train, mlb_dataset **test)
{
    char err[1024];
    mlb_data_opts o = {.dtype = MLB_DTYPE_F32, .image_unit = 1, .classify = 1};
    mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
    if (mlb_data_opts_from_params(&o, &f, mlb_param_str(ctx, "target"),
                                  mlb_param_str(ctx, "header"), mlb_param_str(ctx, "delimiter"),
                                  mlb_param_str(ctx, "format"), err, sizeof err) < 0)
        return mlb_error(ctx, "parameter %s", err);
    mlb_dataset *all = NULL;
    int rc = mlb_dataset_load_file_opts(s->dataset, &o, &f, &all, err, sizeof err);
    if (rc == -ENOENT && !strncmp(err, "unknown dataset", 15)) {
        const char *known = strstr(err, "; known datasets");
        int len = known ? (int)(known - err) : (int)strlen(err);
        return mlb_error(ctx, "parameter dataset: %.*s; " CNN_DATASETS, len, err);
    }
    if (rc < 0)
        return mlb_error(ctx, "parameter dataset: %s", err);
    if (!all->height) {
        /* Flat rows: an image if their length is a square (1 x s x s). */
        size_t side = (size_t)sqrt((double)all->d);
        while (side * side > all->d)
            side--;
        while ((side + 1) * (side + 1) <= all->d)
            side++;
        if (side * side != all->d) {
            rc = mlb_error(ctx,
                           "parameter dataset: %s: rows of %zu values are not images: give "
                           "X.npy of shape (n, h, w) or (n, c, h, w), an IDX pair, or rows of "
                           "s*s pixels",
                           s->dataset, all->d);
            mlb_dataset_free(all);
            return rc;
        }
        all->channels = 1;
        all->height = all->width = side;
    }
    if (all->n_classes < 2 || all->n_classes > CNN_CLASSES_MAX) {
        rc = mlb_error(ctx, "parameter dataset: %s: %d class%s (the cnn task needs 2 to %d)",
                       s->dataset, all->n_classes, all->n_classes == 1 ? "" : "es",
                       CNN_CLASSES_MAX);
        mlb_dataset_free(all);
        return rc;
    }
    /* No official split: a seeded 80/20 one, as for digits. */
    rc = mlb_data_split(all, 0.2, mlb_seed(ctx), train, test, err, sizeof err);
    mlb_dataset_free(all);
    if (rc < 0)
        return mlb_error(ctx, "parameter dataset: %s", err);
    return 0;
}

static int load_data(mlb_ctx *ctx, cnn_state *s, size_t n_train, size_t n_test)
{
    char err[512];
    mlb_dataset *a = NULL, *b = NULL;
    mlb_data_opts o = {.dtype = MLB_DTYPE_F32, .image_unit = 1};
    int rc;
    if (!strcmp(s->dataset, "fashion-mnist")) {
        o.max_rows = n_train;
        if ((rc = mlb_dataset_load("fashion-mnist", &o, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        o.max_rows = n_test;
        if ((rc = mlb_dataset_load("fashion-mnist-test", &o, &b, err, sizeof err)) < 0) {
            mlb_dataset_free(a);
            return mlb_error(ctx, "%s", err);
        }
        rc = data_from(ctx, &s->train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, &s->test, b, n_test);
        s->classes = a->n_classes;
    } else if (!strcmp(s->dataset, "digits")) {
        /* 1797 images, no official split: a seeded 80/20 one. */
        mlb_dataset *all = NULL;
        if ((rc = mlb_dataset_load("digits", &o, &all, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        rc = mlb_data_split(all, 0.2, mlb_seed(ctx), &a, &b, err, sizeof err);
        mlb_dataset_free(all);
        if (rc < 0)
            return mlb_error(ctx, "%s", err);
        rc = data_from(ctx, &s->train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, &s->test, b, n_test);
        if (rc == 0 && (rc = digits_to_28(ctx, &s->train)) == 0)
            rc = digits_to_28(ctx, &s->test);
        s->classes = a->n_classes;
    } else if (strcmp(s->dataset, "synthetic") && mlb_dataset_registered(s->dataset)) {
        return mlb_error(ctx,
                         "parameter dataset: '%s' is a registered dataset the cnn task does not "
                         "take; " CNN_DATASETS,
                         s->dataset);
    } else if (strcmp(s->dataset, "synthetic")) { /* the user's own file */
        if ((rc = load_file(ctx, s, &a, &b)) < 0)
            return rc;
        rc = data_from(ctx, &s->train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, &s->test, b, n_test);
        s->classes = a->n_classes;
    } else {
        size_t ntr = n_train ? n_train : CNN_SYNTH_TRAIN, nte = n_test ? n_test : CNN_SYNTH_TEST;
        mlb_synth_opts so = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = ntr + nte,
                             .n_features = 3 * 32 * 32, .seed = mlb_seed(ctx),
                             .noise = CNN_SYNTH_NOISE, .n_classes = 10};
        if ((rc = mlb_data_synth(&so, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        a->channels = 3;
        a->height = a->width = 32;
        rc = data_from(ctx, &s->train, a, ntr);
        if (rc == 0 && (rc = mlb_data_subset(a, ntr, nte, &b)) < 0)
            rc = mlb_error(ctx, "synthetic: out of memory");
        if (rc == 0) {
            b->channels = 3;
            b->height = b->width = 32;
            rc = data_from(ctx, &s->test, b, 0);
        }
        s->classes = 10;
    }
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    if (rc < 0)
        return rc;
    if (s->train.n == 0 || s->test.n == 0)
        return mlb_error(ctx, "%s: empty training or test set", s->dataset);
    if (s->classes < 2 || s->classes > CNN_CLASSES_MAX)
        return mlb_error(ctx, "%s: %d classes", s->dataset, s->classes);
    for (int k = 0; k < 2; k++) {
        const cnn_data *d = k ? &s->test : &s->train;
        for (size_t i = 0; i < d->n; i++)
            if (d->y[i] < 0 || d->y[i] >= s->classes)
                return mlb_error(ctx, "%s: label %d of sample %zu outside 0..%d", s->dataset,
                                 d->y[i], i, s->classes - 1);
    }
    return 0;
}

/* Per-channel standardisation with the training set's statistics, as
 * torchvision's Normalize with precomputed mean and std. */
static void standardize(cnn_state *s)
{
    size_t plane = (size_t)s->train.h * (size_t)s->train.w;
    for (int ch = 0; ch < s->train.c; ch++) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < s->train.n; i++) {
            const float *p = s->train.x + i * s->train.d + (size_t)ch * plane;
            for (size_t j = 0; j < plane; j++)
                sum += p[j];
        }
        double count = (double)s->train.n * (double)plane;
        double mean = sum / count;
        for (size_t i = 0; i < s->train.n; i++) {
            const float *p = s->train.x + i * s->train.d + (size_t)ch * plane;
            for (size_t j = 0; j < plane; j++)
                ss += (p[j] - mean) * (p[j] - mean);
        }
        double sd = sqrt(ss / count);
        float inv = sd > 0 ? (float)(1.0 / sd) : 1.0f, m = (float)mean;
        for (int k = 0; k < 2; k++) {
            cnn_data *d = k ? &s->test : &s->train;
            for (size_t i = 0; i < d->n; i++) {
                float *p = d->x + i * d->d + (size_t)ch * plane;
                for (size_t j = 0; j < plane; j++)
                    p[j] = (p[j] - m) * inv;
            }
        }
    }
}

static void state_free(cnn_state *s)
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

/* The engine has checked every value against cnn_rules (so the ints fit an
 * int, and the names are the rules' choices). */
static int read_params(mlb_ctx *ctx, cnn_state *s, size_t *n_train, size_t *n_test, int *threads,
                       nn_optim_kind *kind)
{
    const char *model = mlb_param_str(ctx, "model");
    snprintf(s->model_name, sizeof s->model_name, "%s", model);
    const char *ds = mlb_param_str(ctx, "dataset");
    if (!strcmp(ds, "auto"))
        ds = strcmp(model, "resnet18") ? "fashion-mnist" : "synthetic";
    if (strlen(ds) >= sizeof s->dataset)
        return mlb_error(ctx, "parameter dataset: name too long (%zu bytes)", strlen(ds));
    snprintf(s->dataset, sizeof s->dataset, "%s", ds);
    s->epochs = (int)mlb_param_int(ctx, "epochs");
    s->batch_size = (int)mlb_param_int(ctx, "batch_size");
    s->infer_batch = (int)mlb_param_int(ctx, "infer_batch");
    *threads = (int)mlb_param_int(ctx, "threads");
    *n_train = (size_t)mlb_param_int(ctx, "train_samples");
    *n_test = (size_t)mlb_param_int(ctx, "test_samples");
    *kind = strcmp(mlb_param_str(ctx, "optimizer"), "adam") ? NN_SGD : NN_ADAM;
    s->target_accuracy = mlb_param_float(ctx, "target_accuracy");
    const char *wo = mlb_param_str(ctx, "weights_out");
    if (strlen(wo) >= sizeof s->weights_out)
        return mlb_error(ctx, "parameter weights_out: path too long");
    snprintf(s->weights_out, sizeof s->weights_out, "%s", wo);
    return 0;
}

/* One forward pass of n images from x; the logits [n, classes]. */
static const float *forward(cnn_state *s, const float *x, int n, int training)
{
    if (s->eng) {
        s->eng->forward(s->eng_impl, x, n, s->logits);
        return s->logits;
    }
    nn_model_forward(&s->model, x, n, training);
    return nn_model_output(&s->model);
}

/* After forward: the batch's mean loss. */
static double batch_loss(cnn_state *s, int n, const int32_t *y)
{
    if (s->eng)
        return nn_xent_forward(n, s->classes, s->logits, y, s->probs);
    return nn_model_loss(&s->model, n, y);
}

int cnn_setup(mlb_ctx *ctx, void **state, const cnn_variant *variant)
{
    const nn_kernels *kernels = variant->kernels;
    *state = NULL;
    cnn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    size_t n_train = 0, n_test = 0;
    int threads = 1;
    nn_optim_kind kind = NN_SGD;
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
    if (rc == 0 && (rc = cnn_model_build(&s->model, s->model_name, s->train.c, s->train.h,
                                         s->train.w, s->classes, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    /* An engine's model only holds the weights: activations for one image. */
    if (rc == 0 && (rc = nn_model_compile(&s->model, &s->be, s->eng ? 1 : s->max_batch, err,
                                          sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        nn_model_init_weights(&s->model, mlb_seed(ctx));
        const char *wi = mlb_param_str(ctx, "weights_in");
        if (wi[0] && (rc = nn_weights_load(&s->model, wi, err, sizeof err)) < 0)
            rc = mlb_error(ctx, "%s", err);
    }
    if (rc == 0 && s->eng) {
        cnn_engine_setup su = {.init = &s->model, .max_batch = s->max_batch,
                               .train_batch = s->batch_size, .threads = threads,
                               .optimizer = kind, .lr = mlb_param_float(ctx, "lr"),
                               .momentum = mlb_param_float(ctx, "momentum"),
                               .weight_decay = mlb_param_float(ctx, "weight_decay")};
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
     * pool and buffers, first touches) are not inside the timed phases. It
     * changes no state: inference-mode batch norm only reads. */
    int warm = s->test.n < (size_t)s->max_batch ? (int)s->test.n : s->max_batch;
    (void)forward(s, s->test.x, warm, 0);
    /* And one query's worth: engines set up per batch size (onednn's plans). */
    if (s->eng && s->infer_batch < warm)
        (void)forward(s, s->test.x, s->infer_batch, 0);

    size_t params = s->model.n_weights;
    mlb_log(ctx, MLB_LOG_DEBUG,
            "%s on %s: %zu train / %zu test images of %dx%dx%d, %d classes, %zu parameters, "
            "%.3f MFLOP per image forward, %s kernels, %d thread(s)",
            s->model_name, s->dataset, s->train.n, s->test.n, s->train.c, s->train.h,
            s->train.w, s->classes, params, s->flops_fwd * 1e-6,
            s->eng ? s->eng->name : s->be.k->name, threads);
    *state = s;
    return 0;
}

static void gather(cnn_state *s, const cnn_data *d, const size_t *idx, size_t first, int n)
{
    nn_gather_batch(d->x, d->y, d->n, d->d, idx, first, n, s->xb, s->yb);
}

typedef struct {
    double accuracy, loss;
} cnn_eval;

/* Accuracy and mean loss on the test set, in inference mode; the confusion
 * matrix stays in s->conf for the other metrics (metrics.h). Runs inside
 * the timed train, so the matrix is setup's, only cleared here. */
static void evaluate(cnn_state *s, cnn_eval *out)
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
        /* Cannot fail: setup checked the labels, argmax is below k. */
        (void)metrics_confusion_add(y, s->pred, (size_t)n, k, conf);
    }
    out->accuracy = metrics_accuracy_cm(conf, k);
    out->loss = loss / (double)s->test.n;
}

int cnn_train(mlb_ctx *ctx, void *state)
{
    cnn_state *s = state;
    size_t n = s->train.n;
    double epoch_loss = NAN;
    double epochs_to_target = NAN;
    cnn_eval ev;
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
            if (s->eng) {
                loss = s->eng->train_step(s->eng_impl, s->xb, s->yb, bn);
            } else {
                nn_model_forward(&s->model, s->xb, bn, 1);
                loss = nn_model_loss(&s->model, bn, s->yb);
            }
            if (!isfinite(loss))
                return mlb_error(ctx, "epoch %d: the loss diverged (%g) at sample %zu; lower lr", e,
                                 loss, b);
            sum += loss * bn;
            if (s->eng)
                continue;
            nn_model_zero_grad(&s->model);
            nn_model_backward(&s->model, bn, s->yb);
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
    /* Backward costs about twice the forward pass. */
    mlb_report_work(ctx, MLB_WORK_FLOPS, 3.0 * s->flops_fwd * samples);
    /* accuracy, balanced_accuracy, macro_f1, macro_precision, macro_recall
     * of the last evaluation, whose matrix s->conf still holds. */
    metrics_report_confusion(ctx, s->conf, s->classes);
    mlb_report_metric(ctx, "loss", epoch_loss, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "test_loss", ev.loss, MLB_LOWER_IS_BETTER);
    if (s->target_accuracy > 0) /* NaN (null in the results) when never reached */
        mlb_report_metric(ctx, "epochs_to_target", epochs_to_target, MLB_LOWER_IS_BETTER);
    return 0;
}

/* n images in one forward pass (n <= max_batch). Consecutive test images,
 * wrapping around: every query does the same work on real inputs. */
static void infer_images(mlb_ctx *ctx, cnn_state *s, int n)
{
    gather(s, &s->test, NULL, s->infer_cursor, n);
    s->infer_cursor = (s->infer_cursor + (size_t)n) % s->test.n;
    nn_argmax_rows(forward(s, s->xb, n, 0), n, s->classes, s->pred);
    mlb_report_work(ctx, MLB_WORK_ITEMS, n);
    mlb_report_work(ctx, MLB_WORK_FLOPS, s->flops_fwd * n);
}

int cnn_infer(mlb_ctx *ctx, void *state)
{
    cnn_state *s = state;
    infer_images(ctx, s, s->infer_batch);
    return 0;
}

int cnn_infer_n(mlb_ctx *ctx, void *state, int n)
{
    cnn_state *s = state;
    for (long left = (long)n * s->infer_batch; left > 0; left -= s->max_batch)
        infer_images(ctx, s, left < s->max_batch ? (int)left : s->max_batch);
    return 0;
}

/* For peers (docs/peer-protocol.md): the images and labels exactly as the
 * network sees them (after any subset and standardisation) as .npy, and the
 * initial weights as a weight file, so that a peer trains the same model
 * from the same start on the same data. */
int cnn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    cnn_state *s = state;
    char path[4096], err[512];
    for (int k = 0; k < 2; k++) {
        const cnn_data *d = k ? &s->test : &s->train;
        const char *part = k ? "test" : "train";
        size_t xs[4] = {d->n, (size_t)d->c, (size_t)d->h, (size_t)d->w}, ys[1] = {d->n};
        int64_t *y = malloc((d->n ? d->n : 1) * sizeof *y);
        if (!y)
            return mlb_error(ctx, "out of memory");
        for (size_t i = 0; i < d->n; i++)
            y[i] = d->y[i];
        int rc;
        snprintf(path, sizeof path, "%s/X_%s.npy", dir, part);
        rc = mlb_npy_write(ctx, path, MLB_NPY_F32, d->x, 4, xs);
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

int cnn_teardown(mlb_ctx *ctx, void *state)
{
    cnn_state *s = state;
    int rc = 0;
    char err[512];
    if (s && s->weights_out[0] && s->eng &&
        s->eng->weights_to(s->eng_impl, &s->model, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s engine: %s", s->eng->name, err);
    else if (s && s->weights_out[0] && nn_weights_save(&s->model, s->weights_out, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    state_free(s);
    return rc;
}
