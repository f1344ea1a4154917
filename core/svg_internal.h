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

#endif
