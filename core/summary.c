/* The summary and recommendations of a results document (summary.h): read
 * from the comparisons the engine made, never re-tested here, so that a
 * summary line says what the verdicts say. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "summary.h"

static void put(mlb_sbuf *b, const char *s, mlb_escape_fn esc)
{
    if (esc)
        esc(b, s);
    else
        mlb_sb_puts(b, s);
}

const cJSON *mlb_find_cmp(const cJSON *doc, double a, double b, const char *quantity,
                          int *swapped)
{
    const cJSON *c;
    cJSON_ArrayForEach(c, mlb_jget(doc, "comparisons"))
    {
        const char *q = mlb_jstr(c, "quantity");
        if (!q || strcmp(q, quantity) != 0)
            continue;
        double ra = mlb_jnum(c, "run_a"), rb = mlb_jnum(c, "run_b");
        if ((ra == a && rb == b) || (ra == b && rb == a)) {
            *swapped = ra == b;
            return c;
        }
    }
    return NULL;
}

/* A kind said of run_a, turned to be said of run_b. */
static const char *flip_kind(const char *kind)
{
    if (kind && !strcmp(kind, "better"))
        return "worse";
    if (kind && !strcmp(kind, "worse"))
        return "better";
    return kind;
}

const char *mlb_pair_kind(const cJSON *doc, const cJSON *r, const cJSON *o, const char *quantity,
                          double *ratio, double *lo, double *hi)
{
    int sw = 0;
    *ratio = *lo = *hi = NAN;
    const cJSON *c = mlb_find_cmp(doc, mlb_jnum(r, "index"), mlb_jnum(o, "index"), quantity, &sw);
    /* The engine compares infer per query ("infer_query"); older documents
     * compared the phase ("infer"). */
    if (!c && !strcmp(quantity, "infer"))
        c = mlb_find_cmp(doc, mlb_jnum(r, "index"), mlb_jnum(o, "index"), "infer_query", &sw);
    if (!c)
        return NULL;
    /* median_ratio is median(a) / median(b): of r over o when r is a. */
    double m = mlb_jnum(c, "median_ratio"), l = mlb_jnum(c, "median_ratio_ci95_low"),
           h = mlb_jnum(c, "median_ratio_ci95_high");
    if (sw) {
        *ratio = m > 0 ? 1 / m : NAN;
        *lo = h > 0 ? 1 / h : NAN;
        *hi = l > 0 ? 1 / l : NAN;
    } else {
        *ratio = m;
        *lo = l;
        *hi = h;
    }
    const char *kind = mlb_jstr(c, "verdict_kind");
    return sw ? flip_kind(kind) : kind;
}

double mlb_run_peak_rss(const cJSON *run)
{
    const cJSON *sum = mlb_jget(run, "summary");
    double peak = NAN;
    for (size_t ph = 0; ph < MLB_DOC_N_PHASES; ph++) {
        char key[96];
        snprintf(key, sizeof key, "phases.%s.rss_peak_bytes.max", mlb_doc_phases[ph]);
        double v = mlb_jnum(sum, key);
        if (isfinite(v) && !(v <= peak))
            peak = v;
    }
    return peak;
}

/* The phase mlb_speedup takes: train where both have a positive median. */
static const char *speedup_phase(const cJSON *base, const cJSON *run)
{
    double b = mlb_jnum(base, "summary.phases.train.wall_s.median"),
           t = mlb_jnum(run, "summary.phases.train.wall_s.median");
    return b > 0 && t > 0 && isfinite(b) && isfinite(t) ? "train" : "infer";
}

void mlb_group_summary_compute(const cJSON *doc, const mlb_doc_group *g, mlb_group_summary *s)
{
    memset(s, 0, sizeof *s);
    s->speedup = s->ci_lo = s->ci_hi = s->rss_best = s->rss_base = NAN;
    double best_sp = 0;
    for (size_t i = 0; i < g->n && g->base; i++) {
        double sp = mlb_speedup(g->base, g->runs[i]);
        if (sp > best_sp) {
            best_sp = sp;
            s->best = g->runs[i];
        }
    }
    if (!s->best)
        return;
    s->speedup = best_sp;
    s->phase = speedup_phase(g->base, s->best);
    s->rss_best = mlb_run_peak_rss(s->best);
    s->rss_base = mlb_run_peak_rss(g->base);
    if (s->best == g->base)
        return;
    /* Wall time: the baseline's over the best's is the speed-up. */
    double ratio;
    s->kind = mlb_pair_kind(doc, g->base, s->best, s->phase, &ratio, &s->ci_lo, &s->ci_hi);
    s->kind = flip_kind(s->kind); /* said of the best: lower time is "better" */
    double bi = mlb_jnum(g->base, "index"), ri = mlb_jnum(s->best, "index");
    mlb_sbuf d = {0};
    const cJSON *c;
    cJSON_ArrayForEach(c, mlb_jget(doc, "comparisons"))
    {
        const char *q = mlb_jstr(c, "quantity");
        double ra = mlb_jnum(c, "run_a"), rb = mlb_jnum(c, "run_b");
        if (!q || strncmp(q, "metric:", 7) || !((ra == bi && rb == ri) || (ra == ri && rb == bi)))
            continue;
        s->n_quality++;
        const char *kind = mlb_jstr(c, "verdict_kind");
        if (ra == bi) /* the kind is run_a's; say it of the fastest variant */
            kind = flip_kind(kind);
        if (kind && !strcmp(kind, "equivalent"))
            s->n_equivalent++;
        else
            mlb_sb_printf(&d, "%s%s %s", d.len ? ", " : "", q + 7, kind ? kind : "?");
    }
    snprintf(s->quality, sizeof s->quality, "%s", d.s && !d.oom ? d.s : "");
    free(d.s);
}

static void memory_text(mlb_sbuf *b, const mlb_group_summary *s, mlb_escape_fn esc)
{
    if (!(s->rss_best > 0) || !(s->rss_base > 0))
        return;
    char rb[32], rs[32];
    mlb_fmt_bytes(rb, sizeof rb, s->rss_best);
    mlb_fmt_bytes(rs, sizeof rs, s->rss_base);
    mlb_sb_printf(b, "; peak memory %.2f\xc3\x97 the baseline's (", s->rss_best / s->rss_base);
    put(b, rb, esc);
    mlb_sb_puts(b, " vs ");
    put(b, rs, esc);
    mlb_sb_puts(b, ")");
}

void mlb_group_summary_text(mlb_sbuf *b, const mlb_doc_group *g, const mlb_group_summary *s,
                            mlb_escape_fn esc)
{
    if (!s->best) {
        if (!(mlb_speedup(g->base, g->base) > 0)) {
            mlb_sb_puts(b, "no speed-up: the baseline, ");
            put(b, mlb_run_variant(g->base), esc);
            mlb_sb_puts(b, ", has no train or infer time");
        } else
            mlb_sb_puts(b, "no other variant has a time");
        return;
    }
    if (s->best == g->base) {
        mlb_sb_puts(b, "the baseline, ");
        put(b, mlb_run_variant(s->best), esc);
        mlb_sb_puts(b, ", is the fastest");
        return;
    }
    put(b, mlb_run_variant(s->best), esc);
    mlb_sb_printf(b, " %.2f\xc3\x97", s->speedup);
    if (s->ci_lo > 0 && s->ci_hi > 0)
        mlb_sb_printf(b, " [%.2f, %.2f]", s->ci_lo, s->ci_hi);
    mlb_sb_printf(b, " faster in %s", s->phase);
    if (s->kind && strcmp(s->kind, "better") != 0) {
        mlb_sb_puts(b, " (");
        put(b, s->kind, esc);
        mlb_sb_puts(b, ")");
    }
    memory_text(b, s, esc);
    if (!s->n_quality)
        mlb_sb_puts(b, "; no quality metric");
    else if (s->n_equivalent == s->n_quality)
        mlb_sb_printf(b, "; quality equivalent (%zu metric%s)", s->n_quality,
                      s->n_quality == 1 ? "" : "s");
    else {
        mlb_sb_puts(b, "; quality not equivalent: ");
        put(b, s->quality, esc);
    }
}

void mlb_group_params_text(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc)
{
    if (g->label && *g->label) {
        put(b, g->label, esc);
        return;
    }
    if (g->label) { /* the engine said: nothing differs from the defaults */
        put(b, "(default parameters)", esc);
        return;
    }
    mlb_sbuf p = {0};
    mlb_params_text(&p, mlb_jget(g->base, "params"));
    if (p.s && !p.oom && p.len) {
        for (char *c = p.s; *c; c++)
            if (*c == ';')
                *c = ' ';
        put(b, p.s, esc);
    } else
        put(b, MLB_DASH, esc);
    free(p.s);
}

/* ---- recommendations -------------------------------------------------------------- */

/* The variant a group recommends: the fastest, when it is faster than the
 * baseline by the verdict and its quality is equivalent (or not measured);
 * otherwise the baseline, which no variant beat without a cost in quality. */
static const cJSON *group_pick(const mlb_doc_group *g, const mlb_group_summary *s, int *clear)
{
    *clear = 0;
    if (!s->best)
        return NULL;
    if (s->best == g->base)
        return g->base;
    int faster = s->kind && !strcmp(s->kind, "better");
    int same_quality = s->n_equivalent == s->n_quality;
    *clear = faster && same_quality;
    return *clear ? s->best : g->base;
}

/* " at m=48 n=40 k=56", or " with the default parameters". */
static void at_params(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc)
{
    if (g->label && !*g->label) {
        mlb_sb_puts(b, " with the default parameters");
        return;
    }
    mlb_sb_puts(b, " at ");
    mlb_group_params_text(b, g, esc);
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* What a peer said of itself (its hello: library versions) and what its
 * start costs: the median start_s over the repetitions. */
static void peer_facts(mlb_sbuf *b, const cJSON *run, mlb_escape_fn esc)
{
    double st[256];
    size_t n = 0;
    const cJSON *rep, *hello = NULL, *v;
    cJSON_ArrayForEach(rep, mlb_jget(run, "repetitions"))
    {
        double t = mlb_jnum(rep, "peer.start_s");
        if (isfinite(t) && n < sizeof st / sizeof *st)
            st[n++] = t;
        if (!hello && mlb_rep_ok(rep))
            hello = mlb_jpath(rep, "peer.hello");
    }
    cJSON_ArrayForEach(v, hello)
    {
        if (!v->string || !strcmp(v->string, "protocol"))
            continue;
        char num[64];
        const char *text = cJSON_IsString(v) ? v->valuestring : NULL;
        if (cJSON_IsNumber(v)) {
            mlb_fmt_g(num, sizeof num, mlb_jval(v));
            text = num;
        }
        if (!text)
            continue;
        mlb_sb_puts(b, ", ");
        put(b, v->string, esc);
        mlb_sb_puts(b, " ");
        put(b, text, esc);
    }
    if (n) {
        qsort(st, n, sizeof *st, cmp_dbl);
        char t[32];
        mlb_fmt_time(t, sizeof t, n % 2 ? st[n / 2] : 0.5 * (st[n / 2 - 1] + st[n / 2]));
        mlb_sb_puts(b, ", and ");
        put(b, t, esc);
        mlb_sb_puts(b, " to start each repetition (median)");
    }
}

/* How a variant reaches its work: a peer is another process with its own
 * runtime; a plugin runs in the engine's process. */
static void dependency_text(mlb_sbuf *b, const cJSON *run, mlb_escape_fn esc)
{
    const cJSON *peer = mlb_jget(run, "peer");
    if (peer) {
        mlb_sb_puts(b, "it runs as an external peer process (");
        const cJSON *cmd = mlb_jget(peer, "command"), *w;
        const cJSON *words = cJSON_IsArray(cmd) ? cmd : NULL;
        int first = 1;
        if (cJSON_IsString(cmd))
            put(b, cmd->valuestring, esc);
        cJSON_ArrayForEach(w, words)
        {
            if (!cJSON_IsString(w))
                continue;
            if (!first)
                mlb_sb_puts(b, " ");
            put(b, w->valuestring, esc);
            first = 0;
        }
        mlb_sb_puts(b, ") with its own runtime and packages");
        peer_facts(b, run, esc);
        return;
    }
    const char *path = mlb_jstr(run, "plugin_path"), *slash = path ? strrchr(path, '/') : NULL;
    mlb_sb_puts(b, "it is an in-process plugin (");
    put(b, mlb_or_dash(slash ? slash + 1 : path), esc);
    mlb_sb_puts(b, "); its library dependencies are not in the results document");
}

void mlb_recommendations(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                         mlb_escape_fn esc, const char *before, const char *mid,
                         const char *after)
{
    const char **tasks = calloc(gl->n ? gl->n : 1, sizeof *tasks);
    size_t nt = 0;
    if (!tasks) {
        b->oom = 1;
        return;
    }
    for (size_t k = 0; k < gl->n; k++) {
        const char *t = mlb_jstr(gl->v[k].runs[0], "task");
        size_t j = 0;
        while (t && j < nt && strcmp(tasks[j], t) != 0)
            j++;
        if (t && j == nt)
            tasks[nt++] = t;
    }
    for (size_t ti = 0; ti < nt; ti++) {
        /* Tally over the task's groups: which variant each one recommends. */
        const char *pick[64];
        size_t votes[64] = {0}, n_pick = 0, n_groups = 0, n_clear = 0;
        const cJSON *example[64] = {0};
        mlb_group_summary ex_s[64];
        const mlb_doc_group *ex_g[64] = {0};
        for (size_t k = 0; k < gl->n; k++) {
            const mlb_doc_group *g = &gl->v[k];
            const char *t = mlb_jstr(g->runs[0], "task");
            if (!t || strcmp(t, tasks[ti]) != 0)
                continue;
            mlb_group_summary s;
            mlb_group_summary_compute(doc, g, &s);
            int clear;
            const cJSON *p = group_pick(g, &s, &clear);
            if (!p)
                continue;
            n_groups++;
            n_clear += clear;
            const char *v = mlb_run_variant(p);
            size_t j = 0;
            while (j < n_pick && strcmp(pick[j], v) != 0)
                j++;
            if (j == n_pick && n_pick < 64) {
                pick[n_pick++] = v;
                example[j] = p;
                ex_s[j] = s;
                ex_g[j] = g;
            }
            if (j < 64)
                votes[j]++;
        }
        mlb_sb_puts(b, before);
        put(b, tasks[ti], esc);
        mlb_sb_puts(b, mid);
        if (!n_groups) {
            mlb_sb_puts(b, "no recommendation: no variant has a time to compare with its "
                           "baseline's.");
            mlb_sb_puts(b, after);
            continue;
        }
        size_t top = 0;
        for (size_t j = 1; j < n_pick; j++)
            if (votes[j] > votes[top])
                top = j;
        const mlb_group_summary *s = &ex_s[top];
        const mlb_doc_group *g = ex_g[top];
        mlb_sb_puts(b, "use ");
        put(b, pick[top], esc);
        mlb_sb_puts(b, " on this machine");
        if (n_groups > 1)
            mlb_sb_printf(b, " (the choice in %zu of %zu parameter points)", votes[top], n_groups);
        mlb_sb_puts(b, ". ");
        if (example[top] == s->best && s->best != g->base) {
            mlb_sb_puts(b, "Evidence: ");
            put(b, mlb_run_variant(s->best), esc);
            mlb_sb_printf(b, " is %.2f\xc3\x97", s->speedup);
            if (s->ci_lo > 0 && s->ci_hi > 0)
                mlb_sb_printf(b, " (95%% CI %.2f to %.2f)", s->ci_lo, s->ci_hi);
            mlb_sb_printf(b, " faster than ");
            put(b, mlb_run_variant(g->base), esc);
            mlb_sb_printf(b, " in %s", s->phase);
            at_params(b, g, esc);
            mlb_sb_puts(b, ", a significant difference");
            if (s->n_quality)
                mlb_sb_printf(b, ", with equivalent quality on %zu metric%s", s->n_quality,
                              s->n_quality == 1 ? "" : "s");
            else
                mlb_sb_puts(b, " (no quality metric to check)");
            mlb_sb_puts(b, ".");
        } else if (s->best == g->base) {
            mlb_sb_puts(b, "Evidence: it is the fastest variant");
            at_params(b, g, esc);
            mlb_sb_puts(b, ".");
        } else {
            mlb_sb_puts(b, "Evidence: the fastest variant there, ");
            put(b, mlb_run_variant(s->best), esc);
            mlb_sb_printf(b, " (%.2f\xc3\x97", s->speedup);
            at_params(b, g, esc);
            mlb_sb_puts(b, "), is not clearly better: its speed verdict is ");
            put(b, s->kind ? s->kind : "missing", esc);
            if (s->n_equivalent != s->n_quality) {
                mlb_sb_puts(b, " and its quality is not equivalent (");
                put(b, s->quality, esc);
                mlb_sb_puts(b, ")");
            }
            mlb_sb_puts(b, "; the baseline stays the choice until a longer run settles it.");
        }
        const cJSON *run = example[top];
        double rss = mlb_run_peak_rss(run), rb = mlb_run_peak_rss(g->base);
        if (rss > 0) {
            char t[32];
            mlb_fmt_bytes(t, sizeof t, rss);
            mlb_sb_puts(b, " Cost: peak memory ");
            put(b, t, esc);
            if (run != g->base && rb > 0)
                mlb_sb_printf(b, " (%.2f\xc3\x97 the baseline's)", rss / rb);
            mlb_sb_puts(b, "; ");
        } else
            mlb_sb_puts(b, " Cost: ");
        dependency_text(b, run, esc);
        mlb_sb_puts(b, ".");
        if (n_clear < n_groups && n_groups > 1)
            mlb_sb_printf(b, " In %zu of %zu parameter points no variant beat the baseline "
                             "clearly.",
                          n_groups - n_clear, n_groups);
        mlb_sb_puts(b, after);
    }
    free(tasks);
}
