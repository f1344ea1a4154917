/*
 * dqn:openblas, the tuned reference: the NN core's cblas_sgemm kernels with
 * openblas_set_num_threads(threads).
 */
#include "dqn.h"

MLB_DEFINE_VARIANT(dqn, nn_kernels_openblas, "openblas",
                   "DQN, NN core with OpenBLAS cblas_sgemm, openblas_set_num_threads(threads)",
                   NULL);
