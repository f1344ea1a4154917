/* What `select`, `validate` and `assess` share (docs/phases.md): plugin
 * discovery on the engine's search path, the table of implementations'
 * dependencies (config/deps.yaml), what dpkg knows of a package, and lines
 * of code of the source tree. */
#ifndef MLB_CORE_PHASES_H
#define MLB_CORE_PHASES_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>

#include "discover.h"

/* The registry of the engine's search path: `dirs` (--plugin-dir), then
 * $MLBENCH_PLUGIN_PATH, the bundled plugins and the bundled peers, as a run
 * sees them. Warnings go to `warn`. Returns 0 or a negative errno. */
int mlb_phases_discover(mlb_registry *reg, char *const *dirs, size_t n_dirs, FILE *warn);

/* The dependency table, as JSON ({} with a warning on stderr when there is
 * none: $MLBENCH_DEPS, else config/deps.yaml of the source tree or of the
 * installed data directory). *root_out (may be NULL) gets the source tree's
 * root when the table came from one (lines of code are counted there), else
 * NULL; malloc'd. */
cJSON *mlb_deps_load(char **root_out);

/* The facts about one implementation: {"packages": [{name, installed,
 * version, installed_kib, licence}], "licences": "A, B", "installed_kib",
 * "loc_own", "loc_shared", "sources_found"}, from the table, dpkg-query
 * and the source tree (`root`, NULL: no lines counted; a peer's loc_shared
 * is 0: the task's shared C is not part of it). Packages' answers
 * are cached in `cache` (a JSON object the caller owns). */
cJSON *mlb_impl_facts(const cJSON *deps, const char *root, const char *task,
                      const char *variant, int is_peer, cJSON *cache);
/* The engine's own libraries ({"packages": [...]} as above). */
cJSON *mlb_engine_facts(const cJSON *deps, cJSON *cache);

/* "name version (licence)" of each package, joined with ", ", or "none". */
void mlb_packages_text(char *b, size_t n, const cJSON *facts);

/* Run ri's quality against run `base` over the metrics compared (the
 * comparisons' verdict_kind, by the equivalence rule): MLB_Q_PARITY,
 * MLB_Q_BETTER (somewhere, worse nowhere), MLB_Q_INCONCLUSIVE, MLB_Q_WORSE,
 * the worst over metrics; MLB_Q_NONE without a metric compared. `why` gets
 * the metrics that are not equivalent ("worse r2, inconclusive mse"). */
enum { MLB_Q_NONE = -1, MLB_Q_PARITY, MLB_Q_BETTER, MLB_Q_INCONCLUSIVE, MLB_Q_WORSE };
int mlb_quality_vs_baseline(const cJSON *doc, int ri, int base, char *why, size_t n);

int mlb_cmd_select(int argc, char **argv);
int mlb_cmd_validate(int argc, char **argv);
int mlb_cmd_assess(int argc, char **argv);

/* The assessment of a results document (`assess`), for the report: one
 * object per run, in `runs` order ({"schema": "mlbench.assess/1",
 * "implementations": [...]}, docs/phases.md), and its Markdown table. */
cJSON *mlb_assess_json(const cJSON *doc);
struct mlb_sbuf;
void mlb_assess_markdown(const cJSON *assessment, struct mlb_sbuf *b);
/* The same table as an HTML <section class="assessment"> (escaped, no
 * script), for report_html.c to append. */
void mlb_assess_html(const cJSON *assessment, struct mlb_sbuf *b);

#endif
