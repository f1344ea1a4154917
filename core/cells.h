/* The comparison table's groups, baselines and cells: the one place where a
 * run's displayed numbers and its speed-up against the group's baseline are
 * computed, shared by the terminal table (report.c), HTML, CSV and Markdown
 * so that every output shows the same figures. Reads the results document
 * only. */
#ifndef MLB_CORE_CELLS_H
#define MLB_CORE_CELLS_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "textbuf.h"

/* The run index (into the document's runs[]) of group `group`'s baseline:
 * groups[].baseline where the document has it and it names a run of that
 * group; otherwise (documents written before `groups` existed) the group's
 * run whose variant is "naive", else its first run in runs[] order.
 * -ENOENT when no run has runs[].group == group. */
int mlb_group_baseline(const cJSON *doc, int group);

/* How that baseline was chosen: groups[].baseline_rule ("cli", "suite",
 * "naive", "first"), or for an older document the fallback's ("naive",
 * "first"); NULL when the group has no run. */
const char *mlb_group_baseline_rule(const cJSON *doc, int group);

/* The speed-up of `run` against `base` (two runs[] objects): the baseline's
 * median train wall time over the run's, or the same of infer where either
 * has no train median. NaN when neither phase has a positive median in both. */
double mlb_speedup(const cJSON *base, const cJSON *run);

/* Runs of one group (runs[].group), in document order: the variants that
 * the engine compared with each other. */
typedef struct {
    double id;            /* runs[].group; negative for a run without one */
    const cJSON **runs;
    int *pos;             /* runs[] position of each */
    size_t n;
    int first_index;      /* runs[] position of the first, for anchors */
    const cJSON *base;    /* the baseline run (mlb_group_baseline) */
    int base_pos;         /* its runs[] position */
    /* The comparisons of the group (those whose run_a is one of its runs),
     * in document order. */
    const cJSON **cmps;
    size_t n_cmps;
    const char *base_rule;
    const char *label;    /* groups[].label: "m=1024 dtype=f64", or NULL */
} mlb_doc_group;

typedef struct {
    mlb_doc_group *v;
    size_t n;
    size_t *group_of_run; /* runs[] position -> index into v */
    size_t n_runs;
} mlb_doc_group_list;

/* Returns 0 or -ENOMEM (then *out is empty). */
int mlb_groups_build(const cJSON *doc, mlb_doc_group_list *out);
void mlb_groups_free(mlb_doc_group_list *g);
/* The comparisons of g after `prev` (NULL: from the start), NULL after the
 * last: for (c = NULL; (c = mlb_group_cmp_next(doc, g, c));). Kept for
 * callers written before g->cmps; a loop over g->cmps is linear, this is
 * quadratic in a group's comparisons. */
const cJSON *mlb_group_cmp_next(const cJSON *doc, const mlb_doc_group *g, const cJSON *prev);
/* The group of the run at runs[] position pos, or NULL. */
const mlb_doc_group *mlb_group_of_run(const mlb_doc_group_list *gl, size_t pos);
/* A run's variant, or "–". */
const char *mlb_run_variant(const cJSON *run);

/* Text escaper of an output format (mlb_sb_html, mlb_sb_md); NULL: as is. */
typedef void (*mlb_escape_fn)(mlb_sbuf *b, const char *s);

/* A group's heading: its task(s), the group number, and its baseline
 * ("gemm (group 0), baseline naive"). */
void mlb_group_title(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc);
/* One sentence on what the speed-up column means and where the baseline
 * came from, for the text under a table. */
void mlb_speedup_note(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc);

/* For a document whose status is not "complete": `before`, the status and
 * that the document holds only what was measured before the engine
 * stopped, then `after`. Nothing for a complete document. */
/* The same for a document whose analysis failed (its analysis_error). */
void mlb_analysis_note(mlb_sbuf *b, const cJSON *doc, mlb_escape_fn esc, const char *before,
                       const char *after);
void mlb_unfinished_note(mlb_sbuf *b, const cJSON *doc, mlb_escape_fn esc, const char *before,
                         const char *after);

/* The cells of one run's row of the comparison table. */
typedef struct {
    char train[64];       /* median ± IQR/2 as a percentage */
    char train_tip[160];  /* q1, q3, n */
    char lat[112];        /* infer latency p50 / p90 / p99 */
    char lat_p50[32];
    char rate_train[32], rate_infer[32]; /* median items/s */
    char gflops[32];      /* train, else infer */
    char rss[32];         /* largest peak over the phases */
    char speedup[48];     /* "3.10×", "1.00× (baseline)" */
} mlb_cells;

void mlb_cells_fill(mlb_cells *c, const mlb_doc_group *g, const cJSON *run);
/* A run's quality metrics' medians, "name = v, name = v", or "–". */
void mlb_metrics_text(mlb_sbuf *b, const cJSON *run, mlb_escape_fn esc);

/* A scaling fit's exponent "b [lo, hi]" (two decimals; "b" without a CI,
 * "–" without b) and its class's RMS error "12%" (or "–"). */
void mlb_scaling_b_text(char *buf, size_t n, const cJSON *fit);
void mlb_scaling_rms_text(char *buf, size_t n, const cJSON *fit);
/* A fit's slice, its fixed parameters "k=v k=v", between before and after;
 * nothing when it has none. */
void mlb_scaling_fixed_text(mlb_sbuf *b, const cJSON *fit, mlb_escape_fn esc, const char *before,
                            const char *after);

/* Names in order of first appearance, with each one's "better" (or NULL).
 * The strings belong to the document. */
typedef struct {
    const char **v;
    const char **better;
    size_t n;
    size_t *slot; /* hash set of the names: index + 1, 0 empty; linear for 20 000 names */
    size_t cap;
} mlb_name_list;

int mlb_names_add(mlb_name_list *l, const char *name, const char *better);
/* The index of name in l, or -1. */
long mlb_names_find(const mlb_name_list *l, const char *name);
void mlb_names_free(mlb_name_list *l);
/* The union of the quality metrics' names over a group's summaries.
 * Returns 0 or -ENOMEM. */
int mlb_group_metric_names(const mlb_doc_group *g, mlb_name_list *out);

#endif
