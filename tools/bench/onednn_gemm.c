/*
 * Which oneDNN call the NN core's onednn kernel table should make
 * (plugins/nn/kernels_onednn.c): dnnl_sgemm, a matmul primitive created
 * once per shape (its memory objects re-pointed on each call, as the table
 * does), or one matmul primitive with runtime dimensions and strides
 * (DNNL_RUNTIME_DIM_VAL) whose memory objects are made per call, as the
 * table runs a family of shapes that vary, timed on the GEMM shapes of the
 * rnn, gpt2 and bert benchmarks (tools/bench/rnn.sh, gpt2.sh), with
 * OpenBLAS's cblas_sgemm for scale. One thread; medians of repeated calls
 * on the same buffers.
 *
 *   cc -O2 -o /tmp/onednn_gemm tools/bench/onednn_gemm.c \
 *      -I/usr/include/x86_64-linux-gnu/openblas-pthread -ldnnl -lopenblas -fopenmp
 *   OPENBLAS_CORETYPE=Haswell OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 /tmp/onednn_gemm
 */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define REPS 31
#define CHECK(x)                                                                                  \
    do {                                                                                          \
        if ((x) != dnnl_success) {                                                                \
            fprintf(stderr, "onednn_gemm: %s failed\n", #x);                                      \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

typedef struct {
    const char *what;
    int ta, tb, m, n, k;
} shape;

/* C = op(A) op(B) + C, row-major, as the kernel table's gemm with beta 1. */
static const shape shapes[] = {
    {"rnn lstm step fwd  h W_hh^T", 0, 1, 32, 512, 128},
    {"rnn lstm input proj x W_ih^T", 0, 1, 1600, 512, 32},
    {"rnn lstm step bwd  dG W_hh", 0, 0, 32, 128, 512},
    {"rnn lstm dW_hh     dG^T h", 1, 0, 512, 128, 1600},
    {"rnn fashion step   h W_hh^T", 0, 1, 64, 512, 128},
    {"gpt2 small qkv     x W^T", 0, 1, 2048, 384, 128},
    {"gpt2 small att     q k^T", 0, 1, 128, 128, 32},
    {"gpt2 small head    x wte^T", 0, 1, 2048, 256, 128},
    {"gpt2 124m mlp      x W^T", 0, 1, 512, 3072, 768},
    {"gpt2 124m decode   W x (gemv)", 0, 0, 2304, 1, 768},
    {"gpt2 small dW      dy^T x", 1, 0, 384, 128, 2048},
    {"bert att q k^T (klen 77)", 0, 1, 128, 77, 64},
    {"bert att a v   (klen 77)", 0, 0, 128, 64, 77},
};

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *t)
{
    qsort(t, REPS, sizeof *t, cmp);
    return t[REPS / 2];
}

int main(void)
{
    dnnl_engine_t eng;
    dnnl_stream_t st;
    CHECK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHECK(dnnl_stream_create(&st, eng, dnnl_stream_default_flags));
    printf("%-30s %6s %6s %6s %12s %12s %12s %12s  (GFLOP/s, 1 thread; implementations)\n",
           "shape", "m", "n", "k", "dnnl_sgemm", "matmul prim", "runtime prim", "cblas_sgemm");
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const shape *s = &shapes[i];
        size_t na = (size_t)s->m * s->k, nb = (size_t)s->k * s->n, nc = (size_t)s->m * s->n;
        float *a = malloc(na * 4), *b = malloc(nb * 4), *c = malloc(nc * 4);
        for (size_t j = 0; j < na; j++)
            a[j] = (float)(j % 7) * 0.1f;
        for (size_t j = 0; j < nb; j++)
            b[j] = (float)(j % 5) * 0.1f;
        memset(c, 0, nc * 4);
        int lda = s->ta ? s->m : s->k, ldb = s->tb ? s->k : s->n;

        /* The matmul primitive for this shape, made once: A [m,k] and B
         * [k,n] as strided views of the row-major buffers, C += (sum
         * post-op) as beta 1. */
        dnnl_dims_t ad = {s->m, s->k}, bd = {s->k, s->n}, cd = {s->m, s->n};
        dnnl_dims_t as = {s->ta ? 1 : lda, s->ta ? lda : 1};
        dnnl_dims_t bs = {s->tb ? 1 : ldb, s->tb ? ldb : 1};
        dnnl_dims_t cs = {s->n, 1};
        dnnl_memory_desc_t amd, bmd, cmd;
        CHECK(dnnl_memory_desc_init_by_strides(&amd, 2, ad, dnnl_f32, as));
        CHECK(dnnl_memory_desc_init_by_strides(&bmd, 2, bd, dnnl_f32, bs));
        CHECK(dnnl_memory_desc_init_by_strides(&cmd, 2, cd, dnnl_f32, cs));
        dnnl_matmul_desc_t md;
        CHECK(dnnl_matmul_desc_init(&md, &amd, &bmd, NULL, &cmd));
        dnnl_post_ops_t po;
        CHECK(dnnl_post_ops_create(&po));
        CHECK(dnnl_post_ops_append_sum(po, 1.0f));
        dnnl_primitive_attr_t attr;
        CHECK(dnnl_primitive_attr_create(&attr));
        CHECK(dnnl_primitive_attr_set_post_ops(attr, po));
        dnnl_primitive_desc_t pd;
        CHECK(dnnl_primitive_desc_create(&pd, &md, attr, eng, NULL));
        dnnl_primitive_t prim;
        CHECK(dnnl_primitive_create(&prim, pd));
        dnnl_memory_t am, bm, cm;
        CHECK(dnnl_memory_create(&am, &amd, eng, a));
        CHECK(dnnl_memory_create(&bm, &bmd, eng, b));
        CHECK(dnnl_memory_create(&cm, &cmd, eng, c));
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}};

        /* The same product on a primitive with the dimensions and leading
         * strides left to run time (the unit strides kept: with them at run
         * time too, oneDNN 2.6 takes its reference matmul), as the table's. */
        dnnl_dims_t rd = {DNNL_RUNTIME_DIM_VAL, DNNL_RUNTIME_DIM_VAL};
        dnnl_dims_t ras = {s->ta ? 1 : DNNL_RUNTIME_DIM_VAL, s->ta ? DNNL_RUNTIME_DIM_VAL : 1};
        dnnl_dims_t rbs = {s->tb ? 1 : DNNL_RUNTIME_DIM_VAL, s->tb ? DNNL_RUNTIME_DIM_VAL : 1};
        dnnl_dims_t rcs = {DNNL_RUNTIME_DIM_VAL, 1};
        dnnl_memory_desc_t ramd, rbmd, rcmd;
        CHECK(dnnl_memory_desc_init_by_strides(&ramd, 2, rd, dnnl_f32, ras));
        CHECK(dnnl_memory_desc_init_by_strides(&rbmd, 2, rd, dnnl_f32, rbs));
        CHECK(dnnl_memory_desc_init_by_strides(&rcmd, 2, rd, dnnl_f32, rcs));
        dnnl_matmul_desc_t rmd;
        CHECK(dnnl_matmul_desc_init(&rmd, &ramd, &rbmd, NULL, &rcmd));
        dnnl_primitive_desc_t rpd;
        CHECK(dnnl_primitive_desc_create(&rpd, &rmd, attr, eng, NULL));
        dnnl_primitive_t rprim;
        CHECK(dnnl_primitive_create(&rprim, rpd));
        const char *impl = "", *rimpl = "";
        CHECK(dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl));
        CHECK(dnnl_primitive_desc_query(rpd, dnnl_query_impl_info_str, 0, &rimpl));

        double t[4][REPS];
        int inner = (int)(2e8 / (2.0 * nc * s->k)) + 1; /* ~0.1 s per sample at 2 GFLOP/s */
        for (int r = -2; r < REPS; r++) {
            double t0 = now();
            for (int q = 0; q < inner; q++)
                dnnl_sgemm(s->ta ? 'T' : 'N', s->tb ? 'T' : 'N', s->m, s->n, s->k, 1.0f, a, lda,
                           b, ldb, 1.0f, c, s->n);
            double t1 = now();
            for (int q = 0; q < inner; q++) {
                CHECK(dnnl_memory_set_data_handle(am, a));
                CHECK(dnnl_memory_set_data_handle(bm, b));
                CHECK(dnnl_memory_set_data_handle(cm, c));
                CHECK(dnnl_primitive_execute(prim, st, 3, args));
                CHECK(dnnl_stream_wait(st));
            }
            double t2 = now();
            for (int q = 0; q < inner; q++) {
                dnnl_memory_t m3[3];
                CHECK(dnnl_memory_create(&m3[0], &amd, eng, a));
                CHECK(dnnl_memory_create(&m3[1], &bmd, eng, b));
                CHECK(dnnl_memory_create(&m3[2], &cmd, eng, c));
                dnnl_exec_arg_t ra[3] = {
                    {DNNL_ARG_SRC, m3[0]}, {DNNL_ARG_WEIGHTS, m3[1]}, {DNNL_ARG_DST, m3[2]}};
                CHECK(dnnl_primitive_execute(rprim, st, 3, ra));
                CHECK(dnnl_stream_wait(st));
                for (int j = 0; j < 3; j++)
                    dnnl_memory_destroy(m3[j]);
            }
            double t2r = now();
            for (int q = 0; q < inner; q++)
                cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                            s->tb ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a, lda, b,
                            ldb, 1.0f, c, s->n);
            double t3 = now();
            if (r >= 0) {
                t[0][r] = (t1 - t0) / inner;
                t[1][r] = (t2 - t1) / inner;
                t[2][r] = (t2r - t2) / inner;
                t[3][r] = (t3 - t2r) / inner;
            }
        }
        double f = 2.0 * nc * s->k * 1e-9;
        printf("%-30s %6d %6d %6d %12.1f %12.1f %12.1f %12.1f  %s / %s\n", s->what, s->m, s->n,
               s->k, f / median(t[0]), f / median(t[1]), f / median(t[2]), f / median(t[3]), impl,
               rimpl);
        fflush(stdout);
        dnnl_primitive_destroy(rprim);
        dnnl_primitive_desc_destroy(rpd);
        dnnl_primitive_destroy(prim);
        dnnl_primitive_desc_destroy(pd);
        dnnl_primitive_attr_destroy(attr);
        dnnl_post_ops_destroy(po);
        dnnl_memory_destroy(am);
        dnnl_memory_destroy(bm);
        dnnl_memory_destroy(cm);
        free(a);
        free(b);
        free(c);
    }
    dnnl_stream_destroy(st);
    dnnl_engine_destroy(eng);
    return 0;
}
