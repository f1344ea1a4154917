/*
 * Engines: variants that run a whole network in another library (libtorch,
 * oneDNN's primitives) instead of giving the NN core a kernel table,
 * because such a library's fused layer calls (a convolution with its
 * formats, an LSTM over all steps) do not fit the core's per-kernel table.
 * The task's shared code still does the data, the shuffle, the batches,
 * evaluation and metrics, so variants differ only in the arithmetic. The
 * engine is handed the NN-core model after its seeded initialisation (or
 * weights_in): its graph is the architecture (the task's one definition)
 * and its tensors, by PyTorch name, the initial weights.
 *
 * An engine that links a large library (libtorch: about 1.4 s of loading
 * and constructors) lives in a module of its own beside the plugin, opened
 * on first use by nn_engine_load (engine_loader.c): the engine loads every
 * plugin at discovery, and a plugin linked against libtorch would make
 * every engine start, `--list` and unrelated run pay that.
 *
 * C and C++ (the libtorch engines include it).
 */
#ifndef MLB_NN_NN_ENGINE_H
#define MLB_NN_NN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const nn_model *init; /* graph + initial weights; outlives the engine */
    int max_batch;        /* largest n any call will pass */
    int train_batch;      /* n of the training steps (the last may be smaller) */
    int threads;
    nn_optim_kind optimizer;
    double lr, momentum, weight_decay;
    double clip; /* clip the gradient to this global L2 norm before each step; 0: none */
} nn_engine_setup;

typedef struct {
    const char *name;
    /* 0 or a negative errno with the reason in err. */
    int (*create)(void **impl, const nn_engine_setup *su, char *err, size_t errlen);
    /* One optimiser step on x [n, per-sample size], labels y: forward in
     * training mode, mean softmax cross-entropy, backward, (clipping,)
     * update. Returns the batch's mean loss (before the update), NaN on
     * failure. */
    double (*train_step)(void *impl, const float *x, const int32_t *y, int n);
    /* Inference mode: logits [n, classes]. */
    void (*forward)(void *impl, const float *x, int n, float *logits);
    /* Copies the current weights and buffers back into m (the init model),
     * for weights_out. */
    int (*weights_to)(void *impl, nn_model *m, char *err, size_t errlen);
    void (*destroy)(void *impl);
    /* For the parity drivers: forward in training mode, loss and backward
     * without the update; logits [n, classes] out, the gradients into
     * m->grads and the updated buffers (batch norm's running statistics)
     * into m's. Returns the mean loss, NaN on failure. */
    double (*gradients)(void *impl, const float *x, const int32_t *y, int n, float *logits,
                        nn_model *m);
} nn_engine;

/* 1 when the module `file` is readable beside the plugin that calls this
 * (the shared object this code is linked into), else 0. */
int nn_engine_module_present(const char *file);

/* Opens the module `file` beside the plugin (once per process: it stays
 * loaded, as libtorch's static state does not unload), looks up the engine
 * `symbol` in it and creates it; *impl is then the loaded engine's state
 * for the nn_engine_loaded_* forwarders below. */
int nn_engine_load(void **impl, const char *file, const char *symbol, const nn_engine_setup *su,
                   char *err, size_t errlen);
double nn_engine_loaded_train_step(void *impl, const float *x, const int32_t *y, int n);
void nn_engine_loaded_forward(void *impl, const float *x, int n, float *logits);
int nn_engine_loaded_weights_to(void *impl, nn_model *m, char *err, size_t errlen);
void nn_engine_loaded_destroy(void *impl);
double nn_engine_loaded_gradients(void *impl, const float *x, const int32_t *y, int n,
                                  float *logits, nn_model *m);

/* The members of a loader engine after its name and create. */
#define NN_ENGINE_LOADED_OPS                                                                    \
    nn_engine_loaded_train_step, nn_engine_loaded_forward, nn_engine_loaded_weights_to,         \
        nn_engine_loaded_destroy, nn_engine_loaded_gradients

#ifdef __cplusplus
}
#endif

#endif
