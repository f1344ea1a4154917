/* From repetitions to summaries and comparisons. */
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "utf8.h"


/* Keeps the first reason the analysis failed (err holds 256 bytes). */
static void fail(char *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fail(char *err, const char *fmt, ...)
{
    if (err[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, 256, fmt, ap);
    va_end(ap);
}

/* Collects one value per successful repetition; returns the count. */
typedef double (*rep_value_fn)(const mlb_rep *r, const void *arg);

static size_t collect(const mlb_run *run, rep_value_fn fn, const void *arg, double *out)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n_reps; i++) {
        if (run->reps[i].status != MLB_REP_OK)
            continue;
        double v = fn(&run->reps[i], arg);
        if (isfinite(v))
            out[n++] = v;
    }
    return n;
}

typedef struct {
    int phase;
    int field; /* see phase_value */
} phase_sel;

enum { F_WALL, F_USER, F_SYS, F_PEAK, F_AVG, F_RATE_ITEMS, F_RATE_TOKENS, F_RATE_STEPS, F_GFLOPS };
static const char *const field_json[] = {"wall_s",        "cpu_user_s",     "cpu_sys_s",
                                         "rss_peak_bytes", "rss_avg_bytes", "items_per_s",
                                         "tokens_per_s",  "steps_per_s",    "gflop_per_s"};

static double phase_value(const mlb_rep *r, const void *arg)
{
    const phase_sel *s = arg;
    const mlb_phase_meas *p = &r->ph[s->phase];
    if (!p->ran)
        return NAN;
    switch (s->field) {
    case F_WALL: return p->wall_s;
    case F_USER: return p->cpu_user_s;
    case F_SYS: return p->cpu_sys_s;
    case F_PEAK: return p->rss_peak_bytes;
    case F_AVG: return p->rss_avg_bytes;
    case F_RATE_ITEMS:
    case F_RATE_TOKENS:
    case F_RATE_STEPS: {
        double w = p->work[s->field - F_RATE_ITEMS];
        return w > 0 && p->wall_s > 0 ? w / p->wall_s : NAN;
    }
    case F_GFLOPS:
        return p->work[MLB_WORK_FLOPS] > 0 && p->wall_s > 0
                   ? p->work[MLB_WORK_FLOPS] / p->wall_s * 1e-9
                   : NAN;
    }
    return NAN;
}

/* The median latency of one repetition's infer queries: what a user of the
 * model waits for, whatever the number of queries (--infer-queries). */
static double query_median(const mlb_rep *r, const void *arg)
{
    (void)arg;
    if (!r->n_latency)
        return NAN;
    double v[4096];
    size_t n = r->n_latency < 4096 ? r->n_latency : 4096;
    memcpy(v, r->latency_s, n * sizeof(double));
    gsl_sort(v, 1, n);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double metric_value(const mlb_rep *r, const void *arg)
{
    const char *name = arg;
    for (size_t i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].name, name))
            return r->metrics[i].value;
    return NAN;
}

/* Seconds into train at which the progress metric first reached the target. */
static double time_to_target(const mlb_rep *r, const void *arg)
{
    const mlb_run *run = arg;
    int lower = 0;
    for (size_t i = 0; i < r->n_metrics; i++)
        if (!strcmp(r->metrics[i].name, run->target_metric))
            lower = r->metrics[i].dir < 0;
    for (size_t i = 0; i < r->n_progress; i++) {
        const mlb_progress *p = &r->progress[i];
        if (strcmp(p->metric, run->target_metric) != 0 || !isfinite(p->value))
            continue;
        if (lower ? p->value <= run->target : p->value >= run->target)
            return p->t;
    }
    return INFINITY; /* never reached: counted as missing */
}

static void add_summary(cJSON *o, const char *key, double *x, size_t n, uint64_t seed, char *err)
{
    if (n == 0)
        return;
    mlb_summary s;
    int rc = mlb_summary_compute(x, n, seed, &s);
    cJSON *j = rc == 0 ? mlb_summary_to_json(&s) : NULL;
    if (!j || !cJSON_AddItemToObject(o, key, j)) {
        cJSON_Delete(j);
        fail(err, "summary of %s: %s", key, strerror(rc < 0 ? -rc : ENOMEM));
    }
}

static int metric_seen(char (*names)[64], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(names[i], name))
            return 1;
    return 0;
}

/* Distinct metric names over the run's successful repetitions. */
/* The metrics of a run's successful repetitions, each once, with how the
 * first repetition that reported it declared it. */
static size_t metric_names(const mlb_run *run, char (*names)[64], const mlb_metric **decl,
                           size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n_reps; i++) {
        const mlb_rep *r = &run->reps[i];
        if (r->status != MLB_REP_OK)
            continue;
        for (size_t k = 0; k < r->n_metrics && n < cap; k++)
            if (!metric_seen(names, n, r->metrics[k].name)) {
                snprintf(names[n], 64, "%s", r->metrics[k].name);
                decl[n++] = &r->metrics[k];
            }
    }
    return n;
}

static cJSON *run_summary(const mlb_run *run, uint64_t seed, char *err)
{
    cJSON *sum = cJSON_CreateObject();
    if (!sum) {
        fail(err, "summary of %s:%s: out of memory", run->pl->desc.task, run->pl->desc.variant);
        return NULL;
    }
    size_t n_ok = 0;
    for (size_t i = 0; i < run->n_reps; i++)
        n_ok += run->reps[i].status == MLB_REP_OK;
    cJSON_AddNumberToObject(sum, "repetitions_ok", (double)n_ok);
    double *x = malloc((run->n_reps + 1) * sizeof(double));
    if (!x) {
        fail(err, "summary of %s:%s: out of memory", run->pl->desc.task, run->pl->desc.variant);
        return sum;
    }
    cJSON *phases = cJSON_AddObjectToObject(sum, "phases");
    for (int ph = 0; ph < MLB_PH_N; ph++) {
        cJSON *po = NULL;
        for (int f = 0; f <= F_GFLOPS; f++) {
            phase_sel sel = {ph, f};
            size_t n = collect(run, phase_value, &sel, x);
            if (!n)
                continue;
            if (!po)
                po = cJSON_AddObjectToObject(phases, mlb_phase_names[ph]);
            add_summary(po, field_json[f], x, n, seed, err);
        }
    }
    /* Latency percentiles over every query of every successful repetition. */
    size_t n_lat = 0;
    for (size_t i = 0; i < run->n_reps; i++)
        if (run->reps[i].status == MLB_REP_OK)
            n_lat += run->reps[i].n_latency;
    if (n_lat) {
        double *lat = malloc(n_lat * sizeof(double));
        if (!lat)
            fail(err, "latency percentiles: out of memory");
        if (lat) {
            size_t k = 0;
            for (size_t i = 0; i < run->n_reps; i++)
                if (run->reps[i].status == MLB_REP_OK)
                    for (size_t q = 0; q < run->reps[i].n_latency; q++)
                        lat[k++] = run->reps[i].latency_s[q];
            gsl_sort(lat, 1, k);
            cJSON *lo = cJSON_AddObjectToObject(sum, "infer_latency_s");
            cJSON_AddNumberToObject(lo, "n", (double)k);
            cJSON_AddNumberToObject(lo, "p50", gsl_stats_quantile_from_sorted_data(lat, 1, k, 0.50));
            cJSON_AddNumberToObject(lo, "p90", gsl_stats_quantile_from_sorted_data(lat, 1, k, 0.90));
            cJSON_AddNumberToObject(lo, "p99", gsl_stats_quantile_from_sorted_data(lat, 1, k, 0.99));
            cJSON_AddNumberToObject(lo, "mean", gsl_stats_mean(lat, 1, k));
            cJSON_AddNumberToObject(lo, "max", lat[k - 1]);
            free(lat);
        }
    }
    char names[64][64];
    const mlb_metric *decl[64];
    size_t nm = metric_names(run, names, decl, 64);
    if (nm) {
        cJSON *mo = cJSON_AddObjectToObject(sum, "metrics");
        for (size_t m = 0; m < nm; m++) {
            size_t n = collect(run, metric_value, names[m], x);
            if (!n)
                continue;
            mlb_summary s;
            int rc = mlb_summary_compute(x, n, seed, &s);
            cJSON *j = rc == 0 ? mlb_summary_to_json(&s) : NULL;
            if (!j)
                fail(err, "summary of metric %s: %s", names[m], strerror(rc < 0 ? -rc : ENOMEM));
            if (j) {
                cJSON_AddStringToObject(j, "better", decl[m]->dir > 0 ? "higher" : "lower");
                if (decl[m]->flags & MLB_METRIC_RESTATES_TIME)
                    cJSON_AddBoolToObject(j, "restates_time", 1);
                cJSON_AddItemToObject(mo, names[m], j);
            }
        }
    }
    if (run->target_metric) {
        cJSON *tt = cJSON_AddObjectToObject(sum, "time_to_target");
        cJSON_AddStringToObject(tt, "metric", run->target_metric);
        cJSON_AddNumberToObject(tt, "target", run->target);
        size_t n = collect(run, time_to_target, run, x);
        cJSON_AddNumberToObject(tt, "reached", (double)n);
        cJSON_AddNumberToObject(tt, "of", (double)n_ok);
        add_summary(tt, "train_s", x, n, seed, err);
    }
    free(x);
    return sum;
}

static int push_cmp(mlb_session *s, int a, int b, const char *what, int better, const double *xa,
                    size_t na, const double *xb, size_t nb)
{
    if (na == 0 || nb == 0)
        return 0;
    mlb_cmp_entry *v = realloc(s->cmps, (s->n_cmps + 1) * sizeof(*v));
    if (!v) {
        fail(s->analysis_error, "comparison of %s: out of memory", what);
        return -1;
    }
    s->cmps = v;
    mlb_cmp_entry *e = &s->cmps[s->n_cmps];
    memset(e, 0, sizeof(*e));
    e->a = a;
    e->b = b;
    e->better = better;
    snprintf(e->what, sizeof e->what, "%s", what);
    int rc = mlb_compare_samples(xa, na, xb, nb, s->seed, &e->c);
    if (rc < 0) {
        fail(s->analysis_error, "comparison of %s, %s:%s against %s: %s", what,
             s->runs[a].pl->desc.task, s->runs[a].pl->desc.variant, s->runs[b].pl->desc.variant,
             strerror(-rc));
        return rc;
    }
    s->n_cmps++;
    return 0;
}

static void compare_pair(mlb_session *s, int a, int b)
{
    const mlb_run *ra = &s->runs[a], *rb = &s->runs[b];
    size_t cap = (ra->n_reps > rb->n_reps ? ra->n_reps : rb->n_reps) + 1;
    double *xa = malloc(cap * sizeof(double)), *xb = malloc(cap * sizeof(double));
    if (!xa || !xb) {
        fail(s->analysis_error, "comparisons: out of memory");
        goto out;
    }
    phase_sel sel = {MLB_PH_TRAIN, F_WALL};
    size_t na = collect(ra, phase_value, &sel, xa), nb = collect(rb, phase_value, &sel, xb);
    push_cmp(s, a, b, "train", MLB_BETTER_LOWER_TIME, xa, na, xb, nb);
    /* Infer per query, not the phase total, so that more queries is not
     * "slower" and fewer is not an "improvement". */
    na = collect(ra, query_median, NULL, xa);
    nb = collect(rb, query_median, NULL, xb);
    push_cmp(s, a, b, "infer_query", MLB_BETTER_LOWER_TIME, xa, na, xb, nb);
    char names[64][64];
    const mlb_metric *decl[64];
    size_t nm = metric_names(ra, names, decl, 64);
    for (size_t m = 0; m < nm; m++) {
        /* A restated phase time is the phase's comparison again: said once. */
        if (decl[m]->flags & MLB_METRIC_RESTATES_TIME)
            continue;
        na = collect(ra, metric_value, names[m], xa);
        nb = collect(rb, metric_value, names[m], xb);
        char what[80];
        snprintf(what, sizeof what, "metric:%s", names[m]);
        if (push_cmp(s, a, b, what, decl[m]->dir < 0 ? MLB_BETTER_LOWER : MLB_BETTER_HIGHER, xa,
                     na, xb, nb) == 0 && s->n_cmps &&
            !strcmp(s->cmps[s->n_cmps - 1].what, what)) {
            s->cmps[s->n_cmps - 1].rel_tol = decl[m]->rel_tol;
            s->cmps[s->n_cmps - 1].abs_tol = decl[m]->abs_tol;
        }
    }
out:
    free(xa);
    free(xb);
}

/* Drops what a failed analysis computed: a document holds either the
 * whole analysis or none of it, never a family adjusted over a part. */
static int analysis_failed(mlb_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        cJSON_Delete(s->runs[i].summary);
        s->runs[i].summary = NULL;
    }
    free(s->cmps);
    s->cmps = NULL;
    s->n_cmps = 0;
    return -1;
}

int mlb_session_analyze(mlb_session *s)
{
    s->analysis_error[0] = '\0';
    /* Test-only: the path a failed analysis takes (tests/integration). */
    const char *fault = getenv("MLBENCH_TEST_FAULT");
    if (fault && strcmp(fault, "analysis") == 0) {
        fail(s->analysis_error, "injected by MLBENCH_TEST_FAULT=analysis");
        return analysis_failed(s);
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        cJSON_Delete(s->runs[i].summary);
        s->runs[i].summary = run_summary(&s->runs[i], s->seed, s->analysis_error);
    }
    free(s->cmps);
    s->cmps = NULL;
    s->n_cmps = 0;
    for (size_t i = 0; i < s->n_runs; i++)
        for (size_t j = i + 1; j < s->n_runs; j++)
            if (s->runs[i].group == s->runs[j].group)
                compare_pair(s, (int)i, (int)j);
    /* A family is every comparison of one group (the variants of a task
     * compared in this run, over every phase and metric) that has a test;
     * Holm's adjustment decides significance (it controls the family-wise
     * error like Bonferroni, with more power); BH is reported alongside. */
    size_t n = s->n_cmps;
    double *p = malloc(4 * (n + 1) * sizeof(double));
    size_t *idx = malloc((n + 1) * sizeof(size_t));
    if (!p || !idx || s->analysis_error[0]) {
        free(p);
        free(idx);
        fail(s->analysis_error, "family adjustment: out of memory");
        return analysis_failed(s);
    }
    for (size_t i = 0; i < n; i++)
        s->cmps[i].p_bonferroni = s->cmps[i].p_holm = s->cmps[i].p_bh = NAN;
    for (size_t g0 = 0; g0 < n;) {
        int group = s->runs[s->cmps[g0].a].group;
        size_t g1 = g0, m = 0;
        while (g1 < n && s->runs[s->cmps[g1].a].group == group)
            g1++;
        for (size_t i = g0; i < g1; i++) {
            mlb_cmp_entry *e = &s->cmps[i];
            if (e->c.chosen != MLB_TEST_NONE && isfinite(e->c.chosen_p)) {
                idx[m] = i;
                p[m++] = e->c.chosen_p;
            }
        }
        if (m && mlb_p_adjust(p, m, p + m, p + 2 * m, p + 3 * m) == 0) {
            for (size_t k = 0; k < m; k++) {
                mlb_cmp_entry *e = &s->cmps[idx[k]];
                e->p_bonferroni = p[m + k];
                e->p_holm = p[2 * m + k];
                e->p_bh = p[3 * m + k];
                mlb_comparison_set_adjusted(&e->c, e->p_holm, "holm");
                mlb_comparison_set_family(&e->c, m);
            }
        }
        g0 = g1;
    }
    for (size_t i = 0; i < n; i++) {
        mlb_cmp_entry *e = &s->cmps[i];
        const char *what = strncmp(e->what, "metric:", 7) ? e->what : e->what + 7;
        /* Significant is not enough: a difference inside the margin of
         * practical equivalence is no difference (docs/methodology.md). */
        mlb_margin mg = mlb_margin_default(e->better);
        if (e->better == MLB_BETTER_LOWER_TIME && s->equivalence > 0)
            mg.rel = s->equivalence;
        else if (e->better != MLB_BETTER_LOWER_TIME && (e->rel_tol > 0 || e->abs_tol > 0))
            mg = (mlb_margin){e->rel_tol, e->abs_tol}; /* the plugin's own tolerance */
        mlb_comparison_set_margin(&e->c, e->better, mg);
        mlb_comparison quiet = e->c;
        quiet.few_reps = 0;
        if (!strcmp(what, "infer_query"))
            what = "infer (per query)";
        mlb_verdict(e->verdict, sizeof e->verdict, s->runs[e->a].pl->desc.variant,
                    s->runs[e->b].pl->desc.variant, what, e->better, &quiet);
        int g = s->runs[e->a].group;
        if (g >= 0 && (size_t)g < s->n_groups && s->groups[g].params_differ) {
            size_t len = strlen(e->verdict);
            snprintf(e->verdict + len, sizeof e->verdict - len, " (parameters differ: %s)",
                     s->groups[g].params_differ);
        }
        /* A sentence cut at the buffer's size ends on a whole character. */
        if (strlen(e->verdict) + 1 >= sizeof e->verdict)
            mlb_utf8_trim_end(e->verdict);
    }
    free(p);
    free(idx);
    return 0;
}
