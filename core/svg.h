/* The plots of the HTML report, as inline SVG (no script, no URL). Each
 * appends one <svg> element for a group of compared runs; variant i of the
 * group has colour mlb_svg_color(i) in every plot. */
#ifndef MLB_CORE_SVG_H
#define MLB_CORE_SVG_H

#include <stddef.h>

#include "cells.h"
#include "textbuf.h"

const char *mlb_svg_color(size_t i);

/* Each returns 1 when it drew a plot, 0 when the group has nothing to show
 * (and nothing was appended), or -ENOMEM. */
/* Wall time of `phase` ("train", "infer") in every successful repetition:
 * box (q1-q3), median, whiskers to min and max, and each repetition as a
 * dot; a log axis past a 20x spread. */
int mlb_svg_boxplot(mlb_sbuf *b, const mlb_doc_group *g, const char *phase);
/* Median items/s of `phase` per variant, as bars from 0. */
int mlb_svg_bars(mlb_sbuf *b, const mlb_doc_group *g, const char *phase);
/* Median GFLOP/s of `phase` per variant, as bars from 0; with peak > 0 (a
 * measured peak of the machine) a dashed line there and each bar's share. */
int mlb_svg_gflops(mlb_sbuf *b, const mlb_doc_group *g, const char *phase, double peak);
/* `name` ("loss" or a progress metric) during train: per variant, the median
 * over its repetitions of the k-th point, with the 20-80% band, against the
 * time since train began (by_step 0) or the step (by_step 1). */
int mlb_svg_progress(mlb_sbuf *b, const mlb_doc_group *g, const char *name, int by_step);
/* Resident memory of the first successful repetition of each variant, with
 * its phase boundaries marked. */
int mlb_svg_memory(mlb_sbuf *b, const mlb_doc_group *g);
/* The empirical CDF of every infer query's latency of the successful
 * repetitions of each variant, with the summary's p50, p90 and p99 marked;
 * a log axis past a 20x spread. */
int mlb_svg_latency(mlb_sbuf *b, const mlb_doc_group *g);

/* One log-log plot of a sweep's scaling fits: `fits` are entries of the
 * document's scaling[] of one task, parameter, slice (`fixed`) and quantity.
 * Per fit, the medians of each size as a polyline, each successful
 * repetition of the variant's run in each of the fit's groups as a faint
 * dot, and the fitted curve dashed; a legend under the plot. A variant's
 * colour is mlb_scaling_color's. */
int mlb_svg_scaling(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                    const cJSON *const *fits, size_t n);
/* The colour index of a fit's variant: its position in the fit's first
 * group, as in that group's plots; `fallback` when the group has no run of
 * it. */
size_t mlb_scaling_color(const mlb_doc_group_list *gl, const cJSON *fit, size_t fallback);
/* What a scaling[] quantity measures, for a caption ("Train wall time"),
 * or its name. */
const char *mlb_scaling_caption(const char *quantity);

/* The learning-curve quantities of a group: "loss" and each progress
 * metric. Returns 0 or -ENOMEM. */
int mlb_progress_names(const mlb_doc_group *g, mlb_name_list *out);

#endif
