/* Benchmark suites: the YAML files under config/, parsed with libyaml. */
#ifndef MLB_CORE_SUITE_H
#define MLB_CORE_SUITE_H

#include "scenario.h"
#include <stddef.h>

/* Largest repetitions, warmup or infer_queries accepted (suite and CLI). */
#define MLB_SUITE_MAX_COUNT 1000000

/* Where a value stood in the YAML file, for file:line:column errors. */
typedef struct {
    int line, col; /* 1-based */
} mlb_pos;

/* Most values one swept parameter may take (suite list or --param list). */
#define MLB_SUITE_MAX_SWEEP 4096

typedef struct {
    char *key, *value; /* value as text; for a sweep, its first value */
    char **values;     /* a sweep (a YAML list): n_values values as text; else NULL */
    size_t n_values;
    mlb_pos pos;       /* of the key */
    mlb_pos value_pos; /* of the value, for "bad value" errors */
} mlb_kv;

/* One benchmark: a task, the variants to compare, shared parameters. */
typedef struct {
    mlb_pos pos; /* of the benchmark's mapping */
    char *task;
    mlb_pos task_pos;
    char **variants; /* NULL/0: every variant of the task */
    mlb_pos *variant_pos;
    size_t n_variants;
    mlb_kv *params;
    size_t n_params;
    /* Per-benchmark overrides; negative: inherit the suite's value. */
    int repetitions, warmup, infer_queries;
    double timeout_s;
    int vary_seed; /* vary_seed: true, repetition i runs with seed + i; 0 otherwise */
    double target; /* quality target for time-to-target; NaN: none */
    char *target_metric; /* NULL: none */
    mlb_pos target_pos;  /* of the metric name, to report an unknown metric */
    char *baseline;      /* the variant speed-ups are relative to, or NULL: the rule */
    mlb_pos baseline_pos;
} mlb_bench_spec;

typedef struct {
    char *path;
    char *name;        /* "suite:" key, may be NULL */
    int repetitions;   /* negative: not set in the file */
    int warmup;
    int infer_queries;
    double timeout_s;  /* negative: not set */
    /* The inference scenario (scenario.h) for every benchmark; has_scenario 0:
     * not set in the file. The command line's --scenario replaces it. */
    int has_scenario;
    mlb_scenario scenario;
    mlb_bench_spec *benches;
    size_t n_benches;
} mlb_suite;

/* Load and validate the structure of a suite. On error returns a negative
 * errno-style code and writes "path:line:col: message" into err. Semantic
 * checks that need the plugins (unknown task, variant, parameter) are the
 * engine's, using the positions recorded here. */
int mlb_suite_load(const char *path, mlb_suite *out, char *err, size_t errlen);
void mlb_suite_free(mlb_suite *s);

/* A peer: a variant implemented by an external program that speaks the
 * JSON-lines protocol of docs/peer-protocol.md, declared by a descriptor
 * file NAME.peer.yaml in a plugin directory. */
typedef struct {
    char *name, *type, *def, *help; /* type: int, float, string, bool */
} mlb_peer_param;

typedef struct mlb_peer_desc_s {
    char *path;               /* of the descriptor */
    char *task, *variant, *description;
    char **command;           /* argv; ${DIR} and ${MLBENCH_PEERS} are expanded */
    size_t n_command;
    char **check;             /* availability check argv, or NULL */
    size_t n_check;
    char *unavailable;        /* message when the check fails, or NULL */
    mlb_kv *env;              /* extra environment of the peer */
    size_t n_env;
    char *data_from;          /* NULL, or the native variant whose data the peer gets */
    mlb_peer_param *params;
    size_t n_params;
} mlb_peer_desc;

/* Load and check a peer descriptor; errors as mlb_suite_load's. */
int mlb_peer_desc_load(const char *path, mlb_peer_desc *out, char *err, size_t errlen);
void mlb_peer_desc_free(mlb_peer_desc *d);

#endif
