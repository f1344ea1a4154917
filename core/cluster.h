/* A benchmark matrix beyond one machine: `plan` writes a manifest of
 * independent jobs (JSON lines, one comparison group each by default),
 * `run-job` runs one of them exactly as the engine runs that group locally,
 * `merge` re-plans, takes every job's repetitions and analyses them as one
 * run (docs/cluster.md). tools/cluster/mlbench-slurm drives them on Slurm. */
#ifndef MLB_CORE_CLUSTER_H
#define MLB_CORE_CLUSTER_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "engine.h"

#define MLB_MANIFEST_SCHEMA "mlbench.manifest/1"
/* A manifest or a part larger than this is refused (bounded reading). */
#define MLB_MANIFEST_MAX_BYTES (64u << 20)

typedef enum { MLB_JOB_PLAN = 1, MLB_JOB_RUN, MLB_JOB_MERGE } mlb_job_mode;

/* What the engine's flow does differently for a job (main.c's hooks). */
typedef struct {
    mlb_job_mode mode;
    char **args;        /* the engine arguments that plan the whole matrix */
    size_t n_args;
    char id[17];        /* the manifest's id: engine version, suite bytes, args */
    /* plan */
    const char *manifest_out;
    int jobs_per_group;
    /* run-job */
    cJSON *line;        /* this job's manifest line */
    /* merge */
    cJSON **parts;
    char **part_paths;
    size_t n_parts;
} mlb_job;

/* The subcommands (argv[0] is the subcommand's name). */
int mlb_cmd_plan(int argc, char **argv);
int mlb_cmd_run_job(int argc, char **argv);
int mlb_cmd_merge(int argc, char **argv);

/* The engine's flow with a job (main.c); job NULL: a plain run. */
int mlb_engine_main(int argc, char **argv, mlb_job *job);

/* main.c's hooks, in the order the flow calls them. Each returns 0 or -1
 * after saying why on stderr (exit status 2). */
int mlb_job_after_plan(mlb_job *job, mlb_session *s); /* plan: writes the manifest */
int mlb_job_after_prepare(mlb_job *job, mlb_session *s); /* merge: takes the parts */
void mlb_job_after_analyze(mlb_job *job, mlb_session *s, cJSON *env);
void mlb_job_annotate(const mlb_job *job, cJSON *doc);

/* One manifest line's fields, checked (also the fuzz target's entry):
 * 0, or -1 with the reason in why. */
int mlb_manifest_line_check(const cJSON *line, char *why, size_t whylen);
/* A non-negative integer field of o (at most 1e9), or -1. */
long mlb_manifest_index(const cJSON *o, const char *k);

#endif
