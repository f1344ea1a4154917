/*
 * reinforce:naive, the reference point: the NN core's loop kernels,
 * single-threaded.
 */
#include "reinforce.h"

MLB_DEFINE_VARIANT(reinforce, nn_kernels_naive, "naive",
                   "REINFORCE, NN core loop GEMM, single-threaded (reference point)", NULL);
