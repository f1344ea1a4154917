/*
 * rnn: sequence classification with recurrent networks (RNN, LSTM, GRU)
 * trained by backpropagation through time on the shared NN core, and
 * served one batch per query.
 *
 * Every variant is the shared part (rnn.c: data, model, the training and
 * inference loops, metrics) plus one file naming the NN core's kernel table
 * it runs on, with MLB_DEFINE_VARIANT, as in plugins/template. The cells'
 * maths lives in plugins/nn/recurrent.c once.
 *
 * The model is PyTorch's
 *     rnn = nn.{RNN,LSTM,GRU}(input_size, hidden_size, num_layers,
 *                             batch_first=True, bidirectional=...)
 *     fc  = nn.Linear(hidden_size * directions, classes)
 *     logits = fc(rnn(x)[0][:, -1, :])
 * with tensors named as its state_dict ("rnn.weight_ih_l0", "fc.weight").
 */
#ifndef MLB_RNN_H
#define MLB_RNN_H

#include <stdint.h>

#include "mlbench/variant.h"
#include "nn.h"
#include "nn_engine.h"

#define RNN_MAX_BATCH 65536

/* Builds the network for sequences of seq_len x input_size into m
 * (nn_model_init included); model is "rnn", "lstm" or "gru", nonlinearity
 * "tanh" or "relu" (rnn only). 0, or a negative errno with the reason in
 * err. Shared with the parity driver. */
int rnn_model_build(nn_model *m, const char *model, const char *nonlinearity, int seq_len,
                    int input_size, int hidden, int layers, int bidirectional, int classes,
                    char *err, size_t errlen);

static const mlb_param_def rnn_params[] = {
    {"model", MLB_PARAM_STRING, "lstm", "recurrent cell: rnn, lstm or gru"},
    {"nonlinearity", MLB_PARAM_STRING, "tanh", "the rnn cell's activation (tanh or relu)"},
    {"dataset", MLB_PARAM_STRING, "fashion-mnist",
     "fashion-mnist (each image's 28 rows as 28 steps of 28 features) or synthetic "
     "(seq_len x input_size Gaussian classes)"},
    {"hidden_size", MLB_PARAM_INT, "128", "hidden units per layer and direction"},
    {"num_layers", MLB_PARAM_INT, "1", "stacked recurrent layers"},
    {"bidirectional", MLB_PARAM_BOOL, "false", "a second, reversed direction per layer"},
    {"seq_len", MLB_PARAM_INT, "50", "synthetic: time steps per sequence"},
    {"input_size", MLB_PARAM_INT, "32", "synthetic: features per time step"},
    {"n_classes", MLB_PARAM_INT, "10", "synthetic: classes"},
    {"epochs", MLB_PARAM_INT, "2", "passes over the training set"},
    {"batch_size", MLB_PARAM_INT, "64", "training mini-batch size"},
    {"lr", MLB_PARAM_FLOAT, "0.001", "learning rate"},
    {"optimizer", MLB_PARAM_STRING, "adam", "the optimiser: adam or sgd"},
    {"momentum", MLB_PARAM_FLOAT, "0.9", "SGD momentum (ignored by adam)"},
    {"weight_decay", MLB_PARAM_FLOAT, "0", "L2 penalty added to the gradient"},
    {"clip_grad", MLB_PARAM_FLOAT, "0",
     "clip the gradient to this global L2 norm before each step (0: no clipping)"},
    {"threads", MLB_PARAM_INT, "1", "threads for the kernels (openblas, onednn, libtorch; naive is serial)"},
    {"infer_batch", MLB_PARAM_INT, "1", "sequences per inference query (1: latency)"},
    {"train_samples", MLB_PARAM_INT, "0", "training sequences to use (0: all; synthetic: 2048)"},
    {"test_samples", MLB_PARAM_INT, "0", "test sequences to use (0: all; synthetic: 512)"},
    {"target_accuracy", MLB_PARAM_FLOAT, "0.85",
     "test accuracy whose first epoch is reported as epochs_to_target (0: none)"},
    {"standardize", MLB_PARAM_BOOL, "true",
     "scale inputs to zero mean, unit variance (training-set statistics)"},
    {"weights_in", MLB_PARAM_STRING, "", "start from this weight file instead of a seeded init"},
    {"weights_out", MLB_PARAM_STRING, "", "save the trained weights here (at teardown)"},
};

/* Enforced by the engine; rnn.c checks what these cannot say (the lengths
 * of the paths). */
static const mlb_param_rule rnn_rules[] = {
    MLB_RULE_CHOICES("model", "rnn", "lstm", "gru"),
    MLB_RULE_CHOICES("nonlinearity", "tanh", "relu"),
    MLB_RULE_CHOICES("dataset", "fashion-mnist", "synthetic"),
    MLB_RULE_RANGE("hidden_size", 1, 65536),
    MLB_RULE_RANGE("num_layers", 1, 64),
    MLB_RULE_RANGE("seq_len", 1, 100000),
    MLB_RULE_RANGE("input_size", 1, 65536),
    MLB_RULE_RANGE("n_classes", 2, 1000),
    MLB_RULE_RANGE("epochs", 0, 100000),
    MLB_RULE_RANGE("batch_size", 1, RNN_MAX_BATCH),
    MLB_RULE_MIN_EXCL("lr", 0),
    {"momentum", MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_MAX_EXCLUSIVE, 0, 1, NULL},
    MLB_RULE_MIN("weight_decay", 0),
    MLB_RULE_MIN("clip_grad", 0),
    MLB_RULE_CHOICES("optimizer", "sgd", "adam"),
    MLB_RULE_RANGE("threads", 1, 1024),
    MLB_RULE_RANGE("infer_batch", 1, RNN_MAX_BATCH),
    MLB_RULE_RANGE_AUTO("train_samples", 1, INT32_MAX),
    MLB_RULE_RANGE_AUTO("test_samples", 1, INT32_MAX),
    MLB_RULE_RANGE("target_accuracy", 0, 1),
};

/* What a variant file names: the NN core's kernel table (naive, openblas,
 * onednn: the core's cells run the network) or, for a library that runs
 * the whole network itself, an engine (plugins/nn/nn_engine.h; libtorch),
 * the core then only holding the weights. */
typedef struct {
    const nn_kernels *kernels;
    const nn_engine *engine; /* NULL: the NN core runs the network */
} rnn_variant;

/* rnn:libtorch's plugin side (libtorch_loader.c): opens its engine module,
 * rnn_libtorch_engine.engine (libtorch.cpp), on first use. */
extern const nn_engine rnn_engine_libtorch_loader;
/* The engine itself (libtorch.cpp), linked directly by rnn-parity-libtorch. */
extern const nn_engine rnn_engine_libtorch;
const char *rnn_libtorch_available(void);
/* rnn:onednn's engine (onednn_engine.c): oneDNN's RNN, LSTM and GRU
 * primitives. */
extern const nn_engine rnn_engine_onednn;

int rnn_setup(mlb_ctx *ctx, void **state, const rnn_variant *variant);
int rnn_train(mlb_ctx *ctx, void *state);
int rnn_infer(mlb_ctx *ctx, void *state);
int rnn_teardown(mlb_ctx *ctx, void *state);
int rnn_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
