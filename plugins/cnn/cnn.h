/*
 * cnn: image classification with convolutional networks (LeNet-5,
 * SimpleCNN, ResNet-18) trained and run on the shared NN core.
 *
 * Every variant is the shared part (cnn.c: data, the training and inference
 * loops, metrics; models.c: the architectures) plus one file naming the NN
 * core's kernel table it runs on, with MLB_DEFINE_VARIANT
 * (<mlbench/variant.h>), as in plugins/template. The maths lives in
 * plugins/nn once.
 */
#ifndef MLB_CNN_H
#define MLB_CNN_H

#include <stdint.h>

#include "mlbench/variant.h"
#include "mlbench/data.h"
#include "nn.h"
#include "cnn_engine.h"

/* ---- models (models.c; also used by the parity driver) ---- */

#define CNN_MODEL_NAMES "lenet5, simplecnn, resnet18"

/* Builds the named architecture for inputs of c x h x w and `classes`
 * outputs into m (nn_model_init included); returns 0, -ENOENT for an
 * unknown name, or another negative errno with the reason in err. Layer
 * names follow the PyTorch definitions in tools/parity/cnn_torch.py. */
int cnn_model_build(nn_model *m, const char *name, int c, int h, int w, int classes, char *err,
                    size_t errlen);

/* ---- the plugin's parameters and shared callbacks (cnn.c) ---- */

#define CNN_MAX_BATCH 65536

static const mlb_param_def cnn_params[] = {
    {"model", MLB_PARAM_STRING, "lenet5", "architecture"},
    {"dataset", MLB_PARAM_STRING, "auto",
     "images to classify: fashion-mnist, digits, synthetic, or your own file (X.npy,y.npy of "
     "shape (n,h,w) or (n,c,h,w); images.idx,labels.idx; CSV rows of s*s pixels); auto: "
     "fashion-mnist, synthetic for resnet18"},
    {"epochs", MLB_PARAM_INT, "2", "passes over the training set"},
    {"batch_size", MLB_PARAM_INT, "64", "training mini-batch size"},
    {"lr", MLB_PARAM_FLOAT, "0.01", "learning rate"},
    {"momentum", MLB_PARAM_FLOAT, "0.9", "SGD momentum (ignored by adam)"},
    {"weight_decay", MLB_PARAM_FLOAT, "0", "L2 penalty added to the gradient"},
    {"optimizer", MLB_PARAM_STRING, "sgd", "the optimiser"},
    {"threads", MLB_PARAM_INT, "1",
     "threads for the kernels (openblas, onednn: OpenMP, libtorch: torch::set_num_threads; naive "
     "is serial)"},
    {"infer_batch", MLB_PARAM_INT, "1", "images per inference query (1: single-stream latency)"},
    {"train_samples", MLB_PARAM_INT, "0", "training images to use (0: all; synthetic: 2048)"},
    {"test_samples", MLB_PARAM_INT, "0", "test images to use (0: all; synthetic: 512)"},
    {"target_accuracy", MLB_PARAM_FLOAT, "0.85",
     "test accuracy whose first epoch is reported as epochs_to_target (0: none)"},
    {"standardize", MLB_PARAM_BOOL, "true",
     "scale inputs to zero mean, unit variance per channel (training-set statistics)"},
    {"weights_in", MLB_PARAM_STRING, "", "start from this weight file instead of a seeded init"},
    {"weights_out", MLB_PARAM_STRING, "", "save the trained weights here (at teardown)"},
    MLB_DATA_FILE_PARAMS, /* target, header, delimiter, format: a dataset file's layout */
};

/* Enforced by the engine; cnn.c checks only what these cannot say (the
 * dataset, a name or a file, and what it turns out to hold; the lengths of
 * dataset and weights_out). nn_optim_init checks lr, momentum and
 * weight_decay again, for its other callers. */
static const mlb_param_rule cnn_rules[] = {
    MLB_RULE_CHOICES("model", "lenet5", "simplecnn", "resnet18"),
    MLB_RULE_RANGE("epochs", 0, 100000),
    MLB_RULE_RANGE("batch_size", 1, CNN_MAX_BATCH),
    MLB_RULE_MIN_EXCL("lr", 0),
    /* [0, 1): a momentum of 1 never forgets a gradient. */
    {"momentum", MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_MAX_EXCLUSIVE, 0, 1, NULL},
    MLB_RULE_MIN("weight_decay", 0),
    MLB_RULE_CHOICES("optimizer", "sgd", "adam"),
    MLB_RULE_RANGE("threads", 1, 1024),
    MLB_RULE_RANGE("infer_batch", 1, CNN_MAX_BATCH),
    MLB_RULE_RANGE_AUTO("train_samples", 1, INT32_MAX),
    MLB_RULE_RANGE_AUTO("test_samples", 1, INT32_MAX),
    MLB_RULE_RANGE("target_accuracy", 0, 1),
    MLB_DATA_FILE_RULES,
};

/* What a variant file hands MLB_DEFINE_VARIANT: kernels for the NN core,
 * and, for engine variants, the engine (then the core only stores the
 * weights). */
typedef struct {
    const nn_kernels *kernels;
    const cnn_engine *engine; /* NULL: the NN core runs the network */
} cnn_variant;

int cnn_setup(mlb_ctx *ctx, void **state, const cnn_variant *variant);
int cnn_train(mlb_ctx *ctx, void *state);
int cnn_infer(mlb_ctx *ctx, void *state);
/* n queries of infer_batch images at once (the offline scenario), in
 * forward passes of up to the compiled batch. */
int cnn_infer_n(mlb_ctx *ctx, void *state, int n);
int cnn_teardown(mlb_ctx *ctx, void *state);
int cnn_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
