/*
 * The classifier harness of the cnn and rnn tasks (classifier.h).
 */
#include "classifier.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the classifier harness runs the float32 NN core");
_Static_assert(sizeof(int32_t) == sizeof(int), "metrics.h takes int labels");

int nn_samples_alloc(nn_samples *s, size_t n, size_t d)
{
    s->n = n;
    s->d = d;
    s->x = nn_alloc(n * d > 0 ? n * d : 1, sizeof *s->x);
    s->y = nn_alloc(n ? n : 1, sizeof *s->y);
    return s->x && s->y ? 0 : -ENOMEM;
}

void nn_samples_free(nn_samples *s)
{
    nn_free(s->x);
    nn_free(s->y);
    memset(s, 0, sizeof *s);
}

int nn_samples_from(mlb_ctx *ctx, nn_samples *s, mlb_dataset *ds, size_t limit, size_t d)
{
    if (mlb_data_view_f32(ds) < 0)
        return mlb_error(ctx, "%s: out of memory for a float32 view", ds->name);
    size_t n = limit && limit < ds->n ? limit : ds->n;
    nn_samples_free(s);
    if (nn_samples_alloc(s, n, d) < 0)
        return mlb_error(ctx, "%s: out of memory for %zu samples", ds->name, n);
    memcpy(s->x, ds->X32, n * d * sizeof *s->x);
    for (size_t i = 0; i < n; i++)
        s->y[i] = (int32_t)ds->y[i];
    return 0;
}

int nn_clf_prepare(mlb_ctx *ctx, nn_clf *c, const char *dataset, int max_classes)
{
    if (c->train.n == 0 || c->test.n == 0)
        return mlb_error(ctx, "%s: empty training or test set", dataset);
    if (c->classes < 2 || c->classes > max_classes)
        return mlb_error(ctx, "%s: %d classes", dataset, c->classes);
    for (int k = 0; k < 2; k++) {
        const nn_samples *d = k ? &c->test : &c->train;
        for (size_t i = 0; i < d->n; i++)
            if (d->y[i] < 0 || d->y[i] >= c->classes)
                return mlb_error(ctx, "%s: label %d of sample %zu outside 0..%d", dataset,
                                 d->y[i], i, c->classes - 1);
    }
    c->max_batch = c->batch_size > c->infer_batch ? c->batch_size : c->infer_batch;
    c->xb = nn_alloc((size_t)c->max_batch * c->train.d, sizeof *c->xb);
    c->yb = nn_alloc((size_t)c->max_batch, sizeof *c->yb);
    c->pred = nn_alloc((size_t)c->max_batch, sizeof *c->pred);
    c->order = nn_alloc(c->train.n, sizeof *c->order);
    c->conf = nn_alloc((size_t)c->classes * (size_t)c->classes, sizeof *c->conf);
    if (!c->xb || !c->yb || !c->pred || !c->order || !c->conf)
        return mlb_error(ctx, "out of memory for batch buffers");
    for (size_t i = 0; i < c->train.n; i++)
        c->order[i] = i;
    nn_rng_seed(&c->shuffle, mlb_seed(ctx) ^ UINT64_C(0x73687566666c6521)); /* "shuffle!" */
    return 0;
}

void nn_clf_free(nn_clf *c)
{
    nn_samples_free(&c->train);
    nn_samples_free(&c->test);
    nn_free(c->xb);
    nn_free(c->yb);
    nn_free(c->order);
    nn_free(c->pred);
    nn_free(c->conf);
    c->xb = NULL;
    c->yb = c->pred = NULL;
    c->order = c->conf = NULL;
}

void nn_clf_standardize(nn_clf *c, int channels)
{
    size_t plane = c->train.d / (size_t)channels;
    for (int ch = 0; ch < channels; ch++) {
        double sum = 0, ss = 0;
        for (size_t i = 0; i < c->train.n; i++) {
            const float *p = c->train.x + i * c->train.d + (size_t)ch * plane;
            for (size_t j = 0; j < plane; j++)
                sum += p[j];
        }
        double count = (double)c->train.n * (double)plane;
        double mean = sum / count;
        for (size_t i = 0; i < c->train.n; i++) {
            const float *p = c->train.x + i * c->train.d + (size_t)ch * plane;
            for (size_t j = 0; j < plane; j++)
                ss += (p[j] - mean) * (p[j] - mean);
        }
        double sd = sqrt(ss / count);
        float inv = sd > 0 ? (float)(1.0 / sd) : 1.0f, m = (float)mean;
        for (int k = 0; k < 2; k++) {
            nn_samples *d = k ? &c->test : &c->train;
            for (size_t i = 0; i < d->n; i++) {
                float *p = d->x + i * d->d + (size_t)ch * plane;
                for (size_t j = 0; j < plane; j++)
                    p[j] = (p[j] - m) * inv;
            }
        }
    }
}

/* Accuracy and mean loss on the test set, in inference mode; the confusion
 * matrix stays in c->conf for the other metrics. Runs inside the timed
 * train, so the matrix is prepare's, only cleared here. */
static void evaluate(nn_clf *c, const nn_clf_net *net, void *u, double *accuracy, double *loss)
{
    int k = c->classes;
    memset(c->conf, 0, (size_t)k * (size_t)k * sizeof *c->conf); /* [truth][pred] */
    double sum = 0;
    for (size_t b = 0; b < c->test.n; b += (size_t)c->max_batch) {
        int n = c->test.n - b < (size_t)c->max_batch ? (int)(c->test.n - b) : c->max_batch;
        const int32_t *y = c->test.y + b;
        const float *z = net->forward(u, c->test.x + b * c->test.d, n);
        sum += net->loss(u, n, y) * n;
        nn_argmax_rows(z, n, k, c->pred);
        /* Cannot fail: prepare checked the labels, argmax is below k. */
        (void)metrics_confusion_add(y, c->pred, (size_t)n, k, c->conf);
    }
    *accuracy = metrics_accuracy_cm(c->conf, k);
    *loss = sum / (double)c->test.n;
}

int nn_clf_train(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u, const char *remedy)
{
    size_t n = c->train.n;
    double epoch_loss = NAN, epochs_to_target = NAN, steps = 0, accuracy = NAN, test_loss = NAN;
    for (int e = 1; e <= c->epochs; e++) {
        /* Fisher-Yates: a fresh, seeded order every epoch. */
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = (size_t)nn_rng_below(&c->shuffle, i + 1);
            size_t t = c->order[i];
            c->order[i] = c->order[j];
            c->order[j] = t;
        }
        double sum = 0;
        for (size_t b = 0; b < n; b += (size_t)c->batch_size) {
            int bn = n - b < (size_t)c->batch_size ? (int)(n - b) : c->batch_size;
            nn_gather_batch(c->train.x, c->train.y, n, c->train.d, c->order, b, bn, c->xb, c->yb);
            double loss = net->train_step(u, c->xb, c->yb, bn);
            if (!isfinite(loss))
                return mlb_error(ctx, "epoch %d: the loss diverged (%g) at sample %zu; %s", e,
                                 loss, b, remedy);
            sum += loss * bn;
            steps++;
        }
        epoch_loss = sum / (double)n;
        evaluate(c, net, u, &accuracy, &test_loss);
        mlb_report_progress(ctx, e, epoch_loss, "accuracy", accuracy);
        if (c->target_accuracy > 0 && isnan(epochs_to_target) && accuracy >= c->target_accuracy)
            epochs_to_target = e;
    }
    if (c->epochs == 0)
        evaluate(c, net, u, &accuracy, &test_loss);
    double samples = (double)n * c->epochs;
    mlb_report_work(ctx, MLB_WORK_ITEMS, samples);
    mlb_report_work(ctx, MLB_WORK_STEPS, steps);
    /* Backward costs about twice the forward pass. */
    mlb_report_work(ctx, MLB_WORK_FLOPS, 3.0 * c->flops_fwd * samples);
    /* accuracy, balanced_accuracy, macro_f1, macro_precision, macro_recall
     * of the last evaluation, whose matrix c->conf still holds. */
    metrics_report_confusion(ctx, c->conf, c->classes);
    if (c->epochs)
        mlb_report_metric(ctx, "loss", epoch_loss, MLB_LOWER_IS_BETTER);
    mlb_report_metric(ctx, "test_loss", test_loss, MLB_LOWER_IS_BETTER);
    if (c->target_accuracy > 0) /* NaN (null in the results) when never reached */
        mlb_report_metric(ctx, "epochs_to_target", epochs_to_target, MLB_LOWER_IS_BETTER);
    return 0;
}

/* n samples in one forward pass (n <= max_batch). Consecutive test
 * samples, wrapping around: every query does the same work on real
 * inputs. */
static void infer_batch(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u, int n)
{
    nn_gather_batch(c->test.x, c->test.y, c->test.n, c->test.d, NULL, c->infer_cursor, n, c->xb,
                    c->yb);
    c->infer_cursor = (c->infer_cursor + (size_t)n) % c->test.n;
    nn_argmax_rows(net->forward(u, c->xb, n), n, c->classes, c->pred);
    mlb_report_work(ctx, MLB_WORK_ITEMS, n);
    mlb_report_work(ctx, MLB_WORK_FLOPS, c->flops_fwd * n);
}

int nn_clf_infer(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u)
{
    infer_batch(ctx, c, net, u, c->infer_batch);
    return 0;
}

int nn_clf_infer_n(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u, int n)
{
    for (long left = (long)n * c->infer_batch; left > 0; left -= c->max_batch)
        infer_batch(ctx, c, net, u, left < c->max_batch ? (int)left : c->max_batch);
    return 0;
}

int nn_clf_export(mlb_ctx *ctx, const nn_clf *c, const char *dir, const size_t *row_shape,
                  int row_dims, const nn_model *init)
{
    char path[4096], err[512];
    for (int k = 0; k < 2; k++) {
        const nn_samples *d = k ? &c->test : &c->train;
        const char *part = k ? "test" : "train";
        size_t xs[8] = {d->n}, ys[1] = {d->n};
        for (int i = 0; i < row_dims && i < 7; i++)
            xs[i + 1] = row_shape[i];
        int64_t *y = malloc((d->n ? d->n : 1) * sizeof *y);
        if (!y)
            return mlb_error(ctx, "out of memory");
        for (size_t i = 0; i < d->n; i++)
            y[i] = d->y[i];
        snprintf(path, sizeof path, "%s/X_%s.npy", dir, part);
        int rc = mlb_npy_write(ctx, path, MLB_NPY_F32, d->x, row_dims + 1, xs);
        snprintf(path, sizeof path, "%s/y_%s.npy", dir, part);
        if (rc == 0)
            rc = mlb_npy_write(ctx, path, MLB_NPY_I64, y, 1, ys);
        free(y);
        if (rc < 0)
            return rc;
    }
    snprintf(path, sizeof path, "%s/weights_init.bin", dir);
    if (nn_weights_save(init, path, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    return 0;
}

int nn_clf_task_params(mlb_ctx *ctx, nn_clf_task *t)
{
    t->clf.epochs = (int)mlb_param_int(ctx, "epochs");
    t->clf.batch_size = (int)mlb_param_int(ctx, "batch_size");
    t->clf.infer_batch = (int)mlb_param_int(ctx, "infer_batch");
    t->clf.target_accuracy = mlb_param_float(ctx, "target_accuracy");
    t->threads = (int)mlb_param_int(ctx, "threads");
    t->n_train = (size_t)mlb_param_int(ctx, "train_samples");
    t->n_test = (size_t)mlb_param_int(ctx, "test_samples");
    t->kind = strcmp(mlb_param_str(ctx, "optimizer"), "adam") ? NN_SGD : NN_ADAM;
    const char *wo = mlb_param_str(ctx, "weights_out");
    if (strlen(wo) >= sizeof t->weights_out)
        return mlb_error(ctx, "parameter weights_out: path too long");
    snprintf(t->weights_out, sizeof t->weights_out, "%s", wo);
    return 0;
}

int nn_clf_task_backend(mlb_ctx *ctx, nn_clf_task *t, const nn_kernels *kernels,
                        const nn_engine *eng)
{
    char err[512];
    if (nn_backend_init(&t->be, kernels, t->threads, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    t->eng = eng;
    if (t->threads > 1 && kernels == &nn_kernels_naive && !eng)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                t->threads);
    return 0;
}

int nn_clf_task_trainer(mlb_ctx *ctx, nn_clf_task *t)
{
    char err[512];
    nn_clf *c = &t->clf;
    nn_model *m = &t->model;
    double lr = mlb_param_float(ctx, "lr"), momentum = mlb_param_float(ctx, "momentum");
    double decay = mlb_param_float(ctx, "weight_decay");
    if (nn_model_compile(m, &t->be, t->eng ? 1 : c->max_batch, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    nn_model_init_weights(m, mlb_seed(ctx));
    const char *wi = mlb_param_str(ctx, "weights_in");
    if (wi[0] && nn_weights_load(m, wi, err, sizeof err) < 0)
        return mlb_error(ctx, "parameter weights_in: %s", err);
    if (!t->eng) {
        if (nn_optim_init(&t->opt, t->kind, m->n_weights, lr, momentum, decay, err,
                          sizeof err) < 0)
            return mlb_error(ctx, "%s", err);
    } else {
        nn_engine_setup su = {.init = m, .max_batch = c->max_batch,
                              .train_batch = c->batch_size, .threads = t->threads,
                              .optimizer = t->kind, .lr = lr, .momentum = momentum,
                              .weight_decay = decay, .clip = t->clip};
        size_t nk = (size_t)c->max_batch * (size_t)c->classes;
        t->logits = nn_alloc(nk, sizeof *t->logits);
        t->probs = nn_alloc(nk, sizeof *t->probs);
        if (!t->logits || !t->probs)
            return mlb_error(ctx, "out of memory for logits");
        if (t->eng->create(&t->eng_impl, &su, err, sizeof err) < 0)
            return mlb_error(ctx, "%s engine: %s", t->eng->name, err);
    }
    c->flops_fwd = nn_model_forward_flops(m);
    /* Inference only reads (batch norm included), so these change no state. */
    int warm = c->test.n < (size_t)c->max_batch ? (int)c->test.n : c->max_batch;
    (void)nn_clf_task_net.forward(t, c->test.x, warm);
    if (t->eng && c->infer_batch < warm)
        (void)nn_clf_task_net.forward(t, c->test.x, c->infer_batch);
    return 0;
}

static double task_train_step(void *u, const float *x, const int32_t *y, int n)
{
    nn_clf_task *t = u;
    if (t->eng) /* forward, backward, clipping and the update, all its own */
        return t->eng->train_step(t->eng_impl, x, y, n);
    nn_model_forward(&t->model, x, n, 1);
    double loss = nn_model_loss(&t->model, n, y);
    if (!isfinite(loss))
        return loss;
    nn_model_zero_grad(&t->model);
    nn_model_backward(&t->model, n, y);
    if (t->clip > 0)
        nn_clip_grad_norm(t->model.grads, t->model.n_weights, t->clip);
    nn_optim_step(&t->opt, t->model.weights, t->model.grads);
    return loss;
}

static const float *task_forward(void *u, const float *x, int n)
{
    nn_clf_task *t = u;
    if (t->eng) {
        t->eng->forward(t->eng_impl, x, n, t->logits);
        return t->logits;
    }
    nn_model_forward(&t->model, x, n, 0);
    return nn_model_output(&t->model);
}

static double task_loss(void *u, int n, const int32_t *y)
{
    nn_clf_task *t = u;
    if (t->eng)
        return nn_xent_forward(n, t->clf.classes, t->logits, y, t->probs);
    return nn_model_loss(&t->model, n, y);
}

const nn_clf_net nn_clf_task_net = {task_train_step, task_forward, task_loss};

int nn_clf_task_train(mlb_ctx *ctx, nn_clf_task *t, const char *remedy)
{
    return nn_clf_train(ctx, &t->clf, &nn_clf_task_net, t, remedy);
}

int nn_clf_task_infer(mlb_ctx *ctx, nn_clf_task *t)
{
    return nn_clf_infer(ctx, &t->clf, &nn_clf_task_net, t);
}

int nn_clf_task_infer_n(mlb_ctx *ctx, nn_clf_task *t, int n)
{
    return nn_clf_infer_n(ctx, &t->clf, &nn_clf_task_net, t, n);
}

void nn_clf_task_free(nn_clf_task *t)
{
    if (t->eng && t->eng_impl)
        t->eng->destroy(t->eng_impl);
    nn_free(t->logits);
    nn_free(t->probs);
    nn_model_free(&t->model);
    nn_optim_free(&t->opt);
    nn_backend_release(&t->be);
    nn_clf_free(&t->clf);
}

int nn_clf_task_teardown(mlb_ctx *ctx, nn_clf_task *t)
{
    if (!t)
        return 0;
    int rc = 0;
    char err[512];
    if (t->weights_out[0] && t->eng &&
        t->eng->weights_to(t->eng_impl, &t->model, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s engine: %s", t->eng->name, err);
    else if (t->weights_out[0] && nn_weights_save(&t->model, t->weights_out, err, sizeof err) < 0)
        rc = mlb_error(ctx, "%s", err);
    nn_clf_task_free(t);
    return rc;
}
