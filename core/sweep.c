/* Sweeps: a parameter with several values (a suite list, or a --param list
 * or range) makes one comparison group per point of the cartesian product
 * of a group's swept axes; docs/suites.md, "Sweeps". */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "plan_internal.h"


void mlb_sweep_axes_free(mlb_sweep_axes *a)
{
    for (size_t i = 0; i < a->n; i++) {
        for (size_t k = 0; k < a->v[i].n_keys; k++)
            free(a->v[i].keys[k]);
        for (size_t k = 0; k < a->v[i].n_values; k++)
            free(a->v[i].values[k]);
        free(a->v[i].keys);
        free(a->v[i].values);
    }
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* Splits s at every `sep` into a new array of copies. */
int mlb_split_dup(const char *s, char sep, char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == sep;
    char **v = calloc(cap, sizeof(char *));
    if (!v)
        return -ENOMEM;
    const char *start = s;
    for (size_t i = 0; i < cap; i++) {
        const char *end = strchr(start, sep);
        size_t len = end ? (size_t)(end - start) : strlen(start);
        v[i] = strndup(start, len);
        if (!v[i]) {
            for (size_t k = 0; k < i; k++)
                free(v[k]);
            free(v);
            return -ENOMEM;
        }
        start = end ? end + 1 : start + len;
    }
    *out = v;
    *n = cap;
    return 0;
}

/* Adds an axis for group g; takes ownership of keys and values. */
int mlb_sweep_axis_add(mlb_sweep_axes *a, size_t g, char **keys, size_t n_keys, char **values,
                    size_t n_values, const char *where)
{
    for (size_t i = 0; i < a->n; i++)
        for (size_t k = 0; k < a->v[i].n_keys && a->v[i].group == g; k++)
            for (size_t j = 0; j < n_keys; j++)
                if (!strcmp(a->v[i].keys[k], keys[j])) {
                    fprintf(stderr, "mlbench-engine: %s: parameter %s is swept twice for "
                                    "group %zu (%s)\n", where, keys[j], g, a->v[i].where);
                    goto fail;
                }
    mlb_sweep_axis *v = realloc(a->v, (a->n + 1) * sizeof(*v));
    if (!v)
        goto fail;
    a->v = v;
    mlb_sweep_axis *x = &a->v[a->n++];
    memset(x, 0, sizeof *x);
    x->group = g;
    x->keys = keys;
    x->n_keys = n_keys;
    x->values = values;
    x->n_values = n_values;
    snprintf(x->where, sizeof x->where, "%s", where);
    return 0;
fail:
    for (size_t k = 0; k < n_keys; k++)
        free(keys[k]);
    for (size_t k = 0; k < n_values; k++)
        free(values[k]);
    free(keys);
    free(values);
    return -1;
}

static int is_choice(const mlb_param_rule *r, const char *v)
{
    for (size_t i = 0; r->choices && r->choices[i]; i++)
        if (!strcmp(r->choices[i], v))
            return 1;
    return 0;
}

/* A --param value as the list of values it stands for: "256,512,1024",
 * "256..4096*2" (doubling), "1..8+1" or "1..8" (steps); a string with a
 * comma is one value unless every part is one of the parameter's choices
 * (dataset=images.idx,labels.idx is a pair of files, dtype=f32,f64 two
 * points). Returns 0 with *n >= 1, or -1 after an error. */
int mlb_sweep_parse_values(const char *text, const mlb_param_def *def, const mlb_plugin *pl,
                        char ***out, size_t *n)
{
    const char *dots = strstr(text, "..");
    if (dots && (def->type == MLB_PARAM_INT || def->type == MLB_PARAM_FLOAT)) {
        char *end, head[64];
        double hi, step = 1;
        int mul = 0;
        /* strtod would read "64." of "64..256" as a number: cut at "..". */
        if ((size_t)(dots - text) >= sizeof head)
            goto bad_range;
        memcpy(head, text, (size_t)(dots - text));
        head[dots - text] = '\0';
        double lo = strtod(head, &end);
        if (end == head || *end)
            goto bad_range;
        hi = strtod(dots + 2, &end);
        if (end == dots + 2)
            goto bad_range;
        if (*end == '*' || *end == '+') {
            mul = *end == '*';
            const char *st = end + 1;
            step = strtod(st, &end);
            if (end == st)
                goto bad_range;
        }
        if (*end || !isfinite(lo) || !isfinite(hi) || hi < lo || (mul && !(step > 1)) ||
            (!mul && !(step > 0)) || (mul && !(lo > 0)))
            goto bad_range;
        size_t cnt = 0;
        for (double x = lo; x <= hi * (1 + 1e-12) && cnt <= MLB_SUITE_MAX_SWEEP;
             x = mul ? x * step : x + step)
            cnt++;
        if (cnt > MLB_SUITE_MAX_SWEEP) {
            fprintf(stderr, "mlbench-engine: --param %s=%s: more than %d points\n", def->name,
                    text, MLB_SUITE_MAX_SWEEP);
            return -1;
        }
        char **v = calloc(cnt, sizeof(char *));
        if (!v)
            return -1;
        double x = lo;
        for (size_t i = 0; i < cnt; i++, x = mul ? x * step : x + step) {
            char b[64];
            if (def->type == MLB_PARAM_INT)
                snprintf(b, sizeof b, "%.0f", floor(x + 0.5));
            else
                snprintf(b, sizeof b, "%.17g", x);
            v[i] = strdup(b);
            if (!v[i]) {
                for (size_t k = 0; k < i; k++)
                    free(v[k]);
                free(v);
                return -1;
            }
        }
        *out = v;
        *n = cnt;
        return 0;
    bad_range:
        fprintf(stderr, "mlbench-engine: --param %s=%s: a range is FROM..TO, FROM..TO+STEP or "
                        "FROM..TO*FACTOR (FACTOR > 1, FROM > 0)\n", def->name, text);
        return -1;
    }
    int list = strchr(text, ',') != NULL;
    if (list && def->type == MLB_PARAM_STRING) {
        mlb_param_rule r;
        char **parts;
        size_t np;
        list = 0;
        if (mlb_param_rule_get(pl, def->name, &r) == 0 && r.choices &&
            mlb_split_dup(text, ',', &parts, &np) == 0) {
            list = 1;
            for (size_t i = 0; i < np; i++) {
                list &= is_choice(&r, parts[i]);
                free(parts[i]);
            }
            free(parts);
        }
    }
    if (list)
        return mlb_split_dup(text, ',', out, n) < 0 ? -1 : 0;
    *out = calloc(1, sizeof(char *));
    if (!*out || !((*out)[0] = strdup(text))) {
        free(*out);
        return -1;
    }
    *n = 1;
    return 0;
}

/* A copy of run src with its parameters (and none of its measurements). */
static int run_clone(mlb_run *dst, const mlb_run *src, uint64_t seed)
{
    memset(dst, 0, sizeof *dst);
    dst->pl = src->pl;
    dst->data_from = src->data_from;
    dst->repetitions = src->repetitions;
    dst->warmup = src->warmup;
    dst->infer_queries = src->infer_queries;
    dst->timeout_s = src->timeout_s;
    dst->target = src->target;
    if (src->target_metric && !(dst->target_metric = strdup(src->target_metric)))
        return -1;
    if (mlb_ctx_init(&dst->params, &src->pl->desc, seed) < 0)
        return -1;
    char why[1024];
    for (size_t i = 0; i < src->params.n_params; i++)
        if (mlb_ctx_set_param(&dst->params, src->params.params[i].def->name,
                              src->params.params[i].text, why, sizeof why) < 0)
            return -1;
    return 0;
}

static void run_drop(mlb_run *r)
{
    mlb_ctx_free(&r->params);
    free(r->target_metric);
}

/* Every group with swept axes becomes one group per point of their
 * cartesian product, its runs cloned and given the point's values; the
 * order is the first axis slowest, as written. */
int mlb_sweep_expand(mlb_session *s, const mlb_sweep_axes *axes)
{
    if (!axes->n)
        return 0;
    mlb_run *runs = NULL;
    mlb_group *groups = NULL;
    size_t n_runs = 0, n_groups = 0, cap_runs = 0, cap_groups = 0;
    int rc = -1;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        const mlb_group *g = &s->groups[gi];
        const mlb_sweep_axis *ax[64];
        size_t na = 0, points = 1;
        for (size_t a = 0; a < axes->n && na < 64; a++)
            if (axes->v[a].group == gi) {
                ax[na++] = &axes->v[a];
                points *= axes->v[a].n_values;
            }
        if (points > MLB_SUITE_MAX_SWEEP) {
            fprintf(stderr, "mlbench-engine: group %zu (%s): the sweep has %zu points (at most "
                            "%d)\n", gi, g->task, points, MLB_SUITE_MAX_SWEEP);
            goto out;
        }
        for (size_t pt = 0; pt < points; pt++) {
            if (n_groups == cap_groups) {
                cap_groups = cap_groups ? 2 * cap_groups : 16;
                mlb_group *ng = realloc(groups, cap_groups * sizeof(*ng));
                if (!ng)
                    goto out;
                groups = ng;
            }
            mlb_group *ng = &groups[n_groups++];
            memset(ng, 0, sizeof *ng);
            ng->task = strdup(g->task);
            ng->first = n_runs;
            ng->n = g->n;
            ng->baseline = g->baseline_rule ? n_runs + (g->baseline - g->first) : 0;
            ng->baseline_rule = g->baseline_rule;
            ng->n_point = na;
            if (!ng->task)
                goto out;
            if (na && !(ng->point = calloc(2 * na, sizeof(char *))))
                goto out;
            for (size_t k = 0; k < g->n; k++) {
                if (n_runs == cap_runs) {
                    cap_runs = cap_runs ? 2 * cap_runs : 64;
                    mlb_run *nr = realloc(runs, cap_runs * sizeof(*nr));
                    if (!nr)
                        goto out;
                    runs = nr;
                }
                mlb_run *r = &runs[n_runs];
                if (run_clone(r, &s->runs[g->first + k], s->seed) < 0) {
                    run_drop(r);
                    goto out;
                }
                r->group = (int)(n_groups - 1);
                n_runs++;
                /* The point's value of each axis: mixed radix, first axis slowest. */
                size_t rest = pt;
                for (size_t a = na; a-- > 0;) {
                    const char *v = ax[a]->values[rest % ax[a]->n_values];
                    rest /= ax[a]->n_values;
                    for (size_t q = 0; q < ax[a]->n_keys; q++)
                        if (mlb_plan_set_param(r, ax[a]->keys[q], v, ax[a]->where, ax[a]->where) < 0)
                            goto out;
                    if (k == 0) {
                        char kb[512];
                        size_t at = 0;
                        for (size_t q = 0; q < ax[a]->n_keys && at < sizeof kb; q++) {
                            int w = snprintf(kb + at, sizeof kb - at, "%s%s", q ? "=" : "",
                                             ax[a]->keys[q]);
                            at += w > 0 ? (size_t)w : 0;
                        }
                        if (!(ng->point[2 * a] = strdup(kb)) || !(ng->point[2 * a + 1] = strdup(v)))
                            goto out;
                    }
                }
            }
        }
    }
    rc = 0;
out:
    if (rc == 0) {
        for (size_t i = 0; i < s->n_runs; i++)
            run_drop(&s->runs[i]);
        for (size_t g = 0; g < s->n_groups; g++)
            free(s->groups[g].task);
        free(s->runs);
        free(s->groups);
        s->runs = runs;
        s->n_runs = n_runs;
        s->groups = groups;
        s->n_groups = n_groups;
        return 0;
    }
    for (size_t i = 0; i < n_runs; i++)
        run_drop(&runs[i]);
    for (size_t g = 0; g < n_groups; g++) {
        free(groups[g].task);
        for (size_t q = 0; groups[g].point && q < 2 * groups[g].n_point; q++)
            free(groups[g].point[q]);
        free(groups[g].point);
    }
    free(runs);
    free(groups);
    return -1;
}

