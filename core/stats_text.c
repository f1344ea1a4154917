/* The words and the JSON of the statistics: warnings, verdict sentences,
 * summaries and comparisons as JSON (stats.h). */
#include "stats.h"
#include "stats_internal.h"
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cdf.h>
#include <gsl/gsl_math.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sf_erf.h>
#include <gsl/gsl_sf_gamma.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

/* ---------------------------------------------------------------- warnings */

/* snprintf that appends at *pos and remembers truncation. */
static void app(char *buf, size_t len, size_t *pos, int *trunc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void app(char *buf, size_t len, size_t *pos, int *trunc, const char *fmt, ...)
{
    if (*pos >= len) {
        *trunc = 1;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *pos, len - *pos, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= len - *pos) {
        *trunc = 1;
        *pos = len;
    } else {
        *pos += (size_t)k;
    }
}

static void fmt_p(char *b, size_t len, double p)
{
    if (p < 0.001)
        snprintf(b, len, "p < 0.001");
    else
        snprintf(b, len, "p = %.3f", p);
}

/* The k-th possible warning (0: too few repetitions, 1 and 2: sample a or
 * b noisy) into buf; 0 when that one does not apply. */
static int warning_k(char *buf, size_t len, int k, const char *name_a, const char *name_b,
                     const mlb_comparison *c)
{
    if (k == 0 && c->few_reps && c->family > 1) {
        snprintf(buf, len,
                 "few repetitions (%zu vs %zu) for a family of %zu comparisons: the smallest "
                 "Mann-Whitney p, %.2g, may not survive the adjustment (with at least %d per "
                 "variant it can)",
                 c->a.n, c->b.n, c->family, c->mwu_min_p, c->min_reps);
        return 1;
    }
    if (k == 0 && c->few_reps) {
        snprintf(buf, len,
                 "too few repetitions (%zu vs %zu): Mann-Whitney cannot go below p = %.2g, so no "
                 "difference can reach significance at %.2g (use at least %d per variant)",
                 c->a.n, c->b.n, c->mwu_min_p, MLB_STATS_ALPHA, c->min_reps);
        return 1;
    }
    const mlb_summary *s = k == 1 ? &c->a : &c->b;
    if ((k == 1 || k == 2) && s->high_cv) {
        snprintf(buf, len, "%s is noisy: coefficient of variation %.0f%% (above %.0f%%)",
                 k == 1 ? name_a : name_b, 100.0 * fabs(s->cv), 100.0 * MLB_STATS_CV_WARN);
        return 1;
    }
    return 0;
}

#define N_WARNINGS 3

int mlb_comparison_warnings(char *buf, size_t len, const char *name_a, const char *name_b,
                            const mlb_comparison *c)
{
    if (!buf || len == 0 || !c || !name_a || !name_b)
        return -EINVAL;
    buf[0] = '\0';
    size_t pos = 0;
    int trunc = 0;
    const char *sep = "";
    char w[512];
    for (int k = 0; k < N_WARNINGS; k++)
        if (warning_k(w, sizeof w, k, name_a, name_b, c)) {
            app(buf, len, &pos, &trunc, "%s%s", sep, w);
            sep = "; ";
        }
    return trunc ? -ENOSPC : 0;
}

/* ------------------------------------------------------------------- JSON */

static int add_num(cJSON *o, const char *k, double v)
{
    cJSON *item = isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(o, k, item) ? 0 : -1;
}

static int add_str(cJSON *o, const char *k, const char *v)
{
    cJSON *item = v ? cJSON_CreateString(v) : cJSON_CreateNull();
    return item && cJSON_AddItemToObject(o, k, item) ? 0 : -1;
}

cJSON *mlb_summary_to_json(const mlb_summary *s)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    int bad = 0;
    bad |= add_num(o, "n", (double)s->n);
    bad |= add_num(o, "mean", s->mean);
    bad |= add_num(o, "median", s->median);
    bad |= add_num(o, "sd", s->sd);
    bad |= add_num(o, "min", s->min);
    bad |= add_num(o, "max", s->max);
    bad |= add_num(o, "q1", s->q1);
    bad |= add_num(o, "q3", s->q3);
    bad |= add_num(o, "iqr", s->iqr);
    bad |= add_num(o, "mad", s->mad);
    bad |= add_num(o, "cv", s->cv);
    bad |= add_num(o, "ci95_low", s->ci95_low);
    bad |= add_num(o, "ci95_high", s->ci95_high);
    bad |= add_num(o, "median_ci95_low", s->median_ci95_low);
    bad |= add_num(o, "median_ci95_high", s->median_ci95_high);
    bad |= add_num(o, "outlier_fence_low", s->fence_low);
    bad |= add_num(o, "outlier_fence_high", s->fence_high);
    bad |= add_num(o, "n_outliers", (double)s->n_outliers);
    bad |= cJSON_AddBoolToObject(o, "constant", s->constant) ? 0 : -1;
    bad |= cJSON_AddBoolToObject(o, "high_cv", s->high_cv) ? 0 : -1;
    bad |= add_num(o, "shapiro_w", s->shapiro_w);
    bad |= add_num(o, "shapiro_p", s->shapiro_p);
    bad |= add_str(o, "shapiro_why", s->shapiro_why);
    bad |= add_num(o, "ad_stat", s->ad_stat);
    bad |= add_num(o, "ad_stat_adj", s->ad_stat_adj);
    bad |= add_num(o, "ad_p", s->ad_p);
    bad |= add_str(o, "ad_why", s->ad_why);
    bad |= add_str(o, "range_why", s->range_why);
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

cJSON *mlb_comparison_to_json(const mlb_comparison *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *sa = mlb_summary_to_json(&c->a), *sb = mlb_summary_to_json(&c->b);
    if (!o || !sa || !sb) {
        cJSON_Delete(o);
        cJSON_Delete(sa);
        cJSON_Delete(sb);
        return NULL;
    }
    cJSON_AddItemToObject(o, "a", sa);
    cJSON_AddItemToObject(o, "b", sb);
    int bad = 0;
    bad |= add_num(o, "welch_t", c->welch_t);
    bad |= add_num(o, "welch_df", c->welch_df);
    bad |= add_num(o, "welch_p", c->welch_p);
    bad |= add_str(o, "welch_why", c->welch_why);
    bad |= add_num(o, "mwu_u", c->mwu_u);
    bad |= add_num(o, "mwu_p", c->mwu_p);
    bad |= add_str(o, "mwu_method", mlb_mwu_method_name(c->mwu_method));
    bad |= add_str(o, "mwu_why", c->mwu_why);
    bad |= add_num(o, "mwu_min_p", c->mwu_min_p);
    bad |= add_num(o, "family", (double)c->family);
    /* Whether the family can ever make this comparison significant, and the
     * repetitions per sample it would take. */
    bad |= !cJSON_AddBoolToObject(o, "few_reps", c->few_reps);
    bad |= add_num(o, "min_reps", c->few_reps ? (double)c->min_reps : NAN);
    bad |= add_num(o, "cohens_d", c->cohens_d);
    bad |= add_str(o, "cohens_why", c->cohens_why);
    bad |= add_num(o, "cliffs_delta", c->cliffs_delta);
    bad |= add_str(o, "cliffs_label", c->cliffs_label);
    bad |= add_num(o, "median_ratio", c->median_ratio);
    bad |= add_num(o, "median_ratio_ci95_low", c->ratio_ci95_low);
    bad |= add_num(o, "median_ratio_ci95_high", c->ratio_ci95_high);
    bad |= add_str(o, "median_ratio_why", c->ratio_why);
    bad |= add_str(o, "chosen_test", mlb_test_name(c->chosen));
    bad |= add_num(o, "chosen_p", c->chosen_p);
    bad |= add_num(o, "p_adjusted", c->p_adjusted);
    bad |= add_str(o, "adjust_method", c->adjust_method);
    bad |= cJSON_AddBoolToObject(o, "significant", c->significant) ? 0 : -1;
    bad |= add_str(o, "chosen_why", c->chosen_why);
    bad |= add_num(o, "median_ratio_ci90_low", c->ratio_ci90_low);
    bad |= add_num(o, "median_ratio_ci90_high", c->ratio_ci90_high);
    bad |= add_num(o, "median_diff", c->median_diff);
    bad |= add_num(o, "median_diff_ci90_low", c->diff_ci90_low);
    bad |= add_num(o, "median_diff_ci90_high", c->diff_ci90_high);
    bad |= add_num(o, "median_diff_ci95_low", c->diff_ci95_low);
    bad |= add_num(o, "median_diff_ci95_high", c->diff_ci95_high);
    bad |= add_str(o, "median_diff_why", c->diff_why);
    if (c->has_margin) {
        /* low/high: the equivalence region on the quantity the CIs are of,
         * so that a reader can redo the decision from this object alone. */
        cJSON *mo = cJSON_AddObjectToObject(o, "margin");
        int time = c->lower_is_better == MLB_BETTER_LOWER_TIME;
        if (!mo)
            bad = -1;
        else {
            bad |= add_num(mo, "relative", c->margin.rel);
            bad |= add_num(mo, "absolute", time ? NAN : c->margin.abs);
            bad |= add_str(mo, "on", time ? "median_ratio" : "median_diff");
            bad |= add_num(mo, "low", c->margin_low);
            bad |= add_num(mo, "high", c->margin_high);
        }
    } else {
        bad |= cJSON_AddNullToObject(o, "margin") ? 0 : -1;
    }
    bad |= cJSON_AddBoolToObject(o, "equivalent", c->has_margin && c->equivalent) ? 0 : -1;
    bad |= add_str(o, "verdict_kind",
                   c->has_margin ? mlb_verdict_kind_name(c->verdict_kind) : NULL);
    bad |= add_str(o, "decided_by", c->has_margin ? c->decided_by : NULL);
    bad |= add_str(o, "inconclusive_why",
                   c->has_margin && c->verdict_kind == MLB_KIND_INCONCLUSIVE ? c->inconclusive_why
                                                                             : NULL);
    cJSON *warr = cJSON_AddArrayToObject(o, "warnings");
    if (!warr)
        bad = -1;
    char w[512];
    for (int k = 0; warr && k < N_WARNINGS; k++)
        if (warning_k(w, sizeof w, k, "a", "b", c)) {
            cJSON *s = cJSON_CreateString(w);
            if (!s || !cJSON_AddItemToArray(warr, s))
                bad = -1;
        }
    if (bad) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

/* ---------------------------------------------------------------- verdict */

/* Seconds with a unit and three significant digits: a verdict never shows
 * raw seconds. Local rather than mlb_fmt_time so that stats.c keeps linking
 * on its own into the unit tests. */
static void fmt_time(char *b, size_t len, double s)
{
    static const char *const unit[4] = {"ns", "µs", "ms", "s"};
    static const double scale[4] = {1e9, 1e6, 1e3, 1.0};
    if (!isfinite(s)) {
        snprintf(b, len, "n/a");
        return;
    }
    if (s == 0.0) {
        snprintf(b, len, "0 s");
        return;
    }
    /* The unit is picked on the value as rounded, so that 999.7 µs reads
     * 1.00 ms and not 1000 µs. */
    int k = 0;
    while (k < 3 && fabs(s) * scale[k] >= 999.5)
        k++;
    double v = s * scale[k], av = fabs(v);
    const char *u = unit[k];
    snprintf(b, len, av < 10 ? "%.2f %s" : av < 100 ? "%.1f %s" : av < 1e6 ? "%.0f %s" : "%.3g %s",
             v, u);
}

/* Two metric values to 4 significant digits, or as many more as it takes
 * to tell them apart when they differ (a "higher r2" must not read
 * "0.4483 vs 0.4483"). */
static void fmt_pair(char *ba, char *bb, size_t len, double a, double b, int distinct)
{
    for (int d = 4; d <= 17; d++) {
        snprintf(ba, len, "%.*g", d, a);
        snprintf(bb, len, "%.*g", d, b);
        if (!distinct || a == b || strcmp(ba, bb) != 0)
            return;
    }
}

/* "1e-06 relative" or "1e-12 absolute": whichever bound sets a metric's
 * tolerance at these values. */
static void fmt_tolerance(char *b, size_t len, const mlb_comparison *c)
{
    double relpart = c->margin.rel * fmax(fabs(c->a.median), fabs(c->b.median));
    if (relpart >= c->margin.abs)
        snprintf(b, len, "%g relative", c->margin.rel);
    else
        snprintf(b, len, "%g absolute", c->margin.abs);
}

/* A speed-up factor: 2.44×, 24.4×, 244×. */
static void fmt_factor(char *b, size_t len, double f)
{
    snprintf(b, len, f < 10 ? "%.2f" : f < 100 ? "%.1f" : f < 1e6 ? "%.0f" : "%.3g", f);
}

int mlb_verdict(char *buf, size_t len, const char *name_a, const char *name_b, const char *what,
                int lower_is_better, const mlb_comparison *c0)
{
    if (!buf || len == 0 || !c0 || !name_a || !name_b || lower_is_better < MLB_BETTER_HIGHER ||
        lower_is_better > MLB_BETTER_LOWER)
        return -EINVAL;
    buf[0] = '\0';
    int is_time = lower_is_better == MLB_BETTER_LOWER_TIME;
    /* A margin set for this kind of quantity is used as set; otherwise the
     * default, on a copy, so that a caller that never set one still gets a
     * verdict built on a margin. */
    mlb_comparison local;
    const mlb_comparison *c = c0;
    if (!c0->has_margin || c0->lower_is_better != lower_is_better) {
        int same = c0->has_margin && (c0->lower_is_better == MLB_BETTER_LOWER_TIME) == is_time;
        local = *c0;
        if (mlb_comparison_set_margin(&local, lower_is_better,
                                      same ? c0->margin : mlb_margin_default(lower_is_better)) < 0)
            return -EINVAL;
        c = &local;
    }
    size_t pos = 0;
    int trunc = 0;
    int lower = lower_is_better != MLB_BETTER_HIGHER;
    const char *metric = what && *what ? what : "value";
    const char *in = is_time && what ? " in " : "", *wt = is_time && what ? what : "";
    mlb_verdict_kind k = c->verdict_kind;
    int by_value = c->decided_by && strcmp(c->decided_by, "value") == 0;
    int a_wins = k == MLB_KIND_BETTER;
    const char *win = a_wins ? name_a : name_b, *lose = a_wins ? name_b : name_a;
    double ma = c->a.median, mb = c->b.median;
    double mw = a_wins ? ma : mb, ml = a_wins ? mb : ma;
    char ta[48], tb[48], tw[48], tl[48], mtxt[32], x1[32], x2[32], x3[32];
    mlb_stats_fmt_margin(mtxt, sizeof mtxt, c);

    /* The test's part of the parenthesis, with delta oriented so that a
     * positive value favours whoever is named first. */
    char tp[160] = "";
    if (c->chosen != MLB_TEST_NONE) {
        int adjusted = isfinite(c->p_adjusted);
        char ptxt[32];
        fmt_p(ptxt, sizeof ptxt, adjusted ? c->p_adjusted : c->chosen_p);
        double delta = c->cliffs_delta * (lower ? -1.0 : 1.0);
        if (k == MLB_KIND_WORSE)
            delta = -delta;
        snprintf(tp, sizeof tp, "%s %s%s; Cliff's δ = %.2f, %s",
                 c->chosen == MLB_TEST_WELCH ? "Welch" : "Mann-Whitney", ptxt,
                 adjusted ? ", adjusted" : "", delta, c->cliffs_label);
    }

    if (is_time) {
        fmt_time(ta, sizeof ta, ma);
        fmt_time(tb, sizeof tb, mb);
        fmt_time(tw, sizeof tw, mw);
        fmt_time(tl, sizeof tl, ml);
    } else {
        fmt_pair(ta, tb, sizeof ta, ma, mb, k != MLB_KIND_EQUIVALENT);
        snprintf(tw, sizeof tw, "%s", a_wins ? ta : tb);
        snprintf(tl, sizeof tl, "%s", a_wins ? tb : ta);
    }

    if (k == MLB_KIND_BETTER || k == MLB_KIND_WORSE) {
        if (is_time) {
            /* The factor is the loser's median over the winner's, with the
             * CI of the median ratio turned the same way. */
            int have = isfinite(c->median_ratio) && c->median_ratio > 0;
            double f = have ? (a_wins ? 1.0 / c->median_ratio : c->median_ratio) : NAN;
            app(buf, len, &pos, &trunc, "%s is ", win);
            if (isfinite(f)) {
                fmt_factor(x1, sizeof x1, f);
                app(buf, len, &pos, &trunc, "%s× ", x1);
            }
            app(buf, len, &pos, &trunc, "faster than %s%s%s (", lose, in, wt);
            if (by_value) {
                app(buf, len, &pos, &trunc, "%s vs %s, both constant: outside the %s margin)", tw,
                    tl, mtxt);
            } else {
                double lo = a_wins ? 1.0 / c->ratio_ci95_high : c->ratio_ci95_low;
                double hi = a_wins ? 1.0 / c->ratio_ci95_low : c->ratio_ci95_high;
                fmt_factor(x2, sizeof x2, lo);
                fmt_factor(x3, sizeof x3, hi);
                app(buf, len, &pos, &trunc, "median %s vs %s; 95%% CI %s–%s×; %s)", tw, tl, x2,
                    x3, tp);
            }
        } else {
            app(buf, len, &pos, &trunc, "%s has %s %s than %s (", win, lower ? "lower" : "higher",
                metric, lose);
            if (by_value) {
                fmt_tolerance(x1, sizeof x1, c);
                app(buf, len, &pos, &trunc, "%s vs %s, both constant: beyond %s)", tw, tl, x1);
            } else {
                double lo = a_wins ? c->diff_ci95_low : -c->diff_ci95_high;
                double hi = a_wins ? c->diff_ci95_high : -c->diff_ci95_low;
                app(buf, len, &pos, &trunc, "median %s vs %s; difference 95%% CI %.3g–%.3g; %s)",
                    tw, tl, lo, hi, tp);
            }
        }
    } else if (k == MLB_KIND_EQUIVALENT) {
        if (is_time)
            app(buf, len, &pos, &trunc, "%s and %s are equivalent%s%s (", name_a, name_b, in, wt);
        else
            app(buf, len, &pos, &trunc, "%s and %s are equivalent in %s (", name_a, name_b,
                metric);
        if (by_value && is_time) {
            app(buf, len, &pos, &trunc, "%s vs %s, both constant, within %s)", ta, tb, mtxt);
        } else if (by_value) {
            fmt_tolerance(x1, sizeof x1, c);
            app(buf, len, &pos, &trunc, "%s vs %s, within %s)", ta, tb, x1);
        } else if (is_time) {
            mlb_stats_fmt_ratio(x1, sizeof x1, c->median_ratio);
            mlb_stats_fmt_ratio(x2, sizeof x2, c->ratio_ci90_low);
            mlb_stats_fmt_ratio(x3, sizeof x3, c->ratio_ci90_high);
            app(buf, len, &pos, &trunc, "median %s vs %s; ratio %s, 90%% CI %s–%s within %s)", ta,
                tb, x1, x2, x3, mtxt);
        } else {
            app(buf, len, &pos, &trunc, "median %s vs %s; difference 90%% CI %.3g–%.3g within %s)",
                ta, tb, c->diff_ci90_low, c->diff_ci90_high, mtxt);
        }
    } else {
        if (is_time)
            app(buf, len, &pos, &trunc, "inconclusive: %s vs %s%s%s: %s (median %s vs %s%s%s)",
                name_a, name_b, in, wt, c->inconclusive_why, ta, tb, tp[0] ? "; " : "", tp);
        else
            app(buf, len, &pos, &trunc, "inconclusive: %s vs %s in %s: %s (median %s vs %s%s%s)",
                name_a, name_b, metric, c->inconclusive_why, ta, tb, tp[0] ? "; " : "", tp);
    }

    /* Warnings: the repetition count only where it is news, i.e. not when
     * it is the reason already given, nor for constants, which need no
     * test. */
    int few_said = k == MLB_KIND_INCONCLUSIVE &&
                   strncmp(c->inconclusive_why, "too few repetitions", 19) == 0;
    const char *sep = ". Warning: ";
    char w[512];
    for (int kw = 0; kw < N_WARNINGS; kw++) {
        if (kw == 0 && (few_said || by_value))
            continue;
        if (warning_k(w, sizeof w, kw, name_a, name_b, c)) {
            app(buf, len, &pos, &trunc, "%s%s", sep, w);
            sep = "; ";
        }
    }
    return trunc ? -ENOSPC : 0;
}
