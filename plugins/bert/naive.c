/*
 * bert:naive, the reference point: loop GEMMs from the NN core's naive
 * kernel table; single-threaded.
 */
#include "bert.h"

MLB_DEFINE_VARIANT_BATCHED(bert, nn_kernels_naive, "naive",
                           "BERT encoder with loop GEMMs, single-threaded (reference point)", NULL);
