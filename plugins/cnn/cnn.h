/*
 * cnn: image classification with convolutional networks (LeNet-5,
 * SimpleCNN, ResNet-18) trained and run on the shared NN core.
 *
 * Every variant is the shared part (cnn.c: parameters, data, the training
 * and inference loops, metrics; models.c: the architectures) plus one file
 * naming the kernel table it runs on. The maths lives in plugins/nn once.
 */
#ifndef MLB_CNN_H
#define MLB_CNN_H

#include "mlbench/plugin.h"
#include "nn.h"

/* Defined by each variant's file. */
extern const nn_kernels *const cnn_kernels_impl;

/* ---- models (models.c; also used by the parity driver) ---- */

#define CNN_MODEL_NAMES "lenet5, simplecnn, resnet18"

/* Builds the named architecture for inputs of c x h x w and `classes`
 * outputs into m (nn_model_init included); returns 0, -ENOENT for an
 * unknown name, or another negative errno with the reason in err. Layer
 * names follow the PyTorch definitions in tools/parity/cnn_torch.py. */
int cnn_model_build(nn_model *m, const char *name, int c, int h, int w, int classes, char *err,
                    size_t errlen);

/* ---- the plugin's shared callbacks (cnn.c) ---- */

#define CNN_N_PARAMS 16
extern const mlb_param_def cnn_params[CNN_N_PARAMS];
int cnn_setup(mlb_ctx *ctx, void **state);
int cnn_train(mlb_ctx *ctx, void *state);
int cnn_infer(mlb_ctx *ctx, void *state);
int cnn_teardown(mlb_ctx *ctx, void *state);
int cnn_export_data(mlb_ctx *ctx, void *state, const char *dir);

#define CNN_PLUGIN_COMMON                                                                         \
    MLB_PLUGIN_HEADER, .task = "cnn", .params = cnn_params, .n_params = CNN_N_PARAMS,             \
    .setup = cnn_setup, .train = cnn_train, .infer = cnn_infer, .teardown = cnn_teardown,         \
    .export_data = cnn_export_data

#endif
