/*
 * rnn:onednn: the NN core's cells (plugins/nn/recurrent.c, the same maths
 * as every variant) with every GEMM through oneDNN's dnnl_sgemm
 * (kernels_onednn.c): all steps' input projection in one call, one per
 * recurrent step forward and backward. Not oneDNN's LSTM/GRU/RNN
 * primitives (issue 21 asks for those where they match PyTorch's
 * equations; not done yet, docs/rnn.md). `threads` sets OpenMP's threads.
 */
#include "rnn.h"

static const rnn_variant rnn_onednn = {&nn_kernels_onednn, NULL};

MLB_DEFINE_VARIANT(rnn, rnn_onednn, "onednn",
                   "oneDNN 2.6 dnnl_sgemm for the NN core's cells (all steps' input projection "
                   "in one call, one per recurrent step; not oneDNN's RNN primitives), "
                   "threads=N OpenMP threads",
                   nn_onednn_available);
