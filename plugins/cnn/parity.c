/*
 * cnn-parity: the C half of tools/parity/cnn_torch.py. Builds one of the
 * cnn models, initialises it from a seed, runs one batch forward (training
 * mode) and backward with the chosen kernel table, and writes into DIR:
 *
 *   weights.bin   the initial weights (docs/weights-format.md)
 *   x.npy, y.npy  the batch: float32 images, int64 labels
 *   logits.npy    the network's output for the batch, float32
 *   loss.npy      the mean softmax cross-entropy, float64 (one value)
 *   masks.npy     uint8, 1 where a ReLU's input was positive, ReLU after
 *                 ReLU in graph order
 *   grads.bin     weight-file layout: each trainable tensor holds its
 *                 gradient; each buffer holds its value after the pass
 *                 (batch norm's updated running statistics)
 *
 * The Python side loads weights.bin into the same PyTorch module, repeats
 * the pass and compares. Not installed; built for the parity tool only.
 * Built again with -DCNN_PARITY_LIBTORCH as cnn-parity-libtorch (and
 * -DCNN_PARITY_ONEDNN as cnn-parity-onednn), which also take VARIANT
 * libtorch (onednn): the same pass through the engine (cnn_engine.h's
 * gradients), with the NN core's ReLU sides for libtorch and oneDNN's own
 * for onednn (its gradients hook leaves its ReLU outputs in the model).
 *
 *   cnn-parity MODEL VARIANT BATCH C H W SEED DIR
 */
#include "cnn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(CNN_PARITY_LIBTORCH)
#define CNN_PARITY_ENGINES "|libtorch"
#elif defined(CNN_PARITY_ONEDNN)
#define CNN_PARITY_ENGINES "|onednn"
#else
#define CNN_PARITY_ENGINES ""
#endif

int main(int argc, char **argv)
{
    if (argc != 9) {
        fprintf(stderr, "usage: cnn-parity MODEL naive|openblas%s BATCH C H W SEED DIR\n",
                CNN_PARITY_ENGINES);
        return 2;
    }
    const char *model = argv[1], *variant = argv[2], *dir = argv[8];
    int batch = atoi(argv[3]), c = atoi(argv[4]), h = atoi(argv[5]), w = atoi(argv[6]);
    uint64_t seed = strtoull(argv[7], NULL, 10);
    const cnn_engine *eng = NULL;
#ifdef CNN_PARITY_LIBTORCH
    if (!strcmp(variant, "libtorch"))
        eng = &cnn_engine_libtorch;
#endif
#ifdef CNN_PARITY_ONEDNN
    if (!strcmp(variant, "onednn"))
        eng = &cnn_engine_onednn;
#endif
    /* An engine's ReLU sides come from the NN core's forward pass on the
     * same weights and batch (the engine does not expose them). */
    const nn_kernels *k = !strcmp(variant, "naive")                 ? &nn_kernels_naive
                          : !strcmp(variant, "openblas") || eng ? &nn_kernels_openblas
                                                                 : NULL;
    if (!k || batch < 1) {
        fprintf(stderr, "cnn-parity: bad variant '%s' or batch %d\n", variant, batch);
        return 2;
    }
    char err[512], path[4096];
    nn_backend be;
    nn_model m;
    if (nn_backend_init(&be, k, 1, err, sizeof err) < 0 ||
        cnn_model_build(&m, model, c, h, w, 10, err, sizeof err) < 0) {
        fprintf(stderr, "cnn-parity: %s\n", err);
        return 1;
    }
    int rc = 1;
    float *x = NULL;
    int32_t *y = NULL;
    int64_t *y64 = NULL;
    if (nn_model_compile(&m, &be, batch, err, sizeof err) < 0) {
        fprintf(stderr, "cnn-parity: %s\n", err);
        goto out;
    }
    nn_model_init_weights(&m, seed);
    /* Running statistics away from their (0, 1) start, so that the
     * comparison of their update means something. */
    nn_rng r;
    nn_rng_seed(&r, seed + 1);
    for (int i = 0; i < m.n_params; i++)
        if (!m.params[i].trainable)
            for (size_t j = 0; j < m.params[i].size; j++)
                m.params[i].data[j] = (float)(strstr(m.params[i].name, "var")
                                                  ? 0.5 + nn_rng_uniform(&r)
                                                  : nn_rng_uniform(&r) - 0.5);
    snprintf(path, sizeof path, "%s/weights.bin", dir);
    if (nn_weights_save(&m, path, err, sizeof err) < 0) {
        fprintf(stderr, "cnn-parity: %s\n", err);
        goto out;
    }
    size_t d = nn_model_input_size(&m);
    x = malloc((size_t)batch * d * sizeof *x);
    y = malloc((size_t)batch * sizeof *y);
    y64 = malloc((size_t)batch * sizeof *y64);
    if (!x || !y || !y64)
        goto out;
    for (size_t i = 0; i < (size_t)batch * d; i++)
        x[i] = (float)nn_rng_normal(&r);
    for (int i = 0; i < batch; i++)
        y64[i] = y[i] = (int32_t)nn_rng_below(&r, 10);

    nn_model_zero_grad(&m);
    /* The engine starts from the initial running statistics, as the core. */
    float *buffers0 = NULL;
    if (eng && !(buffers0 = malloc((m.n_buffers ? m.n_buffers : 1) * sizeof *buffers0)))
        goto out;
    if (eng)
        memcpy(buffers0, m.buffers, m.n_buffers * sizeof *buffers0);
    nn_model_forward(&m, x, batch, 1);
    double loss = nn_model_loss(&m, batch, y);
    nn_model_backward(&m, batch, y);
    float *logits = m.nodes[m.n_nodes - 1].y; /* the core's, overwritten by an engine's */
    if (eng) {
        memcpy(m.buffers, buffers0, m.n_buffers * sizeof *buffers0);
        free(buffers0);
        nn_model_zero_grad(&m);
        void *impl = NULL;
        cnn_engine_setup su = {.init = &m, .max_batch = batch, .threads = 1,
                               .optimizer = NN_SGD, .lr = 0.01};
        if (eng->create(&impl, &su, err, sizeof err) < 0) {
            fprintf(stderr, "cnn-parity: %s engine: %s\n", eng->name, err);
            goto out;
        }
        loss = eng->gradients(impl, x, y, batch, logits, &m);
        eng->destroy(impl);
        if (isnan(loss)) {
            fprintf(stderr, "cnn-parity: %s engine failed\n", eng->name);
            goto out;
        }
    }

    size_t xs[4] = {(size_t)batch, (size_t)c, (size_t)h, (size_t)w}, ys[1] = {(size_t)batch};
    size_t ls[2] = {(size_t)batch, (size_t)nn_model_classes(&m)}, one[1] = {1};
    if (nn_npy_save("cnn-parity", dir, "x.npy", "<f4", x, 4, 4, xs) < 0 ||
        nn_npy_save("cnn-parity", dir, "y.npy", "<i8", y64, 8, 1, ys) < 0 ||
        nn_npy_save("cnn-parity", dir, "logits.npy", "<f4", logits, 4, 2, ls) < 0 ||
        nn_npy_save("cnn-parity", dir, "loss.npy", "<f8", &loss, 8, 1, one) < 0)
        goto out;
    /* Which side of zero each ReLU input fell on, ReLU by ReLU in graph
     * order (PyTorch's call order too). Among millions of activations a few
     * lie within float32 rounding of zero; where ours and the reference
     * land on different sides, the gradients differ by construction, so
     * the tool compares gradients on our side of each kink. */
    size_t n_mask = 0;
    for (int i = 0; i < m.n_nodes; i++)
        if (m.nodes[i].op == NN_OP_RELU)
            n_mask += (size_t)batch * m.nodes[i].size;
    unsigned char *mask = malloc(n_mask ? n_mask : 1);
    if (!mask)
        goto out;
    size_t at = 0;
    for (int i = 0; i < m.n_nodes; i++)
        if (m.nodes[i].op == NN_OP_RELU)
            for (size_t j = 0; j < (size_t)batch * m.nodes[i].size; j++)
                mask[at++] = m.nodes[i].y[j] > 0;
    int mrc = nn_npy_save("cnn-parity", dir, "masks.npy", "|u1", mask, 1, 1, &n_mask);
    free(mask);
    if (mrc < 0)
        goto out;
    /* Gradients in the weight-file layout: point each trainable tensor at
     * its gradient for the save. */
    for (int i = 0; i < m.n_params; i++)
        if (m.params[i].trainable) {
            float *t = m.params[i].data;
            m.params[i].data = m.params[i].grad;
            m.params[i].grad = t;
        }
    snprintf(path, sizeof path, "%s/grads.bin", dir);
    if (nn_weights_save(&m, path, err, sizeof err) < 0) {
        fprintf(stderr, "cnn-parity: %s\n", err);
        goto out;
    }
    for (int i = 0; i < m.n_params; i++)
        if (m.params[i].trainable) {
            float *t = m.params[i].data;
            m.params[i].data = m.params[i].grad;
            m.params[i].grad = t;
        }
    printf("%s %s: %zu parameters, loss %.6f\n", model, variant, m.n_weights, loss);
    rc = 0;
out:
    free(x);
    free(y);
    free(y64);
    nn_model_free(&m);
    nn_backend_release(&be);
    return rc;
}
