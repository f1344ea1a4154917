/* The plan: runs in comparison groups with explicit baselines.
 *
 *   1. groups: one per suite benchmark, and one per task named on the command
 *      line (every --plugin naming that task's variants joins it);
 *   2. runs: the group's variants in order (the ones named, or all available
 *      ones with naive first), with the declared defaults;
 *   3. parameters: the suite's, then --param, each checked against its
 *      type and rule before anything forks;
 *   4. the baseline of each group: --baseline, else the suite's baseline:,
 *      else naive if present, else the first variant;
 *   5. what differs: workload parameters set for one variant only.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "plan_internal.h"

/* ---- names and suggestions ----------------------------------------------- */

/* "a, b, c" of up to `max` names into buf. */
static void join_names(char *buf, size_t len, const char *const *names, size_t n)
{
    size_t at = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && at < len; i++) {
        int k = snprintf(buf + at, len - at, "%s%s", i ? ", " : "", names[i]);
        if (k < 0)
            break;
        at += (size_t)k;
    }
}

static void say_unknown(const char *what, const char *kind, const char *name,
                        const char *const *names, size_t n)
{
    char list[2048];
    join_names(list, sizeof list, names, n);
    const char *near = mlb_closest(name, names, n);
    fprintf(stderr, "mlbench-engine: %s: no %s '%s'%s%s%s (valid: %s)\n", what, kind, name,
            near ? "; did you mean '" : "", near ? near : "", near ? "'?" : "",
            n ? list : "none");
}

mlb_plugin_entry *mlb_plan_lookup(mlb_registry *reg, const char *task, const char *variant,
                                  const char *what)
{
    mlb_plugin_entry *e = mlb_registry_find(reg, task, variant);
    if (e)
        return e;
    const char **names = calloc(reg->n + 1, sizeof(*names));
    if (!names) {
        fprintf(stderr, "mlbench-engine: %s: out of memory\n", what);
        return NULL;
    }
    size_t n = 0;
    int task_known = mlb_registry_find(reg, task, NULL) != NULL;
    for (size_t i = 0; i < reg->n; i++) {
        const mlb_plugin *d = &reg->v[i].desc;
        if (task_known) {
            if (!strcmp(d->task, task))
                names[n++] = d->variant;
        } else if (!n || strcmp(names[n - 1], d->task) != 0) {
            names[n++] = d->task; /* the registry is sorted by task */
        }
    }
    if (task_known) {
        const char *near = mlb_closest(variant, names, n);
        char list[2048], hint[300] = "";
        join_names(list, sizeof list, names, n);
        if (near)
            snprintf(hint, sizeof hint, "; did you mean '%s:%s'?", task, near);
        fprintf(stderr, "mlbench-engine: %s: no plugin %s:%s%s (variants of %s: %s)\n", what,
                task, variant, hint, task, list);
    } else {
        say_unknown(what, "task", task, names, n);
    }
    free(names);
    return NULL;
}

/* ---- runs ------------------------------------------------------------------ */

static mlb_run *plan_add(mlb_session *s, mlb_registry *reg, mlb_plugin_entry *pl,
                         const mlb_run_defaults *d)
{
    const mlb_plugin_entry *from = NULL;
    if (pl->peer && pl->peer->data_from) {
        from = mlb_registry_find(reg, pl->desc.task, pl->peer->data_from);
        if (!from) {
            fprintf(stderr, "mlbench-engine: %s: data_from: no plugin %s:%s\n", pl->path,
                    pl->desc.task, pl->peer->data_from);
            return NULL;
        }
    }
    mlb_run *v = realloc(s->runs, (s->n_runs + 1) * sizeof(*v));
    if (!v) {
        fprintf(stderr, "mlbench-engine: out of memory planning %s:%s\n", pl->desc.task,
                pl->desc.variant);
        return NULL;
    }
    s->runs = v;
    mlb_run *r = &s->runs[s->n_runs];
    memset(r, 0, sizeof(*r));
    mlb_entry_unavailable(pl); /* known before the children fork */
    r->pl = pl;
    r->data_from = from;
    r->group = (int)s->n_groups - 1;
    r->repetitions = d->repetitions;
    r->warmup = d->warmup;
    r->infer_queries = d->infer_queries;
    r->timeout_s = d->timeout_s;
    r->vary_seed = d->vary_seed;
    r->target = NAN;
    if (mlb_ctx_init(&r->params, &pl->desc, s->seed) < 0) {
        fprintf(stderr, "mlbench-engine: %s: %s\n", pl->path, r->params.err);
        mlb_ctx_free(&r->params);
        return NULL;
    }
    s->n_runs++;
    s->groups[s->n_groups - 1].n++;
    return r;
}

static int group_open(mlb_session *s, const char *task)
{
    mlb_group *g = realloc(s->groups, (s->n_groups + 1) * sizeof(*g));
    if (!g) {
        fprintf(stderr, "mlbench-engine: out of memory planning %s\n", task);
        return -1;
    }
    s->groups = g;
    g = &s->groups[s->n_groups];
    memset(g, 0, sizeof(*g));
    g->task = strdup(task);
    g->first = s->n_runs;
    s->n_groups++;
    return g->task ? 0 : -1;
}

/* Adds every available variant of `task`, naive first (the rule's baseline
 * is then also the first row), the rest by name. */
static int add_all_variants(mlb_session *s, mlb_registry *reg, const char *task,
                            const mlb_run_defaults *d)
{
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < reg->n; i++) {
            mlb_plugin_entry *e = &reg->v[i];
            if (strcmp(e->desc.task, task) != 0 || (pass == 0) != !strcmp(e->desc.variant, "naive"))
                continue;
            if (mlb_entry_unavailable(e)) {
                fprintf(stderr, "mlbench-engine: note: skipping %s:%s: %s\n", e->desc.task,
                        e->desc.variant, e->unavailable);
                continue;
            }
            if (!plan_add(s, reg, e, d))
                return -1;
        }
    return 0;
}

/* ---- parameters ------------------------------------------------------------ */

/* Sets K=V on run r; `where` prefixes errors (a file position or "--param"). */
int mlb_plan_set_param(mlb_run *r, const char *key, const char *value, const char *where,
                       const char *where_value)
{
    char why[1024];
    int rc = mlb_ctx_set_param(&r->params, key, value, why, sizeof why);
    if (rc == -ENOENT) {
        const mlb_plugin *d = &r->pl->desc;
        const char **names = calloc(d->n_params + 1, sizeof(*names));
        if (names)
            for (size_t i = 0; i < d->n_params; i++)
                names[i] = d->params[i].name;
        char what[PATH_MAX + 300];
        snprintf(what, sizeof what, "%s: %s:%s", where, d->task, d->variant);
        say_unknown(what, "parameter", key, names ? names : (const char *[]){NULL},
                    names ? d->n_params : 0);
        free(names);
        return -1;
    }
    if (rc < 0) {
        fprintf(stderr, "mlbench-engine: %s: %s:%s: parameter %s: %s\n", where_value,
                r->pl->desc.task, r->pl->desc.variant, key, why);
        return -1;
    }
    return 0;
}

/* The group a run belongs to. */
static size_t group_of(const mlb_session *s, size_t run)
{
    return (size_t)s->runs[run].group;
}

/* --param overrides: KEY=VALUE for every run, or scoped TASK[:VARIANT].KEY=VALUE;
 * K1=K2=...=VALUE sets several keys to one value (or sweeps them together);
 * a list or range of values is a sweep (parse_values). */
static int apply_cli_params(mlb_session *s, const mlb_cli *c, mlb_sweep_axes *axes)
{
    for (size_t i = 0; i < c->n_params; i++) {
        char *buf = strdup(c->params[i]);
        if (!buf)
            return -1;
        char *eq = strrchr(buf, '=');
        *eq = '\0';
        char *key = buf, *value = eq + 1, *scope = NULL;
        char *dot = strchr(buf, '.');
        if (dot) {
            *dot = '\0';
            scope = buf;
            key = dot + 1;
        }
        char **keys = NULL;
        size_t n_keys = 0;
        if (mlb_split_dup(key, '=', &keys, &n_keys) < 0) {
            free(buf);
            return -1;
        }
        int matched = 0, rc = 0;
        size_t last_group = (size_t)-1;
        for (size_t k = 0; k < s->n_runs && rc == 0; k++) {
            mlb_run *r = &s->runs[k];
            if (scope) {
                char tv[256];
                snprintf(tv, sizeof tv, "%s:%s", r->pl->desc.task, r->pl->desc.variant);
                if (strcmp(scope, r->pl->desc.task) != 0 && strcmp(scope, tv) != 0)
                    continue;
            }
            matched++;
            /* The first key's declaration decides whether the value is a list. */
            const mlb_param_def *def = NULL;
            for (size_t p = 0; p < r->pl->desc.n_params && !def; p++)
                if (!strcmp(r->pl->desc.params[p].name, keys[0]))
                    def = &r->pl->desc.params[p];
            char **vals = NULL;
            size_t nv = 1;
            if (def && mlb_sweep_parse_values(value, def, &r->pl->desc, &vals, &nv) < 0) {
                rc = -1;
                break;
            }
            if (nv > 1) {
                if (scope && strchr(scope, ':')) {
                    fprintf(stderr, "mlbench-engine: --param %s: a sweep changes the work of "
                                    "the whole group; scope it to the task, not to one "
                                    "variant\n", c->params[i]);
                    rc = -1;
                } else if (group_of(s, k) != last_group) {
                    last_group = group_of(s, k);
                    char **kc = NULL;
                    size_t nk = 0;
                    rc = mlb_split_dup(key, '=', &kc, &nk) < 0 ? -1
                         : mlb_sweep_axis_add(axes, last_group, kc, nk, vals, nv, "--param");
                    vals = NULL;
                }
            } else {
                for (size_t q = 0; q < n_keys && rc == 0; q++)
                    rc = mlb_plan_set_param(r, keys[q], vals ? vals[0] : value, "--param", "--param");
            }
            for (size_t q = 0; vals && q < nv; q++)
                free(vals[q]);
            free(vals);
        }
        for (size_t q = 0; q < n_keys; q++)
            free(keys[q]);
        free(keys);
        if (rc == 0 && scope && !matched) {
            fprintf(stderr, "mlbench-engine: --param %s: no selected plugin matches '%s'\n",
                    c->params[i], scope);
            rc = -1;
        }
        free(buf);
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ---- groups from a suite and from the command line ------------------------- */

static int plan_suite(mlb_session *s, mlb_registry *reg, const mlb_suite *suite,
                      const mlb_run_defaults *base, mlb_sweep_axes *axes)
{
    mlb_run_defaults sd = *base;
    if (suite->repetitions >= 0) sd.repetitions = suite->repetitions;
    if (suite->warmup >= 0) sd.warmup = suite->warmup;
    if (suite->infer_queries >= 0) sd.infer_queries = suite->infer_queries;
    if (suite->timeout_s >= 0) sd.timeout_s = suite->timeout_s;
    for (size_t b = 0; b < suite->n_benches; b++) {
        const mlb_bench_spec *bs = &suite->benches[b];
        mlb_run_defaults d = sd;
        if (bs->repetitions >= 0) d.repetitions = bs->repetitions;
        if (bs->warmup >= 0) d.warmup = bs->warmup;
        if (bs->infer_queries >= 0) d.infer_queries = bs->infer_queries;
        if (bs->timeout_s >= 0) d.timeout_s = bs->timeout_s;
        if (bs->vary_seed) d.vary_seed = 1;
        char where[PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d:%d", suite->path, bs->task_pos.line,
                 bs->task_pos.col);
        if (!mlb_plan_lookup(reg, bs->task, NULL, where) || group_open(s, bs->task) < 0)
            return -1;
        if (bs->n_variants) {
            for (size_t v = 0; v < bs->n_variants; v++) {
                snprintf(where, sizeof where, "%s:%d:%d", suite->path, bs->variant_pos[v].line,
                         bs->variant_pos[v].col);
                mlb_plugin_entry *pl = mlb_plan_lookup(reg, bs->task, bs->variants[v], where);
                if (!pl || !plan_add(s, reg, pl, &d))
                    return -1;
            }
        } else if (add_all_variants(s, reg, bs->task, &d) < 0) {
            return -1;
        }
        mlb_group *g = &s->groups[s->n_groups - 1];
        for (size_t k = g->first; k < s->n_runs; k++) {
            mlb_run *r = &s->runs[k];
            for (size_t p = 0; p < bs->n_params; p++) {
                if (bs->params[p].n_values)
                    continue; /* a sweep: each point is set when the group is expanded */
                char where_value[PATH_MAX + 32];
                snprintf(where, sizeof where, "%s:%d:%d", suite->path, bs->params[p].pos.line,
                         bs->params[p].pos.col);
                snprintf(where_value, sizeof where_value, "%s:%d:%d", suite->path,
                         bs->params[p].value_pos.line, bs->params[p].value_pos.col);
                char **keys = NULL;
                size_t nk = 0;
                if (mlb_split_dup(bs->params[p].key, '=', &keys, &nk) < 0)
                    return -1;
                int rc = 0;
                for (size_t q = 0; q < nk; q++) {
                    if (rc == 0)
                        rc = mlb_plan_set_param(r, keys[q], bs->params[p].value, where, where_value);
                    free(keys[q]);
                }
                free(keys);
                if (rc < 0)
                    return -1;
            }
            if (bs->target_metric) {
                r->target_metric = strdup(bs->target_metric);
                r->target = bs->target;
            }
        }
        for (size_t p = 0; p < bs->n_params; p++) {
            const mlb_kv *kv = &bs->params[p];
            if (!kv->n_values)
                continue;
            char **keys = NULL, **vals = calloc(kv->n_values, sizeof(char *));
            size_t nk = 0;
            snprintf(where, sizeof where, "%s:%d:%d", suite->path, kv->value_pos.line,
                     kv->value_pos.col);
            if (!vals || mlb_split_dup(kv->key, '=', &keys, &nk) < 0) {
                free(vals);
                return -1;
            }
            for (size_t v = 0; v < kv->n_values; v++)
                if (!(vals[v] = strdup(kv->values[v]))) {
                    for (size_t q = 0; q < nk; q++)
                        free(keys[q]);
                    free(keys);
                    for (size_t q = 0; q < v; q++)
                        free(vals[q]);
                    free(vals);
                    return -1;
                }
            if (mlb_sweep_axis_add(axes, s->n_groups - 1, keys, nk, vals, kv->n_values, where) < 0)
                return -1;
        }
        if (bs->baseline) {
            size_t k = g->first;
            while (k < s->n_runs && strcmp(s->runs[k].pl->desc.variant, bs->baseline) != 0)
                k++;
            if (k == s->n_runs) {
                fprintf(stderr, "mlbench-engine: %s:%d:%d: baseline '%s' is not one of this "
                                "benchmark's variants\n",
                        suite->path, bs->baseline_pos.line, bs->baseline_pos.col, bs->baseline);
                return -1;
            }
            g->baseline = k;
            g->baseline_rule = "suite";
        }
    }
    return 0;
}

/* One group per task named on the command line, in the order first named;
 * TASK alone selects all its available variants. */
static int plan_cli(mlb_session *s, mlb_registry *reg, const mlb_cli *c,
                    const mlb_run_defaults *d)
{
    for (size_t i = 0; i < c->n_plugins; i++) {
        char task[256];
        snprintf(task, sizeof task, "%s", c->plugins[i]);
        char *colon = strchr(task, ':');
        if (colon)
            *colon = '\0';
        char what[300];
        snprintf(what, sizeof what, "--plugin %s", c->plugins[i]);
        if (!mlb_plan_lookup(reg, task, NULL, what))
            return -1;
        int seen = 0, all = 0;
        for (size_t k = 0; k < i && !seen; k++) {
            size_t tl = strlen(task);
            seen = !strncmp(c->plugins[k], task, tl) &&
                   (c->plugins[k][tl] == '\0' || c->plugins[k][tl] == ':');
        }
        if (seen)
            continue; /* this task's group was built at its first mention */
        if (group_open(s, task) < 0)
            return -1;
        /* Every mention of the task, in order: the variants it names. */
        for (size_t k = i; k < c->n_plugins && !all; k++) {
            size_t tl = strlen(task);
            const char *spec = c->plugins[k];
            if (strncmp(spec, task, tl) != 0 || (spec[tl] != '\0' && spec[tl] != ':'))
                continue;
            if (spec[tl] == '\0' || spec[tl + 1] == '\0') {
                all = 1;
                break;
            }
            char list[512];
            snprintf(list, sizeof list, "%s", spec + tl + 1);
            for (char *save = NULL, *v = strtok_r(list, ",", &save); v;
                 v = strtok_r(NULL, ",", &save)) {
                snprintf(what, sizeof what, "--plugin %s", spec);
                mlb_plugin_entry *pl = mlb_plan_lookup(reg, task, v, what);
                if (!pl)
                    return -1;
                int dup = 0;
                for (size_t r = s->groups[s->n_groups - 1].first; r < s->n_runs; r++)
                    dup |= s->runs[r].pl == pl;
                if (!dup && !plan_add(s, reg, pl, d))
                    return -1;
            }
        }
        if (all) { /* TASK alone: every variant, whatever else was named */
            mlb_group *g = &s->groups[s->n_groups - 1];
            for (size_t r = g->first; r < s->n_runs; r++)
                mlb_ctx_free(&s->runs[r].params);
            s->n_runs = g->first;
            g->n = 0;
            if (add_all_variants(s, reg, task, d) < 0)
                return -1;
        }
    }
    return 0;
}

/* ---- baselines and differences --------------------------------------------- */

static int choose_baselines(mlb_session *s, const mlb_cli *c)
{
    const char *want = NULL, *want_task = NULL;
    char buf[256];
    if (c->baseline) {
        snprintf(buf, sizeof buf, "%s", c->baseline);
        char *colon = strchr(buf, ':');
        if (colon) {
            *colon = '\0';
            want_task = buf;
            want = colon + 1;
        } else {
            want = buf;
        }
    }
    int used = 0;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        mlb_group *g = &s->groups[gi];
        if (!g->n)
            continue;
        if (want && (!want_task || !strcmp(want_task, g->task))) {
            size_t k = g->first;
            while (k < g->first + g->n && strcmp(s->runs[k].pl->desc.variant, want) != 0)
                k++;
            if (k < g->first + g->n) {
                g->baseline = k;
                g->baseline_rule = "cli";
                used = 1;
                continue;
            }
            fprintf(stderr, "mlbench-engine: note: --baseline %s: group %zu (%s) has no "
                            "variant %s; it uses the default rule\n",
                    c->baseline, gi, g->task, want);
        }
        if (g->baseline_rule) /* the suite's */
            continue;
        g->baseline = g->first;
        g->baseline_rule = "first";
        for (size_t k = g->first; k < g->first + g->n; k++)
            if (!strcmp(s->runs[k].pl->desc.variant, "naive")) {
                g->baseline = k;
                g->baseline_rule = "naive";
                break;
            }
    }
    if (want && !used) {
        fprintf(stderr, "mlbench-engine: --baseline %s: no selected group has that variant\n",
                c->baseline);
        return -1;
    }
    return 0;
}

static int same_value(const mlb_param_value *a, const mlb_param_value *b)
{
    switch (a->def->type) {
    case MLB_PARAM_INT: return a->i == b->i;
    case MLB_PARAM_FLOAT: return a->f == b->f;
    case MLB_PARAM_BOOL: return a->b == b->b;
    case MLB_PARAM_STRING: return !strcmp(a->text, b->text);
    }
    return 0;
}

static const mlb_param_value *find_value(const mlb_ctx *c, const char *name,
                                         mlb_param_type type)
{
    for (size_t i = 0; i < c->n_params; i++)
        if (!strcmp(c->params[i].def->name, name) && c->params[i].def->type == type)
            return &c->params[i];
    return NULL;
}

/* A group's variants must do the same work for their times to compare: a
 * workload parameter (any not declared MLB_RULE_TUNING) that two of them
 * declare with different values is named in params_differ. */
static int find_differences(mlb_session *s)
{
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        mlb_group *g = &s->groups[gi];
        char names[1024] = "";
        size_t at = 0;
        const mlb_ctx *c0 = &s->runs[g->first].params;
        for (size_t p = 0; p < c0->n_params && g->n > 1; p++) {
            const mlb_param_value *v0 = &c0->params[p];
            mlb_param_rule rule;
            if (mlb_param_rule_get(c0->plugin, v0->def->name, &rule) == 0 &&
                (rule.flags & MLB_RULE_TUNING))
                continue;
            int differ = 0;
            for (size_t k = g->first + 1; k < g->first + g->n && !differ; k++) {
                const mlb_param_value *v = find_value(&s->runs[k].params, v0->def->name,
                                                      v0->def->type);
                differ = v && !same_value(v0, v);
            }
            if (differ && at < sizeof names) {
                int w = snprintf(names + at, sizeof names - at, "%s%s", at ? ", " : "",
                                 v0->def->name);
                if (w > 0)
                    at += (size_t)w;
            }
        }
        if (at) {
            g->params_differ = strdup(names);
            if (!g->params_differ)
                return -1;
            fprintf(stderr, "mlbench-engine: warning: group %zu (%s): parameters differ between "
                            "its variants: %s; their times measure different work\n",
                    gi, g->task, names);
        }
    }
    return 0;
}

/* A group's label: its baseline's parameters that differ from their declared
 * defaults, in declaration order, so that two groups of one task read
 * apart ("m=1024 n=1024 k=1024 dtype=f64" rather than a second "gemm"). */
static int label_groups(mlb_session *s)
{
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        mlb_group *g = &s->groups[gi];
        const mlb_ctx *c = &s->runs[g->baseline].params;
        char buf[512];
        size_t at = 0;
        buf[0] = '\0';
        for (size_t i = 0; i < c->n_params && at < sizeof buf; i++) {
            const mlb_param_value *v = &c->params[i];
            int swept = 0;
            for (size_t q = 0; q < g->n_point && !swept; q++) {
                char keys[512];
                snprintf(keys, sizeof keys, "=%s=", g->point[2 * q]);
                char needle[128];
                snprintf(needle, sizeof needle, "=%s=", v->def->name);
                swept = strstr(keys, needle) != NULL;
            }
            mlb_param_value d = *v;
            char why[256];
            if (!swept && mlb_param_parse(v->def->type, v->def->def ? v->def->def : "", &d, why,
                                sizeof why) == 0) {
                d.text = (char *)(v->def->def ? v->def->def : "");
                int same = v->def->type == MLB_PARAM_STRING ? !strcmp(d.text, v->text)
                           : v->def->type == MLB_PARAM_FLOAT ? d.f == v->f
                           : v->def->type == MLB_PARAM_BOOL  ? d.b == v->b
                                                             : d.i == v->i;
                if (same)
                    continue;
            }
            int k = snprintf(buf + at, sizeof buf - at, "%s%s=%s", at ? " " : "", v->def->name,
                             v->text);
            if (k < 0)
                break;
            at += (size_t)k;
        }
        if (at >= sizeof buf)
            buf[sizeof buf - 1] = '\0';
        g->label = strdup(buf);
        if (!g->label)
            return -1;
    }
    return 0;
}

int mlb_plan_build(mlb_session *s, mlb_registry *reg, const mlb_suite *suite, const mlb_cli *c,
                   const mlb_run_defaults *d)
{
    mlb_sweep_axes axes = {0};
    int rc = (suite && suite->path && plan_suite(s, reg, suite, d, &axes) < 0) ||
                     plan_cli(s, reg, c, d) < 0 || apply_cli_params(s, c, &axes) < 0
                 ? -1
                 : 0;
    /* Empty groups go first: an axis names its group by index. */
    if (rc == 0)
        rc = mlb_sweep_expand(s, &axes);
    mlb_sweep_axes_free(&axes);
    if (rc < 0)
        return -1;
    for (size_t i = 0; i < s->n_runs; i++) { /* the command line overrides the suite */
        mlb_run *r = &s->runs[i];
        if (c->repetitions >= 0) r->repetitions = c->repetitions;
        if (c->warmup >= 0) r->warmup = c->warmup;
        if (c->infer_queries >= 0) r->infer_queries = c->infer_queries;
        if (c->timeout_s >= 0) r->timeout_s = c->timeout_s;
        if (c->vary_seed) r->vary_seed = 1;
    }
    /* A group whose every variant was unavailable has nothing to compare. */
    size_t kept = 0;
    for (size_t gi = 0; gi < s->n_groups; gi++) {
        if (!s->groups[gi].n) {
            free(s->groups[gi].task);
            continue;
        }
        s->groups[kept] = s->groups[gi];
        for (size_t k = s->groups[kept].first; k < s->groups[kept].first + s->groups[kept].n; k++)
            s->runs[k].group = (int)kept;
        kept++;
    }
    s->n_groups = kept;
    if (choose_baselines(s, c) < 0 || find_differences(s) < 0 || label_groups(s) < 0)
        return -1;
    return 0;
}

void mlb_run_free(mlb_run *r)
{
    mlb_ctx_free(&r->params);
    for (size_t k = 0; k < r->n_reps; k++)
        mlb_rep_free(&r->reps[k]);
    free(r->reps);
    free(r->warmup_status);
    free(r->message);
    free(r->target_metric);
    free(r->host);
    cJSON_Delete(r->summary);
}

void mlb_group_free(mlb_group *g)
{
    free(g->task);
    free(g->params_differ);
    free(g->label);
    for (size_t q = 0; g->point && q < 2 * g->n_point; q++)
        free(g->point[q]);
    free(g->point);
}

void mlb_session_free(mlb_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++)
        mlb_run_free(&s->runs[i]);
    for (size_t g = 0; g < s->n_groups; g++)
        mlb_group_free(&s->groups[g]);
    free(s->groups);
    free(s->runs);
    free(s->cmps);
}
