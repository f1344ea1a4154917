/* Regression gate: compares matching task:variant runs of two result files. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_compare.h"
#include "export.h"
#include "runner.h"
#include "stats.h"

static cJSON *load_results(const char *path)
{
    char err[1024];
    cJSON *doc = mlb_results_load(path, err, sizeof err);
    if (!doc)
        fprintf(stderr, "mlbench-engine compare: %s\n", err);
    return doc;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Flags environment differences that make timings incomparable. */
static int env_mismatch(const cJSON *a, const cJSON *b)
{
    static const char *keys[] = {"cpu_model", "cpu_cores_online", "engine_version", "hostname",
                                 "openblas_config"};
    const cJSON *ea = cJSON_GetObjectItemCaseSensitive(a, "environment");
    const cJSON *eb = cJSON_GetObjectItemCaseSensitive(b, "environment");
    int n = 0;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(ea, keys[i]);
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(eb, keys[i]);
        if (!cJSON_Compare(x, y, 1)) {
            char *sx = x ? cJSON_PrintUnformatted(x) : NULL;
            char *sy = y ? cJSON_PrintUnformatted(y) : NULL;
            fprintf(stderr, "mlbench-engine compare: warning: environments differ in %s: %s vs %s\n",
                    keys[i], sx ? sx : "(absent)", sy ? sy : "(absent)");
            free(sx);
            free(sy);
            n++;
        }
    }
    return n;
}

static size_t phase_samples(const cJSON *run, const char *phase, double *out, size_t cap)
{
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, cJSON_GetObjectItemCaseSensitive(run, "repetitions"))
    {
        const char *st = str_of(rep, "status");
        if (!st || strcmp(st, "ok") != 0)
            continue;
        const cJSON *ph = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(rep, "phases"), phase);
        const cJSON *w = cJSON_GetObjectItemCaseSensitive(ph, "wall_s");
        if (cJSON_IsNumber(w) && isfinite(w->valuedouble) && n < cap)
            out[n++] = w->valuedouble;
    }
    return n;
}

static const cJSON *find_run(const cJSON *doc, const cJSON *like, int *params_differ)
{
    const cJSON *r, *fallback = NULL;
    cJSON_ArrayForEach(r, cJSON_GetObjectItemCaseSensitive(doc, "runs"))
    {
        const char *t = str_of(r, "task"), *v = str_of(r, "variant");
        if (!t || !v || strcmp(t, str_of(like, "task")) || strcmp(v, str_of(like, "variant")))
            continue;
        if (cJSON_Compare(cJSON_GetObjectItemCaseSensitive(r, "params"),
                          cJSON_GetObjectItemCaseSensitive(like, "params"), 1)) {
            *params_differ = 0;
            return r;
        }
        if (!fallback)
            fallback = r;
    }
    *params_differ = fallback != NULL;
    return fallback;
}

typedef struct {
    char label[160];
    mlb_comparison c;
    int params_differ;
} entry;

int mlb_cmd_compare(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL};
    double threshold = 0.05;
    double min_seconds = 0.001; /* a change smaller than this is never a regression */
    int json = 0, nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--threshold") && i + 1 < argc) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (*end == '%') {
                v /= 100;
                end++;
            }
            if (end == argv[i] || *end || !(v >= 0)) {
                fprintf(stderr, "mlbench-engine compare: --threshold %s: expected e.g. 5%% or 0.05\n",
                        argv[i]);
                return 2;
            }
            threshold = v;
        } else if (!strcmp(argv[i], "--min-seconds") && i + 1 < argc) {
            char *end;
            double v = strtod(argv[++i], &end);
            if (end == argv[i] || *end || !(v >= 0)) {
                fprintf(stderr, "mlbench-engine compare: --min-seconds %s: expected seconds >= 0\n",
                        argv[i]);
                return 2;
            }
            min_seconds = v;
        } else if (!strcmp(argv[i], "--help")) {
            printf("Usage: mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%]\n"
                   "                               [--min-seconds 0.001] [--json]\n"
                   "Compares each phase's wall time of matching task:variant runs; exits 1 when a\n"
                   "change is a significant regression (Holm-adjusted p < 0.05) larger than the\n"
                   "threshold and than --min-seconds in absolute terms (so that a 2 us teardown\n"
                   "becoming 4 us does not fail a pipeline).\n");
            return 0;
        } else if (argv[i][0] == '-' || nf == 2) {
            fprintf(stderr, "mlbench-engine compare: unexpected argument '%s' (see --help)\n",
                    argv[i]);
            return 2;
        } else
            files[nf++] = argv[i];
    }
    if (nf != 2) {
        fprintf(stderr, "Usage: mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%]\n");
        return 2;
    }
    cJSON *base = load_results(files[0]);
    cJSON *cur = base ? load_results(files[1]) : NULL;
    if (!base || !cur) {
        cJSON_Delete(base);
        return 2;
    }
    int mismatch = env_mismatch(base, cur);
    entry *ents = NULL;
    size_t n = 0;
    double xa[4096], xb[4096];
    const cJSON *run;
    cJSON_ArrayForEach(run, cJSON_GetObjectItemCaseSensitive(cur, "runs"))
    {
        int differ = 0;
        const cJSON *old = find_run(base, run, &differ);
        if (!old) {
            fprintf(stderr, "mlbench-engine compare: note: %s:%s has no baseline\n",
                    str_of(run, "task"), str_of(run, "variant"));
            continue;
        }
        for (int ph = 0; ph < MLB_PH_N; ph++) {
            size_t na = phase_samples(run, mlb_phase_names[ph], xa, 4096);
            size_t nb = phase_samples(old, mlb_phase_names[ph], xb, 4096);
            if (!na || !nb)
                continue;
            entry *ne = realloc(ents, (n + 1) * sizeof(*ne));
            if (!ne)
                break;
            ents = ne;
            entry *e = &ents[n];
            snprintf(e->label, sizeof e->label, "%s:%s %s", str_of(run, "task"),
                     str_of(run, "variant"), mlb_phase_names[ph]);
            e->params_differ = differ;
            if (mlb_compare_samples(xa, na, xb, nb, 42, &e->c) == 0)
                n++;
        }
    }
    /* Holm over the family of all phase comparisons. */
    double *p = malloc((2 * n + 1) * sizeof(double));
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (ents[i].c.chosen != MLB_TEST_NONE)
            p[m++] = ents[i].c.chosen_p;
    if (m)
        mlb_p_adjust(p, m, NULL, p + m, NULL);
    for (size_t i = 0, k = 0; i < n; i++)
        if (ents[i].c.chosen != MLB_TEST_NONE)
            mlb_comparison_set_adjusted(&ents[i].c, p[m + k++], "holm");
    free(p);

    int regressions = 0;
    cJSON *out = json ? cJSON_CreateArray() : NULL;
    if (!json)
        printf("%-40s %9s %21s %10s  %s\n", "run / phase", "change", "95% CI", "p (Holm)",
               "verdict");
    for (size_t i = 0; i < n; i++) {
        const mlb_comparison *c = &ents[i].c;
        double change = c->median_ratio - 1;
        double abs_change = c->a.median - c->b.median;
        const char *verdict = "no significant change";
        if (c->significant && change > threshold && abs_change < min_seconds)
            verdict = "significant, below --min-seconds";
        else if (c->significant && change > threshold) {
            verdict = "REGRESSION";
            regressions++;
        } else if (c->significant && change < -threshold)
            verdict = "improvement";
        else if (c->significant)
            verdict = "significant, within threshold";
        if (json) {
            cJSON *o = mlb_comparison_to_json(c);
            cJSON_AddStringToObject(o, "what", ents[i].label);
            cJSON_AddNumberToObject(o, "change", change);
            cJSON_AddStringToObject(o, "verdict", verdict);
            cJSON_AddBoolToObject(o, "params_differ", ents[i].params_differ);
            cJSON_AddItemToArray(out, o);
        } else {
            char ci[48] = "-";
            if (isfinite(c->ratio_ci95_low))
                snprintf(ci, sizeof ci, "[%+.1f%%, %+.1f%%]", 100 * (c->ratio_ci95_low - 1),
                         100 * (c->ratio_ci95_high - 1));
            printf("%-40s %+8.1f%% %21s %10.3g  %s%s\n", ents[i].label, 100 * change, ci,
                   c->p_adjusted, verdict, ents[i].params_differ ? " (parameters differ)" : "");
        }
    }
    if (json) {
        char *s = cJSON_Print(out);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(out);
    }
    if (!n)
        fprintf(stderr, "mlbench-engine compare: no matching runs with successful repetitions\n");
    fprintf(stderr, "mlbench-engine compare: %d significant regression%s above %.1f%%%s\n",
            regressions, regressions == 1 ? "" : "s", 100 * threshold,
            mismatch ? " (environments differ: see warnings)" : "");
    free(ents);
    cJSON_Delete(base);
    cJSON_Delete(cur);
    return regressions ? 1 : 0;
}
