/*
 * cnn:naive, the reference point: direct convolution and plain GEMM loops
 * from the NN core's naive kernel table; single-threaded.
 */
#include "cnn.h"

static const cnn_variant cnn_naive = {&nn_kernels_naive, NULL};

MLB_DEFINE_VARIANT_BATCHED(cnn, cnn_naive, "naive",
                   "direct convolution and loop GEMM, single-threaded (reference point)", NULL);
