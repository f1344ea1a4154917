/* Inference scenarios after MLPerf LoadGen: how the infer phase's queries
 * are issued, and the figures each scenario yields.
 *   single-stream  one query after another, each timed (the default);
 *   offline        every query issued at once; the plugin may batch them
 *                  (infer_n, at most max_infer_n per call); samples per s;
 *   server         queries arrive by a seeded Poisson process at `qps`; a
 *                  query's latency runs from its arrival, so it includes the
 *                  time it waited behind earlier ones; p50/p90/p99 and
 *                  whether p99 met the bound; with find_peak, a bisection on
 *                  qps for the highest rate whose p99 meets the bound.
 * The figures become engine metrics of the repetition (names below), so
 * that they are compared across variants like any metric. */
#ifndef MLB_CORE_SCENARIO_H
#define MLB_CORE_SCENARIO_H

#include <stddef.h>
#include <stdint.h>

typedef enum { MLB_SCN_SINGLE_STREAM = 0, MLB_SCN_OFFLINE, MLB_SCN_SERVER } mlb_scenario_kind;

typedef struct {
    mlb_scenario_kind kind;
    double qps;             /* server: mean arrival rate, queries per second */
    double latency_bound_s; /* server: the p99 bound; 0: none */
    int find_peak;          /* server: search the highest qps that meets the bound */
} mlb_scenario;

/* The engine metrics a scenario reports (also read by the report). */
#define MLB_SCN_M_SAMPLES_PER_S "offline_samples_per_s"
#define MLB_SCN_M_P50 "server_p50_ms"
#define MLB_SCN_M_P90 "server_p90_ms"
#define MLB_SCN_M_P99 "server_p99_ms"
#define MLB_SCN_M_MET "server_bound_met"
#define MLB_SCN_M_PEAK "server_peak_qps"

const char *mlb_scenario_name(mlb_scenario_kind k);
/* "single-stream", "offline", "server": 0, or -1 for any other name. */
int mlb_scenario_parse(const char *name, mlb_scenario_kind *k);
/* Checks the combination; 0, or -1 with the reason in why. */
int mlb_scenario_check(const mlb_scenario *s, char *why, size_t whylen);

/* How the scenario reaches the target: one query, or n at once (NULL: n
 * single queries back to back). Both return 0 or negative (stop). */
typedef struct {
    int (*one)(void *arg);
    int (*many)(void *arg, int n); /* may be NULL */
    int max_many;                  /* most queries per many() call; 0: no limit */
    void *arg;
} mlb_query_ops;

typedef struct {
    double samples_per_s;        /* offline: work items (or queries) per second */
    double p50_s, p90_s, p99_s;  /* server: of the latencies kept */
    int met_bound;               /* server with a bound: p99 <= bound; -1: no bound */
    double peak_qps;             /* find_peak: highest qps meeting the bound (0: none); NaN */
    int n_probes;                /* find_peak: probes run */
} mlb_scenario_figures;

/* Runs `queries` queries of the infer phase under scenario s, seeded by
 * `seed` (server arrivals). latency[0..*n_latency) receives, per query: the
 * time of the query (single-stream), nothing (offline: no per-query time),
 * or its latency from arrival (server; with find_peak, those of the last
 * probe that met the bound). `items` tells how many work items the target
 * has reported so far (for samples per second); NULL counts queries.
 * Returns the first negative result of the target, or 0. */
int mlb_scenario_run(const mlb_scenario *s, int queries, uint64_t seed, const mlb_query_ops *q,
                     double (*items)(void *arg), double *latency, size_t *n_latency,
                     mlb_scenario_figures *fig);

#endif
