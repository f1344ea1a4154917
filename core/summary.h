/* The answer of a results document, per group and per task: the fastest
 * variant, its speed-up over the baseline with the CI, its memory against
 * the baseline's and whether its quality is equivalent (the verdicts'
 * rules), and a recommendation per task. One computation for the terminal,
 * HTML, Markdown and CSV, so that they say the same thing. */
#ifndef MLB_CORE_SUMMARY_H
#define MLB_CORE_SUMMARY_H

#include <stddef.h>
#include <cjson/cJSON.h>

#include "cells.h"
#include "textbuf.h"

/* The comparison of runs a and b (runs[] indices) on `quantity`, in either
 * order; *swapped is 1 when its run_a is b. NULL when none. */
const cJSON *mlb_find_cmp(const cJSON *doc, double a, double b, const char *quantity,
                          int *swapped);

/* The verdict kind of run `r` against run `o` on `quantity`, said of `r`
 * ("better", "worse", "equivalent", "inconclusive"), and median(r)/median(o)
 * with its bootstrap CI (NaN where absent). NULL kind when not compared. */
const char *mlb_pair_kind(const cJSON *doc, const cJSON *r, const cJSON *o, const char *quantity,
                          double *ratio, double *lo, double *hi);

/* The largest peak RSS over a run's phases (summary maxima); NaN if none. */
double mlb_run_peak_rss(const cJSON *run);

typedef struct {
    const cJSON *best;   /* fastest run by speed-up; NULL when no run has a time */
    double speedup;      /* best's over the baseline (1 for the baseline itself) */
    const char *phase;   /* "train" or "infer": the phase the speed-up is of */
    double ci_lo, ci_hi; /* of the speed-up, 95% bootstrap; NaN when not compared */
    const char *kind;    /* best against the baseline in that phase, or NULL */
    double rss_best, rss_base;
    size_t n_quality, n_equivalent; /* quality metrics compared, and equivalent */
    char quality[256];   /* the metrics that are not: "accuracy worse, loss inconclusive" */
} mlb_group_summary;

void mlb_group_summary_compute(const cJSON *doc, const mlb_doc_group *g, mlb_group_summary *s);

/* The summary's sentence after the group's title, as the terminal prints it:
 * "openblas 6.40× [5.90, 7.10] faster in train; memory 1.02× the baseline's
 * (5.1 MiB vs 5.0 MiB); quality equivalent (1 metric)". */
void mlb_group_summary_text(mlb_sbuf *b, const mlb_doc_group *g, const mlb_group_summary *s,
                            mlb_escape_fn esc);

/* The parameters that matter for a group: its label (those that differ
 * from the defaults), "(default parameters)" for an empty label, and for a
 * document without labels its baseline's parameters as k=v ("m=48 n=40
 * k=56"); "–" when none. */
void mlb_group_params_text(mlb_sbuf *b, const mlb_doc_group *g, mlb_escape_fn esc);

/* One plain-language recommendation per task of the document: `before`,
 * the task, `mid`, the text, `after`. It says which variant to use on this
 * machine, at what cost in memory and dependencies, and on what evidence. */
void mlb_recommendations(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                         mlb_escape_fn esc, const char *before, const char *mid,
                         const char *after);

#endif
