/*
 * The libtorch engines' optimiser (cnn and rnn libtorch.cpp): torch::optim's
 * Adam or SGD with the task's settings, as the pytorch peers build theirs
 * (torch.optim.Adam(lr, weight_decay) / SGD(lr, momentum, weight_decay)).
 * C++ only; libtorch's headers come with the engine module's dependency.
 */
#ifndef MLB_NN_LIBTORCH_OPTIM_H
#define MLB_NN_LIBTORCH_OPTIM_H

#include <memory>
#include <vector>

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

#include "nn_engine.h"

inline std::unique_ptr<torch::optim::Optimizer>
nn_torch_optimizer(const std::vector<torch::Tensor> &params, const nn_engine_setup *su)
{
    if (su->optimizer == NN_ADAM)
        return std::make_unique<torch::optim::Adam>(
            params, torch::optim::AdamOptions(su->lr).weight_decay(su->weight_decay));
    return std::make_unique<torch::optim::SGD>(
        params,
        torch::optim::SGDOptions(su->lr).momentum(su->momentum).weight_decay(su->weight_decay));
}

#endif
