/* Running one repetition of a plugin or peer under measurement, isolated in
 * a child process, and the record of what was measured. What runs is behind
 * the target interface (target.h); the runner only measures. */
#ifndef MLB_CORE_RUNNER_H
#define MLB_CORE_RUNNER_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "ctx.h"
#include "discover.h"
#include "procfs.h"
#include "scenario.h"
#include "target.h" /* MLB_PH_* */

extern const char *const mlb_phase_names[MLB_PH_N];

typedef enum {
    MLB_REP_OK = 0,
    MLB_REP_FAILED,      /* a callback returned an error, or the plugin exited */
    MLB_REP_CRASHED,     /* killed by a signal */
    MLB_REP_TIMEOUT,     /* past --timeout */
    MLB_REP_MEMLIMIT,    /* resident memory past --mem-limit */
    MLB_REP_INTERRUPTED, /* SIGINT to the engine */
    MLB_REP_UNAVAILABLE, /* available() said no */
} mlb_rep_status;
const char *mlb_rep_status_name(mlb_rep_status s);

typedef struct {
    int ran;
    double wall_s, cpu_user_s, cpu_sys_s;
    double rss_peak_bytes, rss_avg_bytes;
    double work[MLB_WORK_KINDS];
    double start_s; /* since the repetition began: the memory timeline's 0 */
} mlb_phase_meas;

typedef struct {
    double t, rss_bytes;
} mlb_mem_sample;

typedef struct {
    mlb_rep_status status;
    char *message; /* why it did not succeed; NULL when ok */
    mlb_phase_meas ph[MLB_PH_N];
    double *latency_s; /* one per infer query */
    size_t n_latency;
    mlb_metric *metrics;
    size_t n_metrics;
    mlb_progress *progress;
    size_t n_progress;
    mlb_mem_sample *timeline; /* sampled RSS since the start of setup */
    size_t n_timeline;
    double peer_spawn_s; /* a peer's start (process, interpreter, imports); NaN otherwise */
    /* The machine while the repetition ran: other processes' CPU, in cores
     * (all CPU time from /proc/stat over the repetition, minus its own,
     * over its wall time), and the 1-minute load average at its end; NaN
     * where /proc does not say. */
    double other_cores, loadavg_1m;
    char *peer_hello;    /* what the peer reported of itself at hello (JSON text), or NULL */
    char *warning;       /* what the engine had to clean up after it (processes left running), or NULL */
    uint64_t seed;       /* the seed the repetition ran with (--vary-seed: seed + index) */
} mlb_rep;

typedef struct {
    int fork;              /* isolate in a child process */
    double timeout_s;      /* 0: none */
    double mem_limit_bytes; /* 0: none */
    double sample_interval_s; /* memory sampler period; 0 disables it */
    int infer_queries;
    mlb_scenario scenario; /* how the infer queries are issued; zero: single-stream */
    double scenario_margin; /* relative margin of equivalence of its figures; 0: 2% */
    int verbose;           /* 1 --verbose, -1 --quiet, else 0 (mlb_ctx.verbose) */
    const mlb_plugin_entry *data_from; /* a peer's data source (descriptor's data_from) */
    int vary_seed;         /* measured repetition i runs with the template's seed + i */
} mlb_run_opts;

/* Run one repetition of `pl` with the parameters already set in a template
 * context (params, seed). Fills `out`; returns 0 when the repetition was run,
 * whatever its status, or a negative code when the engine itself failed. */
int mlb_run_repetition(const mlb_plugin_entry *pl, const mlb_ctx *tmpl, int rep_index,
                       const mlb_run_opts *opts, mlb_rep *out);
void mlb_rep_free(mlb_rep *r);

/* The repetition as it appears in results (and on the child's pipe). */
cJSON *mlb_rep_to_json(const mlb_rep *r);
int mlb_rep_from_json(const cJSON *j, mlb_rep *out);

/* Set by the engine's SIGINT handler; the runner stops the child. */
extern volatile sig_atomic_t mlb_interrupted;

#endif
