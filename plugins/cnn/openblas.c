/*
 * cnn:openblas: convolution as im2col + cblas_sgemm (images grouped so that
 * small late-stage feature maps still make wide GEMMs), linear layers as one
 * batched GEMM; OpenBLAS threads from the `threads` parameter.
 */
#include "cnn.h"

const nn_kernels *const cnn_kernels_impl = &nn_kernels_openblas;

static const mlb_plugin plugin = {
    CNN_PLUGIN_COMMON,
    .variant = "openblas",
    .description = "im2col + OpenBLAS sgemm, batched GEMM for linear layers, threads=N",
};

MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void)
{
    return &plugin;
}
