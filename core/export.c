/* Reports from a results document: HTML (inline CSS and SVG, no script, no
 * external resource, so that it can be mailed or archived and still open
 * offline), CSV (one row per repetition, for spreadsheets and pandas) and
 * GitHub Markdown (tables and verdicts for docs and pull requests).
 *
 * Everything here reads the JSON document only, never the in-memory session:
 * `mlbench-engine report` on a saved file and `--html` on a live run then
 * produce the same bytes, and the document's documented rule holds (unknown
 * fields ignored, null where a value could not be computed). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine.h"
#include "export.h"

#define RESULT_SCHEMA "mlbench.result/1"
#define DASH "\xe2\x80\x93" /* "–": an absent value, distinct from a measured 0 */

static const char *const phases[] = {"setup", "train", "infer", "teardown"};
#define N_PHASES (sizeof phases / sizeof *phases)

/* ---- a growing text buffer ------------------------------------------------ */

typedef struct {
    char *s;
    size_t len, cap;
    int oom; /* sticky: the builders check it once at the end */
} sbuf;

static void sb_reserve(sbuf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 8192;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *ns = realloc(b->s, cap);
    if (!ns) {
        b->oom = 1;
        return;
    }
    b->s = ns;
    b->cap = cap;
}

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sb_putn(b, tmp, (size_t)n);
        return;
    }
    sb_reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at p, or 0: plugin messages are bytes,
 * and an HTML page declared UTF-8 (or a Markdown file) must not carry
 * invalid sequences. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
             : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    if (!n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0; /* overlong, surrogate, or above U+10FFFF */
    return n;
}

#define REPLACEMENT "\xef\xbf\xbd"

/* Text from the document into HTML (element content and quoted attributes). */
static void sb_html(sbuf *b, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        switch (*p) {
        case '&': sb_puts(b, "&amp;"); p++; continue;
        case '<': sb_puts(b, "&lt;"); p++; continue;
        case '>': sb_puts(b, "&gt;"); p++; continue;
        case '"': sb_puts(b, "&quot;"); p++; continue;
        case '\'': sb_puts(b, "&#39;"); p++; continue;
        default: break;
        }
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7F) {
            sb_puts(b, REPLACEMENT); /* control characters are not allowed in HTML */
            p++;
            continue;
        }
        size_t n = utf8_len(p);
        if (!n) {
            sb_puts(b, REPLACEMENT);
            p++;
        } else {
            sb_putn(b, (const char *)p, n);
            p += n;
        }
    }
}

/* Text into a Markdown table cell or list item: one line, no column break,
 * no raw HTML. */
static void sb_md(sbuf *b, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        if (*p == '|') sb_puts(b, "\\|");
        else if (*p == '\\') sb_puts(b, "\\\\");
        else if (*p == '<') sb_puts(b, "&lt;");
        else if (*p == '>') sb_puts(b, "&gt;");
        else if (*p == '`') sb_puts(b, "'");
        else if (*p < 0x20 || *p == 0x7F) sb_puts(b, " ");
        else {
            size_t n = utf8_len(p);
            if (n)
                sb_putn(b, (const char *)p, n);
            else
                sb_puts(b, REPLACEMENT);
            p += n ? n : 1;
            continue;
        }
        p++;
    }
}

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line break. */
static void sb_csv(sbuf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        sb_puts(b, s);
        return;
    }
    sb_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        sb_putn(b, p, 1);
        if (*p == '"')
            sb_putn(b, p, 1); /* a quote is doubled */
    }
    sb_puts(b, "\"");
}

/* ---- reading the document ------------------------------------------------ */

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

/* "phases.train.wall_s.median" */
static const cJSON *jpath(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = jget(cur, tok);
    return cur;
}

static double jnum(const cJSON *o, const char *path)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static const char *jstr(const cJSON *o, const char *path)
{
    const cJSON *v = jpath(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const char *or_dash(const char *s)
{
    return s && *s ? s : DASH;
}

/* The shortest text that reads back as the same double (as cJSON writes
 * numbers), so that CSV cells equal the JSON's values exactly. */
static void fmt_exact(char *b, size_t n, double v)
{
    if (!isfinite(v)) {
        b[0] = '\0';
        return;
    }
    snprintf(b, n, "%.15g", v);
    if (strtod(b, NULL) != v)
        snprintf(b, n, "%.17g", v);
}

void mlb_fmt_time(char *b, size_t n, double s)
{
    if (!isfinite(s))
        snprintf(b, n, DASH);
    else if (s < 1e-6)
        snprintf(b, n, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(b, n, "%.1f \xc2\xb5s", s * 1e6);
    else if (s < 1)
        snprintf(b, n, "%.2f ms", s * 1e3);
    else
        snprintf(b, n, "%.3f s", s);
}

void mlb_fmt_rate(char *b, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(b, n, DASH);
    else if (v >= 1e9)
        snprintf(b, n, "%.2fG/s", v / 1e9);
    else if (v >= 1e6)
        snprintf(b, n, "%.2fM/s", v / 1e6);
    else if (v >= 1e3)
        snprintf(b, n, "%.2fk/s", v / 1e3);
    else
        snprintf(b, n, "%.3g/s", v);
}

void mlb_fmt_bytes(char *b, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(b, n, DASH);
    else if (v >= 1 << 30)
        snprintf(b, n, "%.2f GiB", v / (1 << 30));
    else
        snprintf(b, n, "%.1f MiB", v / (1 << 20));
}

static void fmt_g(char *b, size_t n, double v)
{
    if (isfinite(v))
        snprintf(b, n, "%.4g", v);
    else
        snprintf(b, n, DASH);
}

static void fmt_p(char *b, size_t n, double p)
{
    if (!isfinite(p))
        snprintf(b, n, DASH);
    else if (p < 0.001)
        snprintf(b, n, "< 0.001");
    else
        snprintf(b, n, "%.3f", p);
}

/* A parameter's value as text: numbers as written, booleans as true/false. */
static void fmt_param(char *b, size_t n, const cJSON *v)
{
    if (cJSON_IsString(v))
        snprintf(b, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        fmt_exact(b, n, v->valuedouble);
    else if (cJSON_IsBool(v))
        snprintf(b, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(b, n, "null");
}

static void params_text(sbuf *b, const cJSON *params)
{
    const cJSON *p;
    int first = 1;
    cJSON_ArrayForEach(p, params)
    {
        char v[512];
        fmt_param(v, sizeof v, p);
        sb_printf(b, "%s%s=%s", first ? "" : ";", p->string ? p->string : "?", v);
        first = 0;
    }
}

/* "mlbench.result/1" with `runs` an array of objects: anything else is not
 * a document these reports can read. */
static int doc_check(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    if (!cJSON_IsObject(doc)) {
        snprintf(err, errlen, "%s: not an mlbench result (not a JSON object)", path);
        return -EINVAL;
    }
    const char *schema = jstr(doc, "schema");
    if (!schema) {
        snprintf(err, errlen, "%s: not an mlbench result (field 'schema' is missing)", path);
        return -EINVAL;
    }
    if (strcmp(schema, RESULT_SCHEMA) != 0) {
        snprintf(err, errlen, "%s: field 'schema': '%s' is not %s, the schema this engine reads",
                 path, schema, RESULT_SCHEMA);
        return -EINVAL;
    }
    const cJSON *runs = jget(doc, "runs"), *r;
    if (!cJSON_IsArray(runs)) {
        snprintf(err, errlen, "%s: field 'runs' is missing or not an array", path);
        return -EINVAL;
    }
    int i = 0;
    cJSON_ArrayForEach(r, runs)
    {
        if (!cJSON_IsObject(r)) {
            snprintf(err, errlen, "%s: field 'runs[%d]' is not an object", path, i);
            return -EINVAL;
        }
        if (!jstr(r, "task") || !jstr(r, "variant")) {
            snprintf(err, errlen, "%s: field 'runs[%d]': 'task' and 'variant' must be strings",
                     path, i);
            return -EINVAL;
        }
        i++;
    }
    const cJSON *cmps = jget(doc, "comparisons");
    if (cmps && !cJSON_IsArray(cmps) && !cJSON_IsNull(cmps)) {
        snprintf(err, errlen, "%s: field 'comparisons' is not an array", path);
        return -EINVAL;
    }
    return 0;
}

/* Runs of one group (runs[].group), in document order: the variants that the
 * engine compared with each other. */
typedef struct {
    double id;
    const cJSON **runs;
    size_t n;
    int first_index; /* runs[].index of the first, for anchors */
} grp;

typedef struct {
    grp *v;
    size_t n;
} grp_list;

static void groups_free(grp_list *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i].runs);
    free(g->v);
    memset(g, 0, sizeof *g);
}

static int groups_build(const cJSON *doc, grp_list *out)
{
    memset(out, 0, sizeof *out);
    const cJSON *r;
    int i = 0;
    cJSON_ArrayForEach(r, jget(doc, "runs"))
    {
        double id = jnum(r, "group");
        if (!isfinite(id))
            id = -1.0 - i; /* no group: compared with nothing, a group of its own */
        size_t k = 0;
        while (k < out->n && out->v[k].id != id)
            k++;
        if (k == out->n) {
            grp *nv = realloc(out->v, (out->n + 1) * sizeof *nv);
            if (!nv)
                goto oom;
            out->v = nv;
            memset(&out->v[out->n], 0, sizeof *nv);
            out->v[out->n].id = id;
            out->v[out->n].first_index = i;
            out->n++;
        }
        grp *g = &out->v[k];
        const cJSON **nr = realloc(g->runs, (g->n + 1) * sizeof *nr);
        if (!nr)
            goto oom;
        g->runs = nr;
        g->runs[g->n++] = r;
        i++;
    }
    return 0;
oom:
    groups_free(out);
    return -ENOMEM;
}

/* Whether comparison c belongs to group g (its run_a is one of g's runs). */
static int cmp_in_group(const cJSON *doc, const cJSON *c, const grp *g)
{
    double ra = jnum(c, "run_a");
    if (!isfinite(ra) || ra < 0)
        return 0;
    const cJSON *run = cJSON_GetArrayItem(jget(doc, "runs"), (int)ra);
    for (size_t i = 0; i < g->n; i++)
        if (g->runs[i] == run)
            return 1;
    return 0;
}

static const char *run_variant(const cJSON *r)
{
    return or_dash(jstr(r, "variant"));
}

/* A group's heading: its task, with the group number when tasks repeat. */
static void group_title(sbuf *b, const grp *g, int html)
{
    const char *task = or_dash(jstr(g->runs[0], "task"));
    if (html)
        sb_html(b, task);
    else
        sb_md(b, task);
    for (size_t i = 1; i < g->n; i++) {
        const char *t = jstr(g->runs[i], "task");
        if (t && strcmp(t, task) != 0) {
            sb_puts(b, ", ");
            if (html)
                sb_html(b, t);
            else
                sb_md(b, t);
        }
    }
    if (g->id >= 0)
        sb_printf(b, " (group %.0f)", g->id);
}

/* ---- the cells of the comparison table (shared by HTML and Markdown) ----- */

typedef struct {
    char train[64], train_tip[160], lat[112], rate_train[32], rate_infer[32], gflops[32],
        rss[32], speedup[32];
} row_cells;

static double run_peak_rss(const cJSON *sum)
{
    double peak = NAN;
    for (size_t ph = 0; ph < N_PHASES; ph++) {
        char key[96];
        snprintf(key, sizeof key, "phases.%s.rss_peak_bytes.max", phases[ph]);
        double v = jnum(sum, key);
        if (isfinite(v) && !(v <= peak))
            peak = v;
    }
    return peak;
}

/* Speed-up against the group's first variant: train median, or infer where
 * train was not measured (as the terminal table computes it). */
static double run_speedup(const cJSON *base, const cJSON *sum)
{
    double bt = jnum(base, "phases.train.wall_s.median");
    double t = jnum(sum, "phases.train.wall_s.median");
    double sp = isfinite(t) && t > 0 ? bt / t : NAN;
    if (!isfinite(sp)) {
        double bq = jnum(base, "phases.infer.wall_s.median");
        double q = jnum(sum, "phases.infer.wall_s.median");
        sp = isfinite(q) && q > 0 ? bq / q : NAN;
    }
    return sp;
}

/* The speed-up's reference: the first variant with a train median (the
 * engine plans "naive" first), else the first with an infer median; a variant
 * that failed every repetition cannot be the reference. */
static const cJSON *group_base(const grp *g)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < g->n; i++)
            if (isfinite(jnum(jget(g->runs[i], "summary"),
                              pass ? "phases.infer.wall_s.median" : "phases.train.wall_s.median")))
                return g->runs[i];
    return g->runs[0];
}

static void row_fill(row_cells *c, const cJSON *run, const cJSON *base_run)
{
    const cJSON *sum = jget(run, "summary");
    const cJSON *base = jget(base_run, "summary");
    double med = jnum(sum, "phases.train.wall_s.median");
    double iqr = jnum(sum, "phases.train.wall_s.iqr");
    char t[32], q1[32], q3[32];
    mlb_fmt_time(t, sizeof t, med);
    if (isfinite(med) && isfinite(iqr) && med > 0)
        snprintf(c->train, sizeof c->train, "%s \xc2\xb1%.1f%%", t, 50.0 * iqr / med);
    else
        snprintf(c->train, sizeof c->train, "%s", t);
    mlb_fmt_time(q1, sizeof q1, jnum(sum, "phases.train.wall_s.q1"));
    mlb_fmt_time(q3, sizeof q3, jnum(sum, "phases.train.wall_s.q3"));
    double n = jnum(sum, "phases.train.wall_s.n");
    snprintf(c->train_tip, sizeof c->train_tip, "q1 %s, q3 %s, n = %.0f", q1, q3,
             isfinite(n) ? n : 0.0);
    char p50[32], p90[32], p99[32];
    mlb_fmt_time(p50, sizeof p50, jnum(sum, "infer_latency_s.p50"));
    mlb_fmt_time(p90, sizeof p90, jnum(sum, "infer_latency_s.p90"));
    mlb_fmt_time(p99, sizeof p99, jnum(sum, "infer_latency_s.p99"));
    if (isfinite(jnum(sum, "infer_latency_s.p50")))
        snprintf(c->lat, sizeof c->lat, "%s / %s / %s", p50, p90, p99);
    else
        snprintf(c->lat, sizeof c->lat, DASH);
    mlb_fmt_rate(c->rate_train, sizeof c->rate_train, jnum(sum, "phases.train.items_per_s.median"));
    mlb_fmt_rate(c->rate_infer, sizeof c->rate_infer, jnum(sum, "phases.infer.items_per_s.median"));
    double g = jnum(sum, "phases.train.gflop_per_s.median");
    if (!isfinite(g))
        g = jnum(sum, "phases.infer.gflop_per_s.median");
    if (isfinite(g))
        snprintf(c->gflops, sizeof c->gflops, "%.2f", g);
    else
        snprintf(c->gflops, sizeof c->gflops, DASH);
    mlb_fmt_bytes(c->rss, sizeof c->rss, run_peak_rss(sum));
    double sp = run_speedup(base, sum);
    if (isfinite(sp))
        snprintf(c->speedup, sizeof c->speedup, "%.2f\xc3\x97", sp);
    else
        snprintf(c->speedup, sizeof c->speedup, DASH);
}

/* Union of the quality metrics' names over a group's summaries, in order of
 * first appearance. The strings belong to the document. */
typedef struct {
    const char **v;
    const char **better;
    size_t n;
} name_list;

static int names_add(name_list *l, const char *name, const char *better)
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

static void names_free(name_list *l)
{
    free(l->v);
    free(l->better);
    memset(l, 0, sizeof *l);
}

static int group_metric_names(const grp *g, name_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *m;
        cJSON_ArrayForEach(m, jpath(g->runs[i], "summary.metrics"))
        {
            if (m->string && names_add(out, m->string, jstr(m, "better")) < 0)
                return -ENOMEM;
        }
    }
    return 0;
}

/* ---- SVG plots -------------------------------------------------------------- */

/* Colour-blind-safe palette (Okabe-Ito, then Tableau); variant i of a group
 * keeps colour i in every plot of the group. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                      "#D55E00", "#7F7F7F", "#F0E442", "#9467BD", "#8C564B"};
#define PALETTE_N (sizeof palette / sizeof *palette)

static const char *color_of(size_t i)
{
    return palette[i % PALETTE_N];
}

typedef struct {
    double lo, hi;
    int log;
    double step; /* of the linear ticks: how many decimals their labels need */
} axis;

static double ax_pos(const axis *a, double v, double p0, double p1)
{
    double t = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo))
                      : (v - a->lo) / (a->hi - a->lo);
    return p0 + t * (p1 - p0);
}

#define MAX_TICKS 24

/* Rounds the axis out to "nice" steps (1, 2, 5 × 10^k) and lists its ticks. */
static size_t ax_ticks(axis *a, double *t)
{
    size_t n = 0;
    if (a->log) {
        a->lo /= 1.25; /* room around the extreme points */
        a->hi *= 1.25;
        int e0 = (int)floor(log10(a->lo)), e1 = (int)ceil(log10(a->hi));
        int decades_only = e1 - e0 > 4;
        static const double mult[3] = {1, 2, 5};
        for (int e = e0; e <= e1; e++)
            for (int k = 0; k < 3; k++) {
                double v = mult[k] * pow(10, e);
                if ((decades_only && k) || v < a->lo || v > a->hi || n >= MAX_TICKS)
                    continue;
                t[n++] = v;
            }
        if (n >= 2)
            return n;
        a->log = 0; /* too narrow for a log scale to show ticks */
    }
    if (!(a->hi > a->lo)) {
        double d = a->lo != 0 ? fabs(a->lo) * 0.1 : 1;
        a->lo -= d;
        a->hi += d;
    }
    double raw = (a->hi - a->lo) / 5, mag = pow(10, floor(log10(raw))), nrm = raw / mag;
    double step = (nrm < 1.5 ? 1 : nrm < 3 ? 2 : nrm < 7 ? 5 : 10) * mag;
    a->step = step;
    a->lo = floor(a->lo / step + 1e-9) * step;
    a->hi = ceil(a->hi / step - 1e-9) * step;
    for (int i = 0; n < MAX_TICKS; i++) {
        double v = a->lo + i * step;
        if (v > a->hi + step * 1e-6)
            break;
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    }
    return n;
}

/* Units for a time axis: the tick labels stay short numbers. */
static void time_unit(double hi, double *scale, const char **name)
{
    if (hi >= 1) {
        *scale = 1;
        *name = "s";
    } else if (hi >= 1e-3) {
        *scale = 1e-3;
        *name = "ms";
    } else {
        *scale = 1e-6;
        *name = "\xc2\xb5s";
    }
}

/* Enough decimals to tell neighbouring ticks apart (19.998 from 20.000),
 * and no more. */
static void tick_text(char *b, size_t n, const axis *a, double v, double scale)
{
    double st = a->step / scale;
    if (a->log || !(st > 0) || fabs(v / scale) >= 1e6 || st < 1e-6) {
        snprintf(b, n, "%.4g", v / scale);
        return;
    }
    int dec = st >= 1 ? 0 : (int)ceil(-log10(st) - 1e-9);
    snprintf(b, n, "%.*f", dec, v / scale);
}

#define SVG_W 560.0
#define FONT "font-family=\"system-ui,sans-serif\" font-size=\"11\""

static void svg_open(sbuf *b, const char *cls, double h, const char *title)
{
    /* No xmlns: inline SVG in HTML needs none, and the page names no URL. */
    sb_printf(b, "<svg class=\"plot %s\" viewBox=\"0 0 %.0f %.0f\" "
                 "role=\"img\" " FONT "><title>",
              cls, SVG_W, h);
    sb_html(b, title);
    sb_puts(b, "</title>\n");
}

/* A horizontal axis at y with grid lines up to ytop, labels and a title. */
static void svg_xaxis(sbuf *b, const axis *a, const double *t, size_t nt, double x0, double x1,
                      double ytop, double y, double scale, const char *label)
{
    for (size_t i = 0; i < nt; i++) {
        double x = ax_pos(a, t[i], x0, x1);
        char txt[32];
        tick_text(txt, sizeof txt, a, t[i], scale);
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7ec\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#555\">%s</text>\n",
                  x, ytop, x, y, x, y + 14, txt);
    }
    sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3ad\"/>\n",
              x0, y, x1, y);
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">", (x0 + x1) / 2,
              y + 30);
    sb_html(b, label);
    sb_puts(b, "</text>\n");
}

static void svg_yaxis(sbuf *b, const axis *a, const double *t, size_t nt, double x0, double x1,
                      double y0, double y1, double scale, const char *label)
{
    for (size_t i = 0; i < nt; i++) {
        double y = ax_pos(a, t[i], y0, y1);
        char txt[32];
        tick_text(txt, sizeof txt, a, t[i], scale);
        sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e3e7ec\"/>"
                     "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#555\">%s</text>\n",
                  x0, y, x1, y, x0 - 5, y + 4, txt);
    }
    sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3ad\"/>\n",
              x0, y0, x0, y1);
    sb_printf(b, "<text transform=\"translate(14 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                 "fill=\"#333\">",
              (y0 + y1) / 2);
    sb_html(b, label);
    sb_puts(b, "</text>\n");
}

/* Left margin that fits the longest variant name (about 6.5 px a character
 * at 11 px), within bounds so that the plot keeps most of the width. */
static double label_margin(const grp *g)
{
    size_t longest = 4;
    for (size_t i = 0; i < g->n; i++) {
        size_t l = strlen(run_variant(g->runs[i]));
        if (l > longest)
            longest = l;
    }
    double m = 16 + 6.5 * (double)longest;
    return m < 70 ? 70 : m > 180 ? 180 : m;
}

static void svg_row_label(sbuf *b, double x, double y, const char *text)
{
    sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#222\">", x, y + 4);
    sb_html(b, text);
    sb_puts(b, "</text>\n");
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Type 7 quantile of sorted v (as stats.c computes them). */
static double quantile7(const double *v, size_t n, double p)
{
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    return lo + 1 < n ? v[lo] + (h - (double)lo) * (v[lo + 1] - v[lo]) : v[n - 1];
}

/* Train wall time of every successful repetition, per variant: box (q1-q3),
 * median bar, whiskers to min and max, and each repetition as a dot. */
static int svg_boxplot(sbuf *b, const grp *g)
{
    double **vals = calloc(g->n, sizeof *vals);
    size_t *nv = calloc(g->n, sizeof *nv), *n_ok = calloc(g->n, sizeof *n_ok);
    int rc = 0;
    if (!vals || !nv || !n_ok) {
        rc = -ENOMEM;
        goto out;
    }
    double lo = INFINITY, hi = -INFINITY;
    size_t total = 0;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *reps = jget(g->runs[i], "repetitions"), *rep;
        vals[i] = malloc(((size_t)cJSON_GetArraySize(reps) + 1) * sizeof **vals);
        if (!vals[i]) {
            rc = -ENOMEM;
            goto out;
        }
        cJSON_ArrayForEach(rep, reps)
        {
            const char *st = jstr(rep, "status");
            double w = jnum(rep, "phases.train.wall_s");
            if (!st || strcmp(st, "ok") != 0)
                continue;
            n_ok[i]++;
            if (!isfinite(w))
                continue;
            vals[i][nv[i]++] = w;
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        total += nv[i];
    }
    if (!total)
        goto out;
    double left = label_margin(g), right = SVG_W - 18, row = 34, top = 12;
    double h = top + row * (double)g->n + 46;
    axis a = {.lo = lo, .hi = hi, .log = lo > 0 && hi / lo > 20};
    if (!a.log) {
        double pad = (hi - lo) * 0.08;
        a.lo = lo - pad < 0 && lo >= 0 ? 0 : lo - pad;
        a.hi = hi + pad;
    }
    double t[MAX_TICKS];
    size_t nt = ax_ticks(&a, t);
    double scale;
    const char *unit;
    time_unit(a.hi, &scale, &unit);
    char label[64];
    snprintf(label, sizeof label, "train wall time (%s)%s", unit, a.log ? ", log scale" : "");
    svg_open(b, "box", h, "train wall time per repetition");
    double ybot = top + row * (double)g->n;
    svg_xaxis(b, &a, t, nt, left, right, top, ybot, scale, label);
    for (size_t i = 0; i < g->n; i++) {
        double cy = top + row * ((double)i + 0.5);
        svg_row_label(b, left - 8, cy, run_variant(g->runs[i]));
        if (!nv[i]) {
            sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#888\">%s</text>\n", left + 6,
                      cy + 4, n_ok[i] ? "no train phase" : "no successful repetition");
            continue;
        }
        double *v = malloc(nv[i] * sizeof *v);
        if (!v) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(v, vals[i], nv[i] * sizeof *v);
        qsort(v, nv[i], sizeof *v, cmp_double);
        double q1 = quantile7(v, nv[i], 0.25), md = quantile7(v, nv[i], 0.5),
               q3 = quantile7(v, nv[i], 0.75);
        double xmin = ax_pos(&a, v[0], left, right), xmax = ax_pos(&a, v[nv[i] - 1], left, right);
        double x1 = ax_pos(&a, q1, left, right), x3 = ax_pos(&a, q3, left, right),
               xm = ax_pos(&a, md, left, right);
        free(v);
        const char *col = color_of(i);
        sb_printf(b, "<g><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>"
                     "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>"
                     "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>\n",
                  xmin, cy, xmax, cy, xmin, cy - 6, xmin, cy + 6, xmax, cy - 6, xmax, cy + 6);
        sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"%s\" "
                     "fill-opacity=\"0.22\" stroke=\"%s\"/>"
                     "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                     "stroke-width=\"3\"/>\n",
                  x1, cy - 9, x3 - x1 < 1 ? 1 : x3 - x1, col, col, xm, cy - 11, xm, cy + 11, col);
        for (size_t k = 0; k < nv[i]; k++) {
            /* A fixed jitter by repetition index: repeatable output, and
             * equal times still show as separate dots. */
            double jy = cy + ((double)((k * 7) % 9) - 4) * 1.6;
            char tt[32];
            mlb_fmt_time(tt, sizeof tt, vals[i][k]);
            sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" "
                         "fill-opacity=\"0.75\" stroke=\"#fff\" stroke-width=\"0.6\">"
                         "<title>repetition %zu: %s</title></circle>\n",
                      ax_pos(&a, vals[i][k], left, right), jy, col, k + 1, tt);
        }
        sb_puts(b, "</g>\n");
    }
    sb_puts(b, "</svg>\n");
    rc = 1;
out:
    if (vals)
        for (size_t i = 0; i < g->n; i++)
            free(vals[i]);
    free(vals);
    free(nv);
    free(n_ok);
    return rc;
}

/* Median throughput of one phase per variant, as horizontal bars from 0. */
static int svg_bars(sbuf *b, const grp *g, const char *phase)
{
    char key[96];
    snprintf(key, sizeof key, "phases.%s.items_per_s.median", phase);
    double hi = 0;
    int any = 0;
    for (size_t i = 0; i < g->n; i++) {
        double v = jnum(jget(g->runs[i], "summary"), key);
        if (isfinite(v) && v > 0) {
            any = 1;
            hi = v > hi ? v : hi;
        }
    }
    if (!any)
        return 0;
    double left = label_margin(g), right = SVG_W - 18, row = 30, top = 12;
    double h = top + row * (double)g->n + 46;
    axis a = {.lo = 0, .hi = hi * 1.22}; /* room for the value after the longest bar */
    double t[MAX_TICKS];
    size_t nt = ax_ticks(&a, t);
    double scale = a.hi >= 2e9 ? 1e9 : a.hi >= 2e6 ? 1e6 : a.hi >= 2e3 ? 1e3 : 1;
    const char *prefix = scale == 1e9 ? "G" : scale == 1e6 ? "M" : scale == 1e3 ? "k" : "";
    char label[64], title[64];
    snprintf(label, sizeof label, "%s items/s (median, %s)", phase, *prefix ? prefix : "units");
    if (!*prefix)
        snprintf(label, sizeof label, "%s items/s (median)", phase);
    snprintf(title, sizeof title, "median %s throughput", phase);
    svg_open(b, "bars", h, title);
    double ybot = top + row * (double)g->n;
    svg_xaxis(b, &a, t, nt, left, right, top, ybot, scale, label);
    for (size_t i = 0; i < g->n; i++) {
        double cy = top + row * ((double)i + 0.5);
        double v = jnum(jget(g->runs[i], "summary"), key);
        svg_row_label(b, left - 8, cy, run_variant(g->runs[i]));
        char txt[32];
        mlb_fmt_rate(txt, sizeof txt, v);
        double x = isfinite(v) && v > 0 ? ax_pos(&a, v, left, right) : left;
        if (x > left)
            sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"%s\"/>",
                      left, cy - 9, x - left, color_of(i));
        sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">%s</text>\n", x + 5, cy + 4, txt);
    }
    sb_puts(b, "</svg>\n");
    return 1;
}

/* Line plots: one series per repetition (faint) or per variant (solid). */
typedef struct {
    double *x, *y;
    size_t n;
    size_t color;
    int faint;
} series;

typedef struct {
    series *v;
    size_t n;
} series_set;

static void series_free(series_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].x);
        free(s->v[i].y);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

static series *series_add(series_set *s, size_t cap, size_t color, int faint)
{
    series *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    s->v = nv;
    series *r = &s->v[s->n];
    memset(r, 0, sizeof *r);
    r->x = malloc((cap + 1) * sizeof *r->x);
    r->y = malloc((cap + 1) * sizeof *r->y);
    if (!r->x || !r->y) {
        free(r->x);
        free(r->y);
        return NULL;
    }
    r->color = color;
    r->faint = faint;
    s->n++;
    return r;
}

/* At most this many vertices a line: a 4096-point memory timeline would
 * weigh the page down without showing more at this width. */
#define MAX_VERTICES 1200

static void svg_lines(sbuf *b, const char *cls, const char *title, const series_set *s,
                      const char *xlabel, const char *ylabel, int y_from_zero)
{
    double xhi = 0, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->v[i].n; k++) {
            xhi = s->v[i].x[k] > xhi ? s->v[i].x[k] : xhi;
            ylo = s->v[i].y[k] < ylo ? s->v[i].y[k] : ylo;
            yhi = s->v[i].y[k] > yhi ? s->v[i].y[k] : yhi;
        }
    double left = 62, right = SVG_W - 24, top = 12, bottom = 252, h = 300;
    axis ax = {.lo = 0, .hi = xhi > 0 ? xhi : 1};
    axis ay = {.lo = ylo, .hi = yhi};
    if (y_from_zero && ylo >= 0)
        ay.lo = 0;
    else {
        double pad = (yhi - ylo) * 0.06;
        ay.lo -= pad;
        ay.hi += pad;
    }
    double tx[MAX_TICKS], ty[MAX_TICKS];
    size_t ntx = ax_ticks(&ax, tx), nty = ax_ticks(&ay, ty);
    double xscale;
    const char *xunit;
    time_unit(ax.hi, &xscale, &xunit);
    char xl[160];
    snprintf(xl, sizeof xl, "%s (%s)", xlabel, xunit);
    svg_open(b, cls, h, title);
    svg_xaxis(b, &ax, tx, ntx, left, right, top, bottom, xscale, xl);
    svg_yaxis(b, &ay, ty, nty, left, right, bottom, top, 1, ylabel);
    /* faint lines first, so that the solid ones stay on top */
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < s->n; i++) {
            const series *r = &s->v[i];
            if (r->faint != pass || !r->n)
                continue;
            const char *col = color_of(r->color);
            size_t stride = r->n > MAX_VERTICES ? (r->n + MAX_VERTICES - 1) / MAX_VERTICES : 1;
            sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
                         "stroke-opacity=\"%s\" stroke-linejoin=\"round\" points=\"",
                      col, pass ? "1" : "2", pass ? "0.3" : "0.95");
            for (size_t k = 0; k < r->n; k += stride) {
                /* the largest y of each stride, so that peaks survive thinning */
                size_t best = k;
                for (size_t j = k; j < k + stride && j < r->n; j++)
                    if (r->y[j] > r->y[best])
                        best = j;
                sb_printf(b, "%.1f,%.1f ", ax_pos(&ax, r->x[best], left, right),
                          ax_pos(&ay, r->y[best], bottom, top));
            }
            sb_puts(b, "\"/>\n");
            if (!pass && r->n <= 40) /* few points: each one visible */
                for (size_t k = 0; k < r->n; k++)
                    sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%s\"/>",
                              ax_pos(&ax, r->x[k], left, right), ax_pos(&ay, r->y[k], bottom, top),
                              col);
            if (!pass && r->n <= 40)
                sb_puts(b, "\n");
        }
    sb_puts(b, "</svg>\n");
}

static int is_ok(const cJSON *rep)
{
    const char *st = jstr(rep, "status");
    return st && !strcmp(st, "ok");
}

/* The learning-curve quantities of a group: "loss" and each progress metric. */
static int progress_names(const grp *g, name_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep, *pt;
        cJSON_ArrayForEach(rep, jget(g->runs[i], "repetitions"))
        {
            cJSON_ArrayForEach(pt, jget(rep, "progress"))
            {
                if (!isfinite(jnum(pt, "t_s")))
                    continue;
                if (isfinite(jnum(pt, "loss")) && names_add(out, "loss", "lower") < 0)
                    return -ENOMEM;
                const char *m = jstr(pt, "metric");
                if (m && *m && isfinite(jnum(pt, "value")) && strcmp(m, "loss") != 0 &&
                    names_add(out, m, NULL) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

/* One chart of `name` (loss or a metric) against t_s: the first repetition
 * with points of each variant solid, the others faint. */
static int svg_progress(sbuf *b, const grp *g, const char *name)
{
    series_set s = {0};
    int is_loss = !strcmp(name, "loss");
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep;
        int first = 1;
        cJSON_ArrayForEach(rep, jget(g->runs[i], "repetitions"))
        {
            const cJSON *prog = jget(rep, "progress"), *pt;
            int np = cJSON_GetArraySize(prog);
            if (np <= 0)
                continue;
            series *r = series_add(&s, (size_t)np, i, !first);
            if (!r) {
                series_free(&s);
                return -ENOMEM;
            }
            cJSON_ArrayForEach(pt, prog)
            {
                double t = jnum(pt, "t_s"), v = NAN;
                if (is_loss)
                    v = jnum(pt, "loss");
                else if (jstr(pt, "metric") && !strcmp(jstr(pt, "metric"), name))
                    v = jnum(pt, "value");
                if (isfinite(t) && isfinite(v)) {
                    r->x[r->n] = t;
                    r->y[r->n++] = v;
                }
            }
            if (r->n)
                first = 0;
        }
    }
    char title[160];
    snprintf(title, sizeof title, "%s during training", name);
    svg_lines(b, "curve", title, &s, "time since train began", name, 0);
    series_free(&s);
    return 1;
}

/* Resident memory of the first successful repetition of each variant. */
static int svg_memory(sbuf *b, const grp *g)
{
    series_set s = {0};
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep;
        cJSON_ArrayForEach(rep, jget(g->runs[i], "repetitions"))
        {
            const cJSON *tl = jget(rep, "memory_timeline"), *pt;
            int np = cJSON_GetArraySize(tl);
            if (!is_ok(rep) || np <= 0)
                continue;
            series *r = series_add(&s, (size_t)np, i, 0);
            if (!r) {
                series_free(&s);
                return -ENOMEM;
            }
            cJSON_ArrayForEach(pt, tl)
            {
                const cJSON *t = cJSON_GetArrayItem(pt, 0), *v = cJSON_GetArrayItem(pt, 1);
                if (cJSON_IsNumber(t) && cJSON_IsNumber(v)) {
                    r->x[r->n] = t->valuedouble;
                    r->y[r->n++] = v->valuedouble / (1024.0 * 1024.0);
                }
            }
            break;
        }
    }
    size_t pts = 0;
    for (size_t i = 0; i < s.n; i++)
        pts += s.v[i].n;
    if (pts)
        svg_lines(b, "memory", "resident memory over time", &s, "time since setup began",
                  "resident memory (MiB)", 1);
    series_free(&s);
    return pts > 0;
}

/* ---- HTML -------------------------------------------------------------------- */

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
    "footer{margin-top:40px;color:var(--muted);font-size:12px}\n";

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

static void html_badge(sbuf *b, const char *st)
{
    sb_printf(b, "<span class=\"badge %s\">", status_class(st));
    sb_html(b, or_dash(st));
    sb_puts(b, "</span>");
}

/* One argument as a shell word, so that the command line can be pasted. */
static void shell_word(sbuf *b, const char *s)
{
    if (*s && !strpbrk(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~"))
        sb_puts(b, s);
    else {
        sb_puts(b, "'");
        for (const char *p = s; *p; p++)
            if (*p == '\'')
                sb_puts(b, "'\\''");
            else
                sb_putn(b, p, 1);
        sb_puts(b, "'");
    }
}

static void command_line(sbuf *out, const cJSON *env)
{
    const cJSON *a;
    int first = 1;
    cJSON_ArrayForEach(a, jget(env, "command_line"))
    {
        if (!cJSON_IsString(a))
            continue;
        if (!first)
            sb_puts(out, " ");
        shell_word(out, a->valuestring);
        first = 0;
    }
}

static void html_env_item(sbuf *b, const char *label, const char *value, int mono)
{
    sb_puts(b, "<dt>");
    sb_html(b, label);
    sb_printf(b, "</dt><dd%s>", mono ? " class=\"mono\"" : "");
    sb_html(b, or_dash(value));
    sb_puts(b, "</dd>\n");
}

static void html_environment(sbuf *b, const cJSON *env)
{
    char buf[256];
    sb_puts(b, "<dl class=\"env\">\n");
    const char *cpu = jstr(env, "cpu_model");
    double cores = jnum(env, "cpu_cores_online"), mhz = jnum(env, "cpu_mhz");
    snprintf(buf, sizeof buf, "%s", or_dash(cpu));
    if (isfinite(cores))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %.0f cores online", cores);
    if (isfinite(mhz))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), ", %.0f MHz", mhz);
    html_env_item(b, "CPU", buf, 0);
    html_env_item(b, "CPU governor", jstr(env, "cpu_governor"), 0);
    html_env_item(b, "host", jstr(env, "hostname"), 0);
    html_env_item(b, "kernel", jstr(env, "kernel"), 0);
    html_env_item(b, "OS", jstr(env, "os"), 0);
    snprintf(buf, sizeof buf, "%s %s", or_dash(jstr(env, "compiler")),
             or_dash(jstr(env, "cflags")));
    html_env_item(b, "compiler", buf, 1);
    double thr = jnum(env, "openblas_default_threads");
    snprintf(buf, sizeof buf, "%s", or_dash(jstr(env, "openblas_config")));
    if (isfinite(thr))
        snprintf(buf + strlen(buf), sizeof buf - strlen(buf), " (default threads %.0f)", thr);
    html_env_item(b, "OpenBLAS", buf, 1);
    snprintf(buf, sizeof buf, "GSL %s, libyaml %s, cJSON %s", or_dash(jstr(env, "gsl_version")),
             or_dash(jstr(env, "libyaml_version")), or_dash(jstr(env, "cjson_version")));
    html_env_item(b, "libraries", buf, 0);
    snprintf(buf, sizeof buf, "%s, commit %s", or_dash(jstr(env, "engine_version")),
             or_dash(jstr(env, "git_commit")));
    html_env_item(b, "engine", buf, 1);
    html_env_item(b, "started (UTC)", jstr(env, "timestamp_utc"), 0);
    char seed[64];
    fmt_exact(seed, sizeof seed, jnum(env, "seed"));
    html_env_item(b, "seed", seed, 1);
    sbuf cmd = {0};
    command_line(&cmd, env);
    html_env_item(b, "command line", cmd.oom ? NULL : cmd.s, 1);
    free(cmd.s);
    sbuf ev = {0};
    const cJSON *v;
    cJSON_ArrayForEach(v, jget(env, "env_vars"))
    {
        if (cJSON_IsString(v) && v->string)
            sb_printf(&ev, "%s%s=%s", ev.len ? " " : "", v->string, v->valuestring);
    }
    html_env_item(b, "environment variables", ev.oom ? NULL : ev.s, 1);
    free(ev.s);
    sb_puts(b, "</dl>\n");
}

static void html_perf_table(sbuf *b, const grp *g)
{
    sb_puts(b, "<div class=\"wrap\"><table class=\"runs\"><thead><tr><th>variant</th>"
               "<th>status</th>"
               "<th class=\"n\">train median \xc2\xb1 IQR/2</th>"
               "<th class=\"n\">infer latency p50 / p90 / p99</th>"
               "<th class=\"n\">train items/s</th><th class=\"n\">infer items/s</th>"
               "<th class=\"n\">GFLOP/s</th><th class=\"n\">peak RSS</th>"
               "<th class=\"n\">speed-up</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        row_cells c;
        row_fill(&c, g->runs[i], group_base(g));
        sb_printf(b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", color_of(i));
        sb_html(b, run_variant(g->runs[i]));
        sb_puts(b, "</td><td>");
        html_badge(b, jstr(g->runs[i], "status"));
        sb_puts(b, "</td><td class=\"n\" title=\"");
        sb_html(b, c.train_tip);
        sb_puts(b, "\">");
        const char *cells[] = {c.train,  c.lat, c.rate_train, c.rate_infer,
                               c.gflops, c.rss, c.speedup};
        for (size_t k = 0; k < sizeof cells / sizeof *cells; k++) {
            if (k)
                sb_puts(b, "<td class=\"n\">");
            sb_html(b, cells[k]);
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</tbody></table></div>\n");
    sb_puts(b, "<p class=\"muted\">Speed-up: the median train time (infer where there is no "
               "train) of the first variant that has one, over each variant's. Throughput and "
               "GFLOP/s: medians over successful repetitions.</p>\n");
}

static void html_metrics_table(sbuf *b, const grp *g, const name_list *m)
{
    if (!m->n)
        return;
    sb_puts(b, "<h3>Quality</h3>\n<div class=\"wrap\"><table class=\"metrics\"><thead><tr>"
               "<th>variant</th>");
    for (size_t k = 0; k < m->n; k++) {
        sb_puts(b, "<th class=\"n\">");
        sb_html(b, m->v[k]);
        if (m->better[k])
            sb_puts(b, !strcmp(m->better[k], "higher") ? " \xe2\x86\x91" : " \xe2\x86\x93");
        sb_puts(b, "</th>");
    }
    sb_puts(b, "</tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        sb_printf(b, "<tr><td><span class=\"swatch\" style=\"background:%s\"></span>", color_of(i));
        sb_html(b, run_variant(g->runs[i]));
        sb_puts(b, "</td>");
        for (size_t k = 0; k < m->n; k++) {
            const cJSON *st = jget(jpath(g->runs[i], "summary.metrics"), m->v[k]);
            char med[32], lo[32], hi[32];
            fmt_g(med, sizeof med, jnum(st, "median"));
            fmt_g(lo, sizeof lo, jnum(st, "min"));
            fmt_g(hi, sizeof hi, jnum(st, "max"));
            sb_puts(b, "<td class=\"n\" title=\"min ");
            sb_html(b, lo);
            sb_puts(b, ", max ");
            sb_html(b, hi);
            sb_puts(b, "\">");
            sb_html(b, med);
            sb_puts(b, "</td>");
        }
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">Medians over successful repetitions "
               "(\xe2\x86\x91 higher is better, \xe2\x86\x93 lower is better; hover for min and "
               "max).</p>\n");
}

static void html_params(sbuf *b, const grp *g)
{
    sb_puts(b, "<details><summary>Parameters and configuration</summary>\n<div class=\"wrap\">"
               "<table><thead><tr><th>variant</th><th>parameters</th><th>repetitions</th>"
               "<th>warm-up</th><th>infer queries</th><th>timeout</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *r = g->runs[i];
        sb_puts(b, "<tr><td>");
        sb_html(b, run_variant(r));
        sb_puts(b, "</td><td class=\"mono\">");
        sbuf p = {0};
        params_text(&p, jget(r, "params"));
        sb_html(b, p.oom || !p.s ? DASH : p.s);
        free(p.s);
        sb_puts(b, "</td>");
        static const char *const cfg[] = {"repetitions", "warmup", "infer_queries", "timeout_s"};
        for (size_t k = 0; k < 4; k++) {
            char v[32];
            fmt_g(v, sizeof v, jnum(jget(r, "config"), cfg[k]));
            sb_printf(b, "<td class=\"n\">%s%s</td>", v,
                      k == 3 && isfinite(jnum(jget(r, "config"), cfg[k])) ? " s" : "");
        }
        sb_puts(b, "</tr>\n");
    }
    sb_puts(b, "</tbody></table></div></details>\n");
}

static void html_comparisons(sbuf *b, const cJSON *doc, const grp *g)
{
    const cJSON *c;
    const char *method = NULL;
    size_t n = 0;
    cJSON_ArrayForEach(c, jget(doc, "comparisons"))
    {
        if (!cmp_in_group(doc, c, g))
            continue;
        if (!n++)
            sb_printf(b, "<h3>Comparisons</h3>\n<div class=\"wrap\"><table class=\"verdicts\">"
                         "<thead>"
                         "<tr><th>quantity</th><th>verdict</th><th>test</th>"
                         "<th class=\"n\">adjusted p</th><th class=\"n\">Cliff's \xce\xb4</th></tr>"
                         "</thead><tbody>\n");
        const cJSON *sig = jget(c, "significant");
        if (!method)
            method = jstr(c, "adjust_method");
        sb_puts(b, "<tr><td class=\"mono\">");
        sb_html(b, or_dash(jstr(c, "quantity")));
        sb_puts(b, "</td><td>");
        sb_html(b, or_dash(jstr(c, "verdict")));
        char p[32], d[32];
        fmt_p(p, sizeof p, jnum(c, "p_adjusted"));
        double delta = jnum(c, "cliffs_delta");
        if (isfinite(delta))
            snprintf(d, sizeof d, "%.2f", delta);
        else
            snprintf(d, sizeof d, DASH);
        sb_puts(b, "</td><td class=\"nw\">");
        sb_html(b, or_dash(jstr(c, "chosen_test")));
        sb_printf(b, "</td><td class=\"n%s\">", cJSON_IsTrue(sig) ? " sig" : "");
        sb_html(b, p);
        sb_puts(b, "</td><td class=\"n\">");
        sb_html(b, d);
        if (jstr(c, "cliffs_label")) {
            sb_puts(b, " <span class=\"muted\">");
            sb_html(b, jstr(c, "cliffs_label"));
            sb_puts(b, "</span>");
        }
        sb_puts(b, "</td></tr>\n");
    }
    if (n) {
        sb_puts(b, "</tbody></table></div>\n<p class=\"muted\">p adjusted (");
        sb_html(b, method ? method : "?");
        sb_printf(b, ") within this group's family of %zu comparisons; in bold green where "
                     "significant.</p>\n",
                  n);
    }
}

/* Repetitions and warm-ups that did not succeed, with their messages. */
static void html_failures(sbuf *b, const grp *g)
{
    size_t n = 0;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *r = g->runs[i], *rep, *w;
        int k = 0;
        cJSON_ArrayForEach(w, jget(r, "warmup_status"))
        {
            k++;
            if (!cJSON_IsString(w) || !strcmp(w->valuestring, "ok"))
                continue;
            if (!n++)
                sb_puts(b, "<h3>Failures</h3>\n<ul class=\"fail\">\n");
            sb_puts(b, "<li><b>");
            sb_html(b, run_variant(r));
            sb_printf(b, "</b>, warm-up %d: ", k);
            html_badge(b, w->valuestring);
            sb_puts(b, "</li>\n");
        }
        k = 0;
        int reps = 0;
        cJSON_ArrayForEach(rep, jget(r, "repetitions"))
        {
            k++;
            reps++;
            if (is_ok(rep))
                continue;
            if (!n++)
                sb_puts(b, "<h3>Failures</h3>\n<ul class=\"fail\">\n");
            sb_puts(b, "<li><b>");
            sb_html(b, run_variant(r));
            sb_printf(b, "</b>, repetition %d: ", k);
            html_badge(b, jstr(rep, "status"));
            if (jstr(rep, "message")) {
                sb_puts(b, " <code>");
                sb_html(b, jstr(rep, "message"));
                sb_puts(b, "</code>");
            }
            sb_puts(b, "</li>\n");
        }
        const char *st = jstr(r, "status");
        if (!reps && st && strcmp(st, "ok") != 0) {
            if (!n++)
                sb_puts(b, "<h3>Failures</h3>\n<ul class=\"fail\">\n");
            sb_puts(b, "<li><b>");
            sb_html(b, run_variant(r));
            sb_puts(b, "</b>: ");
            html_badge(b, st);
            if (jstr(r, "message")) {
                sb_puts(b, " <code>");
                sb_html(b, jstr(r, "message"));
                sb_puts(b, "</code>");
            }
            sb_puts(b, "</li>\n");
        }
    }
    if (n)
        sb_puts(b, "</ul>\n");
}

static int html_group(sbuf *b, const cJSON *doc, const grp *g)
{
    sb_printf(b, "<section id=\"run-%d\">\n<h2>", g->first_index);
    group_title(b, g, 1);
    sb_puts(b, "</h2>\n");
    html_perf_table(b, g);
    name_list m;
    if (group_metric_names(g, &m) < 0) {
        names_free(&m);
        return -ENOMEM;
    }
    html_metrics_table(b, g, &m);
    names_free(&m);
    html_params(b, g);

    /* Colours name the variants in every plot below. */
    sbuf plots = {0};
    int rc = 0, any = 0;
    sb_puts(&plots, "<figure><figcaption>Train wall time per repetition</figcaption>\n");
    if ((rc = svg_boxplot(&plots, g)) < 0)
        goto out;
    if (!rc)
        plots.len = 0;
    any |= rc;
    if (rc)
        sb_puts(&plots, "</figure>\n");
    for (size_t ph = 1; ph <= 2; ph++) {
        size_t before = plots.len;
        sb_printf(&plots, "<figure><figcaption>Median %s throughput</figcaption>\n", phases[ph]);
        if ((rc = svg_bars(&plots, g, phases[ph])) < 0)
            goto out;
        if (!rc) {
            plots.len = before;
            continue;
        }
        any = 1;
        sb_puts(&plots, "</figure>\n");
    }
    name_list pn;
    if (progress_names(g, &pn) < 0) {
        names_free(&pn);
        rc = -ENOMEM;
        goto out;
    }
    if (pn.n)
        sb_puts(&plots, "</div>\n<h3>Learning curves</h3>\n<p class=\"muted\">First repetition of "
                        "each variant solid, the others faint.</p>\n<div class=\"plots\">\n");
    for (size_t k = 0; k < pn.n && k < 8; k++) {
        sb_puts(&plots, "<figure><figcaption>");
        sb_html(&plots, pn.v[k]);
        sb_puts(&plots, " vs time</figcaption>\n");
        if ((rc = svg_progress(&plots, g, pn.v[k])) < 0)
            break;
        sb_puts(&plots, "</figure>\n");
        any = 1;
    }
    names_free(&pn);
    if (rc < 0)
        goto out;
    size_t before = plots.len;
    sb_puts(&plots, "</div>\n<h3>Memory</h3>\n<div class=\"plots\">\n<figure><figcaption>Resident "
                    "memory, first successful repetition</figcaption>\n");
    if ((rc = svg_memory(&plots, g)) < 0)
        goto out;
    if (rc) {
        sb_puts(&plots, "</figure>\n");
        any = 1;
    } else
        plots.len = before;
    if (plots.oom) {
        rc = -ENOMEM;
        goto out;
    }
    if (any) {
        sb_puts(b, "<div class=\"legend\">");
        for (size_t i = 0; i < g->n; i++) {
            sb_printf(b, "<span><span class=\"swatch\" style=\"background:%s\"></span>",
                      color_of(i));
            sb_html(b, run_variant(g->runs[i]));
            sb_puts(b, "</span>");
        }
        sb_puts(b, "</div>\n<div class=\"plots\">\n");
        if (plots.s)
            sb_putn(b, plots.s, plots.len);
        sb_puts(b, "</div>\n");
    }
    html_comparisons(b, doc, g);
    html_failures(b, g);
    sb_puts(b, "</section>\n");
    rc = 0;
out:
    free(plots.s);
    return rc;
}

static int build_html(const cJSON *doc, sbuf *b)
{
    const cJSON *env = jget(doc, "environment");
    grp_list gl;
    if (groups_build(doc, &gl) < 0)
        return -ENOMEM;
    sb_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>mlbench report");
    if (jstr(env, "timestamp_utc")) {
        sb_puts(b, " \xe2\x80\x94 ");
        sb_html(b, jstr(env, "timestamp_utc"));
    }
    sb_printf(b, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n"
                 "<h1>mlbench report</h1>\n",
              css);
    size_t n_runs = (size_t)cJSON_GetArraySize(jget(doc, "runs")), n_reps = 0, n_bad = 0;
    for (size_t k = 0; k < gl.n; k++)
        for (size_t i = 0; i < gl.v[k].n; i++) {
            const cJSON *rep;
            cJSON_ArrayForEach(rep, jget(gl.v[k].runs[i], "repetitions"))
            {
                n_reps++;
                n_bad += !is_ok(rep);
            }
        }
    sb_printf(b, "<p class=\"sub\">%zu run%s in %zu group%s, %zu measured repetition%s",
              n_runs, n_runs == 1 ? "" : "s", gl.n, gl.n == 1 ? "" : "s", n_reps,
              n_reps == 1 ? "" : "s");
    if (n_bad)
        sb_printf(b, ", <b>%zu not successful</b>", n_bad);
    sb_puts(b, ". Schema ");
    sb_html(b, jstr(doc, "schema"));
    sb_puts(b, ".</p>\n");
    const char *st = jstr(doc, "status");
    if (st && strcmp(st, "complete") != 0) {
        sb_puts(b, "<p class=\"banner\">This document's status is <b>");
        sb_html(b, st);
        sb_puts(b, "</b>: it holds what was measured before the engine stopped.</p>\n");
    }
    sb_puts(b, "<h2>Environment</h2>\n");
    html_environment(b, env);
    if (gl.n > 1) {
        sb_puts(b, "<nav><h3>Groups</h3><ul>\n");
        for (size_t k = 0; k < gl.n; k++) {
            sb_printf(b, "<li><a href=\"#run-%d\">", gl.v[k].first_index);
            group_title(b, &gl.v[k], 1);
            sb_puts(b, "</a></li>\n");
        }
        sb_puts(b, "</ul></nav>\n");
    }
    int rc = 0;
    for (size_t k = 0; k < gl.n && rc == 0; k++)
        rc = html_group(b, doc, &gl.v[k]);
    if (!gl.n)
        sb_puts(b, "<p>No runs.</p>\n");
    sb_puts(b, "<footer>Written by mlbench-engine from a results document (");
    sb_html(b, jstr(doc, "schema"));
    sb_puts(b, "); every value above is read from it. Self-contained: no script, no external "
               "resource.</footer>\n</main>\n</body>\n</html>\n");
    groups_free(&gl);
    return rc < 0 ? rc : b->oom ? -ENOMEM : 0;
}

/* ---- CSV ----------------------------------------------------------------- */

static const char *const csv_quantities[] = {"wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_bytes",
                                             "items"};
#define N_CSV_Q (sizeof csv_quantities / sizeof *csv_quantities)

static void csv_num(sbuf *b, double v)
{
    char t[40];
    fmt_exact(t, sizeof t, v);
    sb_puts(b, t); /* empty where null: "not measured", distinct from 0 */
}

static int build_csv(const cJSON *doc, sbuf *b)
{
    /* Metric columns: the union over every repetition of the document. */
    name_list m = {0};
    const cJSON *r, *rep, *mv;
    cJSON_ArrayForEach(r, jget(doc, "runs"))
    {
        cJSON_ArrayForEach(rep, jget(r, "repetitions"))
        {
            cJSON_ArrayForEach(mv, jget(rep, "metrics"))
            {
                if (mv->string && names_add(&m, mv->string, NULL) < 0) {
                    names_free(&m);
                    return -ENOMEM;
                }
            }
        }
    }
    sb_puts(b, "task,variant,run,repetition,status,message,params");
    for (size_t ph = 0; ph < N_PHASES; ph++)
        for (size_t q = 0; q < N_CSV_Q; q++)
            sb_printf(b, ",%s_%s", phases[ph], csv_quantities[q]);
    for (size_t k = 0; k < m.n; k++) {
        sb_puts(b, ",");
        char col[300];
        snprintf(col, sizeof col, "metric:%s", m.v[k]);
        sb_csv(b, col);
    }
    sb_puts(b, "\r\n");
    int ri = 0;
    cJSON_ArrayForEach(r, jget(doc, "runs"))
    {
        double idx = jnum(r, "index");
        int k = 0;
        cJSON_ArrayForEach(rep, jget(r, "repetitions"))
        {
            sb_csv(b, jstr(r, "task"));
            sb_puts(b, ",");
            sb_csv(b, jstr(r, "variant"));
            sb_printf(b, ",%d,%d,", isfinite(idx) ? (int)idx : ri, k);
            sb_csv(b, jstr(rep, "status"));
            sb_puts(b, ",");
            sb_csv(b, jstr(rep, "message"));
            sb_puts(b, ",");
            sbuf p = {0};
            params_text(&p, jget(r, "params"));
            sb_csv(b, p.s);
            if (p.oom)
                b->oom = 1;
            free(p.s);
            for (size_t ph = 0; ph < N_PHASES; ph++) {
                const cJSON *phase = jpath(rep, "phases");
                phase = jget(phase, phases[ph]);
                for (size_t q = 0; q < N_CSV_Q; q++) {
                    sb_puts(b, ",");
                    csv_num(b, jnum(phase, csv_quantities[q]));
                }
            }
            for (size_t c = 0; c < m.n; c++) {
                sb_puts(b, ",");
                csv_num(b, jnum(jget(jget(rep, "metrics"), m.v[c]), "value"));
            }
            sb_puts(b, "\r\n");
            k++;
        }
        ri++;
    }
    names_free(&m);
    return b->oom ? -ENOMEM : 0;
}

/* ---- Markdown -------------------------------------------------------------- */

static void md_metrics(sbuf *b, const cJSON *run)
{
    const cJSON *e;
    int first = 1;
    cJSON_ArrayForEach(e, jpath(run, "summary.metrics"))
    {
        char v[32];
        fmt_g(v, sizeof v, jnum(e, "median"));
        if (!first)
            sb_puts(b, ", ");
        sb_md(b, e->string);
        sb_puts(b, " = ");
        sb_md(b, v);
        first = 0;
    }
    if (first)
        sb_puts(b, DASH);
}

static int build_markdown(const cJSON *doc, sbuf *b)
{
    const cJSON *env = jget(doc, "environment");
    grp_list gl;
    if (groups_build(doc, &gl) < 0)
        return -ENOMEM;
    sb_puts(b, "## mlbench results\n\n");
    char cores[32] = "";
    if (isfinite(jnum(env, "cpu_cores_online")))
        snprintf(cores, sizeof cores, ", %.0f cores", jnum(env, "cpu_cores_online"));
    sb_puts(b, "- **Machine:** ");
    sb_md(b, or_dash(jstr(env, "cpu_model")));
    sb_puts(b, cores);
    sb_puts(b, "; ");
    sb_md(b, or_dash(jstr(env, "kernel")));
    sb_puts(b, "\n- **OpenBLAS:** ");
    sb_md(b, or_dash(jstr(env, "openblas_config")));
    sb_puts(b, "\n- **Engine:** ");
    sb_md(b, or_dash(jstr(env, "engine_version")));
    sb_puts(b, ", commit ");
    sb_md(b, or_dash(jstr(env, "git_commit")));
    sb_puts(b, "; started ");
    sb_md(b, or_dash(jstr(env, "timestamp_utc")));
    char seed[64];
    fmt_exact(seed, sizeof seed, jnum(env, "seed"));
    sb_puts(b, "; seed ");
    sb_md(b, or_dash(seed));
    sbuf cmd = {0};
    command_line(&cmd, env);
    if (cmd.s && cmd.len) {
        sb_puts(b, "\n- **Command:** `");
        for (const char *p = cmd.s; *p; p++)
            sb_putn(b, *p == '`' || *p == '\n' ? "'" : p, 1); /* inside a code span: no escapes */
        sb_puts(b, "`");
    }
    if (cmd.oom)
        b->oom = 1;
    free(cmd.s);
    const char *st = jstr(doc, "status");
    if (st && strcmp(st, "complete") != 0) {
        sb_puts(b, "\n- **Status:** ");
        sb_md(b, st);
        sb_puts(b, " (what was measured before the engine stopped)");
    }
    sb_puts(b, "\n");
    for (size_t k = 0; k < gl.n; k++) {
        const grp *g = &gl.v[k];
        sb_puts(b, "\n### ");
        group_title(b, g, 0);
        sb_puts(b, "\n\n| variant | status | train median \xc2\xb1 IQR/2 | infer p50 / p90 / p99 | "
                   "train items/s | infer items/s | GFLOP/s | peak RSS | speed-up | metrics "
                   "(median) |\n|---|---|--:|--:|--:|--:|--:|--:|--:|---|\n");
        for (size_t i = 0; i < g->n; i++) {
            row_cells c;
            row_fill(&c, g->runs[i], group_base(g));
            sb_puts(b, "| ");
            sb_md(b, run_variant(g->runs[i]));
            sb_puts(b, " | ");
            sb_md(b, or_dash(jstr(g->runs[i], "status")));
            const char *cells[] = {c.train, c.lat, c.rate_train, c.rate_infer, c.gflops, c.rss,
                                   c.speedup};
            for (size_t q = 0; q < sizeof cells / sizeof *cells; q++) {
                sb_puts(b, " | ");
                sb_md(b, cells[q]);
            }
            sb_puts(b, " | ");
            md_metrics(b, g->runs[i]);
            sb_puts(b, " |\n");
        }
        const cJSON *c;
        int n = 0;
        cJSON_ArrayForEach(c, jget(doc, "comparisons"))
        {
            if (!cmp_in_group(doc, c, g))
                continue;
            if (!n++)
                sb_puts(b, "\nComparisons (p adjusted by Holm over every comparison of the "
                           "document):\n\n");
            sb_puts(b, "- `");
            sb_md(b, or_dash(jstr(c, "quantity")));
            sb_puts(b, "`: ");
            sb_md(b, or_dash(jstr(c, "verdict")));
            sb_puts(b, "\n");
        }
        n = 0;
        for (size_t i = 0; i < g->n; i++) {
            const cJSON *rep;
            int r = 0;
            cJSON_ArrayForEach(rep, jget(g->runs[i], "repetitions"))
            {
                r++;
                if (is_ok(rep))
                    continue;
                if (!n++)
                    sb_puts(b, "\nFailures:\n\n");
                sb_puts(b, "- ");
                sb_md(b, run_variant(g->runs[i]));
                sb_printf(b, ", repetition %d: ", r);
                sb_md(b, or_dash(jstr(rep, "status")));
                if (jstr(rep, "message")) {
                    sb_puts(b, ": ");
                    sb_md(b, jstr(rep, "message"));
                }
                sb_puts(b, "\n");
            }
        }
    }
    groups_free(&gl);
    return b->oom ? -ENOMEM : 0;
}

/* ---- entry points ------------------------------------------------------------ */

typedef int (*builder)(const cJSON *doc, sbuf *b);

static int build(builder fn, const cJSON *doc, const char *path, sbuf *b, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    int rc = doc_check(doc, path, err, errlen);
    if (rc < 0)
        return rc;
    rc = fn(doc, b);
    if (rc == 0 && (b->oom || !b->s))
        rc = -ENOMEM;
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot build the report: %s", path, strerror(-rc));
        free(b->s);
        memset(b, 0, sizeof *b);
    }
    return rc;
}

static int export_with(builder fn, const cJSON *doc, const char *path, char *err, size_t errlen)
{
    sbuf b;
    int rc = build(fn, doc, path, &b, err, errlen);
    if (rc < 0)
        return rc;
    rc = mlb_write_file_atomic(path, b.s, b.len, err, errlen);
    free(b.s);
    return rc;
}

int mlb_export_html(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(build_html, doc, path, err, errlen);
}

int mlb_export_csv(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(build_csv, doc, path, err, errlen);
}

int mlb_export_markdown(const cJSON *doc, const char *path, char *err, size_t errlen)
{
    return export_with(build_markdown, doc, path, err, errlen);
}

int mlb_export_check_path(const char *what, const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (!*path) {
        snprintf(err, errlen, "%s: empty file name", what);
        return -EINVAL;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s %s: is a directory", what, path);
        return -EISDIR;
    }
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir) {
        snprintf(err, errlen, "%s %s: path too long", what, path);
        return -ENAMETOOLONG;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        snprintf(dir, sizeof dir, ".");
    if (access(dir, W_OK) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s %s: directory %s: %s", what, path, dir, strerror(e));
        return -e;
    }
    return 0;
}

/* ---- `mlbench-engine report` --------------------------------------------------- */

static void report_usage(FILE *f)
{
    fprintf(f, "Usage: mlbench-engine report RESULTS.json [--html OUT.html] [--csv OUT.csv] "
               "[--markdown OUT.md]\n"
               "\n"
               "Renders a results document (written by --output) as:\n"
               "  --html FILE       one self-contained page: environment, tables, box plots,\n"
               "                    throughput, learning curves, memory, verdicts, failures\n"
               "  --csv FILE        one row per repetition: phases' times, memory, items, metrics\n"
               "  --markdown FILE   the tables and verdicts as GitHub Markdown\n"
               "At least one is required. Nothing is written unless every output can be.\n"
               "Exit status: 0 written, 2 on usage or input errors.\n");
}

/* Reads and checks a results document; NULL with a message naming the file
 * (and the line, for invalid JSON). */
cJSON *mlb_results_load(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0, n;
    char *buf = malloc(cap + 1);
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    int rerr = ferror(f);
    fclose(f);
    if (!buf || rerr) {
        snprintf(err, errlen, "%s: cannot read: %s", path, buf ? "read error" : strerror(ENOMEM));
        free(buf);
        return NULL;
    }
    buf[len] = '\0';
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(buf, &end, 0);
    if (!doc) {
        size_t off = end ? (size_t)(end - buf) : 0, line = 1;
        for (size_t i = 0; i < off && i < len; i++)
            line += buf[i] == '\n';
        snprintf(err, errlen, "%s:%zu: not valid JSON (byte %zu)", path, line, off);
        free(buf);
        return NULL;
    }
    free(buf);
    if (doc_check(doc, path, err, errlen) < 0) {
        cJSON_Delete(doc);
        return NULL;
    }
    return doc;
}

int mlb_cmd_report(int argc, char **argv)
{
    static const char *const opt[3] = {"--html", "--csv", "--markdown"};
    static const builder fns[3] = {build_html, build_csv, build_markdown};
    const char *in = NULL, *out[3] = {NULL, NULL, NULL};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            report_usage(stdout);
            return 0;
        }
        int k = -1;
        const char *val = NULL;
        for (int j = 0; j < 3 && k < 0; j++) {
            size_t l = strlen(opt[j]);
            if (!strncmp(a, opt[j], l) && (a[l] == '\0' || a[l] == '=')) {
                k = j;
                val = a[l] == '=' ? a + l + 1 : NULL;
            }
        }
        if (k >= 0) {
            if (!val && i + 1 < argc)
                val = argv[++i];
            if (!val || !*val) {
                fprintf(stderr, "mlbench-engine report: %s needs a file name\n", opt[k]);
                return 2;
            }
            if (out[k]) {
                fprintf(stderr, "mlbench-engine report: %s given twice\n", opt[k]);
                return 2;
            }
            out[k] = val;
            continue;
        }
        if (a[0] == '-' && a[1]) {
            fprintf(stderr, "mlbench-engine report: unknown option '%s'\n", a);
            report_usage(stderr);
            return 2;
        }
        if (in) {
            fprintf(stderr, "mlbench-engine report: unexpected argument '%s' (one results "
                            "file)\n", a);
            return 2;
        }
        in = a;
    }
    if (!in) {
        fprintf(stderr, "mlbench-engine report: no results file given\n");
        report_usage(stderr);
        return 2;
    }
    if (!out[0] && !out[1] && !out[2]) {
        fprintf(stderr, "mlbench-engine report: nothing to write: give --html, --csv or "
                        "--markdown\n");
        return 2;
    }
    char err[PATH_MAX + 512];
    for (int k = 0; k < 3; k++)
        if (out[k] && mlb_export_check_path(opt[k], out[k], err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine report: %s\n", err);
            return 2;
        }
    cJSON *doc = mlb_results_load(in, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "mlbench-engine report: %s\n", err);
        return 2;
    }
    /* Every text first, then the files: an error leaves nothing half-done. */
    sbuf text[3];
    memset(text, 0, sizeof text);
    int rc = 0;
    for (int k = 0; k < 3 && rc == 0; k++)
        if (out[k])
            rc = build(fns[k], doc, out[k], &text[k], err, sizeof err);
    for (int k = 0; k < 3 && rc == 0; k++)
        if (out[k]) {
            rc = mlb_write_file_atomic(out[k], text[k].s, text[k].len, err, sizeof err);
            if (rc == 0)
                fprintf(stderr, "mlbench-engine report: wrote %s\n", out[k]);
        }
    if (rc < 0)
        fprintf(stderr, "mlbench-engine report: %s\n", err);
    for (int k = 0; k < 3; k++)
        free(text[k].s);
    cJSON_Delete(doc);
    return rc < 0 ? 2 : 0;
}
