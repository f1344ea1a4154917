/*
 * gpt2:onednn: every matrix product (projections, MLP, the tied head, the
 * attention's per-head products) and the decoding steps' matrix-vector
 * products through oneDNN's dnnl_sgemm (kernels_onednn.c); layer norm and
 * softmax stay the NN core's (plugins/nn/transformer.c). `threads` sets
 * OpenMP's threads.
 */
#include "gpt2.h"

MLB_DEFINE_VARIANT(gpt2, nn_kernels_onednn, "onednn",
                   "GPT-2 with oneDNN 2.6 dnnl_sgemm for every matrix product (layer norm and "
                   "softmax the NN core's), threads=N OpenMP threads",
                   nn_onednn_available);
