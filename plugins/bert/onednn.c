/*
 * bert:onednn: every matrix product (projections, feed-forward, pooler,
 * heads, the attention's per-head products) through oneDNN's dnnl_sgemm
 * (plugins/nn/kernels_onednn.c); layer norm, softmax and GELU stay the NN
 * core's (plugins/nn/transformer.c). `threads` sets OpenMP's threads.
 */
#include "bert.h"

MLB_DEFINE_VARIANT_BATCHED(bert, nn_kernels_onednn, "onednn",
                           "BERT encoder with oneDNN 2.6 dnnl_sgemm for every matrix product "
                           "(layer norm, softmax and GELU the NN core's), threads=N OpenMP threads",
                           nn_onednn_available);
