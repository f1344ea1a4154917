/* The CSV report (RFC 4180, CRLF line ends): one row per measured
 * repetition, for spreadsheets and pandas. Numbers are written so that they
 * read back as the document's doubles exactly. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "summary.h"
#include "textbuf.h"

static const char *const csv_quantities[] = {"wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_bytes",
                                             "items"};
#define N_CSV_Q (sizeof csv_quantities / sizeof *csv_quantities)

static void csv_num(mlb_sbuf *b, double v)
{
    char t[40];
    mlb_fmt_exact(t, sizeof t, v);
    mlb_sb_puts(b, t); /* empty where null: "not measured", distinct from 0 */
}

/* A run's number as the `run` column writes it: runs[].index, else its
 * position. */
static int run_number(const cJSON *run, int pos)
{
    double idx = mlb_jnum(run, "index");
    return isfinite(idx) ? (int)idx : pos;
}

/* Metric columns: the union over every repetition of the document. */
static int csv_metric_names(const cJSON *doc, mlb_name_list *m)
{
    const cJSON *r, *rep, *mv;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        cJSON_ArrayForEach(rep, mlb_jget(r, "repetitions"))
        {
            cJSON_ArrayForEach(mv, mlb_jget(rep, "metrics"))
            {
                if (mv->string && mlb_names_add(m, mv->string, NULL) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

static void csv_header(mlb_sbuf *b, const mlb_name_list *m)
{
    mlb_sb_puts(b, "task,variant,run,repetition,status,message,params");
    for (size_t ph = 0; ph < MLB_DOC_N_PHASES; ph++)
        for (size_t q = 0; q < N_CSV_Q; q++)
            mlb_sb_printf(b, ",%s_%s", mlb_doc_phases[ph], csv_quantities[q]);
    mlb_sb_puts(b, ",speedup,baseline_run,group_fastest,group_speedup,group_speedup_ci95_low,"
                   "group_speedup_ci95_high,group_speedup_verdict,group_rss_ratio,"
                   "group_quality_equivalent,group_summary,recommendation");
    for (size_t k = 0; k < m->n; k++) {
        mlb_sb_puts(b, ",");
        char col[300];
        snprintf(col, sizeof col, "metric:%s", m->v[k]);
        mlb_sb_csv(b, col);
    }
    mlb_sb_puts(b, "\r\n");
}

/* The group's summary (summary.h), the same on each of its rows, and the
 * task's recommendation: the answer travels with every row. */
static void csv_summary(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                        const mlb_doc_group *g)
{
    if (!g) {
        mlb_sb_puts(b, ",,,,,,,,,");
        return;
    }
    mlb_group_summary s;
    mlb_group_summary_compute(doc, g, &s);
    mlb_sb_puts(b, ",");
    mlb_sb_csv(b, s.best ? mlb_run_variant(s.best) : NULL);
    mlb_sb_puts(b, ",");
    csv_num(b, s.speedup);
    mlb_sb_puts(b, ",");
    csv_num(b, s.ci_lo);
    mlb_sb_puts(b, ",");
    csv_num(b, s.ci_hi);
    mlb_sb_puts(b, ",");
    mlb_sb_csv(b, s.kind);
    mlb_sb_puts(b, ",");
    csv_num(b, s.rss_best > 0 && s.rss_base > 0 ? s.rss_best / s.rss_base : NAN);
    mlb_sb_puts(b, ",");
    if (s.best && s.best != g->base && s.n_quality)
        mlb_sb_puts(b, s.n_equivalent == s.n_quality ? "true" : "false");
    mlb_sb_puts(b, ",");
    mlb_sbuf t = {0};
    mlb_group_summary_text(&t, g, &s, NULL);
    mlb_sb_csv(b, t.s);
    mlb_sb_puts(b, ",");
    /* The recommendation of this group's task alone: the task's groups. */
    mlb_doc_group *mine = calloc(gl->n, sizeof *mine);
    mlb_doc_group_list sub = {mine, 0, NULL, 0}; /* no run lookups: groups only */
    const char *task = mlb_jstr(g->runs[0], "task");
    for (size_t k = 0; mine && task && k < gl->n; k++) {
        const char *t2 = mlb_jstr(gl->v[k].runs[0], "task");
        if (t2 && !strcmp(t2, task))
            mine[sub.n++] = gl->v[k];
    }
    t.len = 0;
    if (mine)
        mlb_recommendations(&t, doc, &sub, NULL, "", ": ", "");
    mlb_sb_csv(b, t.len ? t.s : NULL);
    if (t.oom || !mine)
        b->oom = 1;
    free(t.s);
    free(mine);
}

static void csv_row(mlb_sbuf *b, int pos, const mlb_doc_group *g, const mlb_sbuf *sum,
                    const cJSON *r, const cJSON *rep, int k, const mlb_name_list *m, double *vals)
{
    mlb_sb_csv(b, mlb_jstr(r, "task"));
    mlb_sb_puts(b, ",");
    mlb_sb_csv(b, mlb_jstr(r, "variant"));
    mlb_sb_printf(b, ",%d,%d,", run_number(r, pos), k);
    mlb_sb_csv(b, mlb_jstr(rep, "status"));
    mlb_sb_puts(b, ",");
    mlb_sb_csv(b, mlb_jstr(rep, "message"));
    mlb_sb_puts(b, ",");
    mlb_sbuf p = {0};
    mlb_params_text(&p, mlb_jget(r, "params"));
    mlb_sb_csv(b, p.s);
    if (p.oom)
        b->oom = 1;
    free(p.s);
    for (size_t ph = 0; ph < MLB_DOC_N_PHASES; ph++) {
        const cJSON *phase = mlb_jget(mlb_jget(rep, "phases"), mlb_doc_phases[ph]);
        for (size_t q = 0; q < N_CSV_Q; q++) {
            mlb_sb_puts(b, ",");
            csv_num(b, mlb_jnum(phase, csv_quantities[q]));
        }
    }
    /* The run's speed-up, exact, on each of its rows: a row stands alone. */
    mlb_sb_puts(b, ",");
    csv_num(b, g ? mlb_speedup(g->base, r) : NAN);
    mlb_sb_printf(b, ",%d", g ? run_number(g->base, g->base_pos) : -1);
    if (sum && sum->s)
        mlb_sb_putn(b, sum->s, sum->len);
    else
        mlb_sb_puts(b, ",,,,,,,,,");
    /* One pass over the repetition's metrics into their columns: looking
     * each column up by name would be quadratic in the metrics. */
    for (size_t c = 0; c < m->n; c++)
        vals[c] = NAN;
    const cJSON *mv;
    cJSON_ArrayForEach(mv, mlb_jget(rep, "metrics"))
    {
        long c = mv->string ? mlb_names_find(m, mv->string) : -1;
        if (c >= 0 && !isfinite(vals[c]))
            vals[c] = mlb_jnum(mv, "value");
    }
    for (size_t c = 0; c < m->n; c++) {
        mlb_sb_puts(b, ",");
        csv_num(b, vals[c]);
    }
    mlb_sb_puts(b, "\r\n");
}

int mlb_render_csv(const cJSON *doc, mlb_sbuf *b)
{
    mlb_name_list m = {0};
    mlb_doc_group_list gl;
    if (mlb_groups_build(doc, &gl) < 0)
        return -ENOMEM;
    int rc = csv_metric_names(doc, &m);
    /* Each group's summary cells once: its rows repeat them. */
    mlb_sbuf *sums = calloc(gl.n ? gl.n : 1, sizeof *sums);
    if (!sums)
        rc = -ENOMEM;
    for (size_t k = 0; rc == 0 && k < gl.n; k++)
        csv_summary(&sums[k], doc, &gl, &gl.v[k]);
    if (rc == 0) {
        csv_header(b, &m);
        const cJSON *r, *rep;
        double *vals = malloc((m.n + 1) * sizeof *vals);
        size_t pos = 0;
        const cJSON *runs = mlb_jget(doc, "runs");
        if (!vals) {
            rc = -ENOMEM;
            runs = NULL;
        }
        cJSON_ArrayForEach(r, runs)
        {
            int k = 0;
            const mlb_doc_group *g = mlb_group_of_run(&gl, pos);
            const mlb_sbuf *sum = g ? &sums[g - gl.v] : NULL;
            if (sum && sum->oom)
                b->oom = 1;
            cJSON_ArrayForEach(rep, mlb_jget(r, "repetitions"))
                csv_row(b, (int)pos, g, sum, r, rep, k++, &m, vals);
            pos++;
        }
        free(vals);
    }
    for (size_t k = 0; sums && k < gl.n; k++)
        free(sums[k].s);
    free(sums);
    mlb_names_free(&m);
    mlb_groups_free(&gl);
    return rc < 0 ? rc : b->oom ? -ENOMEM : 0;
}
