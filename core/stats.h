/* Statistics of the engine: per-sample summaries, normality tests, two-sample
 * comparisons, multiple-comparison adjustment and plain-language verdicts.
 *
 * Distributions, sorting, special functions and the RNG come from GSL; the
 * formulas follow R (sd, quantile type 7, mad, t.test, shapiro.test,
 * wilcox.test, p.adjust) and nortest::ad.test, whose values the unit tests
 * compare against (tests/ref/stats/make_refs.R). docs/methodology.md explains
 * each statistic and how a test is chosen.
 *
 * A value that cannot be computed (a test below its minimum n, a constant
 * sample, ...) is NaN in the structs, JSON null in the output, and where it is
 * a test the matching *_why field names the reason. */
#ifndef MLB_CORE_STATS_H
#define MLB_CORE_STATS_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#define MLB_STATS_ALPHA 0.05      /* significance and normality level */
#define MLB_STATS_BOOT_REPS 2000  /* bootstrap resamples per CI */
#define MLB_STATS_CV_WARN 0.10    /* coefficient of variation deemed noisy */
#define MLB_STATS_SW_MAX_N 5000   /* Royston's Shapiro-Wilk is valid to here */
#define MLB_STATS_AD_MIN_N 8      /* nortest::ad.test refuses fewer */
#define MLB_STATS_EXACT_MWU_N 50  /* exact Mann-Whitney when both n below */
/* Above this many values a bootstrap resample's median is drawn from its
 * distribution (order statistics) instead of from a built resample. */
#define MLB_STATS_BOOT_DIRECT_N 10000

typedef struct mlb_summary {
    size_t n;
    double mean, median, sd; /* sd: sample (n - 1); NaN when n < 2 */
    double min, max;
    double q1, q3, iqr;      /* quantiles of R's default type 7 */
    double mad;              /* median absolute deviation x 1.4826, as R's mad() */
    double cv;               /* sd / mean; NaN when n < 2 or mean == 0 */
    double ci95_low, ci95_high;               /* t-based CI of the mean */
    double median_ci95_low, median_ci95_high; /* percentile bootstrap, seeded */
    /* Tukey fences q1 - 1.5 IQR and q3 + 1.5 IQR: values outside are flagged
     * as outliers (see mlb_summary_is_outlier), never dropped. */
    double fence_low, fence_high;
    size_t n_outliers;
    int constant;            /* min == max */
    int high_cv;             /* cv > MLB_STATS_CV_WARN */
    double shapiro_w, shapiro_p;
    const char *shapiro_why; /* NULL when computed, else a static reason */
    double ad_stat;          /* plain A^2 */
    double ad_stat_adj;      /* A^2 (1 + 0.75/n + 2.25/n^2) */
    double ad_p;             /* from ad_stat_adj, nortest's piecewise formula */
    const char *ad_why;
    /* Set when a statistic (sd, IQR, a CI bound, ...) of a sample near the
     * double range's ends has no double: that statistic is NaN. */
    const char *range_why;
} mlb_summary;

typedef enum {
    MLB_TEST_NONE = 0, /* no test: both samples constant (compared by value), or
                        * nothing computable; chosen_why says which */
    MLB_TEST_WELCH,
    MLB_TEST_MWU,
} mlb_test;

typedef enum {
    MLB_MWU_NONE = 0, /* not computable */
    MLB_MWU_EXACT,
    MLB_MWU_NORMAL, /* with tie and continuity correction */
} mlb_mwu_method;

/* Practical-equivalence margin of a comparison. For a time it is relative on
 * the median ratio: equivalence region [1 / (1 + rel), 1 + rel], symmetric
 * on the log scale so that swapping a and b gives the mirrored verdict; abs
 * is unused (NaN). For a quality metric it is a tolerance on the median
 * difference, max(rel * max(|median a|, |median b|), abs): the absolute floor
 * keeps values near 0 from demanding an impossible relative agreement. */
typedef struct {
    double rel;
    double abs;
} mlb_margin;

#define MLB_MARGIN_TIME_REL 0.02    /* engine default, --equivalence */
#define MLB_MARGIN_METRIC_REL 1e-6  /* default tolerance of a quality metric */
#define MLB_MARGIN_METRIC_ABS 1e-12

/* What a comparison says, from sample a's point of view ("a is better than
 * b"). Zero is inconclusive, so a comparison never claims by omission. */
typedef enum {
    MLB_KIND_INCONCLUSIVE = 0,
    MLB_KIND_BETTER,
    MLB_KIND_WORSE,
    MLB_KIND_EQUIVALENT,
} mlb_verdict_kind;

typedef struct mlb_comparison {
    mlb_summary a, b;
    double welch_t, welch_df, welch_p; /* two-sided */
    const char *welch_why;
    double mwu_u;                      /* U of sample a, as R's W */
    double mwu_p;                      /* two-sided */
    mlb_mwu_method mwu_method;
    const char *mwu_why;
    double mwu_min_p;                  /* smallest p the test allows at these n */
    double cohens_d;                   /* (mean a - mean b) / pooled sd */
    const char *cohens_why;
    double cliffs_delta;               /* P(a > b) - P(a < b) */
    const char *cliffs_label;          /* negligible, small, medium, large */
    /* median(a) / median(b) with a percentile bootstrap CI: below 1 means a
     * has the smaller values (for times: a is faster by 1 / median_ratio). */
    double median_ratio, ratio_ci95_low, ratio_ci95_high;
    const char *ratio_why;
    mlb_test chosen;                   /* Welch if both pass Shapiro-Wilk */
    double chosen_p;
    double p_adjusted;                 /* NaN until mlb_comparison_set_adjusted */
    const char *adjust_method;         /* NULL until then */
    int significant;                   /* (adjusted if set) p < MLB_STATS_ALPHA */
    int few_reps;                      /* mwu_min_p * family >= MLB_STATS_ALPHA */
    int min_reps;                      /* per sample, for significance to be reachable */
    size_t family;                     /* comparisons adjusted together (1: none) */

    /* Further percentile bootstrap CIs, from the same resamples (and so the
     * same seed) as ratio_ci95: the 90% ones are those of a TOST at alpha
     * 0.05 per side. diff is median(a) - median(b). */
    double ratio_ci90_low, ratio_ci90_high;
    double median_diff;
    double diff_ci90_low, diff_ci90_high, diff_ci95_low, diff_ci95_high;
    const char *diff_why;              /* why median_diff or its CIs are NaN */
    const char *chosen_why;            /* why chosen is none; NULL when a test is */

    /* Practical equivalence, set by mlb_comparison_set_margin (and kept up
     * to date by set_adjusted and set_family once set). */
    int has_margin;
    int lower_is_better;               /* MLB_BETTER_* the margin was set for */
    mlb_margin margin;                 /* abs NaN for a time */
    double margin_low, margin_high;    /* the region, on the ratio (time) or difference */
    int equivalent;                    /* verdict_kind == MLB_KIND_EQUIVALENT */
    mlb_verdict_kind verdict_kind;
    const char *decided_by;            /* "value", "test", "ci"; NULL when inconclusive */
    char inconclusive_why[192];        /* "" unless inconclusive */
} mlb_comparison;

/* Summarise x[0..n) (not modified). Returns 0, -EINVAL if n == 0 or a value
 * is not finite, -ENOMEM. The bootstrap CI of the median is reproducible for
 * a given seed. */
int mlb_summary_compute(const double *x, size_t n, uint64_t seed, mlb_summary *out);

/* 1 if v lies outside the Tukey fences of s. */
int mlb_summary_is_outlier(const mlb_summary *s, double v);

/* Compare two samples (not modified): both summaries, Welch, Mann-Whitney,
 * effect sizes, median ratio and difference with their CIs, the chosen test
 * (none for two constant samples: they differ by value, not by chance). No
 * margin is set: see mlb_comparison_set_margin. Returns 0, -EINVAL (empty
 * sample, non-finite value), -ENOMEM. */
int mlb_compare_samples(const double *a, size_t na, const double *b, size_t nb,
                        uint64_t seed, mlb_comparison *out);

/* Record the family-adjusted p of the chosen test (method: "bonferroni",
 * "holm" or "bh") and recompute `significant` from it. */
void mlb_comparison_set_adjusted(mlb_comparison *c, double p_adj, const char *method);

/* Record that c belongs to a family of m comparisons adjusted together:
 * recomputes few_reps and min_reps for the adjusted threshold (the smallest
 * Holm- or Bonferroni-adjusted p is m times the smallest raw one). */
void mlb_comparison_set_family(mlb_comparison *c, size_t m);

/* How `lower_is_better` of mlb_comparison_set_margin and mlb_verdict
 * phrases and orients a comparison. */
#define MLB_BETTER_HIGHER 0     /* a metric, higher is better: "has higher accuracy" */
#define MLB_BETTER_LOWER_TIME 1 /* a time: "is 3.1x faster" */
#define MLB_BETTER_LOWER 2      /* a metric, lower is better: "has lower rmse" */

/* The engine's default margin for a kind of quantity: MLB_MARGIN_TIME_REL
 * for a time, MLB_MARGIN_METRIC_REL / _ABS for a metric. */
mlb_margin mlb_margin_default(int lower_is_better);

/* Set the practical-equivalence margin of c and decide its verdict_kind:
 *  - two constant samples (n >= 2 each): by value against the margin alone;
 *    no test is chosen for them;
 *  - better/worse: significant (adjusted p when set) and the 95% CI of the
 *    median ratio (time) or difference (metric) entirely outside the margin
 *    region, on the side the test points to;
 *  - equivalent: the 90% CI entirely inside the region (TOST at 0.05 per
 *    side), and enough repetitions for significance to be reachable;
 *  - inconclusive otherwise, with the reason in inconclusive_why.
 * Call after mlb_comparison_set_adjusted / set_family (both redo the
 * decision once a margin is set, so the order is not fatal). Returns 0, or
 * -EINVAL (NULL c, unknown lower_is_better, rel or abs negative or not a
 * number; abs is ignored for a time). */
int mlb_comparison_set_margin(mlb_comparison *c, int lower_is_better, mlb_margin m);

/* "better", "worse", "equivalent", "inconclusive". */
const char *mlb_verdict_kind_name(mlb_verdict_kind k);

/* Adjust the chosen p of a family of comparisons in place with `method`
 * ("bonferroni", "holm", "bh"); comparisons with no computable test are left
 * out of the family. Returns 0, -EINVAL (unknown method), -ENOMEM. */
int mlb_comparisons_adjust(mlb_comparison *cs, size_t n, const char *method);

/* Bonferroni, Holm and Benjamini-Hochberg adjusted p-values of p[0..n), in
 * input order, as R's p.adjust. Any output pointer may be NULL. Returns 0,
 * -EINVAL if a p is NaN or outside [0, 1], -ENOMEM. */
int mlb_p_adjust(const double *p, size_t n, double *bonf, double *holm, double *bh);

const char *mlb_test_name(mlb_test t);             /* "welch", "mann-whitney", "none" */
const char *mlb_mwu_method_name(mlb_mwu_method m); /* "exact", "normal", NULL */

/* JSON objects (NULL on allocation failure); NaN fields are null. */
cJSON *mlb_summary_to_json(const mlb_summary *s);
cJSON *mlb_comparison_to_json(const mlb_comparison *c);

/* One sentence built around c's verdict kind, e.g.
 *   "openblas is 2.44× faster than naive in train (median 1.20 ms vs 2.93 ms;
 *    95% CI 2.31–2.58×; Mann-Whitney p < 0.001, adjusted; Cliff's δ = 1.00, large)"
 *   "naive and openblas are equivalent in r2 (0.4483 vs 0.4483, within 1e-06 relative)"
 *   "inconclusive: naive vs openblas in infer: too few repetitions (3 per
 *    variant; at least 5 needed) (...)"
 * followed by any warnings (a noisy sample; too few repetitions when that is
 * not already the reason). Times are printed with units. `what` ("train",
 * "accuracy") may be NULL for time. When no margin was set, or it was set
 * for another lower_is_better, the kind is decided here with
 * mlb_margin_default (c is not modified). Output is UTF-8. Returns 0,
 * -EINVAL, or -ENOSPC when truncated (buf still holds a terminated prefix). */
int mlb_verdict(char *buf, size_t len, const char *name_a, const char *name_b,
                const char *what, int lower_is_better, const mlb_comparison *c);

/* The warnings alone, "; "-separated, "" when none. Same returns. */
int mlb_comparison_warnings(char *buf, size_t len, const char *name_a, const char *name_b,
                            const mlb_comparison *c);

/* `mlbench-engine stats ...`; argv[0] == "stats". Returns the exit code:
 * 0 ok, 1 internal error, 2 usage or input error (message on stderr naming
 * the file and line). */
int mlb_cmd_stats(int argc, char **argv);

#endif
