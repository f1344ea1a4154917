/*
 * rnn:openblas: the input projection of every time step as one
 * cblas_sgemm, one cblas_sgemm per recurrent step (forward and backward);
 * OpenBLAS threads from the `threads` parameter.
 */
#include "rnn.h"

static const rnn_variant rnn_openblas = {&nn_kernels_openblas, NULL};

MLB_DEFINE_VARIANT(rnn, rnn_openblas, "openblas",
                   "OpenBLAS sgemm: all steps' input projection in one call, one per recurrent "
                   "step, threads=N",
                   NULL);
