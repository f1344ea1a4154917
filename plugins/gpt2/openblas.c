/*
 * gpt2:openblas: every matrix product (projections, MLP, the tied head, the
 * attention's per-head products) through OpenBLAS's SGEMM.
 */
#include "gpt2.h"

MLB_DEFINE_VARIANT(gpt2, nn_kernels_openblas, "openblas",
                   "GPT-2 with OpenBLAS SGEMM for every matrix product, "
                   "openblas_set_num_threads(threads)",
                   NULL);
