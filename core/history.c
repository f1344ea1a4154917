/* The reader and the step detection of `history` (history.h). The reader
 * keeps only what a series needs, and bounds every size, so that a hostile
 * or corrupt file costs at most MLB_HIST_MAX_FILE_BYTES of parsing. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "history.h"
#include "textbuf.h"

static char *dup_bounded(const char *s)
{
    size_t n = strnlen(s, MLB_HIST_MAX_TEXT);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

static const char *str_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) && v->valuestring ? v->valuestring : NULL;
}

static double num_at(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static mlb_hist_series *series_get(mlb_history *h, const char *task, const char *variant,
                                   const char *quantity, const char *params)
{
    for (size_t i = 0; i < h->n; i++) {
        mlb_hist_series *s = &h->s[i];
        if (!strcmp(s->task, task) && !strcmp(s->variant, variant) &&
            !strcmp(s->quantity, quantity) && !strcmp(s->params, params))
            return s;
    }
    if (h->n >= MLB_HIST_MAX_SERIES)
        return NULL;
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 16;
        mlb_hist_series *ns = realloc(h->s, nc * sizeof *ns);
        if (!ns)
            return NULL;
        h->s = ns;
        h->cap = nc;
    }
    mlb_hist_series *s = &h->s[h->n];
    memset(s, 0, sizeof *s);
    s->task = dup_bounded(task);
    s->variant = dup_bounded(variant);
    s->quantity = dup_bounded(quantity);
    s->params = dup_bounded(params);
    if (!s->task || !s->variant || !s->quantity || !s->params) {
        free(s->task);
        free(s->variant);
        free(s->quantity);
        free(s->params);
        return NULL;
    }
    h->n++;
    return s;
}

static int series_add(mlb_hist_series *s, const mlb_hist_point *p)
{
    if (s->n == s->cap) {
        size_t nc = s->cap ? 2 * s->cap : 16;
        mlb_hist_point *np = realloc(s->pts, nc * sizeof *np);
        if (!np)
            return -ENOMEM;
        s->pts = np;
        s->cap = nc;
    }
    s->pts[s->n++] = *p;
    return 0;
}

/* groups[].label of the run's group ("" when absent). */
static const char *group_label(const cJSON *doc, const cJSON *run)
{
    const cJSON *g;
    double gi = num_at(run, "group");
    cJSON_ArrayForEach(g, cJSON_GetObjectItemCaseSensitive(doc, "groups"))
        if (num_at(g, "index") == gi) {
            const char *l = str_at(g, "label");
            return l ? l : "";
        }
    return "";
}

/* One run's point for `phase` (its summary's median wall time), if it has one. */
static int add_run(mlb_history *h, const cJSON *doc_json, const cJSON *run, const char *phase,
                   size_t doc)
{
    const char *task = str_at(run, "task"), *variant = str_at(run, "variant");
    const char *status = str_at(run, "status");
    if (!task || !variant || !status || strcmp(status, "ok"))
        return 0;
    const cJSON *summary = cJSON_GetObjectItemCaseSensitive(run, "summary");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(summary, "phases"),
                                         phase),
        "wall_s");
    double med = num_at(w, "median");
    if (!(isfinite(med) && med > 0))
        return 0;
    if (h->n_points >= MLB_HIST_MAX_POINTS)
        return -E2BIG;
    mlb_sbuf pb = {0};
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(run, "params");
    if (cJSON_IsObject(params))
        mlb_params_text(&pb, params);
    if (pb.oom) {
        free(pb.s);
        return -ENOMEM;
    }
    if (pb.len > MLB_HIST_MAX_TEXT) {
        free(pb.s);
        return -E2BIG;
    }
    mlb_hist_series *s = series_get(h, task, variant, phase, pb.s ? pb.s : "");
    free(pb.s);
    if (!s)
        return h->n >= MLB_HIST_MAX_SERIES ? -E2BIG : -ENOMEM;
    if (!s->label && !(s->label = dup_bounded(group_label(doc_json, run))))
        return -ENOMEM;
    mlb_hist_point p = {.commit = h->docs[doc].commit,
                        .time = h->docs[doc].time,
                        .doc = doc,
                        .median = med,
                        .lo = num_at(w, "median_ci95_low"),
                        .hi = num_at(w, "median_ci95_high")};
    if (series_add(s, &p) < 0)
        return -ENOMEM;
    h->n_points++;
    return 0;
}

int mlb_history_add_json(mlb_history *h, const char *buf, size_t len, const char *name,
                         char *err, size_t errlen)
{
    if (len > MLB_HIST_MAX_FILE_BYTES) {
        snprintf(err, errlen, "%s: %zu bytes, above the limit of %zu", name, len,
                 MLB_HIST_MAX_FILE_BYTES);
        return -E2BIG;
    }
    if (h->n_docs >= MLB_HIST_MAX_DOCS) {
        snprintf(err, errlen, "%s: more than %d documents", name, MLB_HIST_MAX_DOCS);
        return -E2BIG;
    }
    cJSON *doc = cJSON_ParseWithLength(buf, len);
    if (!doc) {
        snprintf(err, errlen, "%s: not valid JSON", name);
        return -EINVAL;
    }
    int rc = 0;
    const char *schema = str_at(doc, "schema");
    const cJSON *env = cJSON_GetObjectItemCaseSensitive(doc, "environment");
    const char *commit = str_at(env, "git_commit"), *time = str_at(env, "timestamp_utc");
    const cJSON *runs = cJSON_GetObjectItemCaseSensitive(doc, "runs");
    if (!schema || strcmp(schema, "mlbench.result/1")) {
        snprintf(err, errlen, "%s: schema: not an mlbench.result/1 document", name);
        rc = -EINVAL;
    } else if (!commit || !*commit) {
        snprintf(err, errlen, "%s: environment.git_commit: missing", name);
        rc = -EINVAL;
    } else if (!time || !*time) {
        snprintf(err, errlen, "%s: environment.timestamp_utc: missing", name);
        rc = -EINVAL;
    } else if (!cJSON_IsArray(runs)) {
        snprintf(err, errlen, "%s: runs: not an array", name);
        rc = -EINVAL;
    }
    if (rc < 0) {
        cJSON_Delete(doc);
        return rc;
    }
    if (h->n_docs == h->cap_docs) {
        size_t nc = h->cap_docs ? 2 * h->cap_docs : 16;
        mlb_hist_doc *nd = realloc(h->docs, nc * sizeof *nd);
        if (!nd) {
            cJSON_Delete(doc);
            snprintf(err, errlen, "%s: out of memory", name);
            return -ENOMEM;
        }
        h->docs = nd;
        h->cap_docs = nc;
    }
    mlb_hist_doc *d = &h->docs[h->n_docs];
    d->commit = dup_bounded(commit);
    d->time = dup_bounded(time);
    d->name = dup_bounded(name);
    if (!d->commit || !d->time || !d->name) {
        free(d->commit);
        free(d->time);
        free(d->name);
        cJSON_Delete(doc);
        snprintf(err, errlen, "%s: out of memory", name);
        return -ENOMEM;
    }
    size_t di = h->n_docs++;
    const cJSON *run;
    cJSON_ArrayForEach(run, runs)
    {
        if (!cJSON_IsObject(run))
            continue;
        if ((rc = add_run(h, doc, run, "train", di)) < 0 ||
            (rc = add_run(h, doc, run, "infer", di)) < 0)
            break;
    }
    cJSON_Delete(doc);
    if (rc == -E2BIG)
        snprintf(err, errlen, "%s: more than %d series or %d points in all", name,
                 MLB_HIST_MAX_SERIES, MLB_HIST_MAX_POINTS);
    else if (rc < 0)
        snprintf(err, errlen, "%s: out of memory", name);
    return rc;
}

int mlb_history_add_file(mlb_history *h, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        snprintf(err, errlen, "%s: not a regular file", path);
        return -EINVAL;
    }
    if ((size_t)st.st_size > MLB_HIST_MAX_FILE_BYTES) {
        fclose(f);
        snprintf(err, errlen, "%s: %lld bytes, above the limit of %zu", path,
                 (long long)st.st_size, MLB_HIST_MAX_FILE_BYTES);
        return -E2BIG;
    }
    size_t cap = (size_t)st.st_size + 1, len = 0, n;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    /* The size can change under us: never read past what was allocated. */
    while (len < cap && (n = fread(buf + len, 1, cap - len, f)) > 0)
        len += n;
    int bad = ferror(f) || len == cap;
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: cannot read it (or it grew while read)", path);
        return -EIO;
    }
    int rc = mlb_history_add_json(h, buf, len, path, err, errlen);
    free(buf);
    return rc;
}

static int point_cmp(const void *a, const void *b)
{
    const mlb_hist_point *x = a, *y = b;
    int c = strcmp(x->time, y->time);
    if (c)
        return c;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

int mlb_history_order(mlb_history *h, const char *since)
{
    const char *t0 = NULL;
    if (since) {
        size_t k = strlen(since);
        for (size_t i = 0; i < h->n_docs; i++)
            if (!strncmp(h->docs[i].commit, since, k) && (!t0 || strcmp(h->docs[i].time, t0) < 0))
                t0 = h->docs[i].time;
        if (!t0)
            return -ENOENT;
    }
    for (size_t i = 0; i < h->n; i++) {
        mlb_hist_series *s = &h->s[i];
        qsort(s->pts, s->n, sizeof *s->pts, point_cmp);
        if (!t0)
            continue;
        size_t keep = 0;
        for (size_t j = 0; j < s->n; j++)
            if (strcmp(s->pts[j].time, t0) >= 0)
                s->pts[keep++] = s->pts[j];
        s->n = keep;
    }
    /* A series with no point left (all before --since) is not a series. */
    size_t keep = 0;
    for (size_t i = 0; i < h->n; i++) {
        mlb_hist_series *s = &h->s[i];
        if (s->n) {
            h->s[keep++] = *s;
            continue;
        }
        free(s->task);
        free(s->variant);
        free(s->quantity);
        free(s->params);
        free(s->label);
        free(s->pts);
        free(s->steps);
    }
    h->n = keep;
    return 0;
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median of v[0..n), reordering v. */
static double median_of(double *v, size_t n)
{
    if (!n)
        return NAN;
    qsort(v, n, sizeof *v, dbl_cmp);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static double seg_mean(const double *y, size_t a, size_t b)
{
    double s = 0;
    for (size_t i = a; i < b; i++)
        s += y[i];
    return s / (double)(b - a);
}

/* Splits y[a..b) at its most significant point, recursively; cut[] marks
 * the first index of each new segment. */
static void bin_seg(const double *y, size_t a, size_t b, size_t min_seg, double sigma,
                    double z_crit, unsigned char *cut)
{
    if (b - a < 2 * min_seg)
        return;
    /* Prefix sums keep a scan O(n). */
    double total = 0;
    for (size_t i = a; i < b; i++)
        total += y[i];
    double left = 0, best_z = 0;
    size_t best = 0;
    for (size_t k = a; k < b - min_seg; k++) {
        left += y[k];
        size_t nl = k + 1 - a, nr = b - k - 1;
        if (nl < min_seg)
            continue;
        double d = left / (double)nl - (total - left) / (double)nr;
        double z = fabs(d) / (sigma * sqrt(1.0 / (double)nl + 1.0 / (double)nr));
        if (z > best_z) {
            best_z = z;
            best = k + 1;
        }
    }
    if (best_z < z_crit)
        return;
    cut[best] = 1;
    bin_seg(y, a, best, min_seg, sigma, z_crit, cut);
    bin_seg(y, best, b, min_seg, sigma, z_crit, cut);
}

static int detect_one(mlb_hist_series *s, size_t min_seg, double z_crit)
{
    free(s->steps);
    s->steps = NULL;
    s->n_steps = 0;
    s->sigma = NAN;
    size_t n = s->n;
    if (n < 2 * min_seg)
        return 0;
    double *y = malloc(n * sizeof *y), *tmp = malloc(n * sizeof *tmp);
    unsigned char *cut = calloc(n, 1);
    if (!y || !tmp || !cut) {
        free(y);
        free(tmp);
        free(cut);
        return -ENOMEM;
    }
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        y[i] = log(s->pts[i].median);
        double lo = s->pts[i].lo, hi = s->pts[i].hi;
        /* A 95% CI of the median is about ±1.96 standard errors. */
        if (isfinite(lo) && isfinite(hi) && lo > 0 && hi >= lo)
            tmp[m++] = (log(hi) - log(lo)) / (2 * 1.96);
    }
    double s_ci = m ? median_of(tmp, m) : 0;
    m = 0;
    for (size_t i = 0; i + 1 < n; i++)
        tmp[m++] = fabs(y[i + 1] - y[i]);
    /* Successive differences, the largest tenth dropped: a step moves only
     * one of them, so a regression does not inflate the noise it is judged
     * against, and the rest estimate it more tightly than their median
     * would. 0.789 is the sd of a normal cut at its 5% and 95% points. */
    double s_diff = 0;
    if (m) {
        qsort(tmp, m, sizeof *tmp, dbl_cmp);
        size_t keep = m - (m + 9) / 10;
        if (!keep)
            keep = m;
        double ss = 0;
        for (size_t i = 0; i < keep; i++)
            ss += tmp[i] * tmp[i];
        s_diff = sqrt(ss / (double)keep) / (keep < m ? 0.789 : 1.0) / sqrt(2.0);
    }
    double sigma = fmax(fmax(s_ci, s_diff), 1e-4);
    s->sigma = sigma;
    if (!(z_crit > 0))
        z_crit = sqrt(2 * log((double)n)) + 4;
    bin_seg(y, 0, n, min_seg, sigma, z_crit, cut);
    size_t n_cut = 0;
    for (size_t i = 0; i < n; i++)
        n_cut += cut[i];
    if (n_cut) {
        s->steps = calloc(n_cut, sizeof *s->steps);
        if (!s->steps) {
            free(y);
            free(tmp);
            free(cut);
            return -ENOMEM;
        }
        /* The final segments' means, not those of the split that found
         * each step: later splits refine both sides. */
        size_t prev = 0;
        for (size_t i = 1; i < n; i++) {
            if (!cut[i])
                continue;
            size_t next = n;
            for (size_t j = i + 1; j < n; j++)
                if (cut[j]) {
                    next = j;
                    break;
                }
            double ml = seg_mean(y, prev, i), mr = seg_mean(y, i, next);
            mlb_hist_step *st = &s->steps[s->n_steps++];
            st->at = i;
            st->before = exp(ml);
            st->after = exp(mr);
            st->change = st->after / st->before - 1;
            st->z = fabs(mr - ml) /
                    (sigma * sqrt(1.0 / (double)(i - prev) + 1.0 / (double)(next - i)));
            prev = i;
        }
    }
    free(y);
    free(tmp);
    free(cut);
    return 0;
}

int mlb_history_detect(mlb_history *h, size_t min_seg, double z_crit)
{
    if (min_seg < 1)
        min_seg = 1;
    for (size_t i = 0; i < h->n; i++) {
        int rc = detect_one(&h->s[i], min_seg, z_crit);
        if (rc < 0)
            return rc;
    }
    return 0;
}

void mlb_history_free(mlb_history *h)
{
    for (size_t i = 0; i < h->n; i++) {
        free(h->s[i].task);
        free(h->s[i].variant);
        free(h->s[i].quantity);
        free(h->s[i].params);
        free(h->s[i].label);
        free(h->s[i].pts);
        free(h->s[i].steps);
    }
    for (size_t i = 0; i < h->n_docs; i++) {
        free(h->docs[i].commit);
        free(h->docs[i].time);
        free(h->docs[i].name);
    }
    free(h->s);
    free(h->docs);
    memset(h, 0, sizeof *h);
}

int mlb_history_step_persists(const mlb_hist_series *s, size_t k, double threshold)
{
    if (k >= s->n_steps || !(s->steps[k].change > threshold))
        return 0;
    double latest = s->steps[s->n_steps - 1].after;
    return latest / s->steps[k].before - 1 > threshold;
}
