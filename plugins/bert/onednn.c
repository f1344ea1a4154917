/*
 * bert:onednn: every matrix product (projections, feed-forward, pooler,
 * heads, the attention's per-head products) as a oneDNN 2.6 matmul
 * primitive and LayerNorm forward and backward as oneDNN's layer
 * normalisation (plugins/nn/kernels_onednn.c); the attention's masked
 * softmax, the losses and GELU stay the NN core's (plugins/nn/transformer.c,
 * bert.c). `threads` sets OpenMP's threads.
 */
#include "bert.h"

MLB_DEFINE_VARIANT_BATCHED(bert, nn_kernels_onednn, "onednn",
                           "BERT encoder with oneDNN 2.6 matmul primitives for every matrix "
                           "product and its layer norm (attention's masked softmax, the losses "
                           "and GELU the NN core's), threads=N OpenMP threads",
                           nn_onednn_available);
