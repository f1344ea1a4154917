/*
 * cnn:libtorch: the network run by libtorch (PyTorch's C++ core) with the
 * same data, loop and optimiser as every variant; the C++ twin of the
 * cnn:pytorch peer (libtorch.cpp). The NN core only holds the weights.
 */
#include "cnn.h"

static const cnn_variant cnn_libtorch = {&nn_kernels_naive, &cnn_engine_libtorch_loader};

MLB_DEFINE_VARIANT_BATCHED(cnn, cnn_libtorch, "libtorch",
                   "libtorch 1.13 functional API + torch::optim (the pytorch peer without "
                   "Python), threads=N via torch::set_num_threads",
                   cnn_libtorch_available);
