/*
 * The `threads` parameter of every OpenBLAS-backed variant (gemm, nn/cnn,
 * regression), in one place.
 */
#ifndef MLB_PLUGINS_OPENBLAS_THREADS_H
#define MLB_PLUGINS_OPENBLAS_THREADS_H

#include <cblas.h>

/* OpenBLAS's pthread pool shutdown: exported (it is OpenBLAS's own fork
 * handler) but not declared in <cblas.h>. */
int blas_thread_shutdown_(void);

static inline void mlb_openblas_set_threads(int threads)
{
    openblas_set_num_threads(threads);
    /* In the engine's forked child the call above also restarts OpenBLAS's
     * thread pool, whose idle workers spin (sched_yield) for about 2^28
     * clock ticks, some 0.1 s, before they sleep: a short run at threads=1
     * would then show a second core busy through setup and train. With one
     * thread the pool is never used, so stop it; a later call with more
     * threads (--no-fork runs variants in one process) restarts it. Only
     * the pthread build (openblas_get_parallel() == 1) has this pool. */
    if (threads == 1 && openblas_get_parallel() == 1)
        blas_thread_shutdown_();
}

#endif
