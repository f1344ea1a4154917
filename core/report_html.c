/* The HTML report: one self-contained page (inline CSS and SVG, no script,
 * no external resource, so that it can be mailed or archived and still open
 * offline). Text from the document is always escaped. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "phases.h"
#include "report_html.h"
#include "svg.h"
#include "textbuf.h"

static const char css[] =
    ":root{--fg:#1f2630;--muted:#5f6b7a;--line:#dde2e8;--head:#f2f4f7;--ok:#1b7f3b;"
    "--bad:#c0392b;--warn:#b45f06}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:#eef1f5;color:var(--fg);"
    "font:14px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}\n"
    "main{max-width:1200px;margin:0 auto;padding:28px 32px 56px;background:#fff;min-height:100vh}\n"
    "h1{font-size:24px;margin:0 0 2px}\n"
    "h2{font-size:19px;margin:40px 0 12px;padding-bottom:6px;border-bottom:2px solid var(--line)}\n"
    "h3{font-size:15px;margin:26px 0 8px}\n"
    ".sub{color:var(--muted);margin:0 0 18px}\n"
    ".banner{padding:8px 12px;border-radius:6px;background:#fff4e5;border:1px solid #f0c27b;"
    "margin:12px 0}\n"
    "dl.env{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;margin:0;"
    "font-size:13px}\n"
    "dl.env dt{color:var(--muted)}\n"
    "dl.env dd{margin:0;word-break:break-word}\n"
    "code,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;"
    "font-size:12.5px}\n"
    ".wrap{overflow-x:auto}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;margin:4px 0}\n"
    "th,td{padding:5px 9px;border-bottom:1px solid var(--line);text-align:left;"
    "vertical-align:top}\n"
    "th{background:var(--head);font-weight:600;white-space:nowrap}\n"
    "td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\n"
    "th.n{text-align:right}\n"
    "tbody tr:hover{background:#f7f9fb}\n"
    "tr.baseline td:last-child{font-weight:600}\n"
    ".badge{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;"
    "color:#fff;background:var(--muted)}\n"
    ".badge.ok{background:var(--ok)}\n"
    ".badge.failed,.badge.crashed{background:var(--bad)}\n"
    ".badge.timeout,.badge.memory_limit,.badge.interrupted{background:var(--warn)}\n"
    ".swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:6px;"
    "vertical-align:-1px}\n"
    ".legend{display:flex;flex-wrap:wrap;gap:4px 18px;margin:8px 0 4px;font-size:13px}\n"
    ".plots{display:flex;flex-wrap:wrap;gap:14px 24px}\n"
    "figure{flex:0 1 552px;min-width:0;max-width:100%;margin:6px 0}\n"
    "figcaption{font-weight:600;font-size:13px;margin-bottom:4px}\n"
    "svg.plot{width:100%;height:auto;display:block}\n"
    "table.metrics{width:auto;min-width:50%}\n"
    "td.nw{white-space:nowrap}\n"
    ".sig{color:var(--ok);font-weight:700}\n"
    ".ns{color:var(--muted)}\n"
    ".muted{color:var(--muted)}\n"
    "details{margin:8px 0}\n"
    "summary{cursor:pointer;color:var(--muted)}\n"
    "ul.fail{margin:4px 0;padding-left:20px}\n"
    "ul.fail li{margin:2px 0}\n"
    "nav ul{margin:4px 0;padding-left:20px}\n"
    "footer{margin-top:40px;color:var(--muted);font-size:12px}\n"
    "p.params{margin:0 0 8px;color:var(--muted);word-break:break-word}\n"
    "table.summary td{vertical-align:top}\n"
    ".reco p{margin:6px 0;padding:8px 12px;background:#f4f8f4;border-left:4px solid var(--ok);"
    "border-radius:4px}\n"
    ".q-ok{color:var(--ok);font-weight:600}\n"
    ".q-bad{color:var(--bad);font-weight:600}\n"
    "table.matrix{width:auto}\n"
    "table.matrix td{text-align:center;min-width:90px}\n"
    ".v-better{background:#dff3e4}\n"
    ".v-worse{background:#f9dedb}\n"
    ".v-equivalent{background:#e3ebf7}\n"
    ".v-inconclusive{background:#fbf0d5}\n"
    ".v-self{color:var(--muted)}\n"
    ".key{padding:0 6px;border-radius:3px}\n"
    "small{font-size:11px}\n"
    "@media (max-width:760px){main{padding:14px 12px 40px}"
    "h1{font-size:20px}h2{font-size:17px}table{font-size:12px}"
    "th,td{padding:4px 5px}figure{flex-basis:100%}dl.env{grid-template-columns:1fr}"
    "dl.env dd{margin-bottom:4px}"
    "table.summary thead{display:none}table.summary tr{display:block;padding:6px 0;"
    "border-bottom:2px solid var(--line)}table.summary td{display:block;border:0;"
    "text-align:left;padding:2px 4px}table.summary td::before{content:attr(data-label) \": \";"
    "color:var(--muted);font-weight:600}}\n"
    "@media print{body{background:#fff;font-size:11px}main{max-width:none;padding:0}"
    "section.group{break-before:page}figure,table,tr{break-inside:avoid}"
    "details>*{display:block}details::details-content{display:block;"
    "content-visibility:visible}summary{color:var(--fg)}"
    ".wrap{overflow:visible}a{color:inherit;text-decoration:none}"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact}}\n";

/* A status as a CSS class: only the documented names, so that a document
 * cannot inject markup through it. */
static const char *status_class(const char *st)
{
    static const char *const known[] = {"ok", "failed", "crashed", "timeout", "memory_limit",
                                        "interrupted", "unavailable"};
    for (size_t i = 0; st && i < sizeof known / sizeof *known; i++)
        if (!strcmp(st, known[i]))
            return known[i];
    return "other";
}

static void html_badge(mlb_sbuf *b, const char *st)
{
    mlb_sb_printf(b, "<span class=\"badge %s\">", status_class(st));
    mlb_sb_html(b, mlb_or_dash(st));
    mlb_sb_puts(b, "</span>");
}

static void html_env_item(mlb_sbuf *b, const char *label, const char *value, int mono)
{
    mlb_sb_puts(b, "<dt>");
    mlb_sb_html(b, label);
    mlb_sb_printf(b, "</dt><dd%s>", mono ? " class=\"mono\"" : "");
    mlb_sb_html(b, mlb_or_dash(value));
    mlb_sb_puts(b, "</dd>\n");
}

static void html_environment(mlb_sbuf *b, const cJSON *env)
{
    char buf[256];
    mlb_sb_puts(b, "<dl class=\"env\">\n");
    const char *cpu = mlb_jstr(env, "cpu_model");
    double cores = mlb_jnum(env, "cpu_cores_online"), mhz = mlb_jnum(env, "cpu_mhz");
    snprintf(buf, sizeof buf, "%s", mlb_or_dash(cpu));
    if (isfinite(cores))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %.0f cores online", cores);
    if (isfinite(mhz))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %.0f MHz", mhz);
    html_env_item(b, "CPU", buf, 0);
    html_env_item(b, "CPU governor", mlb_jstr(env, "cpu_governor"), 0);
    html_env_item(b, "host", mlb_jstr(env, "hostname"), 0);
    html_env_item(b, "kernel", mlb_jstr(env, "kernel"), 0);
    html_env_item(b, "OS", mlb_jstr(env, "os"), 0);
    snprintf(buf, sizeof buf, "%s %s", mlb_or_dash(mlb_jstr(env, "compiler")),
             mlb_or_dash(mlb_jstr(env, "cflags")));
    html_env_item(b, "compiler", buf, 1);
    double thr = mlb_jnum(env, "openblas_default_threads");
    snprintf(buf, sizeof buf, "%s", mlb_or_dash(mlb_jstr(env, "openblas_config")));
    if (isfinite(thr))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " (default threads %.0f)", thr);
    html_env_item(b, "OpenBLAS", buf, 1);
    snprintf(buf, sizeof buf, "GSL %s, libyaml %s, cJSON %s",
             mlb_or_dash(mlb_jstr(env, "gsl_version")),
             mlb_or_dash(mlb_jstr(env, "libyaml_version")),
             mlb_or_dash(mlb_jstr(env, "cjson_version")));
    html_env_item(b, "libraries", buf, 0);
    snprintf(buf, sizeof buf, "%s, commit %s", mlb_or_dash(mlb_jstr(env, "engine_version")),
             mlb_or_dash(mlb_jstr(env, "git_commit")));
    html_env_item(b, "engine", buf, 1);
    html_env_item(b, "started (UTC)", mlb_jstr(env, "timestamp_utc"), 0);
    char seed[64];
    mlb_fmt_exact(seed, sizeof seed, mlb_jnum(env, "seed"));
    html_env_item(b, "seed", seed, 1);
    mlb_sbuf cmd = {0};
    mlb_command_line(&cmd, env);
    html_env_item(b, "command line", cmd.oom ? NULL : cmd.s, 1);
    free(cmd.s);
    mlb_sbuf ev = {0};
    const cJSON *v;
    cJSON_ArrayForEach(v, mlb_jget(env, "env_vars"))
    {
        if (cJSON_IsString(v) && v->string)
            mlb_sb_printf(&ev, "%s%s=%s", ev.len ? " " : "", v->string, v->valuestring);
    }
    html_env_item(b, "environment variables", ev.oom ? NULL : ev.s, 1);
    free(ev.s);
    mlb_sb_puts(b, "</dl>\n");
}

static void html_perf_table(mlb_sbuf *b, const mlb_doc_group *g)
{
    mlb_sb_puts(b, "<div class=\"wrap\"><table class=\"runs\"><thead><tr><th>variant</th>"
                   "<th>status</th>"
                   "<th class=\"n\">train median \xc2\xb1 IQR/2</th>"
                   "<th class=\"n\">infer latency p50 / p90 / p99</th>"
                   "<th class=\"n\">train items/s</th><th class=\"n\">infer items/s</th>"
                   "<th class=\"n\">GFLOP/s</th><th class=\"n\">peak RSS</th>"
                   "<th class=\"n\">speed-up</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        mlb_cells c;
        mlb_cells_fill(&c, g, g->runs[i]);
        mlb_sb_puts(b, g->runs[i] == g->base ? "<tr class=\"baseline\"><td>" : "<tr><td>");
        mlb_html_variant(b, g, i);
        mlb_sb_puts(b, "</td><td>");
        html_badge(b, mlb_jstr(g->runs[i], "status"));
        mlb_sb_puts(b, "</td><td class=\"n\" title=\"");
        mlb_sb_html(b, c.train_tip);
        mlb_sb_puts(b, "\">");
        const char *cells[] = {c.train,  c.lat, c.rate_train, c.rate_infer,
                               c.gflops, c.rss, c.speedup};
        for (size_t k = 0; k < sizeof cells / sizeof *cells; k++) {
            if (k)
                mlb_sb_puts(b, "<td class=\"n\">");
            mlb_sb_html(b, cells[k]);
            if (k == 0 && strcmp(c.train, MLB_DASH) != 0) { /* printed too, not only on hover */
                mlb_sb_puts(b, "<br><small class=\"muted\">");
                mlb_sb_html(b, c.train_tip);
                mlb_sb_puts(b, "</small>");
            }
            mlb_sb_puts(b, "</td>");
        }
        mlb_sb_puts(b, "</tr>\n");
    }
    mlb_sb_puts(b, "</tbody></table></div>\n");
    mlb_sb_puts(b, "<p class=\"muted\">");
    mlb_speedup_note(b, g, mlb_sb_html);
    mlb_sb_puts(b, " Throughput and GFLOP/s: medians over successful repetitions.</p>\n");
}

static void html_metrics_table(mlb_sbuf *b, const mlb_doc_group *g, const mlb_name_list *m)
{
    if (!m->n)
        return;
    mlb_sb_puts(b, "<h3>Quality</h3>\n<div class=\"wrap\"><table class=\"metrics\"><thead><tr>"
                   "<th>variant</th>");
    for (size_t k = 0; k < m->n; k++) {
        mlb_sb_puts(b, "<th class=\"n\">");
        mlb_sb_html(b, m->v[k]);
        if (m->better[k])
            mlb_sb_puts(b, !strcmp(m->better[k], "higher") ? " \xe2\x86\x91" : " \xe2\x86\x93");
        mlb_sb_puts(b, "</th>");
    }
    mlb_sb_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        mlb_sb_puts(b, "<tr><td>");
        mlb_html_variant(b, g, i);
        mlb_sb_puts(b, "</td>");
        for (size_t k = 0; k < m->n; k++) {
            const cJSON *st = mlb_jget(mlb_jpath(g->runs[i], "summary.metrics"), m->v[k]);
            char med[32], lo[32], hi[32];
            mlb_fmt_g(med, sizeof med, mlb_jnum(st, "median"));
            mlb_fmt_g(lo, sizeof lo, mlb_jnum(st, "min"));
            mlb_fmt_g(hi, sizeof hi, mlb_jnum(st, "max"));
            mlb_sb_puts(b, "<td class=\"n\" title=\"min ");
            mlb_sb_html(b, lo);
            mlb_sb_puts(b, ", max ");
            mlb_sb_html(b, hi);
            mlb_sb_puts(b, "\">");
            mlb_sb_html(b, med);
            if (isfinite(mlb_jnum(st, "min")) && mlb_jnum(st, "min") != mlb_jnum(st, "max")) {
                mlb_sb_puts(b, " <small class=\"muted\">(");
                mlb_sb_html(b, lo);
                mlb_sb_puts(b, " to ");
                mlb_sb_html(b, hi);
                mlb_sb_puts(b, ")</small>");
            }
            mlb_sb_puts(b, "</td>");
        }
        mlb_sb_puts(b, "</tr>\n");
    }
    mlb_sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">Medians over successful "
                   "repetitions, min to max in parentheses (\xe2\x86\x91 higher is better, "
                   "\xe2\x86\x93 lower is better).</p>\n");
}

static void html_params(mlb_sbuf *b, const mlb_doc_group *g)
{
    mlb_sb_puts(b, "<details><summary>Parameters and configuration</summary>\n<div class=\"wrap\">"
                   "<table><thead><tr><th>variant</th><th>parameters</th><th>repetitions</th>"
                   "<th>warm-up</th><th>infer queries</th><th>timeout</th><th>scenario</th>"
                   "</tr></thead><tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *r = g->runs[i];
        mlb_sb_puts(b, "<tr><td>");
        mlb_sb_html(b, mlb_run_variant(r));
        mlb_sb_puts(b, "</td><td class=\"mono\">");
        mlb_sbuf p = {0};
        mlb_params_text(&p, mlb_jget(r, "params"));
        mlb_sb_html(b, p.oom || !p.s ? MLB_DASH : p.s);
        free(p.s);
        mlb_sb_puts(b, "</td>");
        static const char *const cfg[] = {"repetitions", "warmup", "infer_queries", "timeout_s"};
        for (size_t k = 0; k < 4; k++) {
            char v[32];
            mlb_fmt_g(v, sizeof v, mlb_jnum(mlb_jget(r, "config"), cfg[k]));
            mlb_sb_printf(b, "<td class=\"n\">%s%s</td>", v,
                          k == 3 && isfinite(mlb_jnum(mlb_jget(r, "config"), cfg[k])) ? " s" : "");
        }
        /* The scenario and its settings, e.g. "server, 200 qps, p99 bound 10 ms". */
        const char *scn = mlb_jstr(r, "config.scenario.name");
        mlb_sb_puts(b, "<td>");
        mlb_sb_html(b, scn ? scn : "single-stream");
        double qps = mlb_jnum(r, "config.scenario.qps"), lb = mlb_jnum(r, "config.scenario.latency_bound_ms");
        if (cJSON_IsTrue(mlb_jpath(r, "config.scenario.find_peak_qps")))
            mlb_sb_puts(b, ", peak qps search");
        else if (isfinite(qps))
            mlb_sb_printf(b, ", %g qps", qps);
        if (isfinite(lb))
            mlb_sb_printf(b, ", p99 bound %g ms", lb);
        if (isfinite(mlb_jnum(r, "scenario.of")))
            mlb_sb_printf(b, " (met in %g of %g)", mlb_jnum(r, "scenario.bound_met"),
                          mlb_jnum(r, "scenario.of"));
        mlb_sb_puts(b, "</td></tr>\n");
    }
    mlb_sb_puts(b, "</tbody></table></div></details>\n");
}

static void html_comparisons(mlb_sbuf *b, const mlb_doc_group *g)
{
    const char *method = NULL;
    size_t n = 0;
    for (size_t ci = 0; ci < g->n_cmps; ci++) {
        const cJSON *c = g->cmps[ci];
        if (!n++)
            mlb_sb_printf(b, "<details class=\"comparisons\"><summary>Comparisons: every pair, "
                             "with its test</summary>\n<div class=\"wrap\"><table "
                             "class=\"verdicts\">"
                             "<thead>"
                             "<tr><th>quantity</th><th>verdict</th><th>test</th>"
                             "<th class=\"n\">adjusted p</th>"
                             "<th class=\"n\">Cliff's \xce\xb4</th></tr>"
                             "</thead><tbody>\n");
        const cJSON *sig = mlb_jget(c, "significant");
        if (!method)
            method = mlb_jstr(c, "adjust_method");
        mlb_sb_puts(b, "<tr><td class=\"mono\">");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(c, "quantity")));
        mlb_sb_puts(b, "</td><td>");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(c, "verdict")));
        char p[32], d[32];
        mlb_fmt_p(p, sizeof p, mlb_jnum(c, "p_adjusted"));
        double delta = mlb_jnum(c, "cliffs_delta");
        if (isfinite(delta))
            snprintf(d, sizeof d, "%.2f", delta);
        else
            snprintf(d, sizeof d, MLB_DASH);
        mlb_sb_puts(b, "</td><td class=\"nw\">");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(c, "chosen_test")));
        mlb_sb_printf(b, "</td><td class=\"n%s\">", cJSON_IsTrue(sig) ? " sig" : "");
        mlb_sb_html(b, p);
        mlb_sb_puts(b, "</td><td class=\"n\">");
        mlb_sb_html(b, d);
        if (mlb_jstr(c, "cliffs_label")) {
            mlb_sb_puts(b, " <span class=\"muted\">");
            mlb_sb_html(b, mlb_jstr(c, "cliffs_label"));
            mlb_sb_puts(b, "</span>");
        }
        mlb_sb_puts(b, "</td></tr>\n");
    }
    if (n) {
        mlb_sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">p adjusted (");
        mlb_sb_html(b, method ? method : "?");
        mlb_sb_printf(b, ") within this group's family of %zu comparisons; in bold green where "
                         "significant.</p>\n</details>\n",
                      n);
    }
}

/* One item of the failures list, which the first opens. `where`:
 * ", repetition 2", ", warm-up 1" or "" (the run as a whole). */
static void html_failure(mlb_sbuf *b, size_t *n, const cJSON *run, const char *where,
                         const char *status, const char *message)
{
    if (!(*n)++)
        mlb_sb_puts(b, "<h3>Failures</h3>\n<ul class=\"fail\">\n");
    mlb_sb_puts(b, "<li><b>");
    mlb_sb_html(b, mlb_run_variant(run));
    mlb_sb_printf(b, "</b>%s: ", where);
    html_badge(b, status);
    if (message) {
        mlb_sb_puts(b, " <code>");
        mlb_sb_html(b, message);
        mlb_sb_puts(b, "</code>");
    }
    mlb_sb_puts(b, "</li>\n");
}

/* Repetitions and warm-ups that did not succeed, with their messages. */
static void html_failures(mlb_sbuf *b, const mlb_doc_group *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *r = g->runs[i], *rep, *w;
        char where[48];
        int k = 0;
        cJSON_ArrayForEach(w, mlb_jget(r, "warmup_status"))
        {
            k++;
            if (!cJSON_IsString(w) || !strcmp(w->valuestring, "ok"))
                continue;
            snprintf(where, sizeof where, ", warm-up %d", k);
            html_failure(b, &n, r, where, w->valuestring, NULL);
        }
        k = 0;
        cJSON_ArrayForEach(rep, mlb_jget(r, "repetitions"))
        {
            k++;
            if (mlb_rep_ok(rep))
                continue;
            snprintf(where, sizeof where, ", repetition %d", k);
            html_failure(b, &n, r, where, mlb_jstr(rep, "status"), mlb_jstr(rep, "message"));
        }
        /* A run with no repetition at all (unavailable): its own status. */
        const char *st = mlb_jstr(r, "status");
        if (!k && st && strcmp(st, "ok") != 0)
            html_failure(b, &n, r, "", st, mlb_jstr(r, "message"));
    }
    if (n)
        mlb_sb_puts(b, "</ul>\n");
}

/* Closes the figure opened at `before` in `plots`, or drops it when its
 * plot drew nothing (rc 0) or failed. Returns rc. */
static int html_figure(mlb_sbuf *plots, int rc_of_draw, size_t before)
{
    if (rc_of_draw <= 0)
        plots->len = before;
    else
        mlb_sb_puts(plots, "</figure>\n");
    return rc_of_draw;
}

static void figure_open(mlb_sbuf *plots, const char *caption, const char *what)
{
    mlb_sb_puts(plots, "<figure><figcaption>");
    mlb_sb_html(plots, caption);
    if (what) {
        mlb_sb_puts(plots, " ");
        mlb_sb_html(plots, what);
    }
    mlb_sb_puts(plots, "</figcaption>\n");
}

/* A block of figures under its own heading, or nothing when none drew. */
static void plots_block(mlb_sbuf *b, const char *cls, const char *heading, const char *note,
                        const mlb_sbuf *figs)
{
    if (!figs->len)
        return;
    mlb_sb_printf(b, "<h3 class=\"%s\">", cls);
    mlb_sb_html(b, heading);
    mlb_sb_puts(b, "</h3>\n");
    if (note) {
        mlb_sb_puts(b, "<p class=\"muted\">");
        mlb_sb_puts(b, note);
        mlb_sb_puts(b, "</p>\n");
    }
    mlb_sb_printf(b, "<div class=\"plots %s\">\n", cls);
    mlb_sb_putn(b, figs->s, figs->len);
    mlb_sb_puts(b, "</div>\n");
}

/* The plots of a group, each block under its heading: distributions,
 * throughput, GFLOP/s, infer latency, learning curves, memory. */
static int html_group_plots(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g)
{
    mlb_sbuf f[6] = {{0}};
    int rc = 0;
    size_t before;
    for (size_t ph = 1; ph <= 2 && rc >= 0; ph++) {
        before = f[0].len;
        figure_open(&f[0], mlb_doc_phases[ph], "wall time per repetition");
        rc = html_figure(&f[0], mlb_svg_boxplot(&f[0], g, mlb_doc_phases[ph]), before);
    }
    for (size_t ph = 1; ph <= 2 && rc >= 0; ph++) {
        before = f[1].len;
        char cap[64];
        snprintf(cap, sizeof cap, "Median %s throughput", mlb_doc_phases[ph]);
        figure_open(&f[1], cap, NULL);
        rc = html_figure(&f[1], mlb_svg_bars(&f[1], g, mlb_doc_phases[ph]), before);
    }
    if (rc >= 0)
        rc = mlb_html_gflops(&f[2], doc, g);
    if (rc >= 0) {
        before = f[3].len;
        figure_open(&f[3], "Infer query latency, every query of every successful repetition",
                    NULL);
        rc = html_figure(&f[3], mlb_svg_latency(&f[3], g), before);
    }
    mlb_name_list pn = {0};
    if (rc >= 0 && (rc = mlb_progress_names(g, &pn)) >= 0)
        for (size_t k = 0; k < pn.n && k < 8 && rc >= 0; k++)
            for (int by_step = 0; by_step <= 1 && rc >= 0; by_step++) {
                before = f[4].len;
                figure_open(&f[4], pn.v[k], by_step ? "against step" : "against time");
                rc = html_figure(&f[4], mlb_svg_progress(&f[4], g, pn.v[k], by_step),
                                 before);
            }
    mlb_names_free(&pn);
    if (rc >= 0) {
        before = f[5].len;
        figure_open(&f[5], "Resident memory, first successful repetition, phase boundaries "
                           "dashed", NULL);
        rc = html_figure(&f[5], mlb_svg_memory(&f[5], g), before);
    }
    int oom = 0;
    for (size_t k = 0; k < 6; k++)
        oom |= f[k].oom;
    if (rc >= 0 && !oom) {
        size_t any = 0;
        for (size_t k = 0; k < 6; k++)
            any += f[k].len;
        if (any) {
            mlb_sb_puts(b, "<div class=\"legend\">");
            for (size_t i = 0; i < g->n; i++) {
                mlb_sb_puts(b, "<span>");
                mlb_html_variant(b, g, i);
                mlb_sb_puts(b, "</span>");
            }
            mlb_sb_puts(b, "</div>\n");
        }
        plots_block(b, "dist", "Distribution per phase",
                    "Every successful repetition as a dot over its box (quartiles, median, "
                    "whiskers to min and max); a log axis past a 20\xc3\x97 spread.",
                    &f[0]);
        plots_block(b, "rate", "Throughput", NULL, &f[1]);
        plots_block(b, "flops", "GFLOP/s", NULL, &f[2]);
        plots_block(b, "lat", "Infer latency",
                    "Empirical CDF; the dots on the dashed guides are each variant's p50, p90 "
                    "and p99 (their values are in the table above).",
                    &f[3]);
        plots_block(b, "curves", "Learning curves",
                    "Per variant the median over its repetitions of each reported point, with "
                    "the band from the 20% to the 80% quantile where there are several.",
                    &f[4]);
        plots_block(b, "mem", "Memory",
                    "Dashed: where each phase begins (its start_s; in a document without it, "
                    "the sum of the earlier phases' wall times).",
                    &f[5]);
    }
    for (size_t k = 0; k < 6; k++)
        free(f[k].s);
    return rc < 0 ? rc : oom ? -ENOMEM : 0;
}

static int html_group(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group *g)
{
    mlb_sb_printf(b, "<section id=\"run-%d\" class=\"group\">\n<h2>", g->first_index);
    mlb_html_group_title(b, g);
    mlb_sb_puts(b, "</h2>\n<p class=\"params\">Parameters: <span class=\"mono\">");
    mlb_sbuf p = {0};
    mlb_params_text(&p, mlb_jget(g->base, "params"));
    for (size_t i = 0; p.s && i < p.len; i++)
        if (p.s[i] == ';')
            p.s[i] = ' ';
    mlb_sb_html(b, p.oom || !p.s ? MLB_DASH : p.s);
    free(p.s);
    mlb_sb_puts(b, "</span></p>\n");
    html_perf_table(b, g);
    mlb_name_list m;
    if (mlb_group_metric_names(g, &m) < 0) {
        mlb_names_free(&m);
        return -ENOMEM;
    }
    html_metrics_table(b, g, &m);
    mlb_names_free(&m);
    mlb_html_speedup_matrix(b, doc, g);
    int rc = html_group_plots(b, doc, g);
    if (rc < 0)
        return rc;
    html_params(b, g);
    html_comparisons(b, g);
    html_failures(b, g);
    mlb_sb_puts(b, "</section>\n");
    return 0;
}

/* ---- scaling over a sweep -------------------------------------------------------- */

/* Whether two scaling[] entries lie on one slice: the same task, parameter
 * and values of the other swept parameters. */
static int same_slice(const cJSON *a, const cJSON *b)
{
    const char *ta = mlb_jstr(a, "task"), *tb = mlb_jstr(b, "task");
    const char *pa = mlb_jstr(a, "param"), *pb = mlb_jstr(b, "param");
    const cJSON *fa = mlb_jget(a, "fixed"), *fb = mlb_jget(b, "fixed");
    if ((ta == NULL) != (tb == NULL) || (ta && strcmp(ta, tb) != 0))
        return 0;
    if ((pa == NULL) != (pb == NULL) || (pa && strcmp(pa, pb) != 0))
        return 0;
    if (!cJSON_GetArraySize(fa) && !cJSON_GetArraySize(fb))
        return 1;
    return fa && fb && cJSON_Compare(fa, fb, 1);
}

static int same_quantity(const cJSON *a, const cJSON *b)
{
    const char *qa = mlb_jstr(a, "quantity"), *qb = mlb_jstr(b, "quantity");
    return (qa == NULL) == (qb == NULL) && (!qa || !strcmp(qa, qb));
}

/* One figure: the plot of a slice's quantity and its table of fits. */
static int html_scaling_figure(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                               const cJSON *const *fits, size_t n)
{
    const char *q = mlb_jstr(fits[0], "quantity");
    mlb_sb_puts(b, "<figure class=\"scaling\" data-quantity=\"");
    mlb_sb_html(b, mlb_or_dash(q));
    mlb_sb_puts(b, "\"><figcaption>");
    mlb_sb_html(b, mlb_scaling_caption(q));
    mlb_sb_puts(b, "</figcaption>\n");
    int rc = mlb_svg_scaling(b, doc, gl, fits, n);
    if (rc < 0)
        return rc;
    if (!rc)
        mlb_sb_puts(b, "<p class=\"muted\">No positive value to plot.</p>\n");
    mlb_sb_puts(b, "<table class=\"scaling\"><thead><tr><th>variant</th>"
                   "<th class=\"n\">b [95% CI]</th><th>class</th><th class=\"n\">RMS</th>"
                   "</tr></thead><tbody>\n");
    int any_floor = 0;
    for (size_t f = 0; f < n; f++) {
        char bt[96], rms[32];
        mlb_scaling_b_text(bt, sizeof bt, fits[f]);
        mlb_scaling_rms_text(rms, sizeof rms, fits[f]);
        mlb_sb_printf(b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>",
                      mlb_svg_color(mlb_scaling_color(gl, fits[f], f)));
        mlb_sb_html(b, mlb_run_variant(fits[f]));
        mlb_sb_puts(b, "</td><td class=\"n\">");
        mlb_sb_html(b, bt);
        mlb_sb_puts(b, "</td><td>");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(fits[f], "complexity")));
        mlb_sb_puts(b, "</td><td class=\"n\">");
        mlb_sb_html(b, rms);
        mlb_sb_puts(b, "</td></tr>\n");
        const char *model = mlb_jstr(fits[f], "model");
        any_floor |= model && !strcmp(model, "offset_power");
    }
    mlb_sb_puts(b, "</tbody></table>\n");
    if (any_floor) {
        mlb_sb_puts(b, "<p class=\"muted\">Fitted as floor + a\xc2\xb7x<sup>b</sup> (floor: ");
        int first = 1;
        for (size_t f = 0; f < n; f++) {
            const char *model = mlb_jstr(fits[f], "model");
            if (!model || strcmp(model, "offset_power") != 0)
                continue;
            char fl[48];
            if (!strcmp(q ? q : "", "train_rss_added_bytes"))
                mlb_fmt_bytes(fl, sizeof fl, mlb_jnum(fits[f], "floor"));
            else
                mlb_fmt_g(fl, sizeof fl, mlb_jnum(fits[f], "floor"));
            mlb_sb_puts(b, first ? "" : ", ");
            mlb_sb_html(b, mlb_run_variant(fits[f]));
            mlb_sb_puts(b, " ");
            mlb_sb_html(b, fl);
            first = 0;
        }
        mlb_sb_puts(b, "); the class is of what grows above the floor.</p>\n");
    }
    mlb_sb_puts(b, "</figure>\n");
    return 0;
}

/* The sweep's curves (scaling[]): per slice, one log-log plot per quantity
 * and the table of its fits. Nothing for a document without them. */
static int html_scaling(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl)
{
    const cJSON *sc = mlb_jget(doc, "scaling");
    int n = cJSON_GetArraySize(sc);
    if (n <= 0 || !cJSON_IsArray(sc))
        return 0;
    const cJSON **all = calloc((size_t)n, sizeof *all), **fits = calloc((size_t)n, sizeof *fits);
    char *slice_done = calloc((size_t)n, 1), *done = calloc((size_t)n, 1);
    int rc = 0, k = 0;
    if (!all || !fits || !slice_done || !done) {
        rc = -ENOMEM;
        goto out;
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, sc) all[k++] = c;
    mlb_sb_puts(b, "<section id=\"scaling\">\n<h2>Scaling</h2>\n<p class=\"muted\">Each "
                   "variant's cost against the swept parameter, on log-log axes: solid, the "
                   "median of each size; faint, every successful repetition; dashed, the fit "
                   "a\xc2\xb7x<sup>b</sup> (least squares in log-log over the repetitions; "
                   "memory: floor + a\xc2\xb7x<sup>b</sup>). b with its 95% CI, and the nearest "
                   "complexity class with its RMS error relative to the medians' mean.</p>\n");
    for (int i = 0; i < n; i++) {
        if (slice_done[i])
            continue;
        for (int j = i; j < n; j++)
            if (same_slice(all[i], all[j]))
                slice_done[j] = 1;
        mlb_sb_puts(b, "<h3>");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(all[i], "task")));
        mlb_sb_puts(b, " against ");
        mlb_sb_html(b, mlb_or_dash(mlb_jstr(all[i], "param")));
        if (cJSON_GetArraySize(mlb_jget(all[i], "fixed"))) {
            mlb_sb_puts(b, " at ");
            mlb_scaling_fixed_text(b, all[i], mlb_sb_html, "", "");
        }
        mlb_sb_puts(b, "</h3>\n<div class=\"plots\">\n");
        for (int j = i; j < n && rc >= 0; j++) {
            if (done[j] || !same_slice(all[i], all[j]))
                continue;
            size_t nf = 0;
            for (int m = j; m < n; m++)
                if (!done[m] && same_slice(all[i], all[m]) && same_quantity(all[j], all[m])) {
                    done[m] = 1;
                    fits[nf++] = all[m];
                }
            rc = html_scaling_figure(b, doc, gl, fits, nf);
        }
        mlb_sb_puts(b, "</div>\n");
        if (rc < 0)
            break;
    }
    mlb_sb_puts(b, "</section>\n");
out:
    free(all);
    free(fits);
    free(slice_done);
    free(done);
    return rc;
}

int mlb_render_html(const cJSON *doc, mlb_sbuf *b)
{
    return mlb_render_html_with(doc, NULL, b);
}

int mlb_render_html_with(const cJSON *doc, const cJSON *assessment, mlb_sbuf *b)
{
    const cJSON *env = mlb_jget(doc, "environment");
    mlb_doc_group_list gl;
    if (mlb_groups_build(doc, &gl) < 0)
        return -ENOMEM;
    mlb_sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                   "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                   "<title>mlbench report");
    if (mlb_jstr(env, "timestamp_utc")) {
        mlb_sb_puts(b, " \xe2\x80\x94 ");
        mlb_sb_html(b, mlb_jstr(env, "timestamp_utc"));
    }
    mlb_sb_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n"
                     "<h1>mlbench report</h1>\n",
                  css);
    size_t n_runs = (size_t)cJSON_GetArraySize(mlb_jget(doc, "runs")), n_reps = 0, n_bad = 0;
    for (size_t k = 0; k < gl.n; k++)
        for (size_t i = 0; i < gl.v[k].n; i++) {
            const cJSON *rep;
            cJSON_ArrayForEach(rep, mlb_jget(gl.v[k].runs[i], "repetitions"))
            {
                n_reps++;
                n_bad += !mlb_rep_ok(rep);
            }
        }
    mlb_sb_printf(b, "<p class=\"sub\">%zu run%s in %zu group%s, %zu measured repetition%s",
                  n_runs, n_runs == 1 ? "" : "s", gl.n, gl.n == 1 ? "" : "s", n_reps,
                  n_reps == 1 ? "" : "s");
    if (n_bad)
        mlb_sb_printf(b, ", <b>%zu not successful</b>", n_bad);
    mlb_sb_puts(b, ". Schema ");
    mlb_sb_html(b, mlb_jstr(doc, "schema"));
    mlb_sb_puts(b, ".</p>\n");
    mlb_unfinished_note(b, doc, mlb_sb_html, "<p class=\"banner\">This document's status is ",
                        ".</p>\n");
    mlb_analysis_note(b, doc, mlb_sb_html, "<p class=\"banner\">In this document ", ".</p>\n");
    mlb_html_summary(b, doc, &gl);
    mlb_sb_puts(b, "<h2>Environment</h2>\n");
    html_environment(b, env);
    if (gl.n > 1) {
        mlb_sb_puts(b, "<nav><h3>Groups</h3><ul>\n");
        for (size_t k = 0; k < gl.n; k++) {
            mlb_sb_printf(b, "<li><a href=\"#run-%d\">", gl.v[k].first_index);
            mlb_html_group_title(b, &gl.v[k]);
            mlb_sb_puts(b, "</a></li>\n");
        }
        if (cJSON_GetArraySize(mlb_jget(doc, "scaling")) > 0)
            mlb_sb_puts(b, "<li><a href=\"#scaling\">Scaling</a></li>\n");
        mlb_sb_puts(b, "</ul></nav>\n");
    }
    int rc = 0;
    for (size_t k = 0; k < gl.n && rc == 0; k++)
        rc = html_group(b, doc, &gl.v[k]);
    if (!gl.n)
        mlb_sb_puts(b, "<p>No runs.</p>\n");
    if (rc == 0)
        rc = html_scaling(b, doc, &gl);
    if (rc == 0 && assessment) /* the ecosystem facts beside the speed (phases.h) */
        mlb_assess_html(assessment, b);
    mlb_sb_puts(b, "<footer>Written by mlbench-engine from a results document (");
    mlb_sb_html(b, mlb_jstr(doc, "schema"));
    mlb_sb_puts(b, "); every value above is read from it. Self-contained: no script, no external "
                   "resource.</footer>\n</main>\n</body>\n</html>\n");
    mlb_groups_free(&gl);
    return rc < 0 ? rc : b->oom ? -ENOMEM : 0;
}
