/*
 * gemm:openblas, the tuned reference: cblas_sgemm / cblas_dgemm from OpenBLAS.
 *
 * The cblas_* entry points are looked up in the OpenBLAS library itself
 * rather than called directly. The engine links GSL, whose libgslcblas
 * exports the same cblas_* names; a plugin's undefined symbols resolve in the
 * process's global scope first, so a direct call could silently bind to
 * GSL's unoptimised reference CBLAS and the "openblas" numbers would not be
 * OpenBLAS's. openblas_set_num_threads exists only in OpenBLAS, so the
 * library defining it is the one to ask.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "gemm.h"

#include <cblas.h>
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef void (*sgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint,
                         blasint, blasint, float, const float *, blasint, const float *, blasint,
                         float, float *, blasint);
typedef void (*dgemm_fn)(enum CBLAS_ORDER, enum CBLAS_TRANSPOSE, enum CBLAS_TRANSPOSE, blasint,
                         blasint, blasint, double, const double *, blasint, const double *,
                         blasint, double, double *, blasint);
typedef void (*set_threads_fn)(int);
typedef char *(*get_config_fn)(void);

typedef struct {
    void *lib; /* our reference to the loaded OpenBLAS */
    sgemm_fn sgemm;
    dgemm_fn dgemm;
} openblas_data;

/* dlsym returns an object pointer; POSIX guarantees it converts to a
 * function pointer, ISO C does not, so copy the bits. */
static void *lookup(void *lib, const char *name, void *fn_out, size_t fn_size)
{
    void *p = dlsym(lib, name);
    if (p && fn_size == sizeof p)
        memcpy(fn_out, &p, sizeof p);
    return p;
}

static int openblas_prepare(mlb_ctx *ctx, gemm_state *s)
{
    /* m, n, k <= 2^31 - 2 by gemm.c's element limit; blasint is at least 32 bits. */
    const uint64_t blas_max = sizeof(blasint) >= 8 ? (uint64_t)INT64_MAX : (uint64_t)INT32_MAX;
    if (s->m > blas_max || s->n > blas_max || s->k > blas_max)
        return mlb_error(ctx, "%zux%zux%zu exceeds OpenBLAS's integer size", s->m, s->n, s->k);

    /* The typedefs above must match cblas.h: let the compiler check. */
    sgemm_fn sgemm_type = cblas_sgemm;
    dgemm_fn dgemm_type = cblas_dgemm;
    (void)sgemm_type;
    (void)dgemm_type;

    set_threads_fn own = openblas_set_num_threads;
    void *own_addr;
    memcpy(&own_addr, &own, sizeof own_addr);
    Dl_info info;
    if (!dladdr(own_addr, &info) || !info.dli_fname)
        return mlb_error(ctx, "cannot locate the OpenBLAS library (dladdr failed)");
    void *lib = dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD);
    if (!lib)
        return mlb_error(ctx, "cannot reopen %s: %s", info.dli_fname, dlerror());

    openblas_data *d = calloc(1, sizeof *d);
    if (!d) {
        dlclose(lib);
        return mlb_error(ctx, "out of memory");
    }
    d->lib = lib;
    s->kernel_data = d;
    set_threads_fn set_threads = NULL;
    get_config_fn get_config = NULL;
    if (!lookup(lib, "cblas_sgemm", &d->sgemm, sizeof d->sgemm) ||
        !lookup(lib, "cblas_dgemm", &d->dgemm, sizeof d->dgemm) ||
        !lookup(lib, "openblas_set_num_threads", &set_threads, sizeof set_threads))
        return mlb_error(ctx, "%s lacks cblas_sgemm, cblas_dgemm or openblas_set_num_threads",
                         info.dli_fname);
    set_threads(s->threads);
    if (lookup(lib, "openblas_get_config", &get_config, sizeof get_config))
        mlb_log(ctx, MLB_LOG_DEBUG, "%s: %s", info.dli_fname, get_config());
    return 0;
}

static void openblas_release(gemm_state *s)
{
    openblas_data *d = s->kernel_data;
    if (!d)
        return;
    dlclose(d->lib);
    free(d);
    s->kernel_data = NULL;
}

static void openblas_sgemm(gemm_state *s)
{
    const openblas_data *d = s->kernel_data;
    blasint m = (blasint)s->m, n = (blasint)s->n, k = (blasint)s->k;
    d->sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0f, s->a, k, s->b, n, 0.0f,
             s->c, n);
}

static void openblas_dgemm(gemm_state *s)
{
    const openblas_data *d = s->kernel_data;
    blasint m = (blasint)s->m, n = (blasint)s->n, k = (blasint)s->k;
    d->dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1.0, s->a, k, s->b, n, 0.0,
             s->c, n);
}

const gemm_kernel gemm_kernel_impl = {
    .prepare = openblas_prepare,
    .release = openblas_release,
    .warm_up = 1,
    .sgemm = openblas_sgemm,
    .dgemm = openblas_dgemm,
};

static const mlb_plugin plugin = {
    GEMM_PLUGIN_COMMON,
    .variant = "openblas",
    .description = "OpenBLAS cblas_sgemm/cblas_dgemm, openblas_set_num_threads(threads)",
};

MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void)
{
    return &plugin;
}
