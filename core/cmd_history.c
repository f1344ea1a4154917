/* `mlbench-engine history DIR_OR_FILES...`: results across commits, one
 * series per task, variant, parameters and phase, and the steps in each
 * (history.c finds them). Exit 1 on a regression step above --threshold, so
 * that CI can gate on it; 2 on usage or when no document could be read. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "engine.h"
#include "export.h"
#include "history.h"
#include "textbuf.h"

#define CMD "mlbench-engine history"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " CMD " DIR_OR_FILES... [--since COMMIT] [--threshold 5%%]\n"
            "                              [--html FILE] [--json] [--min-segment N] [--z Z]\n"
            "\n"
            "Reads results documents (every *.json of a directory; each records its\n"
            "environment.git_commit and timestamp_utc), builds one series per task,\n"
            "variant, parameters and phase (the median train or infer wall time of each\n"
            "document, with its 95%% CI), in time order, and finds the step changes in\n"
            "each by binary segmentation of log(median) against the larger of the points'\n"
            "CIs and the spread of successive differences. Prints each regression and\n"
            "improvement with the commit where it happened.\n"
            "  --since COMMIT   only documents from the first one of COMMIT (a prefix) on\n"
            "  --threshold R    a regression step above R (default 5%%) that the latest\n"
            "                   points have not recovered from exits 1\n"
            "  --html FILE      a page with one time-series plot per series, steps marked\n"
            "  --json           the series and steps as one JSON object on stdout\n"
            "  --min-segment N  points on each side of a step (default 2)\n"
            "  --z Z            standard errors a step must exceed (default sqrt(2 ln n) + 4,\n"
            "                   n the series' points)\n"
            "Exit status: 0 no standing regression above the threshold, 1 one or more, 2\n"
            "usage or input error.\n");
}

static int parse_ratio(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s)
        return -1;
    if (*end == '%') {
        v /= 100;
        end++;
    }
    if (*end || !(v >= 0) || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every *.json of a directory, in name order. Returns the number read (a
 * document that is not a result is skipped with a warning), or -1. */
static int add_dir(mlb_history *h, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, CMD ": %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t k = strlen(e->d_name);
        if (k < 6 || strcmp(e->d_name + k - 5, ".json"))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, name_cmp);
    int ok = 0;
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], err[PATH_MAX + 256];
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path) {
            int rc = mlb_history_add_file(h, path, err, sizeof err);
            if (rc == 0)
                ok++;
            else
                fprintf(stderr, CMD ": skipped %s\n", err);
        }
        free(names[i]);
    }
    free(names);
    return ok;
}

static const char *short_commit(const char *c, char *b, size_t n)
{
    snprintf(b, n, "%.12s", c);
    return b;
}

static void print_text(const mlb_history *h, double thr, size_t n_read)
{
    size_t n_steps = 0, n_bad = 0;
    for (size_t i = 0; i < h->n; i++)
        for (size_t k = 0; k < h->s[i].n_steps; k++) {
            n_steps++;
            n_bad += mlb_history_step_persists(&h->s[i], k, thr);
        }
    printf("history: %zu documents, %zu series, %zu step%s (%zu regression%s above %.3g%%, "
           "not since recovered)\n",
           n_read, h->n, n_steps, n_steps == 1 ? "" : "s", n_bad, n_bad == 1 ? "" : "s",
           thr * 100);
    for (size_t i = 0; i < h->n; i++) {
        const mlb_hist_series *s = &h->s[i];
        char last[32] = "";
        if (s->n)
            mlb_fmt_time(last, sizeof last, s->pts[s->n - 1].median);
        printf("%s:%s %s (%s): %zu point%s, latest %s, %zu step%s\n", s->task, s->variant,
               s->quantity, s->label && *s->label ? s->label : "defaults", s->n, s->n == 1 ? "" : "s",
               *last ? last : MLB_DASH, s->n_steps, s->n_steps == 1 ? "" : "s");
        for (size_t k = 0; k < s->n_steps; k++) {
            const mlb_hist_step *st = &s->steps[k];
            const mlb_hist_point *p = &s->pts[st->at], *q = &s->pts[st->at - 1];
            char a[32], b[32], c1[16], c0[16];
            mlb_fmt_time(a, sizeof a, st->before);
            mlb_fmt_time(b, sizeof b, st->after);
            printf("  %s %+.1f%% at %s (%s; previous %s): %s -> %s (%.1f standard errors)%s\n",
                   st->change > 0 ? "regression" : "improvement", st->change * 100,
                   short_commit(p->commit, c1, sizeof c1), p->time,
                   short_commit(q->commit, c0, sizeof c0), a, b, st->z,
                   mlb_history_step_persists(s, k, thr) ? "  ABOVE THRESHOLD"
                   : st->change > thr                  ? "  (above threshold, since recovered)"
                                                       : "");
        }
    }
}

static cJSON *to_json(const mlb_history *h, double thr, size_t n_read)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "schema", "mlbench.history/1");
    cJSON_AddNumberToObject(o, "documents", (double)n_read);
    cJSON_AddNumberToObject(o, "threshold", thr);
    cJSON *arr = cJSON_AddArrayToObject(o, "series");
    for (size_t i = 0; i < h->n; i++) {
        const mlb_hist_series *s = &h->s[i];
        cJSON *j = cJSON_CreateObject();
        cJSON_AddItemToArray(arr, j);
        cJSON_AddStringToObject(j, "task", s->task);
        cJSON_AddStringToObject(j, "variant", s->variant);
        cJSON_AddStringToObject(j, "quantity", s->quantity);
        cJSON_AddStringToObject(j, "params", s->params);
        cJSON_AddStringToObject(j, "label", s->label ? s->label : "");
        if (isfinite(s->sigma))
            cJSON_AddNumberToObject(j, "noise_log_sd", s->sigma);
        else
            cJSON_AddNullToObject(j, "noise_log_sd");
        cJSON *pts = cJSON_AddArrayToObject(j, "points");
        for (size_t k = 0; k < s->n; k++) {
            cJSON *p = cJSON_CreateObject();
            cJSON_AddItemToArray(pts, p);
            cJSON_AddStringToObject(p, "commit", s->pts[k].commit);
            cJSON_AddStringToObject(p, "time", s->pts[k].time);
            cJSON_AddNumberToObject(p, "median_s", s->pts[k].median);
            double lo = s->pts[k].lo, hi = s->pts[k].hi;
            if (isfinite(lo) && isfinite(hi)) {
                cJSON_AddNumberToObject(p, "ci95_low_s", lo);
                cJSON_AddNumberToObject(p, "ci95_high_s", hi);
            }
        }
        cJSON *steps = cJSON_AddArrayToObject(j, "steps");
        for (size_t k = 0; k < s->n_steps; k++) {
            const mlb_hist_step *st = &s->steps[k];
            cJSON *p = cJSON_CreateObject();
            cJSON_AddItemToArray(steps, p);
            cJSON_AddNumberToObject(p, "index", (double)st->at);
            cJSON_AddStringToObject(p, "commit", s->pts[st->at].commit);
            cJSON_AddStringToObject(p, "previous_commit", s->pts[st->at - 1].commit);
            cJSON_AddStringToObject(p, "time", s->pts[st->at].time);
            cJSON_AddStringToObject(p, "kind", st->change > 0 ? "regression" : "improvement");
            cJSON_AddNumberToObject(p, "before_s", st->before);
            cJSON_AddNumberToObject(p, "after_s", st->after);
            cJSON_AddNumberToObject(p, "change", st->change);
            cJSON_AddNumberToObject(p, "z", st->z);
            cJSON_AddBoolToObject(p, "above_threshold", st->change > thr);
            cJSON_AddBoolToObject(p, "persists", mlb_history_step_persists(s, k, thr));
        }
    }
    return o;
}

int mlb_cmd_history(int argc, char **argv)
{
    static const struct option opts[] = {
        {"since", required_argument, NULL, 's'}, {"threshold", required_argument, NULL, 't'},
        {"html", required_argument, NULL, 'H'},  {"json", no_argument, NULL, 'j'},
        {"min-segment", required_argument, NULL, 'm'}, {"help", no_argument, NULL, 'h'},
        {"z", required_argument, NULL, 'z'},
        {NULL, 0, NULL, 0}};
    const char *since = NULL, *html = NULL;
    double thr = 0.05;
    int json = 0;
    long min_seg = 2;
    double z_crit = 0;
    optind = 1;
    int ch;
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (ch) {
        case 's': since = optarg; break;
        case 't':
            if (parse_ratio(optarg, &thr) < 0) {
                fprintf(stderr, CMD ": --threshold %s: not a ratio (5%% or 0.05)\n", optarg);
                return 2;
            }
            break;
        case 'H': html = optarg; break;
        case 'j': json = 1; break;
        case 'm': {
            char *end;
            min_seg = strtol(optarg, &end, 10);
            if (*end || min_seg < 1 || min_seg > 1000) {
                fprintf(stderr, CMD ": --min-segment %s: not an integer in 1..1000\n", optarg);
                return 2;
            }
            break;
        }
        case 'z': {
            char *end;
            z_crit = strtod(optarg, &end);
            if (*end || !(z_crit > 0) || !isfinite(z_crit)) {
                fprintf(stderr, CMD ": --z %s: not a number above 0\n", optarg);
                return 2;
            }
            break;
        }
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind >= argc) {
        usage(stderr);
        return 2;
    }
    if (html) {
        char err[PATH_MAX + 256];
        if (mlb_export_check_path("--html", html, err, sizeof err) < 0) {
            fprintf(stderr, CMD ": %s\n", err);
            return 2;
        }
    }
    mlb_history h = {0};
    size_t n_read = 0;
    int code = 0;
    for (int i = optind; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
            int k = add_dir(&h, argv[i]);
            if (k < 0) {
                code = 2;
                goto out;
            }
            n_read += (size_t)k;
            continue;
        }
        char err[PATH_MAX + 256];
        if (mlb_history_add_file(&h, argv[i], err, sizeof err) < 0) {
            /* A file named on the command line is meant: not skipped. */
            fprintf(stderr, CMD ": %s\n", err);
            code = 2;
            goto out;
        }
        n_read++;
    }
    if (!n_read) {
        fprintf(stderr, CMD ": no results document could be read\n");
        code = 2;
        goto out;
    }
    if (mlb_history_order(&h, since) < 0) {
        fprintf(stderr, CMD ": --since %s: no document has that commit\n", since);
        code = 2;
        goto out;
    }
    if (mlb_history_detect(&h, (size_t)min_seg, z_crit) < 0) {
        fprintf(stderr, CMD ": out of memory\n");
        code = 2;
        goto out;
    }
    if (json) {
        cJSON *o = to_json(&h, thr, n_read);
        char *t = o ? cJSON_Print(o) : NULL;
        if (t)
            printf("%s\n", t);
        free(t);
        cJSON_Delete(o);
    } else
        print_text(&h, thr, n_read);
    if (html) {
        mlb_sbuf b = {0};
        char err[PATH_MAX + 256];
        if (mlb_history_html(&h, thr, &b) < 0 ||
            mlb_write_file_atomic(html, b.s, b.len, err, sizeof err) < 0) {
            fprintf(stderr, CMD ": --html %s: %s\n", html, b.oom ? "out of memory" : err);
            code = 2;
        } else if (!json)
            fprintf(stderr, CMD ": page written to %s\n", html);
        free(b.s);
    }
    for (size_t i = 0; i < h.n && !code; i++)
        for (size_t k = 0; k < h.s[i].n_steps; k++)
            if (mlb_history_step_persists(&h.s[i], k, thr))
                code = 1;
out:
    mlb_history_free(&h);
    return code;
}
