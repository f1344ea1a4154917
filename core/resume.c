/* Earlier results applied to a new plan: --resume (the repetitions an
 * interrupted run already measured are kept, only the rest run) and
 * --dry-run --estimate-from (the plan's cost from what it cost before). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx_json.h"
#include "export.h"
#include "resume.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif

static const cJSON *jget(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The run of `doc` doing the same work as r: task, variant and every
 * parameter equal. NULL when there is none. */
static const cJSON *matching_run(const cJSON *doc, const mlb_run *r, const cJSON *params)
{
    const cJSON *run;
    cJSON_ArrayForEach(run, jget(doc, "runs"))
    {
        const char *t = jstr(run, "task"), *v = jstr(run, "variant");
        if (t && v && !strcmp(t, r->pl->desc.task) && !strcmp(v, r->pl->desc.variant) &&
            cJSON_Compare(jget(run, "params"), params, 1))
            return run;
    }
    return NULL;
}

int mlb_resume_take_run(mlb_run *r, const cJSON *old)
{
    const cJSON *rep;
    cJSON_ArrayForEach(rep, jget(old, "repetitions"))
    {
        const char *st = jstr(rep, "status");
        if (st && !strcmp(st, "interrupted"))
            continue; /* cut short: it runs again */
        if (r->n_reps >= (size_t)r->repetitions)
            break;
        mlb_rep *out = &r->reps[r->n_reps];
        if (mlb_rep_from_json(rep, out) < 0)
            return -1;
        if (out->status != MLB_REP_OK && r->status == MLB_REP_OK) {
            r->status = out->status;
            free(r->message);
            r->message = out->message ? strdup(out->message) : NULL;
        }
        r->n_reps++;
    }
    r->n_resumed = r->n_reps;
    return 0;
}

int mlb_resume_load(mlb_session *s, const char *path, cJSON **previous_env)
{
    char err[4096];
    *previous_env = NULL;
    cJSON *doc = mlb_results_load(path, err, sizeof err);
    if (!doc) {
        fprintf(stderr, "mlbench-engine: --resume: %s\n", err);
        return -1;
    }
    int rc = -1;
    const cJSON *env = jget(doc, "environment");
    const char *ver = jstr(env, "engine_version");
    const cJSON *seed = jget(env, "seed");
    const cJSON *runs = jget(doc, "runs");
    if (!ver || strcmp(ver, MLB_VERSION) != 0) {
        fprintf(stderr, "mlbench-engine: --resume %s: written by engine %s, this is %s\n", path,
                ver ? ver : "(unknown)", MLB_VERSION);
        goto out;
    }
    if (!cJSON_IsNumber(seed) || (uint64_t)seed->valuedouble != s->seed) {
        fprintf(stderr, "mlbench-engine: --resume %s: its seed is %.0f, this run's is %llu "
                        "(give the same --seed)\n",
                path, cJSON_IsNumber(seed) ? seed->valuedouble : NAN, (unsigned long long)s->seed);
        goto out;
    }
    if (cJSON_GetArraySize(runs) != (int)s->n_runs) {
        fprintf(stderr, "mlbench-engine: --resume %s: it holds %d runs, this plan %zu: not the "
                        "same plan (same --config, --plugin and --param?)\n",
                path, cJSON_GetArraySize(runs), s->n_runs);
        goto out;
    }
    for (size_t i = 0; i < s->n_runs; i++) {
        mlb_run *r = &s->runs[i];
        const cJSON *old = cJSON_GetArrayItem(runs, (int)i);
        cJSON *params = mlb_ctx_params_json(&r->params);
        int same = params && jstr(old, "task") && jstr(old, "variant") &&
                   !strcmp(jstr(old, "task"), r->pl->desc.task) &&
                   !strcmp(jstr(old, "variant"), r->pl->desc.variant) &&
                   cJSON_Compare(jget(old, "params"), params, 1);
        cJSON_Delete(params);
        if (!same) {
            fprintf(stderr, "mlbench-engine: --resume %s: run %zu is %s:%s with other "
                            "parameters or another variant there: not the same plan\n",
                    path, i, r->pl->desc.task, r->pl->desc.variant);
            goto out;
        }
        if (mlb_resume_take_run(r, old) < 0) {
            fprintf(stderr, "mlbench-engine: --resume %s: run %zu: a repetition cannot be "
                            "read\n", path, i);
            goto out;
        }
    }
    *previous_env = cJSON_DetachItemFromObjectCaseSensitive(doc, "environment");
    rc = 0;
out:
    cJSON_Delete(doc);
    return rc;
}

/* One repetition's wall time, all phases, of a recorded run: the median
 * over its successful repetitions; NaN when none. */
static double rep_cost(const cJSON *run)
{
    double v[1024];
    size_t n = 0;
    const cJSON *rep;
    cJSON_ArrayForEach(rep, jget(run, "repetitions"))
    {
        const char *st = jstr(rep, "status");
        if (!st || strcmp(st, "ok") != 0 || n == sizeof v / sizeof v[0])
            continue;
        double t = 0;
        const cJSON *ph;
        cJSON_ArrayForEach(ph, jget(rep, "phases"))
        {
            const cJSON *w = jget(ph, "wall_s");
            if (cJSON_IsNumber(w))
                t += w->valuedouble;
        }
        v[n++] = t;
    }
    if (!n)
        return NAN;
    for (size_t i = 1; i < n; i++) /* insertion sort: n is small */
        for (size_t k = i; k > 0 && v[k - 1] > v[k]; k--) {
            double t = v[k];
            v[k] = v[k - 1];
            v[k - 1] = t;
        }
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

void mlb_fmt_duration(char *b, size_t n, double s)
{
    if (!isfinite(s) || s < 0)
        snprintf(b, n, "unknown");
    else if (s < 1)
        snprintf(b, n, "%.1f ms", s * 1e3);
    else if (s < 60)
        snprintf(b, n, "%.1f s", s);
    else if (s < 3600)
        snprintf(b, n, "%.0f min %02.0f s", floor(s / 60), fmod(s, 60));
    else
        snprintf(b, n, "%.0f h %02.0f min", floor(s / 3600), floor(fmod(s, 3600) / 60));
}

/* What a repetition costs beyond its phases (fork, reaping, a peer's
 * start): the recorded run's engine time not spent in phases, per
 * repetition; 0 when the file does not say. */
static double rep_overhead(const cJSON *doc)
{
    const cJSON *ex = jget(jget(doc, "engine_timing"), "execute_s");
    if (!cJSON_IsNumber(ex))
        return 0;
    double phases = 0;
    size_t n = 0;
    const cJSON *run, *rep, *ph;
    cJSON_ArrayForEach(run, jget(doc, "runs"))
    {
        n += (size_t)cJSON_GetArraySize(jget(run, "warmup_status"));
        cJSON_ArrayForEach(rep, jget(run, "repetitions"))
        {
            n++;
            cJSON_ArrayForEach(ph, jget(rep, "phases"))
            {
                const cJSON *w = jget(ph, "wall_s");
                if (cJSON_IsNumber(w))
                    phases += w->valuedouble;
            }
        }
    }
    /* Warm-ups were timed too but are not in the file: count them at the
     * mean cost of a recorded repetition. */
    double per = n ? ex->valuedouble / (double)n : 0;
    double ph_per = n ? phases / (double)n : 0;
    return per > ph_per ? per - ph_per : 0;
}

int mlb_dry_run(FILE *f, const mlb_session *s, const char *estimate_from)
{
    cJSON *doc = NULL;
    if (estimate_from) {
        char err[4096];
        doc = mlb_results_load(estimate_from, err, sizeof err);
        if (!doc) {
            fprintf(stderr, "mlbench-engine: --estimate-from: %s\n", err);
            return 2;
        }
    }
    double total = 0;
    size_t unknown = 0, reps = 0;
    fprintf(f, "Plan: %zu group%s, %zu run%s\n", s->n_groups, s->n_groups == 1 ? "" : "s",
            s->n_runs, s->n_runs == 1 ? "" : "s");
    for (size_t g = 0; g < s->n_groups; g++) {
        const mlb_group *gr = &s->groups[g];
        fprintf(f, "\ngroup %zu: %s, baseline %s (%s)%s%s\n", g, gr->task,
                s->runs[gr->baseline].pl->desc.variant, gr->baseline_rule,
                gr->params_differ ? "; parameters differ: " : "",
                gr->params_differ ? gr->params_differ : "");
        fprintf(f, "  %-14s %5s %6s %7s %12s %12s\n", "variant", "reps", "warmup", "queries",
                "per rep", "estimate");
        for (size_t k = gr->first; k < gr->first + gr->n; k++) {
            const mlb_run *r = &s->runs[k];
            double per = NAN;
            if (doc) {
                cJSON *params = mlb_ctx_params_json(&r->params);
                const cJSON *old = params ? matching_run(doc, r, params) : NULL;
                cJSON_Delete(params);
                if (old)
                    per = rep_cost(old) + rep_overhead(doc);
            }
            int n = r->repetitions + r->warmup;
            reps += (size_t)n;
            double est = per * n;
            char a[32], b[32];
            mlb_fmt_duration(a, sizeof a, per);
            mlb_fmt_duration(b, sizeof b, est);
            fprintf(f, "  %-14s %5d %6d %7d %12s %12s\n", r->pl->desc.variant, r->repetitions,
                    r->warmup, r->infer_queries, a, b);
            if (isfinite(est))
                total += est;
            else
                unknown++;
        }
    }
    char t[32];
    mlb_fmt_duration(t, sizeof t, total);
    fprintf(f, "\n%zu repetitions in all; estimated wall time: %s", reps,
            unknown == s->n_runs ? "unknown" : t);
    if (unknown && unknown < s->n_runs)
        fprintf(f, " plus %zu run%s of unknown cost", unknown, unknown == 1 ? "" : "s");
    if (unknown)
        fprintf(f, " (%s)", doc ? "no matching run in --estimate-from"
                                : "give --estimate-from RESULTS.json of an earlier run");
    fprintf(f, "\n");
    cJSON_Delete(doc);
    return 0;
}
