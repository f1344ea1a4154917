/* The external-process bridge: a peer (any program speaking the JSON-lines
 * protocol of docs/peer-protocol.md) runs as a variant of a task under the
 * engine's own measurement. The running side is mlb_target_peer_ops
 * (target.h); this header is the registry's side. */
#ifndef MLB_CORE_PEER_H
#define MLB_CORE_PEER_H

#include <stddef.h>
#include <sys/types.h>

#include "discover.h"
#include "suite.h"
#include "target.h"

/* What one line of a peer's output was (docs/peer-protocol.md). */
enum {
    MLB_PEER_LINE_EVENT = 1,      /* a streamed event (progress, log): the answer follows */
    MLB_PEER_LINE_ANSWER = 0,     /* the answer, ok: work and metrics applied to ctx */
    MLB_PEER_LINE_ERROR = -1,     /* an answer that failed: the reason is in ctx */
    MLB_PEER_LINE_MALFORMED = -2, /* not a JSON object: the caller says so */
};
/* Parses one line a peer sent (NUL-terminated, without its newline) while
 * the engine waits for its answer to `op`, and applies it to ctx; the answer
 * to "hello" also replaces *hello (malloc'd JSON text: what the peer says of
 * itself). Returns an MLB_PEER_LINE_* value. */
int mlb_peer_parse_line(mlb_ctx *ctx, const char *op, const char *line, char **hello);

/* Turns a loaded descriptor into a registry entry (descriptor owned by the
 * entry from then on). `peers_dir` is ${MLBENCH_PEERS} (see mlb_peers_dir),
 * or NULL. Returns 0 or negative with a message in err. */
int mlb_peer_entry_init(mlb_plugin_entry *e, mlb_peer_desc *d, const char *peers_dir, char *err,
                        size_t errlen);
void mlb_peer_entry_free(mlb_plugin_entry *e);
/* Runs the descriptor's availability check, setting e->unavailable. */
void mlb_peer_check(mlb_plugin_entry *e);
/* Removes the temporary directories ($TMPDIR/mlbench-peer-PID-*) that the
 * process `pid`, which ran a peer, left behind: killed (interrupt, timeout,
 * --mem-limit) or crashed, it could not remove them itself. */
void mlb_peer_tmp_cleanup(pid_t pid);

#endif
