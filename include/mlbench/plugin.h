/*
 * mlbench plugin ABI: the one header a plugin needs.
 *
 * A plugin is a shared object that exports one function,
 *
 *     const mlb_plugin *mlbench_plugin_entry(void);
 *
 * returning a pointer to a const, statically allocated descriptor. The engine
 * checks `abi_major` (must equal MLB_ABI_MAJOR) and reads only the first
 * `struct_size` bytes, so fields appended in a later minor version are seen
 * as absent (NULL) by an older plugin's descriptor: new fields only ever go at
 * the end.
 *
 * Lifecycle of one repetition, run in a child process of the engine:
 *
 *     setup(ctx, &state)          load data, allocate, initialise (timed)
 *     train(ctx, state)           the training workload (timed)
 *     infer(ctx, state) x Q       one query (one batch) per call, each timed
 *                                 (or infer_n(ctx, state, n): n queries at
 *                                 once, in the offline scenario)
 *     teardown(ctx, state)        free everything (timed)
 *
 * Every callback returns 0 on success or a negative value on failure, after
 * describing the failure with mlb_error(). A plugin keeps no global mutable
 * state: everything lives in the `state` its setup allocates.
 *
 * Build a plugin out of tree:
 *     cc -shared -fPIC my.c $(pkg-config --cflags --libs mlbench) -o my.so
 */
#ifndef MLBENCH_PLUGIN_H
#define MLBENCH_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MLB_ABI_MAJOR 1
#define MLB_ABI_MINOR 3
#define MLB_ENTRY_SYMBOL "mlbench_plugin_entry"

#if defined(__GNUC__)
#define MLB_EXPORT __attribute__((visibility("default")))
#define MLB_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define MLB_EXPORT
#define MLB_PRINTF(f, a)
#endif

/* Opaque per-repetition context handed to every callback. */
typedef struct mlb_ctx mlb_ctx;

typedef enum {
    MLB_PARAM_INT = 1,
    MLB_PARAM_FLOAT = 2,
    MLB_PARAM_STRING = 3,
    MLB_PARAM_BOOL = 4,
} mlb_param_type;

/* One declared parameter. The engine rejects values of undeclared names and
 * values that do not parse as `type`, before any callback runs. */
typedef struct {
    const char *name;
    mlb_param_type type;
    const char *def;  /* default, written as on the command line: "64", "0.01", "f32", "true" */
    const char *help; /* one line */
} mlb_param_def;

/* ---- ABI 1.2: parameter rules --------------------------------------------
 *
 * One rule per parameter that has one, naming an entry of `params`:
 *
 *     static const mlb_param_rule rules[] = {
 *         MLB_RULE_RANGE("n", 1, 65536),                 ints and floats, inclusive
 *         MLB_RULE_MIN_EXCL("alpha", 0),                 alpha > 0
 *         MLB_RULE_RANGE_AUTO("threads", 1, 1024),        0 means auto, else 1..1024
 *         MLB_RULE_CHOICES("dtype", "f32", "f64"),       strings
 *         MLB_RULE_TUNING_RANGE("threads", 1, 1024),     how, not what (see below)
 *     };
 *     ... MLB_PARAM_RULES(rules) ...                     in the mlb_plugin initialiser
 *
 * The engine rejects a value outside its rule with exit status 2 and a
 * message naming the plugin, the parameter, the value and the rule. */
enum {
    MLB_RULE_HAS_MIN = 1u << 0,
    MLB_RULE_HAS_MAX = 1u << 1,
    MLB_RULE_MIN_EXCLUSIVE = 1u << 2, /* value > min rather than >= */
    MLB_RULE_MAX_EXCLUSIVE = 1u << 3, /* value < max rather than <= */
    MLB_RULE_ZERO_AUTO = 1u << 4,     /* 0 is accepted whatever the range: "auto" or "all" */
    /* The parameter changes how the work is done, not what work (threads, a
     * cache size): variants of one group may differ in it without the
     * engine flagging "parameters differ". */
    MLB_RULE_TUNING = 1u << 5,
};

typedef struct mlb_param_rule {
    const char *name;           /* a declared parameter */
    uint32_t flags;             /* MLB_RULE_* */
    double min, max;            /* int and float parameters */
    const char *const *choices; /* string parameters: NULL-terminated allowed values, or NULL */
} mlb_param_rule;

#define MLB_RULE_RANGE(n, lo, hi) {(n), MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX, (lo), (hi), NULL}
#define MLB_RULE_RANGE_AUTO(n, lo, hi)                                                            \
    {(n), MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_ZERO_AUTO, (lo), (hi), NULL}
#define MLB_RULE_MIN(n, lo) {(n), MLB_RULE_HAS_MIN, (lo), 0, NULL}
#define MLB_RULE_MIN_EXCL(n, lo) {(n), MLB_RULE_HAS_MIN | MLB_RULE_MIN_EXCLUSIVE, (lo), 0, NULL}
#define MLB_RULE_MAX(n, hi) {(n), MLB_RULE_HAS_MAX, 0, (hi), NULL}
#define MLB_RULE_OPEN(n, lo, hi)                                                                  \
    {(n), MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_MIN_EXCLUSIVE | MLB_RULE_MAX_EXCLUSIVE, \
     (lo), (hi), NULL}
#define MLB_RULE_CHOICES(n, ...) {(n), 0, 0, 0, (const char *const[]){__VA_ARGS__, NULL}}
/* A tuning parameter (MLB_RULE_TUNING) with a range, 0 meaning auto or not. */
#define MLB_RULE_TUNING_RANGE(n, lo, hi)                                                          \
    {(n), MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_TUNING, (lo), (hi), NULL}
#define MLB_RULE_TUNING_RANGE_AUTO(n, lo, hi)                                                     \
    {(n), MLB_RULE_HAS_MIN | MLB_RULE_HAS_MAX | MLB_RULE_ZERO_AUTO | MLB_RULE_TUNING, (lo),      \
     (hi), NULL}

#define MLB_PARAM_RULES(table)                                                                    \
    .param_rules = (table), .n_param_rules = sizeof(table) / sizeof((table)[0]),                 \
    .param_rule_size = sizeof(mlb_param_rule)

typedef struct mlb_plugin {
    uint32_t abi_major;   /* MLB_ABI_MAJOR */
    uint32_t struct_size; /* sizeof(mlb_plugin) as the plugin was compiled */
    const char *task;     /* e.g. "gemm"; [a-z0-9_-]+ */
    const char *variant;  /* e.g. "openblas"; [a-z0-9_-]+ */
    const char *description;
    const mlb_param_def *params; /* array of n_params entries, may be NULL */
    size_t n_params;
    /* Optional: NULL if the variant can run here, else a static reason
     * ("no CUDA device"). Called by --list and before every run. */
    const char *(*available)(void);
    int (*setup)(mlb_ctx *ctx, void **state);
    int (*train)(mlb_ctx *ctx, void *state);   /* optional (NULL: no train phase) */
    int (*infer)(mlb_ctx *ctx, void *state);   /* optional (NULL: no infer phase) */
    int (*teardown)(mlb_ctx *ctx, void *state);
    /* --- ABI 1.1 --- */
    /* Optional: write the data that setup prepared (after any split and
     * standardisation) as .npy files into `dir` (mlb_npy_write), one file per
     * array, e.g. X_train.npy, y_train.npy, X_test.npy, y_test.npy. The
     * engine hands them to external peers (docs/peer-protocol.md) so that
     * every variant of a task sees identical inputs. Not timed. */
    int (*export_data)(mlb_ctx *ctx, void *state, const char *dir);
    /* --- ABI 1.2 --- */
    /* Optional: the rules of the parameters (ranges, choices), checked by the
     * engine on every value before any repetition runs, so that a plugin
     * need not re-check them. An array of n_param_rules elements, each
     * param_rule_size bytes (sizeof(mlb_param_rule) as the plugin was
     * compiled), so that mlb_param_rule can grow at its end as mlb_plugin
     * does. Use MLB_PARAM_RULES(table) to fill the three fields. */
    const struct mlb_param_rule *param_rules;
    size_t n_param_rules;
    size_t param_rule_size;
    /* --- ABI 1.3 --- */
    /* Optional: n queries at once, for the offline scenario (every query is
     * issued together and the plugin batches as it likes); called with n at
     * most max_infer_n (0: no limit). It must do the work of n infer calls
     * and report the same work (mlb_report_work), so that samples per
     * second compare with variants that lack it: those get n infer calls
     * back to back. */
    int (*infer_n)(mlb_ctx *ctx, void *state, int n);
    int max_infer_n;
} mlb_plugin;

/* Convenience initialiser for the two header fields. */
#define MLB_PLUGIN_HEADER .abi_major = MLB_ABI_MAJOR, .struct_size = sizeof(mlb_plugin)

/* The entry point each plugin defines (with MLB_EXPORT). */
MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void);

/* ---- Engine services (libmlbench) ---------------------------------------- */

/* Parameters: declared defaults overridden by the suite and command line.
 * Asking for an undeclared name or the wrong type aborts the repetition with
 * a clear error (it is a plugin bug). */
int64_t mlb_param_int(mlb_ctx *ctx, const char *name);
double mlb_param_float(mlb_ctx *ctx, const char *name);
const char *mlb_param_str(mlb_ctx *ctx, const char *name);
int mlb_param_bool(mlb_ctx *ctx, const char *name);

/* The run's seed (--seed); identical for every repetition of a run. */
uint64_t mlb_seed(const mlb_ctx *ctx);

/* A seeded generator with no hidden state (splitmix64): advances *state and
 * returns 64 random bits. Seed the state from mlb_seed() so that the data
 * depend on nothing but the run's seed, identically on every host. */
uint64_t mlb_rand_u64(uint64_t *state);

/* Index of this repetition (warm-ups are negative: -1, -2, ...). */
int mlb_repetition(const mlb_ctx *ctx);

typedef enum { MLB_LOG_DEBUG, MLB_LOG_INFO, MLB_LOG_WARN } mlb_log_level;
void mlb_log(mlb_ctx *ctx, mlb_log_level level, const char *fmt, ...) MLB_PRINTF(3, 4);

/* Record why the current callback fails; returns MLB_EFAIL for `return
 * mlb_error(ctx, "...")`. */
#define MLB_EFAIL (-1)
int mlb_error(mlb_ctx *ctx, const char *fmt, ...) MLB_PRINTF(2, 3);

/* Work done in the current phase; calls add up. Throughput is items per
 * second of the phase; FLOPs give GFLOP/s. */
typedef enum {
    MLB_WORK_ITEMS = 0, /* samples, rows, images, episodes: the unit of throughput */
    MLB_WORK_TOKENS = 1,
    MLB_WORK_STEPS = 2,
    MLB_WORK_FLOPS = 3,
} mlb_work_kind;
#define MLB_WORK_KINDS 4
void mlb_report_work(mlb_ctx *ctx, mlb_work_kind kind, double amount);

/* A quality metric of the run (accuracy, loss, r2, ...). The last value
 * reported under a name wins. */
typedef enum { MLB_LOWER_IS_BETTER = -1, MLB_HIGHER_IS_BETTER = 1 } mlb_direction;
void mlb_report_metric(mlb_ctx *ctx, const char *name, double value, mlb_direction dir);

/* ABI 1.2: a metric with what the engine needs to judge it. `rel_tol` and
 * `abs_tol` are its margin of practical equivalence: two variants whose
 * values differ by at most max(rel_tol·|value|, abs_tol) are equivalent
 * (0 and 0: the engine's default, 1e-6 relative with a 1e-12 floor). A
 * float32 kernel's max_rel_err of 6e-8 against 7e-8 is noise, not quality.
 * `flags`: MLB_METRIC_RESTATES_TIME when the value restates a phase time
 * (a fit time measured inside train): it is recorded, not compared, so
 * that each fact is said once. */
#define MLB_METRIC_RESTATES_TIME 1u
void mlb_report_metric_ex(mlb_ctx *ctx, const char *name, double value, mlb_direction dir,
                          double rel_tol, double abs_tol, unsigned flags);

/* A point of the learning curve: after `step` steps (or epochs), the training
 * loss and one quality metric (NaN when not measured). The engine stamps it
 * with the elapsed time of the phase. */
void mlb_report_progress(mlb_ctx *ctx, double step, double loss, const char *metric, double value);

/* Writes a C-order array as a NumPy .npy file (format 1.0): dtype "f8" for
 * MLB_NPY_F64 (double), "f4" for MLB_NPY_F32 (float), "i8" for MLB_NPY_I64.
 * Returns 0 or a negative errno; on failure the message is in ctx. */
typedef enum { MLB_NPY_F64 = 0, MLB_NPY_F32 = 1, MLB_NPY_I64 = 2 } mlb_npy_dtype;
int mlb_npy_write(mlb_ctx *ctx, const char *path, mlb_npy_dtype dtype, const void *data,
                  int ndim, const size_t *shape);

#ifdef __cplusplus
}
#endif
#endif
