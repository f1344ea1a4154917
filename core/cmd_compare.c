/* Regression gate: `mlbench-engine compare BASELINE.json NEW.json`.
 *
 * A CI gate is only useful if it never passes what it did not check and never
 * fails on noise, so every decision here is the engine's own (core/stats.h,
 * docs/methodology.md "Practical equivalence"), with NEW as sample a and
 * BASELINE as sample b:
 *  - runs are paired by task, variant and workload parameters: a time of
 *    another workload is no evidence about this one;
 *  - per pair: train wall time, infer latency per query (the phase total
 *    would move with --infer-queries), peak RSS, each quality metric;
 *  - one Holm family over every comparison of the gate, then the margin:
 *    --threshold for times, --mem-threshold for memory, the engine's default
 *    tolerance for metrics. A change the data cannot tell from noise is
 *    "inconclusive": printed, never passed off as equivalence nor failed. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_compare.h"
#include "compare_internal.h"
#include "export.h"
#include "stats.h"
#include "textbuf.h"

#define CMP_SEED 42 /* the bootstrap's: the same two files give the same verdicts */

typedef struct {
    double threshold;     /* time margin, relative */
    double mem_threshold; /* peak RSS margin, relative */
    double min_seconds;   /* a slower time by less than this is not a regression */
    int json;
} options;

enum { Q_TIME, Q_MEM, Q_METRIC };

typedef enum {
    V_NOT_COMPARED = 0,
    V_REGRESSION,
    V_IMPROVEMENT,
    V_EQUIVALENT,
    V_INCONCLUSIVE,
    V_NO_CHANGE,
    V_BELOW_MIN, /* a regression smaller than --min-seconds in absolute terms */
    V_N
} verdict;

static const char *const verdict_names[V_N] = {
    "not compared", "regression", "improvement", "equivalent",
    "inconclusive", "no change",  "below --min-seconds",
};



typedef struct {
    size_t pair;
    char quantity[96]; /* "train", "infer/query", "peak_rss", "metric:NAME" */
    int kind;          /* Q_* */
    int better;        /* MLB_BETTER_*; -1: a metric that does not say */
    int compared;      /* both samples exist and were compared */
    int identical;     /* the same values on both sides, in any order */
    int per_query_from_total; /* infer: no latency arrays, phase total / queries */
    mlb_comparison c;
    verdict v;
    char reason[256];
    double lat[2][4]; /* infer: n, p50, p90, p99 of every query; [0] NEW, [1] BASELINE */
} row;

typedef struct {
    row *v;
    size_t n, cap;
} rows;

/* ---- comparisons -------------------------------------------------------------- */

static row *new_row(rows *rs, size_t pair_ix, const char *quantity, int kind, int better)
{
    if (rs->n == rs->cap) {
        size_t nc = rs->cap ? 2 * rs->cap : 16;
        row *nv = realloc(rs->v, nc * sizeof *nv);
        if (!nv)
            return NULL;
        rs->v = nv;
        rs->cap = nc;
    }
    row *r = &rs->v[rs->n++];
    memset(r, 0, sizeof *r);
    r->pair = pair_ix;
    snprintf(r->quantity, sizeof r->quantity, "%s", quantity);
    r->kind = kind;
    r->better = better;
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 4; k++)
            r->lat[s][k] = NAN;
    return r;
}

/* Whether the two samples hold the same values (as multisets): then there
 * is nothing to judge, whatever their spread. */
static int same_values(double *xa, size_t na, double *xb, size_t nb)
{
    if (na != nb)
        return 0;
    qsort(xa, na, sizeof *xa, mlb_cr_cmp_double);
    qsort(xb, nb, sizeof *xb, mlb_cr_cmp_double);
    return memcmp(xa, xb, na * sizeof *xa) == 0;
}

/* Compares xa (NEW) with xb (BASELINE), or records why it cannot. The
 * samples are reordered. */
static void fill_row(row *r, double *xa, size_t na, double *xb, size_t nb)
{
    if (!na || !nb) {
        if (na || nb)
            snprintf(r->reason, sizeof r->reason, "no successful value in %s",
                     na ? "BASELINE" : "NEW");
        r->v = V_NOT_COMPARED;
        return;
    }
    int rc = mlb_compare_samples(xa, na, xb, nb, CMP_SEED, &r->c);
    if (rc < 0) {
        snprintf(r->reason, sizeof r->reason, "cannot compare: %s", strerror(-rc));
        r->v = V_NOT_COMPARED;
        return;
    }
    r->compared = 1;
    r->identical = same_values(xa, na, xb, nb);
}

static int add_pair_rows(rows *rs, size_t ix, const pair *p)
{
    size_t cap = (mlb_cr_n_reps(p->a) > mlb_cr_n_reps(p->b) ? mlb_cr_n_reps(p->a) : mlb_cr_n_reps(p->b)) + 1;
    double *xa = malloc(cap * sizeof *xa), *xb = malloc(cap * sizeof *xb);
    int rc = 0;
    row *r;
    if (!xa || !xb) {
        rc = -ENOMEM;
        goto out;
    }
    if (!mlb_cr_n_ok(p->a))
        goto out; /* a failure of NEW, reported as such */
    if (!mlb_cr_n_ok(p->b)) {
        if (!(r = new_row(rs, ix, "-", Q_TIME, MLB_BETTER_LOWER_TIME))) {
            rc = -ENOMEM;
            goto out;
        }
        snprintf(r->reason, sizeof r->reason, "BASELINE run has no successful repetition (%s)",
                 mlb_or_dash(mlb_jstr(p->b, "status")));
        goto out;
    }

    size_t na = mlb_cr_phase_wall(p->a, "train", xa), nb = mlb_cr_phase_wall(p->b, "train", xb);
    if (na || nb) {
        if (!(r = new_row(rs, ix, "train", Q_TIME, MLB_BETTER_LOWER_TIME))) {
            rc = -ENOMEM;
            goto out;
        }
        fill_row(r, xa, na, xb, nb);
    }

    int from_total = !(mlb_cr_has_latencies(p->a) && mlb_cr_has_latencies(p->b));
    double qa[4], qb[4];
    int la = mlb_cr_query_latency(p->a, from_total, xa, qa);
    int lb = mlb_cr_query_latency(p->b, from_total, xb, qb);
    if (la < 0 || lb < 0) {
        rc = -ENOMEM;
        goto out;
    }
    if (la || lb) {
        if (!(r = new_row(rs, ix, "infer/query", Q_TIME, MLB_BETTER_LOWER_TIME))) {
            rc = -ENOMEM;
            goto out;
        }
        r->per_query_from_total = from_total;
        memcpy(r->lat[0], qa, sizeof qa);
        memcpy(r->lat[1], qb, sizeof qb);
        fill_row(r, xa, (size_t)la, xb, (size_t)lb);
    }

    na = mlb_cr_peak_rss(p->a, xa);
    nb = mlb_cr_peak_rss(p->b, xb);
    if (na || nb) {
        if (!(r = new_row(rs, ix, "peak_rss", Q_MEM, MLB_BETTER_LOWER_TIME))) {
            rc = -ENOMEM;
            goto out;
        }
        fill_row(r, xa, na, xb, nb);
    }

    char names[MAX_METRICS][64];
    size_t nm = mlb_cr_metric_names(p->a, names, 0, MAX_METRICS);
    nm = mlb_cr_metric_names(p->b, names, nm, MAX_METRICS);
    for (size_t m = 0; m < nm; m++) {
        int better = mlb_cr_metric_better(p->a, names[m]);
        if (better < 0)
            better = mlb_cr_metric_better(p->b, names[m]);
        char q[96];
        snprintf(q, sizeof q, "metric:%s", names[m]);
        if (!(r = new_row(rs, ix, q, Q_METRIC, better))) {
            rc = -ENOMEM;
            goto out;
        }
        fill_row(r, xa, mlb_cr_metric_values(p->a, names[m], xa), xb,
                 mlb_cr_metric_values(p->b, names[m], xb));
    }
out:
    free(xa);
    free(xb);
    return rc;
}

/* One Holm family over every comparison of the gate that needs a test (two
 * constant samples are compared by value and leave it, as in a run; two
 * identical samples need no test at all), then each one's margin decides
 * its kind. */
static int judge(rows *rs, const options *o)
{
    double *p = malloc(2 * (rs->n + 1) * sizeof *p);
    size_t *idx = malloc((rs->n + 1) * sizeof *idx);
    if (!p || !idx) {
        free(p);
        free(idx);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < rs->n; i++) {
        const mlb_comparison *c = &rs->v[i].c;
        if (rs->v[i].compared && !rs->v[i].identical && c->chosen != MLB_TEST_NONE &&
            isfinite(c->chosen_p)) {
            idx[m] = i;
            p[m++] = c->chosen_p;
        }
    }
    int rc = m ? mlb_p_adjust(p, m, NULL, p + m, NULL) : 0;
    for (size_t k = 0; rc == 0 && k < m; k++) {
        mlb_comparison_set_adjusted(&rs->v[idx[k]].c, p[m + k], "holm");
        mlb_comparison_set_family(&rs->v[idx[k]].c, m);
    }
    free(p);
    free(idx);
    if (rc < 0)
        return rc;

    for (size_t i = 0; i < rs->n; i++) {
        row *r = &rs->v[i];
        if (!r->compared)
            continue;
        mlb_comparison *c = &r->c;
        int lib = r->better < 0 ? MLB_BETTER_HIGHER : r->better;
        mlb_margin mg = mlb_margin_default(lib);
        if (r->kind == Q_TIME)
            mg.rel = o->threshold;
        else if (r->kind == Q_MEM)
            mg.rel = o->mem_threshold;
        if ((rc = mlb_comparison_set_margin(c, lib, mg)) < 0)
            return rc;
        if (r->identical) {
            r->v = V_NO_CHANGE;
            snprintf(r->reason, sizeof r->reason, "identical values");
            continue;
        }
        switch (c->verdict_kind) {
        case MLB_KIND_WORSE:
            r->v = V_REGRESSION;
            break;
        case MLB_KIND_BETTER:
            r->v = V_IMPROVEMENT;
            break;
        case MLB_KIND_EQUIVALENT:
            r->v = V_EQUIVALENT;
            break;
        default:
            r->v = V_INCONCLUSIVE;
            snprintf(r->reason, sizeof r->reason, "%s", c->inconclusive_why);
        }
        if (r->better < 0 && (r->v == V_REGRESSION || r->v == V_IMPROVEMENT)) {
            r->v = V_INCONCLUSIVE;
            snprintf(r->reason, sizeof r->reason,
                     "differs, but the metric does not say whether higher or lower is better");
        } else if (r->v == V_REGRESSION && r->kind == Q_TIME &&
                   fabs(c->median_diff) < o->min_seconds) {
            char d[32], t[32];
            mlb_fmt_time(d, sizeof d, fabs(c->median_diff));
            mlb_fmt_time(t, sizeof t, o->min_seconds);
            r->v = V_BELOW_MIN;
            snprintf(r->reason, sizeof r->reason, "slower by %s, less than --min-seconds %s", d, t);
        } else if ((r->v == V_REGRESSION || r->v == V_IMPROVEMENT ||
                    r->v == V_EQUIVALENT) && c->decided_by && !strcmp(c->decided_by, "value")) {
            snprintf(r->reason, sizeof r->reason, "both samples constant: compared by value");
        }
    }
    return 0;
}

/* ---- failures and environments ------------------------------------------------ */

/* Whether a NEW run had a measured repetition that did not succeed, or none
 * at all: a crash is a failure of the change, whatever its timings say.
 * Writes the line that says so. */
static int run_failed(const cJSON *run, char *buf, size_t len)
{
    size_t total = mlb_cr_n_reps(run), ok = mlb_cr_n_ok(run);
    if (total && ok == total)
        return 0;
    const cJSON *rep, *bad = NULL;
    cJSON_ArrayForEach(rep, mlb_cr_reps_of(run))
    {
        if (!mlb_rep_ok(rep)) {
            bad = rep;
            break;
        }
    }
    const char *st = bad ? mlb_jstr(bad, "status") : mlb_jstr(run, "status");
    const char *msg = bad ? mlb_jstr(bad, "message") : mlb_jstr(run, "message");
    char what[64];
    if (!total)
        snprintf(what, sizeof what, "no measured repetition");
    else if (!ok)
        snprintf(what, sizeof what, "all %zu repetitions did not succeed", total);
    else
        snprintf(what, sizeof what, "%zu of %zu repetitions did not succeed", total - ok, total);
    snprintf(buf, len, "%s (%s%s%s)", what, mlb_or_dash(st), msg ? ": " : "", msg ? msg : "");
    return 1;
}

/* Warns about environment differences that make timings incomparable;
 * their names go to `keys` (JSON array, may be NULL). */
static int env_mismatch(const cJSON *a, const cJSON *b, cJSON *keys)
{
    static const char *const names[] = {"cpu_model", "cpu_cores_online", "engine_version",
                                        "hostname", "openblas_config"};
    const cJSON *ea = mlb_jget(a, "environment"), *eb = mlb_jget(b, "environment");
    int n = 0;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const cJSON *x = mlb_jget(ea, names[i]), *y = mlb_jget(eb, names[i]);
        if (x && y && cJSON_Compare(x, y, 1))
            continue;
        if (!x && !y)
            continue;
        char *sx = x ? cJSON_PrintUnformatted(x) : NULL;
        char *sy = y ? cJSON_PrintUnformatted(y) : NULL;
        fprintf(stderr, "mlbench-engine compare: warning: environments differ in %s: %s vs %s\n",
                names[i], sx ? sx : "(absent)", sy ? sy : "(absent)");
        free(sx);
        free(sy);
        if (keys)
            cJSON_AddItemToArray(keys, cJSON_CreateString(names[i]));
        n++;
    }
    return n;
}

/* ---- output ------------------------------------------------------------------- */

/* Display width of UTF-8 text: one column per character. */
static size_t width_of(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        w += ((unsigned char)*s & 0xC0) != 0x80;
    return w;
}

static void put_cell(const char *s, size_t w, int right)
{
    size_t sw = width_of(s);
    if (right)
        for (size_t i = sw; i < w; i++)
            putchar(' ');
    fputs(s, stdout);
    if (!right)
        for (size_t i = sw; i < w; i++)
            putchar(' ');
}

static void fmt_quantity_value(char *b, size_t n, const row *r, double v)
{
    if (r->kind == Q_TIME)
        mlb_fmt_time(b, n, v);
    else if (r->kind == Q_MEM)
        mlb_fmt_bytes(b, n, v);
    else
        mlb_fmt_g(b, n, v);
}

enum { C_RUN, C_QTY, C_MED, C_CHANGE, C_CI, C_P, C_VERDICT, C_N };

static void row_cells(const row *r, const pair *ps, char cell[C_N][320])
{
    const mlb_comparison *c = &r->c;
    snprintf(cell[C_RUN], 320, "%s", ps[r->pair].label);
    if (r->kind == Q_METRIC)
        snprintf(cell[C_QTY], 320, "%s (%s)", r->quantity,
                 r->better == MLB_BETTER_LOWER    ? "lower is better"
                 : r->better == MLB_BETTER_HIGHER ? "higher is better"
                                                  : "direction unknown");
    else
        snprintf(cell[C_QTY], 320, "%s", r->quantity);
    for (int k = C_MED; k < C_VERDICT; k++)
        snprintf(cell[k], 320, "%s", MLB_DASH);
    if (r->compared) {
        char x[32], y[32];
        fmt_quantity_value(x, sizeof x, r, c->b.median);
        fmt_quantity_value(y, sizeof y, r, c->a.median);
        snprintf(cell[C_MED], 320, "%s -> %s", x, y);
        if (r->kind == Q_METRIC) {
            snprintf(cell[C_CHANGE], 320, "%+.3g", c->median_diff);
            if (isfinite(c->diff_ci95_low))
                snprintf(cell[C_CI], 320, "[%+.3g, %+.3g]", c->diff_ci95_low, c->diff_ci95_high);
        } else if (isfinite(c->median_ratio)) {
            snprintf(cell[C_CHANGE], 320, "%+.1f%%", 100 * (c->median_ratio - 1));
            if (isfinite(c->ratio_ci95_low))
                snprintf(cell[C_CI], 320, "[%+.1f%%, %+.1f%%]", 100 * (c->ratio_ci95_low - 1),
                         100 * (c->ratio_ci95_high - 1));
        }
        if (isfinite(c->p_adjusted))
            mlb_fmt_p(cell[C_P], 320, c->p_adjusted);
    }
    snprintf(cell[C_VERDICT], 320, "%s%s%s", verdict_names[r->v], r->reason[0] ? ": " : "",
             r->reason);
}

static void print_table(const rows *rs, const pair *ps, size_t n_pairs)
{
    static const char *const head[C_N] = {"run",    "quantity", "baseline -> new (median)",
                                          "change", "95% CI",   "p (Holm)", "verdict"};
    char(*cells)[C_N][320] = malloc((rs->n + 1) * sizeof *cells);
    if (!cells)
        return;
    size_t w[C_N];
    for (int k = 0; k < C_N; k++)
        w[k] = width_of(head[k]);
    for (size_t i = 0; i < rs->n; i++) {
        row_cells(&rs->v[i], ps, cells[i]);
        for (int k = 0; k < C_VERDICT; k++)
            if (width_of(cells[i][k]) > w[k])
                w[k] = width_of(cells[i][k]);
    }
    for (int k = 0; k < C_N; k++) {
        put_cell(head[k], k == C_VERDICT ? 0 : w[k], k >= C_CHANGE && k <= C_P);
        fputs(k + 1 < C_N ? "  " : "\n", stdout);
    }
    for (size_t i = 0; i < rs->n; i++) {
        const row *r = &rs->v[i];
        for (int k = 0; k < C_N; k++) {
            put_cell(cells[i][k], k == C_VERDICT ? 0 : w[k], k >= C_CHANGE && k <= C_P);
            fputs(k + 1 < C_N ? "  " : "\n", stdout);
        }
        if (r->kind == Q_TIME && !strcmp(r->quantity, "infer/query") && r->compared) {
            if (r->per_query_from_total) {
                printf("    per query: the phase total over the queries (a repetition without "
                       "latencies)\n");
            } else {
                char s[2][3][32];
                for (int side = 0; side < 2; side++)
                    for (int q = 0; q < 3; q++)
                        mlb_fmt_time(s[side][q], sizeof s[side][q], r->lat[side][q + 1]);
                printf("    per query: p50 %s -> %s, p90 %s -> %s, p99 %s -> %s "
                       "(queries %.0f -> %.0f)\n",
                       s[1][0], s[0][0], s[1][1], s[0][1], s[1][2], s[0][2], r->lat[1][0],
                       r->lat[0][0]);
            }
        }
    }
    for (size_t i = 0; i < n_pairs; i++)
        if (ps[i].tuning_diff[0])
            printf("note: %s: tuning parameters differ (new vs baseline): %s\n", ps[i].label,
                   ps[i].tuning_diff);
    free(cells);
}

static cJSON *latency_json(const double q[4])
{
    cJSON *o = cJSON_CreateObject();
    if (!o || !(q[0] > 0))
        return o;
    cJSON_AddNumberToObject(o, "n", q[0]);
    cJSON_AddNumberToObject(o, "p50", q[1]);
    cJSON_AddNumberToObject(o, "p90", q[2]);
    cJSON_AddNumberToObject(o, "p99", q[3]);
    return o;
}

static cJSON *row_json(const row *r, const pair *ps)
{
    const pair *p = &ps[r->pair];
    cJSON *o = r->compared ? mlb_comparison_to_json(&r->c) : cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddStringToObject(o, "run", p->label);
    cJSON_AddStringToObject(o, "task", mlb_jstr(p->a, "task"));
    cJSON_AddStringToObject(o, "variant", mlb_jstr(p->a, "variant"));
    cJSON_AddNumberToObject(o, "run_new", mlb_jnum(p->a, "index"));
    cJSON_AddNumberToObject(o, "run_baseline", mlb_jnum(p->b, "index"));
    cJSON_AddStringToObject(o, "quantity", r->quantity);
    if (r->better < 0)
        cJSON_AddNullToObject(o, "better");
    else
        cJSON_AddStringToObject(o, "better", r->better == MLB_BETTER_HIGHER ? "higher" : "lower");
    cJSON_AddStringToObject(o, "verdict", verdict_names[r->v]);
    if (r->reason[0])
        cJSON_AddStringToObject(o, "reason", r->reason);
    else
        cJSON_AddNullToObject(o, "reason");
    if (r->compared) {
        /* change: relative for times and memory, a difference for metrics */
        double ch = r->kind == Q_METRIC ? r->c.median_diff : r->c.median_ratio - 1;
        if (isfinite(ch))
            cJSON_AddNumberToObject(o, "change", ch);
        else
            cJSON_AddNullToObject(o, "change");
        cJSON_AddNumberToObject(o, "baseline_median", r->c.b.median);
        cJSON_AddNumberToObject(o, "new_median", r->c.a.median);
    }
    if (!strcmp(r->quantity, "infer/query")) {
        cJSON_AddStringToObject(o, "per_query", r->per_query_from_total
                                                    ? "phase total / infer_queries"
                                                    : "median of each repetition's latencies");
        cJSON *l = cJSON_AddObjectToObject(o, "latency_s");
        if (l) {
            cJSON_AddItemToObject(l, "baseline", latency_json(r->lat[1]));
            cJSON_AddItemToObject(l, "new", latency_json(r->lat[0]));
        }
    }
    return o;
}

static cJSON *run_ref_json(const cJSON *run, const char *differs)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "index", mlb_jnum(run, "index"));
    cJSON_AddStringToObject(o, "task", mlb_jstr(run, "task"));
    cJSON_AddStringToObject(o, "variant", mlb_jstr(run, "variant"));
    const cJSON *params = mlb_jget(run, "params");
    cJSON_AddItemToObject(o, "params", params ? cJSON_Duplicate(params, 1) : cJSON_CreateObject());
    if (differs)
        cJSON_AddStringToObject(o, "differs", differs);
    return o;
}

/* ---- the command -------------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%]\n"
            "                              [--mem-threshold 10%%] [--min-seconds 0] [--json]\n"
            "\n"
            "Pairs the runs of NEW with those of BASELINE by task, variant and workload\n"
            "parameters (every parameter but `threads`), and compares per pair: train wall\n"
            "time, infer latency per query, peak RSS and each quality metric, with the\n"
            "engine's rule (Holm over all the gate's comparisons; a margin of --threshold\n"
            "for times, --mem-threshold for memory, the default tolerance for metrics).\n"
            "A regression is significant with its 95%% CI wholly beyond the margin; a\n"
            "change the data cannot tell from noise is inconclusive.\n"
            "  --threshold R      time margin, e.g. 5%% or 0.05 (default 5%%)\n"
            "  --mem-threshold R  peak RSS margin (default 10%%)\n"
            "  --min-seconds S    a slower time by less than S is not a regression (default 0)\n"
            "  --json             the verdicts as JSON on stdout\n"
            "Each document is read up to 1 GiB; nothing but white space may follow it.\n"
            "Exit status: 0 no regression and no failed run (inconclusive changes and\n"
            "unmatched runs are listed); 1 a regression, or a NEW run with a repetition\n"
            "that did not succeed; 2 usage or input error, or no run of NEW matches one\n"
            "of BASELINE, or nothing could be compared.\n");
}

/* "5%" or "0.05" (a fraction), or seconds when !pct. */
static int parse_nonneg(const char *opt, const char *s, int pct, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (pct && end != s && *end == '%') {
        v /= 100;
        end++;
    }
    if (end == s || *end || errno || !isfinite(v) || !(v >= 0)) {
        fprintf(stderr, "mlbench-engine compare: %s %s: expected %s\n", opt, s,
                pct ? "e.g. 5% or 0.05" : "seconds >= 0");
        return -EINVAL;
    }
    *out = v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o, const char *files[2])
{
    static const struct {
        const char *name;
        int pct;
        size_t off;
    } num_opts[] = {
        {"--threshold", 1, offsetof(options, threshold)},
        {"--mem-threshold", 1, offsetof(options, mem_threshold)},
        {"--min-seconds", 0, offsetof(options, min_seconds)},
    };
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--json")) {
            o->json = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 1;
        }
        int k = -1;
        const char *val = NULL;
        for (int j = 0; j < 3 && k < 0; j++) {
            size_t l = strlen(num_opts[j].name);
            if (!strncmp(a, num_opts[j].name, l) && (a[l] == '\0' || a[l] == '=')) {
                k = j;
                val = a[l] == '=' ? a + l + 1 : (i + 1 < argc ? argv[++i] : NULL);
            }
        }
        if (k >= 0) {
            if (!val) {
                fprintf(stderr, "mlbench-engine compare: %s needs a value (see --help)\n", a);
                return -EINVAL;
            }
            if (parse_nonneg(num_opts[k].name, val, num_opts[k].pct,
                             (double *)((char *)o + num_opts[k].off)) < 0)
                return -EINVAL;
        } else if ((a[0] == '-' && a[1]) || nf == 2) {
            fprintf(stderr, "mlbench-engine compare: unexpected argument '%s' (see --help)\n", a);
            return -EINVAL;
        } else
            files[nf++] = a;
    }
    if (nf != 2) {
        fprintf(stderr, "Usage: mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%] "
                        "(see --help)\n");
        return -EINVAL;
    }
    return 0;
}

static cJSON *load_results(const char *path)
{
    char err[1024];
    cJSON *doc = mlb_results_load(path, err, sizeof err);
    if (!doc)
        fprintf(stderr, "mlbench-engine compare: %s\n", err);
    return doc;
}

int mlb_cmd_compare(int argc, char **argv)
{
    options o = {0.05, 0.10, 0.0, 0};
    const char *files[2] = {NULL, NULL};
    int rc = parse_args(argc, argv, &o, files);
    if (rc)
        return rc > 0 ? 0 : 2;
    cJSON *base = load_results(files[0]);
    cJSON *cur = base ? load_results(files[1]) : NULL;
    if (!base || !cur) {
        cJSON_Delete(base);
        return 2;
    }
    const char *cur_status = mlb_jstr(cur, "status");
    if (cur_status && strcmp(cur_status, "complete"))
        fprintf(stderr, "mlbench-engine compare: warning: %s is %s\n", files[1], cur_status);

    int exit_code = 2;
    size_t nb = (size_t)cJSON_GetArraySize(mlb_jget(base, "runs"));
    size_t na = (size_t)cJSON_GetArraySize(mlb_jget(cur, "runs"));
    int *matched_b = calloc(nb + 1, sizeof *matched_b);
    long *pair_of_a = calloc(na + 1, sizeof *pair_of_a);
    pair *ps = NULL;
    size_t n_pairs = 0;
    rows rs = {0};
    cJSON *out = NULL;
    mlb_sbuf t = {0};
    if (!matched_b || !pair_of_a || mlb_cr_match_runs(base, cur, &ps, &n_pairs, matched_b, pair_of_a) < 0)
        goto oom;
    for (size_t i = 0; i < n_pairs; i++)
        if (add_pair_rows(&rs, i, &ps[i]) < 0)
            goto oom;
    if (judge(&rs, &o) < 0)
        goto oom;

    out = o.json ? cJSON_CreateObject() : NULL;
    if (o.json && !out)
        goto oom;
    cJSON *j_env = out ? cJSON_CreateArray() : NULL;
    int env_differs = env_mismatch(base, cur, j_env);

    size_t count[V_N] = {0};
    for (size_t i = 0; i < rs.n; i++)
        count[rs.v[i].v]++;
    size_t compared = rs.n - count[V_NOT_COMPARED];

    if (out) {
        cJSON_AddStringToObject(out, "baseline", files[0]);
        cJSON_AddStringToObject(out, "new", files[1]);
        cJSON_AddNumberToObject(out, "threshold", o.threshold);
        cJSON_AddNumberToObject(out, "mem_threshold", o.mem_threshold);
        cJSON_AddNumberToObject(out, "min_seconds", o.min_seconds);
        cJSON_AddItemToObject(out, "environment_differs", j_env);
        cJSON *arr = cJSON_AddArrayToObject(out, "comparisons");
        for (size_t i = 0; i < rs.n; i++)
            cJSON_AddItemToArray(arr, row_json(&rs.v[i], ps));
    } else if (rs.n)
        print_table(&rs, ps, n_pairs);

    /* Unmatched runs: a hint names how a NEW run differs from a BASELINE
     * run of its task:variant, the usual cause being a changed parameter. */
    cJSON *j_um = out ? cJSON_AddObjectToObject(out, "unmatched") : NULL;
    cJSON *j_ub = j_um ? cJSON_AddArrayToObject(j_um, "baseline") : NULL;
    cJSON *j_un = j_um ? cJSON_AddArrayToObject(j_um, "new") : NULL;
    size_t n_unmatched = 0;
    const cJSON *r;
    size_t i = 0;
    cJSON_ArrayForEach(r, mlb_jget(base, "runs"))
    {
        if (!matched_b[i++]) {
            n_unmatched++;
            t.len = 0;
            mlb_cr_workload_text(&t, r, base, 0);
            if (out)
                cJSON_AddItemToArray(j_ub, run_ref_json(r, NULL));
            else
                printf("unmatched: BASELINE run %s:%s%s%s%s has no counterpart in NEW\n",
                       mlb_jstr(r, "task"), mlb_jstr(r, "variant"), t.len ? " (" : "",
                       t.len ? t.s : "", t.len ? ")" : "");
        }
    }
    i = 0;
    cJSON_ArrayForEach(r, mlb_jget(cur, "runs"))
    {
        if (pair_of_a[i++] >= 0)
            continue;
        n_unmatched++;
        t.len = 0;
        /* the likeliest counterpart: an unpaired BASELINE run of the same
         * task:variant, else any run of it */
        const cJSON *rb, *like = NULL, *any = NULL;
        size_t k = 0;
        cJSON_ArrayForEach(rb, mlb_jget(base, "runs"))
        {
            if (mlb_cr_same_task_variant(r, rb)) {
                if (!any)
                    any = rb;
                if (!like && !matched_b[k])
                    like = rb;
            }
            k++;
        }
        if (!like)
            like = any;
        if (like)
            mlb_cr_param_diff(r, like, 0, &t);
        char *hint = t.s && t.len ? strdup(t.s) : NULL;
        t.len = 0;
        mlb_cr_workload_text(&t, r, cur, 0);
        if (out)
            cJSON_AddItemToArray(j_un, run_ref_json(r, hint));
        else
            printf("unmatched: NEW run %s:%s%s%s%s has no counterpart in BASELINE%s%s%s\n",
                   mlb_jstr(r, "task"), mlb_jstr(r, "variant"), t.len ? " (" : "",
                   t.len ? t.s : "", t.len ? ")" : "",
                   hint ? "; its workload differs from BASELINE's in " : "", hint ? hint : "",
                   hint ? " (new vs baseline)" : "");
        free(hint);
    }
    if (t.oom)
        goto oom;

    size_t n_failed = 0;
    cJSON *j_failed = out ? cJSON_AddArrayToObject(out, "failed") : NULL;
    i = 0;
    cJSON_ArrayForEach(r, mlb_jget(cur, "runs"))
    {
        char why[512], label[256];
        long pi = pair_of_a[i++];
        if (!run_failed(r, why, sizeof why))
            continue;
        n_failed++;
        if (pi >= 0)
            snprintf(label, sizeof label, "%s", ps[pi].label);
        else
            mlb_cr_run_label(label, sizeof label, r, cur);
        if (out) {
            cJSON *f = cJSON_CreateObject();
            cJSON_AddStringToObject(f, "run", label);
            cJSON_AddNumberToObject(f, "index", mlb_jnum(r, "index"));
            cJSON_AddStringToObject(f, "why", why);
            cJSON_AddItemToArray(j_failed, f);
        } else
            printf("FAILED: %s: %s\n", label, why);
    }

    size_t regressions = count[V_REGRESSION];
    const char *error = NULL;
    if (!n_pairs)
        error = "no run of NEW matches a run of BASELINE (task, variant and workload "
                "parameters)";
    else if (regressions || n_failed)
        exit_code = 1;
    else if (!compared)
        error = "nothing could be compared (no successful repetition on both sides)";
    else
        exit_code = 0;

    char summary[512];
    snprintf(summary, sizeof summary,
             "%s: %zu regression%s, %zu failed run%s (thresholds: time %g%%, memory %g%%); "
             "%zu inconclusive, %zu equivalent, %zu improvement%s, %zu no change, "
             "%zu below --min-seconds; %zu unmatched run%s%s",
             exit_code == 0 ? "PASS" : exit_code == 1 ? "FAIL" : "ERROR", regressions,
             regressions == 1 ? "" : "s", n_failed, n_failed == 1 ? "" : "s", 100 * o.threshold,
             100 * o.mem_threshold, count[V_INCONCLUSIVE], count[V_EQUIVALENT],
             count[V_IMPROVEMENT], count[V_IMPROVEMENT] == 1 ? "" : "s", count[V_NO_CHANGE],
             count[V_BELOW_MIN], n_unmatched, n_unmatched == 1 ? "" : "s",
             env_differs ? " (environments differ: see the warnings)" : "");
    if (out) {
        cJSON *c = cJSON_AddObjectToObject(out, "counts");
        for (int v = V_REGRESSION; v < V_N; v++)
            cJSON_AddNumberToObject(c, verdict_names[v], (double)count[v]);
        cJSON_AddNumberToObject(c, "not compared", (double)count[V_NOT_COMPARED]);
        cJSON_AddNumberToObject(c, "failed", (double)n_failed);
        cJSON_AddNumberToObject(c, "unmatched", (double)n_unmatched);
        if (error)
            cJSON_AddStringToObject(out, "error", error);
        cJSON_AddStringToObject(out, "summary", summary);
        cJSON_AddNumberToObject(out, "exit_status", exit_code);
        char *s = mlb_json_fix_utf8(out) == 0 ? cJSON_Print(out) : NULL;
        if (!s)
            goto oom;
        printf("%s\n", s);
        free(s);
    } else
        printf("%s\n", summary);
    if (error)
        fprintf(stderr, "mlbench-engine compare: %s\n", error);
    goto done;

oom:
    fprintf(stderr, "mlbench-engine compare: %s\n", strerror(ENOMEM));
    exit_code = 2;
done:
    free(t.s);
    cJSON_Delete(out);
    free(rs.v);
    free(ps);
    free(matched_b);
    free(pair_of_a);
    cJSON_Delete(base);
    cJSON_Delete(cur);
    return exit_code;
}
