/* The engine's command line: options, their parsing and the help text. */
#ifndef MLB_CORE_CLI_H
#define MLB_CORE_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    char **dirs;
    size_t n_dirs;
    char **plugins; /* TASK, TASK:VARIANT or TASK:V1,V2,... */
    size_t n_plugins;
    char **params; /* KEY=VALUE or TASK[:VARIANT].KEY=VALUE */
    size_t n_params;
    const char *config, *output, *describe, *export_dir;
    const char *baseline;              /* --baseline VARIANT or TASK:VARIANT, or NULL */
    const char *resume;                /* --resume FILE.json of a partial run, or NULL */
    const char *estimate_from;         /* --estimate-from FILE.json, or NULL */
    int dry_run;
    const char *html, *csv, *markdown; /* reports of the results document */
    int list, json, no_fork, quiet, verbose, sequential;
    int vary_seed; /* --vary-seed: repetition i runs with seed + i */
    int repetitions, warmup, infer_queries; /* -1: not given */
    double timeout_s, mem_limit, sample_ms;
    const char *scenario;   /* --scenario NAME, or NULL: the suite's, else single-stream */
    double qps, latency_bound_ms; /* --qps, --latency-bound; 0: not given */
    int find_peak_qps;
    double equivalence; /* --equivalence: relative margin for times (default 0.02) */
    uint64_t seed;
} mlb_cli;

/* Parses argv into c. Returns 0, 1 when --help or --version was answered
 * (exit 0), or -1 after printing why on stderr (exit 2). */
int mlb_cli_parse(int argc, char **argv, mlb_cli *c);
void mlb_cli_usage(FILE *f);
void mlb_cli_free(mlb_cli *c);

/* Appends s (not copied) to a growing array; returns 0 or -ENOMEM. */
int mlb_push(char ***v, size_t *n, const char *s);

#endif
