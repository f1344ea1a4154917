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
#include "classifier.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the cnn plugins run the float32 NN core");

#define CNN_CLASSES_MAX 1000
/* Synthetic data when no size is given: enough batches to time. */
#define CNN_SYNTH_TRAIN 2048
#define CNN_SYNTH_TEST 512
/* Synthetic classes: Gaussian clusters whose spread makes the task
 * learnable but not trivial. */
#define CNN_SYNTH_NOISE 16.0

typedef struct {
    char model_name[32];
    char dataset[8200]; /* a registered name, or a file or pair of files */
    int c, h, w;        /* each sample: c x h x w */
    nn_clf_task t; /* network, optimiser, loop, metrics (plugins/nn/classifier.h) */
} cnn_state;

/* Copies up to `limit` rows (0: all) of a loaded dataset; its image shape
 * becomes the task's (the test set's must equal the training set's). */
static int data_from(mlb_ctx *ctx, cnn_state *s, nn_samples *d, mlb_dataset *ds, size_t limit)
{
    int c = ds->channels ? (int)ds->channels : 1;
    int h = ds->height ? (int)ds->height : 0, w = ds->width ? (int)ds->width : 0;
    if (!h) { /* a flat square image (digits: 64 features) */
        int side = (int)sqrt((double)ds->d);
        if ((size_t)side * (size_t)side != ds->d)
            return mlb_error(ctx, "%s: %zu features are not a square image", ds->name, ds->d);
        h = w = side;
    }
    if (d == &s->t.clf.test && (c != s->c || h != s->h || w != s->w))
        return mlb_error(ctx, "%s: test images of %dx%dx%d, training images of %dx%dx%d",
                         ds->name, c, h, w, s->c, s->h, s->w);
    s->c = c;
    s->h = h;
    s->w = w;
    return nn_samples_from(ctx, d, ds, limit, (size_t)c * (size_t)h * (size_t)w);
}

/* 8x8 digits onto the 28x28 canvas the models expect: each pixel 3x3
 * (nearest neighbour, 24x24), centred with a 2-pixel border of background. */
static int digits_to_28(mlb_ctx *ctx, cnn_state *s)
{
    if (s->h != 8 || s->w != 8 || s->c != 1)
        return mlb_error(ctx, "digits: expected 1x8x8 images, got %dx%dx%d", s->c, s->h, s->w);
    for (int k = 0; k < 2; k++) {
        nn_samples *d = k ? &s->t.clf.test : &s->t.clf.train, big = {0};
        if (nn_samples_alloc(&big, d->n, 784) < 0) {
            nn_samples_free(&big);
            return mlb_error(ctx, "digits: out of memory");
        }
        for (size_t i = 0; i < d->n; i++) {
            const float *src = d->x + i * 64;
            float *dst = big.x + i * 784;
            for (int r = 0; r < 24; r++)
                for (int col = 0; col < 24; col++)
                    dst[(r + 2) * 28 + col + 2] = src[(r / 3) * 8 + col / 3];
            big.y[i] = d->y[i];
        }
        nn_samples_free(d);
        *d = big;
    }
    s->h = s->w = 28;
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

/* The data set, up to train_samples and test_samples rows (0: all). */
static int load_data(mlb_ctx *ctx, cnn_state *s)
{
    const size_t n_train = s->t.n_train, n_test = s->t.n_test;
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
        rc = data_from(ctx, s, &s->t.clf.train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, s, &s->t.clf.test, b, n_test);
        s->t.clf.classes = a->n_classes;
    } else if (!strcmp(s->dataset, "digits")) {
        /* 1797 images, no official split: a seeded 80/20 one. */
        mlb_dataset *all = NULL;
        if ((rc = mlb_dataset_load("digits", &o, &all, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        rc = mlb_data_split(all, 0.2, mlb_seed(ctx), &a, &b, err, sizeof err);
        mlb_dataset_free(all);
        if (rc < 0)
            return mlb_error(ctx, "%s", err);
        rc = data_from(ctx, s, &s->t.clf.train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, s, &s->t.clf.test, b, n_test);
        if (rc == 0)
            rc = digits_to_28(ctx, s);
        s->t.clf.classes = a->n_classes;
    } else if (strcmp(s->dataset, "synthetic") && mlb_dataset_registered(s->dataset)) {
        return mlb_error(ctx,
                         "parameter dataset: '%s' is a registered dataset the cnn task does not "
                         "take; " CNN_DATASETS,
                         s->dataset);
    } else if (strcmp(s->dataset, "synthetic")) { /* the user's own file */
        if ((rc = load_file(ctx, s, &a, &b)) < 0)
            return rc;
        rc = data_from(ctx, s, &s->t.clf.train, a, n_train);
        if (rc == 0)
            rc = data_from(ctx, s, &s->t.clf.test, b, n_test);
        s->t.clf.classes = a->n_classes;
    } else {
        size_t ntr = n_train ? n_train : CNN_SYNTH_TRAIN, nte = n_test ? n_test : CNN_SYNTH_TEST;
        mlb_synth_opts so = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = ntr + nte,
                             .n_features = 3 * 32 * 32, .seed = mlb_seed(ctx),
                             .noise = CNN_SYNTH_NOISE, .n_classes = 10};
        if ((rc = mlb_data_synth(&so, &a, err, sizeof err)) < 0)
            return mlb_error(ctx, "%s", err);
        a->channels = 3;
        a->height = a->width = 32;
        rc = data_from(ctx, s, &s->t.clf.train, a, ntr);
        if (rc == 0 && (rc = mlb_data_subset(a, ntr, nte, &b)) < 0)
            rc = mlb_error(ctx, "synthetic: out of memory");
        if (rc == 0) {
            b->channels = 3;
            b->height = b->width = 32;
            rc = data_from(ctx, s, &s->t.clf.test, b, 0);
        }
        s->t.clf.classes = 10;
    }
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    return rc;
}

static void state_free(cnn_state *s)
{
    if (!s)
        return;
    nn_clf_task_free(&s->t);
    free(s);
}

/* The engine has checked every value against cnn_rules (so the ints fit an
 * int, and the names are the rules' choices). */
static int read_params(mlb_ctx *ctx, cnn_state *s)
{
    const char *model = mlb_param_str(ctx, "model");
    snprintf(s->model_name, sizeof s->model_name, "%s", model);
    const char *ds = mlb_param_str(ctx, "dataset");
    if (!strcmp(ds, "auto"))
        ds = strcmp(model, "resnet18") ? "fashion-mnist" : "synthetic";
    if (strlen(ds) >= sizeof s->dataset)
        return mlb_error(ctx, "parameter dataset: name too long (%zu bytes)", strlen(ds));
    snprintf(s->dataset, sizeof s->dataset, "%s", ds);
    return nn_clf_task_params(ctx, &s->t);
}

int cnn_setup(mlb_ctx *ctx, void **state, const cnn_variant *variant)
{
    *state = NULL;
    cnn_state *s = calloc(1, sizeof *s);
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
        rc = nn_clf_prepare(ctx, c, s->dataset, CNN_CLASSES_MAX);
    if (rc == 0 && mlb_param_bool(ctx, "standardize"))
        nn_clf_standardize(c, s->c);

    if (rc == 0 && (rc = cnn_model_build(&t->model, s->model_name, s->c, s->h, s->w, c->classes,
                                         err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0)
        rc = nn_clf_task_trainer(ctx, t);
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    mlb_log(ctx, MLB_LOG_DEBUG,
            "%s on %s: %zu train / %zu test images of %dx%dx%d, %d classes, %zu parameters, "
            "%.3f MFLOP per image forward, %s kernels, %d thread(s)",
            s->model_name, s->dataset, c->train.n, c->test.n, s->c, s->h, s->w, c->classes,
            t->model.n_weights, c->flops_fwd * 1e-6, t->eng ? t->eng->name : t->be.k->name,
            t->threads);
    *state = s;
    return 0;
}

int cnn_train(mlb_ctx *ctx, void *state)
{
    return nn_clf_task_train(ctx, &((cnn_state *)state)->t, "lower lr");
}

int cnn_infer(mlb_ctx *ctx, void *state)
{
    return nn_clf_task_infer(ctx, &((cnn_state *)state)->t);
}

int cnn_infer_n(mlb_ctx *ctx, void *state, int n)
{
    return nn_clf_task_infer_n(ctx, &((cnn_state *)state)->t, n);
}

/* For peers (docs/peer-protocol.md): the images and labels exactly as the
 * network sees them (after any subset and standardisation) as .npy, and the
 * initial weights as a weight file, so that a peer trains the same model
 * from the same start on the same data. */
int cnn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    cnn_state *s = state;
    size_t row[3] = {(size_t)s->c, (size_t)s->h, (size_t)s->w};
    return nn_clf_export(ctx, &s->t.clf, dir, row, 3, &s->t.model);
}

int cnn_teardown(mlb_ctx *ctx, void *state)
{
    cnn_state *s = state;
    int rc = nn_clf_task_teardown(ctx, s ? &s->t : NULL);
    free(s);
    return rc;
}
