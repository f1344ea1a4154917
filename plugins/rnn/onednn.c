/*
 * rnn:onednn: the network on oneDNN 2.6's own recurrent primitives
 * (onednn_engine.c: vanilla RNN with tanh or relu, LSTM, linear-before-reset
 * GRU, which are PyTorch's equations) with the same data, loop and
 * optimiser as every variant; the NN core only holds the weights.
 * `threads` sets oneDNN's OpenMP threads.
 */
#include "rnn.h"

static const rnn_variant rnn_onednn = {&nn_kernels_naive, &rnn_engine_onednn};

MLB_DEFINE_VARIANT(rnn, rnn_onednn, "onednn",
                   "oneDNN 2.6 RNN primitives (vanilla tanh/relu, LSTM, linear-before-reset GRU; "
                   "one per layer, bidirectional_concat), forward training + backward, "
                   "forward inference; threads=N OpenMP threads",
                   nn_onednn_available);
