/*
 * dqn: deep Q-learning with experience replay and a target network on the
 * RL environments (plugins/common/rl), on the NN core. The variants differ only in
 * the NN core's kernel table (naive, openblas); tools/peers/dqn_torch.py is
 * the same agent in PyTorch. docs/rl.md describes the algorithm step by
 * step, the generator draws and the metrics.
 */
#ifndef MLB_DQN_H
#define MLB_DQN_H

#include "mlbench/variant.h"
#include "nn.h"

static const mlb_param_def dqn_params[] = {
    {"env", MLB_PARAM_STRING, "cartpole", "environment: cartpole (CartPole-v1) or acrobot (Acrobot-v1)"},
    {"total_steps", MLB_PARAM_INT, "20000", "environment steps of training"},
    {"buffer_size", MLB_PARAM_INT, "10000", "replay buffer capacity (transitions, a ring)"},
    {"batch_size", MLB_PARAM_INT, "64", "transitions per gradient step"},
    {"gamma", MLB_PARAM_FLOAT, "0.99", "discount"},
    {"lr", MLB_PARAM_FLOAT, "0.001", "Adam learning rate"},
    {"learning_starts", MLB_PARAM_INT, "1000", "environment steps before the first gradient step"},
    {"train_freq", MLB_PARAM_INT, "1", "environment steps per gradient step"},
    {"eps_final", MLB_PARAM_FLOAT, "0.05", "exploration epsilon at the end of its linear decay from 1"},
    {"eps_steps", MLB_PARAM_INT, "10000", "steps of the linear epsilon decay"},
    {"target_update", MLB_PARAM_INT, "500", "steps between hard copies into the target network"},
    {"hidden", MLB_PARAM_INT, "128", "units of each of the two hidden layers"},
    {"threads", MLB_PARAM_INT, "1", "threads for the kernels (openblas; naive is serial)"},
};

static const mlb_param_rule dqn_rules[] = {
    MLB_RULE_CHOICES("env", "cartpole", "acrobot"),
    MLB_RULE_RANGE("total_steps", 1, 100000000),
    MLB_RULE_RANGE("buffer_size", 1, 10000000),
    MLB_RULE_RANGE("batch_size", 1, 65536),
    MLB_RULE_RANGE("gamma", 0, 1),
    MLB_RULE_MIN_EXCL("lr", 0),
    MLB_RULE_RANGE("learning_starts", 0, 100000000),
    MLB_RULE_RANGE("train_freq", 1, 100000000),
    MLB_RULE_RANGE("eps_final", 0, 1),
    MLB_RULE_RANGE("eps_steps", 0, 100000000),
    MLB_RULE_RANGE("target_update", 1, 100000000),
    MLB_RULE_RANGE("hidden", 1, 4096),
    MLB_RULE_RANGE("threads", 1, 1024),
};

int dqn_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels);
int dqn_train(mlb_ctx *ctx, void *state);
/* Training is the benchmark; acting greedily is one forward pass of the
 * training loop already. */
#define dqn_infer NULL
int dqn_teardown(mlb_ctx *ctx, void *state);
int dqn_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
