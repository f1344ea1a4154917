/*
 * The BERT encoder in its float32 build, as the plugins run it: the naive
 * and openblas kernel tables give the same logits within 1e-5 on a padded
 * batch, for both heads; the float32 GELU's erf (a rational function, not
 * libm's) and the float exp of GELU's backward and the masked softmax
 * against the double formulas.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bert.h"

#ifdef NN_DOUBLE
#error "test_bert_f32 checks the float32 build: link nn, not nn64"
#endif

START_TEST(test_f32_kernels_agree)
{
    enum { B = 3, T = 16 };
    int32_t ids[B * T], seg[B * T], mask[B * T], lab[2 * B] = {1, 0, 2, 5, 3, 3};
    nn_rng r;
    nn_rng_seed(&r, 21);
    for (int i = 0; i < B * T; i++) {
        ids[i] = (int32_t)nn_rng_below(&r, 50);
        seg[i] = (i % T) > T / 2;
        mask[i] = (i % T) < T - 3 * (i / T); /* 16, 13, 10 real tokens */
    }
    for (int head = 0; head < 2; head++) {
        nn_bert_config c = {.vocab_size = 50, .max_len = T, .type_vocab = 2, .num_layers = 2,
                            .num_heads = 4, .hidden = 32, .ffn = 128, .head = (nn_bert_head)head,
                            .num_classes = head ? 2 : 3};
        const nn_kernels *ks[2] = {&nn_kernels_naive, &nn_kernels_openblas};
        nn_backend be[2];
        nn_bert m[2];
        char err[512];
        for (int v = 0; v < 2; v++) {
            ck_assert_msg(nn_backend_init(&be[v], ks[v], 1, err, sizeof err) == 0, "%s", err);
            ck_assert_msg(nn_bert_create(&m[v], &c, &be[v], B, T, 1, err, sizeof err) == 0, "%s",
                          err);
            nn_bert_init_weights(&m[v], 5);
            for (size_t i = 0; i < m[v].n_params; i++) /* std 0.08: every path carries signal */
                m[v].params_mem[i] *= 4;
            nn_bert_forward(&m[v], ids, seg, mask, lab, B, T);
            nn_bert_zero_grad(&m[v]);
            nn_bert_backward(&m[v]);
        }
        int n = head ? B * T * 2 : B * c.num_classes;
        for (int i = 0; i < n; i++) {
            double a = m[0].logits[i], b = m[1].logits[i];
            ck_assert_msg(fabs(a - b) <= 1e-5 * fmax(1, fabs(a)), "logit %d: %.8g vs %.8g", i, a,
                          b);
        }
        ck_assert(fabs(m[0].mean_loss - m[1].mean_loss) <= 1e-5 * m[0].mean_loss);
        double num = 0, den = 0;
        for (size_t i = 0; i < m[0].n_params; i++) {
            double d = (double)m[0].grads_mem[i] - (double)m[1].grads_mem[i];
            num += d * d;
            den += (double)m[0].grads_mem[i] * (double)m[0].grads_mem[i];
        }
        ck_assert_msg(sqrt(num / den) < 1e-4, "gradients differ by %g (norm-wise)",
                      sqrt(num / den));
        for (int v = 0; v < 2; v++) {
            nn_bert_free(&m[v]);
            nn_backend_release(&be[v]);
        }
    }
}
END_TEST

START_TEST(test_f32_gelu_erf)
{
    enum { N = 20001 };
    float *x = malloc(N * sizeof *x), *y = malloc(N * sizeof *y);
    for (int i = 0; i < N; i++)
        x[i] = (float)(-10 + 20.0 * i / (N - 1));
    nn_gelu_erf_forward(N, x, y);
    for (int i = 0; i < N; i++) {
        double v = x[i], want = 0.5 * v * (1 + erf(v / sqrt(2.0)));
        ck_assert_msg(fabs(y[i] - want) <= 4e-7 * fmax(1, fabs(v)), "gelu(%.9g) = %.9g, not %.9g",
                      v, (double)y[i], want);
    }
    /* Backward: Phi(x) + x phi(x), with its own float exp. */
    float *dy = malloc(N * sizeof *dy), *dx = calloc(N, sizeof *dx);
    for (int i = 0; i < N; i++)
        dy[i] = 1;
    nn_gelu_erf_backward(N, x, dy, dx);
    for (int i = 0; i < N; i++) {
        double v = x[i];
        double want = 0.5 * (1 + erf(v / sqrt(2.0))) + v * exp(-0.5 * v * v) / sqrt(2 * M_PI);
        ck_assert_msg(fabs(dx[i] - want) <= 4e-7 * fmax(1, fabs(v)), "gelu'(%.9g) = %.9g, not %.9g",
                      v, (double)dx[i], want);
    }
    free(x);
    free(y);
    free(dy);
    free(dx);
}
END_TEST

/* The masked softmax's own float exp: probabilities against a double
 * computation of the same scores (to 2e-5: the float GEMM's scores, ~70
 * apart, carry ~4e-6 of rounding into exp). */
START_TEST(test_f32_masked_softmax)
{
    enum { T = 40, C = 8, NH = 2, hs = C / NH };
    float *qkv = malloc(sizeof(float) * T * 3 * C), *out = malloc(sizeof(float) * T * C);
    float *att = malloc(sizeof(float) * NH * T * T);
    int32_t mask[T];
    nn_rng r;
    nn_rng_seed(&r, 8);
    for (int i = 0; i < T * 3 * C; i++)
        qkv[i] = (float)(6 * (2 * nn_rng_uniform(&r) - 1)); /* scores up to ~70 apart */
    for (int t = 0; t < T; t++)
        mask[t] = t < 30 && t % 7 != 3;
    nn_backend be;
    char err[256];
    ck_assert(nn_backend_init(&be, &nn_kernels_naive, 1, err, sizeof err) == 0);
    nn_attention_masked_forward(&be, 1, T, C, NH, qkv, mask, out, att);
    for (int h = 0; h < NH; h++)
        for (int t = 0; t < T; t++) {
            double s[T], mx = -INFINITY, sum = 0;
            for (int j = 0; j < T; j++) {
                s[j] = 0;
                for (int i = 0; i < hs; i++)
                    s[j] += (double)qkv[t * 3 * C + h * hs + i] * qkv[j * 3 * C + C + h * hs + i];
                s[j] /= sqrt((double)hs);
                if (mask[j] && s[j] > mx)
                    mx = s[j];
            }
            for (int j = 0; j < T; j++)
                sum += (s[j] = mask[j] ? exp(s[j] - mx) : 0);
            for (int j = 0; j < T; j++) {
                double a = att[(h * T + t) * T + j], want = s[j] / sum;
                ck_assert(mask[j] || a == 0);
                ck_assert_msg(fabs(a - want) <= 2e-5 * fmax(want, 1e-3), "att %g, not %g", a,
                              want);
            }
        }
    nn_backend_release(&be);
    free(qkv);
    free(out);
    free(att);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("bert_f32");
    TCase *tc = tcase_create("f32");
    tcase_add_test(tc, test_f32_kernels_agree);
    tcase_add_test(tc, test_f32_gelu_erf);
    tcase_add_test(tc, test_f32_masked_softmax);
    suite_add_tcase(s, tc);
    SRunner *r = srunner_create(s);
    srunner_run_all(r, CK_NORMAL);
    int failed = srunner_ntests_failed(r);
    srunner_free(r);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
