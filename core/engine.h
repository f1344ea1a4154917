/* The engine's plan and what it measured: shared by main.c (the flow),
 * results.c (JSON) and report.c (terminal table). */
#ifndef MLB_CORE_ENGINE_H
#define MLB_CORE_ENGINE_H

#include <stdint.h>
#include <cjson/cJSON.h>

#include "runner.h"
#include "stats.h"

/* One task:variant with its parameters, measured `repetitions` times. */
typedef struct {
    mlb_plugin_entry *pl;
    const mlb_plugin_entry *data_from; /* for a peer: the variant whose data it gets */
    mlb_ctx params;      /* resolved parameters and seed (template for each repetition) */
    int group;           /* runs of one group are compared with each other */
    int repetitions, warmup, infer_queries;
    mlb_scenario scenario; /* how its infer queries are issued */
    double timeout_s;
    int vary_seed;       /* repetition i runs with seed + i (--vary-seed, vary_seed: true) */
    char *target_metric; /* time-to-target, or NULL */
    double target;
    mlb_rep *reps;       /* measured repetitions, n_reps <= repetitions */
    size_t n_reps;
    mlb_rep_status *warmup_status;
    size_t n_warmup;
    mlb_rep_status status; /* ok only when every measured repetition was */
    int stopped;         /* setup failed on the first repetition: not repeated */
    size_t n_resumed;    /* reps[0..n_resumed) came from --resume's file */
    char *message;       /* first failure's message */
    char *host;          /* merged from a job run elsewhere: that host; NULL: this one */
    cJSON *summary;      /* built after the run */
} mlb_run;

/* A comparison of two runs of one group on one quantity. */
typedef struct {
    int a, b;            /* run indices */
    char what[80];       /* "train", "infer_query", or "metric:accuracy" */
    double rel_tol, abs_tol; /* a metric's declared margin of equivalence; 0: default */
    int better;          /* MLB_BETTER_* of stats.h */
    mlb_comparison c;
    double p_bonferroni, p_holm, p_bh; /* over the session's family; NaN: no test */
    char verdict[512];   /* without the repetition-count warning: said once per group */
    int cross_host;      /* merged: the two runs were measured on different hosts */
} mlb_cmp_entry;

/* A comparison group: one task at one parameter point, its runs contiguous
 * in the session's runs[], compared with each other and interleaved. */
typedef struct {
    char *task;
    size_t first, n;       /* runs[first .. first + n) */
    size_t baseline;       /* index into runs[]: speed-ups are relative to it */
    const char *baseline_rule; /* "cli" (--baseline), "suite" (baseline:), "naive", "first" */
    char *label;           /* what distinguishes the group: its baseline's parameters that
                            * differ from their defaults ("m=1024 dtype=f64"), or NULL */
    char **point;          /* a sweep's point: n_point (key, value) pairs, key "m=n=k"
                            * for keys swept together; NULL when not swept */
    size_t n_point;
    char *params_differ;   /* workload parameters whose values differ between the runs
                            * ("m, k"), or NULL: the runs do the same work */
} mlb_group;

typedef struct {
    mlb_run *runs;
    size_t n_runs;
    mlb_group *groups;
    size_t n_groups;
    mlb_cmp_entry *cmps;
    size_t n_cmps;
    uint64_t seed;
    int interrupted;
    int setup_rejected;  /* a group failed in setup as a whole (exit status 2) */
    double equivalence;  /* relative margin of practical equivalence for times; 0: default */
    mlb_scenario scenario; /* the inference scenario of every run */
    /* "" unless the analysis failed; the document then holds the measured
     * repetitions and this reason, without summaries or comparisons. */
    char analysis_error[256];
} mlb_session;

/* Builds each run's summary and the comparisons of each group. */
int mlb_session_analyze(mlb_session *s);


/* The results document. */
cJSON *mlb_results_json(const mlb_session *s, cJSON *environment);
/* Writes `doc` to path atomically (temporary file in the same directory,
 * fsync, rename). A symbolic link is followed (the file it names is
 * replaced, the link kept), a character device or FIFO is written through
 * (never replaced), a block device, socket or dangling link refused.
 * Returns 0 or a negative errno, with a message in err. */
int mlb_write_json_atomic(const char *path, const cJSON *doc, char *err, size_t errlen);
/* What an output path is by the rule above, its links followed to `real`:
 * 0 a file to write by rename (or nothing yet), 1 a node written through,
 * or a negative errno with a message naming `what`. */
int mlb_output_check(const char *what, const char *path, char *real, size_t reallen, char *err,
                     size_t errlen);
/* The same for any text. */
int mlb_write_file_atomic(const char *path, const char *text, size_t len, char *err,
                          size_t errlen);

#endif
