/* compare: reading the runs of a results document (phase times, memory,
 * per-query latency, metrics) and matching NEW runs to BASELINE runs by
 * task, variant and workload parameters. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_compare.h"
#include "export.h"
#include "stats.h"
#include "textbuf.h"
#include "compare_internal.h"

/* ---- reading runs ------------------------------------------------------------- */

const cJSON *mlb_cr_reps_of(const cJSON *run)
{
    return mlb_jget(run, "repetitions");
}

size_t mlb_cr_n_reps(const cJSON *run)
{
    const cJSON *r = mlb_cr_reps_of(run);
    return cJSON_IsArray(r) ? (size_t)cJSON_GetArraySize(r) : 0;
}

size_t mlb_cr_n_ok(const cJSON *run)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run)) n += (size_t)mlb_rep_ok(rep);
    return n;
}

double mlb_cr_num(const cJSON *o, const char *k)
{
    return mlb_jval(mlb_jget(o, k));
}

const cJSON *mlb_cr_phase_of(const cJSON *rep, const char *phase)
{
    return mlb_jget(mlb_jget(rep, "phases"), phase);
}

size_t mlb_cr_phase_wall(const cJSON *run, const char *phase, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        double v = mlb_cr_num(mlb_cr_phase_of(rep, phase), "wall_s");
        if (mlb_rep_ok(rep) && isfinite(v))
            x[n++] = v;
    }
    return n;
}

/* The highest peak RSS of any phase: what the machine must have for one
 * repetition to run. */
size_t mlb_cr_peak_rss(const cJSON *run, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep))
            continue;
        double m = NAN;
        for (int p = 0; p < MLB_DOC_N_PHASES; p++) {
            double v = mlb_cr_num(mlb_cr_phase_of(rep, mlb_doc_phases[p]), "rss_peak_bytes");
            if (isfinite(v) && !(v <= m))
                m = v;
        }
        if (isfinite(m))
            x[n++] = m;
    }
    return n;
}

int mlb_cr_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's type 7 on sorted s[0..n), n > 0. */
double mlb_cr_quantile7(const double *s, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/* The finite entries of a repetition's infer_latency_s, into a fresh array. */
size_t mlb_cr_latencies(const cJSON *rep, double **out)
{
    const cJSON *lat = mlb_jget(rep, "infer_latency_s"), *e;
    size_t cap = cJSON_IsArray(lat) ? (size_t)cJSON_GetArraySize(lat) : 0, n = 0;
    *out = cap ? malloc(cap * sizeof(double)) : NULL;
    if (!*out)
        return 0;
    cJSON_ArrayForEach(e, lat)
    {
        double v = mlb_jval(e);
        if (isfinite(v))
            (*out)[n++] = v;
    }
    return n;
}

/* Whether every successful repetition that ran infer recorded its queries'
 * latencies (and one at least did). */
int mlb_cr_has_latencies(const cJSON *run)
{
    int any = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep) || !mlb_cr_phase_of(rep, "infer"))
            continue;
        const cJSON *lat = mlb_jget(rep, "infer_latency_s");
        if (!cJSON_IsArray(lat) || cJSON_GetArraySize(lat) == 0)
            return 0;
        any = 1;
    }
    return any;
}

/* Per repetition, the median latency of its queries: a query's typical
 * cost, which does not move when --infer-queries does (the phase total
 * does). Without latency arrays, the phase total over the number of queries
 * (a mean per query). q[] gets n, p50, p90, p99 of every query (NaN without
 * arrays). Returns the sample size, or -ENOMEM. */
int mlb_cr_query_latency(const cJSON *run, int from_total, double *x, double q[4])
{
    size_t n = 0, all_n = 0, all_cap = 0;
    double *all = NULL;
    q[0] = 0;
    q[1] = q[2] = q[3] = NAN;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep) || !mlb_cr_phase_of(rep, "infer"))
            continue;
        if (from_total) {
            double w = mlb_cr_num(mlb_cr_phase_of(rep, "infer"), "wall_s");
            double nq = mlb_jnum(run, "config.infer_queries");
            if (isfinite(w) && nq > 0)
                x[n++] = w / nq;
            continue;
        }
        double *l;
        size_t k = mlb_cr_latencies(rep, &l);
        if (!k) {
            free(l);
            continue;
        }
        qsort(l, k, sizeof *l, mlb_cr_cmp_double);
        x[n++] = mlb_cr_quantile7(l, k, 0.5);
        if (all_n + k > all_cap) {
            size_t nc = 2 * (all_n + k);
            double *na = realloc(all, nc * sizeof *na);
            if (!na) {
                free(l);
                free(all);
                return -ENOMEM;
            }
            all = na;
            all_cap = nc;
        }
        memcpy(all + all_n, l, k * sizeof *l);
        all_n += k;
        free(l);
    }
    if (all_n) {
        qsort(all, all_n, sizeof *all, mlb_cr_cmp_double);
        q[0] = (double)all_n;
        q[1] = mlb_cr_quantile7(all, all_n, 0.50);
        q[2] = mlb_cr_quantile7(all, all_n, 0.90);
        q[3] = mlb_cr_quantile7(all, all_n, 0.99);
    }
    free(all);
    return (int)n;
}

size_t mlb_cr_metric_values(const cJSON *run, const char *name, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        double v = mlb_cr_num(mlb_jget(mlb_jget(rep, "metrics"), name), "value");
        if (mlb_rep_ok(rep) && isfinite(v))
            x[n++] = v;
    }
    return n;
}

/* MLB_BETTER_LOWER or _HIGHER from the metric's `better` (repetitions
 * first, then the summary); -1 when the run does not say. */
int mlb_cr_metric_better(const cJSON *run, const char *name)
{
    const cJSON *rep;
    const char *b = NULL;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if ((b = mlb_jstr(mlb_jget(mlb_jget(rep, "metrics"), name), "better")))
            break;
    }
    if (!b)
        b = mlb_jstr(mlb_jget(mlb_jget(mlb_jget(run, "summary"), "metrics"), name), "better");
    if (b && !strcmp(b, "lower"))
        return MLB_BETTER_LOWER;
    return b && !strcmp(b, "higher") ? MLB_BETTER_HIGHER : -1;
}

/* The metric names of a run's successful repetitions, appended to names[]
 * without duplicates. */
size_t mlb_cr_metric_names(const cJSON *run, char names[][64], size_t n, size_t cap)
{
    const cJSON *rep, *m;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep))
            continue;
        cJSON_ArrayForEach(m, mlb_jget(rep, "metrics"))
        {
            if (!m->string || strlen(m->string) >= 64)
                continue;
            size_t i = 0;
            while (i < n && strcmp(names[i], m->string))
                i++;
            if (i == n && n < cap)
                snprintf(names[n++], 64, "%s", m->string);
        }
    }
    return n;
}

/* ---- matching ----------------------------------------------------------------- */

/* Whether a parameter says how the work is done rather than what work, so
 * that it may differ between two runs whose times are compared (a plugin's
 * MLB_RULE_TUNING, which params_differ skips too). The results document
 * does not record those flags; the rule every bundled plugin follows is
 * that `threads` is tuning. Matching asks only this function, so that it
 * can read a recorded list once the schema has one. */
int mlb_cr_param_is_tuning(const cJSON *run, const char *name)
{
    (void)run;
    return !strcmp(name, "threads");
}

void mlb_cr_fmt_value(char *b, size_t n, const cJSON *v)
{
    if (!v)
        snprintf(b, n, "(absent)");
    else if (cJSON_IsString(v))
        snprintf(b, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        mlb_fmt_exact(b, n, v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(b, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(b, n, "null");
}

/* How many parameters of one kind (tuning or workload) differ between runs
 * a and b, a parameter present on one side only counting as different;
 * "name a vs b" for each is appended to out (may be NULL). */
size_t mlb_cr_param_diff(const cJSON *a, const cJSON *b, int tuning, mlb_sbuf *out)
{
    const cJSON *pa = mlb_jget(a, "params"), *pb = mlb_jget(b, "params"), *p;
    size_t n = 0;
    for (int side = 0; side < 2; side++) {
        const cJSON *run = side ? b : a, *mine = side ? pb : pa, *other = side ? pa : pb;
        cJSON_ArrayForEach(p, mine)
        {
            if (!p->string || mlb_cr_param_is_tuning(run, p->string) != tuning)
                continue;
            const cJSON *q = mlb_jget(other, p->string);
            if (side ? q != NULL : q && cJSON_Compare(p, q, 1))
                continue; /* seen from a's side, or equal */
            if (out) {
                char va[128], vb[128];
                mlb_cr_fmt_value(va, sizeof va, side ? q : p);
                mlb_cr_fmt_value(vb, sizeof vb, side ? p : q);
                mlb_sb_printf(out, "%s%s %s vs %s", n ? ", " : "", p->string, va, vb);
            }
            n++;
        }
    }
    return n;
}

int mlb_cr_same_task_variant(const cJSON *a, const cJSON *b)
{
    const char *ta = mlb_jstr(a, "task"), *tb = mlb_jstr(b, "task");
    const char *va = mlb_jstr(a, "variant"), *vb = mlb_jstr(b, "variant");
    return ta && tb && va && vb && !strcmp(ta, tb) && !strcmp(va, vb);
}

/* "k=v k=v" of a run's workload parameters: all of them, or with
 * only_distinct those in which another run of `doc` with the same
 * task:variant differs. */
void mlb_cr_workload_text(mlb_sbuf *b, const cJSON *run, const cJSON *doc, int only_distinct)
{
    const cJSON *p, *r;
    int first = 1;
    cJSON_ArrayForEach(p, mlb_jget(run, "params"))
    {
        if (!p->string || mlb_cr_param_is_tuning(run, p->string))
            continue;
        int distinct = !only_distinct;
        cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
        {
            if (distinct)
                break;
            const cJSON *q = mlb_jget(mlb_jget(r, "params"), p->string);
            distinct = r != run && mlb_cr_same_task_variant(r, run) && !(q && cJSON_Compare(p, q, 1));
        }
        if (!distinct)
            continue;
        char v[128];
        mlb_cr_fmt_value(v, sizeof v, p);
        mlb_sb_printf(b, "%s%s=%s", first ? "" : " ", p->string, v);
        first = 0;
    }
}

/* task:variant, and where NEW holds several runs of it, the workload
 * parameters that tell them apart (or the run's index, for two alike). */
void mlb_cr_run_label(char *buf, size_t len, const cJSON *run, const cJSON *doc)
{
    mlb_sbuf b = {0};
    mlb_sb_printf(&b, "%s:%s", mlb_jstr(run, "task"), mlb_jstr(run, "variant"));
    size_t at = b.len;
    mlb_sb_puts(&b, " [");
    size_t inner = b.len;
    mlb_cr_workload_text(&b, run, doc, 1);
    int twin = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        twin |= r != run && mlb_cr_same_task_variant(r, run) && mlb_cr_param_diff(r, run, 0, NULL) == 0;
    }
    if (twin) {
        /* A document's index may be missing or any number (found by
         * fuzz_compare): converting NaN or a huge value to int is undefined. */
        double ix = mlb_jnum(run, "index");
        if (isfinite(ix) && fabs(ix) < 1e15)
            mlb_sb_printf(&b, "%s#%.0f", b.len > inner ? " " : "", ix);
        else
            mlb_sb_printf(&b, "%s#?", b.len > inner ? " " : "");
    }
    if (b.len > inner)
        mlb_sb_puts(&b, "]");
    else if (b.s)
        b.s[b.len = at] = '\0';
    snprintf(buf, len, "%s", b.oom || !b.s ? "?" : b.s);
    free(b.s);
}

/* Pairs each NEW run with the first unused BASELINE run of the same task,
 * variant and workload. matched_b[i] is set for a BASELINE run that found
 * its pair; pair_of_a[j] is the pair index of NEW run j, or -1. */
int mlb_cr_match_runs(const cJSON *base, const cJSON *cur, pair **out, size_t *n_out,
                      int *matched_b, long *pair_of_a)
{
    const cJSON *ra, *rb;
    size_t n = 0, j = 0;
    pair *ps = NULL;
    cJSON_ArrayForEach(ra, mlb_jget(cur, "runs"))
    {
        pair_of_a[j] = -1;
        size_t i = 0;
        cJSON_ArrayForEach(rb, mlb_jget(base, "runs"))
        {
            if (!matched_b[i] && mlb_cr_same_task_variant(ra, rb) && mlb_cr_param_diff(ra, rb, 0, NULL) == 0)
                break;
            i++;
        }
        if (rb) {
            pair *np = realloc(ps, (n + 1) * sizeof *np);
            if (!np) {
                free(ps);
                return -ENOMEM;
            }
            ps = np;
            pair *p = &ps[n];
            memset(p, 0, sizeof *p);
            p->a = ra;
            p->b = rb;
            mlb_cr_run_label(p->label, sizeof p->label, ra, cur);
            mlb_sbuf t = {0};
            if (mlb_cr_param_diff(ra, rb, 1, &t) && t.s)
                snprintf(p->tuning_diff, sizeof p->tuning_diff, "%s", t.s);
            free(t.s);
            matched_b[i] = 1;
            pair_of_a[j] = (long)n++;
        }
        j++;
    }
    *out = ps;
    *n_out = n;
    return 0;
}

