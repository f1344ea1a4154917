/* Unit tests for the statistics module. Every reference value comes from R
 * (tests/ref/stats/make_refs.R, rerun with `Rscript
 * tests/ref/stats/make_refs.R` from the repository root): statistics must
 * match to 1e-6 relative, p-values to 1e-4 relative. Bootstrap intervals
 * have no R counterpart (another RNG); they are checked for reproducibility
 * and for the bounds that hold whatever the draw. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stats.h"

#ifndef STATS_REF_DIR
#error "STATS_REF_DIR must point at tests/ref/stats"
#endif

#define TOL_STAT 1e-6
#define TOL_P 1e-4

/* ------------------------------------------------------------- file input */

static double *read_numbers(const char *name, size_t *n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", STATS_REF_DIR, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    size_t cap = 16, k = 0;
    double *v = malloc(cap * sizeof *v), x;
    ck_assert_ptr_nonnull(v);
    while (fscanf(f, "%lf", &x) == 1) {
        if (k == cap) {
            cap *= 2;
            v = realloc(v, cap * sizeof *v);
            ck_assert_ptr_nonnull(v);
        }
        v[k++] = x;
    }
    fclose(f);
    *n = k;
    return v;
}

typedef struct {
    char key[64];
    char val[4096];
} ref_line;

typedef struct {
    ref_line *l;
    size_t n;
} ref_file;

static ref_file read_ref(const char *name)
{
    char path[1024], buf[8192];
    snprintf(path, sizeof path, "%s/%s", STATS_REF_DIR, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "cannot open %s", path);
    ref_file r = {calloc(64, sizeof(ref_line)), 0};
    ck_assert_ptr_nonnull(r.l);
    while (fgets(buf, sizeof buf, f)) {
        buf[strcspn(buf, "\n")] = '\0';
        char *sp = strchr(buf, ' ');
        ck_assert_msg(sp != NULL && r.n < 64, "bad line in %s: %s", path, buf);
        *sp = '\0';
        ck_assert_msg(strlen(buf) < sizeof r.l[r.n].key && strlen(sp + 1) < sizeof r.l[r.n].val,
                      "line too long in %s", path);
        memcpy(r.l[r.n].key, buf, strlen(buf) + 1);
        memcpy(r.l[r.n].val, sp + 1, strlen(sp + 1) + 1);
        r.n++;
    }
    fclose(f);
    return r;
}

static const char *ref_get(const ref_file *r, const char *key)
{
    for (size_t i = 0; i < r->n; i++)
        if (strcmp(r->l[i].key, key) == 0)
            return r->l[i].val;
    ck_abort_msg("reference has no key %s", key);
    return NULL;
}

/* ------------------------------------------------------------ assertions */

static void assert_close(const char *what, double got, double want, double tol)
{
    if (want == 0.0)
        ck_assert_msg(fabs(got) <= 1e-12, "%s: got %.17g, want 0", what, got);
    else
        ck_assert_msg(fabs(got - want) <= tol * fabs(want), "%s: got %.17g, want %.17g (rel %.3g)",
                      what, got, want, fabs(got - want) / fabs(want));
}

static int is_p_key(const char *k)
{
    size_t n = strlen(k);
    return n >= 2 && strcmp(k + n - 2, "_p") == 0;
}

/* One reference value against the JSON the module emits: "null" must be
 * JSON null, numbers within tolerance, anything else an equal string. */
static void assert_json_field(const char *cas, const cJSON *obj, const char *key, const char *want)
{
    char what[256];
    snprintf(what, sizeof what, "%s: %s", cas, key);
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, key);
    ck_assert_msg(it != NULL, "%s: missing from JSON", what);
    if (strcmp(want, "null") == 0) {
        ck_assert_msg(cJSON_IsNull(it), "%s: want null", what);
        return;
    }
    char *end;
    double w = strtod(want, &end);
    if (*end == '\0') {
        ck_assert_msg(cJSON_IsNumber(it), "%s: want a number, got %s", what,
                      cJSON_IsNull(it) ? "null" : "another type");
        assert_close(what, it->valuedouble, w, is_p_key(key) ? TOL_P : TOL_STAT);
    } else {
        ck_assert_msg(cJSON_IsString(it), "%s: want a string", what);
        ck_assert_msg(strcmp(it->valuestring, want) == 0, "%s: got %s, want %s", what,
                      it->valuestring, want);
    }
}

/* -------------------------------------------------- reference comparisons */

static const char *const cases[] = {
    "n3",    "n4",        "n5",      "n2",        "ties",  "identical", "constant", "constant_both",
    "close", "far",       "far_exact", "unequal", "lognormal", "n5000", "big",      "tiny",
};
#define N_CASES (sizeof cases / sizeof cases[0])

static void load_case(const char *cas, double **a, size_t *na, double **b, size_t *nb)
{
    char name[256];
    snprintf(name, sizeof name, "%s_a.txt", cas);
    *a = read_numbers(name, na);
    snprintf(name, sizeof name, "%s_b.txt", cas);
    *b = read_numbers(name, nb);
}

START_TEST(test_reference_case)
{
    const char *cas = cases[_i];
    double *a, *b;
    size_t na, nb;
    load_case(cas, &a, &na, &b, &nb);
    char name[256];
    snprintf(name, sizeof name, "%s.ref", cas);
    ref_file ref = read_ref(name);

    double *a0 = malloc(na * sizeof *a0);
    ck_assert_ptr_nonnull(a0);
    memcpy(a0, a, na * sizeof *a0);
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 7, &c), 0);
    ck_assert_msg(memcmp(a, a0, na * sizeof *a0) == 0, "%s: input modified", cas);

    cJSON *j = mlb_comparison_to_json(&c);
    ck_assert_ptr_nonnull(j);
    for (size_t i = 0; i < ref.n; i++) {
        const char *k = ref.l[i].key;
        const cJSON *obj = j;
        if (strncmp(k, "a.", 2) == 0 || strncmp(k, "b.", 2) == 0) {
            obj = cJSON_GetObjectItemCaseSensitive(j, k[0] == 'a' ? "a" : "b");
            k += 2;
        }
        assert_json_field(cas, obj, k, ref.l[i].val);
    }

    /* A test that is null says why; one that is computed has no reason. */
    const mlb_summary *s[2] = {&c.a, &c.b};
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(isnan(s[i]->shapiro_p) == (s[i]->shapiro_why != NULL), "%s: shapiro_why", cas);
        ck_assert_msg(isnan(s[i]->ad_p) == (s[i]->ad_why != NULL), "%s: ad_why", cas);
        /* Bootstrap CI of the median: medians of resamples stay in range. */
        ck_assert(s[i]->median_ci95_low <= s[i]->median_ci95_high);
        ck_assert(s[i]->median_ci95_low >= s[i]->min && s[i]->median_ci95_high <= s[i]->max);
    }
    ck_assert(isnan(c.welch_p) == (c.welch_why != NULL));
    ck_assert(isnan(c.mwu_p) == (c.mwu_why != NULL));
    if (isfinite(c.median_ratio))
        ck_assert(c.ratio_ci95_low <= c.ratio_ci95_high);
    /* The chosen p is that of the named test. */
    ck_assert(c.chosen_p == (c.chosen == MLB_TEST_WELCH ? c.welch_p : c.mwu_p));
    ck_assert_int_eq(c.significant, c.chosen_p < MLB_STATS_ALPHA);

    cJSON_Delete(j);
    free(ref.l);
    free(a0);
    free(a);
    free(b);
}
END_TEST

static const char *const padj_cases[] = {"mixed", "random", "one", "ones"};

START_TEST(test_reference_p_adjust)
{
    const char *cas = padj_cases[_i];
    char name[256];
    snprintf(name, sizeof name, "padj_%s_p.txt", cas);
    size_t n;
    double *p = read_numbers(name, &n);
    snprintf(name, sizeof name, "padj_%s.ref", cas);
    ref_file ref = read_ref(name);
    double *out[3];
    for (int k = 0; k < 3; k++) {
        out[k] = malloc(n * sizeof(double));
        ck_assert_ptr_nonnull(out[k]);
    }
    ck_assert_int_eq(mlb_p_adjust(p, n, out[0], out[1], out[2]), 0);
    static const char *const keys[3] = {"bonferroni", "holm", "bh"};
    for (int k = 0; k < 3; k++) {
        const char *v = ref_get(&ref, keys[k]);
        for (size_t i = 0; i < n; i++) {
            char *end, what[128];
            double w = strtod(v, &end);
            ck_assert_msg(end != v, "%s %s: too few reference values", cas, keys[k]);
            v = end;
            snprintf(what, sizeof what, "%s %s[%zu]", cas, keys[k], i);
            assert_close(what, out[k][i], w, TOL_P);
        }
    }
    for (int k = 0; k < 3; k++)
        free(out[k]);
    free(ref.l);
    free(p);
}
END_TEST

/* ----------------------------------------------------- defined behaviour */

START_TEST(test_bad_input)
{
    double x[3] = {1.0, NAN, 2.0}, y[2] = {1.0, 2.0};
    mlb_summary s;
    mlb_comparison c;
    ck_assert_int_eq(mlb_summary_compute(x, 3, 1, &s), -EINVAL);
    x[1] = INFINITY;
    ck_assert_int_eq(mlb_summary_compute(x, 3, 1, &s), -EINVAL);
    ck_assert_int_eq(mlb_summary_compute(y, 0, 1, &s), -EINVAL);
    ck_assert_int_eq(mlb_compare_samples(x, 3, y, 2, 1, &c), -EINVAL);
    ck_assert_int_eq(mlb_compare_samples(y, 2, y, 0, 1, &c), -EINVAL);
    double p[3] = {0.1, 1.5, 0.2}, o[3];
    ck_assert_int_eq(mlb_p_adjust(p, 3, o, o, o), -EINVAL);
    p[1] = NAN;
    ck_assert_int_eq(mlb_p_adjust(p, 3, o, NULL, NULL), -EINVAL);
    ck_assert_int_eq(mlb_comparisons_adjust(&c, 0, "sidak"), -EINVAL);
}
END_TEST

START_TEST(test_single_value)
{
    double x[1] = {4.25};
    mlb_summary s;
    ck_assert_int_eq(mlb_summary_compute(x, 1, 1, &s), 0);
    ck_assert_uint_eq(s.n, 1);
    ck_assert(s.mean == 4.25 && s.median == 4.25 && s.min == 4.25 && s.max == 4.25);
    ck_assert(isnan(s.sd) && isnan(s.cv) && isnan(s.ci95_low) && isnan(s.ci95_high));
    ck_assert(s.iqr == 0.0 && s.mad == 0.0 && s.n_outliers == 0);
    ck_assert_ptr_nonnull(s.shapiro_why);
    ck_assert_ptr_nonnull(s.ad_why);
    cJSON *j = mlb_summary_to_json(&s);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "sd")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "shapiro_w")));
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "shapiro_why")));
    cJSON_Delete(j);
}
END_TEST

/* A constant sample is detected by min == max, and its mean is the value
 * itself even where summing would round (0.1 * 7 / 7 != 0.1). */
START_TEST(test_constant_sample)
{
    double x[7];
    for (int i = 0; i < 7; i++)
        x[i] = 0.1;
    mlb_summary s;
    ck_assert_int_eq(mlb_summary_compute(x, 7, 1, &s), 0);
    ck_assert(s.constant);
    ck_assert(s.mean == 0.1 && s.sd == 0.0 && s.ci95_low == 0.1 && s.ci95_high == 0.1);
    ck_assert(s.median_ci95_low == 0.1 && s.median_ci95_high == 0.1);
    ck_assert(isnan(s.shapiro_w) && isnan(s.shapiro_p) && isnan(s.ad_p));
    ck_assert_str_eq(s.shapiro_why, "all values are identical");
}
END_TEST

START_TEST(test_identical_constants)
{
    double x[5] = {3, 3, 3, 3, 3};
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(x, 5, x, 5, 1, &c), 0);
    ck_assert_int_eq(c.chosen, MLB_TEST_NONE);
    ck_assert(isnan(c.welch_p) && isnan(c.mwu_p) && isnan(c.cohens_d) && isnan(c.chosen_p));
    ck_assert_ptr_nonnull(c.welch_why);
    ck_assert_ptr_nonnull(c.mwu_why);
    ck_assert_int_eq(c.significant, 0);
    ck_assert(c.median_ratio == 1.0 && c.cliffs_delta == 0.0);
    cJSON *j = mlb_comparison_to_json(&c);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "chosen_test")->valuestring, "none");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "mwu_method")));
    cJSON_Delete(j);
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_msg(strncmp(v, "no difference between x and y in train: ", 40) == 0, "%s", v);
}
END_TEST

START_TEST(test_bootstrap_reproducible)
{
    double *a, *b;
    size_t na, nb;
    load_case("lognormal", &a, &na, &b, &nb);
    mlb_comparison c1, c2, c3;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 123, &c1), 0);
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 123, &c2), 0);
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 124, &c3), 0);
    ck_assert(c1.a.median_ci95_low == c2.a.median_ci95_low);
    ck_assert(c1.a.median_ci95_high == c2.a.median_ci95_high);
    ck_assert(c1.ratio_ci95_low == c2.ratio_ci95_low && c1.ratio_ci95_high == c2.ratio_ci95_high);
    ck_assert(c1.ratio_ci95_low != c3.ratio_ci95_low || c1.ratio_ci95_high != c3.ratio_ci95_high);
    /* The interval brackets the observed ratio for these clearly skewed,
     * well-separated samples. */
    ck_assert(c1.ratio_ci95_low < c1.median_ratio && c1.median_ratio < c1.ratio_ci95_high);
    free(a);
    free(b);
}
END_TEST

/* Outliers are flagged through the fences, never removed: n and the mean
 * still include them. */
START_TEST(test_outliers_flagged)
{
    double x[8] = {1.0, 1.1, 0.9, 1.05, 0.95, 1.0, 1.02, 9.0};
    mlb_summary s;
    ck_assert_int_eq(mlb_summary_compute(x, 8, 1, &s), 0);
    ck_assert_uint_eq(s.n, 8);
    ck_assert_uint_eq(s.n_outliers, 1);
    ck_assert(mlb_summary_is_outlier(&s, 9.0));
    ck_assert(!mlb_summary_is_outlier(&s, 1.1));
    ck_assert(s.max == 9.0 && s.mean > 1.5);
}
END_TEST

/* ------------------------------------------------------------- verdicts */

static mlb_comparison case_cmp(const char *cas)
{
    double *a, *b;
    size_t na, nb;
    load_case(cas, &a, &na, &b, &nb);
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 1, &c), 0);
    free(a);
    free(b);
    return c;
}

START_TEST(test_verdict_time)
{
    /* far_exact: a around 1, b around 11, fully separated, 40 vs 45. */
    mlb_comparison c = case_cmp("far_exact");
    ref_file ref = read_ref("far_exact.ref");
    char want[512], v[512];
    snprintf(want, sizeof want,
             "A is %.0f× faster than B in train (Mann-Whitney p < 0.001; Cliff's δ = 1.00, large)",
             1.0 / strtod(ref_get(&ref, "median_ratio"), NULL));
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_msg(strncmp(v, want, strlen(want)) == 0, "%s", v);
    /* a is lognormal with sdlog 0.2: its coefficient of variation (R's,
     * from the reference) is above the 10% that flags a noisy sample. */
    char warn[256];
    snprintf(warn, sizeof warn, ". Warning: A is noisy: coefficient of variation %.0f%% (above 10%%)",
             100.0 * strtod(ref_get(&ref, "a.cv"), NULL));
    ck_assert_msg(strcmp(v + strlen(want), warn) == 0, "%s", v);
    /* Higher is better: now sample b wins, and the winner is named first. */
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "throughput", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "B has higher throughput than A (median ") == v, "%s", v);
    mlb_comparison_set_adjusted(&c, 0.2, "holm");
    ck_assert_int_eq(c.significant, 0);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_msg(strstr(v, "no significant difference between A and B in train (median ") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, "Mann-Whitney p = 0.200, adjusted; Cliff's δ = 1.00, large)") != NULL,
                  "%s", v);
    free(ref.l);
}
END_TEST

START_TEST(test_verdict_metric_and_warnings)
{
    /* n3: three values each, Welch chosen (both pass Shapiro-Wilk), but the
     * exact Mann-Whitney cannot go below 0.1 at 3 vs 3. The means 1.03 and
     * 1.32 and Welch's p 0.0078 are R's, from n3.ref. */
    mlb_comparison c = case_cmp("n3");
    char v[1024];
    ck_assert_int_eq(c.chosen, MLB_TEST_WELCH);
    ck_assert(c.few_reps);
    assert_close("min p 3 vs 3", c.mwu_min_p, 0.1, 1e-12);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "accuracy", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "y has higher accuracy than x (mean 1.32 vs 1.03; Welch p = 0.008; "
                            "Cliff's δ = 1.00, large). Warning: too few repetitions (3 vs 3): "
                            "Mann-Whitney cannot go below p = 0.1") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, "(use at least 4 per variant)") != NULL, "%s", v);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "rmse", MLB_BETTER_LOWER, &c), 0);
    ck_assert_msg(strstr(v, "x has lower rmse than y (mean 1.03 vs 1.32;") == v, "%s", v);
    /* A short buffer is reported, and still terminated. */
    ck_assert_int_eq(mlb_verdict(v, 20, "x", "y", "rmse", MLB_BETTER_LOWER, &c), -ENOSPC);
    ck_assert_uint_eq(strlen(v), 19);

    /* lognormal timing-like data: sd 0.6 on the log scale is noisy. */
    mlb_comparison l = case_cmp("lognormal");
    ck_assert(l.a.high_cv && l.b.high_cv && !l.few_reps);
    char w[512];
    ck_assert_int_eq(mlb_comparison_warnings(w, sizeof w, "p", "q", &l), 0);
    ck_assert_msg(strncmp(w, "p is noisy: coefficient of variation ", 37) == 0, "%s", w);
    ck_assert_msg(strstr(w, "; q is noisy: ") != NULL, "%s", w);
    cJSON *j = mlb_comparison_to_json(&l);
    ck_assert_int_eq(cJSON_GetArraySize(cJSON_GetObjectItem(j, "warnings")), 2);
    cJSON_Delete(j);
}
END_TEST

START_TEST(test_comparisons_adjust)
{
    mlb_comparison cs[3] = {case_cmp("far"), case_cmp("close"), case_cmp("n4")};
    double p[3] = {cs[0].chosen_p, cs[1].chosen_p, cs[2].chosen_p}, holm[3];
    ck_assert_int_eq(mlb_p_adjust(p, 3, NULL, holm, NULL), 0);
    ck_assert_int_eq(mlb_comparisons_adjust(cs, 3, "holm"), 0);
    for (int i = 0; i < 3; i++) {
        ck_assert(cs[i].p_adjusted == holm[i]);
        ck_assert_str_eq(cs[i].adjust_method, "holm");
        ck_assert_int_eq(cs[i].significant, holm[i] < MLB_STATS_ALPHA);
    }
}
END_TEST

/* --------------------------------------------------------------- the CLI */

/* Run mlb_cmd_stats with stdout and stderr captured into files. */
static int run_cli(int argc, char **argv, char **out, char **err)
{
    char po[] = "/tmp/mlb_stats_outXXXXXX", pe[] = "/tmp/mlb_stats_errXXXXXX";
    int fo = mkstemp(po), fe = mkstemp(pe);
    ck_assert(fo >= 0 && fe >= 0);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    dup2(fo, 1);
    dup2(fe, 2);
    int rc = mlb_cmd_stats(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    char *bufs[2];
    int fds[2] = {fo, fe};
    for (int k = 0; k < 2; k++) {
        off_t len = lseek(fds[k], 0, SEEK_END);
        lseek(fds[k], 0, SEEK_SET);
        bufs[k] = calloc((size_t)len + 1, 1);
        ck_assert(read(fds[k], bufs[k], (size_t)len) == len);
        close(fds[k]);
    }
    unlink(po);
    unlink(pe);
    *out = bufs[0];
    *err = bufs[1];
    return rc;
}

static void ref_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", STATS_REF_DIR, name);
}

START_TEST(test_cli_two_samples)
{
    char pa[1024], pb[1024], *out, *err;
    ref_path(pa, sizeof pa, "ties_a.txt");
    ref_path(pb, sizeof pb, "ties_b.txt");
    char *argv[] = {"stats", pa, pb, "--json", NULL};
    ck_assert_int_eq(run_cli(4, argv, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    ref_file ref = read_ref("ties.ref");
    static const char *const keys[] = {"welch_t", "welch_df", "welch_p", "mwu_u", "mwu_p",
                                       "mwu_method", "cohens_d", "cliffs_delta", "cliffs_label",
                                       "chosen_test"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        assert_json_field("cli ties", j, keys[i], ref_get(&ref, keys[i]));
    static const char *const skeys[] = {"n", "mean", "median", "sd", "ci95_low", "ci95_high",
                                        "shapiro_w", "shapiro_p", "ad_stat", "ad_stat_adj", "ad_p"};
    for (int s = 0; s < 2; s++)
        for (size_t i = 0; i < sizeof skeys / sizeof skeys[0]; i++) {
            char k[64];
            snprintf(k, sizeof k, "%c.%s", "ab"[s], skeys[i]);
            assert_json_field("cli ties", cJSON_GetObjectItem(j, s ? "b" : "a"), skeys[i],
                              ref_get(&ref, k));
        }
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "verdict")));
    ck_assert(cJSON_IsArray(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "a"), "outliers")));
    cJSON_Delete(j);
    free(ref.l);
    free(out);
    free(err);

    /* Readable report, and a one-file summary. */
    char *argv2[] = {"stats", pa, pb, NULL};
    ck_assert_int_eq(run_cli(3, argv2, &out, &err), 0);
    ck_assert_msg(strstr(out, "Mann-Whitney U") && strstr(out, "chosen test"), "%s", out);
    free(out);
    free(err);
    char *argv3[] = {"stats", pa, "--json", NULL};
    ck_assert_int_eq(run_cli(3, argv3, &out, &err), 0);
    j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    ck_assert_int_eq(cJSON_GetObjectItem(j, "n")->valueint, 12);
    ck_assert_ptr_null(cJSON_GetObjectItem(j, "welch_t"));
    cJSON_Delete(j);
    free(out);
    free(err);
}
END_TEST

START_TEST(test_cli_adjust)
{
    char pp[1024], *out, *err;
    ref_path(pp, sizeof pp, "padj_mixed_p.txt");
    char *argv[] = {"stats", "--adjust", pp, "--json", NULL};
    ck_assert_int_eq(run_cli(4, argv, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    ref_file ref = read_ref("padj_mixed.ref");
    static const char *const keys[3] = {"bonferroni", "holm", "bh"};
    for (int k = 0; k < 3; k++) {
        const cJSON *arr = cJSON_GetObjectItem(j, keys[k]);
        ck_assert_int_eq(cJSON_GetArraySize(arr), 10);
        const char *v = ref_get(&ref, keys[k]);
        for (int i = 0; i < 10; i++) {
            char *end;
            double w = strtod(v, &end);
            v = end;
            assert_close(keys[k], cJSON_GetArrayItem(arr, i)->valuedouble, w, TOL_P);
        }
    }
    cJSON_Delete(j);
    free(ref.l);
    free(out);
    free(err);
}
END_TEST

static char *write_tmp(const char *text, char *path, size_t len)
{
    snprintf(path, len, "/tmp/mlb_stats_inXXXXXX");
    int fd = mkstemp(path);
    ck_assert(fd >= 0);
    ck_assert(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    close(fd);
    return path;
}

START_TEST(test_cli_errors)
{
    char p1[64], p2[64], want[128], *out, *err;
    write_tmp("1.0\n2.0\n\n3.5x\n", p1, sizeof p1);
    write_tmp("# times\n1.0\nnan\n", p2, sizeof p2);
    char *argv[] = {"stats", p1, NULL};
    ck_assert_int_eq(run_cli(2, argv, &out, &err), 2);
    snprintf(want, sizeof want, "%s:4: not a number: '3.5x'", p1);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(out);
    free(err);
    char *argv2[] = {"stats", p2, "--json", NULL};
    ck_assert_int_eq(run_cli(3, argv2, &out, &err), 2);
    snprintf(want, sizeof want, "%s:3: value is not finite", p2);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(out);
    free(err);
    char *argv3[] = {"stats", "/nonexistent/x.txt", NULL};
    ck_assert_int_eq(run_cli(2, argv3, &out, &err), 2);
    ck_assert_msg(strstr(err, "/nonexistent/x.txt") != NULL, "%s", err);
    free(out);
    free(err);
    char *argv4[] = {"stats", "--bogus", NULL};
    ck_assert_int_eq(run_cli(2, argv4, &out, &err), 2);
    free(out);
    free(err);
    unlink(p1);
    write_tmp("0.5\n1.2\n", p1, sizeof p1);
    char *argv5[] = {"stats", "--adjust", p1, NULL};
    ck_assert_int_eq(run_cli(3, argv5, &out, &err), 2);
    snprintf(want, sizeof want, "%s:2: p-value outside [0, 1]", p1);
    ck_assert_msg(strstr(err, want) != NULL, "%s", err);
    free(out);
    free(err);
    unlink(p1);
    unlink(p2);
}
END_TEST

static Suite *stats_suite(void)
{
    Suite *s = suite_create("stats");
    TCase *ref = tcase_create("reference");
    tcase_set_timeout(ref, 60);
    tcase_add_loop_test(ref, test_reference_case, 0, (int)N_CASES);
    tcase_add_loop_test(ref, test_reference_p_adjust, 0,
                        (int)(sizeof padj_cases / sizeof padj_cases[0]));
    suite_add_tcase(s, ref);
    TCase *def = tcase_create("defined");
    tcase_add_test(def, test_bad_input);
    tcase_add_test(def, test_single_value);
    tcase_add_test(def, test_constant_sample);
    tcase_add_test(def, test_identical_constants);
    tcase_add_test(def, test_bootstrap_reproducible);
    tcase_add_test(def, test_outliers_flagged);
    suite_add_tcase(s, def);
    TCase *ver = tcase_create("verdict");
    tcase_add_test(ver, test_verdict_time);
    tcase_add_test(ver, test_verdict_metric_and_warnings);
    tcase_add_test(ver, test_comparisons_adjust);
    suite_add_tcase(s, ver);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 30);
    tcase_add_test(cli, test_cli_two_samples);
    tcase_add_test(cli, test_cli_adjust);
    tcase_add_test(cli, test_cli_errors);
    suite_add_tcase(s, cli);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stats_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
