/*
 * rnn-parity: the C half of tools/parity/rnn_torch.py. Builds the rnn
 * task's network (a recurrent stack and a linear head on the last step),
 * initialises it from a seed, runs one batch forward and backward with the
 * chosen kernel table, and writes into DIR:
 *
 *   weights.bin   the initial weights (docs/weights-format.md)
 *   x.npy, y.npy  the batch: float32 sequences [n, T, I], int64 labels
 *   logits.npy    the network's output for the batch, float32
 *   loss.npy      the mean softmax cross-entropy, float64 (one value)
 *   grads.bin     weight-file layout, each tensor holding its gradient
 *
 * The Python side loads weights.bin into the same PyTorch module, repeats
 * the pass and compares. Not installed; built for the parity tool only.
 * Built again with -DRNN_PARITY_LIBTORCH as rnn-parity-libtorch, which also
 * takes VARIANT libtorch: the same pass through the engine (nn_engine.h's
 * gradients); and with -DRNN_PARITY_ONEDNN as rnn-parity-onednn, whose
 * VARIANT onednn is the onednn engine (oneDNN's RNN primitives; the plain
 * driver's onednn is the NN core's cells on the onednn kernel table).
 *
 *   rnn-parity CELL VARIANT BATCH T I H LAYERS BIDIR SEED DIR
 */
#include "rnn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 11) {
        fprintf(stderr, "usage: rnn-parity rnn_tanh|rnn_relu|lstm|gru naive|openblas|onednn|libtorch BATCH T I H "
                        "LAYERS BIDIR SEED DIR\n");
        return 2;
    }
    const char *cell = argv[1], *variant = argv[2], *dir = argv[10];
    int batch = atoi(argv[3]), T = atoi(argv[4]), I = atoi(argv[5]), H = atoi(argv[6]);
    int layers = atoi(argv[7]), bidir = atoi(argv[8]);
    uint64_t seed = strtoull(argv[9], NULL, 10);
    const nn_kernels *k = !strcmp(variant, "naive")      ? &nn_kernels_naive
                          : !strcmp(variant, "openblas") ? &nn_kernels_openblas
                                                         : NULL;
#ifdef NN_HAVE_ONEDNN /* built with oneDNN (meson) */
    if (!strcmp(variant, "onednn"))
        k = &nn_kernels_onednn;
#endif
    const nn_engine *eng = NULL;
#ifdef RNN_PARITY_ONEDNN /* rnn-parity-onednn: the pass through oneDNN's primitives */
    if (!strcmp(variant, "onednn")) {
        eng = &rnn_engine_onednn;
        k = &nn_kernels_naive; /* the model only holds the weights */
    }
#endif
#ifdef RNN_PARITY_LIBTORCH /* rnn-parity-libtorch: the pass through the engine */
    if (!strcmp(variant, "libtorch")) {
        eng = &rnn_engine_libtorch;
        k = &nn_kernels_openblas; /* the model only holds the weights */
    }
#endif
    if (!k || batch < 1 || nn_cell_parse(cell) < 0) {
        fprintf(stderr, "rnn-parity: bad cell '%s', variant '%s' or batch %d\n", cell, variant,
                batch);
        return 2;
    }
    const char *model = !strncmp(cell, "rnn_", 4) ? "rnn" : cell;
    const char *nonlin = !strcmp(cell, "rnn_relu") ? "relu" : "tanh";
    char err[512], path[4096];
    nn_backend be;
    nn_model m;
    const int classes = 10;
    if (nn_backend_init(&be, k, 1, err, sizeof err) < 0 ||
        rnn_model_build(&m, model, nonlin, T, I, H, layers, bidir, classes, err, sizeof err) < 0) {
        fprintf(stderr, "rnn-parity: %s\n", err);
        return 1;
    }
    int rc = 1;
    float *x = NULL;
    int32_t *y = NULL;
    int64_t *y64 = NULL;
    float *logits = NULL;
    void *impl = NULL;
    if (nn_model_compile(&m, &be, batch, err, sizeof err) < 0) {
        fprintf(stderr, "rnn-parity: %s\n", err);
        goto out;
    }
    nn_model_init_weights(&m, seed);
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    if (nn_weights_save(&m, path, err, sizeof err) < 0) {
        fprintf(stderr, "rnn-parity: %s\n", err);
        goto out;
    }
    nn_rng r;
    nn_rng_seed(&r, seed + 1);
    size_t d = nn_model_input_size(&m);
    x = malloc((size_t)batch * d * sizeof *x);
    y = malloc((size_t)batch * sizeof *y);
    y64 = malloc((size_t)batch * sizeof *y64);
    if (!x || !y || !y64)
        goto out;
    for (size_t i = 0; i < (size_t)batch * d; i++)
        x[i] = (float)nn_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        y64[i] = y[i] = (int32_t)nn_rng_below(&r, classes);

    nn_model_zero_grad(&m);
    double loss;
    const float *out_logits;
    if (eng) {
        nn_engine_setup su = {.init = &m, .max_batch = batch, .train_batch = batch, .threads = 1,
                              .optimizer = NN_ADAM, .lr = 1e-3};
        logits = malloc((size_t)batch * classes * sizeof *logits);
        if (!logits)
            goto out;
        if (eng->create(&impl, &su, err, sizeof err) < 0) {
            fprintf(stderr, "rnn-parity: %s\n", err);
            goto out;
        }
        loss = eng->gradients(impl, x, y, batch, logits, &m);
        out_logits = logits;
    } else {
        nn_model_forward(&m, x, batch, 1);
        loss = nn_model_loss(&m, batch, y);
        nn_model_backward(&m, batch, y);
        out_logits = nn_model_output(&m);
    }

    size_t xs[3] = {(size_t)batch, (size_t)T, (size_t)I}, ys[1] = {(size_t)batch};
    size_t ls[2] = {(size_t)batch, (size_t)classes}, one[1] = {1};
    if (nn_npy_save("rnn-parity", dir, "x.npy", "<f4", x, 4, 3, xs) < 0 ||
        nn_npy_save("rnn-parity", dir, "y.npy", "<i8", y64, 8, 1, ys) < 0 ||
        nn_npy_save("rnn-parity", dir, "logits.npy", "<f4", out_logits, 4, 2, ls) < 0 ||
        nn_npy_save("rnn-parity", dir, "loss.npy", "<f8", &loss, 8, 1, one) < 0)
        goto out;
    /* Gradients in the weight-file layout: point each tensor at its
     * gradient for the save, then back. */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < m.n_params; i++) {
            float *t = m.params[i].data;
            m.params[i].data = m.params[i].grad;
            m.params[i].grad = t;
        }
        snprintf(path, sizeof path, "%s/grads.bin", dir);
        if (!pass && nn_weights_save(&m, path, err, sizeof err) < 0) {
            fprintf(stderr, "rnn-parity: %s\n", err);
            pass = 2; /* swap back below, then fail */
            for (int i = 0; i < m.n_params; i++) {
                float *t = m.params[i].data;
                m.params[i].data = m.params[i].grad;
                m.params[i].grad = t;
            }
            goto out;
        }
    }
    printf("%s %s: %zu parameters, loss %.6f\n", cell, variant, m.n_weights, loss);
    rc = 0;
out:
    if (impl)
        eng->destroy(impl);
    free(logits);
    free(x);
    free(y);
    free(y64);
    nn_model_free(&m);
    nn_backend_release(&be);
    return rc;
}
