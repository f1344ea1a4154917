/* Groups, baselines, speed-ups and the cells of the comparison table
 * (cells.h). Every output renders these, so that a number shown in the
 * terminal is the number in the HTML, the CSV and the Markdown. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cells.h"
#include "export.h"
#include "summary.h"

/* ---- baselines ------------------------------------------------------------------ */

/* Open-addressing map from a group id (a small integer stored as a double)
 * to a slot value, so that building the groups of 50 000 runs is linear. */
typedef struct {
    double *key;
    size_t *val; /* value + 1; 0: empty */
    size_t cap;
} id_map;

static size_t id_hash(double id)
{
    uint64_t u;
    memcpy(&u, &id, sizeof u);
    u ^= u >> 33;
    u *= 0xff51afd7ed558ccdULL;
    u ^= u >> 33;
    return (size_t)u;
}

static int id_map_init(id_map *m, size_t n)
{
    m->cap = 16;
    while (m->cap < 2 * n + 2)
        m->cap *= 2;
    m->key = malloc(m->cap * sizeof *m->key);
    m->val = calloc(m->cap, sizeof *m->val);
    return m->key && m->val ? 0 : -ENOMEM;
}

static void id_map_free(id_map *m)
{
    free(m->key);
    free(m->val);
}

/* The slot of id: its value + 1, or 0 with *slot where it would go. */
static size_t id_map_find(const id_map *m, double id, size_t *slot)
{
    size_t i = id_hash(id) & (m->cap - 1);
    while (m->val[i] && m->key[i] != id)
        i = (i + 1) & (m->cap - 1);
    *slot = i;
    return m->val[i];
}

/* The baseline of group `id` whose runs are g_runs (document order): the
 * groups[] entry's baseline when it is one of them, else the naive variant,
 * else the first. Positions are runs[] positions; -ENOENT when none. */
static int resolve_baseline_in(const cJSON *gnode, const cJSON *const *run_at, size_t n_runs,
                               const mlb_doc_group *g, const char **rule)
{
    if (gnode) {
        double b = mlb_jnum(gnode, "baseline");
        if (b >= 0 && b < (double)n_runs && b == floor(b) &&
            mlb_jnum(run_at[(size_t)b], "group") == g->id) {
            *rule = mlb_jstr(gnode, "baseline_rule");
            return (int)b;
        }
        /* a baseline outside its group: read the document as an older one */
    }
    int first = -ENOENT, naive = -ENOENT;
    for (size_t i = 0; i < g->n; i++) {
        const char *v = mlb_jstr(g->runs[i], "variant");
        if (first < 0)
            first = g->pos[i];
        if (naive < 0 && v && !strcmp(v, "naive"))
            naive = g->pos[i];
    }
    *rule = naive >= 0 ? "naive" : first >= 0 ? "first" : NULL;
    return naive >= 0 ? naive : first;
}

static int resolve_baseline(const cJSON *doc, int group, const char **rule)
{
    mlb_doc_group_list gl;
    *rule = NULL;
    if (mlb_groups_build(doc, &gl) < 0)
        return -ENOMEM;
    int b = -ENOENT;
    for (size_t k = 0; k < gl.n; k++)
        if (gl.v[k].id == group) {
            b = gl.v[k].base_pos;
            *rule = gl.v[k].base_rule;
        }
    mlb_groups_free(&gl);
    return b;
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
    for (size_t i = 0; i < g->n; i++) {
        free(g->v[i].runs);
        free(g->v[i].pos);
        free(g->v[i].cmps);
    }
    free(g->v);
    free(g->group_of_run);
    memset(g, 0, sizeof *g);
}

static int push_ptr(const cJSON ***v, size_t *n, size_t *cap, const cJSON *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        const cJSON **nv = realloc(*v, nc * sizeof *nv);
        if (!nv)
            return -ENOMEM;
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = x;
    return 0;
}

/* Every lookup goes through arrays and hash maps built once, so that the
 * reports of 50 000 runs cost linear time: runs by position, groups by id,
 * comparisons by their run_a's group. */
int mlb_groups_build(const cJSON *doc, mlb_doc_group_list *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *runs = mlb_jget(doc, "runs"), *groups = mlb_jget(doc, "groups"), *r;
    size_t n_runs = 0, cap = 0;
    cJSON_ArrayForEach(r, runs) n_runs++;
    const cJSON **run_at = malloc((n_runs + 1) * sizeof *run_at);
    size_t *rcap = NULL;
    id_map byid = {0};
    out->group_of_run = malloc((n_runs + 1) * sizeof *out->group_of_run);
    if (!run_at || !out->group_of_run || id_map_init(&byid, n_runs) < 0)
        goto oom;
    out->n_runs = n_runs;
    int i = 0;
    cJSON_ArrayForEach(r, runs)
    {
        run_at[i] = r;
        double id = mlb_jnum(r, "group");
        if (!(id >= 0 && id <= 1e9 && id == floor(id)))
            id = -1.0 - i; /* no usable group: compared with nothing, a group of its own */
        size_t slot, k = id_map_find(&byid, id, &slot);
        if (k == 0) {
            if (out->n == cap) {
                size_t nc = cap ? 2 * cap : 8;
                mlb_doc_group *nv = realloc(out->v, nc * sizeof *nv);
                size_t *nr = nv ? realloc(rcap, nc * sizeof *nr) : NULL;
                if (nv)
                    out->v = nv;
                if (!nr)
                    goto oom;
                rcap = nr;
                cap = nc;
            }
            memset(&out->v[out->n], 0, sizeof *out->v);
            rcap[out->n] = 0;
            out->v[out->n].id = id;
            out->v[out->n].first_index = i;
            byid.key[slot] = id;
            byid.val[slot] = k = ++out->n;
        }
        mlb_doc_group *g = &out->v[k - 1];
        size_t n0 = g->n, c0 = rcap[k - 1];
        if (push_ptr(&g->runs, &g->n, &rcap[k - 1], r) < 0)
            goto oom;
        if (rcap[k - 1] != c0) { /* positions grow with the runs */
            int *np = realloc(g->pos, rcap[k - 1] * sizeof *np);
            if (!np)
                goto oom;
            g->pos = np;
        }
        g->pos[n0] = i;
        out->group_of_run[i] = k - 1;
        i++;
    }
    /* groups[] entries by id (the first entry of an id wins). */
    const cJSON *gn;
    const cJSON **gnode_at = calloc(out->n + 1, sizeof *gnode_at);
    if (!gnode_at)
        goto oom;
    cJSON_ArrayForEach(gn, groups)
    {
        double idx = mlb_jnum(gn, "index");
        size_t slot, k = isfinite(idx) ? id_map_find(&byid, idx, &slot) : 0;
        if (k && !gnode_at[k - 1])
            gnode_at[k - 1] = gn;
    }
    for (size_t k = 0; k < out->n; k++) {
        mlb_doc_group *g = &out->v[k];
        g->base = g->runs[0];
        g->base_pos = g->pos[0];
        g->base_rule = "first";
        if (g->id < 0)
            continue; /* a run without a group is its own baseline */
        int b = resolve_baseline_in(gnode_at[k], run_at, n_runs, g, &g->base_rule);
        if (b >= 0) {
            g->base = run_at[b];
            g->base_pos = b;
        }
        if (gnode_at[k])
            g->label = mlb_jstr(gnode_at[k], "label");
    }
    free(gnode_at);
    /* Each comparison to the group of its run_a, in document order. */
    size_t *ccap = calloc(out->n + 1, sizeof *ccap);
    if (!ccap)
        goto oom;
    const cJSON *c;
    cJSON_ArrayForEach(c, mlb_jget(doc, "comparisons"))
    {
        double ra = mlb_jnum(c, "run_a");
        if (!(ra >= 0 && ra < (double)n_runs && ra == floor(ra)))
            continue;
        mlb_doc_group *g = &out->v[out->group_of_run[(size_t)ra]];
        if (push_ptr(&g->cmps, &g->n_cmps, &ccap[out->group_of_run[(size_t)ra]], c) < 0) {
            free(ccap);
            goto oom;
        }
    }
    free(ccap);
    free(run_at);
    free(rcap);
    id_map_free(&byid);
    return 0;
oom:
    free(run_at);
    free(rcap);
    id_map_free(&byid);
    mlb_groups_free(out);
    return -ENOMEM;
}

const cJSON *mlb_group_cmp_next(const cJSON *doc, const mlb_doc_group *g, const cJSON *prev)
{
    (void)doc;
    size_t i = 0;
    if (prev) {
        while (i < g->n_cmps && g->cmps[i] != prev)
            i++;
        i++;
    }
    return i < g->n_cmps ? g->cmps[i] : NULL;
}

const mlb_doc_group *mlb_group_of_run(const mlb_doc_group_list *gl, size_t pos)
{
    return pos < gl->n_runs ? &gl->v[gl->group_of_run[pos]] : NULL;
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

void mlb_analysis_note(mlb_sbuf *b, const cJSON *doc, mlb_escape_fn esc, const char *before,
                       const char *after)
{
    const char *e = mlb_jstr(doc, "analysis_error");
    if (!e)
        return;
    mlb_sb_puts(b, before);
    mlb_sb_puts(b, "the analysis failed (");
    put(b, e, esc);
    mlb_sb_puts(b, "): the repetitions are recorded without summaries or comparisons");
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

static size_t name_hash(const char *s)
{
    size_t h = (size_t)14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
    return h;
}

long mlb_names_find(const mlb_name_list *l, const char *name)
{
    if (!l->cap)
        return -1;
    for (size_t i = name_hash(name) & (l->cap - 1); l->slot[i]; i = (i + 1) & (l->cap - 1))
        if (!strcmp(l->v[l->slot[i] - 1], name))
            return (long)(l->slot[i] - 1);
    return -1;
}

static void names_insert(mlb_name_list *l, size_t idx)
{
    size_t i = name_hash(l->v[idx]) & (l->cap - 1);
    while (l->slot[i])
        i = (i + 1) & (l->cap - 1);
    l->slot[i] = idx + 1;
}

int mlb_names_add(mlb_name_list *l, const char *name, const char *better)
{
    if (mlb_names_find(l, name) >= 0)
        return 0;
    if (2 * (l->n + 1) > l->cap) { /* grow the set and both arrays together */
        size_t nc = l->cap ? 2 * l->cap : 16;
        size_t *ns = calloc(nc, sizeof *ns);
        const char **nv = realloc(l->v, nc * sizeof *nv);
        if (nv)
            l->v = nv;
        const char **nb = nv ? realloc(l->better, nc * sizeof *nb) : NULL;
        if (nb)
            l->better = nb;
        if (!ns || !nv || !nb) {
            free(ns);
            return -ENOMEM;
        }
        free(l->slot);
        l->slot = ns;
        l->cap = nc;
        for (size_t k = 0; k < l->n; k++)
            names_insert(l, k);
    }
    l->v[l->n] = name;
    l->better[l->n] = better;
    names_insert(l, l->n++);
    return 0;
}

void mlb_names_free(mlb_name_list *l)
{
    free(l->v);
    free(l->better);
    free(l->slot);
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

/* ---- Scaling fits (the terminal, HTML and Markdown reports) ---------- */

void mlb_scaling_b_text(char *buf, size_t n, const cJSON *fit)
{
    const cJSON *ci = mlb_jget(fit, "exponent_ci95");
    const cJSON *lo = cJSON_GetArrayItem(ci, 0), *hi = cJSON_GetArrayItem(ci, 1);
    double e = mlb_jnum(fit, "exponent");
    if (!isfinite(e))
        snprintf(buf, n, MLB_DASH);
    else if (cJSON_IsNumber(lo) && cJSON_IsNumber(hi))
        snprintf(buf, n, "%.2f [%.2f, %.2f]", e, mlb_jval(lo), mlb_jval(hi));
    else
        snprintf(buf, n, "%.2f", e);
}

void mlb_scaling_rms_text(char *buf, size_t n, const cJSON *fit)
{
    double rms = mlb_jnum(fit, "complexity_rms");
    if (isfinite(rms))
        snprintf(buf, n, "%.0f%%", 100 * rms);
    else
        snprintf(buf, n, MLB_DASH);
}

void mlb_scaling_fixed_text(mlb_sbuf *b, const cJSON *fit, mlb_escape_fn esc, const char *before,
                            const char *after)
{
    const cJSON *v;
    int first = 1;
    cJSON_ArrayForEach(v, mlb_jget(fit, "fixed"))
    {
        char num[64];
        const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
        if (cJSON_IsNumber(v)) {
            mlb_fmt_exact(num, sizeof num, mlb_jval(v));
            text = num;
        } else if (cJSON_IsBool(v))
            text = cJSON_IsTrue(v) ? "true" : "false";
        mlb_sb_puts(b, first ? before : " ");
        put(b, v->string ? v->string : "?", esc);
        mlb_sb_puts(b, "=");
        put(b, mlb_or_dash(text), esc);
        first = 0;
    }
    if (!first)
        mlb_sb_puts(b, after);
}
