/*
 * gpt2:naive, the reference point: loop GEMMs from the NN core's naive
 * kernel table; single-threaded.
 */
#include "gpt2.h"

MLB_DEFINE_VARIANT(gpt2, nn_kernels_naive, "naive",
                   "GPT-2 with loop GEMMs, single-threaded (reference point)", NULL);
