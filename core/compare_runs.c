/* compare: reading the runs of a results document (phase times, memory,
 * per-query latency, metrics) and matching NEW runs to BASELINE runs by
 * task, variant and workload parameters. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cmd_compare.h"
#include "export.h"
#include "stats.h"
#include "textbuf.h"
#include "compare_internal.h"

/* ---- reading runs ------------------------------------------------------------- */

const cJSON *mlb_cr_reps_of(const cJSON *run)
{
    return mlb_jget(run, "repetitions");
}

size_t mlb_cr_n_reps(const cJSON *run)
{
    const cJSON *r = mlb_cr_reps_of(run);
    return cJSON_IsArray(r) ? (size_t)cJSON_GetArraySize(r) : 0;
}

size_t mlb_cr_n_ok(const cJSON *run)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run)) n += (size_t)mlb_rep_ok(rep);
    return n;
}

double mlb_cr_num(const cJSON *o, const char *k)
{
    return mlb_jval(mlb_jget(o, k));
}

const cJSON *mlb_cr_phase_of(const cJSON *rep, const char *phase)
{
    return mlb_jget(mlb_jget(rep, "phases"), phase);
}

size_t mlb_cr_phase_wall(const cJSON *run, const char *phase, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        double v = mlb_cr_num(mlb_cr_phase_of(rep, phase), "wall_s");
        if (mlb_rep_ok(rep) && isfinite(v))
            x[n++] = v;
    }
    return n;
}

/* The highest peak RSS of any phase: what the machine must have for one
 * repetition to run. */
size_t mlb_cr_peak_rss(const cJSON *run, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep))
            continue;
        double m = NAN;
        for (int p = 0; p < MLB_DOC_N_PHASES; p++) {
            double v = mlb_cr_num(mlb_cr_phase_of(rep, mlb_doc_phases[p]), "rss_peak_bytes");
            if (isfinite(v) && !(v <= m))
                m = v;
        }
        if (isfinite(m))
            x[n++] = m;
    }
    return n;
}

int mlb_cr_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* R's type 7 on sorted s[0..n), n > 0. */
double mlb_cr_quantile7(const double *s, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? s[lo] + (h - (double)lo) * (s[lo + 1] - s[lo]) : s[lo];
}

/* The finite entries of a repetition's infer_latency_s, into a fresh array. */
size_t mlb_cr_latencies(const cJSON *rep, double **out)
{
    const cJSON *lat = mlb_jget(rep, "infer_latency_s"), *e;
    size_t cap = cJSON_IsArray(lat) ? (size_t)cJSON_GetArraySize(lat) : 0, n = 0;
    *out = cap ? malloc(cap * sizeof(double)) : NULL;
    if (!*out)
        return 0;
    cJSON_ArrayForEach(e, lat)
    {
        double v = mlb_jval(e);
        if (isfinite(v))
            (*out)[n++] = v;
    }
    return n;
}

/* Whether every successful repetition that ran infer recorded its queries'
 * latencies (and one at least did). */
int mlb_cr_has_latencies(const cJSON *run)
{
    int any = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep) || !mlb_cr_phase_of(rep, "infer"))
            continue;
        const cJSON *lat = mlb_jget(rep, "infer_latency_s");
        if (!cJSON_IsArray(lat) || cJSON_GetArraySize(lat) == 0)
            return 0;
        any = 1;
    }
    return any;
}

/* Per repetition, the median latency of its queries: a query's typical
 * cost, which does not move when --infer-queries does (the phase total
 * does). Without latency arrays, the phase total over the number of queries
 * (a mean per query). q[] gets n, p50, p90, p99 of every query (NaN without
 * arrays). Returns the sample size, or -ENOMEM. */
int mlb_cr_query_latency(const cJSON *run, int from_total, double *x, double q[4])
{
    size_t n = 0, all_n = 0, all_cap = 0;
    double *all = NULL;
    q[0] = 0;
    q[1] = q[2] = q[3] = NAN;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep) || !mlb_cr_phase_of(rep, "infer"))
            continue;
        if (from_total) {
            double w = mlb_cr_num(mlb_cr_phase_of(rep, "infer"), "wall_s");
            double nq = mlb_jnum(run, "config.infer_queries");
            if (isfinite(w) && nq > 0)
                x[n++] = w / nq;
            continue;
        }
        double *l;
        size_t k = mlb_cr_latencies(rep, &l);
        if (!k) {
            free(l);
            continue;
        }
        qsort(l, k, sizeof *l, mlb_cr_cmp_double);
        x[n++] = mlb_cr_quantile7(l, k, 0.5);
        if (all_n + k > all_cap) {
            size_t nc = 2 * (all_n + k);
            double *na = realloc(all, nc * sizeof *na);
            if (!na) {
                free(l);
                free(all);
                return -ENOMEM;
            }
            all = na;
            all_cap = nc;
        }
        memcpy(all + all_n, l, k * sizeof *l);
        all_n += k;
        free(l);
    }
    if (all_n) {
        qsort(all, all_n, sizeof *all, mlb_cr_cmp_double);
        q[0] = (double)all_n;
        q[1] = mlb_cr_quantile7(all, all_n, 0.50);
        q[2] = mlb_cr_quantile7(all, all_n, 0.90);
        q[3] = mlb_cr_quantile7(all, all_n, 0.99);
    }
    free(all);
    return (int)n;
}

size_t mlb_cr_metric_values(const cJSON *run, const char *name, double *x)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        double v = mlb_cr_num(mlb_jget(mlb_jget(rep, "metrics"), name), "value");
        if (mlb_rep_ok(rep) && isfinite(v))
            x[n++] = v;
    }
    return n;
}

/* MLB_BETTER_LOWER or _HIGHER from the metric's `better` (repetitions
 * first, then the summary); -1 when the run does not say. */
int mlb_cr_metric_better(const cJSON *run, const char *name)
{
    const cJSON *rep;
    const char *b = NULL;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if ((b = mlb_jstr(mlb_jget(mlb_jget(rep, "metrics"), name), "better")))
            break;
    }
    if (!b)
        b = mlb_jstr(mlb_jget(mlb_jget(mlb_jget(run, "summary"), "metrics"), name), "better");
    if (b && !strcmp(b, "lower"))
        return MLB_BETTER_LOWER;
    return b && !strcmp(b, "higher") ? MLB_BETTER_HIGHER : -1;
}

/* The metric names of a run's successful repetitions, appended to names[]
 * without duplicates. */
size_t mlb_cr_metric_names(const cJSON *run, char names[][64], size_t n, size_t cap)
{
    const cJSON *rep, *m;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep))
            continue;
        cJSON_ArrayForEach(m, mlb_jget(rep, "metrics"))
        {
            if (!m->string || strlen(m->string) >= 64)
                continue;
            size_t i = 0;
            while (i < n && strcmp(names[i], m->string))
                i++;
            if (i == n && n < cap)
                snprintf(names[n++], 64, "%s", m->string);
        }
    }
    return n;
}

/* ---- matching ----------------------------------------------------------------- */

/* Whether a parameter says how the work is done rather than what work, so
 * that it may differ between two runs whose times are compared (a plugin's
 * MLB_RULE_TUNING, which params_differ skips too). The results document
 * does not record those flags; the rule every bundled plugin follows is
 * that `threads` is tuning. Matching asks only this function, so that it
 * can read a recorded list once the schema has one. */
int mlb_cr_param_is_tuning(const cJSON *run, const char *name)
{
    (void)run;
    return !strcmp(name, "threads");
}

void mlb_cr_fmt_value(char *b, size_t n, const cJSON *v)
{
    if (!v)
        snprintf(b, n, "(absent)");
    else if (cJSON_IsString(v))
        snprintf(b, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        mlb_fmt_exact(b, n, v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(b, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(b, n, "null");
}

/* How many parameters of one kind (tuning or workload) differ between runs
 * a and b, a parameter present on one side only counting as different;
 * "name a vs b" for each is appended to out (may be NULL). */
size_t mlb_cr_param_diff(const cJSON *a, const cJSON *b, int tuning, mlb_sbuf *out)
{
    const cJSON *pa = mlb_jget(a, "params"), *pb = mlb_jget(b, "params"), *p;
    size_t n = 0;
    for (int side = 0; side < 2; side++) {
        const cJSON *run = side ? b : a, *mine = side ? pb : pa, *other = side ? pa : pb;
        cJSON_ArrayForEach(p, mine)
        {
            if (!p->string || mlb_cr_param_is_tuning(run, p->string) != tuning)
                continue;
            const cJSON *q = mlb_jget(other, p->string);
            if (side ? q != NULL : q && cJSON_Compare(p, q, 1))
                continue; /* seen from a's side, or equal */
            if (out) {
                char va[128], vb[128];
                mlb_cr_fmt_value(va, sizeof va, side ? q : p);
                mlb_cr_fmt_value(vb, sizeof vb, side ? p : q);
                mlb_sb_printf(out, "%s%s %s vs %s", n ? ", " : "", p->string, va, vb);
            }
            n++;
        }
    }
    return n;
}

int mlb_cr_same_task_variant(const cJSON *a, const cJSON *b)
{
    const char *ta = mlb_jstr(a, "task"), *tb = mlb_jstr(b, "task");
    const char *va = mlb_jstr(a, "variant"), *vb = mlb_jstr(b, "variant");
    return ta && tb && va && vb && !strcmp(ta, tb) && !strcmp(va, vb);
}

/* "k=v k=v" of a run's workload parameters: all of them, or with
 * only_distinct those in which another run of `doc` with the same
 * task:variant differs. */
void mlb_cr_workload_text(mlb_sbuf *b, const cJSON *run, const cJSON *doc, int only_distinct)
{
    const cJSON *p, *r;
    int first = 1;
    cJSON_ArrayForEach(p, mlb_jget(run, "params"))
    {
        if (!p->string || mlb_cr_param_is_tuning(run, p->string))
            continue;
        int distinct = !only_distinct;
        cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
        {
            if (distinct)
                break;
            const cJSON *q = mlb_jget(mlb_jget(r, "params"), p->string);
            distinct = r != run && mlb_cr_same_task_variant(r, run) && !(q && cJSON_Compare(p, q, 1));
        }
        if (!distinct)
            continue;
        char v[128];
        mlb_cr_fmt_value(v, sizeof v, p);
        mlb_sb_printf(b, "%s%s=%s", first ? "" : " ", p->string, v);
        first = 0;
    }
}

/* ---- an index of a document's workloads -------------------------------------- */

/* Counts of strings in an open-addressing table, so that matching and
 * labelling 50 000 runs is linear: each run's workload key (task, variant,
 * workload parameters sorted by name, values as JSON), each task:variant, and
 * each task:variant with one parameter's value. */
typedef struct {
    char **key;
    size_t *count;
    long *first; /* a list head for the key (matching); -1 */
    size_t cap, n;
} str_counts;

static size_t str_hash(const char *s)
{
    size_t h = (size_t)14695981039346656037ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * (size_t)1099511628211ULL;
    return h;
}

static int sc_init(str_counts *m, size_t n)
{
    memset(m, 0, sizeof *m);
    m->cap = 16;
    while (m->cap < 2 * n + 2)
        m->cap *= 2;
    m->key = calloc(m->cap, sizeof *m->key);
    m->count = calloc(m->cap, sizeof *m->count);
    m->first = malloc(m->cap * sizeof *m->first);
    return m->key && m->count && m->first ? 0 : -ENOMEM;
}

static void sc_free(str_counts *m)
{
    for (size_t i = 0; m->key && i < m->cap; i++)
        free(m->key[i]);
    free(m->key);
    free(m->count);
    free(m->first);
    memset(m, 0, sizeof *m);
}

/* The slot of key, inserted (count 0, first -1) when absent; -1 if the
 * table is full or out of memory. */
static long sc_slot(str_counts *m, const char *key)
{
    size_t i = str_hash(key) & (m->cap - 1);
    while (m->key[i] && strcmp(m->key[i], key))
        i = (i + 1) & (m->cap - 1);
    if (!m->key[i]) {
        if (2 * (m->n + 1) > m->cap || !(m->key[i] = strdup(key)))
            return -1;
        m->first[i] = -1;
        m->n++;
    }
    return (long)i;
}

static int cmp_param_name(const void *x, const void *y)
{
    return strcmp((*(const cJSON *const *)x)->string, (*(const cJSON *const *)y)->string);
}

/* "task\x1fvariant\x1fname=value\x1f..." over the workload parameters
 * sorted by name: equal keys are equal workloads (mlb_cr_param_diff == 0,
 * numbers compared as cJSON prints them). NULL when out of memory. */
static char *workload_key(const cJSON *run)
{
    const cJSON *p, *params = mlb_jget(run, "params");
    size_t n = 0;
    cJSON_ArrayForEach(p, params) n++;
    const cJSON **v = malloc((n + 1) * sizeof *v);
    if (!v)
        return NULL;
    size_t k = 0;
    cJSON_ArrayForEach(p, params)
        if (p->string && !mlb_cr_param_is_tuning(run, p->string))
            v[k++] = p;
    qsort(v, k, sizeof *v, cmp_param_name);
    mlb_sbuf b = {0};
    mlb_sb_printf(&b, "%s\x1f%s", mlb_or_dash(mlb_jstr(run, "task")),
                  mlb_or_dash(mlb_jstr(run, "variant")));
    for (size_t i = 0; i < k; i++) {
        char *val = cJSON_PrintUnformatted(v[i]);
        mlb_sb_printf(&b, "\x1f%s=%s", v[i]->string, val ? val : "?");
        if (!val)
            b.oom = 1;
        free(val);
    }
    free(v);
    if (b.oom) {
        free(b.s);
        return NULL;
    }
    return b.s ? b.s : strdup("");
}

typedef struct {
    const cJSON **run;
    char **key;     /* workload key of each run */
    size_t n;
    str_counts counts; /* "W" + key, "T" + task:variant, "P" + task:variant + param=value */
} cr_index;

static void index_free(cr_index *ix)
{
    for (size_t i = 0; ix->key && i < ix->n; i++)
        free(ix->key[i]);
    free(ix->key);
    free(ix->run);
    sc_free(&ix->counts);
    memset(ix, 0, sizeof *ix);
}

static int count_str(str_counts *m, const char *prefix, const char *a, const char *b)
{
    mlb_sbuf s = {0};
    mlb_sb_printf(&s, "%s%s\x1f%s", prefix, a, b ? b : "");
    long at = s.oom || !s.s ? -1 : sc_slot(m, s.s);
    free(s.s);
    if (at < 0)
        return -ENOMEM;
    m->count[at]++;
    return 0;
}

static size_t lookup_count(const str_counts *m, const char *prefix, const char *a, const char *b)
{
    mlb_sbuf s = {0};
    mlb_sb_printf(&s, "%s%s\x1f%s", prefix, a, b ? b : "");
    size_t c = 0;
    if (!s.oom && s.s) {
        size_t i = str_hash(s.s) & (m->cap - 1);
        while (m->key[i] && strcmp(m->key[i], s.s))
            i = (i + 1) & (m->cap - 1);
        c = m->key[i] ? m->count[i] : 0;
    }
    free(s.s);
    return c;
}

static char *tv_of(const cJSON *run)
{
    mlb_sbuf s = {0};
    mlb_sb_printf(&s, "%s\x1e%s", mlb_or_dash(mlb_jstr(run, "task")),
                  mlb_or_dash(mlb_jstr(run, "variant")));
    return s.oom ? (free(s.s), NULL) : s.s;
}

static char *param_text(const cJSON *p)
{
    char *val = cJSON_PrintUnformatted(p);
    mlb_sbuf s = {0};
    mlb_sb_printf(&s, "%s=%s", p->string, val ? val : "?");
    free(val);
    return s.oom || !val ? (free(s.s), NULL) : s.s;
}

static int index_build(const cJSON *doc, cr_index *ix)
{
    memset(ix, 0, sizeof *ix);
    const cJSON *r, *p;
    size_t n = 0, cells = 0;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        n++;
        cJSON_ArrayForEach(p, mlb_jget(r, "params")) cells++;
    }
    ix->run = malloc((n + 1) * sizeof *ix->run);
    ix->key = calloc(n + 1, sizeof *ix->key);
    if (!ix->run || !ix->key || sc_init(&ix->counts, 2 * n + cells) < 0)
        goto oom;
    cJSON_ArrayForEach(r, mlb_jget(doc, "runs"))
    {
        size_t i = ix->n++;
        ix->run[i] = r;
        char *tv = tv_of(r);
        if (!(ix->key[i] = workload_key(r)) || !tv ||
            count_str(&ix->counts, "W", ix->key[i], NULL) < 0 ||
            count_str(&ix->counts, "T", tv, NULL) < 0) {
            free(tv);
            goto oom;
        }
        cJSON_ArrayForEach(p, mlb_jget(r, "params"))
        {
            if (!p->string || mlb_cr_param_is_tuning(r, p->string))
                continue;
            char *pt = param_text(p);
            int rc = pt ? count_str(&ix->counts, "P", tv, pt) : -ENOMEM;
            free(pt);
            if (rc < 0) {
                free(tv);
                goto oom;
            }
        }
        free(tv);
    }
    return 0;
oom:
    index_free(ix);
    return -ENOMEM;
}

/* mlb_cr_workload_text with only_distinct, from the index: a parameter is
 * distinct when some other run of the task:variant lacks it or has another
 * value, that is when fewer runs of the task:variant have this value than
 * there are runs of it. */
static void workload_text_distinct(mlb_sbuf *b, const cJSON *run, const cr_index *ix)
{
    char *tv = tv_of(run);
    if (!tv) {
        b->oom = 1;
        return;
    }
    size_t n_tv = lookup_count(&ix->counts, "T", tv, NULL);
    const cJSON *p;
    int first = 1;
    cJSON_ArrayForEach(p, mlb_jget(run, "params"))
    {
        if (!p->string || mlb_cr_param_is_tuning(run, p->string))
            continue;
        char *pt = param_text(p);
        size_t same = pt ? lookup_count(&ix->counts, "P", tv, pt) : 0;
        free(pt);
        if (same >= n_tv)
            continue;
        char v[128];
        mlb_cr_fmt_value(v, sizeof v, p);
        mlb_sb_printf(b, "%s%s=%s", first ? "" : " ", p->string, v);
        first = 0;
    }
    free(tv);
}

/* task:variant, and where NEW holds several runs of it, the workload
 * parameters that tell them apart (or the run's index, for two alike). */
static void run_label_ix(char *buf, size_t len, size_t pos, const cr_index *ix)
{
    const cJSON *run = ix->run[pos];
    mlb_sbuf b = {0};
    mlb_sb_printf(&b, "%s:%s", mlb_jstr(run, "task"), mlb_jstr(run, "variant"));
    size_t at = b.len;
    mlb_sb_puts(&b, " [");
    size_t inner = b.len;
    workload_text_distinct(&b, run, ix);
    int twin = lookup_count(&ix->counts, "W", ix->key[pos], NULL) > 1;
    if (twin) {
        /* A document's index may be missing or any number (found by
         * fuzz_compare): converting NaN or a huge value to int is undefined. */
        double ri = mlb_jnum(run, "index");
        if (isfinite(ri) && fabs(ri) < 1e15)
            mlb_sb_printf(&b, "%s#%.0f", b.len > inner ? " " : "", ri);
        else
            mlb_sb_printf(&b, "%s#?", b.len > inner ? " " : "");
    }
    if (b.len > inner)
        mlb_sb_puts(&b, "]");
    else if (b.s)
        b.s[b.len = at] = '\0';
    snprintf(buf, len, "%s", b.oom || !b.s ? "?" : b.s);
    free(b.s);
}

void mlb_cr_run_label(char *buf, size_t len, const cJSON *run, const cJSON *doc)
{
    cr_index ix;
    size_t pos = 0;
    if (index_build(doc, &ix) < 0) {
        snprintf(buf, len, "?");
        return;
    }
    while (pos < ix.n && ix.run[pos] != run)
        pos++;
    if (pos < ix.n)
        run_label_ix(buf, len, pos, &ix);
    else
        snprintf(buf, len, "%s:%s", mlb_jstr(run, "task"), mlb_jstr(run, "variant"));
    index_free(&ix);
}

/* Pairs each NEW run with the first unused BASELINE run of the same task,
 * variant and workload. matched_b[i] is set for a BASELINE run that found
 * its pair; pair_of_a[j] is the pair index of NEW run j, or -1. Linear: the
 * BASELINE runs of each workload key wait in a list, in document order. */
int mlb_cr_match_runs(const cJSON *base, const cJSON *cur, pair **out, size_t *n_out,
                      int *matched_b, long *pair_of_a)
{
    cr_index ib, ic;
    if (index_build(base, &ib) < 0)
        return -ENOMEM;
    if (index_build(cur, &ic) < 0) {
        index_free(&ib);
        return -ENOMEM;
    }
    int rc = 0;
    str_counts lists = {0};
    long *next = malloc((ib.n + 1) * sizeof *next);
    if (!next || sc_init(&lists, ib.n) < 0) {
        rc = -ENOMEM;
        goto done;
    }
    for (size_t i = ib.n; i-- > 0;) { /* push front from the back: document order */
        long at = sc_slot(&lists, ib.key[i]);
        if (at < 0) {
            rc = -ENOMEM;
            goto done;
        }
        next[i] = lists.first[at];
        lists.first[at] = (long)i;
    }
    size_t n = 0;
    pair *ps = NULL;
    for (size_t j = 0; j < ic.n; j++) {
        pair_of_a[j] = -1;
        const cJSON *ra = ic.run[j];
        size_t h = str_hash(ic.key[j]) & (lists.cap - 1);
        while (lists.key[h] && strcmp(lists.key[h], ic.key[j]))
            h = (h + 1) & (lists.cap - 1);
        long i = lists.key[h] ? lists.first[h] : -1;
        if (i < 0)
            continue;
        lists.first[h] = next[i];
        const cJSON *rb = ib.run[i];
        pair *np = realloc(ps, (n + 1) * sizeof *np);
        if (!np) {
            free(ps);
            rc = -ENOMEM;
            goto done;
        }
        ps = np;
        pair *p = &ps[n];
        memset(p, 0, sizeof *p);
        p->a = ra;
        p->b = rb;
        run_label_ix(p->label, sizeof p->label, j, &ic);
        mlb_sbuf t = {0};
        if (mlb_cr_param_diff(ra, rb, 1, &t) && t.s)
            snprintf(p->tuning_diff, sizeof p->tuning_diff, "%s", t.s);
        free(t.s);
        matched_b[i] = 1;
        pair_of_a[j] = (long)n++;
    }
    *out = ps;
    *n_out = n;
done:
    free(next);
    sc_free(&lists);
    index_free(&ib);
    index_free(&ic);
    return rc;
}
