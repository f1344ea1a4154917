/*
 * gemm: the engine's calibration task, C = A*B in single or double precision.
 *
 * Every variant is this shared part (gemm.c: setup, the train and infer
 * loops, teardown with verification) plus one kernel file holding its
 * gemm_kernel table and MLB_DEFINE_VARIANT (<mlbench/variant.h>), as in
 * plugins/template. Matrices are dense and row-major: A is mxk, B is kxn, C
 * is mxn.
 */
#ifndef MLB_GEMM_H
#define MLB_GEMM_H

#include <stddef.h>
#include <stdint.h>

#include "mlbench/variant.h"

/* A sanity limit, not a memory check: beyond it the run is almost certainly a
 * typo (m=1e6) and would spend minutes filling matrices before failing. */
#define GEMM_MAX_ELEMENTS (UINT64_C(1) << 31)

static const mlb_param_def gemm_params[] = {
    {"m", MLB_PARAM_INT, "256", "rows of A and C"},
    {"n", MLB_PARAM_INT, "256", "columns of B and C"},
    {"k", MLB_PARAM_INT, "256", "columns of A, rows of B (the inner dimension)"},
    {"dtype", MLB_PARAM_STRING, "f32", "element type"},
    {"threads", MLB_PARAM_INT, "1", "threads the kernel may use"},
    {"iterations", MLB_PARAM_INT, "1", "GEMMs per train call"},
};

/* The engine enforces these; gemm.c checks only what they cannot say (the
 * three matrices together within GEMM_MAX_ELEMENTS). */
static const mlb_param_rule gemm_rules[] = {
    MLB_RULE_RANGE("m", 1, (double)GEMM_MAX_ELEMENTS),
    MLB_RULE_RANGE("n", 1, (double)GEMM_MAX_ELEMENTS),
    MLB_RULE_RANGE("k", 1, (double)GEMM_MAX_ELEMENTS),
    MLB_RULE_CHOICES("dtype", "f32", "f64"),
    MLB_RULE_RANGE("threads", 1, 1024),
    MLB_RULE_RANGE("iterations", 1, INT32_MAX),
};

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
    const gemm_kernel *kern; /* the variant's */
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

/* The kernel tables, one per variant file. */
extern const gemm_kernel gemm_kernels_naive;
extern const gemm_kernel gemm_kernels_blocked;
extern const gemm_kernel gemm_kernels_openblas;

/* The shared callbacks (gemm.c), reached by MLB_DEFINE_VARIANT. */
int gemm_setup(mlb_ctx *ctx, void **state, const gemm_kernel *kern);
int gemm_train(mlb_ctx *ctx, void *state);
int gemm_infer(mlb_ctx *ctx, void *state);
int gemm_teardown(mlb_ctx *ctx, void *state);
/* Peers are not compared on gemm: nothing to export. */
#define gemm_export_data NULL

#endif
