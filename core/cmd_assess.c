/* `mlbench-engine assess RESULTS.json`: the ecosystem assessment. Per
 * implementation of a results document, the facts a team weighs besides
 * speed, measured rather than judged: its packages, versions, licences and
 * installed size (dpkg), the memory its runtime holds before any work and
 * its start-up time (from the document's repetitions), its lines of code
 * (the source tree), and whether it reached quality parity with its group's
 * baseline (the comparisons' verdicts on metrics). */
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cells.h"
#include "engine.h"
#include "export.h"
#include "phases.h"
#include "textbuf.h"

#define CMD "mlbench-engine assess"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " CMD " RESULTS.json [--json | --markdown] [--html FILE]\n"
            "\n"
            "One row per implementation (task:variant) of a results document:\n"
            "  packages       the Debian packages it needs (config/deps.yaml), with the\n"
            "                 versions dpkg-query reports here, their licences, and their\n"
            "                 installed size (dpkg's Installed-Size)\n"
            "  before work    resident memory of the measured process when setup began:\n"
            "                 a peer after its interpreter and imports started, a native\n"
            "                 plugin's forked engine process (median over repetitions)\n"
            "  start-up       a peer's start to its hello answer (median); native plugins\n"
            "                 are loaded once by the engine (none per repetition)\n"
            "  lines          non-blank lines of its own sources + the task's shared ones\n"
            "  quality        parity with the group's baseline on every metric, by the\n"
            "                 equivalence rule (the comparisons' verdict_kind)\n"
            "  --json         the assessment as JSON (schema mlbench.assess/1)\n"
            "  --markdown     the table as GitHub Markdown\n"
            "  --html FILE    the table as a self-contained page (the report's section)\n"
            "Exit status: 0; 2 on usage or input errors.\n");
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static void add_num_or_null(cJSON *o, const char *k, double v)
{
    if (isfinite(v))
        cJSON_AddNumberToObject(o, k, v);
    else
        cJSON_AddNullToObject(o, k);
}

cJSON *mlb_assess_json(const cJSON *doc)
{
    char *root = NULL;
    cJSON *deps = mlb_deps_load(&root), *cache = cJSON_CreateObject();
    cJSON *out = cJSON_CreateObject();
    cJSON_AddStringToObject(out, "schema", "mlbench.assess/1");
    cJSON *arr = cJSON_AddArrayToObject(out, "implementations");
    const cJSON *runs = mlb_jget(doc, "runs");
    int n_runs = cJSON_GetArraySize(runs);
    for (int i = 0; i < n_runs; i++) {
        const cJSON *r = cJSON_GetArrayItem(runs, i);
        const char *task = mlb_jstr(r, "task"), *variant = mlb_jstr(r, "variant");
        if (!task || !variant)
            continue;
        int seen = 0;
        for (int k = 0; k < i && !seen; k++) {
            const cJSON *q = cJSON_GetArrayItem(runs, k);
            seen = mlb_jstr(q, "task") && mlb_jstr(q, "variant") &&
                   !strcmp(mlb_jstr(q, "task"), task) && !strcmp(mlb_jstr(q, "variant"), variant);
        }
        if (seen)
            continue;
        /* Every run of this implementation: its repetitions and its groups. */
        double *rss = NULL, *start = NULL;
        size_t n_rss = 0, n_start = 0, cap = 0;
        int worst = -1, is_ref = 0, n_this = 0;
        char why_all[512] = "";
        int peer = 0;
        const cJSON *hello = NULL; /* what a peer said of itself (library versions) */
        for (int k = i; k < n_runs; k++) {
            const cJSON *q = cJSON_GetArrayItem(runs, k);
            if (!mlb_jstr(q, "task") || !mlb_jstr(q, "variant") || strcmp(mlb_jstr(q, "task"), task) ||
                strcmp(mlb_jstr(q, "variant"), variant))
                continue;
            n_this++;
            peer |= mlb_jget(q, "peer") != NULL;
            const cJSON *rep;
            cJSON_ArrayForEach(rep, mlb_jget(q, "repetitions"))
            {
                if (!mlb_rep_ok(rep))
                    continue;
                if (n_rss == cap || n_start == cap) {
                    cap = cap ? 2 * cap : 16;
                    double *a = realloc(rss, cap * sizeof *a);
                    if (a)
                        rss = a;
                    double *b = realloc(start, cap * sizeof *b);
                    if (b)
                        start = b;
                    if (!a || !b)
                        break;
                }
                const cJSON *tl = cJSON_GetArrayItem(mlb_jget(rep, "memory_timeline"), 0);
                double v = mlb_jval(cJSON_GetArrayItem(tl, 1));
                if (isfinite(v))
                    rss[n_rss++] = v;
                if (!hello)
                    hello = mlb_jpath(rep, "peer.hello");
                double s = mlb_jnum(rep, "peer.start_s");
                if (isfinite(s))
                    start[n_start++] = s;
            }
            int base = mlb_group_baseline(doc, (int)mlb_jnum(q, "group"));
            if (base == k) {
                is_ref = 1;
                continue;
            }
            char why[256];
            int qv = base >= 0 ? mlb_quality_vs_baseline(doc, k, base, why, sizeof why) : -1;
            if (qv > worst)
                worst = qv;
            if (why[0] && strlen(why_all) + strlen(why) + 3 < sizeof why_all)
                snprintf(why_all + strlen(why_all), sizeof why_all - strlen(why_all), "%s%s",
                         why_all[0] ? "; " : "", why);
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "task", task);
        cJSON_AddStringToObject(o, "variant", variant);
        cJSON_AddStringToObject(o, "kind", peer ? "peer" : "native");
        cJSON_AddNumberToObject(o, "runs", n_this);
        cJSON_AddItemToObject(o, "dependencies", mlb_impl_facts(deps, root, task, variant, peer, cache));
        if (cJSON_IsObject(hello)) {
            /* Its text values: versions ("torch": "1.13.0a0"), not settings. */
            cJSON *rv = cJSON_AddObjectToObject(o, "runtime_versions");
            const cJSON *h;
            cJSON_ArrayForEach(h, hello)
                if (cJSON_IsString(h) && h->string && strstr(h->string, "threads") == NULL)
                    cJSON_AddStringToObject(rv, h->string, h->valuestring);
        }
        add_num_or_null(o, "rss_before_work_bytes", median(rss, n_rss));
        add_num_or_null(o, "startup_s", median(start, n_start));
        static const char *const qname[] = {"parity", "better", "inconclusive", "worse"};
        const char *quality = worst >= 0 ? qname[worst] : is_ref ? "reference" : "no metric";
        /* A run that is its group's baseline in one group and compared in another keeps the
         * comparison's word; only a pure baseline is "reference". */
        cJSON_AddStringToObject(o, "quality", quality);
        if (why_all[0])
            cJSON_AddStringToObject(o, "quality_detail", why_all);
        cJSON_AddItemToArray(arr, o);
        free(rss);
        free(start);
    }
    free(root);
    cJSON_Delete(cache);
    cJSON_Delete(deps);
    return out;
}

/* The cells of one row, shared by the terminal and Markdown tables. */
typedef struct {
    char name[160], kind[16], pk[1024], lic[512], size[32], rss[32], start[32], loc[48],
        quality[600];
} row_cells;

static void cells_of(const cJSON *o, row_cells *c)
{
    snprintf(c->name, sizeof c->name, "%s:%s", mlb_jstr(o, "task"), mlb_jstr(o, "variant"));
    snprintf(c->kind, sizeof c->kind, "%s", mlb_or_dash(mlb_jstr(o, "kind")));
    const cJSON *f = mlb_jget(o, "dependencies");
    c->pk[0] = '\0';
    size_t at = 0;
    const cJSON *p;
    cJSON_ArrayForEach(p, mlb_jget(f, "packages"))
    {
        const char *ver = mlb_jstr(p, "version");
        int k = snprintf(c->pk + at, sizeof c->pk - at, "%s%s %s", at ? ", " : "",
                         mlb_or_dash(mlb_jstr(p, "name")), ver ? ver : "(not installed)");
        if (k < 0 || (size_t)k >= sizeof c->pk - at)
            break;
        at += (size_t)k;
    }
    if (!at)
        snprintf(c->pk, sizeof c->pk, "%s", mlb_jget(f, "packages") && cJSON_IsTrue(mlb_jget(f, "in_table"))
                                               ? "none (engine only)" : MLB_DASH);
    snprintf(c->lic, sizeof c->lic, "%s", mlb_or_dash(mlb_jstr(f, "licences")));
    double kib = mlb_jnum(f, "installed_kib");
    if (isfinite(kib) && kib > 0)
        mlb_fmt_bytes(c->size, sizeof c->size, kib * 1024);
    else
        snprintf(c->size, sizeof c->size, "%s", isfinite(kib) ? "0" : MLB_DASH);
    mlb_fmt_bytes(c->rss, sizeof c->rss, mlb_jnum(o, "rss_before_work_bytes"));
    double st = mlb_jnum(o, "startup_s");
    if (isfinite(st))
        mlb_fmt_time(c->start, sizeof c->start, st);
    else
        snprintf(c->start, sizeof c->start, "%s",
                 !strcmp(c->kind, "native") ? "in-process" : MLB_DASH);
    double lo = mlb_jnum(f, "loc_own"), ls = mlb_jnum(f, "loc_shared");
    if (isfinite(lo))
        snprintf(c->loc, sizeof c->loc, "%.0f + %.0f", lo, isfinite(ls) ? ls : 0);
    else
        snprintf(c->loc, sizeof c->loc, "%s", MLB_DASH);
    const char *d = mlb_jstr(o, "quality_detail");
    snprintf(c->quality, sizeof c->quality, "%s%s%s%s", mlb_or_dash(mlb_jstr(o, "quality")),
             d ? " (" : "", d ? d : "", d ? ")" : "");
}

void mlb_assess_markdown(const cJSON *a, mlb_sbuf *b)
{
    mlb_sb_puts(b, "| implementation | kind | packages | licences | installed | memory before "
                   "work | start-up | lines (own + shared) | quality parity |\n"
                   "|---|---|---|---|---:|---:|---:|---:|---|\n");
    const cJSON *o;
    cJSON_ArrayForEach(o, mlb_jget(a, "implementations"))
    {
        row_cells c;
        cells_of(o, &c);
        const char *cell[9] = {c.name, c.kind, c.pk, c.lic, c.size, c.rss, c.start, c.loc,
                               c.quality};
        for (int k = 0; k < 9; k++) {
            mlb_sb_puts(b, "| ");
            mlb_sb_md(b, cell[k]);
            mlb_sb_puts(b, " ");
        }
        mlb_sb_puts(b, "|\n");
    }
}

void mlb_assess_html(const cJSON *a, mlb_sbuf *b)
{
    static const char *const head[9] = {"implementation", "kind", "packages", "licences",
                                        "installed", "memory before work", "start-up",
                                        "lines (own + shared)", "quality parity"};
    mlb_sb_puts(b, "<section class=\"assessment\"><h2>Assessment</h2>\n<table class=\"assess\">"
                   "<thead><tr>");
    for (int k = 0; k < 9; k++)
        mlb_sb_printf(b, "<th>%s</th>", head[k]);
    mlb_sb_puts(b, "</tr></thead><tbody>\n");
    const cJSON *o;
    cJSON_ArrayForEach(o, mlb_jget(a, "implementations"))
    {
        row_cells c;
        cells_of(o, &c);
        const char *cell[9] = {c.name, c.kind, c.pk, c.lic, c.size, c.rss, c.start, c.loc,
                               c.quality};
        mlb_sb_puts(b, "<tr>");
        for (int k = 0; k < 9; k++) {
            mlb_sb_puts(b, k >= 4 && k <= 7 ? "<td class=\"num\">" : "<td>");
            mlb_sb_html(b, cell[k]);
            mlb_sb_puts(b, "</td>");
        }
        mlb_sb_puts(b, "</tr>\n");
    }
    mlb_sb_puts(b, "</tbody></table></section>\n");
}

static void print_terminal(const cJSON *a)
{
    printf("%-22s %-6s %-10s %-10s %-10s %-12s %s\n", "IMPLEMENTATION", "KIND", "INSTALLED",
           "BEFORE WORK", "START-UP", "LINES", "QUALITY PARITY");
    const cJSON *o;
    cJSON_ArrayForEach(o, mlb_jget(a, "implementations"))
    {
        row_cells c;
        cells_of(o, &c);
        printf("%-22s %-6s %-10s %-10s %-10s %-12s %s\n", c.name, c.kind, c.size, c.rss, c.start,
               c.loc, c.quality);
        printf("%-22s packages: %s; licences: %s\n", "", c.pk, c.lic);
        const cJSON *rv = mlb_jget(o, "runtime_versions");
        if (cJSON_GetArraySize(rv)) {
            printf("%-22s it reported:", "");
            const cJSON *h;
            int first = 1;
            cJSON_ArrayForEach(h, rv)
            {
                printf("%s %s %s", first ? "" : ",", h->string, h->valuestring);
                first = 0;
            }
            printf("\n");
        }
    }
}

int mlb_cmd_assess(int argc, char **argv)
{
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'},
                                         {"markdown", no_argument, NULL, 'm'},
                                         {"html", required_argument, NULL, 'H'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    int json = 0, md = 0, ch;
    const char *html = NULL;
    optind = 1;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 'j': json = 1; break;
        case 'm': md = 1; break;
        case 'H': html = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc - 1 || (json && md)) {
        usage(stderr);
        return 2;
    }
    char err[PATH_MAX + 256];
    cJSON *doc = mlb_results_load(argv[optind], err, sizeof err);
    if (!doc) {
        fprintf(stderr, CMD ": %s\n", err);
        return 2;
    }
    cJSON *a = mlb_assess_json(doc);
    if (json) {
        char *t = cJSON_Print(a);
        if (t)
            printf("%s\n", t);
        free(t);
    } else if (md) {
        mlb_sbuf b = {0};
        mlb_assess_markdown(a, &b);
        if (b.s)
            fputs(b.s, stdout);
        free(b.s);
    } else
        print_terminal(a);
    int code = 0;
    if (html) {
        mlb_sbuf b = {0};
        mlb_sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                        "<title>mlbench assessment</title><style>body{font:14px/1.4 "
                        "system-ui,sans-serif;margin:1.5em}table{border-collapse:collapse}"
                        "td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
                        ".num{text-align:right}</style></head><body>\n");
        mlb_assess_html(a, &b);
        mlb_sb_puts(&b, "</body></html>\n");
        if (b.oom || mlb_write_file_atomic(html, b.s, b.len, err, sizeof err) < 0) {
            fprintf(stderr, CMD ": --html %s: %s\n", html, b.oom ? "out of memory" : err);
            code = 2;
        }
        free(b.s);
    }
    cJSON_Delete(a);
    cJSON_Delete(doc);
    return code;
}
