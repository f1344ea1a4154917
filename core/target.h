/* The interface between the runner and what a repetition runs. A target runs
 * phases; the runner measures them, the same way whatever the target is:
 *   - an in-process plugin: the mlb_plugin callbacks (target_plugin.c);
 *   - an external peer: a process speaking docs/peer-protocol.md (peer.c).
 * Each registry entry holds the ops of its kind, chosen at discovery, so
 * the runner never asks which kind it has. */
#ifndef MLB_CORE_TARGET_H
#define MLB_CORE_TARGET_H

#include <stddef.h>
#include <sys/types.h>

#include "ctx.h"
#include "discover.h"

enum { MLB_PH_SETUP, MLB_PH_TRAIN, MLB_PH_INFER, MLB_PH_TEARDOWN, MLB_PH_N };

/* Why a phase failed: the runner turns it into the repetition's status. */
typedef enum {
    MLB_TARGET_OK = 0,
    MLB_TARGET_FAILED,   /* an error, with its message in ctx->err */
    MLB_TARGET_CRASHED,  /* the target's own process died of a signal */
    MLB_TARGET_TIMEOUT,  /* no answer before the deadline */
    MLB_TARGET_MEMLIMIT, /* its resident memory passed the limit; it was killed */
} mlb_target_fault;

typedef struct {
    double deadline;  /* CLOCK_MONOTONIC seconds; 0: none */
    double mem_limit; /* bytes of resident memory; 0: none */
    const mlb_plugin_entry *data_from; /* a peer's data source, or NULL */
} mlb_target_opts;

typedef struct mlb_target_ops mlb_target_ops;

/* One target, live for one repetition; start fills it. */
typedef struct {
    const mlb_target_ops *ops;
    const mlb_plugin_entry *entry;
    pid_t pid;             /* the process to measure; 0: this one */
    unsigned phases;       /* 1u << MLB_PH_*: the phases it has */
    int gone;              /* dead or stuck: it gets no further phase (no teardown) */
    mlb_target_fault fault; /* of the last phase called */
    double start_s;        /* its own start-up (process, interpreter); NaN: none */
    const char *hello;     /* what it said of itself, JSON text, or NULL; owned by the target */
    void *impl;            /* the implementation's state */
    int max_infer_n;       /* with ops->infer_n: most queries per call; 0: no limit */
} mlb_target;

struct mlb_target_ops {
    const char *kind; /* "plugin", "peer" */
    /* How long past --timeout the runner's watchdog waits before it kills the
     * repetition: a target with a deadline of its own reports first, with
     * more to say (a peer's stderr). */
    double kill_grace_s;
    /* Gets the target ready to run setup. Returns 0, or negative with the
     * reason in ctx->err; stop is called either way. */
    int (*start)(mlb_target *t, const mlb_plugin_entry *e, const mlb_target_opts *o,
                 mlb_ctx *ctx);
    /* Runs phase `ph` (one query for MLB_PH_INFER): the plugin's or peer's
     * result, 0 or negative, with t->fault (and ctx->err) saying why. */
    int (*phase)(mlb_target *t, mlb_ctx *ctx, int ph);
    /* Optional (NULL: n single queries): n infer queries in one call, the
     * offline scenario's batching; NULL where the target cannot. */
    int (*infer_n)(mlb_target *t, mlb_ctx *ctx, int n);
    void (*stop)(mlb_target *t);
};

extern const mlb_target_ops mlb_target_plugin_ops;
extern const mlb_target_ops mlb_target_peer_ops;

/* Runs `from`'s setup with ctx's parameters (those it declares) and seed,
 * then its export_data into dir, then its teardown: the arrays the variant
 * trains on, as .npy files. Returns 0 or negative with a reason in why. */
int mlb_plugin_export_data(const mlb_plugin_entry *from, const mlb_ctx *ctx, const char *dir,
                           char *why, size_t whylen);

#endif
