/*
 * cnn:openblas: convolution as im2col + cblas_sgemm (images grouped so that
 * small late-stage feature maps still make wide GEMMs), linear layers as one
 * batched GEMM; OpenBLAS threads from the `threads` parameter.
 */
#include "cnn.h"

static const cnn_variant cnn_openblas = {&nn_kernels_openblas, NULL};

MLB_DEFINE_VARIANT_BATCHED(cnn, cnn_openblas, "openblas",
                   "im2col + OpenBLAS sgemm, batched GEMM for linear layers, threads=N", NULL);
