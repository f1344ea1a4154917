/*
 * rnn:openblas: the input projection of every time step as one
 * cblas_sgemm, one cblas_sgemm per recurrent step (forward and backward);
 * OpenBLAS threads from the `threads` parameter.
 */
#include "rnn.h"

MLB_DEFINE_VARIANT(rnn, nn_kernels_openblas, "openblas",
                   "OpenBLAS sgemm: all steps' input projection in one call, one per recurrent "
                   "step, threads=N",
                   NULL);
