/* Plugin discovery: search path, loading with libltdl, ABI checks; peers'
 * descriptors. Each entry says how it runs (its target ops, target.h). */
#ifndef MLB_CORE_DISCOVER_H
#define MLB_CORE_DISCOVER_H

#include <stdio.h>
#include "mlbench/plugin.h"

struct mlb_target_ops;

typedef struct {
    char *path;
    void *handle;          /* lt_dlhandle */
    mlb_plugin desc;       /* normalised copy: fields past the plugin's struct_size are zero */
    const char *unavailable; /* use mlb_entry_unavailable(): peers are checked lazily */
    int checked;             /* availability known */
    /* How a repetition runs it: mlb_target_plugin_ops or mlb_target_peer_ops. */
    const struct mlb_target_ops *ops;
    struct mlb_peer_desc_s *peer; /* non-NULL: an external peer (core/peer.c), no handle */
    mlb_param_def *owned_params;  /* a peer's parameter table */
    char *owned_reason;
    char *peers_dir;              /* a peer's ${MLBENCH_PEERS}, resolved once at discovery */
} mlb_plugin_entry;

typedef struct {
    mlb_plugin_entry *v;
    size_t n;
} mlb_registry;

/* Scan each directory (and its immediate subdirectories) for *.so, in order.
 * Files that are not plugins are skipped with a one-line warning on `warn`.
 * Returns 0, or -EEXIST when two plugins share task:variant (err names both). */
int mlb_registry_scan(mlb_registry *r, char *const *dirs, size_t n_dirs, FILE *warn, char *err,
                      size_t errlen);
void mlb_registry_free(mlb_registry *r);
/* NULL when the entry can run here, else why not. A peer's availability
 * check (a process start) runs on first use only, so that an engine run that
 * does not involve the peer does not pay for it. */
const char *mlb_entry_unavailable(mlb_plugin_entry *e);
mlb_plugin_entry *mlb_registry_find(mlb_registry *r, const char *task, const char *variant);

/* The directory of the bundled plugins: next to the build tree's engine, or
 * <prefix>/<libdir>/mlbench/plugins relative to the installed engine. Returns
 * a malloc'd path, or NULL. */
char *mlb_bundled_plugin_dir(void);
/* The directory of the bundled peer scripts (tools/peers in the source tree,
 * <datadir>/mlbench/peers installed), or NULL. Malloc'd. */
char *mlb_peers_dir(void);
/* The engine executable's directory joined with `rel` (NULL: the directory
 * itself), resolved, if it is a directory; malloc'd, or NULL. */
char *mlb_exe_relative_dir(const char *rel);

#endif
