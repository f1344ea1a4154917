/* The terminal table printed after a run: one block per group of compared
 * variants, then the verdicts. It is rendered from the results document with
 * the reports' cells (cells.h), so that the terminal, HTML, CSV and Markdown
 * show the same numbers against the same baseline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "stats.h"
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

static void print_verdicts(FILE *f, const cJSON *doc, const mlb_doc_group_list *gl)
{
    const cJSON *c;
    int any = 0;
    for (size_t k = 0; k < gl->n; k++) {
        size_t hidden = 0;
        for (c = NULL; (c = mlb_group_cmp_next(doc, &gl->v[k], c));) {
            if (!gl->v[k].base || !headline(c, &gl->v[k])) {
                hidden++;
                continue;
            }
            if (!any++)
                fprintf(f, "\nVerdicts against each group's baseline (p adjusted by Holm within "
                           "the group's comparisons):\n");
            fprintf(f, "  %s: %s\n", mlb_or_dash(mlb_jstr(c, "task")),
                    mlb_or_dash(mlb_jstr(c, "verdict")));
        }
        if (hidden)
            fprintf(f, "  (%zu more comparison%s of this group, equivalent quality or between "
                       "non-baseline variants: in the JSON and the HTML report)\n",
                    hidden, hidden == 1 ? "" : "s");
        /* The repetition-count warning, once per group rather than per line. */
        for (c = NULL; (c = mlb_group_cmp_next(doc, &gl->v[k], c));) {
            if (!few_reps(c))
                continue;
            /* All of its warnings, as mlb_comparison_warnings joins them. */
            const cJSON *w;
            const char *sep = "";
            fprintf(f, "  %s: warning: ", mlb_or_dash(mlb_jstr(c, "task")));
            cJSON_ArrayForEach(w, mlb_jget(c, "warnings"))
            {
                if (!cJSON_IsString(w))
                    continue;
                fprintf(f, "%s%s", sep, w->valuestring);
                sep = "; ";
            }
            fprintf(f, "\n");
            break;
        }
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
    print_verdicts(f, doc, &gl);
    mlb_groups_free(&gl);
    fprintf(f, "\n");
}
