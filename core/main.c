/* mlbench-engine: the engine's flow in one file.
 *
 *   1. parse the command line (and the suite, if any);
 *   2. discover plugins on the search path;
 *   3. build the plan: runs (task:variant + parameters) in groups to compare;
 *   4. execute it: warm-ups, then measured repetitions, variants of a group
 *      interleaved in a seeded random order each round, each repetition in a
 *      child process;
 *   5. summarise and compare (statistics), print the table, write the JSON.
 */
#include <errno.h>
#include <getopt.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compare.h"
#include "engine.h"
#include "env.h"
#include "export.h"
#include "peer.h"
#include "stats.h"
#include "suite.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif

typedef struct {
    char **dirs;
    size_t n_dirs;
    char **plugins;
    size_t n_plugins;
    char **params; /* KEY=VALUE or TASK[:VARIANT].KEY=VALUE */
    size_t n_params;
    const char *config, *output, *describe, *export_dir;
    const char *html, *csv, *markdown; /* reports of the results document */
    int list, json, no_fork, quiet, verbose, sequential;
    int repetitions, warmup, infer_queries; /* -1: not given */
    double timeout_s, mem_limit, sample_ms;
    uint64_t seed;
} cli;

static void usage(FILE *f)
{
    fprintf(f,
        "Usage: mlbench-engine [OPTIONS] --plugin TASK[:VARIANT] ...\n"
        "       mlbench-engine [OPTIONS] --config SUITE.yaml\n"
        "       mlbench-engine --list [--json] | --describe TASK:VARIANT\n"
        "       mlbench-engine stats A.txt [B.txt] [--json] | stats --adjust P.txt [--json]\n"
        "       mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%]\n"
        "       mlbench-engine report RESULTS.json [--html F] [--csv F] [--markdown F]\n"
        "\n"
        "Runs ML benchmark plugins under uniform measurement and compares their variants.\n"
        "\n"
        "Selection:\n"
        "  --plugin SPEC          task (all its variants) or task:variant; repeatable\n"
        "  --config FILE          run the suite in FILE (YAML); the command line overrides it\n"
        "  --param K=V            set parameter K; TASK.K=V or TASK:VARIANT.K=V to scope it\n"
        "  --plugin-dir DIR       search DIR for plugins first; repeatable\n"
        "                         (then $MLBENCH_PLUGIN_PATH, then the bundled plugins)\n"
        "  --list [--json]        list plugins: task, variant, availability, description\n"
        "  --describe T:V         show one plugin's parameters\n"
        "Measurement:\n"
        "  --repetitions N        measured repetitions per variant (default 10)\n"
        "  --warmup N             unmeasured repetitions first (default 1)\n"
        "  --infer-queries N      infer calls per repetition, each timed (default 10)\n"
        "  --timeout SECONDS      per repetition (default 600; 0: no limit)\n"
        "  --mem-limit SIZE       kill a repetition whose RSS exceeds SIZE (e.g. 2G, 500M)\n"
        "  --sample-interval MS   memory sampler period (default 5; 0 disables)\n"
        "  --order interleaved|sequential   (default interleaved, shuffled per round)\n"
        "  --seed N               seed handed to plugins and statistics (default 42)\n"
        "  --no-fork              run in-process (debugging; a crash ends the engine)\n"
        "  --export-data DIR      write the arrays the selected variant trains on (after its\n"
        "                         split and standardisation) to DIR as .npy files, and exit\n"
        "Output:\n"
        "  --output FILE.json     write results (atomically)\n"
        "  --html FILE            a self-contained HTML report (tables, plots, verdicts)\n"
        "  --csv FILE             one CSV row per repetition (phases, memory, metrics)\n"
        "  --markdown FILE        the tables and verdicts as GitHub Markdown\n"
        "  --quiet, --verbose     less or more on stderr\n"
        "  --help, --version\n"
        "\n"
        "Exit status: 0 when every run succeeded, 1 when any did not, 2 on usage or input\n"
        "errors, 130 when interrupted.\n");
}

static int parse_size(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -1;
    switch (*end) {
    case 'k': case 'K': v *= 1024; end++; break;
    case 'm': case 'M': v *= 1024 * 1024; end++; break;
    case 'g': case 'G': v *= 1024.0 * 1024 * 1024; end++; break;
    default: break;
    }
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end)
        return -1;
    *out = v;
    return 0;
}

static int parse_int_arg(const char *opt, const char *s, int min, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno || v < min || v > MLB_SUITE_MAX_COUNT) {
        fprintf(stderr, "mlbench-engine: %s: '%s' is not an integer from %d to %d\n", opt, s,
                min, MLB_SUITE_MAX_COUNT);
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_double_arg(const char *opt, const char *s, double min, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < min) {
        fprintf(stderr, "mlbench-engine: %s: '%s' is not a number >= %g\n", opt, s, min);
        return -1;
    }
    *out = v;
    return 0;
}

static int push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -1;
    *v = nv;
    (*v)[(*n)++] = (char *)s;
    return 0;
}

static int cli_parse(int argc, char **argv, cli *c)
{
    enum { O_LIST = 256, O_DESCRIBE, O_PLUGIN, O_PARAM, O_CONFIG, O_DIR, O_REPS, O_WARM, O_IQ,
           O_TIMEOUT, O_MEM, O_SAMPLE, O_ORDER, O_SEED, O_NOFORK, O_OUTPUT, O_JSON, O_QUIET,
           O_VERBOSE, O_HELP, O_VERSION, O_EXPORT, O_HTML, O_CSV, O_MARKDOWN };
    static const struct option opts[] = {
        {"list", no_argument, 0, O_LIST},           {"describe", required_argument, 0, O_DESCRIBE},
        {"plugin", required_argument, 0, O_PLUGIN}, {"param", required_argument, 0, O_PARAM},
        {"config", required_argument, 0, O_CONFIG}, {"plugin-dir", required_argument, 0, O_DIR},
        {"repetitions", required_argument, 0, O_REPS}, {"warmup", required_argument, 0, O_WARM},
        {"infer-queries", required_argument, 0, O_IQ}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"mem-limit", required_argument, 0, O_MEM}, {"sample-interval", required_argument, 0, O_SAMPLE},
        {"order", required_argument, 0, O_ORDER},   {"seed", required_argument, 0, O_SEED},
        {"no-fork", no_argument, 0, O_NOFORK},      {"output", required_argument, 0, O_OUTPUT},
        {"json", no_argument, 0, O_JSON},           {"quiet", no_argument, 0, O_QUIET},
        {"verbose", no_argument, 0, O_VERBOSE},     {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},     {"export-data", required_argument, 0, O_EXPORT},     {"html", required_argument, 0, O_HTML},
        {"csv", required_argument, 0, O_CSV},       {"markdown", required_argument, 0, O_MARKDOWN},
        {0, 0, 0, 0}};
    memset(c, 0, sizeof(*c));
    c->repetitions = c->warmup = c->infer_queries = -1;
    c->timeout_s = -1;
    c->sample_ms = 5;
    c->seed = 42;
    int o;
    opterr = 0;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case O_LIST: c->list = 1; break;
        case O_DESCRIBE: c->describe = optarg; break;
        case O_PLUGIN: push(&c->plugins, &c->n_plugins, optarg); break;
        case O_PARAM:
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "mlbench-engine: --param %s: expected KEY=VALUE\n", optarg);
                return -1;
            }
            push(&c->params, &c->n_params, optarg);
            break;
        case O_CONFIG: c->config = optarg; break;
        case O_DIR: push(&c->dirs, &c->n_dirs, optarg); break;
        case O_REPS: if (parse_int_arg("--repetitions", optarg, 1, &c->repetitions)) return -1; break;
        case O_WARM: if (parse_int_arg("--warmup", optarg, 0, &c->warmup)) return -1; break;
        case O_IQ: if (parse_int_arg("--infer-queries", optarg, 0, &c->infer_queries)) return -1; break;
        case O_TIMEOUT: if (parse_double_arg("--timeout", optarg, 0, &c->timeout_s)) return -1; break;
        case O_SAMPLE: if (parse_double_arg("--sample-interval", optarg, 0, &c->sample_ms)) return -1; break;
        case O_MEM:
            if (parse_size(optarg, &c->mem_limit) < 0) {
                fprintf(stderr, "mlbench-engine: --mem-limit: '%s' is not a size (e.g. 512M, 2G)\n", optarg);
                return -1;
            }
            break;
        case O_ORDER:
            if (!strcmp(optarg, "sequential")) c->sequential = 1;
            else if (!strcmp(optarg, "interleaved")) c->sequential = 0;
            else {
                fprintf(stderr, "mlbench-engine: --order: '%s' is not interleaved or sequential\n", optarg);
                return -1;
            }
            break;
        case O_SEED: {
            char *end;
            errno = 0;
            unsigned long long v = strtoull(optarg, &end, 10);
            if (!*optarg || *end || errno || *optarg == '-') {
                fprintf(stderr, "mlbench-engine: --seed: '%s' is not a non-negative integer\n", optarg);
                return -1;
            }
            c->seed = v;
            break;
        }
        case O_NOFORK: c->no_fork = 1; break;
        case O_EXPORT: c->export_dir = optarg; break;
        case O_OUTPUT: c->output = optarg; break;
        case O_HTML: c->html = optarg; break;
        case O_CSV: c->csv = optarg; break;
        case O_MARKDOWN: c->markdown = optarg; break;
        case O_JSON: c->json = 1; break;
        case O_QUIET: c->quiet = 1; break;
        case O_VERBOSE: c->verbose = 1; break;
        case O_HELP: usage(stdout); exit(0);
        case O_VERSION: printf("mlbench-engine %s (plugin ABI %d.%d)\n", MLB_VERSION, MLB_ABI_MAJOR, MLB_ABI_MINOR); exit(0);
        default:
            fprintf(stderr, "mlbench-engine: unknown or incomplete option '%s' (see --help)\n",
                    argv[optind - 1]);
            return -1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mlbench-engine: unexpected argument '%s' (see --help)\n", argv[optind]);
        return -1;
    }
    return 0;
}

/* ---- discovery ----------------------------------------------------------- */

static int discover(const cli *c, mlb_registry *reg, char **bundled_out)
{
    char **dirs = NULL;
    size_t n = 0;
    for (size_t i = 0; i < c->n_dirs; i++)
        push(&dirs, &n, c->dirs[i]);
    char *envp = getenv("MLBENCH_PLUGIN_PATH") ? strdup(getenv("MLBENCH_PLUGIN_PATH")) : NULL;
    for (char *save = NULL, *d = envp ? strtok_r(envp, ":", &save) : NULL; d;
         d = strtok_r(NULL, ":", &save))
        push(&dirs, &n, d);
    char *bundled = mlb_bundled_plugin_dir();
    if (bundled)
        push(&dirs, &n, bundled);
    /* The bundled peers' descriptors (tools/peers) come last. */
    char *peers = mlb_peers_dir();
    if (peers)
        push(&dirs, &n, peers);
    char err[2048];
    int rc = mlb_registry_scan(reg, dirs, n, stderr, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "mlbench-engine: %s\n", err);
    free(dirs);
    free(envp);
    free(peers);
    *bundled_out = bundled;
    return rc;
}

static cJSON *params_decl_json(const mlb_plugin *d)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < d->n_params; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", d->params[i].name);
        cJSON_AddStringToObject(p, "type", mlb_param_type_name(d->params[i].type));
        cJSON_AddStringToObject(p, "default", d->params[i].def ? d->params[i].def : "");
        cJSON_AddStringToObject(p, "help", d->params[i].help ? d->params[i].help : "");
        cJSON_AddItemToArray(a, p);
    }
    return a;
}

static void list_plugins(mlb_registry *reg, int json)
{
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < reg->n; i++) {
            mlb_plugin_entry *e = &reg->v[i];
            mlb_entry_unavailable(e);
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "task", e->desc.task);
            cJSON_AddStringToObject(o, "variant", e->desc.variant);
            cJSON_AddStringToObject(o, "description", e->desc.description);
            cJSON_AddBoolToObject(o, "available", e->unavailable == NULL);
            if (e->unavailable)
                cJSON_AddStringToObject(o, "reason", e->unavailable);
            else
                cJSON_AddNullToObject(o, "reason");
            cJSON_AddStringToObject(o, "path", e->path);
            cJSON_AddItemToObject(o, "params", params_decl_json(&e->desc));
            cJSON_AddItemToArray(a, o);
        }
        char *s = cJSON_Print(a);
        printf("%s\n", s);
        free(s);
        cJSON_Delete(a);
        return;
    }
    printf("%-14s %-12s %-24s %s\n", "TASK", "VARIANT", "AVAILABLE", "DESCRIPTION");
    for (size_t i = 0; i < reg->n; i++) {
        mlb_plugin_entry *e = &reg->v[i];
        mlb_entry_unavailable(e);
        char avail[256];
        snprintf(avail, sizeof avail, "%s%s", e->unavailable ? "no: " : "yes",
                 e->unavailable ? e->unavailable : "");
        printf("%-14s %-12s %-24s %s\n", e->desc.task, e->desc.variant, avail, e->desc.description);
    }
    if (!reg->n)
        printf("(no plugins found)\n");
}

static int describe_plugin(mlb_registry *reg, const char *spec)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", spec);
    char *colon = strchr(buf, ':');
    if (!colon) {
        fprintf(stderr, "mlbench-engine: --describe %s: expected TASK:VARIANT\n", spec);
        return 2;
    }
    *colon = '\0';
    mlb_plugin_entry *e = mlb_registry_find(reg, buf, colon + 1);
    if (!e) {
        fprintf(stderr, "mlbench-engine: --describe: no plugin %s (see --list)\n", spec);
        return 2;
    }
    printf("%s:%s — %s\n  path: %s\n  available: %s\n  parameters:\n", e->desc.task,
           e->desc.variant, e->desc.description, e->path,
           mlb_entry_unavailable(e) ? e->unavailable : "yes");
    for (size_t i = 0; i < e->desc.n_params; i++) {
        const mlb_param_def *p = &e->desc.params[i];
        printf("    %-16s %-7s default %-10s %s\n", p->name, mlb_param_type_name(p->type),
               p->def ? p->def : "", p->help ? p->help : "");
    }
    if (!e->desc.n_params)
        printf("    (none)\n");
    return 0;
}

/* ---- the plan ------------------------------------------------------------ */

typedef struct {
    int repetitions, warmup, infer_queries;
    double timeout_s;
} run_defaults;

static mlb_run *plan_add(mlb_session *s, mlb_registry *reg, mlb_plugin_entry *pl, int group,
                         const run_defaults *d)
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
    if (!v)
        return NULL;
    s->runs = v;
    mlb_run *r = &s->runs[s->n_runs];
    memset(r, 0, sizeof(*r));
    mlb_entry_unavailable(pl); /* known before the children fork */
    r->pl = pl;
    r->data_from = from;
    r->group = group;
    r->repetitions = d->repetitions;
    r->warmup = d->warmup;
    r->infer_queries = d->infer_queries;
    r->timeout_s = d->timeout_s;
    r->target = NAN;
    if (mlb_ctx_init(&r->params, &pl->desc, s->seed) < 0) {
        fprintf(stderr, "mlbench-engine: %s: %s\n", pl->path, r->params.err);
        mlb_ctx_free(&r->params);
        return NULL;
    }
    s->n_runs++;
    return r;
}

/* Sets K=V on run r; `where` prefixes errors (a file position or "--param"). */
static int set_param(mlb_run *r, const char *key, const char *value, const char *where)
{
    char why[256];
    if (mlb_ctx_set_param(&r->params, key, value, why, sizeof why) < 0) {
        fprintf(stderr, "mlbench-engine: %s: plugin %s:%s, parameter '%s': %s\n", where,
                r->pl->desc.task, r->pl->desc.variant, key, why);
        return -1;
    }
    return 0;
}

/* --param overrides: KEY=VALUE for every run, or scoped TASK[:VARIANT].KEY=VALUE. */
static int apply_cli_params(mlb_session *s, const cli *c)
{
    for (size_t i = 0; i < c->n_params; i++) {
        char *buf = strdup(c->params[i]);
        if (!buf)
            return -1;
        char *eq = strchr(buf, '=');
        *eq = '\0';
        char *key = buf, *value = eq + 1, *scope = NULL;
        char *dot = strchr(buf, '.');
        if (dot) {
            *dot = '\0';
            scope = buf;
            key = dot + 1;
        }
        int matched = 0, rc = 0;
        for (size_t k = 0; k < s->n_runs && rc == 0; k++) {
            mlb_run *r = &s->runs[k];
            if (scope) {
                char tv[256];
                snprintf(tv, sizeof tv, "%s:%s", r->pl->desc.task, r->pl->desc.variant);
                if (strcmp(scope, r->pl->desc.task) != 0 && strcmp(scope, tv) != 0)
                    continue;
            }
            matched++;
            rc = set_param(r, key, value, "--param");
        }
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

static int plan_from_suite(mlb_session *s, mlb_registry *reg, const mlb_suite *suite,
                           const run_defaults *base, int *group)
{
    run_defaults sd = *base;
    if (suite->repetitions >= 0) sd.repetitions = suite->repetitions;
    if (suite->warmup >= 0) sd.warmup = suite->warmup;
    if (suite->infer_queries >= 0) sd.infer_queries = suite->infer_queries;
    if (suite->timeout_s >= 0) sd.timeout_s = suite->timeout_s;
    for (size_t b = 0; b < suite->n_benches; b++) {
        const mlb_bench_spec *bs = &suite->benches[b];
        run_defaults d = sd;
        if (bs->repetitions >= 0) d.repetitions = bs->repetitions;
        if (bs->warmup >= 0) d.warmup = bs->warmup;
        if (bs->infer_queries >= 0) d.infer_queries = bs->infer_queries;
        if (bs->timeout_s >= 0) d.timeout_s = bs->timeout_s;
        if (!mlb_registry_find(reg, bs->task, NULL)) {
            fprintf(stderr, "mlbench-engine: %s:%d:%d: no plugin for task '%s' (see --list)\n",
                    suite->path, bs->task_pos.line, bs->task_pos.col, bs->task);
            return -1;
        }
        size_t first = s->n_runs;
        if (bs->n_variants) {
            for (size_t v = 0; v < bs->n_variants; v++) {
                mlb_plugin_entry *pl = mlb_registry_find(reg, bs->task, bs->variants[v]);
                if (!pl) {
                    fprintf(stderr, "mlbench-engine: %s:%d:%d: no plugin %s:%s (see --list)\n",
                            suite->path, bs->variant_pos[v].line, bs->variant_pos[v].col,
                            bs->task, bs->variants[v]);
                    return -1;
                }
                if (!plan_add(s, reg, pl, *group, &d))
                    return -1;
            }
        } else {
            for (size_t i = 0; i < reg->n; i++) {
                mlb_plugin_entry *e = &reg->v[i];
                if (strcmp(e->desc.task, bs->task) != 0)
                    continue;
                if (mlb_entry_unavailable(e)) {
                    fprintf(stderr, "mlbench-engine: note: skipping %s:%s: %s\n", e->desc.task,
                            e->desc.variant, e->unavailable);
                    continue;
                }
                if (!plan_add(s, reg, e, *group, &d))
                    return -1;
            }
        }
        for (size_t k = first; k < s->n_runs; k++) {
            mlb_run *r = &s->runs[k];
            for (size_t p = 0; p < bs->n_params; p++) {
                char where[PATH_MAX + 32];
                snprintf(where, sizeof where, "%s:%d:%d", suite->path, bs->params[p].pos.line,
                         bs->params[p].pos.col);
                if (set_param(r, bs->params[p].key, bs->params[p].value, where) < 0)
                    return -1;
            }
            if (bs->target_metric) {
                r->target_metric = strdup(bs->target_metric);
                r->target = bs->target;
            }
        }
        (*group)++;
    }
    return 0;
}

static int plan_from_cli(mlb_session *s, mlb_registry *reg, const cli *c, const run_defaults *d,
                         int *group)
{
    for (size_t i = 0; i < c->n_plugins; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s", c->plugins[i]);
        char *colon = strchr(buf, ':');
        if (colon)
            *colon = '\0';
        const char *variant = colon ? colon + 1 : NULL;
        if (!mlb_registry_find(reg, buf, variant)) {
            fprintf(stderr, "mlbench-engine: --plugin %s: no such %s (see --list)\n",
                    c->plugins[i], variant ? "plugin" : "task");
            return -1;
        }
        /* Two passes so that the plain-C reference, "naive", is the first
         * variant and so the baseline of the speed-up column. */
        for (size_t k = 0; k < 2 * reg->n; k++) {
            mlb_plugin_entry *e = &reg->v[k % reg->n];
            if (strcmp(e->desc.task, buf) != 0 || (variant && strcmp(e->desc.variant, variant)))
                continue;
            if ((k < reg->n) != !strcmp(e->desc.variant, "naive"))
                continue;
            if (!variant && mlb_entry_unavailable(e)) {
                fprintf(stderr, "mlbench-engine: note: skipping %s:%s: %s\n", e->desc.task,
                        e->desc.variant, e->unavailable);
                continue;
            }
            if (!plan_add(s, reg, e, *group, d))
                return -1;
        }
        (*group)++;
    }
    return 0;
}

/* ---- execution ----------------------------------------------------------- */

static void on_sigint(int sig)
{
    mlb_interrupted = 1;
    signal(sig, SIG_DFL); /* a second one ends the engine at once */
}

static void progress(const cli *c, const mlb_run *r, int rep, int warm)
{
    if (c->quiet || !isatty(STDERR_FILENO))
        return;
    fprintf(stderr, "\r\033[K[%s:%s] %s %d/%d", r->pl->desc.task, r->pl->desc.variant,
            warm ? "warm-up" : "repetition", warm ? rep + 1 : rep + 1,
            warm ? r->warmup : r->repetitions);
    fflush(stderr);
}

static int run_one(const cli *c, mlb_run *r, int round, int warm)
{
    if (warm ? round >= r->warmup : round >= r->repetitions)
        return 0;
    mlb_run_opts o = {
        .fork = !c->no_fork,
        .timeout_s = r->timeout_s,
        .mem_limit_bytes = c->mem_limit,
        .sample_interval_s = c->sample_ms / 1000.0,
        .infer_queries = r->infer_queries,
        .verbose = c->verbose,
        .data_from = r->data_from,
    };
    progress(c, r, round, warm);
    mlb_rep rep;
    int rc = mlb_run_repetition(r->pl, &r->params, warm ? -(round + 1) : round, &o, &rep);
    if (rc < 0) {
        fprintf(stderr, "mlbench-engine: %s:%s: cannot run repetition: %s\n", r->pl->desc.task,
                r->pl->desc.variant, strerror(-rc));
        rep.status = MLB_REP_FAILED;
    }
    if (rep.status != MLB_REP_OK && !c->quiet)
        fprintf(stderr, "%smlbench-engine: %s:%s %s %d: %s%s%s\n",
                isatty(STDERR_FILENO) ? "\r\033[K" : "", r->pl->desc.task, r->pl->desc.variant,
                warm ? "warm-up" : "repetition", round + 1, mlb_rep_status_name(rep.status),
                rep.message ? ": " : "", rep.message ? rep.message : "");
    if (warm) {
        r->warmup_status[r->n_warmup++] = rep.status;
        mlb_rep_free(&rep);
    } else {
        if (rep.status != MLB_REP_OK && r->status == MLB_REP_OK) {
            r->status = rep.status;
            free(r->message);
            r->message = rep.message ? strdup(rep.message) : NULL;
        }
        r->reps[r->n_reps++] = rep;
    }
    return 0;
}

static void execute(const cli *c, mlb_session *s)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, (unsigned long)s->seed);
    for (size_t i = 0; i < s->n_runs; i++) {
        mlb_run *r = &s->runs[i];
        r->reps = calloc((size_t)r->repetitions, sizeof(mlb_rep));
        r->warmup_status = calloc((size_t)r->warmup + 1, sizeof(mlb_rep_status));
        r->status = MLB_REP_OK;
        if (!r->reps || !r->warmup_status) {
            fprintf(stderr, "mlbench-engine: out of memory for %d repetitions\n", r->repetitions);
            mlb_interrupted = 1; /* stop; what exists is still written */
        }
    }
    size_t g0 = 0;
    while (g0 < s->n_runs && !mlb_interrupted) {
        size_t g1 = g0;
        int max_warm = 0, max_reps = 0;
        while (g1 < s->n_runs && s->runs[g1].group == s->runs[g0].group) {
            if (s->runs[g1].warmup > max_warm) max_warm = s->runs[g1].warmup;
            if (s->runs[g1].repetitions > max_reps) max_reps = s->runs[g1].repetitions;
            g1++;
        }
        size_t n = g1 - g0;
        size_t *order = malloc(n * sizeof(size_t));
        if (c->sequential) {
            for (size_t k = 0; k < n && !mlb_interrupted; k++) {
                mlb_run *r = &s->runs[g0 + k];
                for (int w = 0; w < r->warmup && !mlb_interrupted; w++)
                    run_one(c, r, w, 1);
                for (int q = 0; q < r->repetitions && !mlb_interrupted; q++)
                    run_one(c, r, q, 0);
            }
        } else {
            /* Each round visits every variant once, in a fresh seeded order, so
             * that slow drift of a shared machine hits all variants alike. */
            for (long round = 0; round < (long)max_warm + max_reps && !mlb_interrupted; round++) {
                for (size_t k = 0; k < n; k++)
                    order[k] = g0 + k;
                gsl_ran_shuffle(rng, order, n, sizeof(size_t));
                int warm = round < max_warm;
                for (size_t k = 0; k < n && !mlb_interrupted; k++)
                    run_one(c, &s->runs[order[k]], (int)(warm ? round : round - max_warm), warm);
            }
        }
        free(order);
        g0 = g1;
    }
    gsl_rng_free(rng);
    if (!c->quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\r\033[K");
    for (size_t i = 0; i < s->n_runs; i++) {
        mlb_run *r = &s->runs[i];
        if (r->n_reps < (size_t)r->repetitions && r->status == MLB_REP_OK) {
            r->status = MLB_REP_INTERRUPTED;
            r->message = strdup("interrupted before all repetitions ran");
        }
    }
    s->interrupted = mlb_interrupted;
}

static void session_free(mlb_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        mlb_run *r = &s->runs[i];
        mlb_ctx_free(&r->params);
        for (size_t k = 0; k < r->n_reps; k++)
            mlb_rep_free(&r->reps[k]);
        free(r->reps);
        free(r->warmup_status);
        free(r->message);
        free(r->target_metric);
        cJSON_Delete(r->summary);
    }
    free(s->runs);
    free(s->cmps);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "stats"))
        return mlb_cmd_stats(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "compare"))
        return mlb_cmd_compare(argc - 1, argv + 1);
    if (argc > 1 && !strcmp(argv[1], "report"))
        return mlb_cmd_report(argc - 1, argv + 1);

    cli c;
    if (cli_parse(argc, argv, &c) < 0)
        return 2;
    int want_run = c.n_plugins > 0 || c.config;
    if (!c.list && !c.describe && !want_run) {
        usage(stderr);
        return 2;
    }
    mlb_suite suite;
    memset(&suite, 0, sizeof suite);
    if (c.config) {
        char err[2048];
        if (mlb_suite_load(c.config, &suite, err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            return 2;
        }
    }
    mlb_registry reg = {0};
    char *bundled = NULL;
    int exit_code = 0;
    mlb_session s;
    memset(&s, 0, sizeof s);
    s.seed = c.seed;
    if (discover(&c, &reg, &bundled) < 0) {
        exit_code = 2;
        goto out;
    }
    if (c.list) {
        list_plugins(&reg, c.json);
        goto out;
    }
    if (c.describe) {
        exit_code = describe_plugin(&reg, c.describe);
        goto out;
    }

    /* 10 repetitions: with 5, an exact Mann-Whitney test cannot reach p < 0.05
     * once a task's family holds more than a few comparisons. */
    run_defaults d = {10, 1, 10, 600};
    int group = 0;
    if ((c.config && plan_from_suite(&s, &reg, &suite, &d, &group) < 0) ||
        plan_from_cli(&s, &reg, &c, &d, &group) < 0 || apply_cli_params(&s, &c) < 0) {
        exit_code = 2;
        goto out;
    }
    for (size_t i = 0; i < s.n_runs; i++) { /* the command line overrides the suite */
        mlb_run *r = &s.runs[i];
        if (c.repetitions >= 0) r->repetitions = c.repetitions;
        if (c.warmup >= 0) r->warmup = c.warmup;
        if (c.infer_queries >= 0) r->infer_queries = c.infer_queries;
        if (c.timeout_s >= 0) r->timeout_s = c.timeout_s;
    }
    if (!s.n_runs) {
        fprintf(stderr, "mlbench-engine: nothing to run (no available variant selected)\n");
        exit_code = 2;
        goto out;
    }
    if (c.export_dir) { /* the data an external tool needs to fit the same problem */
        const mlb_run *r = &s.runs[0];
        char why[2048];
        if (s.n_runs > 1 || r->pl->peer) {
            fprintf(stderr, "mlbench-engine: --export-data needs exactly one native variant "
                            "(--plugin TASK:VARIANT)\n");
            exit_code = 2;
        } else if (mlb_plugin_export_data(r->pl, &r->params, c.export_dir, why, sizeof why) < 0) {
            fprintf(stderr, "mlbench-engine: --export-data %s: %s\n", c.export_dir, why);
            exit_code = 2;
        } else if (!c.quiet)
            fprintf(stderr, "mlbench-engine: %s:%s data written to %s\n", r->pl->desc.task,
                    r->pl->desc.variant, c.export_dir);
        goto out;
    }
    if (c.output) { /* fail before hours of measurement, not after */
        char dir[PATH_MAX];
        snprintf(dir, sizeof dir, "%s", c.output);
        char *slash = strrchr(dir, '/');
        if (slash)
            *(slash == dir ? slash + 1 : slash) = '\0';
        else
            snprintf(dir, sizeof dir, ".");
        if (access(dir, W_OK) < 0) {
            fprintf(stderr, "mlbench-engine: --output %s: directory %s: %s\n", c.output, dir,
                    strerror(errno));
            exit_code = 2;
            goto out;
        }
    }
    const char *report_opt[3] = {"--html", "--csv", "--markdown"};
    const char *report_path[3] = {c.html, c.csv, c.markdown};
    for (int k = 0; k < 3; k++) {
        char err[PATH_MAX + 256];
        if (report_path[k] &&
            mlb_export_check_path(report_opt[k], report_path[k], err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            exit_code = 2;
            goto out;
        }
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    cJSON *env = mlb_env_collect(argc, argv, c.seed);
    double t0 = mlb_now();
    execute(&c, &s);
    double t1 = mlb_now();
    mlb_session_analyze(&s);
    double t2 = mlb_now();
    if (!c.quiet || !c.output)
        mlb_report_table(stdout, &s);
    fflush(stdout);
    cJSON *doc = mlb_results_json(&s, env);
    /* The engine's own time, for overhead studies (tools/bench/engine_overhead.py). */
    cJSON *et = cJSON_AddObjectToObject(doc, "engine_timing");
    cJSON_AddNumberToObject(et, "execute_s", t1 - t0);
    cJSON_AddNumberToObject(et, "analyze_s", t2 - t1);
    if (c.output) {
        char err[PATH_MAX + 256];
        if (mlb_write_json_atomic(c.output, doc, err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            exit_code = 2;
        } else if (!c.quiet)
            fprintf(stderr, "mlbench-engine: results written to %s\n", c.output);
    }
    /* The reports, with or without --output: each reads the same document. */
    int (*const report_fn[3])(const cJSON *, const char *, char *, size_t) = {
        mlb_export_html, mlb_export_csv, mlb_export_markdown};
    for (int k = 0; k < 3; k++) {
        char err[PATH_MAX + 256];
        if (!report_path[k])
            continue;
        if (report_fn[k](doc, report_path[k], err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            exit_code = 2;
        } else if (!c.quiet)
            fprintf(stderr, "mlbench-engine: report written to %s\n", report_path[k]);
    }
    cJSON_Delete(doc);
    if (!exit_code)
        for (size_t i = 0; i < s.n_runs; i++)
            if (s.runs[i].status != MLB_REP_OK)
                exit_code = 1;
    if (s.interrupted)
        exit_code = 130;
out:
    session_free(&s);
    mlb_registry_free(&reg);
    mlb_suite_free(&suite);
    free(bundled);
    free(c.dirs);
    free(c.plugins);
    free(c.params);
    return exit_code;
}
