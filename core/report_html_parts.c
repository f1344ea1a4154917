/* The parts of the HTML report a reader decides from (report_html.h): the
 * summary with its recommendations, the speed-up matrix and GFLOP/s against
 * the peak. Their sentences come from summary.c, as the terminal's. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "report_html.h"
#include "summary.h"
#include "svg.h"

void mlb_html_variant(mlb_sbuf *b, const mlb_doc_group *g, size_t i)
{
    mlb_sb_printf(b, "<span class=\"swatch\" style=\"background:%s\"></span>",
                  mlb_svg_color(i));
    mlb_sb_html(b, mlb_run_variant(g->runs[i]));
}

static void group_tasks(mlb_sbuf *b, const mlb_doc_group *g)
{
    const char *task = mlb_or_dash(mlb_jstr(g->runs[0], "task"));
    mlb_sb_html(b, task);
    for (size_t i = 1; i < g->n; i++) {
        const char *t = mlb_jstr(g->runs[i], "task");
        if (t && strcmp(t, task) != 0) {
            mlb_sb_puts(b, ", ");
            mlb_sb_html(b, t);
        }
    }
}

void mlb_html_group_title(mlb_sbuf *b, const mlb_doc_group *g)
{
    group_tasks(b, g);
    mlb_sb_puts(b, " ");
    mlb_group_params_text(b, g, mlb_sb_html);
    mlb_sb_puts(b, ", baseline ");
    mlb_sb_html(b, mlb_run_variant(g->base));
}

/* A verdict kind as a CSS class: only the documented kinds. */
static const char *kind_class(const char *kind)
{
    static const char *const known[] = {"better", "worse", "equivalent", "inconclusive"};
    for (size_t i = 0; kind && i < sizeof known / sizeof *known; i++)
        if (!strcmp(kind, known[i]))
            return known[i];
    return "none";
}

static size_t run_position(const mlb_doc_group *g, const cJSON *run)
{
    for (size_t i = 0; i < g->n; i++)
        if (g->runs[i] == run)
            return i;
    return 0;
}

static void summary_row(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g)
{
    mlb_group_summary s;
    mlb_group_summary_compute(doc, g, &s);
    mlb_sb_printf(b, "<tr><td data-label=\"compared\"><a href=\"#run-%d\">", g->first_index);
    group_tasks(b, g);
    mlb_sb_puts(b, "</a> <span class=\"mono\">");
    mlb_group_params_text(b, g, mlb_sb_html);
    mlb_sb_puts(b, "</span></td><td data-label=\"variants\">");
    for (size_t i = 0; i < g->n; i++) {
        if (i)
            mlb_sb_puts(b, ", ");
        mlb_sb_html(b, mlb_run_variant(g->runs[i]));
        if (g->runs[i] == g->base)
            mlb_sb_puts(b, " (baseline)");
    }
    mlb_sb_puts(b, "</td><td data-label=\"fastest\">");
    if (s.best)
        mlb_html_variant(b, g, run_position(g, s.best));
    else
        mlb_sb_puts(b, MLB_DASH);
    mlb_sb_printf(b, "</td><td class=\"n v-%s\" data-label=\"speed-up\">",
                  s.best && s.best != g->base ? kind_class(s.kind) : "none");
    if (!s.best)
        mlb_sb_puts(b, MLB_DASH);
    else if (s.best == g->base)
        mlb_sb_puts(b, "the baseline is the fastest");
    else {
        mlb_sb_printf(b, "%.2f\xc3\x97", s.speedup);
        if (s.ci_lo > 0 && s.ci_hi > 0)
            mlb_sb_printf(b, " [%.2f, %.2f]", s.ci_lo, s.ci_hi);
        mlb_sb_printf(b, " in %s, ", s.phase);
        mlb_sb_html(b, s.kind ? s.kind : "not compared");
    }
    mlb_sb_puts(b, "</td><td class=\"n\" data-label=\"peak memory\">");
    if (s.best && s.rss_best > 0 && s.rss_base > 0) {
        char rb[32], rs[32];
        mlb_fmt_bytes(rb, sizeof rb, s.rss_best);
        mlb_fmt_bytes(rs, sizeof rs, s.rss_base);
        mlb_sb_printf(b, "%.2f\xc3\x97 (", s.rss_best / s.rss_base);
        mlb_sb_html(b, rb);
        mlb_sb_puts(b, " vs ");
        mlb_sb_html(b, rs);
        mlb_sb_puts(b, ")");
    } else
        mlb_sb_puts(b, MLB_DASH);
    mlb_sb_puts(b, "</td><td data-label=\"quality\">");
    if (!s.best || s.best == g->base)
        mlb_sb_puts(b, MLB_DASH);
    else if (!s.n_quality)
        mlb_sb_puts(b, "no quality metric");
    else if (s.n_equivalent == s.n_quality)
        mlb_sb_printf(b, "<span class=\"q-ok\">equivalent</span> (%zu metric%s)", s.n_quality,
                      s.n_quality == 1 ? "" : "s");
    else {
        mlb_sb_puts(b, "<span class=\"q-bad\">not equivalent</span>: ");
        mlb_sb_html(b, s.quality);
    }
    mlb_sb_puts(b, "</td></tr>\n");
}

void mlb_html_summary(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl)
{
    if (!gl->n)
        return;
    mlb_sb_puts(b, "<section id=\"summary\">\n<h2>Summary</h2>\n<div class=\"wrap\"><table "
                   "class=\"summary\"><thead><tr><th>compared</th><th>variants</th>"
                   "<th>fastest</th><th class=\"n\">speed-up over the baseline [95% CI], "
                   "verdict</th><th class=\"n\">peak memory vs the baseline</th>"
                   "<th>quality against the baseline</th></tr></thead>\n<tbody>\n");
    for (size_t k = 0; k < gl->n; k++)
        summary_row(b, doc, &gl->v[k]);
    mlb_sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">Speed-up: the baseline's median "
                   "wall time over the fastest variant's, in train (infer where a variant has no "
                   "train), with the bootstrap 95% CI of the ratio of medians; its verdict "
                   "(better, inconclusive, equivalent) is the engine's Holm-adjusted comparison. "
                   "Quality: every metric compared between the two, equivalent by the "
                   "equivalence margin (see methodology).</p>\n");
    mlb_sb_puts(b, "<h3>Recommendation</h3>\n<div class=\"reco\">\n");
    mlb_recommendations(b, doc, gl, mlb_sb_html, "<p><b class=\"task\">", "</b>: ", "</p>\n");
    mlb_sb_puts(b, "</div>\n</section>\n");
}

/* The phase a group's matrix is of: train when every run has a train
 * median, else infer. */
static const char *matrix_phase(const mlb_doc_group *g)
{
    for (size_t i = 0; i < g->n; i++)
        if (!(mlb_jnum(g->runs[i], "summary.phases.train.wall_s.median") > 0))
            return "infer";
    return "train";
}

void mlb_html_speedup_matrix(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g)
{
    if (g->n < 2)
        return;
    const char *phase = matrix_phase(g);
    mlb_sb_printf(b, "<h3>Speed-up matrix (%s)</h3>\n<div class=\"wrap\"><table class=\"matrix\">"
                     "<thead><tr><th>row over column</th>",
                  phase);
    for (size_t j = 0; j < g->n; j++) {
        mlb_sb_puts(b, "<th class=\"n\">");
        mlb_html_variant(b, g, j);
        mlb_sb_puts(b, "</th>");
    }
    mlb_sb_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        mlb_sb_puts(b, "<tr><th>");
        mlb_html_variant(b, g, i);
        mlb_sb_puts(b, "</th>");
        for (size_t j = 0; j < g->n; j++) {
            if (i == j) {
                mlb_sb_puts(b, "<td class=\"n v-self\">" MLB_DASH "</td>");
                continue;
            }
            double r, lo, hi;
            /* Column's time over the row's: how many times faster the row is;
             * the kind said of the column, turned to the row's. */
            const char *kind = mlb_pair_kind(doc, g->runs[j], g->runs[i], phase, &r, &lo, &hi);
            if (kind && !strcmp(kind, "better"))
                kind = "worse";
            else if (kind && !strcmp(kind, "worse"))
                kind = "better";
            if (!isfinite(r))
                r = mlb_speedup(g->runs[j], g->runs[i]);
            mlb_sb_printf(b, "<td class=\"n v-%s\">", kind_class(kind));
            if (isfinite(r))
                mlb_sb_printf(b, "%.2f\xc3\x97", r);
            else
                mlb_sb_puts(b, MLB_DASH);
            if (lo > 0 && hi > 0)
                mlb_sb_printf(b, "<br><small>[%.2f, %.2f]</small>", lo, hi);
            mlb_sb_puts(b, "<br><small>");
            mlb_sb_html(b, kind ? kind : "not compared");
            mlb_sb_puts(b, "</small></td>");
        }
        mlb_sb_puts(b, "</tr>\n");
    }
    mlb_sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">Each cell: the column's median "
                   "wall time over the row's (above 1: the row is faster), the bootstrap 95% CI "
                   "of that ratio, and the verdict of the row against the column "
                   "(<span class=\"key v-better\">better</span> "
                   "<span class=\"key v-worse\">worse</span> "
                   "<span class=\"key v-equivalent\">equivalent</span> "
                   "<span class=\"key v-inconclusive\">inconclusive</span>).</p>\n");
}

int mlb_html_gflops(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g)
{
    /* The peak only where something measured it; none is ever assumed from
     * the CPU's name. */
    double peak = mlb_jnum(mlb_jget(doc, "environment"), "peak_gflop_per_s");
    int any = 0;
    for (size_t ph = 1; ph <= 2; ph++) {
        size_t before = b->len;
        mlb_sb_printf(b, "<figure><figcaption>Median %s GFLOP/s</figcaption>\n",
                      mlb_doc_phases[ph]);
        int rc = mlb_svg_gflops(b, g, mlb_doc_phases[ph], peak);
        if (rc < 0)
            return rc;
        if (!rc) {
            b->len = before;
            continue;
        }
        if (peak > 0) {
            char t[32];
            mlb_fmt_g(t, sizeof t, peak);
            mlb_sb_puts(b, "<p class=\"muted\">Against the machine's measured peak of ");
            mlb_sb_html(b, t);
            mlb_sb_puts(b, " GFLOP/s (environment.peak_gflop_per_s).</p>\n");
        } else
            mlb_sb_puts(b, "<p class=\"muted\">GFLOP/s alone: the results document records no "
                           "measured peak of this machine, and none is assumed.</p>\n");
        mlb_sb_puts(b, "</figure>\n");
        any = 1;
    }
    return any;
}
