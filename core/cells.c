/* Groups, baselines, speed-ups and the cells of the comparison table
 * (cells.h). Every output renders these, so that a number shown in the
 * terminal is the number in the HTML, the CSV and the Markdown. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "summary.h"

/* ---- baselines ------------------------------------------------------------------ */

/* The run at runs[] position i, when it is one of group `group`'s. */
static const cJSON *run_of_group(const cJSON *doc, double i, int group)
{
    const cJSON *runs = mlb_jget(doc, "runs");
    if (!(i >= 0 && i < cJSON_GetArraySize(runs)) || i != floor(i))
        return NULL;
    const cJSON *r = cJSON_GetArrayItem(runs, (int)i);
    return mlb_jnum(r, "group") == group ? r : NULL;
}

static int resolve_baseline(const cJSON *doc, int group, const char **rule)
{
    const cJSON *g, *r;
    cJSON_ArrayForEach(g, mlb_jget(doc, "groups"))
    {
        if (mlb_jnum(g, "index") != group)
            continue;
        double b = mlb_jnum(g, "baseline");
        if (run_of_group(doc, b, group)) {
            *rule = mlb_jstr(g, "baseline_rule");
            return (int)b;
        }
        break; /* a baseline outside its group: read the document as an older one */
    }
    int first = -ENOENT, naive = -ENOENT, i = 0;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        if (mlb_jnum(r, "group") == group) {
            const char *v = mlb_jstr(r, "variant");
            if (first < 0)
                first = i;
            if (naive < 0 && v && !strcmp(v, "naive"))
                naive = i;
        }
        i++;
    }
    *rule = naive >= 0 ? "naive" : first >= 0 ? "first" : NULL;
    return naive >= 0 ? naive : first;
}

int mlb_group_baseline(const cJSON *doc, int group)
{
    const char *rule;
    return resolve_baseline(doc, group, &rule);
}

const char *mlb_group_baseline_rule(const cJSON *doc, int group)
{
    const char *rule;
    resolve_baseline(doc, group, &rule);
    return rule;
}

double mlb_speedup(const cJSON *base, const cJSON *run)
{
    static const char *const keys[2] = {"phases.train.wall_s.median",
                                        "phases.infer.wall_s.median"};
    const cJSON *bs = mlb_jget(base, "summary"), *rs = mlb_jget(run, "summary");
    for (int k = 0; k < 2; k++) {
        double b = mlb_jnum(bs, keys[k]), t = mlb_jnum(rs, keys[k]);
        if (b > 0 && t > 0 && isfinite(b) && isfinite(t))
            return b / t;
    }
    return NAN;
}

/* ---- groups ---------------------------------------------------------------------- */

void mlb_groups_free(mlb_doc_group_list *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].runs);
    free(g->v);
    memset(g, 0, sizeof *g);
}

static void group_set_base(const cJSON *doc, mlb_doc_group *g)
{
    g->base = g->runs[0];
    g->base_rule = "first";
    if (g->id < 0)
        return; /* a run without a group is its own baseline */
    int b = resolve_baseline(doc, (int)g->id, &g->base_rule);
    if (b >= 0)
        g->base = cJSON_GetArrayItem(mlb_jget(doc, "runs"), b);
    const cJSON *gr;
    cJSON_ArrayForEach(gr, mlb_jget(doc, "groups"))
        if (mlb_jnum(gr, "index") == g->id)
            g->label = mlb_jstr(gr, "label");
}

int mlb_groups_build(const cJSON *doc, mlb_doc_group_list *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        double id = mlb_jnum(r, "group");
        if (!(id >= 0 && id <= 1e9 && id == floor(id)))
            id = -1.0 - i; /* no usable group: compared with nothing, a group of its own */
        size_t k = 0;
        while (k < out->n && out->v[k].id != id)
            k++;
        if (k == out->n) {
            mlb_doc_group *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
            if (!nv)
                goto oom;
            out->v = nv;
            memset(&out->v[out->n], 0, sizeof *nv);
            out->v[out->n].id = id;
            out->v[out->n].first_index = i;
            out->n++;
        }
        mlb_doc_group *g = &out->v[k];
        const cJSON **nr = realloc(g->runs, (g->n + 1) * sizeof *nr);
        if (!nr)
            goto oom;
        g->runs = nr;
        g->runs[g->n++] = r;
        i++;
    }
    for (size_t k = 0; k < out->n; k++)
        group_set_base(doc, &out->v[k]);
    return 0;
oom:
    mlb_groups_free(out);
    return -ENOMEM;
}

static int cmp_in_group(const cJSON *doc, const cJSON *c, const mlb_doc_group *g)
{
    double ra = mlb_jnum(c, "run_a");
    if (!(ra >= 0 && ra < cJSON_GetArraySize(mlb_jget(doc, "runs"))))
        return 0;
    const cJSON *run = cJSON_GetArrayItem(mlb_jget(doc, "runs"), (int)ra);
    for (size_t i = 0; i < g->n; i++)
        if (g->runs[i] == run)
            return 1;
    return 0;
}

const cJSON *mlb_group_cmp_next(const cJSON *doc, const mlb_doc_group *g, const cJSON *prev)
{
    const cJSON *c = prev ? prev->next : NULL;
    if (!prev) {
        const cJSON *all = mlb_jget(doc, "comparisons");
        c = cJSON_IsArray(all) ? all->child : NULL;
    }
    while (c && !cmp_in_group(doc, c, g))
        c = c->next;
    return c;
}

const char *mlb_run_variant(const cJSON *r)
{
    return mlb_or_dash(mlb_jstr(r, "variant"));
}

static void put(mlb_sbuf *b, const char *s, mlb_escape_fn esc)
{
    if (esc)
        esc(b, s);
    else
        mlb_sb_puts(b, s);
}

void mlb_group_title(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc)
{
    const char *task = mlb_or_dash(mlb_jstr(g->runs[0], "task"));
    put(b, task, esc);
    for (size_t i = 1; i < g->n; i++) {
        const char *t = mlb_jstr(g->runs[i], "task");
        if (t && strcmp(t, task) != 0) {
            mlb_sb_puts(b, ", ");
            put(b, t, esc);
        }
    }
    /* What distinguishes the group: its parameters that differ from the
     * defaults (recorded by the engine), else its number. */
    if (g->label && *g->label) {
        mlb_sb_puts(b, " ");
        put(b, g->label, esc);
    } else if (g->id >= 0) {
        mlb_sb_printf(b, " (group %.0f)", g->id);
    }
    mlb_sb_puts(b, ", baseline ");
    put(b, mlb_run_variant(g->base), esc);
}

/* groups[].baseline_rule in words. */
static const char *rule_text(const char *rule)
{
    static const char *const words[][2] = {
        {"cli", "chosen on the command line"},
        {"suite", "chosen by the suite"},
        {"naive", "the naive variant"},
        {"first", "the group's first run"},
    };
    for (size_t i = 0; rule && i < sizeof words / sizeof *words; i++)
        if (!strcmp(rule, words[i][0]))
            return words[i][1];
    return rule;
}

void mlb_speedup_note(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc)
{
    mlb_sb_puts(b, "Speed-up: the median train time (infer where either has no train) of the "
                   "baseline, ");
    put(b, mlb_run_variant(g->base), esc);
    const char *why = rule_text(g->base_rule);
    if (why) {
        mlb_sb_puts(b, " (");
        put(b, why, esc);
        mlb_sb_puts(b, ")");
    }
    mlb_sb_puts(b, ", over each variant's.");
}

void mlb_unfinished_note(mlb_sbuf *b, const cJSON *doc, mlb_escape_fn esc, const char *before,
                         const char *after)
{
    const char *st = mlb_jstr(doc, "status");
    if (!st || !strcmp(st, "complete"))
        return;
    mlb_sb_puts(b, before);
    put(b, st, esc);
    mlb_sb_puts(b, ": it holds only what was measured before the engine stopped");
    mlb_sb_puts(b, after);
}

/* ---- cells ----------------------------------------------------------------------- */

void mlb_cells_fill(mlb_cells *c, const mlb_doc_group *g, const cJSON *run)
{
    const cJSON *sum = mlb_jget(run, "summary");
    double med = mlb_jnum(sum, "phases.train.wall_s.median");
    double iqr = mlb_jnum(sum, "phases.train.wall_s.iqr");
    char t[32], q1[32], q3[32];
    mlb_fmt_time(t, sizeof t, med);
    if (isfinite(med) && isfinite(iqr) && med > 0)
        snprintf(c->train, sizeof c->train, "%s \xc2\xb1%.1f%%", t, 50.0 * iqr / med);
    else
        snprintf(c->train, sizeof c->train, "%s", t);
    mlb_fmt_time(q1, sizeof q1, mlb_jnum(sum, "phases.train.wall_s.q1"));
    mlb_fmt_time(q3, sizeof q3, mlb_jnum(sum, "phases.train.wall_s.q3"));
    double n = mlb_jnum(sum, "phases.train.wall_s.n");
    snprintf(c->train_tip, sizeof c->train_tip, "q1 %s, q3 %s, n = %.0f", q1, q3,
             isfinite(n) ? n : 0.0);
    char p90[32], p99[32];
    mlb_fmt_time(c->lat_p50, sizeof c->lat_p50, mlb_jnum(sum, "infer_latency_s.p50"));
    mlb_fmt_time(p90, sizeof p90, mlb_jnum(sum, "infer_latency_s.p90"));
    mlb_fmt_time(p99, sizeof p99, mlb_jnum(sum, "infer_latency_s.p99"));
    if (isfinite(mlb_jnum(sum, "infer_latency_s.p50")))
        snprintf(c->lat, sizeof c->lat, "%s / %s / %s", c->lat_p50, p90, p99);
    else
        snprintf(c->lat, sizeof c->lat, MLB_DASH);
    mlb_fmt_rate(c->rate_train, sizeof c->rate_train,
                 mlb_jnum(sum, "phases.train.items_per_s.median"));
    mlb_fmt_rate(c->rate_infer, sizeof c->rate_infer,
                 mlb_jnum(sum, "phases.infer.items_per_s.median"));
    double gf = mlb_jnum(sum, "phases.train.gflop_per_s.median");
    if (!isfinite(gf))
        gf = mlb_jnum(sum, "phases.infer.gflop_per_s.median");
    if (isfinite(gf))
        snprintf(c->gflops, sizeof c->gflops, "%.2f", gf);
    else
        snprintf(c->gflops, sizeof c->gflops, MLB_DASH);
    mlb_fmt_bytes(c->rss, sizeof c->rss, mlb_run_peak_rss(run));
    double sp = mlb_speedup(g->base, run);
    const char *mark = run == g->base ? " (baseline)" : "";
    if (isfinite(sp))
        snprintf(c->speedup, sizeof c->speedup, "%.2f\xc3\x97%s", sp, mark);
    else
        snprintf(c->speedup, sizeof c->speedup, MLB_DASH "%s", mark);
}

void mlb_metrics_text(mlb_sbuf *b, const cJSON *run, mlb_escape_fn esc)
{
    const cJSON *e;
    int first = 1;
    cJSON_ArrayForEach(e, mlb_jpath(run, "summary.metrics"))
    {
        char v[32];
        mlb_fmt_g(v, sizeof v, mlb_jnum(e, "median"));
        if (!first)
            mlb_sb_puts(b, ", ");
        put(b, e->string ? e->string : "?", esc);
        mlb_sb_puts(b, " = ");
        put(b, v, esc);
        first = 0;
    }
    if (first)
        mlb_sb_puts(b, MLB_DASH);
}

/* ---- name lists ------------------------------------------------------------------- */

int mlb_names_add(mlb_name_list *l, const char *name, const char *better)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->v[i], name))
            return 0;
    const char **nv = realloc(l->v, (l->n + 1) * sizeof *nv);
    if (!nv)
        return -ENOMEM;
    l->v = nv;
    const char **nb = realloc(l->better, (l->n + 1) * sizeof *nb);
    if (!nb)
        return -ENOMEM;
    l->better = nb;
    l->v[l->n] = name;
    l->better[l->n++] = better;
    return 0;
}

void mlb_names_free(mlb_name_list *l)
{
    free(l->v);
    free(l->better);
    memset(l, 0, sizeof *l);
}

int mlb_group_metric_names(const mlb_doc_group *g, mlb_name_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, mlb_jpath(g->runs[i], "summary.metrics"))
        {
            if (m->string && mlb_names_add(out, m->string, mlb_jstr(m, "better")) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}
