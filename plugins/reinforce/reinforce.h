/*
 * reinforce: Monte-Carlo policy gradient (REINFORCE) on the RL environments
 * (plugins/common/rl), on the NN core. The variants differ only in the NN core's
 * kernel table (naive, openblas); tools/peers/reinforce_torch.py is the
 * same agent in PyTorch. docs/rl.md describes the algorithm, the generator
 * draws and the metrics.
 */
#ifndef MLB_REINFORCE_H
#define MLB_REINFORCE_H

#include "mlbench/variant.h"
#include "nn.h"

/* Updates gather at most this many episodes (x 500 steps) in one batch. */
#define REINFORCE_MAX_EPISODES_PER_UPDATE 64

static const mlb_param_def reinforce_params[] = {
    {"env", MLB_PARAM_STRING, "cartpole", "environment: cartpole (CartPole-v1) or acrobot (Acrobot-v1)"},
    {"episodes", MLB_PARAM_INT, "500", "episodes of training"},
    {"episodes_per_update", MLB_PARAM_INT, "1", "episodes per policy-gradient step"},
    {"gamma", MLB_PARAM_FLOAT, "0.99", "discount"},
    {"lr", MLB_PARAM_FLOAT, "0.001", "Adam learning rate"},
    {"baseline", MLB_PARAM_STRING, "none",
     "subtracted from the returns: none, mean (the running mean of all earlier returns) or "
     "value (a learned value network, obs -> hidden -> hidden -> 1, MSE, Adam)"},
    {"normalize", MLB_PARAM_BOOL, "true", "standardise the advantages per episode"},
    {"hidden", MLB_PARAM_INT, "128", "units of each of the two hidden layers"},
    {"threads", MLB_PARAM_INT, "1", "threads for the kernels (openblas; naive is serial)"},
};

static const mlb_param_rule reinforce_rules[] = {
    MLB_RULE_CHOICES("env", "cartpole", "acrobot"),
    MLB_RULE_RANGE("episodes", 1, 10000000),
    MLB_RULE_RANGE("episodes_per_update", 1, REINFORCE_MAX_EPISODES_PER_UPDATE),
    MLB_RULE_RANGE("gamma", 0, 1),
    MLB_RULE_MIN_EXCL("lr", 0),
    MLB_RULE_CHOICES("baseline", "none", "mean", "value"),
    MLB_RULE_RANGE("hidden", 1, 4096),
    MLB_RULE_RANGE("threads", 1, 1024),
};

int reinforce_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels);
int reinforce_train(mlb_ctx *ctx, void *state);
/* Training is the benchmark; acting is a forward pass inside it. */
#define reinforce_infer NULL
int reinforce_teardown(mlb_ctx *ctx, void *state);
int reinforce_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
