/*
 * cnn:onednn: the network as oneDNN primitives (onednn_engine.c) with the
 * same data, loop and optimiser as every variant; the NN core only holds
 * the weights. `threads` sets oneDNN's OpenMP threads.
 */
#include "cnn.h"

#include <dnnl.h>

static const char *onednn_available(void)
{
    return dnnl_engine_get_count(dnnl_cpu) > 0 ? NULL : "oneDNN finds no CPU engine";
}

static const cnn_variant cnn_onednn = {&nn_kernels_naive, &cnn_engine_onednn};

MLB_DEFINE_VARIANT_BATCHED(cnn, cnn_onednn, "onednn",
                   "oneDNN 2.6 primitives (convolution in oneDNN's chosen formats, batch norm, "
                   "pooling, ReLU, inner product, softmax), threads=N OpenMP threads",
                   onednn_available);
