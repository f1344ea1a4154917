/*
 * The `threads` parameter for the variants whose BLAS is OpenBLAS: openblas,
 * and gsl, whose gsl_blas_* call the CBLAS GSL is linked with, OpenBLAS here
 * (top meson.build). A file of its own because gsl.c cannot include
 * OpenBLAS's <cblas.h> next to GSL's (both define the CBLAS enums).
 */
#include "regression.h"

#include "../common/openblas_threads.h"

void reg_openblas_set_threads(int threads)
{
    mlb_openblas_set_threads(threads);
}
