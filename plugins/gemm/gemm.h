/*
 * gemm: the engine's calibration task, C = A*B in single or double precision.
 *
 * Every variant is this shared part (gemm.c: parameters, setup, the train and
 * infer loops, teardown with verification) plus one kernel file that defines
 * `gemm_kernel_impl` and the variant's descriptor with GEMM_PLUGIN_COMMON.
 * Matrices are dense and row-major: A is mxk, B is kxn, C is mxn.
 */
#ifndef MLB_GEMM_H
#define MLB_GEMM_H

#include <stddef.h>

#include "mlbench/plugin.h"

typedef enum { GEMM_F32 = 0, GEMM_F64 = 1 } gemm_dtype;

typedef struct gemm_state gemm_state;

/* What a variant contributes. Kernels run inside train and infer, so they
 * must neither allocate nor fail: anything they need (packing buffers, a
 * library handle) is obtained up front through scratch_bytes and prepare. */
typedef struct {
    /* Bytes of scratch memory the kernel needs for one GEMM with these
     * dimensions, allocated (and touched) by setup. NULL: none. */
    size_t (*scratch_bytes)(const gemm_state *s);
    /* Called at the end of setup, after the matrices exist; may fill
     * s->kernel_data. Returns 0, or mlb_error(...). NULL: nothing to do. */
    int (*prepare)(mlb_ctx *ctx, gemm_state *s);
    /* Undoes prepare (teardown; also on a failed setup). NULL: nothing. */
    void (*release)(gemm_state *s);
    /* Nonzero: setup runs one GEMM after prepare, so that one-off costs of
     * the first call (starting a thread pool, a library's lazy buffers)
     * are paid in setup rather than inside the timed train. */
    int warm_up;
    /* C = A*B; one of them is called depending on s->dtype. */
    void (*sgemm)(gemm_state *s);
    void (*dgemm)(gemm_state *s);
} gemm_kernel;

struct gemm_state {
    size_t m, n, k;
    gemm_dtype dtype;
    int threads;
    int iterations;
    void *a, *b, *c;     /* float* or double*, 64-byte aligned */
    void *scratch;       /* scratch_bytes() bytes, 64-byte aligned, or NULL */
    size_t scratch_size;
    void *kernel_data;   /* owned by the kernel's prepare/release */
    int computed;        /* C holds a GEMM's result (teardown verifies it) */
};

/* Defined by each variant's kernel file. */
extern const gemm_kernel gemm_kernel_impl;

/* The shared callbacks and parameter table (gemm.c). */
#define GEMM_N_PARAMS 6
extern const mlb_param_def gemm_params[GEMM_N_PARAMS];
int gemm_setup(mlb_ctx *ctx, void **state);
int gemm_train(mlb_ctx *ctx, void *state);
int gemm_infer(mlb_ctx *ctx, void *state);
int gemm_teardown(mlb_ctx *ctx, void *state);

/* The fields every variant's descriptor shares; a variant adds .variant and
 * .description. */
#define GEMM_PLUGIN_COMMON                                                                        \
    MLB_PLUGIN_HEADER, .task = "gemm", .params = gemm_params, .n_params = GEMM_N_PARAMS,          \
    .setup = gemm_setup, .train = gemm_train, .infer = gemm_infer, .teardown = gemm_teardown

#endif
