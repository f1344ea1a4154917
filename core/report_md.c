/* The Markdown report: GitHub tables and verdicts, for docs/PERFORMANCE.md
 * or a pull request. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "summary.h"
#include "textbuf.h"

/* A short list: machine, OpenBLAS, engine, command, and the status when the
 * run did not complete. */
static void md_environment(mlb_sbuf *b, const cJSON *doc)
{
    const cJSON *env = mlb_jget(doc, "environment");
    char cores[32] = "";
    if (isfinite(mlb_jnum(env, "cpu_cores_online")))
        snprintf(cores, sizeof cores, ", %.0f cores", mlb_jnum(env, "cpu_cores_online"));
    mlb_sb_puts(b, "- **Machine:** ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "cpu_model")));
    mlb_sb_puts(b, cores);
    mlb_sb_puts(b, "; ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "kernel")));
    mlb_sb_puts(b, "\n- **OpenBLAS:** ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "openblas_config")));
    mlb_sb_puts(b, "\n- **Engine:** ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "engine_version")));
    mlb_sb_puts(b, ", commit ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "git_commit")));
    mlb_sb_puts(b, "; started ");
    mlb_sb_md(b, mlb_or_dash(mlb_jstr(env, "timestamp_utc")));
    char seed[64];
    mlb_fmt_exact(seed, sizeof seed, mlb_jnum(env, "seed"));
    mlb_sb_puts(b, "; seed ");
    mlb_sb_md(b, mlb_or_dash(seed));
    mlb_sbuf cmd = {0};
    mlb_command_line(&cmd, env);
    if (cmd.s && cmd.len) {
        mlb_sb_puts(b, "\n- **Command:** `");
        for (const char *p = cmd.s; *p; p++) /* inside a code span: no escapes */
            mlb_sb_putn(b, *p == '`' || *p == '\n' ? "'" : p, 1);
        mlb_sb_puts(b, "`");
    }
    if (cmd.oom)
        b->oom = 1;
    free(cmd.s);
    mlb_unfinished_note(b, doc, mlb_sb_md, "\n- **Status:** ", "");
    mlb_analysis_note(b, doc, mlb_sb_md, "\n- **Analysis:** ", "");
    mlb_sb_puts(b, "\n");
}

static void md_group(mlb_sbuf *b, const mlb_doc_group *g)
{
    mlb_sb_puts(b, "\n### ");
    mlb_group_title(b, g, mlb_sb_md);
    mlb_sb_puts(b, "\n\n| variant | status | train median \xc2\xb1 IQR/2 | infer p50 / p90 / p99 | "
                   "train items/s | infer items/s | GFLOP/s | peak RSS | speed-up | metrics "
                   "(median) |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
    for (size_t i = 0; i < g->n; i++) {
        mlb_cells c;
        mlb_cells_fill(&c, g, g->runs[i]);
        mlb_sb_puts(b, "| ");
        mlb_sb_md(b, mlb_run_variant(g->runs[i]));
        mlb_sb_puts(b, " | ");
        mlb_sb_md(b, mlb_or_dash(mlb_jstr(g->runs[i], "status")));
        const char *cells[] = {c.train, c.lat, c.rate_train, c.rate_infer, c.gflops, c.rss,
                               c.speedup};
        for (size_t q = 0; q < sizeof cells / sizeof *cells; q++) {
            mlb_sb_puts(b, " | ");
            mlb_sb_md(b, cells[q]);
        }
        mlb_sb_puts(b, " | ");
        mlb_metrics_text(b, g->runs[i], mlb_sb_md);
        mlb_sb_puts(b, " |\n");
    }
    mlb_sb_puts(b, "\n");
    mlb_speedup_note(b, g, mlb_sb_md);
    mlb_sb_puts(b, "\n");
    int n = 0;
    for (size_t ci = 0; ci < g->n_cmps; ci++) {
        const cJSON *c = g->cmps[ci];
        if (!n++)
            mlb_sb_puts(b, "\nComparisons (p adjusted by Holm within this group's "
                           "comparisons):\n\n");
        mlb_sb_puts(b, "- `");
        mlb_sb_md(b, mlb_or_dash(mlb_jstr(c, "quantity")));
        mlb_sb_puts(b, "`: ");
        mlb_sb_md(b, mlb_or_dash(mlb_jstr(c, "verdict")));
        mlb_sb_puts(b, "\n");
    }
    n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep;
        int r = 0;
        cJSON_ArrayForEach(rep, mlb_jget(g->runs[i], "repetitions"))
        {
            r++;
            if (mlb_rep_ok(rep))
                continue;
            if (!n++)
                mlb_sb_puts(b, "\nFailures:\n\n");
            mlb_sb_puts(b, "- ");
            mlb_sb_md(b, mlb_run_variant(g->runs[i]));
            mlb_sb_printf(b, ", repetition %d: ", r);
            mlb_sb_md(b, mlb_or_dash(mlb_jstr(rep, "status")));
            if (mlb_jstr(rep, "message")) {
                mlb_sb_puts(b, ": ");
                mlb_sb_md(b, mlb_jstr(rep, "message"));
            }
            mlb_sb_puts(b, "\n");
        }
    }
}

/* The sweep's curves (scaling[]), one row per fit: as the terminal prints
 * them. Nothing for a document without them. */
static void md_scaling(mlb_sbuf *b, const cJSON *doc)
{
    const cJSON *c, *sc = mlb_jget(doc, "scaling");
    if (!cJSON_IsArray(sc) || cJSON_GetArraySize(sc) <= 0)
        return;
    mlb_sb_puts(b, "\n### Scaling\n\nCost against the swept parameter: b of a\xc2\xb7x^b (memory: "
                   "floor + a\xc2\xb7x^b) with its 95% CI, and the nearest complexity class with "
                   "its RMS error.\n\n| task | parameter | variant | quantity | b [95% CI] | "
                   "class | RMS |\n|---|---|---|---|--:|---|--:|\n");
    cJSON_ArrayForEach(c, sc)
    {
        char bt[96], rms[32];
        mlb_scaling_b_text(bt, sizeof bt, c);
        mlb_scaling_rms_text(rms, sizeof rms, c);
        mlb_sb_puts(b, "| ");
        mlb_sb_md(b, mlb_or_dash(mlb_jstr(c, "task")));
        mlb_sb_puts(b, " | ");
        mlb_sb_md(b, mlb_or_dash(mlb_jstr(c, "param")));
        /* The slice: the other swept parameters' values. */
        mlb_scaling_fixed_text(b, c, mlb_sb_md, " (", ")");
        const char *cells[] = {mlb_or_dash(mlb_jstr(c, "variant")),
                               mlb_or_dash(mlb_jstr(c, "quantity")), bt,
                               mlb_or_dash(mlb_jstr(c, "complexity")), rms};
        for (size_t k = 0; k < sizeof cells / sizeof *cells; k++) {
            mlb_sb_puts(b, " | ");
            mlb_sb_md(b, cells[k]);
        }
        mlb_sb_puts(b, " |\n");
    }
}

/* The answer first: one line per group, as the terminal's summary, then the
 * recommendation per task. */
static void md_summary(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl)
{
    if (!gl->n)
        return;
    mlb_sb_puts(b, "\n### Summary\n\nSpeed-up over each group's baseline with its 95% CI; "
                   "memory and quality against the baseline.\n\n");
    for (size_t k = 0; k < gl->n; k++) {
        mlb_group_summary s;
        mlb_group_summary_compute(doc, &gl->v[k], &s);
        mlb_sb_puts(b, "- **");
        mlb_group_title(b, &gl->v[k], mlb_sb_md);
        mlb_sb_puts(b, ":** ");
        mlb_group_summary_text(b, &gl->v[k], &s, mlb_sb_md);
        mlb_sb_puts(b, "\n");
    }
    mlb_sb_puts(b, "\n### Recommendation\n\n");
    mlb_recommendations(b, doc, gl, mlb_sb_md, "- **", ":** ", "\n");
}

int mlb_render_markdown(const cJSON *doc, mlb_sbuf *b)
{
    mlb_doc_group_list gl;
    if (mlb_groups_build(doc, &gl) < 0)
        return -ENOMEM;
    mlb_sb_puts(b, "## mlbench results\n\n");
    md_environment(b, doc);
    md_summary(b, doc, &gl);
    for (size_t k = 0; k < gl.n; k++)
        md_group(b, &gl.v[k]);
    md_scaling(b, doc);
    mlb_groups_free(&gl);
    return b->oom ? -ENOMEM : 0;
}
