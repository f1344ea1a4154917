/*
 * The cnn task's engine hook (see cnn.h), in a header of its own so that an
 * engine written in C++ (libtorch.cpp) includes it without cnn.h's static
 * parameter tables (C compound literals).
 */
#ifndef MLB_CNN_ENGINE_H
#define MLB_CNN_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- engines: variants that run the whole network in another library ----
 *
 * A variant either gives the NN core a kernel table (naive, openblas: the
 * core's layers run the graph) or an engine that takes the graph and runs
 * it itself (libtorch), because such a library's fused layer calls do not
 * fit the core's per-kernel table. Either way cnn.c does the data, the
 * shuffle, the batches, evaluation and metrics, so variants differ only in
 * the arithmetic. The engine is handed the NN-core model after its seeded
 * initialisation (or weights_in): its graph is the architecture (models.c,
 * the one definition) and its tensors, by PyTorch name, the initial
 * weights. */
typedef struct {
    const nn_model *init; /* graph + initial weights; outlives the engine */
    int max_batch;        /* largest n any call will pass */
    int train_batch;      /* n of the training steps (the last may be smaller) */
    int threads;
    nn_optim_kind optimizer;
    double lr, momentum, weight_decay;
} cnn_engine_setup;

typedef struct {
    const char *name;
    /* 0 or a negative errno with the reason in err. */
    int (*create)(void **impl, const cnn_engine_setup *su, char *err, size_t errlen);
    /* One optimiser step on x [n, c*h*w], labels y: forward in training
     * mode, mean softmax cross-entropy, backward, update. Returns the
     * batch's mean loss (before the update). */
    double (*train_step)(void *impl, const float *x, const int32_t *y, int n);
    /* Inference mode: logits [n, classes]. */
    void (*forward)(void *impl, const float *x, int n, float *logits);
    /* Copies the current weights and buffers back into m (the init model),
     * for weights_out. */
    int (*weights_to)(void *impl, nn_model *m, char *err, size_t errlen);
    void (*destroy)(void *impl);
    /* For the parity driver (parity.c): forward in training mode, loss and
     * backward without the update; logits [n, classes] out, the gradients
     * into m->grads and the updated running statistics into m's buffers.
     * Returns the mean loss, NaN on failure. */
    double (*gradients)(void *impl, const float *x, const int32_t *y, int n, float *logits,
                        nn_model *m);
} cnn_engine;

/* The engines this build has (libtorch.cpp, ...). */
extern const cnn_engine cnn_engine_libtorch;
/* cnn:libtorch's plugin side: loads cnn_libtorch_engine.engine (libtorch.cpp) on
 * first use (libtorch_loader.c); available() says when it is missing. */
extern const cnn_engine cnn_engine_libtorch_loader;
const char *cnn_libtorch_available(void);
extern const cnn_engine cnn_engine_onednn;

#ifdef __cplusplus
}
#endif

#endif
