/* History across commits (`mlbench-engine history`): many results documents,
 * one series per task, variant, parameters and phase, in time order, and the
 * step changes found in each (docs/phases.md, "History"). The reader takes
 * untrusted bytes: every size it keeps is bounded (MLB_HIST_MAX_*). */
#ifndef MLB_CORE_HISTORY_H
#define MLB_CORE_HISTORY_H

#include <stddef.h>

#define MLB_HIST_MAX_FILE_BYTES ((size_t)64 << 20) /* one results document */
#define MLB_HIST_MAX_DOCS 10000
#define MLB_HIST_MAX_SERIES 4096
#define MLB_HIST_MAX_POINTS 1000000 /* over all series */
#define MLB_HIST_MAX_TEXT 1024      /* a commit, a time stamp, a series' parameters */

typedef struct {
    const char *commit, *time; /* the document's (owned by mlb_history's doc table) */
    size_t doc;                /* index of the document, in reading order */
    double median, lo, hi;     /* seconds: median wall time and its 95% CI (NaN if absent) */
} mlb_hist_point;

typedef struct {
    size_t at;             /* index of the first point after the step */
    double before, after;  /* the segments' typical values (geometric means, s) */
    double change;         /* after / before - 1 */
    double z;              /* the step over its standard error */
} mlb_hist_step;

typedef struct {
    char *task, *variant, *quantity, *params; /* quantity: "train" or "infer" */
    char *label; /* the first document's group label: the parameters off their defaults */
    mlb_hist_point *pts;
    size_t n, cap;
    mlb_hist_step *steps;
    size_t n_steps;
    double sigma; /* the noise of log(median) the detection assumed */
} mlb_hist_series;

typedef struct {
    char *commit, *time, *name;
} mlb_hist_doc;

typedef struct {
    mlb_hist_series *s;
    size_t n, cap;
    mlb_hist_doc *docs;
    size_t n_docs, cap_docs;
    size_t n_points;
} mlb_history;

/* Adds the series points of one results document (`len` bytes at `buf`,
 * named `name` in messages). Returns 0, -EINVAL for a document that is not
 * an mlbench result or lacks environment.git_commit / timestamp_utc (err
 * names the field), -E2BIG past a bound, -ENOMEM. */
int mlb_history_add_json(mlb_history *h, const char *buf, size_t len, const char *name,
                         char *err, size_t errlen);
/* Reads a file through mlb_history_add_json, refusing one above
 * MLB_HIST_MAX_FILE_BYTES. */
int mlb_history_add_file(mlb_history *h, const char *path, char *err, size_t errlen);
/* Sorts each series' points by time (then reading order) and drops those
 * older than the first document whose commit starts with `since` (NULL:
 * none). Returns 0, or -ENOENT when no document has that commit. */
int mlb_history_order(mlb_history *h, const char *since);
/* Finds the steps of every series: binary segmentation of log(median) with
 * segments of at least `min_seg` points, a split kept when the difference of
 * the segments' means is above `z_crit` standard errors (0: the default
 * sqrt(2 ln n) + 4), the noise being the larger of the points' CIs and the
 * spread of successive differences, their largest tenth dropped. */
int mlb_history_detect(mlb_history *h, size_t min_seg, double z_crit);
void mlb_history_free(mlb_history *h);
/* Whether step k of s is a regression above `threshold` that the series has
 * not recovered from: the latest segment is still more than `threshold`
 * above the level before the step. Those are what `history` exits 1 on. */
int mlb_history_step_persists(const mlb_hist_series *s, size_t k, double threshold);

/* The page of `history --html`: one small time-series plot per series,
 * steps marked (history_svg.c). Returns 0 or -ENOMEM. */
struct mlb_sbuf;
int mlb_history_html(const mlb_history *h, double threshold, struct mlb_sbuf *b);

int mlb_cmd_history(int argc, char **argv);

#endif
