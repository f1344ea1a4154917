/*
 * reinforce:openblas, the tuned reference: the NN core's cblas_sgemm kernels with
 * openblas_set_num_threads(threads).
 */
#include "reinforce.h"

MLB_DEFINE_VARIANT(reinforce, nn_kernels_openblas, "openblas",
                   "REINFORCE, NN core with OpenBLAS cblas_sgemm, openblas_set_num_threads(threads)",
                   NULL);
