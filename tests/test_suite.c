/* Unit tests for the suite loader: every field of a good file, and for each
 * kind of mistake the exact file:line:column and the key the message names. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "suite.h"

#ifndef SUITE_DIR
#error "SUITE_DIR must point at tests/data/suites"
#endif

static void data_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", SUITE_DIR, name);
}

static void assert_pos(mlb_pos p, int line, int col)
{
    ck_assert_int_eq(p.line, line);
    ck_assert_int_eq(p.col, col);
}

START_TEST(test_good)
{
    char path[1024], err[512];
    mlb_suite s;
    data_path(path, sizeof path, "good.yaml");
    int rc = mlb_suite_load(path, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_str_eq(s.path, path);
    ck_assert_str_eq(s.name, "default");
    ck_assert_int_eq(s.repetitions, 5);
    ck_assert_int_eq(s.warmup, 1);
    ck_assert_int_eq(s.infer_queries, 20);
    ck_assert(s.timeout_s == 60.0);
    ck_assert_uint_eq(s.n_benches, 2);

    const mlb_bench_spec *b = &s.benches[0];
    assert_pos(b->pos, 8, 5);
    ck_assert_str_eq(b->task, "gemm");
    assert_pos(b->task_pos, 8, 11);
    ck_assert_uint_eq(b->n_variants, 3);
    ck_assert_str_eq(b->variants[0], "naive");
    ck_assert_str_eq(b->variants[1], "blocked");
    ck_assert_str_eq(b->variants[2], "openblas");
    assert_pos(b->variant_pos[0], 9, 16);
    assert_pos(b->variant_pos[1], 9, 23);
    assert_pos(b->variant_pos[2], 9, 32);

    static const char *const keys[] = { "m", "dtype", "lr", "flag", "label" };
    /* Text exactly as written: the plugin's parameter types decide. */
    static const char *const vals[] = { "256", "f32", "0.010", "yes", "quoted text" };
    ck_assert_uint_eq(b->n_params, 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_str_eq(b->params[i].key, keys[i]);
        ck_assert_str_eq(b->params[i].value, vals[i]);
        assert_pos(b->params[i].pos, 11 + (int)i, 7);
        assert_pos(b->params[i].value_pos, 11 + (int)i, 9 + (int)strlen(keys[i]));
    }
    ck_assert_int_eq(b->repetitions, 3);
    ck_assert_int_eq(b->warmup, 0);
    ck_assert_int_eq(b->infer_queries, 10);
    ck_assert(b->timeout_s == 30.5);
    ck_assert(b->target == 0.85);
    ck_assert_str_eq(b->target_metric, "accuracy");
    assert_pos(b->target_pos, 20, 22);

    /* Nothing set: every field says "inherit" or "none". */
    b = &s.benches[1];
    ck_assert_str_eq(b->task, "mlp");
    assert_pos(b->task_pos, 21, 11);
    ck_assert_ptr_null(b->variants);
    ck_assert_ptr_null(b->variant_pos);
    ck_assert_uint_eq(b->n_variants, 0);
    ck_assert_ptr_null(b->params);
    ck_assert_uint_eq(b->n_params, 0);
    ck_assert_int_eq(b->repetitions, -1);
    ck_assert_int_eq(b->warmup, -1);
    ck_assert_int_eq(b->infer_queries, -1);
    ck_assert(b->timeout_s < 0);
    ck_assert(isnan(b->target));
    ck_assert_ptr_null(b->target_metric);

    mlb_suite_free(&s);
    ck_assert_ptr_null(s.benches);
    mlb_suite_free(&s); /* a freed suite is a zeroed one */
}
END_TEST

START_TEST(test_minimal)
{
    char path[1024], err[512];
    mlb_suite s;
    data_path(path, sizeof path, "minimal.yaml");
    int rc = mlb_suite_load(path, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_ptr_null(s.name);
    ck_assert_int_eq(s.repetitions, -1);
    ck_assert_int_eq(s.warmup, -1);
    ck_assert_int_eq(s.infer_queries, -1);
    ck_assert(s.timeout_s < 0);
    ck_assert_uint_eq(s.n_benches, 1);
    ck_assert_uint_eq(s.benches[0].n_variants, 2);
    ck_assert_str_eq(s.benches[0].variants[1], "openblas");
    assert_pos(s.benches[0].variant_pos[0], 4, 9);
    assert_pos(s.benches[0].variant_pos[1], 5, 9);
    mlb_suite_free(&s);
}
END_TEST

/* An aliased params map is shared in the document but copied per benchmark. */
START_TEST(test_sweep)
{
    char path[512], err[512];
    mlb_suite s;
    data_path(path, sizeof path, "sweep.yaml");
    ck_assert_int_eq(mlb_suite_load(path, &s, err, sizeof err), 0);
    ck_assert_uint_eq(s.benches[0].n_params, 2);
    const mlb_kv *m = &s.benches[0].params[0];
    ck_assert_str_eq(m->key, "m");
    ck_assert_uint_eq(m->n_values, 3);
    ck_assert_str_eq(m->values[0], "64");
    ck_assert_str_eq(m->values[2], "256");
    ck_assert_str_eq(m->value, "64");
    ck_assert_int_eq(m->value_pos.line, 4);
    const mlb_kv *d = &s.benches[0].params[1];
    ck_assert_ptr_null(d->values);
    ck_assert_str_eq(d->value, "f32");
    mlb_suite_free(&s);
}
END_TEST

START_TEST(test_anchors)
{
    char path[1024], err[512];
    mlb_suite s;
    data_path(path, sizeof path, "anchors.yaml");
    int rc = mlb_suite_load(path, &s, err, sizeof err);
    ck_assert_msg(rc == 0, "load failed: %s", err);
    ck_assert_uint_eq(s.n_benches, 2);
    for (size_t i = 0; i < 2; i++) {
        ck_assert_uint_eq(s.benches[i].n_params, 2);
        ck_assert_str_eq(s.benches[i].params[0].key, "m");
        ck_assert_str_eq(s.benches[i].params[0].value, "64");
        ck_assert_str_eq(s.benches[i].params[1].value, "f64");
    }
    ck_assert_ptr_ne(s.benches[0].params[0].value, s.benches[1].params[0].value);
    mlb_suite_free(&s);
}
END_TEST

typedef struct {
    const char *file;
    int line, col;
    const char *needle; /* must appear in the message: the offending key */
} bad_case;

static const bad_case bad_cases[] = {
    { "err_unknown_top.yaml", 2, 1, "unknown key 'repetitons'" },
    { "err_unknown_bench.yaml", 3, 5, "unknown key 'varients'" },
    { "err_unknown_target.yaml", 3, 44, "unknown key 'goal'" },
    { "err_reps_abc.yaml", 3, 18, "repetitions: expected an integer >= 1, got 'abc'" },
    { "err_reps_neg.yaml", 1, 14, "repetitions: must be >= 1" },
    { "err_reps_zero.yaml", 3, 18, "repetitions: must be >= 1" },
    { "err_reps_quoted.yaml", 3, 18, "repetitions: expected an integer" },
    { "err_reps_range.yaml", 3, 18, "repetitions: 99999999999 is out of range" },
    { "err_warmup_neg.yaml", 1, 9, "warmup: must be >= 0" },
    { "err_infer_float.yaml", 1, 16, "infer_queries: expected an integer" },
    { "err_timeout_zero.yaml", 1, 10, "timeout: must be > 0" },
    { "err_timeout_inf.yaml", 3, 14, "timeout: expected a positive number" },
    { "err_variants_scalar.yaml", 3, 15, "variants: expected a list" },
    { "err_variants_empty.yaml", 3, 15, "variants: empty list" },
    { "err_variants_nested.yaml", 3, 23, "variants: expected a name" },
    { "err_variants_dup.yaml", 3, 32, "variants: 'naive' is listed twice" },
    { "err_params_list.yaml", 3, 13, "params: expected a mapping" },
    { "err_param_sweep_nested.yaml", 4, 14, "params: 'm': every value of a sweep must be a single value, got a list" },
    { "err_param_sweep_empty.yaml", 4, 10, "params: 'm' is an empty list" },
    { "err_param_value_map.yaml", 5, 13, "params: 'opts' must be a single value or a list of values, got a mapping" },
    { "err_param_null.yaml", 4, 9, "params: 'm' has no value" },
    { "err_missing_task.yaml", 2, 5, "missing required key 'task'" },
    { "err_task_list.yaml", 2, 11, "task: expected a name" },
    { "err_bench_scalar.yaml", 2, 5, "benchmark 1: expected a mapping" },
    { "err_missing_benchmarks.yaml", 1, 1, "missing required key 'benchmarks'" },
    { "err_empty_benchmarks.yaml", 2, 13, "benchmarks: empty list" },
    { "err_null_benchmarks.yaml", 2, 12, "benchmarks: expected a list" },
    { "err_target_no_value.yaml", 3, 13, "target: missing required key 'value'" },
    { "err_target_scalar.yaml", 3, 13, "target: expected a mapping" },
    { "err_dup_top.yaml", 2, 1, "duplicate key 'warmup'" },
    { "err_dup_bench.yaml", 4, 5, "duplicate key 'task'" },
    { "err_dup_param.yaml", 6, 7, "params: duplicate key 'm'" },
    { "err_syntax_indent.yaml", 3, 4, "YAML syntax error" },
    { "err_syntax_flow.yaml", 4, 1, "YAML syntax error" },
    { "err_syntax_alias.yaml", 2, 11, "undefined alias" },
    { "err_bad_utf8.yaml", 2, 12, "invalid input" },
    { "err_empty.yaml", 1, 1, "empty suite file" },
    { "err_root_list.yaml", 1, 1, "must be a mapping" },
    { "err_two_docs.yaml", 4, 1, "single YAML document" },
};

START_TEST(test_bad)
{
    const bad_case *bc = &bad_cases[_i];
    char path[1024], err[512], prefix[1100];
    mlb_suite s;
    memset(&s, 0x5a, sizeof s); /* load must not rely on a zeroed struct */
    data_path(path, sizeof path, bc->file);
    int rc = mlb_suite_load(path, &s, err, sizeof err);
    ck_assert_msg(rc == -EINVAL, "%s: rc %d, err '%s'", bc->file, rc, err);
    snprintf(prefix, sizeof prefix, "%s:%d:%d: ", path, bc->line, bc->col);
    ck_assert_msg(strncmp(err, prefix, strlen(prefix)) == 0, "expected prefix '%s', got '%s'",
                  prefix, err);
    ck_assert_msg(strstr(err, bc->needle) != NULL, "expected '%s' in '%s'", bc->needle, err);
    /* A failed load leaves nothing behind, and freeing it is harmless. */
    ck_assert_ptr_null(s.benches);
    ck_assert_ptr_null(s.path);
    ck_assert_ptr_null(s.name);
    mlb_suite_free(&s);
}
END_TEST

START_TEST(test_unreadable)
{
    char path[1024], err[512];
    mlb_suite s;
    data_path(path, sizeof path, "no-such-suite.yaml");
    int rc = mlb_suite_load(path, &s, err, sizeof err);
    ck_assert_int_eq(rc, -ENOENT);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "path missing from '%s'", err);
    ck_assert_ptr_nonnull(strstr(err, strerror(ENOENT)));
    mlb_suite_free(&s);

    /* A directory opens on Linux; reading it is what fails. */
    rc = mlb_suite_load(SUITE_DIR, &s, err, sizeof err);
    ck_assert_int_eq(rc, -EISDIR);
    ck_assert_ptr_nonnull(strstr(err, SUITE_DIR));
    mlb_suite_free(&s);
}
END_TEST

START_TEST(test_err_buffer)
{
    char path[1024], err[16];
    mlb_suite s;
    data_path(path, sizeof path, "err_unknown_top.yaml");
    ck_assert_int_eq(mlb_suite_load(path, &s, NULL, 0), -EINVAL);
    /* A short buffer truncates rather than overflows. */
    memset(err, 'x', sizeof err);
    ck_assert_int_eq(mlb_suite_load(path, &s, err, sizeof err), -EINVAL);
    ck_assert_uint_eq(strlen(err), sizeof err - 1);
    ck_assert_int_eq(mlb_suite_load(path, &s, err, 1), -EINVAL);
    ck_assert_str_eq(err, "");
}
END_TEST

START_TEST(test_free_zeroed)
{
    mlb_suite s;
    memset(&s, 0, sizeof s);
    mlb_suite_free(&s);
    mlb_suite_free(NULL);
}
END_TEST

static Suite *suite_suite(void)
{
    Suite *su = suite_create("suite");
    TCase *tc = tcase_create("load");
    tcase_add_test(tc, test_good);
    tcase_add_test(tc, test_minimal);
    tcase_add_test(tc, test_anchors);
    tcase_add_test(tc, test_sweep);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_unreadable);
    tcase_add_test(tc, test_err_buffer);
    tcase_add_test(tc, test_free_zeroed);
    suite_add_tcase(su, tc);
    return su;
}

int main(void)
{
    SRunner *sr = srunner_create(suite_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
