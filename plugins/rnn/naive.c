/*
 * rnn:naive, the reference point: the NN core's loop GEMM for the input
 * projections and the recurrent step; single-threaded.
 */
#include "rnn.h"

static const rnn_variant rnn_naive = {&nn_kernels_naive, NULL};

MLB_DEFINE_VARIANT(rnn, rnn_naive, "naive",
                   "loop GEMM for the input projection and each recurrent step, single-threaded "
                   "(reference point)",
                   NULL);
