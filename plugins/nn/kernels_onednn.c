/*
 * nn kernels, `onednn` variant: every GEMM as a oneDNN matmul primitive,
 * the transformer's LayerNorm (forward and backward; a single row's
 * forward, a decoding step's, stays the core's loop) as oneDNN's layer
 * normalisation and the loss's softmax over the vocabulary as oneDNN's
 * softmax; GEMV (a decoding step's products) through dnnl_sgemm, and
 * convolution as im2col + the GEMM (the openblas table's,
 * kernels_openblas.c). `threads` sets OpenMP's threads, the runtime of
 * Debian's libdnnl 2.6.
 *
 * A primitive is made for one shape, and the table is called with any
 * shape, so the backend's state (be->data, no globals) keeps a cache of
 * primitives keyed by the full call signature: for a matmul, the
 * transpositions, m, n, k, the three leading dimensions and beta (0: no
 * post-op; 1 or another value: a sum post-op of that scale). A shape's
 * first call creates its primitive; later calls only re-point its memory
 * objects (dnnl_memory_set_data_handle) and execute it. Every primitive
 * runs with a user scratchpad (dnnl_scratchpad_mode_user), one buffer
 * owned by the cache and grown, at creation only, to the largest any
 * primitive asks for, so that execute does not allocate scratch. The tasks'
 * warm-up pass in setup (gpt2.c, bert.c) makes the primitives of the
 * shapes it runs; which shapes a timed phase still sees first is in
 * docs/gpt2.md and docs/bert.md.
 *
 * Bounded: at most CACHE_CAP primitives; a new one beyond that evicts the
 * least recently used. Shapes that vary from call to call would otherwise
 * make a primitive per call: BERT's attention products, whose key count is
 * the sequence's last real token, question answering's evaluation batches
 * (the examples with an answer), a short last batch, GPT-2's generation
 * without the KV cache (the context grows by a row per token). Once
 * FAMILY_FIXED_MAX shapes that differ only in m, n, k (same
 * transpositions, leading dimensions and beta) are cached, the family's
 * further shapes run on one primitive with runtime dimensions and leading
 * strides (DNNL_RUNTIME_DIM_VAL), made once, whose memory objects are made
 * per call. That one is oneDNN's gemm:jit where a fixed shape gets its
 * brgemm (brg:avx512_core): 0.7-0.8x on the attention's small products,
 * equal on large ones (tools/bench/onednn_gemm.c), so a family's first
 * shapes, the ones a loop repeats, keep their own.
 *
 * GPT-2's KV-cache decoding step has no growing dimension in the table:
 * its attention over the cache is the NN core's loops (nn_gpt2_step) and
 * its products are GEMVs of fixed shapes.
 *
 * Attention's softmax is masked (causal in GPT-2, padding in BERT) and
 * differentiated from the saved probabilities in the same loops; oneDNN
 * 2.6's softmax has no mask, so it stays the core's (transformer.c). The
 * loss's softmax has none and fits (nn_softmax_xent_forward_be); BERT's
 * losses are over 2 classes or T positions, left to the core.
 *
 * Failures: the table's kernels return nothing. A primitive that cannot be
 * created or run (out of memory, mostly) falls back to dnnl_sgemm (the
 * matmul) or the core's loops (LayerNorm, softmax), so the values stay
 * right, and the first failure is kept (sticky) in the state, where
 * nn_backend_status() reads it; the tasks check it after setup's warm-up
 * and after each phase, and fail that phase with its message.
 *
 * Allocation in the timed phases: a shape's first call allocates (its
 * primitive, the scratchpad's growth, LayerNorm backward's work buffer);
 * every execute allocates its argument map inside oneDNN (counted before
 * with an LD_PRELOAD malloc counter: seven per call, even with a user
 * scratchpad), a runtime-dimension matmul its three memory objects, and
 * dnnl_sgemm's GEMV nothing. All are freed before the call returns.
 */
#include "nn.h"
#include "transformer.h"

#include <oneapi/dnnl/dnnl.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifdef NN_DOUBLE
#error "kernels_onednn.c is float32 only"
#endif

/* OpenMP's, the runtime of Debian's libdnnl (declared here so that the NN
 * core does not need OpenMP's headers). */
void omp_set_num_threads(int n);

#define CACHE_CAP 256
#define HASH_SLOTS 1024 /* a power of two, over twice CACHE_CAP */
#define FAMILY_FIXED_MAX 8
#define KEY_INTS 10
#define MAX_ARGS 10

enum { P_MATMUL = 1, P_MATMUL_RT, P_LN_FWD, P_LN_BWD, P_SOFTMAX };

typedef struct {
    int kind;
    int key[KEY_INTS];
    uint64_t tick; /* last use, for the LRU eviction */
    dnnl_primitive_t prim;
    int nargs; /* args[0 .. nargs) are re-pointed per call; the scratchpad follows */
    dnnl_exec_arg_t args[MAX_ARGS];
    dnnl_memory_t scratch; /* NULL when the primitive needs none */
} prim_entry;

typedef struct {
    dnnl_engine_t eng;
    dnnl_stream_t strm;
    prim_entry e[CACHE_CAP];
    int n;                     /* entries in use, e[0 .. n) */
    int16_t slot[HASH_SLOTS]; /* index into e, -1 empty */
    uint64_t tick;
    void *scratch;             /* the primitives' shared scratchpad */
    size_t scratch_bytes;
    nn_real *work;             /* LayerNorm backward: variance, diff_src, diff_scale, diff_shift */
    size_t work_elems;
    long created, evicted, runtime_calls; /* for nn_onednn_stats */
    int err;                   /* the first failure, sticky; 0 none */
    char msg[256];
} onednn_state;

const char *nn_onednn_available(void)
{
    if (dnnl_engine_get_count(dnnl_cpu) < 1)
        return "oneDNN finds no CPU engine";
    /* A 1 x 1 x 1 product: what would fail for every shape fails here. */
    float a = 1, b = 2, c = 0;
    if (dnnl_sgemm('N', 'N', 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1) != dnnl_success || c != 2)
        return "oneDNN's dnnl_sgemm fails on this machine";
    return NULL;
}

static const char *status_name(dnnl_status_t s)
{
    switch (s) {
    case dnnl_out_of_memory: return "out of memory";
    case dnnl_invalid_arguments: return "invalid arguments";
    case dnnl_unimplemented: return "unimplemented";
    case dnnl_runtime_error: return "runtime error";
    default: return "failure";
    }
}

/* Keeps the first failure only: later ones are usually its consequences. */
static void fail(onednn_state *st, dnnl_status_t s, const char *what, int a, int b, int c)
{
    if (st->err)
        return;
    st->err = s == dnnl_out_of_memory ? -ENOMEM : -EIO;
    snprintf(st->msg, sizeof st->msg, "onednn kernels: %s (%d, %d, %d): %s (status %d)", what, a,
             b, c, status_name(s), (int)s);
}

static void fail_oom(onednn_state *st, const char *what, size_t bytes)
{
    if (st->err)
        return;
    st->err = -ENOMEM;
    snprintf(st->msg, sizeof st->msg, "onednn kernels: %s: out of memory for %zu bytes", what,
             bytes);
}

/* ---- the cache ------------------------------------------------------------- */

static unsigned key_hash(int kind, const int *key)
{
    uint32_t h = 2166136261u ^ (uint32_t)kind;
    for (int i = 0; i < KEY_INTS; i++) {
        h ^= (uint32_t)key[i];
        h *= 16777619u;
        h ^= h >> 15;
    }
    return h & (HASH_SLOTS - 1);
}

static prim_entry *cache_find(onednn_state *st, int kind, const int *key)
{
    for (unsigned h = key_hash(kind, key);; h = (h + 1) & (HASH_SLOTS - 1)) {
        int i = st->slot[h];
        if (i < 0)
            return NULL;
        prim_entry *e = &st->e[i];
        if (e->kind == kind && !memcmp(e->key, key, sizeof e->key)) {
            e->tick = ++st->tick;
            return e;
        }
    }
}

static void slot_insert(onednn_state *st, int i)
{
    unsigned h = key_hash(st->e[i].kind, st->e[i].key);
    while (st->slot[h] >= 0)
        h = (h + 1) & (HASH_SLOTS - 1);
    st->slot[h] = (int16_t)i;
}

static void entry_destroy(prim_entry *e)
{
    for (int i = 0; i < e->nargs; i++)
        if (e->args[i].memory)
            dnnl_memory_destroy(e->args[i].memory);
    if (e->scratch)
        dnnl_memory_destroy(e->scratch);
    if (e->prim)
        dnnl_primitive_destroy(e->prim);
    memset(e, 0, sizeof *e);
}

/* A free entry for a new primitive: the next unused one, else the least
 * recently used one, destroyed (and the hash rebuilt: eviction is as rare
 * as creation, which costs far more). */
static prim_entry *cache_slot(onednn_state *st)
{
    if (st->n < CACHE_CAP)
        return &st->e[st->n];
    int lru = 0;
    for (int i = 1; i < st->n; i++)
        if (st->e[i].tick < st->e[lru].tick)
            lru = i;
    entry_destroy(&st->e[lru]);
    st->evicted++;
    /* The evicted entry leaves the hash; it is re-inserted, under its new
     * key, by cache_commit. */
    memset(st->slot, 0xff, sizeof st->slot);
    for (int i = 0; i < st->n; i++)
        if (i != lru && st->e[i].kind)
            slot_insert(st, i);
    return &st->e[lru];
}

static void cache_commit(onednn_state *st, prim_entry *e, int kind, const int *key)
{
    e->kind = kind;
    memcpy(e->key, key, sizeof e->key);
    e->tick = ++st->tick;
    int i = (int)(e - st->e);
    if (i == st->n)
        st->n++;
    slot_insert(st, i);
    st->created++;
}

/* The primitive of pd into e, with a memory object (no buffer yet) for each
 * of the nargs arguments and a user scratchpad; grows the shared one. */
static dnnl_status_t entry_build(onednn_state *st, prim_entry *e, dnnl_primitive_desc_t pd,
                                 int nargs, const int *arg_ids, const dnnl_memory_desc_t *const *mds)
{
    dnnl_status_t s = dnnl_primitive_create(&e->prim, pd);
    for (int i = 0; s == dnnl_success && i < nargs; i++) {
        e->args[i].arg = arg_ids[i];
        s = dnnl_memory_create(&e->args[i].memory, mds[i], st->eng, DNNL_MEMORY_NONE);
        if (s == dnnl_success)
            e->nargs = i + 1;
    }
    const dnnl_memory_desc_t *smd = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    size_t bytes = smd ? dnnl_memory_desc_get_size(smd) : 0;
    if (s == dnnl_success && bytes > 0) {
        if (bytes > st->scratch_bytes) {
            void *grown = nn_alloc(bytes, 1);
            if (!grown)
                s = dnnl_out_of_memory;
            else {
                nn_free(st->scratch);
                st->scratch = grown;
                st->scratch_bytes = bytes;
                for (int i = 0; i < st->n; i++)
                    if (st->e[i].scratch)
                        dnnl_memory_set_data_handle(st->e[i].scratch, grown);
            }
        }
        if (s == dnnl_success)
            s = dnnl_memory_create(&e->scratch, smd, st->eng, st->scratch);
    }
    return s;
}

/* Runs e on ptrs[0 .. e->nargs). */
static dnnl_status_t entry_run(onednn_state *st, prim_entry *e, void *const *ptrs)
{
    dnnl_exec_arg_t args[MAX_ARGS + 1];
    int n = e->nargs;
    for (int i = 0; i < n; i++) {
        dnnl_status_t s = dnnl_memory_set_data_handle(e->args[i].memory, ptrs[i]);
        if (s != dnnl_success)
            return s;
        args[i] = e->args[i];
    }
    if (e->scratch)
        args[n++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, e->scratch};
    dnnl_status_t s = dnnl_primitive_execute(e->prim, st->strm, n, args);
    return s == dnnl_success ? dnnl_stream_wait(st->strm) : s;
}

static dnnl_status_t attr_user_scratchpad(dnnl_primitive_attr_t *attr)
{
    dnnl_status_t s = dnnl_primitive_attr_create(attr);
    if (s == dnnl_success)
        s = dnnl_primitive_attr_set_scratchpad_mode(*attr, dnnl_scratchpad_mode_user);
    return s;
}

/* ---- matmul ---------------------------------------------------------------- */

static int float_bits(float f)
{
    int32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

/* Row-major op(A) [m,k] as a strided view of A: rows ld apart, or, when
 * transposed, columns. rt: both dimensions and the leading stride left to
 * run time; the unit stride stays, since with every stride at run time
 * oneDNN 2.6 falls back to its reference matmul (ref:any, found by a
 * probe) where a unit stride keeps its JIT GEMM (gemm:jit). */
static dnnl_status_t view_md(dnnl_memory_desc_t *md, int rows, int cols, int trans, int ld, int rt)
{
    dnnl_dims_t d = {rows, cols}, s = {trans ? 1 : ld, trans ? ld : 1};
    if (rt) {
        d[0] = d[1] = DNNL_RUNTIME_DIM_VAL;
        s[trans ? 1 : 0] = DNNL_RUNTIME_DIM_VAL;
    }
    return dnnl_memory_desc_init_by_strides(md, 2, d, dnnl_f32, s);
}

static dnnl_status_t matmul_build(onednn_state *st, prim_entry *e, int ta, int tb, int m, int n,
                                  int k, int lda, int ldb, int ldc, float beta, int rt)
{
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_matmul_desc_t md;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t po = NULL;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_status_t s = view_md(&amd, m, k, ta, lda, rt);
    if (s == dnnl_success)
        s = view_md(&bmd, k, n, tb, ldb, rt);
    if (s == dnnl_success)
        s = view_md(&cmd, m, n, 0, ldc, rt);
    if (s == dnnl_success)
        s = dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd);
    if (s == dnnl_success)
        s = attr_user_scratchpad(&attr);
    if (s == dnnl_success && beta != 0) { /* C = A B + beta C */
        s = dnnl_post_ops_create(&po);
        if (s == dnnl_success)
            s = dnnl_post_ops_append_sum(po, beta);
        if (s == dnnl_success)
            s = dnnl_primitive_attr_set_post_ops(attr, po);
    }
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(&pd, &md, attr, st->eng, NULL);
    if (s == dnnl_success) {
        static const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
        const dnnl_memory_desc_t *mds[3] = {&amd, &bmd, &cmd};
        /* A runtime primitive's memory objects are made per call. */
        s = entry_build(st, e, pd, rt ? 0 : 3, ids, mds);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (po)
        dnnl_post_ops_destroy(po);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

/* The cached primitive of a family of shapes with runtime dimensions: a
 * call's memory objects, made for its shape. */
static dnnl_status_t matmul_run_rt(onednn_state *st, prim_entry *e, int ta, int tb, int m, int n,
                                   int k, const nn_real *a, int lda, const nn_real *b, int ldb,
                                   nn_real *c, int ldc)
{
    dnnl_memory_desc_t amd, bmd, cmd;
    dnnl_memory_t mem[3] = {NULL, NULL, NULL};
    dnnl_status_t s = view_md(&amd, m, k, ta, lda, 0);
    if (s == dnnl_success)
        s = view_md(&bmd, k, n, tb, ldb, 0);
    if (s == dnnl_success)
        s = view_md(&cmd, m, n, 0, ldc, 0);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mem[0], &amd, st->eng, (void *)a);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mem[1], &bmd, st->eng, (void *)b);
    if (s == dnnl_success)
        s = dnnl_memory_create(&mem[2], &cmd, st->eng, c);
    if (s == dnnl_success) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, mem[0]},
                                   {DNNL_ARG_WEIGHTS, mem[1]},
                                   {DNNL_ARG_DST, mem[2]},
                                   {DNNL_ARG_SCRATCHPAD, e->scratch}};
        s = dnnl_primitive_execute(e->prim, st->strm, e->scratch ? 4 : 3, args);
        if (s == dnnl_success)
            s = dnnl_stream_wait(st->strm);
    }
    for (int i = 0; i < 3; i++)
        if (mem[i])
            dnnl_memory_destroy(mem[i]);
    st->runtime_calls++;
    return s;
}

/* Fixed shapes in the cache of the family of key (same transpositions,
 * leading dimensions and beta; key[2..4] are m, n, k). */
static int family_count(const onednn_state *st, const int *key)
{
    static const int same[6] = {0, 1, 5, 6, 7, 8};
    int c = 0;
    for (int i = 0; i < st->n; i++) {
        const prim_entry *e = &st->e[i];
        int j = 0;
        while (e->kind == P_MATMUL && j < 6 && e->key[same[j]] == key[same[j]])
            j++;
        c += j == 6;
    }
    return c;
}

static dnnl_status_t matmul(onednn_state *st, int ta, int tb, int m, int n, int k,
                            const nn_real *a, int lda, const nn_real *b, int ldb, float beta,
                            nn_real *c, int ldc)
{
    int key[KEY_INTS] = {ta, tb, m, n, k, lda, ldb, ldc, float_bits(beta), 0};
    int fam[KEY_INTS] = {ta, tb, 0, 0, 0, lda, ldb, ldc, float_bits(beta), 0};
    prim_entry *e = cache_find(st, P_MATMUL, key);
    int rt = 0;
    if (!e && (e = cache_find(st, P_MATMUL_RT, fam)) != NULL)
        rt = 1;
    if (!e) {
        rt = family_count(st, key) >= FAMILY_FIXED_MAX;
        e = cache_slot(st);
        dnnl_status_t s = matmul_build(st, e, ta, tb, m, n, k, lda, ldb, ldc, beta, rt);
        if (s != dnnl_success) {
            entry_destroy(e);
            return s;
        }
        cache_commit(st, e, rt ? P_MATMUL_RT : P_MATMUL, rt ? fam : key);
    }
    if (rt)
        return matmul_run_rt(st, e, ta, tb, m, n, k, a, lda, b, ldb, c, ldc);
    void *ptrs[3] = {(void *)a, (void *)b, c};
    return entry_run(st, e, ptrs);
}

/* C = op(A) op(B) + beta C; an empty product (k = 0) only scales C. */
static void onednn_gemm(const nn_backend *be, int trans_a, int trans_b, int m, int n, int k,
                        const nn_real *a, int lda, const nn_real *b, int ldb, nn_real beta,
                        nn_real *c, int ldc)
{
    onednn_state *st = be->data;
    if (m <= 0 || n <= 0)
        return;
    if (k <= 0) {
        for (int i = 0; i < m && beta != 1; i++)
            for (int j = 0; j < n; j++)
                c[(size_t)i * ldc + j] = beta == 0 ? 0 : beta * c[(size_t)i * ldc + j];
        return;
    }
    dnnl_status_t s = matmul(st, trans_a, trans_b, m, n, k, a, lda, b, ldb, beta, c, ldc);
    if (s != dnnl_success) {
        fail(st, s, "matmul m, n, k", m, n, k);
        (void)dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, k, 1.0f, a, lda, b, ldb,
                         beta, c, ldc);
    }
}

/* y [m] = A [m, n] x + beta y as C [m, 1] = A x [n, 1] through
 * dnnl_sgemm, whose driver takes a one-column product to its GEMV kernels:
 * the matmul primitive oneDNN 2.6 picks for that shape (brg:avx512_core)
 * runs GPT-2 124M's decoding product at 0.6x its speed
 * (tools/bench/onednn_gemm.c, docs/gpt2.md). dnnl_sgemm fails only on
 * invalid arguments, which no caller passes; its one-column case allocates
 * nothing. */
static void onednn_gemv(const nn_backend *be, int m, int n, const nn_real *a, int lda,
                        const nn_real *x, nn_real beta, nn_real *y)
{
    dnnl_status_t s = dnnl_sgemm('N', 'N', m, 1, n, 1.0f, a, lda, x, 1, beta, y, 1);
    if (s != dnnl_success)
        fail(be->data, s, "dnnl_sgemm GEMV m, n", m, n, 0);
}

/* ---- layer normalisation ---------------------------------------------------- */

/* Forward and backward descriptors of LayerNorm over the last axis of
 * [N, C], with a scale and a shift. */
static dnnl_status_t ln_mds(int N, int C, dnnl_memory_desc_t *data, dnnl_memory_desc_t *stat,
                            dnnl_memory_desc_t *wmd)
{
    dnnl_dims_t d = {N, C}, sd = {N}, wd = {C};
    dnnl_status_t s = dnnl_memory_desc_init_by_tag(data, 2, d, dnnl_f32, dnnl_ab);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(stat, 1, sd, dnnl_f32, dnnl_a);
    if (s == dnnl_success)
        s = dnnl_memory_desc_init_by_tag(wmd, 1, wd, dnnl_f32, dnnl_a);
    return s;
}

#define LN_FLAGS (dnnl_use_scale | dnnl_use_shift)

static dnnl_status_t ln_fwd_pd(onednn_state *st, int N, int C, float eps,
                               dnnl_primitive_desc_t *pd)
{
    dnnl_memory_desc_t data, stat, wmd;
    dnnl_layer_normalization_desc_t d;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_status_t s = ln_mds(N, C, &data, &stat, &wmd);
    if (s == dnnl_success)
        s = dnnl_layer_normalization_forward_desc_init(&d, dnnl_forward_training, &data, &stat,
                                                       eps, LN_FLAGS);
    if (s == dnnl_success)
        s = attr_user_scratchpad(&attr);
    if (s == dnnl_success)
        s = dnnl_primitive_desc_create(pd, &d, attr, st->eng, NULL);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    return s;
}

static prim_entry *ln_fwd_entry(onednn_state *st, int N, int C, float eps, dnnl_status_t *s)
{
    int key[KEY_INTS] = {N, C, float_bits(eps)};
    prim_entry *e = cache_find(st, P_LN_FWD, key);
    if (e)
        return e;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t data, stat, wmd;
    e = cache_slot(st);
    *s = ln_mds(N, C, &data, &stat, &wmd);
    if (*s == dnnl_success)
        *s = ln_fwd_pd(st, N, C, eps, &pd);
    if (*s == dnnl_success) {
        static const int ids[6] = {DNNL_ARG_SRC,      DNNL_ARG_DST,   DNNL_ARG_MEAN,
                                   DNNL_ARG_VARIANCE, DNNL_ARG_SCALE, DNNL_ARG_SHIFT};
        const dnnl_memory_desc_t *mds[6] = {&data, &data, &stat, &stat, &wmd, &wmd};
        *s = entry_build(st, e, pd, 6, ids, mds);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (*s != dnnl_success) {
        entry_destroy(e);
        return NULL;
    }
    cache_commit(st, e, P_LN_FWD, key);
    return e;
}

/* oneDNN saves the variance, the core (and its backward) 1/sqrt(var +
 * eps): oneDNN writes it into rstd[], converted there in place. A single
 * row (a decoding step's) runs the core's loop instead: there a primitive's
 * execute costs more than the row (gpt2 gen-kv-small, 4 layers of 128
 * channels, went from 1.29x openblas's tokens/s with the core's loop to
 * 0.89x with oneDNN's, 5 repetitions each). */
static void onednn_layernorm_forward(const nn_backend *be, int N, int C, const nn_real *x,
                                     const nn_real *w, const nn_real *b, double eps, nn_real *out,
                                     nn_real *mean, nn_real *rstd)
{
    onednn_state *st = be->data;
    dnnl_status_t s = dnnl_success;
    if (N == 1) {
        nn_layernorm_forward_eps(N, C, x, w, b, eps, out, mean, rstd);
        return;
    }
    prim_entry *e = ln_fwd_entry(st, N, C, (float)eps, &s);
    if (e) {
        void *ptrs[6] = {(void *)x, out, mean, rstd, (void *)w, (void *)b};
        s = entry_run(st, e, ptrs);
    }
    if (s != dnnl_success) {
        fail(st, s, "layer normalisation forward N, C", N, C, 0);
        nn_layernorm_forward_eps(N, C, x, w, b, eps, out, mean, rstd);
        return;
    }
    for (int i = 0; i < N; i++)
        rstd[i] = (nn_real)(1.0 / sqrt((double)rstd[i] + eps));
}

static prim_entry *ln_bwd_entry(onednn_state *st, int N, int C, float eps, dnnl_status_t *s)
{
    int key[KEY_INTS] = {N, C, float_bits(eps)};
    prim_entry *e = cache_find(st, P_LN_BWD, key);
    if (e)
        return e;
    dnnl_primitive_desc_t hint = NULL, pd = NULL;
    dnnl_memory_desc_t data, stat, wmd;
    dnnl_layer_normalization_desc_t d;
    dnnl_primitive_attr_t attr = NULL;
    e = cache_slot(st);
    *s = ln_mds(N, C, &data, &stat, &wmd);
    if (*s == dnnl_success) /* a backward primitive is made from its forward's */
        *s = ln_fwd_pd(st, N, C, eps, &hint);
    if (*s == dnnl_success)
        *s = dnnl_layer_normalization_backward_desc_init(&d, dnnl_backward, &data, &data, &stat,
                                                         eps, LN_FLAGS);
    if (*s == dnnl_success)
        *s = attr_user_scratchpad(&attr);
    if (*s == dnnl_success)
        *s = dnnl_primitive_desc_create(&pd, &d, attr, st->eng, hint);
    if (*s == dnnl_success) {
        static const int ids[9] = {DNNL_ARG_SRC,        DNNL_ARG_MEAN,      DNNL_ARG_VARIANCE,
                                   DNNL_ARG_DIFF_DST,   DNNL_ARG_SCALE,     DNNL_ARG_SHIFT,
                                   DNNL_ARG_DIFF_SRC,   DNNL_ARG_DIFF_SCALE, DNNL_ARG_DIFF_SHIFT};
        const dnnl_memory_desc_t *mds[9] = {&data, &stat, &stat, &data, &wmd,
                                            &wmd,  &data, &wmd,  &wmd};
        *s = entry_build(st, e, pd, 9, ids, mds);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (hint)
        dnnl_primitive_desc_destroy(hint);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (*s != dnnl_success) {
        entry_destroy(e);
        return NULL;
    }
    cache_commit(st, e, P_LN_BWD, key);
    return e;
}

/* oneDNN overwrites its gradients and the table accumulates them: they go
 * to the work buffer first ([N] variance, [N, C] dx, [C] dw, [C] db, each
 * 64-byte aligned), grown on the first call of a larger shape. */
static void onednn_layernorm_backward(const nn_backend *be, int N, int C, const nn_real *x,
                                      const nn_real *w, const nn_real *mean, const nn_real *rstd,
                                      double eps, const nn_real *dout, nn_real *dx, nn_real *dw,
                                      nn_real *db)
{
    onednn_state *st = be->data;
    size_t rN = ((size_t)N + 15) & ~(size_t)15, rC = ((size_t)C + 15) & ~(size_t)15;
    size_t need = rN + rN * (size_t)C + 2 * rC;
    dnnl_status_t s = dnnl_success;
    if (need > st->work_elems) {
        nn_real *grown = nn_alloc(need, sizeof *grown);
        if (!grown) {
            fail_oom(st, "layer normalisation backward's buffer", need * sizeof *grown);
            goto fallback;
        }
        nn_free(st->work);
        st->work = grown;
        st->work_elems = need;
    }
    prim_entry *e = ln_bwd_entry(st, N, C, (float)eps, &s);
    if (!e)
        goto failed;
    nn_real *var = st->work, *gx = var + rN, *gw = gx + rN * (size_t)C, *gb = gw + rC;
    /* The variance back from rstd: what oneDNN adds eps to again. */
    for (int i = 0; i < N; i++)
        var[i] = (nn_real)(1.0 / ((double)rstd[i] * rstd[i]) - eps);
    /* oneDNN 2.6's execute refuses the backward pass without the shift,
     * which it does not read (the gradients do not depend on it): w
     * stands in. */
    void *ptrs[9] = {(void *)x, (void *)mean, var, (void *)dout, (void *)w, (void *)w,
                     gx,        gw,           gb};
    if ((s = entry_run(st, e, ptrs)) != dnnl_success)
        goto failed;
    size_t NC = (size_t)N * C;
    for (size_t i = 0; i < NC; i++)
        dx[i] += gx[i];
    for (int i = 0; i < C; i++) {
        dw[i] += gw[i];
        db[i] += gb[i];
    }
    return;
failed:
    fail(st, s, "layer normalisation backward N, C", N, C, 0);
fallback:
    nn_layernorm_backward(N, C, x, w, mean, rstd, dout, dx, dw, db);
}

/* ---- softmax ------------------------------------------------------------------ */

static prim_entry *softmax_entry(onednn_state *st, int N, int V, int ld, dnnl_status_t *s)
{
    int key[KEY_INTS] = {N, V, ld};
    prim_entry *e = cache_find(st, P_SOFTMAX, key);
    if (e)
        return e;
    dnnl_primitive_desc_t pd = NULL;
    dnnl_memory_desc_t md;
    dnnl_softmax_v2_desc_t d;
    dnnl_primitive_attr_t attr = NULL;
    dnnl_dims_t dims = {N, V}, strides = {ld, 1};
    e = cache_slot(st);
    *s = dnnl_memory_desc_init_by_strides(&md, 2, dims, dnnl_f32, strides);
    if (*s == dnnl_success)
        *s = dnnl_softmax_v2_forward_desc_init(&d, dnnl_forward_inference, dnnl_softmax_accurate,
                                               &md, &md, 1);
    if (*s == dnnl_success)
        *s = attr_user_scratchpad(&attr);
    if (*s == dnnl_success)
        *s = dnnl_primitive_desc_create(&pd, &d, attr, st->eng, NULL);
    if (*s == dnnl_success) {
        static const int ids[2] = {DNNL_ARG_SRC, DNNL_ARG_DST};
        const dnnl_memory_desc_t *mds[2] = {&md, &md};
        *s = entry_build(st, e, pd, 2, ids, mds);
    }
    if (pd)
        dnnl_primitive_desc_destroy(pd);
    if (attr)
        dnnl_primitive_attr_destroy(attr);
    if (*s != dnnl_success) {
        entry_destroy(e);
        return NULL;
    }
    cache_commit(st, e, P_SOFTMAX, key);
    return e;
}

/* 0 when done, else the caller computes the rows itself. Rows with a gap
 * between them (GPT-2's padded vocabulary, ld = Vp > V) run one at a time
 * on a one-row primitive: for a strided [N, V] oneDNN 2.6 takes its
 * reference softmax (ref:any), 20x slower than the core's loop on GPT-2's
 * vocabulary, where a dense row keeps its JIT kernel (jit:avx512_core). */
static int onednn_softmax(const nn_backend *be, int N, int V, int ld, const nn_real *x,
                          nn_real *y)
{
    onednn_state *st = be->data;
    dnnl_status_t s = dnnl_success;
    int rows = ld == V ? N : 1;
    prim_entry *e = softmax_entry(st, rows, V, V, &s);
    for (int n = 0; e && s == dnnl_success && n < N; n += rows) {
        void *ptrs[2] = {(void *)(x + (size_t)n * ld), y + (size_t)n * ld};
        s = entry_run(st, e, ptrs);
    }
    if (s == dnnl_success)
        return 0;
    fail(st, s, "softmax N, V", N, V, 0);
    return -1;
}

/* ---- state ----------------------------------------------------------------------- */

static void onednn_release(nn_backend *be)
{
    onednn_state *st = be->data;
    if (!st)
        return;
    for (int i = 0; i < st->n; i++)
        entry_destroy(&st->e[i]);
    if (st->strm)
        dnnl_stream_destroy(st->strm);
    if (st->eng)
        dnnl_engine_destroy(st->eng);
    nn_free(st->scratch);
    nn_free(st->work);
    nn_free(st);
    be->data = NULL;
}

static int onednn_init(nn_backend *be, char *err, size_t errlen)
{
    const char *why = nn_onednn_available();
    if (why) {
        snprintf(err, errlen, "onednn kernels: %s", why);
        return -ENODEV;
    }
    omp_set_num_threads(be->threads);
    onednn_state *st = nn_alloc(1, sizeof *st);
    if (!st) {
        snprintf(err, errlen, "onednn kernels: out of memory for the primitive cache (%zu bytes)",
                 sizeof *st);
        return -ENOMEM;
    }
    be->data = st;
    memset(st->slot, 0xff, sizeof st->slot);
    dnnl_status_t s = dnnl_engine_create(&st->eng, dnnl_cpu, 0);
    if (s == dnnl_success)
        s = dnnl_stream_create(&st->strm, st->eng, dnnl_stream_default_flags);
    if (s != dnnl_success) {
        snprintf(err, errlen, "onednn kernels: cannot create a CPU engine and stream: %s",
                 status_name(s));
        return s == dnnl_out_of_memory ? -ENOMEM : -ENODEV;
    }
    return 0;
}

static int onednn_status(const nn_backend *be, char *err, size_t errlen)
{
    const onednn_state *st = be->data;
    if (st && st->err)
        snprintf(err, errlen, "%s", st->msg);
    return st ? st->err : 0;
}

void nn_onednn_stats(const nn_backend *be, nn_onednn_counts *out)
{
    const onednn_state *st = be->data;
    memset(out, 0, sizeof *out);
    if (!st)
        return;
    out->cached = st->n;
    out->created = st->created;
    out->evicted = st->evicted;
    out->runtime_calls = st->runtime_calls;
    for (int i = 0; i < st->n; i++)
        out->runtime_families += st->e[i].kind == P_MATMUL_RT;
}

void nn_onednn_print_stats(FILE *f, const char *who, const nn_backend *be)
{
    if (be->k != &nn_kernels_onednn)
        return;
    nn_onednn_counts oc;
    nn_onednn_stats(be, &oc);
    fprintf(f, "%s: onednn: %d primitives cached (%ld made, %ld evicted), %d runtime-dimension "
            "families, %ld calls on them\n", who, oc.cached, oc.created, oc.evicted,
            oc.runtime_families, oc.runtime_calls);
}

const nn_kernels nn_kernels_onednn = {
    .name = "onednn",
    .init = onednn_init,
    .release = onednn_release,
    .gemm = onednn_gemm,
    .conv_scratch = nn_im2col_conv_scratch,
    .conv_cache = nn_im2col_conv_cache,
    .conv_forward = nn_im2col_conv_forward,
    .conv_backward = nn_im2col_conv_backward,
    .gemv = onednn_gemv,
    .layernorm_forward = onednn_layernorm_forward,
    .layernorm_backward = onednn_layernorm_backward,
    .softmax = onednn_softmax,
    .status = onednn_status,
};
