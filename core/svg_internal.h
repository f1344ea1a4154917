/* What the SVG plots share (svg.c, svg_scaling.c): axes, ticks, frames. */
#ifndef MLB_CORE_SVG_INTERNAL_H
#define MLB_CORE_SVG_INTERNAL_H

#include "svg.h"

#define MAX_TICKS 24
#define SVG_W 560.0
#define FONT "font-family=\"system-ui,sans-serif\" font-size=\"11\""

typedef struct {
    double lo, hi;
    int log;
    double step; /* of the linear ticks: how many decimals their labels need */
    int digits;  /* significant digits of a log axis's labels; 0: 4 */
} axis;

/* The plot area, in SVG coordinates (y grows downwards). */
typedef struct {
    double left, right, top, bottom;
} frame;

double mlb_svgi_ax_pos(const axis *a, double v, double p0, double p1);
size_t mlb_svgi_ax_ticks(axis *a, double *t);
void mlb_svgi_time_unit(double hi, double *scale, const char **name);
void mlb_svgi_svg_open(mlb_sbuf *b, const char *cls, double h, const char *title);
void mlb_svgi_svg_axis(mlb_sbuf *b, const axis *a, const double *t, size_t nt, const frame *f, int vertical, double scale, const char *label);

/* Line plots: one series per repetition (faint) or per variant (solid). */
typedef struct {
    double *x, *y;
    size_t n;
    size_t color;
    int faint;
} series;

typedef struct {
    series *v;
    size_t n;
} series_set;

/* A vertical mark on a line plot (a phase boundary), in a variant's colour. */
typedef struct {
    double x;
    size_t color;
    const char *label; /* NULL: unlabelled */
} marker;

void mlb_svgi_series_free(series_set *s);
/* A series with room for cap points; NULL on allocation failure. */
series *mlb_svgi_series_add(series_set *s, size_t cap, size_t color, int faint);
/* x is a time in seconds (units chosen from its range), y as given. */
void mlb_svgi_lines(mlb_sbuf *b, const char *cls, const char *title, const series_set *s,
                    const char *xlabel, const char *ylabel, int y_from_zero, const marker *m,
                    size_t nm);
/* Left margin that fits the longest variant name of g. */
double mlb_svgi_label_margin(const mlb_doc_group *g);

#endif
