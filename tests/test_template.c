/* The template task: its maths with every variant's kernel table, its rules
 * against its parameters, and its callbacks run in-process on an engine
 * context, including a wrong kernel that teardown must catch. Built with
 * MLB_VARIANT_KERNELS_ONLY, so the variant files give only their tables. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "plugin_checks.h"
#include "template.h"

static const template_kernels *const all_kernels[] = {&template_kernels_naive,
                                                      &template_kernels_openblas};
#define N_KERNELS 2
#define N_PARAMS (sizeof template_params / sizeof template_params[0])
#define N_RULES (sizeof template_rules / sizeof template_rules[0])

/* splitmix64 written out here, so that the data are checked against the
 * documented formula rather than against the code that makes them. */
static uint64_t splitmix64(uint64_t *s)
{
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

START_TEST(test_fill_is_the_documented_sequence)
{
    enum { N = 1000 };
    double *v = malloc(N * sizeof *v);
    uint64_t rng = 42, ref = 42;
    template_fill(v, N, 0, &rng);
    for (int i = 0; i < N; i++) {
        double want = (double)(splitmix64(&ref) >> 11) * 0x1.0p-52 - 1.0;
        ck_assert_msg(v[i] == want, "v[%d] = %.17g, expected %.17g", i, v[i], want);
        ck_assert(v[i] >= -1.0 && v[i] < 1.0);
    }
    ck_assert_uint_eq(rng, ref); /* one draw per entry: y continues where x ended */
    template_fill(v, N, 1, &rng);
    for (int i = 0; i < N; i++)
        ck_assert(v[i] == 1.0);
    free(v);
}
END_TEST

/* Sizes around the unrolling and blocking boundaries of a BLAS ddot. */
static const size_t sizes[] = {1, 2, 3, 7, 8, 33, 1000, 100003};
#define N_SIZES (sizeof sizes / sizeof sizes[0])

START_TEST(test_kernels_match_reference)
{
    const template_kernels *k = all_kernels[_i];
    for (size_t t = 0; t < N_SIZES; t++) {
        size_t n = sizes[t];
        double *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        uint64_t rng = 7 + t;
        template_fill(x, n, 0, &rng);
        template_fill(y, n, 0, &rng);
        double scale, ref = template_reference(n, x, y, &scale);
        double err = fabs(k->dot(n, x, y) - ref) / scale;
        ck_assert_msg(err <= template_bound(n), "kernel %d, n=%zu: relative error %g > %g", _i, n,
                      err, template_bound(n));
        /* Exact on integers: all ones sum to n. */
        template_fill(x, n, 1, &rng);
        template_fill(y, n, 1, &rng);
        ck_assert_msg(k->dot(n, x, y) == (double)n, "kernel %d: ones . ones != %zu", _i, n);
        free(x);
        free(y);
    }
}
END_TEST

/* Every rule names a declared parameter of a type it can constrain, and
 * every default passes its rule (else no run could start). */
START_TEST(test_rules_fit_params)
{
    pc_check_rules_fit_params(template_params, N_PARAMS, template_rules, N_RULES);
}
END_TEST

static const mlb_plugin descriptor = {
    MLB_PLUGIN_HEADER,
    .task = "template",
    .variant = "test",
    .params = template_params,
    .n_params = N_PARAMS,
    MLB_PARAM_RULES(template_rules),
};

START_TEST(test_rules_reject_bad_values)
{
    mlb_ctx c;
    char why[256];
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 1), 0);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "0", why, sizeof why), -ERANGE);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "134217729", why, sizeof why), -ERANGE);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "data", "gaussian", why, sizeof why), -ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "gaussian"));
    ck_assert_int_eq(mlb_ctx_set_param(&c, "repeats", "0", why, sizeof why), -ERANGE);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "134217728", why, sizeof why), 0);
    mlb_ctx_free(&c);
}
END_TEST

/* The phases as the engine runs them, on a context of its own. */
START_TEST(test_phases_report_checked_result)
{
    mlb_ctx c;
    char why[256];
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "n", "513", why, sizeof why), 0);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "repeats", "3", why, sizeof why), 0);
    ck_assert_int_eq(template_setup(&c, &state, all_kernels[_i]), 0);
    mlb_ctx_phase_begin(&c, mlb_now());
    ck_assert_int_eq(template_train(&c, state), 0);
    ck_assert(c.work[MLB_WORK_FLOPS] == 2.0 * 513 * 3);
    ck_assert(c.work[MLB_WORK_ITEMS] == 3);
    ck_assert_int_eq(template_teardown(&c, state), 0);

    /* The same data, made here from the seed. */
    double x[513], y[513], scale;
    uint64_t rng = 42;
    template_fill(x, 513, 0, &rng);
    template_fill(y, 513, 0, &rng);
    double ref = template_reference(513, x, y, &scale);
    const mlb_metric *dot = pc_metric(&c, "dot"), *err = pc_metric(&c, "rel_err");
    ck_assert_ptr_nonnull(dot);
    ck_assert_ptr_nonnull(err);
    ck_assert(fabs(dot->value - ref) <= template_bound(513) * scale);
    ck_assert(err->value <= template_bound(513));
    mlb_ctx_free(&c);
}
END_TEST

static double wrong_dot(size_t n, const double *x, const double *y)
{
    return template_kernels_naive.dot(n - 1, x, y); /* drops the last entry */
}

START_TEST(test_teardown_fails_a_wrong_kernel)
{
    static const template_kernels wrong = {.dot = wrong_dot};
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    ck_assert_int_eq(template_setup(&c, &state, &wrong), 0);
    ck_assert_int_eq(template_infer(&c, state), 0);
    ck_assert_int_lt(template_teardown(&c, state), 0);
    ck_assert_ptr_nonnull(strstr(c.err, "wrong result"));
    mlb_ctx_free(&c);
}
END_TEST

/* Setup straight to teardown (--export-data, a failed train) checks nothing. */
START_TEST(test_teardown_without_result)
{
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    ck_assert_int_eq(template_setup(&c, &state, &template_kernels_naive), 0);
    ck_assert_int_eq(template_teardown(&c, state), 0);
    ck_assert_uint_eq(c.n_metrics, 0);
    ck_assert_int_eq(template_teardown(&c, NULL), 0);
    mlb_ctx_free(&c);
}
END_TEST

static Suite *template_suite(void)
{
    Suite *s = suite_create("template");
    TCase *tc = tcase_create("template");
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_fill_is_the_documented_sequence);
    tcase_add_loop_test(tc, test_kernels_match_reference, 0, N_KERNELS);
    tcase_add_test(tc, test_rules_fit_params);
    tcase_add_test(tc, test_rules_reject_bad_values);
    tcase_add_loop_test(tc, test_phases_report_checked_result, 0, N_KERNELS);
    tcase_add_test(tc, test_teardown_fails_a_wrong_kernel);
    tcase_add_test(tc, test_teardown_without_result);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(template_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
