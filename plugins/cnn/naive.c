/*
 * cnn:naive, the reference point: direct convolution and plain GEMM loops
 * from the NN core's naive kernel table; single-threaded.
 */
#include "cnn.h"

const nn_kernels *const cnn_kernels_impl = &nn_kernels_naive;

static const mlb_plugin plugin = {
    CNN_PLUGIN_COMMON,
    .variant = "naive",
    .description = "direct convolution and loop GEMM, single-threaded (reference point)",
};

MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void)
{
    return &plugin;
}
