/* What the compare subcommand's parts share: reading runs of a results
 * document, and matching NEW runs to BASELINE runs by workload. */
#ifndef MLB_CORE_COMPARE_INTERNAL_H
#define MLB_CORE_COMPARE_INTERNAL_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "textbuf.h"

#define MAX_METRICS 64

typedef struct {
    const cJSON *a, *b; /* the NEW run and its BASELINE run */
    char label[256];
    char tuning_diff[256]; /* tuning parameters that differ, "" if none */
} pair;

const cJSON *mlb_cr_reps_of(const cJSON *run);
size_t mlb_cr_n_reps(const cJSON *run);
size_t mlb_cr_n_ok(const cJSON *run);
double mlb_cr_num(const cJSON *o, const char *k);
const cJSON *mlb_cr_phase_of(const cJSON *rep, const char *phase);
size_t mlb_cr_phase_wall(const cJSON *run, const char *phase, double *x);
size_t mlb_cr_peak_rss(const cJSON *run, double *x);
int mlb_cr_cmp_double(const void *a, const void *b);
double mlb_cr_quantile7(const double *s, size_t n, double p);
size_t mlb_cr_latencies(const cJSON *rep, double **out);
int mlb_cr_has_latencies(const cJSON *run);
int mlb_cr_query_latency(const cJSON *run, int from_total, double *x, double q[4]);
size_t mlb_cr_metric_values(const cJSON *run, const char *name, double *x);
int mlb_cr_metric_better(const cJSON *run, const char *name);
size_t mlb_cr_metric_names(const cJSON *run, char names[][64], size_t n, size_t cap);
int mlb_cr_param_is_tuning(const cJSON *run, const char *name);
void mlb_cr_fmt_value(char *b, size_t n, const cJSON *v);
size_t mlb_cr_param_diff(const cJSON *a, const cJSON *b, int tuning, mlb_sbuf *out);
int mlb_cr_same_task_variant(const cJSON *a, const cJSON *b);
void mlb_cr_workload_text(mlb_sbuf *b, const cJSON *run, const cJSON *doc, int only_distinct);
void mlb_cr_run_label(char *buf, size_t len, const cJSON *run, const cJSON *doc);
int mlb_cr_match_runs(const cJSON *base, const cJSON *cur, pair **out, size_t *n_out,
                      int *matched_b, long *pair_of_a);

#endif
