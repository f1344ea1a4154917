/* What stats.c (the decisions) and stats_text.c (their words) share. */
#ifndef MLB_CORE_STATS_INTERNAL_H
#define MLB_CORE_STATS_INTERNAL_H

#include <stddef.h>

#include "stats.h"

/* A ratio to three decimals near 1, where the margin lives, else to three
 * significant digits. */
void mlb_stats_fmt_ratio(char *b, size_t len, double r);
/* The margin as a sentence writes it: "±2%" for a time, "±4.5e-07" for a
 * metric's tolerance. */
void mlb_stats_fmt_margin(char *b, size_t len, const mlb_comparison *c);

/* Shapiro-Wilk W and p of sorted[0..nz) (3 <= nz <= 5000); returns 0 or -1
 * when undefined. Anderson-Darling A², adjusted A² and p of x[0..n)
 * against a normal of the given mean and sd (normality.c). */
int mlb_shapiro_wilk(const double *sorted, size_t nz, double *w_out, double *p_out);
void mlb_anderson_darling(const double *x, size_t n, double mean, double sd, double *a2,
                          double *a2_adj, double *p);

#endif
