/*
 * rnn:libtorch: the network run by libtorch (PyTorch's C++ core) with the
 * same data, loop and optimiser as every variant; the C++ twin of the
 * rnn:pytorch peer (libtorch.cpp). The NN core only holds the weights.
 */
#include "rnn.h"

static const rnn_variant rnn_libtorch = {&nn_kernels_naive, &rnn_engine_libtorch_loader};

MLB_DEFINE_VARIANT(rnn, rnn_libtorch, "libtorch",
                   "libtorch 1.13 torch::nn::RNN/LSTM/GRU + Linear modules and torch::optim "
                   "(the pytorch peer without Python), threads=N via torch::set_num_threads",
                   rnn_libtorch_available);
