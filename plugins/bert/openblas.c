/*
 * bert:openblas: every matrix product (projections, feed-forward, pooler,
 * heads, the attention's per-head products) through OpenBLAS's SGEMM.
 */
#include "bert.h"

MLB_DEFINE_VARIANT_BATCHED(bert, nn_kernels_openblas, "openblas",
                           "BERT encoder with OpenBLAS SGEMM for every matrix product, "
                           "openblas_set_num_threads(threads)",
                           NULL);
