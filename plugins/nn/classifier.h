/*
 * The classifier harness the cnn and rnn tasks share: labelled samples as
 * the network sees them, standardisation, the seeded per-epoch shuffle, the
 * mini-batch training loop with a test evaluation per epoch (the learning
 * curve), batched inference over the test set, the metrics, and the files a
 * peer reads. What differs between the tasks (the data sets, the model, a
 * separate engine such as oneDNN or libtorch) reaches it through
 * nn_clf_net, so that the loop is written once.
 *
 * Built as its own static library (plugins/nn/meson.build) because it
 * reports through the plugin API and the shared metrics, which the NN core
 * itself does not need.
 */
#ifndef MLB_NN_CLASSIFIER_H
#define MLB_NN_CLASSIFIER_H

#include <stddef.h>
#include <stdint.h>

#include "mlbench/data.h"
#include "mlbench/plugin.h"
#include "nn.h"
#include "nn_engine.h"

/* Samples as the network sees them: n rows of d float32 values, batch-
 * first, and their labels. */
typedef struct {
    size_t n, d;
    float *x;   /* [n, d] */
    int32_t *y; /* [n] */
} nn_samples;

int nn_samples_alloc(nn_samples *s, size_t n, size_t d);
void nn_samples_free(nn_samples *s);
/* Copies up to `limit` rows (0: all) of a loaded data set, whose rows must
 * hold d values (the caller has checked its shape). */
int nn_samples_from(mlb_ctx *ctx, nn_samples *s, mlb_dataset *ds, size_t limit, size_t d);

/* The network under test. Each call runs inside a timed phase, so none
 * allocates or fails; a diverged step returns a non-finite loss. */
typedef struct {
    /* One training step on the batch x [n, d], y [n]: forward, loss,
     * backward, update. Returns the batch's mean loss before the update. */
    double (*train_step)(void *net, const float *x, const int32_t *y, int n);
    /* Inference-mode logits [n, classes] of x [n, d]. */
    const float *(*forward)(void *net, const float *x, int n);
    /* After forward: the mean cross-entropy of labels y [n]. */
    double (*loss)(void *net, int n, const int32_t *y);
} nn_clf_net;

typedef struct {
    nn_samples train, test;
    int classes;
    int epochs, batch_size, infer_batch, max_batch; /* max_batch: max(batch, infer) */
    double target_accuracy;                         /* 0: not tracked */
    float *xb;     /* one batch [max_batch, d] */
    int32_t *yb;   /* its labels */
    size_t *order; /* training-set permutation */
    int32_t *pred; /* predictions of one batch */
    size_t *conf;  /* the last evaluation's confusion matrix [classes x classes] */
    nn_rng shuffle;
    size_t infer_cursor;
    double flops_fwd; /* per sample, for MLB_WORK_FLOPS */
} nn_clf;

/* After the samples, classes and batch sizes are set: checks that both
 * sets are non-empty and every label is in 0..classes-1 (errors name
 * `dataset`), allocates the batch buffers and seeds the shuffle. */
int nn_clf_prepare(mlb_ctx *ctx, nn_clf *c, const char *dataset, int max_classes);
/* Frees the samples and buffers. */
void nn_clf_free(nn_clf *c);

/* Zero mean and unit variance per channel (each row: `channels` planes of
 * d / channels values), with the training set's statistics, as
 * torchvision's Normalize with precomputed mean and std. */
void nn_clf_standardize(nn_clf *c, int channels);

/* The whole train phase: `epochs` seeded shuffles of mini-batches, a test
 * evaluation and progress point per epoch, then the work done and the
 * metrics (metrics_report_confusion's, loss, test_loss, epochs_to_target).
 * `what` names the loss's remedy in the divergence error. */
int nn_clf_train(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u, const char *remedy);
/* One query: infer_batch consecutive test samples (wrapping around). */
int nn_clf_infer(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u);
/* n queries in forward passes of up to max_batch samples (ABI 1.3). */
int nn_clf_infer_n(mlb_ctx *ctx, nn_clf *c, const nn_clf_net *net, void *u, int n);

/* What a classifier task holds beside its own data and model shape: the
 * harness, the network (the NN core's model on a backend, or an engine
 * running it), the optimiser and the parameters every such task has. A
 * task's state embeds one and hands it to the calls below; the same
 * calls, in the same order, make every classifier task (cnn, rnn). */
typedef struct {
    nn_clf clf; /* data, batches, loop, metrics */
    nn_backend be;
    nn_model model;        /* with an engine: only the weights */
    nn_optim opt;          /* the core's optimiser (no engine) */
    const nn_engine *eng;  /* NULL: the NN core runs the network */
    void *eng_impl;
    float *logits, *probs; /* engines: one batch's logits and their softmax */
    double clip;           /* gradient clipping to this global norm (0: none) */
    int threads;
    nn_optim_kind kind;
    size_t n_train, n_test; /* parameters train_samples, test_samples (0: all) */
    char weights_out[1024];
} nn_clf_task;

/* The parameters every classifier task declares: epochs, batch_size,
 * infer_batch, threads, train_samples, test_samples, optimizer (adam or
 * sgd), target_accuracy and weights_out. (A task with clipping sets
 * t->clip itself.) */
int nn_clf_task_params(mlb_ctx *ctx, nn_clf_task *t);
/* The backend of kernels (or the engine eng, when not NULL), for
 * t->threads threads; warns that the naive kernels are serial. */
int nn_clf_task_backend(mlb_ctx *ctx, nn_clf_task *t, const nn_kernels *kernels,
                        const nn_engine *eng);
/* After the task has prepared t->clf and built t->model: compiles it for
 * clf.max_batch samples (for one when an engine runs the network, the
 * model then holding only the weights), gives it the seeded initial
 * weights or those of the file in parameter weights_in, then creates
 * either the engine on them or the core's optimiser (parameters lr,
 * momentum, weight_decay). Then one inference pass of a full batch and,
 * for an engine, one of infer_batch, so that one-off costs (OpenBLAS's
 * thread pool, first touches, an engine's plans per batch size) are not
 * inside the timed phases. Errors are reported through ctx. */
int nn_clf_task_trainer(mlb_ctx *ctx, nn_clf_task *t);
/* t as the harness's network (u is the nn_clf_task): the core's model,
 * clipped when t->clip > 0, or the engine, with the core's loss on its
 * logits. */
extern const nn_clf_net nn_clf_task_net;
/* The phases on t. */
int nn_clf_task_train(mlb_ctx *ctx, nn_clf_task *t, const char *remedy);
int nn_clf_task_infer(mlb_ctx *ctx, nn_clf_task *t);
int nn_clf_task_infer_n(mlb_ctx *ctx, nn_clf_task *t, int n);
/* Saves the weights to weights_out where set (from the engine if one
 * ran), then frees what t holds (nn_clf_task_free); t may be NULL. */
int nn_clf_task_teardown(mlb_ctx *ctx, nn_clf_task *t);
/* Frees what t holds (not t). */
void nn_clf_task_free(nn_clf_task *t);

/* For peers (docs/peer-protocol.md): X_train.npy, y_train.npy, X_test.npy,
 * y_test.npy (float32 [n, row_shape...], int64 [n]) and the initial
 * weights as weights_init.bin. */
int nn_clf_export(mlb_ctx *ctx, const nn_clf *c, const char *dir, const size_t *row_shape,
                  int row_dims, const nn_model *init);

#endif
