/*
 * Unit tests of the NN core's onednn kernel table (plugins/nn/kernels_onednn.c)
 * in float32, against the naive table and the core's own loops: matmul
 * primitives on every transposition, beta and leading dimension; the
 * cache's bound (least recently used evicted) and its runtime-dimension
 * families; LayerNorm forward and backward; the loss's softmax, including a
 * target whose probability underflows; no failure kept in the end.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "transformer.h"

static void fill(float *p, size_t n, nn_rng *r, double scale, double shift)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2 * nn_rng_uniform(r) - 1) * scale + shift);
}

static double rel(const float *a, const float *b, size_t n)
{
    double d = 0, s = 0;
    for (size_t i = 0; i < n; i++) {
        d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        s += (double)b[i] * b[i];
    }
    return s > 0 ? sqrt(d / s) : sqrt(d);
}

static void backends(nn_backend *dn, nn_backend *ref)
{
    char err[256];
    ck_assert_msg(nn_backend_init(dn, &nn_kernels_onednn, 1, err, sizeof err) == 0, "%s", err);
    ck_assert_msg(nn_backend_init(ref, &nn_kernels_naive, 1, err, sizeof err) == 0, "%s", err);
}

static void release(nn_backend *dn, nn_backend *ref)
{
    char err[256] = "";
    ck_assert_msg(nn_backend_status(dn, err, sizeof err) == 0, "%s", err);
    nn_backend_release(dn);
    nn_backend_release(ref);
}

/* One product on both tables, C starting from the same values; lds padded
 * by pad beyond the rows. */
static double one_gemm(const nn_backend *dn, const nn_backend *ref, nn_rng *r, int ta, int tb,
                       int m, int n, int k, int pad, float beta)
{
    int ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    int lda = ac + pad, ldb = bc + pad, ldc = n + pad;
    float *a = nn_alloc((size_t)ar * lda, 4), *b = nn_alloc((size_t)br * ldb, 4);
    float *c1 = nn_alloc((size_t)m * ldc, 4), *c2 = nn_alloc((size_t)m * ldc, 4);
    ck_assert(a && b && c1 && c2);
    fill(a, (size_t)ar * lda, r, 1, 0);
    fill(b, (size_t)br * ldb, r, 1, 0);
    fill(c1, (size_t)m * ldc, r, 1, 0);
    memcpy(c2, c1, (size_t)m * ldc * 4);
    dn->k->gemm(dn, ta, tb, m, n, k, a, lda, b, ldb, beta, c1, ldc);
    ref->k->gemm(ref, ta, tb, m, n, k, a, lda, b, ldb, beta, c2, ldc);
    /* The padding columns of C are untouched. */
    for (int i = 0; i < m; i++)
        for (int j = n; j < ldc; j++)
            ck_assert(c1[(size_t)i * ldc + j] == c2[(size_t)i * ldc + j]);
    double e = rel(c1, c2, (size_t)m * ldc);
    nn_free(a), nn_free(b), nn_free(c1), nn_free(c2);
    return e;
}

START_TEST(test_gemm_signatures)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 1);
    static const float betas[3] = {0, 1, 0.5f};
    static const int shapes[][3] = {{1, 1, 1}, {7, 5, 3}, {1, 33, 17}, {19, 1, 40}, {64, 48, 32}};
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 3; bi++)
                for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++)
                    for (int pad = 0; pad < 6; pad += 5) {
                        const int *d = shapes[s];
                        /* twice: the second call runs the cached primitive */
                        for (int rep = 0; rep < 2; rep++) {
                            double e = one_gemm(&dn, &ref, &r, ta, tb, d[0], d[1], d[2], pad,
                                                betas[bi]);
                            ck_assert_msg(e < 1e-5, "ta %d tb %d beta %g %dx%dx%d pad %d: %g", ta,
                                          tb, betas[bi], d[0], d[1], d[2], pad, e);
                        }
                    }
    /* An empty product only scales C. */
    ck_assert(one_gemm(&dn, &ref, &r, 0, 1, 4, 3, 0, 1, 0.5f) == 0);
    nn_onednn_counts oc;
    nn_onednn_stats(&dn, &oc);
    ck_assert_int_eq(oc.created, 2 * 2 * 3 * 5 * 2); /* one per signature */
    release(&dn, &ref);
}
END_TEST

/* Over CACHE_CAP (256) signatures, each in a family of its own (ldc
 * differs): the cache holds 256, evicts the rest, and an evicted shape is
 * made again, right. */
START_TEST(test_cache_bound)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 2);
    for (int i = 0; i < 300; i++)
        ck_assert(one_gemm(&dn, &ref, &r, 0, 1, 3, 2, 4, i, 0) < 1e-5);
    nn_onednn_counts oc;
    nn_onednn_stats(&dn, &oc);
    ck_assert_int_eq(oc.cached, 256);
    ck_assert_int_eq(oc.created, 300);
    ck_assert_int_eq(oc.evicted, 44);
    ck_assert_int_eq(oc.runtime_families, 0);
    ck_assert(one_gemm(&dn, &ref, &r, 0, 1, 3, 2, 4, 0, 0) < 1e-5);
    nn_onednn_stats(&dn, &oc);
    ck_assert_int_eq(oc.created, 301);
    ck_assert_int_eq(oc.cached, 256);
    release(&dn, &ref);
}
END_TEST

/* Shapes of one family (same transpositions, leading dimensions, beta),
 * as BERT's attention makes with each sequence's length: the first 8 get
 * primitives of their own, the rest share one with runtime dimensions. */
START_TEST(test_runtime_family)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 3);
    int lda = 40, ldb = 40, ldc = 40;
    for (int beta = 0; beta < 2; beta++)
        for (int rep = 0; rep < 2; rep++)
            for (int kl = 1; kl <= 20; kl++) {
                /* a[T=16, kl] = q k^T over kl keys, as nn_attention_masked_forward */
                float q[16 * 40], kk[40 * 40], c1[16 * 40], c2[16 * 40];
                fill(q, sizeof q / 4, &r, 1, 0);
                fill(kk, sizeof kk / 4, &r, 1, 0);
                fill(c1, sizeof c1 / 4, &r, 1, 0);
                memcpy(c2, c1, sizeof c1);
                dn.k->gemm(&dn, 0, 1, 16, kl, 8 + kl % 3, q, lda, kk, ldb, (float)beta, c1, ldc);
                ref.k->gemm(&ref, 0, 1, 16, kl, 8 + kl % 3, q, lda, kk, ldb, (float)beta, c2, ldc);
                ck_assert_msg(rel(c1, c2, sizeof c1 / 4) < 1e-5, "kl %d beta %d", kl, beta);
            }
    nn_onednn_counts oc;
    nn_onednn_stats(&dn, &oc);
    ck_assert_int_eq(oc.runtime_families, 2);
    ck_assert_int_eq(oc.created, 2 * (8 + 1));
    ck_assert_int_eq(oc.runtime_calls, 2 * 2 * (20 - 8));
    release(&dn, &ref);
}
END_TEST

START_TEST(test_gemv)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 4);
    float a[50 * 70], x[70], y1[50], y2[50];
    fill(a, sizeof a / 4, &r, 1, 0);
    fill(x, 70, &r, 1, 0);
    for (int beta = 0; beta < 2; beta++) {
        fill(y1, 50, &r, 1, 0);
        memcpy(y2, y1, sizeof y1);
        dn.k->gemv(&dn, 50, 64, a, 70, x, (float)beta, y1);
        ref.k->gemv(&ref, 50, 64, a, 70, x, (float)beta, y2);
        ck_assert(rel(y1, y2, 50) < 1e-5);
    }
    release(&dn, &ref);
}
END_TEST

/* LayerNorm on rows with a large mean (a residual stream's), both
 * epsilons the tasks use; the gradients accumulate into nonzero ones. */
START_TEST(test_layernorm)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 5);
    enum { N = 9, C = 37 };
    static const double eps[2] = {1e-5, 1e-12};
    for (int e = 0; e < 2; e++) {
        float x[N * C], w[C], b[C], o1[N * C], o2[N * C], m1[N], m2[N], s1[N], s2[N];
        float d[N * C], dx1[N * C], dx2[N * C], dw1[C], dw2[C], db1[C], db2[C];
        fill(x, N * C, &r, 2, 30);
        fill(w, C, &r, 1, 1);
        fill(b, C, &r, 1, 0);
        fill(d, N * C, &r, 1, 0);
        fill(dx1, N * C, &r, 1, 0);
        fill(dw1, C, &r, 1, 0);
        fill(db1, C, &r, 1, 0);
        memcpy(dx2, dx1, sizeof dx1), memcpy(dw2, dw1, sizeof dw1), memcpy(db2, db1, sizeof db1);
        for (int rep = 0; rep < 2; rep++) {
            nn_layernorm_forward_be(&dn, N, C, x, w, b, eps[e], o1, m1, s1);
            nn_layernorm_forward_be(&ref, N, C, x, w, b, eps[e], o2, m2, s2);
            ck_assert_msg(rel(o1, o2, N * C) < 1e-5, "out %g", rel(o1, o2, N * C));
            ck_assert(rel(m1, m2, N) < 1e-6);
            ck_assert_msg(rel(s1, s2, N) < 1e-5, "rstd %g", rel(s1, s2, N));
        }
        /* either table's backward from the other's statistics */
        nn_layernorm_backward_be(&dn, N, C, x, w, m2, s2, eps[e], d, dx1, dw1, db1);
        nn_layernorm_backward_be(&ref, N, C, x, w, m1, s1, eps[e], d, dx2, dw2, db2);
        ck_assert_msg(rel(dx1, dx2, N * C) < 1e-4, "dx %g", rel(dx1, dx2, N * C));
        ck_assert_msg(rel(dw1, dw2, C) < 1e-5, "dw %g", rel(dw1, dw2, C));
        ck_assert_msg(rel(db1, db2, C) < 1e-6, "db %g", rel(db1, db2, C));
    }
    release(&dn, &ref);
}
END_TEST

/* The loss's softmax over V of Vp columns (padded rows, one primitive per
 * row; and dense ones, one for all); row 2's target has a logit 150 below
 * the rest, so its probability underflows float and its loss comes from
 * the logits. */
START_TEST(test_softmax_xent)
{
    nn_backend dn, ref;
    backends(&dn, &ref);
    nn_rng r;
    nn_rng_seed(&r, 6);
    enum { N = 5, V = 45 };
    int Vp = _i ? V : 48;
    float l[N * 48], p1[N * 48], p2[N * 48];
    fill(l, N * Vp, &r, 4, 0);
    int32_t t[N] = {0, 7, 13, 44, 21};
    l[2 * Vp + 13] = -150;
    memset(p1, 0x7f, sizeof p1); /* padded columns must be written 0 */
    double a = nn_softmax_xent_forward_be(&dn, N, V, Vp, l, t, p1);
    double b = nn_softmax_xent_forward_be(&ref, N, V, Vp, l, t, p2);
    ck_assert_msg(fabs(a - b) < 1e-6 * fabs(b), "%.9g %.9g", a, b);
    ck_assert(b > 150.0 / N);
    ck_assert(rel(p1, p2, N * Vp) < 1e-6);
    for (int n = 0; n < N; n++)
        for (int i = V; i < Vp; i++)
            ck_assert(p1[n * Vp + i] == 0);
    ck_assert(nn_softmax_xent_forward_be(&dn, N, V, Vp, l, NULL, p1) == 0);
    release(&dn, &ref);
}
END_TEST

/* A product oneDNN refuses (A's rows overlap: lda < k, which no caller
 * passes) leaves a failure for nn_backend_status, kept until release. */
START_TEST(test_status_sticky)
{
    nn_backend dn;
    char err[256] = "";
    ck_assert(nn_backend_init(&dn, &nn_kernels_onednn, 1, err, sizeof err) == 0);
    float a[8] = {0}, b[8] = {0}, c[4] = {0};
    ck_assert_int_eq(nn_backend_status(&dn, err, sizeof err), 0);
    dn.k->gemm(&dn, 0, 0, 2, 2, 4, a, 1, b, 2, 0, c, 2);
    ck_assert_int_lt(nn_backend_status(&dn, err, sizeof err), 0);
    ck_assert_msg(strstr(err, "matmul m, n, k (2, 2, 4)") != NULL, "%s", err);
    dn.k->gemm(&dn, 0, 0, 2, 2, 2, a, 2, b, 2, 0, c, 2); /* a good one after it */
    ck_assert_int_lt(nn_backend_status(&dn, err, sizeof err), 0);
    nn_backend_release(&dn);
}
END_TEST

int main(void)
{
    if (nn_onednn_available()) {
        printf("test_nn_onednn: skipped: %s\n", nn_onednn_available());
        return 77;
    }
    Suite *s = suite_create("nn_onednn");
    TCase *tc = tcase_create("kernels");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_gemm_signatures);
    tcase_add_test(tc, test_cache_bound);
    tcase_add_test(tc, test_runtime_family);
    tcase_add_test(tc, test_gemv);
    tcase_add_test(tc, test_layernorm);
    tcase_add_loop_test(tc, test_softmax_xent, 0, 2);
    tcase_add_test(tc, test_status_sticky);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
