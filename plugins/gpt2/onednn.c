/*
 * gpt2:onednn: every matrix product (projections, MLP, the tied head, the
 * attention's per-head products) as a oneDNN 2.6 matmul primitive, LayerNorm
 * forward and backward as oneDNN's layer normalisation and the loss's
 * softmax over the vocabulary as oneDNN's softmax; the decoding steps'
 * matrix-vector products through dnnl_sgemm (plugins/nn/kernels_onednn.c
 * says why, and how the primitives are cached). GELU and the attention's
 * masked softmax stay the NN core's (plugins/nn/transformer.c). `threads`
 * sets OpenMP's threads.
 */
#include "gpt2.h"

MLB_DEFINE_VARIANT(gpt2, nn_kernels_onednn, "onednn",
                   "GPT-2 with oneDNN 2.6 matmul primitives for every matrix product, its layer "
                   "norm and the loss's softmax (GELU and attention's masked softmax the NN "
                   "core's), threads=N OpenMP threads",
                   nn_onednn_available);
