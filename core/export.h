/* Reports from a results document (docs/results-schema.md, "Reports"): a
 * self-contained HTML page, a CSV of every repetition, GitHub Markdown, and
 * the terminal table printed after a run. They read only the JSON document,
 * so a saved result renders exactly as the run that wrote it would have, and
 * their numbers come from one place (cells.h). */
#ifndef MLB_CORE_EXPORT_H
#define MLB_CORE_EXPORT_H

#include <stddef.h>
#include <stdio.h>
#include <cjson/cJSON.h>

/* Each writes `path` atomically (mlb_write_file_atomic). Returns 0 or a
 * negative errno (-EINVAL: `doc` is not an mlbench result), with a message
 * naming the path and, for a bad document, the field in err. */
int mlb_export_html(const cJSON *doc, const char *path, char *err, size_t errlen);
int mlb_export_csv(const cJSON *doc, const char *path, char *err, size_t errlen);
int mlb_export_markdown(const cJSON *doc, const char *path, char *err, size_t errlen);

/* The comparison table and verdicts of a results document, on `f`: one
 * block per group, with the same cells and speed-ups as the reports. */
void mlb_report_terminal(FILE *f, const cJSON *doc);

/* The renderers behind mlb_export_* and `report` (report_html.c,
 * report_csv.c, report_md.c): each appends its whole output to b, a checked
 * document. Returns 0 or -ENOMEM. */
struct mlb_sbuf;
int mlb_render_html(const cJSON *doc, struct mlb_sbuf *b);
/* The same with the assessment of `assess` (phases.h: packages, licences,
 * memory before work, start-up, lines of code, quality parity) as its last
 * section; NULL leaves it out. mlb_export_html computes it: it asks dpkg,
 * which a pure renderer (and its fuzz target) must not. */
int mlb_render_html_with(const cJSON *doc, const cJSON *assessment, struct mlb_sbuf *b);
int mlb_render_csv(const cJSON *doc, struct mlb_sbuf *b);
int mlb_render_markdown(const cJSON *doc, struct mlb_sbuf *b);

/* Whether `path` can be written (its directory is writable, and it is not a
 * directory), so that a run fails before measuring rather than after.
 * Returns 0 or a negative errno with a message naming `what` and the path. */
int mlb_export_check_path(const char *what, const char *path, char *err, size_t errlen);

/* Reads and checks a results document: an error names the path and, for
 * invalid JSON, the line; for another document, the field (`schema`). */
cJSON *mlb_results_load(const char *path, char *err, size_t errlen);

/* Human units for tables: seconds (ns to s), rates (/s, k/s, M/s, G/s) and
 * bytes (MiB, GiB); "–" for a value that is absent (NaN). */
void mlb_fmt_time(char *b, size_t n, double seconds);
void mlb_fmt_rate(char *b, size_t n, double per_second);
void mlb_fmt_bytes(char *b, size_t n, double bytes);

/* `mlbench-engine report RESULTS.json [--html F] [--csv F] [--markdown F]`;
 * argv[0] == "report". Exit code: 0 written, 2 usage or input error (then
 * nothing is written). */
int mlb_cmd_report(int argc, char **argv);

#endif
