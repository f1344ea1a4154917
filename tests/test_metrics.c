/* The shared metrics (plugins/common/metrics.h) against scikit-learn 1.2:
 * every value to 1e-12 relative, counts exactly. The cases and sklearn's
 * values are in tests/ref/metrics/refs.json, written by make_refs.py there
 * (`/usr/bin/python3 tests/ref/metrics/make_refs.py`); null there is NaN
 * here. Also: invalid input, batch counting, and what the report functions
 * hand the engine. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ctx.h"
#include "metrics.h"

#ifndef METRICS_REF_DIR
#error "METRICS_REF_DIR must point at tests/ref/metrics"
#endif

#define TOL 1e-12

/* Read once in main, before the suite forks its tests. */
static cJSON *refs;

static cJSON *section(const char *name)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(refs, name);
    ck_assert_msg(cJSON_IsArray(a), "refs.json: no array '%s'", name);
    return a;
}

static cJSON *field(const cJSON *o, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    ck_assert_msg(v != NULL, "refs.json: no field '%s'", name);
    return v;
}

static const char *case_name(const cJSON *c)
{
    return cJSON_GetStringValue(field(c, "name"));
}

static int *int_array(const cJSON *a, size_t *n)
{
    ck_assert(cJSON_IsArray(a));
    *n = (size_t)cJSON_GetArraySize(a);
    int *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = (int)cJSON_GetNumberValue(e);
    return v;
}

static double *double_array(const cJSON *a, size_t *n)
{
    ck_assert(cJSON_IsArray(a));
    *n = (size_t)cJSON_GetArraySize(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = cJSON_GetNumberValue(e);
    return v;
}

/* want: a number, or null for NaN. Equality first, so that an expected 0
 * (a perfect RMSE, an inverted ROC) must be met exactly. */
static void assert_ref(double got, const cJSON *want, const char *what, const char *name)
{
    if (cJSON_IsNull(want)) {
        ck_assert_msg(isnan(got), "%s %s: %.17g, reference NaN", name, what, got);
        return;
    }
    double w = cJSON_GetNumberValue(want);
    ck_assert_msg(got == w || fabs(got - w) <= TOL * fabs(w), "%s %s: %.17g vs sklearn %.17g",
                  name, what, got, w);
}

/* The label functions and the confusion-matrix functions share one
 * definition, so they must agree to the bit, not just to TOL. */
static void assert_same(double a, double b, const char *what, const char *name)
{
    ck_assert_msg(a == b || (isnan(a) && isnan(b)), "%s %s: labels %.17g, matrix %.17g", name,
                  what, a, b);
}

START_TEST(test_classification_matches_sklearn)
{
    const cJSON *c = cJSON_GetArrayItem(section("classification"), _i);
    const char *name = case_name(c);
    const cJSON *e = field(c, "expect");
    int k = (int)cJSON_GetNumberValue(field(c, "n_classes"));
    size_t n, n2;
    int *yt = int_array(field(c, "y_true"), &n);
    int *yp = int_array(field(c, "y_pred"), &n2);
    ck_assert_uint_eq(n, n2);

    size_t *cm = malloc((size_t)k * (size_t)k * sizeof *cm); /* k x k */
    ck_assert_ptr_nonnull(cm);
    memset(cm, 0xff, (size_t)k * (size_t)k * sizeof *cm); /* must be cleared */
    ck_assert_int_eq(metrics_confusion_matrix(yt, yp, n, k, cm), 0);
    const cJSON *rows = field(e, "confusion");
    ck_assert_int_eq(cJSON_GetArraySize(rows), k);
    for (int t = 0; t < k; t++) {
        const cJSON *row = cJSON_GetArrayItem(rows, t);
        ck_assert_int_eq(cJSON_GetArraySize(row), k);
        for (int p = 0; p < k; p++)
            ck_assert_msg(cm[(size_t)t * (size_t)k + (size_t)p] ==
                              (size_t)cJSON_GetNumberValue(cJSON_GetArrayItem(row, p)),
                          "%s confusion[%d][%d]", name, t, p);
    }

    double v = metrics_accuracy(yt, yp, n, k);
    assert_ref(v, field(e, "accuracy"), "accuracy", name);
    assert_same(v, metrics_accuracy_cm(cm, k), "accuracy", name);
    v = metrics_balanced_accuracy(yt, yp, n, k);
    assert_ref(v, field(e, "balanced_accuracy"), "balanced_accuracy", name);
    assert_same(v, metrics_balanced_accuracy_cm(cm, k), "balanced_accuracy", name);

    static const struct {
        const char *key;
        metrics_average avg;
    } avgs[] = {{"macro", METRICS_MACRO}, {"weighted", METRICS_WEIGHTED}};
    for (size_t a = 0; a < 2; a++) {
        char key[64];
        metrics_average avg = avgs[a].avg;
        snprintf(key, sizeof key, "precision_%s", avgs[a].key);
        v = metrics_precision(yt, yp, n, k, avg);
        assert_ref(v, field(e, key), key, name);
        assert_same(v, metrics_precision_cm(cm, k, avg), key, name);
        snprintf(key, sizeof key, "recall_%s", avgs[a].key);
        v = metrics_recall(yt, yp, n, k, avg);
        assert_ref(v, field(e, key), key, name);
        assert_same(v, metrics_recall_cm(cm, k, avg), key, name);
        snprintf(key, sizeof key, "f1_%s", avgs[a].key);
        v = metrics_f1(yt, yp, n, k, avg);
        assert_ref(v, field(e, key), key, name);
        assert_same(v, metrics_f1_cm(cm, k, avg), key, name);
    }

    const cJSON *pj = cJSON_GetObjectItemCaseSensitive(c, "proba");
    if (pj) {
        size_t np;
        double *proba = double_array(pj, &np); /* n x k, row-major */
        ck_assert_uint_eq(np, n * (size_t)k);
        assert_ref(metrics_log_loss(yt, proba, n, k), field(e, "log_loss"), "log_loss", name);
        free(proba);
    }
    const cJSON *sj = cJSON_GetObjectItemCaseSensitive(c, "score");
    if (sj) {
        size_t ns;
        double *score = double_array(sj, &ns);
        ck_assert_uint_eq(ns, n);
        assert_ref(metrics_roc_auc(yt, score, n), field(e, "roc_auc"), "roc_auc", name);
        free(score);
    }
    free(cm);
    free(yt);
    free(yp);
}
END_TEST

START_TEST(test_roc_auc_matches_sklearn)
{
    const cJSON *c = cJSON_GetArrayItem(section("roc"), _i);
    size_t n, ns;
    int *y = int_array(field(c, "y_true"), &n);
    double *s = double_array(field(c, "score"), &ns);
    ck_assert_uint_eq(n, ns);
    assert_ref(metrics_roc_auc(y, s, n), field(c, "roc_auc"), "roc_auc", case_name(c));
    free(y);
    free(s);
}
END_TEST

START_TEST(test_regression_matches_sklearn)
{
    const cJSON *c = cJSON_GetArrayItem(section("regression"), _i);
    const char *name = case_name(c);
    size_t n, n2;
    double *y = double_array(field(c, "y_true"), &n);
    double *p = double_array(field(c, "y_pred"), &n2);
    ck_assert_uint_eq(n, n2);
    assert_ref(metrics_r2(y, p, n), field(c, "r2"), "r2", name);
    assert_ref(metrics_rmse(y, p, n), field(c, "rmse"), "rmse", name);
    assert_ref(metrics_mae(y, p, n), field(c, "mae"), "mae", name);
    free(y);
    free(p);
}
END_TEST

START_TEST(test_invalid_input)
{
    const int yt[] = {0, 1, 2, 1}, yp[] = {0, 2, 2, 1}, bad[] = {0, 1, 3, 1}, neg[] = {0, -1, 2, 1};
    ck_assert(isnan(metrics_accuracy(yt, bad, 4, 3)));
    ck_assert(isnan(metrics_accuracy(neg, yp, 4, 3)));
    ck_assert(isnan(metrics_accuracy(yt, yp, 0, 3)));
    ck_assert(isnan(metrics_balanced_accuracy(yt, bad, 4, 3)));
    ck_assert(isnan(metrics_precision(bad, yp, 4, 3, METRICS_MACRO)));
    ck_assert(isnan(metrics_recall(yt, neg, 4, 3, METRICS_WEIGHTED)));
    ck_assert(isnan(metrics_f1(yt, yp, 0, 3, METRICS_MACRO)));
    ck_assert(isnan(metrics_f1(yt, yp, 4, 0, METRICS_MACRO)));

    size_t cm[9] = {0};
    ck_assert_int_eq(metrics_confusion_matrix(yt, bad, 4, 3, cm), -EINVAL);
    ck_assert_int_eq(metrics_confusion_matrix(yt, yp, 4, 0, cm), -EINVAL);
    /* An all-zero matrix scores nothing. */
    memset(cm, 0, sizeof cm);
    ck_assert(isnan(metrics_accuracy_cm(cm, 3)));
    ck_assert(isnan(metrics_f1_cm(cm, 3, METRICS_MACRO)));
    ck_assert(isnan(metrics_f1_cm(NULL, 3, METRICS_MACRO)));

    const double proba[] = {0.5, 0.5, 0.2, 0.8, 1, 0, 0, 1}; /* 4 x 2 */
    const int yb[] = {0, 1, 0, 1}, yb_bad[] = {0, 2, 0, 1};
    ck_assert(isfinite(metrics_log_loss(yb, proba, 4, 2)));
    ck_assert(isnan(metrics_log_loss(yb_bad, proba, 4, 2)));
    ck_assert(isnan(metrics_log_loss(yb, proba, 4, 1)));
    ck_assert(isnan(metrics_log_loss(yb, proba, 0, 2)));

    const double score[] = {0.1, 0.9, 0.3, 0.7}, nan_score[] = {0.1, NAN, 0.3, 0.7};
    ck_assert(metrics_roc_auc(yb, score, 4) == 1.0);
    ck_assert(isnan(metrics_roc_auc(yb_bad, score, 4)));
    ck_assert(isnan(metrics_roc_auc(yb, nan_score, 4)));
    ck_assert(isnan(metrics_roc_auc(yb, score, 0)));

    const double y[] = {1, 2, 3};
    ck_assert(isnan(metrics_r2(y, y, 0)));
    ck_assert(isnan(metrics_rmse(y, y, 0)));
    ck_assert(isnan(metrics_mae(NULL, y, 3)));
}
END_TEST

/* Counting batch by batch (as cnn does) gives the whole set's matrix, and
 * a bad batch changes nothing. */
START_TEST(test_confusion_in_batches)
{
    enum { N = 10, K = 3 };
    const int yt[N] = {0, 1, 2, 2, 1, 0, 0, 1, 2, 1}, yp[N] = {0, 2, 2, 1, 1, 0, 1, 1, 2, 0};
    const int bad[2] = {1, 7};
    size_t whole[K * K], batched[K * K] = {0}; /* K x K */
    ck_assert_int_eq(metrics_confusion_matrix(yt, yp, N, K, whole), 0);
    for (size_t b = 0; b < N; b += 4)
        ck_assert_int_eq(metrics_confusion_add(yt + b, yp + b, N - b < 4 ? N - b : 4, K, batched),
                         0);
    ck_assert_mem_eq(whole, batched, sizeof whole);
    ck_assert_int_eq(metrics_confusion_add(yt, bad, 2, K, batched), -EINVAL);
    ck_assert_mem_eq(whole, batched, sizeof whole);
    ck_assert_int_eq(metrics_confusion_add(yt, yp, 0, K, batched), 0);
    ck_assert_mem_eq(whole, batched, sizeof whole);
}
END_TEST

static const mlb_metric *find_metric(const mlb_ctx *ctx, const char *name)
{
    for (size_t i = 0; i < ctx->n_metrics; i++)
        if (!strcmp(ctx->metrics[i].name, name))
            return &ctx->metrics[i];
    return NULL;
}

static void assert_metric(const mlb_ctx *ctx, const char *name, double value, int dir)
{
    const mlb_metric *m = find_metric(ctx, name);
    ck_assert_msg(m != NULL, "metric %s not reported", name);
    ck_assert_msg(m->value == value, "metric %s: %.17g, expected %.17g", name, m->value, value);
    ck_assert_int_eq(m->dir, dir);
}

static const mlb_plugin dummy = {MLB_PLUGIN_HEADER, .task = "metrics", .variant = "test"};

/* The names and directions the plugins publish: cnn's results, tests and
 * PyTorch peer use accuracy and macro_f1. */
START_TEST(test_reports)
{
    const int yt[] = {0, 1, 2, 2, 1, 0, 3}, yp[] = {0, 2, 2, 1, 1, 0, 0};
    const size_t n = 7;
    const int k = 5; /* class 4 absent from both */
    mlb_ctx ctx;
    ck_assert_int_eq(mlb_ctx_init(&ctx, &dummy, 1), 0);
    ck_assert_int_eq(metrics_report_classification(&ctx, yt, yp, n, k), 0);
    ck_assert_uint_eq(ctx.n_metrics, 5);
    assert_metric(&ctx, "accuracy", metrics_accuracy(yt, yp, n, k), MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "balanced_accuracy", metrics_balanced_accuracy(yt, yp, n, k),
                  MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "macro_f1", metrics_f1(yt, yp, n, k, METRICS_MACRO), MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "macro_precision", metrics_precision(yt, yp, n, k, METRICS_MACRO),
                  MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "macro_recall", metrics_recall(yt, yp, n, k, METRICS_MACRO),
                  MLB_HIGHER_IS_BETTER);
    mlb_ctx_free(&ctx);

    size_t cm[25]; /* k x k */
    ck_assert_int_eq(metrics_confusion_matrix(yt, yp, n, k, cm), 0);
    ck_assert_int_eq(mlb_ctx_init(&ctx, &dummy, 1), 0);
    metrics_report_confusion(&ctx, cm, k);
    ck_assert_uint_eq(ctx.n_metrics, 5);
    assert_metric(&ctx, "accuracy", metrics_accuracy(yt, yp, n, k), MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "macro_f1", metrics_f1(yt, yp, n, k, METRICS_MACRO), MLB_HIGHER_IS_BETTER);
    mlb_ctx_free(&ctx);

    /* Invalid labels: an error and nothing half-reported. */
    const int bad[] = {0, 1, 2, 2, 1, 0, 9};
    ck_assert_int_eq(mlb_ctx_init(&ctx, &dummy, 1), 0);
    ck_assert_int_eq(metrics_report_classification(&ctx, yt, bad, n, k), -EINVAL);
    ck_assert_int_eq(metrics_report_classification(&ctx, yt, yp, 0, k), -EINVAL);
    ck_assert_uint_eq(ctx.n_metrics, 0);

    const double y[] = {1, 2, 3, 4}, p[] = {1.5, 2, 2.5, 4.5};
    metrics_report_regression(&ctx, y, p, 4);
    ck_assert_uint_eq(ctx.n_metrics, 3);
    assert_metric(&ctx, "r2", metrics_r2(y, p, 4), MLB_HIGHER_IS_BETTER);
    assert_metric(&ctx, "rmse", metrics_rmse(y, p, 4), MLB_LOWER_IS_BETTER);
    assert_metric(&ctx, "mae", 0.375, MLB_LOWER_IS_BETTER);
    mlb_ctx_free(&ctx);
}
END_TEST

static cJSON *load_refs(void)
{
    const char *path = METRICS_REF_DIR "/refs.json";
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", path);
        return NULL;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)len + 1);
    if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "cannot read %s\n", path);
        free(buf);
        fclose(f);
        return NULL;
    }
    fclose(f);
    buf[len] = 0;
    cJSON *doc = cJSON_Parse(buf);
    free(buf);
    if (!doc)
        fprintf(stderr, "%s: not valid JSON\n", path);
    return doc;
}

static int count(const char *name)
{
    return cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(refs, name));
}

int main(void)
{
    refs = load_refs();
    if (!refs)
        return EXIT_FAILURE;
    /* A section gone missing must fail, not run zero cases. */
    if (count("classification") < 1 || count("roc") < 1 || count("regression") < 1) {
        fprintf(stderr, "refs.json: a section is missing or empty\n");
        cJSON_Delete(refs);
        return EXIT_FAILURE;
    }
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("sklearn");
    tcase_set_timeout(tc, 30);
    tcase_add_loop_test(tc, test_classification_matches_sklearn, 0, count("classification"));
    tcase_add_loop_test(tc, test_roc_auc_matches_sklearn, 0, count("roc"));
    tcase_add_loop_test(tc, test_regression_matches_sklearn, 0, count("regression"));
    tcase_add_test(tc, test_invalid_input);
    tcase_add_test(tc, test_confusion_in_batches);
    tcase_add_test(tc, test_reports);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cJSON_Delete(refs);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
