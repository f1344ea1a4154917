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
#include <gsl/gsl_errno.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cluster.h"
#include "cmd_compare.h"
#include "cmd_data.h"
#include "engine.h"
#include "env.h"
#include "export.h"
#include "history.h"
#include "phases.h"
#include "peer.h"
#include "plan.h"
#include "resume.h"
#include "stats.h"
#include "suite.h"
#include "textbuf.h"

#ifndef MLB_VERSION
#define MLB_VERSION "unknown"
#endif


/* ---- discovery ----------------------------------------------------------- */

/* The search path (--plugin-dir, $MLBENCH_PLUGIN_PATH, bundled plugins, then
 * the bundled peers' descriptors), shared with select/validate (phases.c). */
static int discover(const mlb_cli *c, mlb_registry *reg)
{
    return mlb_phases_discover(reg, c->dirs, c->n_dirs, stderr);
}

/* ---- execution ----------------------------------------------------------- */

static void on_sigint(int sig)
{
    mlb_interrupted = 1;
    signal(sig, SIG_DFL); /* a second one ends the engine at once */
}

/* What the progress line needs: where the run is in the plan, and the time
 * the repetitions so far took, for an ETA. */
typedef struct {
    double t0;          /* mlb_now() at the start */
    size_t done, total; /* repetitions (warm-ups included) run and planned */
    size_t n_groups;
    int tty;
} progress_state;

/* "m=256 n=256": the parameters of r that differ from their defaults. */
static void params_brief(char *b, size_t len, const mlb_run *r)
{
    size_t at = 0;
    b[0] = '\0';
    for (size_t i = 0; i < r->params.n_params && at + 1 < len; i++) {
        const mlb_param_value *v = &r->params.params[i];
        if (v->def->def && !strcmp(v->def->def, v->text))
            continue;
        int k = snprintf(b + at, len - at, "%s%s=%s", at ? " " : "", v->def->name, v->text);
        if (k < 0)
            break;
        at += (size_t)k;
    }
    if (at >= len)
        b[len - 1] = '\0';
}

static void progress(const mlb_cli *c, const progress_state *ps, const mlb_run *r, int rep,
                     int warm)
{
    if (c->quiet || !ps->tty)
        return;
    double el = mlb_now() - ps->t0;
    double eta = ps->done ? el / (double)ps->done * (double)(ps->total - ps->done) : NAN;
    char pb[160], e1[32], e2[32];
    params_brief(pb, sizeof pb, r);
    mlb_fmt_duration(e1, sizeof e1, el);
    mlb_fmt_duration(e2, sizeof e2, eta);
    fprintf(stderr, "\r\033[K[%d/%zu] %s:%s%s%.60s %s %d/%d  elapsed %s  ETA %s", r->group + 1,
            ps->n_groups, r->pl->desc.task, r->pl->desc.variant, *pb ? " " : "", pb,
            warm ? "warm-up" : "rep", rep + 1, warm ? r->warmup : r->repetitions, e1, e2);
    fflush(stderr);
}

/* Without a terminal: one line per finished run, for logs. */
static void finished(const mlb_cli *c, const progress_state *ps, const mlb_run *r)
{
    if (c->quiet || ps->tty)
        return;
    size_t ok = 0;
    for (size_t i = 0; i < r->n_reps; i++)
        ok += r->reps[i].status == MLB_REP_OK;
    char e1[32];
    mlb_fmt_duration(e1, sizeof e1, mlb_now() - ps->t0);
    fprintf(stderr, "mlbench-engine: [%d/%zu] %s:%s done: %zu of %d repetitions ok (%zu/%zu "
                    "of the plan, elapsed %s)\n",
            r->group + 1, ps->n_groups, r->pl->desc.task, r->pl->desc.variant, ok,
            r->repetitions, ps->done, ps->total, e1);
}

/* A repetition whose setup failed, as its run's first: the plugin rejected
 * its parameters or data, and every later repetition would say the same. */
static int first_setup_failure(const mlb_run *r, const mlb_rep *rep)
{
    return r->n_reps + r->n_warmup == 0 && rep->status == MLB_REP_FAILED && rep->message &&
           !strncmp(rep->message, "setup: ", 7);
}

static int run_one(const mlb_cli *c, progress_state *ps, mlb_run *r, int round, int warm)
{
    if (warm ? round >= r->warmup : round >= r->repetitions)
        return 0;
    /* Resumed: measured repetitions already recorded, and the warm-ups of a
     * run that is complete, are not run again. */
    if (r->stopped || (!warm && round < (int)r->n_resumed) ||
        (warm && r->n_resumed >= (size_t)r->repetitions))
        return 0;
    mlb_run_opts o = {
        .fork = !c->no_fork,
        .timeout_s = r->timeout_s,
        .mem_limit_bytes = c->mem_limit,
        .sample_interval_s = c->sample_ms / 1000.0,
        .infer_queries = r->infer_queries,
        .scenario = r->scenario,
        .scenario_margin = c->equivalence,
        .verbose = c->verbose ? 1 : c->quiet ? -1 : 0,
        .data_from = r->data_from,
        .vary_seed = r->vary_seed,
    };
    progress(c, ps, r, round, warm);
    mlb_rep rep;
    int rc = mlb_run_repetition(r->pl, &r->params, warm ? -(round + 1) : round, &o, &rep);
    if (rc < 0) {
        fprintf(stderr, "mlbench-engine: %s:%s: cannot run repetition: %s\n", r->pl->desc.task,
                r->pl->desc.variant, strerror(-rc));
        rep.status = MLB_REP_FAILED;
    }
    if (first_setup_failure(r, &rep)) {
        /* Said once for the run, or once for the group (execute). */
        r->stopped = 1;
        r->status = rep.status;
        free(r->message);
        r->message = strdup(rep.message);
    } else if (rep.status != MLB_REP_OK && !c->quiet)
        fprintf(stderr, "%smlbench-engine: %s:%s %s %d: %s%s%s\n",
                isatty(STDERR_FILENO) ? "\r\033[K" : "", r->pl->desc.task, r->pl->desc.variant,
                warm ? "warm-up" : "repetition", round + 1, mlb_rep_status_name(rep.status),
                rep.message ? ": " : "", rep.message ? rep.message : "");
    if (rep.warning && !c->quiet)
        fprintf(stderr, "%smlbench-engine: warning: %s:%s %s %d: %s\n",
                isatty(STDERR_FILENO) ? "\r\033[K" : "", r->pl->desc.task, r->pl->desc.variant,
                warm ? "warm-up" : "repetition", round + 1, rep.warning);
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
    ps->done++;
    if (!warm && r->n_reps == (size_t)r->repetitions)
        finished(c, ps, r);
    return 0;
}

/* Runs of runs[g0..g1) whose setup failed on their first repetition were
 * not repeated. When all of them failed with one message (a parameter every
 * variant rejects), it is said once for the group and the engine ends with
 * status 2, as for a value the rules reject; else once per run. */
static void report_stopped(const mlb_cli *c, mlb_session *s, size_t g0, size_t g1)
{
    size_t n_stopped = 0;
    int same = 1;
    for (size_t k = g0; k < g1; k++) {
        if (!s->runs[k].stopped)
            continue;
        same &= !n_stopped || !strcmp(s->runs[k].message, s->runs[g0].message);
        n_stopped++;
    }
    if (!n_stopped)
        return;
    const char *clear = isatty(STDERR_FILENO) ? "\r\033[K" : "";
    /* "parameter NAME..." is how plugins word a rejected value
     * (docs/plugin-guide.md): an input error, like one the rules catch. */
    if (n_stopped == g1 - g0 && same && !strncmp(s->runs[g0].message, "setup: parameter ", 17)) {
        fprintf(stderr, "%smlbench-engine: %s: %s%s failed in setup: %s (not repeated)\n", clear,
                s->runs[g0].pl->desc.task, g1 - g0 > 1 ? "every variant of the group" : "variant ",
                g1 - g0 > 1 ? "" : s->runs[g0].pl->desc.variant, s->runs[g0].message + 7);
        s->setup_rejected = 1;
        return;
    }
    if (n_stopped == g1 - g0 && same) {
        fprintf(stderr, "%smlbench-engine: %s: every variant failed in setup: %s (not repeated)\n",
                clear, s->runs[g0].pl->desc.task, s->runs[g0].message + 7);
        return;
    }
    for (size_t k = g0; k < g1 && !c->quiet; k++)
        if (s->runs[k].stopped)
            fprintf(stderr, "%smlbench-engine: %s:%s failed in its first repetition: %s "
                            "(not repeated)\n",
                    clear, s->runs[k].pl->desc.task, s->runs[k].pl->desc.variant,
                    s->runs[k].message);
}

/* The arrays the repetitions go into, before any runs (or is resumed). */
static int prepare_runs(mlb_session *s)
{
    for (size_t i = 0; i < s->n_runs; i++) {
        mlb_run *r = &s->runs[i];
        r->reps = calloc((size_t)r->repetitions, sizeof(mlb_rep));
        r->warmup_status = calloc((size_t)r->warmup + 1, sizeof(mlb_rep_status));
        r->status = MLB_REP_OK;
        if (!r->reps || !r->warmup_status) {
            fprintf(stderr, "mlbench-engine: out of memory for %d repetitions\n", r->repetitions);
            return -1;
        }
    }
    return 0;
}

static void execute(const mlb_cli *c, mlb_session *s)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, (unsigned long)s->seed);
    progress_state ps = {.t0 = mlb_now(), .n_groups = s->n_groups, .tty = isatty(STDERR_FILENO)};
    for (size_t i = 0; i < s->n_runs; i++) {
        const mlb_run *r = &s->runs[i];
        ps.total += (size_t)r->repetitions - r->n_resumed;
        if (r->n_resumed < (size_t)r->repetitions)
            ps.total += (size_t)r->warmup;
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
        if (!order) {
            fprintf(stderr, "mlbench-engine: out of memory ordering %zu runs\n", n);
            mlb_interrupted = 1;
            break;
        }
        if (c->sequential) {
            for (size_t k = 0; k < n && !mlb_interrupted; k++) {
                mlb_run *r = &s->runs[g0 + k];
                for (int w = 0; w < r->warmup && !mlb_interrupted; w++)
                    run_one(c, &ps, r, w, 1);
                for (int q = 0; q < r->repetitions && !mlb_interrupted; q++)
                    run_one(c, &ps, r, q, 0);
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
                    run_one(c, &ps, &s->runs[order[k]], (int)(warm ? round : round - max_warm),
                            warm);
            }
        }
        free(order);
        report_stopped(c, s, g0, g1);
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

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv); /* argv[0] is the subcommand's name */
} subcommand;

/* Subcommands read files, not plugins: each takes the rest of argv. */
static const subcommand subcommands[] = {
    {"stats", mlb_cmd_stats},
    {"compare", mlb_cmd_compare},
    {"report", mlb_cmd_report},
    {"data", mlb_cmd_data},
    {"plan", mlb_cmd_plan},
    {"run-job", mlb_cmd_run_job},
    {"merge", mlb_cmd_merge},
    {"history", mlb_cmd_history},
    {"select", mlb_cmd_select},
    {"assess", mlb_cmd_assess},
    {"validate", mlb_cmd_validate},
};

/* The suite's scenario, then the command line's settings over it; checked
 * before anything runs. Returns 0, or -1 after saying why (exit 2). */
static int resolve_scenario(const mlb_cli *c, const mlb_suite *suite, mlb_scenario *out)
{
    memset(out, 0, sizeof *out);
    if (suite && suite->has_scenario)
        *out = suite->scenario;
    if (c->scenario) {
        mlb_scenario_kind k = MLB_SCN_SINGLE_STREAM;
        mlb_scenario_parse(c->scenario, &k); /* checked by the parser */
        if (k != out->kind) /* another scenario: the suite's settings are not its own */
            memset(out, 0, sizeof *out);
        out->kind = k;
    }
    if (c->qps > 0)
        out->qps = c->qps;
    if (c->latency_bound_ms > 0)
        out->latency_bound_s = c->latency_bound_ms / 1000.0;
    if (c->find_peak_qps)
        out->find_peak = 1;
    char why[256];
    if (mlb_scenario_check(out, why, sizeof why) < 0) {
        fprintf(stderr, "mlbench-engine: %s%s\n", why,
                suite && suite->has_scenario && !c->scenario ? " (scenario from the suite)" : "");
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts: one diverged value reaching a special
     * function would lose every measured repetition. Each call's status or
     * result is checked instead, and what cannot be computed is null with
     * a reason. */
    gsl_set_error_handler_off();
    for (size_t i = 0; argc > 1 && i < sizeof subcommands / sizeof subcommands[0]; i++)
        if (!strcmp(argv[1], subcommands[i].name))
            return subcommands[i].fn(argc - 1, argv + 1);
    return mlb_engine_main(argc, argv, NULL);
}

/* The flow; a job (cluster.h) plans a manifest instead of running, runs a
 * manifest's part of the plan, or merges parts instead of measuring. */
int mlb_engine_main(int argc, char **argv, mlb_job *job)
{
    mlb_cli c;
    int prc = mlb_cli_parse(argc, argv, &c);
    if (prc != 0) {
        mlb_cli_free(&c);
        return prc > 0 ? 0 : 2;
    }
    int want_run = c.n_plugins > 0 || c.config;
    if (!c.list && !c.describe && !want_run) {
        mlb_cli_usage(stderr);
        mlb_cli_free(&c);
        return 2;
    }
    mlb_suite suite;
    memset(&suite, 0, sizeof suite);
    if (c.config) {
        char err[2048];
        if (mlb_suite_load(c.config, &suite, err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            mlb_suite_free(&suite);
            mlb_cli_free(&c);
            return 2;
        }
    }
    mlb_registry reg = {0};
    int exit_code = 0;
    mlb_session s;
    memset(&s, 0, sizeof s);
    s.seed = c.seed;
    s.equivalence = c.equivalence;
    if (discover(&c, &reg) < 0) {
        exit_code = 2;
        goto out;
    }
    if (c.list) {
        mlb_list_plugins(&reg, c.json);
        goto out;
    }
    if (c.describe) {
        exit_code = mlb_describe(&reg, c.describe, c.json);
        goto out;
    }

    /* 10 repetitions: with 5, an exact Mann-Whitney test cannot reach p < 0.05
     * once a task's family holds more than a few comparisons. */
    const mlb_run_defaults d = {10, 1, 10, 600, 0};
    if (resolve_scenario(&c, c.config ? &suite : NULL, &s.scenario) < 0 ||
        mlb_plan_build(&s, &reg, c.config ? &suite : NULL, &c, &d) < 0) {
        exit_code = 2;
        goto out;
    }
    for (size_t i = 0; i < s.n_runs; i++)
        s.runs[i].scenario = s.scenario;
    if (job && job->mode == MLB_JOB_PLAN) {
        exit_code = mlb_job_after_plan(job, &s) < 0 ? 2 : 0;
        goto out;
    }
    if (mlb_job_after_plan(job, &s) < 0) {
        exit_code = 2;
        goto out;
    }
    if (!s.n_runs) {
        fprintf(stderr, "mlbench-engine: nothing to run (no available variant selected)\n");
        exit_code = 2;
        goto out;
    }
    if (c.export_dir) { /* the data an external tool needs to fit the same problem */
        const mlb_run *r = &s.runs[0];
        char why[2048];
        if (mkdir(c.export_dir, 0777) < 0 && errno != EEXIST) {
            fprintf(stderr, "mlbench-engine: --export-data %s: cannot create it: %s\n",
                    c.export_dir, strerror(errno));
            exit_code = 2;
        } else if (s.n_runs > 1 || r->pl->peer) {
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
    if (c.dry_run) {
        exit_code = mlb_dry_run(stdout, &s, c.estimate_from);
        goto out;
    }
    /* --resume FILE writes the completed document back to FILE unless told
     * otherwise. */
    if (c.resume && !c.output)
        c.output = c.resume;
    /* Every output path is checked before hours of measurement, not after. */
    const char *report_opt[4] = {"--output", "--html", "--csv", "--markdown"};
    const char *report_path[4] = {c.output, c.html, c.csv, c.markdown};
    for (int k = 0; k < 4; k++) {
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

    if (prepare_runs(&s) < 0) {
        exit_code = 2;
        goto out;
    }
    cJSON *previous_env = NULL;
    if (mlb_job_after_prepare(job, &s) < 0) {
        exit_code = 2;
        goto out;
    }
    if (c.resume && mlb_resume_load(&s, c.resume, &previous_env) < 0) {
        exit_code = 2;
        goto out;
    }
    cJSON *env = mlb_env_collect(argc, argv, c.seed);
    if (previous_env) /* both runs are on record */
        cJSON_AddItemToObject(env, "resumed_from", previous_env);
    double t0 = mlb_now();
    if (!job || job->mode != MLB_JOB_MERGE) /* a merge measures nothing */
        execute(&c, &s);
    double t1 = mlb_now();
    /* Measured repetitions are written whatever the analysis does. */
    int analysis_rc = mlb_session_analyze(&s);
    if (analysis_rc < 0)
        fprintf(stderr, "mlbench-engine: the analysis failed (%s): the results hold the "
                        "repetitions without summaries or comparisons\n",
                s.analysis_error[0] ? s.analysis_error : "unknown reason");
    mlb_job_after_analyze(job, &s, env);
    double t2 = mlb_now();
    cJSON *doc = mlb_results_json(&s, env);
    mlb_job_annotate(job, doc);
    /* Plugins, peers, files and argv put bytes of any kind in it. */
    if (mlb_json_fix_utf8(doc) < 0)
        fprintf(stderr, "mlbench-engine: out of memory making the results valid UTF-8\n");
    if (!c.quiet || !c.output)
        mlb_report_terminal(stdout, doc); /* from the document: the reports' numbers */
    fflush(stdout);
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
        if (!report_path[k + 1])
            continue;
        if (report_fn[k](doc, report_path[k + 1], err, sizeof err) < 0) {
            fprintf(stderr, "mlbench-engine: %s\n", err);
            exit_code = 2;
        } else if (!c.quiet)
            fprintf(stderr, "mlbench-engine: report written to %s\n", report_path[k + 1]);
    }
    cJSON_Delete(doc);
    if (!exit_code)
        for (size_t i = 0; i < s.n_runs; i++)
            if (s.runs[i].status != MLB_REP_OK)
                exit_code = 1;
    if (analysis_rc < 0 && !exit_code)
        exit_code = 1;
    if (s.setup_rejected && exit_code < 2)
        exit_code = 2;
    if (s.interrupted)
        exit_code = 130;
out:
    mlb_session_free(&s);
    mlb_registry_free(&reg);
    mlb_suite_free(&suite);
    mlb_cli_free(&c);
    return exit_code;
}
