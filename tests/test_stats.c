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
    char line[256];
    /* One number a line; '#' lines say where a sample came from. */
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%lf", &x) != 1)
            continue;
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
    /* The chosen p is that of the named test; no test, no p, and a reason. */
    if (c.chosen == MLB_TEST_NONE)
        ck_assert(isnan(c.chosen_p) && c.chosen_why != NULL);
    else
        ck_assert(c.chosen_p == (c.chosen == MLB_TEST_WELCH ? c.welch_p : c.mwu_p));
    /* The 90% CIs lie inside the 95% ones drawn from the same resamples. */
    ck_assert(c.diff_ci95_low <= c.diff_ci90_low && c.diff_ci90_low <= c.diff_ci90_high &&
              c.diff_ci90_high <= c.diff_ci95_high);
    if (isfinite(c.ratio_ci90_low))
        ck_assert(c.ratio_ci95_low <= c.ratio_ci90_low && c.ratio_ci90_high <= c.ratio_ci95_high);
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
    ck_assert_ptr_nonnull(c.chosen_why);
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_str_eq(v, "x and y are equivalent in train (3.00 s vs 3.00 s, both constant, "
                        "within ±2%)");
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
    ck_assert(c1.ratio_ci90_low == c2.ratio_ci90_low && c1.ratio_ci90_high == c2.ratio_ci90_high);
    ck_assert(c1.diff_ci90_low == c2.diff_ci90_low && c1.diff_ci95_high == c2.diff_ci95_high);
    ck_assert(c1.diff_ci90_low != c3.diff_ci90_low || c1.diff_ci90_high != c3.diff_ci90_high);
    ck_assert(c1.ratio_ci95_low != c3.ratio_ci95_low || c1.ratio_ci95_high != c3.ratio_ci95_high);
    /* The interval brackets the observed ratio for these clearly skewed,
     * well-separated samples. */
    ck_assert(c1.ratio_ci95_low < c1.median_ratio && c1.median_ratio < c1.ratio_ci95_high);
    free(a);
    free(b);
}
END_TEST

/* Issue 12: statistics of values near the ends of the double range are
 * defined. GSL's default handler is left on here, so any GSL error aborts
 * the test. Scale-free statistics equal those of the unscaled sample, and
 * location and scale statistics scale with it. */
static void assert_rel(const char *what, double got, double want, double tol)
{
    ck_assert_msg(isfinite(got), "%s: got %g", what, got);
    ck_assert_msg(fabs(got - want) <= tol * fabs(want), "%s: got %.17g, want %.17g", what, got,
                  want);
}

START_TEST(test_extreme_scale)
{
    double *a, *b;
    size_t na, nb;
    load_case("lognormal", &a, &na, &b, &nb);
    mlb_comparison ref, c;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 7, &ref), 0);
    static const double factors[] = {1e80, 1e150, 1e290, 1e-80, 1e-290};
    for (size_t f = 0; f < sizeof factors / sizeof factors[0]; f++) {
        double k = factors[f];
        double *as = malloc(na * sizeof *as), *bs = malloc(nb * sizeof *bs);
        for (size_t i = 0; i < na; i++)
            as[i] = a[i] * k;
        for (size_t i = 0; i < nb; i++)
            bs[i] = b[i] * k;
        ck_assert_int_eq(mlb_compare_samples(as, na, bs, nb, 7, &c), 0);
        ck_assert_ptr_null(c.welch_why);
        ck_assert_ptr_null(c.a.range_why);
        assert_rel("welch_t", c.welch_t, ref.welch_t, 1e-9);
        assert_rel("welch_df", c.welch_df, ref.welch_df, 1e-9);
        assert_rel("welch_p", c.welch_p, ref.welch_p, 1e-9);
        assert_rel("cohens_d", c.cohens_d, ref.cohens_d, 1e-9);
        assert_rel("mwu_p", c.mwu_p, ref.mwu_p, 0.0);
        assert_rel("shapiro_w", c.a.shapiro_w, ref.a.shapiro_w, 1e-9);
        assert_rel("ad_stat", c.a.ad_stat, ref.a.ad_stat, 1e-9);
        assert_rel("cv", c.a.cv, ref.a.cv, 1e-9);
        assert_rel("median_ratio", c.median_ratio, ref.median_ratio, 1e-12);
        assert_rel("sd", c.a.sd, ref.a.sd * k, 1e-9);
        assert_rel("mean", c.a.mean, ref.a.mean * k, 1e-9);
        assert_rel("ci95_high", c.a.ci95_high, ref.a.ci95_high * k, 1e-9);
        assert_rel("median_diff", c.median_diff, ref.median_diff * k, 1e-9);
        ck_assert(isfinite(c.ratio_ci95_low) && isfinite(c.diff_ci95_high));
        cJSON *j = mlb_comparison_to_json(&c);
        ck_assert_ptr_nonnull(j);
        cJSON_Delete(j);
        free(as);
        free(bs);
    }
    /* One sample diverged (1e80 times the other): Welch is defined (df of
     * the larger variance), where sd^4 overflowed before. */
    double big[3] = {1e80, 2e80, 3e80}, one[3] = {1, 2, 3};
    ck_assert_int_eq(mlb_compare_samples(big, 3, one, 3, 1, &c), 0);
    ck_assert_ptr_null(c.welch_why);
    assert_rel("welch_t", c.welch_t, sqrt(12.0), 1e-12);
    assert_rel("welch_df", c.welch_df, 2.0, 1e-12);
    free(a);
    free(b);
}
END_TEST

/* Subnormal values: 1, 2, 3 times 2^-1074 have sd 2^-1074, not 0 (the
 * squares of their deviations underflow unscaled), and every scale-free
 * statistic is that of 1, 2, 3. */
START_TEST(test_subnormal)
{
    double d[3] = {0x1p-1074, 0x2p-1074, 0x3p-1074}, d2[3] = {0x2p-1074, 0x4p-1074, 0x6p-1074};
    double o[3] = {1, 2, 3}, o2[3] = {2, 4, 6};
    mlb_comparison c, ref;
    ck_assert_int_eq(mlb_compare_samples(d, 3, d2, 3, 5, &c), 0);
    ck_assert_int_eq(mlb_compare_samples(o, 3, o2, 3, 5, &ref), 0);
    ck_assert(!c.a.constant);
    ck_assert(c.a.sd == 0x1p-1074 && c.a.mean == 0x2p-1074 && c.a.median == 0x2p-1074);
    ck_assert(c.a.shapiro_w == ref.a.shapiro_w && c.a.cv == ref.a.cv);
    ck_assert(c.welch_t == ref.welch_t && c.welch_p == ref.welch_p);
    ck_assert(c.median_ratio == 0.5 && c.ratio_ci95_low == ref.ratio_ci95_low);
}
END_TEST

/* Statistics a double cannot hold are null with a reason, and the rest is
 * still computed. */
START_TEST(test_beyond_range)
{
    double x[4] = {-1.7e308, 1.7e308, -1.7e308, 1.7e308}, y[4] = {1, 2, 3, 4};
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(x, 4, y, 4, 3, &c), 0);
    ck_assert(isnan(c.a.sd) && isnan(c.a.iqr));
    ck_assert(c.a.min == -1.7e308 && c.a.max == 1.7e308 && c.a.median == 0.0);
    ck_assert_ptr_nonnull(c.a.range_why);
    ck_assert_ptr_nonnull(c.welch_why);
    ck_assert(isnan(c.welch_p) && isfinite(c.mwu_p));
    ck_assert_int_eq(c.chosen, MLB_TEST_MWU);
    cJSON *j = mlb_comparison_to_json(&c);
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "a"), "range_why")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "a"), "sd")));
    cJSON_Delete(j);
    /* An even median that (a + b) / 2 overflows. */
    double h[4] = {1.6e308, 1.7e308, 1.6e308, 1.7e308};
    mlb_summary s;
    ck_assert_int_eq(mlb_summary_compute(h, 4, 1, &s), 0);
    assert_rel("median", s.median, 1.65e308, 1e-15);
    ck_assert(isfinite(s.median_ci95_low) && s.median_ci95_high <= 1.7e308);
}
END_TEST

/* Above MLB_STATS_BOOT_DIRECT_N values a resample's median is drawn from
 * its distribution instead of from a built resample (10^6 values in
 * seconds). The percentile CI must be the bootstrap's: for n evenly spaced
 * values on [0, 1] (density 1) the median's standard error is
 * 0.5 / sqrt(n), so the 95% CI is 0.5 -+ 1.96 * 0.5 / sqrt(n) to within
 * the noise of 2000 resamples and the grid's step. */
START_TEST(test_bootstrap_direct)
{
    static const size_t sizes[] = {MLB_STATS_BOOT_DIRECT_N + 1, 20001, 20000, 200000};
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t n = sizes[t];
        double *x = malloc(n * sizeof *x);
        for (size_t i = 0; i < n; i++) /* shuffled order: the summary sorts */
            x[i] = (double)((i * 7919) % n) / (double)(n - 1);
        mlb_summary s;
        ck_assert_int_eq(mlb_summary_compute(x, n, 11, &s), 0);
        double half = 1.96 * 0.5 / sqrt((double)n);
        ck_assert_msg(fabs((0.5 - s.median_ci95_low) / half - 1.0) < 0.15, "n %zu: low %.6g", n,
                      s.median_ci95_low);
        ck_assert_msg(fabs((s.median_ci95_high - 0.5) / half - 1.0) < 0.15, "n %zu: high %.6g",
                      n, s.median_ci95_high);
        /* the pair's ratio CI, from the same draws: median a / median b */
        mlb_comparison c;
        ck_assert_int_eq(mlb_compare_samples(x, n, x, n, 3, &c), 0);
        double rh = 2.0 * sqrt(2.0) * half; /* sd of a ratio of two independent medians */
        ck_assert_msg(fabs((c.ratio_ci95_high - 1.0) / rh - 1.0) < 0.15, "n %zu: ratio %.6g",
                      n, c.ratio_ci95_high);
        free(x);
    }
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
    char want[512], v[1024];
    snprintf(want, sizeof want, "A is %.1f× faster than B in train (median ",
             1.0 / strtod(ref_get(&ref, "median_ratio"), NULL));
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_msg(strncmp(v, want, strlen(want)) == 0, "%s", v);
    /* The CI is that of the median ratio, turned into a speed-up. */
    snprintf(want, sizeof want, "; 95%% CI %.1f–%.1f×; Mann-Whitney p < 0.001; Cliff's δ = 1.00, "
                                "large)",
             1.0 / c.ratio_ci95_high, 1.0 / c.ratio_ci95_low);
    ck_assert_msg(strstr(v, want) != NULL, "%s", v);
    ck_assert_msg(strstr(v, " ms vs ") && strstr(v, " s; 95% CI"), "times have units: %s", v);
    /* a is lognormal with sdlog 0.2: its coefficient of variation (R's,
     * from the reference) is above the 10% that flags a noisy sample. */
    char warn[256];
    snprintf(warn, sizeof warn, "). Warning: A is noisy: coefficient of variation %.0f%% (above 10%%)",
             100.0 * strtod(ref_get(&ref, "a.cv"), NULL));
    ck_assert_msg(strcmp(strstr(v, "). Warning"), warn) == 0, "%s", v);
    /* Higher is better: now sample b wins, and the winner is named first. */
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "throughput", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "B has higher throughput than A (median ") == v, "%s", v);
    /* Not significant once adjusted: the CI alone claims nothing. */
    mlb_comparison_set_adjusted(&c, 0.2, "holm");
    ck_assert_int_eq(c.significant, 0);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "A", "B", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_msg(strstr(v, "inconclusive: A vs B in train: the ratio's 90% CI ") == v, "%s", v);
    ck_assert_msg(strstr(v, " lies outside the ±2% margin, but the difference is not significant "
                            "(median "),
                  "%s", v);
    ck_assert_msg(strstr(v, "Mann-Whitney p = 0.200, adjusted; Cliff's δ = 1.00, large)") != NULL,
                  "%s", v);
    free(ref.l);
}
END_TEST

START_TEST(test_verdict_metric_and_warnings)
{
    /* n3: three values each, Welch chosen (both pass Shapiro-Wilk) and
     * significant (R's p 0.0078, n3.ref) although the exact Mann-Whitney
     * cannot go below 0.1 at 3 vs 3: a significant test is evidence, so the
     * verdict stands, with the warning. */
    mlb_comparison c = case_cmp("n3");
    char v[1024];
    ck_assert_int_eq(c.chosen, MLB_TEST_WELCH);
    ck_assert(c.few_reps);
    assert_close("min p 3 vs 3", c.mwu_min_p, 0.1, 1e-12);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "accuracy", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "y has higher accuracy than x (median 1.31 vs 1.02; difference 95% "
                            "CI ") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, "; Welch p = 0.008; Cliff's δ = 1.00, large). Warning: too few "
                            "repetitions (3 vs 3): Mann-Whitney cannot go below p = 0.1") != NULL,
                  "%s", v);
    ck_assert_msg(strstr(v, "(use at least 4 per variant)") != NULL, "%s", v);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "rmse", MLB_BETTER_LOWER, &c), 0);
    ck_assert_msg(strstr(v, "x has lower rmse than y (median 1.02 vs 1.31;") == v, "%s", v);
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

/* --------------------------------------------------- practical equivalence */

/* Seeded noise, the same on every platform: splitmix64 and Box-Muller. */
static uint64_t noise_state;

static double noise_uniform(void)
{
    uint64_t z = (noise_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0; /* (0, 1) */
}

/* n values centre * (1 + cv * N(0, 1)) */
static void noisy(double *x, size_t n, double centre, double cv, uint64_t seed)
{
    noise_state = seed;
    for (size_t i = 0; i < n; i++) {
        double u1 = noise_uniform(), u2 = noise_uniform();
        x[i] = centre * (1.0 + cv * sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
    }
}

static mlb_comparison margin_cmp(const double *a, size_t na, const double *b, size_t nb,
                                 int better)
{
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 42, &c), 0);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, better, mlb_margin_default(better)), 0);
    return c;
}

/* (a) The bug this exists for: deterministic R² of two variants that agree
 * to 15 digits (the values of a real regression:naive vs openblas run) got
 * "naive has higher r2 ... Mann-Whitney p = 0.003". */
START_TEST(test_equiv_constant_equal)
{
    double a[10], b[10];
    for (int i = 0; i < 10; i++) {
        a[i] = 0.45012430576699958;
        b[i] = 0.45012430576699902;
    }
    mlb_comparison c = margin_cmp(a, 10, b, 10, MLB_BETTER_HIGHER);
    ck_assert_int_eq(c.chosen, MLB_TEST_NONE);
    ck_assert(isnan(c.chosen_p) && !c.significant);
    ck_assert_str_eq(c.chosen_why,
                     "both samples are constant: compared by value against the margin");
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert(c.equivalent);
    ck_assert_str_eq(c.decided_by, "value");
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "r2", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_str_eq(v, "naive and openblas are equivalent in r2 (0.4501 vs 0.4501, within 1e-06 "
                        "relative)");
    /* With no margin set the verdict applies the default itself. */
    mlb_comparison raw;
    ck_assert_int_eq(mlb_compare_samples(a, 10, b, 10, 42, &raw), 0);
    char v2[512];
    ck_assert_int_eq(mlb_verdict(v2, sizeof v2, "naive", "openblas", "r2", MLB_BETTER_HIGHER, &raw),
                     0);
    ck_assert_str_eq(v2, v);
    ck_assert(!raw.has_margin);
    /* Near 0 the absolute floor decides. */
    for (int i = 0; i < 10; i++) {
        a[i] = 0.0;
        b[i] = 4e-13;
    }
    c = margin_cmp(a, 10, b, 10, MLB_BETTER_LOWER);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "p", "q", "loss", MLB_BETTER_LOWER, &c), 0);
    ck_assert_str_eq(v, "p and q are equivalent in loss (0 vs 4e-13, within 1e-12 absolute)");
    /* A plugin's own tolerance is honoured. */
    for (int i = 0; i < 10; i++) {
        a[i] = 0.91;
        b[i] = 0.9101;
    }
    ck_assert_int_eq(mlb_compare_samples(a, 10, b, 10, 42, &c), 0);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER, (mlb_margin){1e-3, 0}), 0);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER, (mlb_margin){1e-6, 0}), 0);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_WORSE);
}
END_TEST

/* (b) Constants that differ beyond the tolerance: better or worse by value
 * and direction, no rank test. */
START_TEST(test_equiv_constant_differ)
{
    double a[6], b[6];
    for (int i = 0; i < 6; i++) {
        a[i] = 0.4483;
        b[i] = 0.4391;
    }
    mlb_comparison c = margin_cmp(a, 6, b, 6, MLB_BETTER_HIGHER);
    ck_assert_int_eq(c.chosen, MLB_TEST_NONE);
    ck_assert(isfinite(c.mwu_p)); /* computed and reported, not used */
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_BETTER);
    ck_assert(!c.equivalent && !c.significant);
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "r2", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_str_eq(v, "x has higher r2 than y (0.4483 vs 0.4391, both constant: beyond 1e-06 "
                        "relative)");
    c = margin_cmp(a, 6, b, 6, MLB_BETTER_LOWER);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_WORSE);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "rmse", MLB_BETTER_LOWER, &c), 0);
    ck_assert_str_eq(v, "y has lower rmse than x (0.4391 vs 0.4483, both constant: beyond 1e-06 "
                        "relative)");
    /* Differing in the 6th digit, beyond 1e-6: the values are printed
     * with the digits that tell them apart. */
    for (int i = 0; i < 6; i++)
        b[i] = 0.448301;
    c = margin_cmp(a, 6, b, 6, MLB_BETTER_HIGHER);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_WORSE);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "x", "y", "r2", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "y has higher r2 than x (0.448301 vs 0.4483, ") == v, "%s", v);
    /* Times: the margin is on the ratio, and the verdict has units. */
    for (int i = 0; i < 6; i++) {
        a[i] = 1.0e-3;
        b[i] = 1.1e-3;
    }
    c = margin_cmp(a, 6, b, 6, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_BETTER);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "a", "b", "train", MLB_BETTER_LOWER_TIME, &c), 0);
    ck_assert_str_eq(v, "a is 1.10× faster than b in train (1.00 ms vs 1.10 ms, both constant: "
                        "outside the ±2% margin)");
    for (int i = 0; i < 6; i++)
        b[i] = 1.015e-3;
    c = margin_cmp(a, 6, b, 6, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    /* A single value each has unknown spread: not the constant rule. */
    c = margin_cmp(a, 1, b, 1, MLB_BETTER_LOWER_TIME);
    ck_assert_int_ne(c.chosen, MLB_TEST_NONE);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_INCONCLUSIVE);
    ck_assert_str_eq(c.inconclusive_why, "too few repetitions (1 per variant; at least 4 needed)");
}
END_TEST

/* (c) A clearly faster sample: better, and worse the other way round. */
START_TEST(test_equiv_clearly_faster)
{
    double a[10], b[10];
    noisy(a, 10, 1.0, 0.03, 1);
    noisy(b, 10, 2.4, 0.03, 2);
    mlb_comparison c = margin_cmp(a, 10, b, 10, MLB_BETTER_LOWER_TIME);
    ck_assert(c.significant);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_BETTER);
    ck_assert_str_eq(c.decided_by, "test");
    ck_assert(c.ratio_ci95_high < c.margin_low);
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "openblas", "naive", "train", MLB_BETTER_LOWER_TIME,
                                 &c),
                     0);
    ck_assert_msg(strstr(v, "openblas is 2.") == v && strstr(v, "× faster than naive in train "
                                                              "(median "),
                  "%s", v);
    ck_assert_msg(strstr(v, " s vs 2.") && strstr(v, "; 95% CI 2.") &&
                      strstr(v, "p < 0.001; Cliff's δ = 1.00, large)"),
                  "%s", v);
    mlb_comparison r = margin_cmp(b, 10, a, 10, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(r.verdict_kind, MLB_KIND_WORSE);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "train", MLB_BETTER_LOWER_TIME,
                                 &r),
                     0);
    ck_assert_msg(strstr(v, "openblas is 2.") == v, "%s", v);
}
END_TEST

/* (d) The same noisy values on both sides are never better or worse;
 * tight enough, they are equivalent. */
START_TEST(test_equiv_identical_noisy)
{
    static const double cvs[] = {0.002, 0.01, 0.05, 0.2};
    double a[20];
    char v[512];
    for (size_t k = 0; k < sizeof cvs / sizeof cvs[0]; k++)
        for (uint64_t seed = 1; seed <= 5; seed++)
            for (size_t n = 5; n <= 20; n += 5) {
                noisy(a, n, 1e-3, cvs[k], seed);
                mlb_comparison c = margin_cmp(a, n, a, n, MLB_BETTER_LOWER_TIME);
                ck_assert_msg(c.verdict_kind == MLB_KIND_EQUIVALENT ||
                                  c.verdict_kind == MLB_KIND_INCONCLUSIVE,
                              "cv %g n %zu seed %llu: %s", cvs[k], n, (unsigned long long)seed,
                              mlb_verdict_kind_name(c.verdict_kind));
                ck_assert(!c.significant);
            }
    noisy(a, 20, 1e-3, 0.002, 7);
    mlb_comparison c = margin_cmp(a, 20, a, 20, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert_str_eq(c.decided_by, "ci");
    ck_assert(c.margin_low <= c.ratio_ci90_low && c.ratio_ci90_high <= c.margin_high);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "train", MLB_BETTER_LOWER_TIME,
                                 &c),
                     0);
    ck_assert_msg(strstr(v, "naive and openblas are equivalent in train (median 1.00 ms vs 1.00 "
                            "ms; ratio 1.000, 90% CI 0.99") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, " within ±2%)") != NULL, "%s", v);
    /* The same for a metric with a tolerance wide enough for its noise. */
    noisy(a, 20, 0.9, 0.001, 8);
    ck_assert_int_eq(mlb_compare_samples(a, 20, a, 20, 42, &c), 0);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER, (mlb_margin){0.01, 0}), 0);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "p", "q", "accuracy", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_msg(strstr(v, "p and q are equivalent in accuracy (median 0.8997 vs 0.8997; ") == v &&
                      strstr(v, "; difference 90% CI ") && strstr(v, " within ±0.009)"),
                  "%s", v);
}
END_TEST

/* (e) Noisy samples 3% apart with 10% noise: the ratio CI reaches both
 * inside and outside the ±2% margin, so nothing can be said. */
START_TEST(test_equiv_straddles)
{
    double a[10], b[10];
    noisy(a, 10, 1.00e-3, 0.10, 11);
    noisy(b, 10, 1.03e-3, 0.10, 12);
    mlb_comparison c = margin_cmp(a, 10, b, 10, MLB_BETTER_LOWER_TIME);
    ck_assert(!c.significant && !c.few_reps);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_INCONCLUSIVE);
    ck_assert(c.ratio_ci90_low < c.margin_low && c.ratio_ci90_high > c.margin_low);
    ck_assert_msg(strstr(c.inconclusive_why, "the ratio's 90% CI ") == c.inconclusive_why &&
                      strstr(c.inconclusive_why, " straddles the ±2% margin"),
                  "%s", c.inconclusive_why);
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "infer", MLB_BETTER_LOWER_TIME,
                                 &c),
                     0);
    ck_assert_msg(strstr(v, "inconclusive: naive vs openblas in infer: the ratio's 90% CI 0.") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, " straddles the ±2% margin (median 1.01 ms vs 1.05 ms; Welch p = "),
                  "%s", v);
}
END_TEST

/* (f) 3 vs 3 in a family of 10 (as the engine adjusts): significance is out
 * of reach, so the comparison is inconclusive for that reason, said once. */
START_TEST(test_equiv_too_few)
{
    double *a, *b;
    size_t na, nb;
    load_case("n3", &a, &na, &b, &nb);
    mlb_comparison c, d;
    ck_assert_int_eq(mlb_compare_samples(a, na, b, nb, 1, &c), 0);
    d = c;
    mlb_comparison_set_adjusted(&c, fmin(1.0, 10.0 * c.chosen_p), "holm");
    mlb_comparison_set_family(&c, 10);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_LOWER_TIME,
                                               mlb_margin_default(MLB_BETTER_LOWER_TIME)),
                     0);
    ck_assert(c.few_reps && !c.significant);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_INCONCLUSIVE);
    ck_assert_str_eq(c.inconclusive_why, "too few repetitions (3 per variant; at least 6 needed)");
    char v[512];
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "infer", MLB_BETTER_LOWER_TIME,
                                 &c),
                     0);
    ck_assert_msg(strstr(v, "inconclusive: naive vs openblas in infer: too few repetitions (3 per "
                            "variant; at least 6 needed) (median 1.02 s vs 1.31 s; Welch p = "
                            "0.078, adjusted; Cliff's δ = 1.00, large)") == v,
                  "%s", v);
    ck_assert_msg(strstr(v, "Warning: too few") == NULL, "said twice: %s", v);
    /* The margin set first, the family after: the same decision. */
    ck_assert_int_eq(mlb_comparison_set_margin(&d, MLB_BETTER_LOWER_TIME,
                                               mlb_margin_default(MLB_BETTER_LOWER_TIME)),
                     0);
    ck_assert_int_eq(d.verdict_kind, MLB_KIND_BETTER); /* Welch p 0.008 alone */
    mlb_comparison_set_adjusted(&d, fmin(1.0, 10.0 * d.chosen_p), "holm");
    mlb_comparison_set_family(&d, 10);
    ck_assert_int_eq(d.verdict_kind, MLB_KIND_INCONCLUSIVE);
    ck_assert_str_eq(d.inconclusive_why, c.inconclusive_why);
    /* Unequal sizes are named as such. */
    ck_assert_int_eq(mlb_compare_samples(a, 3, b, 2, 1, &c), 0);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER,
                                               mlb_margin_default(MLB_BETTER_HIGHER)),
                     0);
    ck_assert_str_eq(c.inconclusive_why,
                     "too few repetitions (3 and 2; at least 4 per variant needed)");
    /* Bad margins. */
    ck_assert_int_eq(mlb_comparison_set_margin(&c, 7, (mlb_margin){0.02, 0}), -EINVAL);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER, (mlb_margin){-1, 0}),
                     -EINVAL);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER, (mlb_margin){0, NAN}),
                     -EINVAL);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_LOWER_TIME, (mlb_margin){NAN, 0}),
                     -EINVAL);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_LOWER_TIME, (mlb_margin){0.02, NAN}),
                     0);
    ck_assert_int_eq(mlb_comparison_set_margin(NULL, MLB_BETTER_HIGHER, (mlb_margin){0, 0}),
                     -EINVAL);
    free(a);
    free(b);
}
END_TEST

/* The worked example of docs/methodology.md ("Practical equivalence"), on
 * the measured samples it quotes: if this fails, update the text too. */
START_TEST(test_equiv_worked_example)
{
    size_t n1, n2, nb, nr1, nr2;
    double *o1 = read_numbers("equiv_openblas_run1.txt", &n1);
    double *o2 = read_numbers("equiv_openblas_run2.txt", &n2);
    double *bl = read_numbers("equiv_blocked_run1.txt", &nb);
    double *r1 = read_numbers("equiv_r2_naive.txt", &nr1);
    double *r2 = read_numbers("equiv_r2_openblas.txt", &nr2);
    ck_assert(n1 == 10 && n2 == 10 && nb == 10 && nr1 == 10 && nr2 == 10);
    char v[1024];
    mlb_comparison c;

    c = margin_cmp(bl, nb, o1, n1, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "blocked", "openblas", "train",
                                 MLB_BETTER_LOWER_TIME, &c),
                     0);
    ck_assert_str_eq(v, "blocked is 2.68× faster than openblas in train (median 6.72 ms vs 18.0 ms; "
                        "95% CI 2.59–2.79×; Mann-Whitney p < 0.001; Cliff's δ = 1.00, large)");

    c = margin_cmp(o1, n1, o2, n2, MLB_BETTER_LOWER_TIME);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_INCONCLUSIVE);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "run1", "run2", "train", MLB_BETTER_LOWER_TIME, &c),
                     0);
    ck_assert_str_eq(v, "inconclusive: run1 vs run2 in train: the ratio's 90% CI 0.915–0.995 "
                        "straddles the ±2% margin (median 18.0 ms vs 19.0 ms; Mann-Whitney p = "
                        "0.105; Cliff's δ = 0.44, medium). Warning: run2 is noisy: coefficient of "
                        "variation 12% (above 10%)");
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_LOWER_TIME, (mlb_margin){0.10, 0}),
                     0);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_EQUIVALENT);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "run1", "run2", "train", MLB_BETTER_LOWER_TIME, &c),
                     0);
    ck_assert_msg(strstr(v, "run1 and run2 are equivalent in train (median 18.0 ms vs 19.0 ms; "
                            "ratio 0.950, 90% CI 0.915–0.995 within ±10%)") == v,
                  "%s", v);

    c = margin_cmp(r1, nr1, r2, nr2, MLB_BETTER_HIGHER);
    ck_assert_int_eq(mlb_verdict(v, sizeof v, "naive", "openblas", "r2", MLB_BETTER_HIGHER, &c), 0);
    ck_assert_str_eq(v, "naive and openblas are equivalent in r2 (0.4501 vs 0.4501, within 1e-06 "
                        "relative)");
    free(o1);
    free(o2);
    free(bl);
    free(r1);
    free(r2);
}
END_TEST

/* (g) The JSON carries the margin, the kind and the CIs behind it. */
START_TEST(test_equiv_json)
{
    double a[10], b[10];
    noisy(a, 10, 1.0, 0.03, 1);
    noisy(b, 10, 2.4, 0.03, 2);
    mlb_comparison c;
    ck_assert_int_eq(mlb_compare_samples(a, 10, b, 10, 42, &c), 0);
    cJSON *j = mlb_comparison_to_json(&c);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "margin")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "verdict_kind")));
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "equivalent")));
    cJSON_Delete(j);

    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_LOWER_TIME, (mlb_margin){0.05, 0}),
                     0);
    j = mlb_comparison_to_json(&c);
    const cJSON *m = cJSON_GetObjectItem(j, "margin");
    ck_assert(cJSON_IsObject(m));
    ck_assert(cJSON_GetObjectItem(m, "relative")->valuedouble == 0.05);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "absolute")));
    ck_assert_str_eq(cJSON_GetObjectItem(m, "on")->valuestring, "median_ratio");
    assert_close("margin low", cJSON_GetObjectItem(m, "low")->valuedouble, 1 / 1.05, 1e-15);
    assert_close("margin high", cJSON_GetObjectItem(m, "high")->valuedouble, 1.05, 1e-15);
    ck_assert(cJSON_IsFalse(cJSON_GetObjectItem(j, "equivalent")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "significant")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict_kind")->valuestring, "better");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "decided_by")->valuestring, "test");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "inconclusive_why")));
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "chosen_why")));
    static const char *const keys[] = {"median_ratio_ci90_low", "median_ratio_ci90_high",
                                       "median_ratio_ci95_low", "median_ratio_ci95_high",
                                       "median_diff",           "median_diff_ci90_low",
                                       "median_diff_ci90_high", "median_diff_ci95_low",
                                       "median_diff_ci95_high"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        ck_assert_msg(cJSON_IsNumber(cJSON_GetObjectItem(j, keys[i])), "%s", keys[i]);
    cJSON_Delete(j);

    /* A metric: the absolute floor is there; inconclusive says why. */
    noisy(b, 10, 1.01, 0.03, 3);
    ck_assert_int_eq(mlb_compare_samples(a, 10, b, 10, 42, &c), 0);
    ck_assert_int_eq(mlb_comparison_set_margin(&c, MLB_BETTER_HIGHER,
                                               mlb_margin_default(MLB_BETTER_HIGHER)),
                     0);
    ck_assert_int_eq(c.verdict_kind, MLB_KIND_INCONCLUSIVE);
    j = mlb_comparison_to_json(&c);
    m = cJSON_GetObjectItem(j, "margin");
    ck_assert(cJSON_GetObjectItem(m, "absolute")->valuedouble == 1e-12);
    ck_assert_str_eq(cJSON_GetObjectItem(m, "on")->valuestring, "median_diff");
    ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict_kind")->valuestring, "inconclusive");
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(j, "decided_by")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "inconclusive_why")->valuestring, c.inconclusive_why);
    cJSON_Delete(j);

    /* Two constants: no test, and why. */
    for (int i = 0; i < 10; i++)
        a[i] = b[i] = 0.5;
    c = margin_cmp(a, 10, b, 10, MLB_BETTER_HIGHER);
    j = mlb_comparison_to_json(&c);
    ck_assert_str_eq(cJSON_GetObjectItem(j, "chosen_test")->valuestring, "none");
    ck_assert(cJSON_IsString(cJSON_GetObjectItem(j, "chosen_why")));
    ck_assert(cJSON_IsTrue(cJSON_GetObjectItem(j, "equivalent")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "decided_by")->valuestring, "value");
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

/* --equivalence sets the relative margin of the two-sample comparison, and
 * the kind is printed in both outputs. */
START_TEST(test_cli_equivalence)
{
    char pa[1024], pb[1024], *out, *err;
    ref_path(pa, sizeof pa, "close_a.txt");
    ref_path(pb, sizeof pb, "close_b.txt");
    char *argv[] = {"stats", pa, pb, "--json", "--equivalence", "50%", NULL};
    ck_assert_int_eq(run_cli(6, argv, &out, &err), 0);
    cJSON *j = cJSON_Parse(out);
    ck_assert_msg(j != NULL, "not JSON: %s", out);
    const cJSON *m = cJSON_GetObjectItem(j, "margin");
    ck_assert(cJSON_GetObjectItem(m, "relative")->valuedouble == 0.5);
    ck_assert(cJSON_IsNull(cJSON_GetObjectItem(m, "absolute")));
    ck_assert_str_eq(cJSON_GetObjectItem(j, "verdict_kind")->valuestring, "equivalent");
    ck_assert_msg(strstr(cJSON_GetObjectItem(j, "verdict")->valuestring,
                         "close_a.txt and close_b.txt are equivalent (median ") != NULL,
                  "%s", out);
    cJSON_Delete(j);
    free(out);
    free(err);
    char *argv2[] = {"stats", pa, pb, "--equivalence", "0.001", NULL};
    ck_assert_int_eq(run_cli(5, argv2, &out, &err), 0);
    ck_assert_msg(strstr(out, "verdict kind") && strstr(out, "inconclusive: "), "%s", out);
    ck_assert_msg(strstr(out, "relative 0.001"), "%s", out);
    free(out);
    free(err);
    /* A metric keeps its absolute floor. */
    char *argv3[] = {"stats", pa, pb, "--json", "--higher-is-better", NULL};
    ck_assert_int_eq(run_cli(5, argv3, &out, &err), 0);
    j = cJSON_Parse(out);
    ck_assert_ptr_nonnull(j);
    m = cJSON_GetObjectItem(j, "margin");
    ck_assert(cJSON_GetObjectItem(m, "relative")->valuedouble == MLB_MARGIN_METRIC_REL);
    ck_assert(cJSON_GetObjectItem(m, "absolute")->valuedouble == MLB_MARGIN_METRIC_ABS);
    cJSON_Delete(j);
    free(out);
    free(err);
    static const char *const bad[] = {"-1%", "x", "2%%", "nan", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *argv4[] = {"stats", pa, pb, "--equivalence", (char *)bad[i], NULL};
        ck_assert_int_eq(run_cli(5, argv4, &out, &err), 2);
        ck_assert_msg(strstr(err, "--equivalence") != NULL, "%s", err);
        free(out);
        free(err);
    }
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
    tcase_add_test(def, test_extreme_scale);
    tcase_add_test(def, test_subnormal);
    tcase_add_test(def, test_beyond_range);
    tcase_add_test(def, test_bootstrap_direct);
    suite_add_tcase(s, def);
    TCase *ver = tcase_create("verdict");
    tcase_add_test(ver, test_verdict_time);
    tcase_add_test(ver, test_verdict_metric_and_warnings);
    tcase_add_test(ver, test_comparisons_adjust);
    suite_add_tcase(s, ver);
    TCase *eq = tcase_create("equivalence");
    tcase_set_timeout(eq, 60);
    tcase_add_test(eq, test_equiv_constant_equal);
    tcase_add_test(eq, test_equiv_constant_differ);
    tcase_add_test(eq, test_equiv_clearly_faster);
    tcase_add_test(eq, test_equiv_identical_noisy);
    tcase_add_test(eq, test_equiv_straddles);
    tcase_add_test(eq, test_equiv_too_few);
    tcase_add_test(eq, test_equiv_json);
    tcase_add_test(eq, test_equiv_worked_example);
    suite_add_tcase(s, eq);
    TCase *cli = tcase_create("cli");
    tcase_set_timeout(cli, 30);
    tcase_add_test(cli, test_cli_two_samples);
    tcase_add_test(cli, test_cli_adjust);
    tcase_add_test(cli, test_cli_equivalence);
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
