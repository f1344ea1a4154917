/* The engine's command line: options, parsing, help. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "scenario.h"
#include "mlbench/plugin.h"
#include "suite.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif

static int oom(void)
{
    fprintf(stderr, "mlbench-engine: out of memory parsing the command line\n");
    return -1;
}

void mlb_cli_usage(FILE *f)
{
    fprintf(f,
        "Usage: mlbench-engine [OPTIONS] --plugin TASK[:VARIANT] ...\n"
        "       mlbench-engine [OPTIONS] --config SUITE.yaml\n"
        "       mlbench-engine --list [--json] | --describe TASK[:VARIANT] [--json]\n"
        "       mlbench-engine stats A.txt [B.txt] [--json] | stats --adjust P.txt [--json]\n"
        "       mlbench-engine compare BASELINE.json NEW.json [--threshold 5%%]\n"
        "       mlbench-engine report RESULTS.json [--html F] [--csv F] [--markdown F]\n"
        "       mlbench-engine data FILE [--format F] [--target T] [--header H] [--json]\n"
        "       mlbench-engine plan SUITE.yaml [OPTIONS] -o MANIFEST.jsonl [--jobs-per-group K]\n"
        "       mlbench-engine run-job MANIFEST.jsonl --index I --output PART.json\n"
        "       mlbench-engine merge PART.json... -o RESULTS.json   (docs/cluster.md)\n"
        "       mlbench-engine select [TASK...] [--matrix] [--list] [--json]\n"
        "       mlbench-engine validate [SUITE.yaml] [--plugin SPEC] [--strict] [--json]\n"
        "       mlbench-engine assess RESULTS.json [--json | --markdown]\n"
        "       mlbench-engine history DIR_OR_FILES... [--since C] [--threshold 5%%] [--html F]\n"
        "\n"
        "Runs ML benchmark plugins under uniform measurement and compares their variants.\n"
        "\n"
        "Selection:\n"
        "  --plugin SPEC          task (all its variants), task:variant or task:v1,v2;\n"
        "                         repeatable; the variants named for one task are compared\n"
        "                         with each other (one group per task and parameter point)\n"
        "  --baseline VARIANT     the variant speed-ups are relative to (or TASK:VARIANT);\n"
        "                         default: naive if present, else the first variant named,\n"
        "                         else the first by name\n"
        "  --config FILE          run the suite in FILE (YAML); the command line overrides it\n"
        "  --param K=V            set parameter K; TASK.K=V or TASK:VARIANT.K=V to scope it\n"
        "  --plugin-dir DIR       search DIR for plugins first; repeatable\n"
        "                         (then $MLBENCH_PLUGIN_PATH, then the bundled plugins)\n"
        "  --list [--json]        list plugins: task, variant, availability, description\n"
        "  --describe T[:V]       a plugin's parameters and their rules, or a task's variants\n"
        "Measurement:\n"
        "  --repetitions N        measured repetitions per variant (default 10)\n"
        "  --warmup N             unmeasured repetitions first (default 1)\n"
        "  --infer-queries N      infer calls per repetition, each timed (default 10)\n"
        "  --scenario S           how infer queries are issued (MLPerf LoadGen's scenarios):\n"
        "                         single-stream (default: one after another, each timed),\n"
        "                         offline (all at once, batched by the plugin: samples/s),\n"
        "                         server (Poisson arrivals at --qps: p50/p90/p99 latency)\n"
        "  --qps N                server: mean arrival rate, queries per second\n"
        "  --latency-bound MS     server: the p99 latency bound, in milliseconds\n"
        "  --find-peak-qps        server: bisect for the highest qps whose p99 meets the bound\n"
        "  --timeout SECONDS      per repetition (default 600; 0: no limit)\n"
        "  --mem-limit SIZE       kill a repetition whose RSS exceeds SIZE (e.g. 2G, 500M)\n"
        "  --sample-interval MS   memory sampler period, 0.1 to 10000 (default 5; 0 disables)\n"
        "  --order interleaved|sequential   (default interleaved, shuffled per round)\n"
        "  --seed N               seed handed to plugins and statistics (default 42)\n"
        "  --vary-seed            measured repetition i runs with seed + i, the same seeds\n"
        "                         for every variant (statistics over seeds: RL, init)\n"
        "  --no-fork              run in-process (debugging; a crash ends the engine)\n"
        "  --dry-run              print the plan and its estimated wall time; run nothing\n"
        "  --estimate-from FILE   the estimate's source: an earlier results file\n"
        "  --resume FILE.json     continue an interrupted run of the same plan: keep the\n"
        "                         repetitions FILE holds, run the rest, write the whole\n"
        "                         document (to FILE unless --output is given)\n"
        "  --export-data DIR      write the arrays the selected variant trains on (after its\n"
        "                         split and standardisation) to DIR as .npy files, and exit\n"
        "Statistics:\n"
        "  --equivalence R        margin of practical equivalence for times, relative to the\n"
        "                         median ratio (default 2%%): differences inside it are\n"
        "                         'equivalent', never 'faster' (docs/methodology.md)\n"
        "Output:\n"
        "  --output FILE.json     write results (atomically)\n"
        "  --html FILE            a self-contained HTML report (tables, plots, verdicts)\n"
        "  --csv FILE             one CSV row per repetition (phases, memory, metrics)\n"
        "  --markdown FILE        the tables and verdicts as GitHub Markdown\n"
        "  --quiet, --verbose     less or more on stderr (--quiet: no progress, no plugin info lines; warnings stay)\n"
        "  --help, --version\n"
        "\n"
        "Exit status: 0 when every run succeeded, 1 when any did not (or the analysis\n"
        "failed: the results are written with the repetitions), 2 on usage or input\n"
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

int mlb_push(char ***v, size_t *n, const char *s)
{
    char **nv = realloc(*v, (*n + 1) * sizeof(**v));
    if (!nv)
        return -ENOMEM;
    *v = nv;
    (*v)[(*n)++] = (char *)s;
    return 0;
}

int mlb_cli_parse(int argc, char **argv, mlb_cli *c)
{
    enum { O_LIST = 256, O_DESCRIBE, O_PLUGIN, O_PARAM, O_CONFIG, O_DIR, O_REPS, O_WARM, O_IQ,
           O_TIMEOUT, O_MEM, O_SAMPLE, O_ORDER, O_SEED, O_NOFORK, O_OUTPUT, O_JSON, O_QUIET,
           O_VERBOSE, O_HELP, O_VERSION, O_EXPORT, O_HTML, O_CSV, O_MARKDOWN, O_BASELINE, O_EQUIV, O_RESUME, O_DRY, O_ESTIMATE,
           O_SCENARIO, O_QPS, O_LATBOUND, O_PEAK, O_VARY_SEED };
    static const struct option opts[] = {
        {"list", no_argument, 0, O_LIST},           {"describe", required_argument, 0, O_DESCRIBE},
        {"plugin", required_argument, 0, O_PLUGIN}, {"param", required_argument, 0, O_PARAM},
        {"config", required_argument, 0, O_CONFIG}, {"plugin-dir", required_argument, 0, O_DIR},
        {"repetitions", required_argument, 0, O_REPS}, {"warmup", required_argument, 0, O_WARM},
        {"infer-queries", required_argument, 0, O_IQ}, {"timeout", required_argument, 0, O_TIMEOUT},
        {"mem-limit", required_argument, 0, O_MEM}, {"sample-interval", required_argument, 0, O_SAMPLE},
        {"order", required_argument, 0, O_ORDER},   {"seed", required_argument, 0, O_SEED},
        {"no-fork", no_argument, 0, O_NOFORK},      {"output", required_argument, 0, O_OUTPUT},
        {"vary-seed", no_argument, 0, O_VARY_SEED},
        {"json", no_argument, 0, O_JSON},           {"quiet", no_argument, 0, O_QUIET},
        {"verbose", no_argument, 0, O_VERBOSE},     {"help", no_argument, 0, O_HELP},
        {"version", no_argument, 0, O_VERSION},     {"export-data", required_argument, 0, O_EXPORT},     {"html", required_argument, 0, O_HTML},
        {"csv", required_argument, 0, O_CSV},       {"markdown", required_argument, 0, O_MARKDOWN},
        {"baseline", required_argument, 0, O_BASELINE},
        {"equivalence", required_argument, 0, O_EQUIV},
        {"resume", required_argument, 0, O_RESUME},
        {"dry-run", no_argument, 0, O_DRY},
        {"estimate-from", required_argument, 0, O_ESTIMATE},
        {"scenario", required_argument, 0, O_SCENARIO},
        {"qps", required_argument, 0, O_QPS},
        {"latency-bound", required_argument, 0, O_LATBOUND},
        {"find-peak-qps", no_argument, 0, O_PEAK},
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
        case O_PLUGIN:
            if (mlb_push(&c->plugins, &c->n_plugins, optarg) < 0) return oom();
            break;
        case O_BASELINE: c->baseline = optarg; break;
        case O_RESUME: c->resume = optarg; break;
        case O_DRY: c->dry_run = 1; break;
        case O_ESTIMATE: c->estimate_from = optarg; break;
        case O_EQUIV: {
            char *end;
            errno = 0;
            double v = strtod(optarg, &end);
            if (end != optarg && *end == '%') {
                v /= 100;
                end++;
            }
            if (end == optarg || *end || errno || !(v > 0) || !(v < 1)) {
                fprintf(stderr, "mlbench-engine: --equivalence: '%s' is not a margin between "
                                "0 and 1 (e.g. 2%% or 0.02)\n", optarg);
                return -1;
            }
            c->equivalence = v;
            break;
        }
        case O_PARAM:
            if (!strchr(optarg, '=')) {
                fprintf(stderr, "mlbench-engine: --param %s: expected KEY=VALUE\n", optarg);
                return -1;
            }
            if (mlb_push(&c->params, &c->n_params, optarg) < 0) return oom();
            break;
        case O_CONFIG: c->config = optarg; break;
        case O_DIR:
            if (mlb_push(&c->dirs, &c->n_dirs, optarg) < 0) return oom();
            break;
        case O_REPS: if (parse_int_arg("--repetitions", optarg, 1, &c->repetitions)) return -1; break;
        case O_WARM: if (parse_int_arg("--warmup", optarg, 0, &c->warmup)) return -1; break;
        case O_IQ: if (parse_int_arg("--infer-queries", optarg, 0, &c->infer_queries)) return -1; break;
        case O_TIMEOUT: if (parse_double_arg("--timeout", optarg, 0, &c->timeout_s)) return -1; break;
        case O_SAMPLE:
            if (parse_double_arg("--sample-interval", optarg, 0, &c->sample_ms)) return -1;
            /* Below 0.1 ms the engine would only spin reading /proc (and
             * steal the CPU it measures); above 10 s a phase gets no sample. */
            if (c->sample_ms != 0 && (c->sample_ms < 0.1 || c->sample_ms > 10000)) {
                fprintf(stderr, "mlbench-engine: --sample-interval: %s ms is outside 0.1 .. 10000 "
                                "(or 0 to sample only at phase boundaries)\n", optarg);
                return -1;
            }
            break;
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
        case O_SCENARIO: {
            mlb_scenario_kind k;
            if (mlb_scenario_parse(optarg, &k) < 0) {
                fprintf(stderr, "mlbench-engine: --scenario: '%s' is not single-stream, offline "
                                "or server\n", optarg);
                return -1;
            }
            c->scenario = optarg;
            break;
        }
        case O_QPS:
            if (parse_double_arg("--qps", optarg, 0, &c->qps) || !(c->qps > 0)) {
                if (!(c->qps > 0))
                    fprintf(stderr, "mlbench-engine: --qps: must be > 0, got '%s'\n", optarg);
                return -1;
            }
            break;
        case O_LATBOUND:
            if (parse_double_arg("--latency-bound", optarg, 0, &c->latency_bound_ms) ||
                !(c->latency_bound_ms > 0)) {
                if (!(c->latency_bound_ms > 0))
                    fprintf(stderr, "mlbench-engine: --latency-bound: must be > 0 ms, got '%s'\n",
                            optarg);
                return -1;
            }
            break;
        case O_PEAK: c->find_peak_qps = 1; break;
        case O_NOFORK: c->no_fork = 1; break;
        case O_VARY_SEED: c->vary_seed = 1; break;
        case O_EXPORT: c->export_dir = optarg; break;
        case O_OUTPUT: c->output = optarg; break;
        case O_HTML: c->html = optarg; break;
        case O_CSV: c->csv = optarg; break;
        case O_MARKDOWN: c->markdown = optarg; break;
        case O_JSON: c->json = 1; break;
        case O_QUIET: c->quiet = 1; break;
        case O_VERBOSE: c->verbose = 1; break;
        case O_HELP: mlb_cli_usage(stdout); return 1;
        case O_VERSION: printf("mlbench-engine %s (plugin ABI %d.%d)\n", MLB_VERSION, MLB_ABI_MAJOR, MLB_ABI_MINOR); return 1;
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

void mlb_cli_free(mlb_cli *c)
{
    free(c->dirs);
    free(c->plugins);
    free(c->params);
    memset(c, 0, sizeof(*c));
}
