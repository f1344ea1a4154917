/*
 * gemm:blocked, a cache-blocked GEMM in portable C: packed panels of A and B
 * sized for the caches and a register-blocked micro-kernel that the compiler
 * vectorises; OpenMP threads (when built with it) split the work.
 *
 * The algorithm is written once, in blocked_impl.h, and instantiated for
 * float and double with block sizes of the same byte footprint.
 */
#include "gemm.h"

#include <stddef.h>

#ifdef _OPENMP
#define BL_OMP_(x) _Pragma(#x)
#define BL_OMP(x) BL_OMP_(x)
#else
#define BL_OMP(x)
#endif

/* Full unrolling turns the micro-kernel's constant-size loops into one
 * straight block the compiler vectorises with the accumulators in registers;
 * left to itself, GCC 12 vectorises the depth loop instead and keeps them in
 * memory (4x slower). */
#if defined(__GNUC__) && !defined(__clang__)
#define BL_UNROLL _Pragma("GCC unroll 16")
#elif defined(__clang__)
#define BL_UNROLL _Pragma("unroll")
#else
#define BL_UNROLL
#endif

/* The plugin is built for the baseline ISA; on x86-64 the micro-kernel is
 * also compiled for AVX2+FMA and AVX-512 and the loader picks the best one
 * the CPU has (an ifunc), so a distribution build still runs at the speed of
 * the machine. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define BL_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define BL_CLONES
#endif

#define BL_MR 6

static size_t bl_round_up(size_t x, size_t to)
{
    return (x + to - 1) / to * to;
}

/* 6x16 floats or 6x8 doubles per micro-tile; A blocks of 144 KiB (L2), B
 * panels of 4 MiB (L3), B slivers of 16 KiB (L1). */
#define BL_T float
#define BL_SFX f32
#define BL_MC 144
#define BL_KC 256
#define BL_NC 4096
#include "blocked_impl.h"
#undef BL_T
#undef BL_SFX
#undef BL_MC
#undef BL_KC
#undef BL_NC

#define BL_T double
#define BL_SFX f64
#define BL_MC 72
#define BL_KC 256
#define BL_NC 2048
#include "blocked_impl.h"
#undef BL_T
#undef BL_SFX
#undef BL_MC
#undef BL_KC
#undef BL_NC

static size_t blocked_scratch(const gemm_state *s)
{
    return s->dtype == GEMM_F32 ? bl_scratch_f32(s->m, s->n, s->k)
                                : bl_scratch_f64(s->m, s->n, s->k);
}

static int blocked_prepare(mlb_ctx *ctx, gemm_state *s)
{
#ifndef _OPENMP
    if (s->threads > 1 && mlb_repetition(ctx) == 0) /* once per run */
        mlb_log(ctx, MLB_LOG_WARN, "built without OpenMP: single-threaded, threads=%d ignored",
                s->threads);
#else
    (void)ctx;
    (void)s;
#endif
    return 0;
}

const gemm_kernel gemm_kernels_blocked = {
    .scratch_bytes = blocked_scratch,
    .prepare = blocked_prepare,
    .warm_up = 1,
    .sgemm = bl_gemm_f32,
    .dgemm = bl_gemm_f64,
};

MLB_DEFINE_VARIANT(gemm, gemm_kernels_blocked, "blocked",
                   "cache-blocked, packed, compiler-vectorised C; OpenMP threads", NULL);
