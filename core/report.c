/* The terminal table printed after a run: one block per group of compared
 * variants, then the verdicts. It is rendered from the results document with
 * the reports' cells (cells.h), so that the terminal, HTML, CSV and Markdown
 * show the same numbers against the same baseline. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"
#include "cells.h"
#include "export.h"
#include "stats.h"
#include "summary.h"
#include "textbuf.h"

/* Pads by display width: "±", "×" and "–" are one column but several bytes. */
static void put_col(FILE *f, const char *s, int width)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        cols += (*p & 0xC0) != 0x80;
    fputs(s, f);
    for (; cols < width; cols++)
        fputc(' ', f);
    fputc(' ', f);
}

static void print_group(FILE *f, const mlb_doc_group *g)
{
    static const char *const head[] = {"variant", "status", "train (median)", "infer p50/query",
                                       "train/s", "infer/s", "GFLOP/s", "peak RSS", "speed-up"};
    static const int widths[] = {14, 11, 19, 19, 10, 11, 9, 10, 16};
    enum { N_COLS = sizeof widths / sizeof *widths };
    mlb_sbuf t = {0};
    mlb_group_title(&t, g, NULL);
    fprintf(f, "\n== %s ==\n", t.s && !t.oom ? t.s : "?");
    free(t.s);
    for (size_t k = 0; k < N_COLS; k++)
        put_col(f, head[k], widths[k]);
    fprintf(f, "metrics\n");
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *r = g->runs[i];
        mlb_cells c;
        mlb_cells_fill(&c, g, r);
        const char *cells[N_COLS] = {mlb_run_variant(r), mlb_or_dash(mlb_jstr(r, "status")),
                                     c.train, c.lat_p50, c.rate_train, c.rate_infer, c.gflops,
                                     c.rss, c.speedup};
        for (size_t k = 0; k < N_COLS; k++)
            put_col(f, cells[k], widths[k]);
        mlb_sbuf m = {0};
        mlb_metrics_text(&m, r, NULL);
        fprintf(f, "%s\n", m.s && !m.oom ? m.s : MLB_DASH);
        free(m.s);
        if (mlb_jstr(r, "message"))
            fprintf(f, "  %s:%s: %s\n", mlb_or_dash(mlb_jstr(r, "task")), mlb_run_variant(r),
                    mlb_jstr(r, "message"));
    }
    fprintf(f, "  (train: median over repetitions ± half the interquartile range, as %% of the "
               "median; infer: the median query)\n");
}

/* Whether a comparison's repetitions are too few for its family to ever
 * reach significance: the rule of mlb_comparison_set_family, on the
 * document's fields. */
static int few_reps(const cJSON *c)
{
    return mlb_jnum(c, "mwu_min_p") * mlb_jnum(c, "family") >= MLB_STATS_ALPHA;
}

/* The verdicts a reader acts on: each variant against the group's baseline,
 * speed always, quality only where it is not equivalent. Every other pair
 * is in the JSON and the HTML report. */
static int headline(const cJSON *c, const mlb_doc_group *g)
{
    double base = mlb_jnum(g->base, "index");
    if (mlb_jnum(c, "run_a") != base && mlb_jnum(c, "run_b") != base)
        return 0;
    const char *q = mlb_jstr(c, "quantity");
    const char *kind = mlb_jstr(c, "verdict_kind");
    if (q && !strncmp(q, "metric:", 7))
        return !kind || strcmp(kind, "equivalent") != 0;
    return 1;
}

/* A verdict without its trailing warnings: they are said once per group. */
static void put_verdict(FILE *f, const char *task, const char *v)
{
    const char *w = strstr(v, ". Warning: ");
    fprintf(f, "  %s: %.*s\n", task, w ? (int)(w - v) : (int)strlen(v), v);
}

static int cmp_num(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median over a run's successful repetitions of field(rep); NaN if none. */
static double rep_median(const cJSON *run, double (*field)(const cJSON *rep))
{
    double v[512];
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_jget(run, "repetitions"))
    {
        const char *st = mlb_jstr(rep, "status");
        double x = st && !strcmp(st, "ok") ? field(rep) : NAN;
        if (isfinite(x) && n < sizeof v / sizeof v[0])
            v[n++] = x;
    }
    if (!n)
        return NAN;
    qsort(v, n, sizeof v[0], cmp_num);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double train_wall(const cJSON *rep) { return mlb_jnum(rep, "phases.train.wall_s"); }
static double train_cpu(const cJSON *rep)
{
    return mlb_jnum(rep, "phases.train.cpu_user_s") + mlb_jnum(rep, "phases.train.cpu_sys_s");
}
static double other_cores(const cJSON *rep) { return mlb_jnum(rep, "machine.other_cores"); }

/* A single-threaded train whose wall time is far above its CPU time waited
 * for a core: said with the numbers and, when the engine saw it, the load. */
static void busy_warning(mlb_sbuf *b, const cJSON *run)
{
    double th = mlb_jnum(run, "params.threads");
    if (isfinite(th) && th != 1)
        return; /* threads may wait for each other: wall > CPU is no sign */
    double w = rep_median(run, train_wall), c = rep_median(run, train_cpu);
    if (!(w > 0.005) || !(w > 1.5 * c))
        return;
    char tw[32], tc[32];
    mlb_fmt_time(tw, sizeof tw, w);
    mlb_fmt_time(tc, sizeof tc, c);
    double oc = rep_median(run, other_cores);
    mlb_sb_printf(b, "%s%s train: wall %s vs CPU %s", b->len ? "; " : "", mlb_run_variant(run),
                  tw, tc);
    if (oc >= 0.25)
        mlb_sb_printf(b, ": the machine was busy (%.1f other cores)", oc);
    else
        mlb_sb_printf(b, ": it waited (I/O, page faults or a sleeping plugin)");
}

/* One line of the group's warnings, each with the number behind it. */
static void group_warnings(FILE *f, const mlb_doc_group *g)
{
    mlb_sbuf b = {0};
    for (size_t i = 0; i < g->n; i++)
        busy_warning(&b, g->runs[i]);
    static const char *const ph[2][2] = {{"train", "phases.train.wall_s.cv"},
                                         {"infer", "phases.infer.wall_s.cv"}};
    for (size_t i = 0; i < g->n; i++)
        for (int k = 0; k < 2; k++) {
            double cv = mlb_jnum(mlb_jget(g->runs[i], "summary"), ph[k][1]);
            if (cv > 0.10)
                mlb_sb_printf(&b, "%s%s %s varies (CV %.0f%%)", b.len ? "; " : "",
                              mlb_run_variant(g->runs[i]), ph[k][0], 100 * cv);
        }
    for (size_t ci = 0; ci < g->n_cmps; ci++) {
        const cJSON *c = g->cmps[ci];
        if (cJSON_IsTrue(mlb_jget(c, "few_reps")) || few_reps(c)) {
            double need = mlb_jnum(c, "min_reps"), have = INFINITY;
            for (size_t i = 0; i < g->n; i++) {
                double n = mlb_jnum(mlb_jget(g->runs[i], "summary"), "repetitions_ok");
                if (n < have)
                    have = n;
            }
            mlb_sb_printf(&b, "%stoo few repetitions for a family of %.0f comparisons: %.0f per "
                              "variant",
                          b.len ? "; " : "", mlb_jnum(c, "family"), have);
            if (need > 0)
                mlb_sb_printf(&b, ", at least %.0f needed", need);
            break;
        }
    }
    int cross = 0;
    for (size_t ci = 0; ci < g->n_cmps; ci++)
        cross += cJSON_IsTrue(mlb_jget(g->cmps[ci], "cross_host"));
    if (cross)
        mlb_sb_printf(&b, "%s%d comparison%s between runs measured on different hosts (merged "
                          "jobs): the hosts differ as well as the variants",
                      b.len ? "; " : "", cross, cross == 1 ? "" : "s");
    if (b.len && !b.oom)
        fprintf(f, "  %s: warning: %s\n", mlb_or_dash(mlb_jstr(g->runs[0], "task")), b.s);
    free(b.s);
}

static void print_verdicts(FILE *f, const mlb_doc_group_list *gl)
{
    int any = 0;
    for (size_t k = 0; k < gl->n; k++) {
        size_t hidden = 0;
        for (size_t ci = 0; ci < gl->v[k].n_cmps; ci++) {
            const cJSON *c = gl->v[k].cmps[ci];
            if (!gl->v[k].base || !headline(c, &gl->v[k])) {
                hidden++;
                continue;
            }
            if (!any++)
                fprintf(f, "\nVerdicts against each group's baseline (p adjusted by Holm within "
                           "each group's comparisons; equivalence margin: see methodology):\n");
            put_verdict(f, mlb_or_dash(mlb_jstr(c, "task")), mlb_or_dash(mlb_jstr(c, "verdict")));
        }
        if (hidden)
            fprintf(f, "  (%zu more comparison%s of this group, equivalent quality or between "
                       "non-baseline variants: in the JSON and the HTML report)\n",
                    hidden, hidden == 1 ? "" : "s");
        group_warnings(f, &gl->v[k]);
    }
}

static double metric_median(const cJSON *run, const char *name)
{
    char path[128];
    snprintf(path, sizeof path, "summary.metrics.%s.median", name);
    return mlb_jnum(run, path);
}

/* What each run's infer phase did under a scenario other than single-stream:
 * one line per group, one clause per variant. */
static void print_scenarios(FILE *f, const mlb_doc_group_list *gl)
{
    for (size_t k = 0; k < gl->n; k++) {
        const mlb_doc_group *g = &gl->v[k];
        const char *name = g->n ? mlb_jstr(g->runs[0], "config.scenario.name") : NULL;
        if (!name || !strcmp(name, "single-stream"))
            continue;
        const cJSON *r0 = g->runs[0];
        double qps = mlb_jnum(r0, "config.scenario.qps");
        double bound = mlb_jnum(r0, "config.scenario.latency_bound_ms");
        int peak = cJSON_IsTrue(mlb_jpath(r0, "config.scenario.find_peak_qps"));
        fprintf(f, "\nScenario %s", name);
        if (!strcmp(name, "server")) {
            if (peak)
                fprintf(f, " (Poisson arrivals, peak qps search");
            else
                fprintf(f, " (Poisson arrivals at %g qps", qps);
            if (bound > 0)
                fprintf(f, ", p99 bound %g ms", bound);
            fprintf(f, "), medians over repetitions:\n");
        } else {
            fprintf(f, " (all queries at once), medians over repetitions:\n");
        }
        for (size_t i = 0; i < g->n; i++) {
            const cJSON *r = g->runs[i];
            fprintf(f, "  %s:%s: ", mlb_or_dash(mlb_jstr(r, "task")),
                    mlb_or_dash(mlb_jstr(r, "variant")));
            if (strcmp(name, "server")) {
                fprintf(f, "%.4g samples/s\n", metric_median(r, MLB_SCN_M_SAMPLES_PER_S));
                continue;
            }
            if (peak)
                fprintf(f, "peak %.4g qps; at the peak ", metric_median(r, MLB_SCN_M_PEAK));
            fprintf(f, "p50 %.3g ms, p90 %.3g ms, p99 %.3g ms",
                    metric_median(r, MLB_SCN_M_P50), metric_median(r, MLB_SCN_M_P90),
                    metric_median(r, MLB_SCN_M_P99));
            double met = mlb_jnum(r, "scenario.bound_met"), of = mlb_jnum(r, "scenario.of");
            if (bound > 0 && of > 0)
                fprintf(f, "; %s in %.0f of %.0f repetitions", peak ? "bound met" : "p99 met the bound",
                        met, of);
            fprintf(f, "\n");
        }
    }
}

/* One line per group: the fastest variant, its speed-up over the baseline
 * with the CI, its memory and whether its quality is equivalent (summary.h,
 * the same sentence as the reports' summaries). */
static void print_summary(FILE *f, const cJSON *doc, const mlb_doc_group_list *gl)
{
    if (!gl->n)
        return;
    fprintf(f, "\nSummary (speed-up over each group's baseline, 95%% CI):\n");
    for (size_t k = 0; k < gl->n; k++) {
        const mlb_doc_group *g = &gl->v[k];
        mlb_group_summary s;
        mlb_group_summary_compute(doc, g, &s);
        mlb_sbuf t = {0};
        mlb_group_title(&t, g, NULL);
        mlb_sb_puts(&t, ": ");
        mlb_group_summary_text(&t, g, &s, NULL);
        fprintf(f, "  %s\n", t.s && !t.oom ? t.s : "?");
        free(t.s);
    }
    mlb_sbuf r = {0};
    mlb_recommendations(&r, doc, gl, NULL, "  ", ": ", "\n");
    if (r.len && !r.oom)
        fprintf(f, "\nRecommendation:\n%s", r.s);
    free(r.s);
}

/* The sweep's curves: exponent b of t = a·x^b with its CI, and the nearest
 * complexity class. */
static void print_scaling(FILE *f, const cJSON *doc)
{
    const cJSON *c, *sc = mlb_jget(doc, "scaling");
    if (!cJSON_GetArraySize(sc))
        return;
    fprintf(f, "\nScaling over the sweep (cost ~ x^b; memory: floor + x^b):\n");
    fprintf(f, "  %-12s %-12s %-12s %-22s %-20s %-11s %s\n", "task", "parameter", "variant",
            "quantity", "b [95% CI]", "class", "RMS");
    cJSON_ArrayForEach(c, sc)
    {
        char ci[96], rms[32];
        mlb_scaling_b_text(ci, sizeof ci, c);
        mlb_scaling_rms_text(rms, sizeof rms, c);
        fprintf(f, "  %-12s %-12s %-12s %-22s %-20s %-11s %s\n",
                mlb_or_dash(mlb_jstr(c, "task")), mlb_or_dash(mlb_jstr(c, "param")),
                mlb_or_dash(mlb_jstr(c, "variant")), mlb_or_dash(mlb_jstr(c, "quantity")), ci,
                mlb_or_dash(mlb_jstr(c, "complexity")), rms);
    }
}

void mlb_report_terminal(FILE *f, const cJSON *doc)
{
    mlb_doc_group_list gl;
    if (mlb_groups_build(doc, &gl) < 0) {
        fprintf(f, "\n(no table: out of memory)\n");
        return;
    }
    for (size_t k = 0; k < gl.n; k++)
        print_group(f, &gl.v[k]);
    print_verdicts(f, &gl);
    print_scenarios(f, &gl);
    print_summary(f, doc, &gl);
    print_scaling(f, doc);
    mlb_groups_free(&gl);
    mlb_sbuf note = {0};
    mlb_analysis_note(&note, doc, NULL, "\nNote: ", "\n");
    if (note.s && !note.oom)
        fputs(note.s, f);
    free(note.s);
    fprintf(f, "\n");
}
