/* Engine-side view of the plugin context (not installed: plugins see only the
 * opaque mlb_ctx of <mlbench/plugin.h>). Lives in libmlbench, so that the
 * engine and every plugin share one definition. */
#ifndef MLB_CORE_CTX_H
#define MLB_CORE_CTX_H

#include <stdio.h>
#include "mlbench/plugin.h"

typedef struct {
    const mlb_param_def *def;
    char *text; /* owned */
    int64_t i;
    double f;
    int b;
} mlb_param_value;

typedef struct {
    char name[64];
    double value;
    int dir;
    double rel_tol, abs_tol; /* margin of equivalence; 0, 0: the engine's default */
    unsigned flags;          /* MLB_METRIC_* */
} mlb_metric;

typedef struct {
    double t; /* seconds since the phase started */
    double step, loss, value;
    char metric[48];
} mlb_progress;

struct mlb_ctx {
    const mlb_plugin *plugin;
    mlb_param_value *params; /* one per declared parameter, in declaration order */
    size_t n_params;
    uint64_t seed;
    int rep;
    double phase_t0; /* CLOCK_MONOTONIC seconds at the current phase's start */
    double work[MLB_WORK_KINDS]; /* of the current phase; the runner resets it */
    mlb_metric *metrics;
    size_t n_metrics, cap_metrics;
    mlb_progress *progress;
    size_t n_progress, cap_progress;
    char err[1024];
    FILE *log;        /* where mlb_log writes (stderr) */
    int verbose;      /* 1: print MLB_LOG_DEBUG too; -1 (--quiet): warnings only */
};

/* Parse `text` as a value of `type`. Returns 0, or -1 with a reason in why. */
int mlb_param_parse(mlb_param_type type, const char *text, mlb_param_value *out, char *why,
                    size_t why_len);
const char *mlb_param_type_name(mlb_param_type type);

/* Set up ctx for `plugin` with its declared defaults; then override. */
int mlb_ctx_init(mlb_ctx *ctx, const mlb_plugin *plugin, uint64_t seed);
/* Override one parameter by name; returns 0, -ENOENT (undeclared), -EINVAL
 * (ill-typed) or -ERANGE (against the plugin's rule), with a reason in why. */
int mlb_ctx_set_param(mlb_ctx *ctx, const char *name, const char *text, char *why, size_t why_len);
void mlb_ctx_free(mlb_ctx *ctx);
/* Reset per-phase counters at a phase start. */
void mlb_ctx_phase_begin(mlb_ctx *ctx, double t0);

double mlb_now(void); /* CLOCK_MONOTONIC, seconds */

/* ---- parameter rules (params.c) ---- */
/* The rule `p` declares for parameter `name`, copied into out (fields the
 * plugin's rule element lacks are zero). Returns 0, or -ENOENT: none. */
int mlb_param_rule_get(const mlb_plugin *p, const char *name, mlb_param_rule *out);
/* The rule in words: "one of f32, f64", ">= 1 and <= 1024, or 0 means auto".
 * Returns the length written. */
int mlb_param_rule_text(const mlb_param_rule *r, mlb_param_type t, char *buf, size_t len);
/* Checks a parsed value against its rule. Returns 0, or -ERANGE with the
 * value and the rule in why ("'lasoo' is not one of linear, ridge, ...
 * (did you mean 'lasso'?)"). */
int mlb_param_check(const mlb_plugin *p, const mlb_param_value *v, char *why, size_t why_len);
/* The name in names[0..n) (or up to a NULL entry) nearest to `word` by edit
 * distance, when it is near enough to be a likely typo; else NULL. */
const char *mlb_closest(const char *word, const char *const *names, size_t n);

#endif
