/*
 * dqn:naive, the reference point: the NN core's loop kernels,
 * single-threaded.
 */
#include "dqn.h"

MLB_DEFINE_VARIANT(dqn, nn_kernels_naive, "naive",
                   "DQN, NN core loop GEMM, single-threaded (reference point)", NULL);
