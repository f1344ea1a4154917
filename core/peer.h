/* The external-process bridge: a peer (any program speaking the JSON-lines
 * protocol of docs/peer-protocol.md) runs as a variant of a task under the
 * engine's own measurement. */
#ifndef MLB_CORE_PEER_H
#define MLB_CORE_PEER_H

#include <limits.h>
#include <sys/types.h>
#include <cjson/cJSON.h>

#include "discover.h"
#include "suite.h"

/* Turns a loaded descriptor into a registry entry (descriptor owned by the
 * entry from then on); runs its availability check. Returns 0 or negative
 * with a message in err. */
int mlb_peer_entry_init(mlb_plugin_entry *e, mlb_peer_desc *d, char *err, size_t errlen);
void mlb_peer_entry_free(mlb_plugin_entry *e);
/* Runs the descriptor's availability check, setting e->unavailable. */
void mlb_peer_check(mlb_plugin_entry *e);

/* Runs `from`'s setup with ctx's parameters (those it declares) and seed,
 * then its export_data into dir, then its teardown: the arrays the variant
 * trains on, as .npy files. Returns 0 or negative with a reason in why. */
int mlb_plugin_export_data(const mlb_plugin_entry *from, const mlb_ctx *ctx, const char *dir,
                           char *why, size_t whylen);

/* A running peer, seen from the child process of a repetition. */
typedef struct {
    pid_t pid;
    int to_fd, from_fd;
    char tmpdir[256]; /* data files and the peer's stderr */
    char *buf;          /* unread answer bytes */
    size_t len, cap;
    double deadline;    /* CLOCK_MONOTONIC; 0: none */
    double mem_limit;   /* bytes of the peer's RSS (--mem-limit); 0: none */
    double next_mem_check;
    double spawn_s;
    int crashed;        /* the peer died of a signal */
    char *hello;        /* the peer's hello answer (JSON text, its settings) */
} mlb_peer_proc;

typedef enum {
    MLB_PEER_OK = 0,
    MLB_PEER_ERROR = -1,    /* the peer answered ok:false, or spoke nonsense, or died */
    MLB_PEER_TIMEOUT = -2,
    MLB_PEER_MEMLIMIT = -3, /* the peer's resident memory passed --mem-limit */
} mlb_peer_rc;

/* Starts the peer of entry `e` (and exports the data of its `data_from`
 * variant first). On failure returns negative with the reason in ctx->err. */
int mlb_peer_start(const mlb_plugin_entry *e, const mlb_plugin_entry *data_from, mlb_ctx *ctx,
                   double deadline, double mem_limit, mlb_peer_proc *p);
/* One request/answer: applies the answer's work, metrics and progress to ctx. */
mlb_peer_rc mlb_peer_call(mlb_peer_proc *p, mlb_ctx *ctx, const char *op);
/* Closes the peer's stdin, waits briefly, kills what is left, removes tmpdir. */
void mlb_peer_stop(mlb_peer_proc *p);

/* The directory of the bundled peer scripts (tools/peers in the source tree,
 * <datadir>/mlbench/peers installed), or NULL. Malloc'd. */
char *mlb_peers_dir(void);

#endif
