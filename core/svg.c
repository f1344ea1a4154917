/* SVG plots of the HTML report (svg.h). Every plot is drawn from the
 * document's repetitions, so that the page shows what was measured, not only
 * its summaries. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "stats.h"
#include "svg.h"
#include "svg_internal.h"

/* Colour-blind-safe palette (Okabe-Ito, then Tableau); variant i of a group
 * keeps colour i in every plot of the group. */
static const char *const palette[] = {"#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9",
                                      "#D55E00", "#7F7F7F", "#F0E442", "#9467BD", "#8C564B"};
#define PALETTE_N (sizeof palette / sizeof *palette)

const char *mlb_svg_color(size_t i)
{
    return palette[i % PALETTE_N];
}



double mlb_svgi_ax_pos(const axis *a, double v, double p0, double p1)
{
    double t = a->log ? (log10(v) - log10(a->lo)) / (log10(a->hi) - log10(a->lo))
                      : (v - a->lo) / (a->hi - a->lo);
    return p0 + t * (p1 - p0);
}


/* Rounds the axis out to "nice" steps (1, 2, 5 × 10^k) and lists its ticks. */
size_t mlb_svgi_ax_ticks(axis *a, double *t)
{
    size_t n = 0;
    if (a->log) {
        a->lo /= 1.25; /* room around the extreme points */
        a->hi *= 1.25;
        int e0 = (int)floor(log10(a->lo)), e1 = (int)ceil(log10(a->hi));
        int decades_only = e1 - e0 > 4;
        static const double mult[3] = {1, 2, 5};
        for (int e = e0; e <= e1; e++)
            for (int k = 0; k < 3; k++) {
                double v = mult[k] * pow(10, e);
                if ((decades_only && k) || v < a->lo || v > a->hi || n >= MAX_TICKS)
                    continue;
                t[n++] = v;
            }
        if (n >= 2)
            return n;
        a->log = 0; /* too narrow for a log scale to show ticks */
    }
    if (!(a->hi > a->lo)) {
        double d = a->lo != 0 ? fabs(a->lo) * 0.1 : 1;
        a->lo -= d;
        a->hi += d;
    }
    double raw = (a->hi - a->lo) / 5, mag = pow(10, floor(log10(raw))), nrm = raw / mag;
    double step = (nrm < 1.5 ? 1 : nrm < 3 ? 2 : nrm < 7 ? 5 : 10) * mag;
    a->step = step;
    a->lo = floor(a->lo / step + 1e-9) * step;
    a->hi = ceil(a->hi / step - 1e-9) * step;
    for (int i = 0; n < MAX_TICKS; i++) {
        double v = a->lo + i * step;
        if (v > a->hi + step * 1e-6)
            break;
        t[n++] = fabs(v) < step * 1e-9 ? 0 : v;
    }
    return n;
}

/* Units for a time axis: the tick labels stay short numbers. */
void mlb_svgi_time_unit(double hi, double *scale, const char **name)
{
    if (hi >= 1) {
        *scale = 1;
        *name = "s";
    } else if (hi >= 1e-3) {
        *scale = 1e-3;
        *name = "ms";
    } else {
        *scale = 1e-6;
        *name = "\xc2\xb5s";
    }
}

/* Enough decimals to tell neighbouring ticks apart (19.998 from 20.000),
 * and no more. */
static void tick_text(char *b, size_t n, const axis *a, double v, double scale)
{
    double st = a->step / scale;
    if (a->log || !(st > 0) || fabs(v / scale) >= 1e6 || st < 1e-6) {
        snprintf(b, n, "%.*g", a->digits > 0 ? a->digits : 4, v / scale);
        return;
    }
    int dec = st >= 1 ? 0 : (int)ceil(-log10(st) - 1e-9);
    snprintf(b, n, "%.*f", dec, v / scale);
}


void mlb_svgi_svg_open(mlb_sbuf *b, const char *cls, double h, const char *title)
{
    /* No xmlns: inline SVG in HTML needs none, and the page names no URL. */
    mlb_sb_printf(b, "<svg class=\"plot %s\" viewBox=\"0 0 %.0f %.0f\" "
                     "role=\"img\" " FONT "><title>",
                  cls, SVG_W, h);
    mlb_sb_html(b, title);
    mlb_sb_puts(b, "</title>\n");
}



/* An axis with its ticks, grid lines across the frame, tick labels and a
 * title: along the bottom edge, or with `vertical` along the left one. */
void mlb_svgi_svg_axis(mlb_sbuf *b, const axis *a, const double *t, size_t nt, const frame *f,
                     int vertical, double scale, const char *label)
{
    for (size_t i = 0; i < nt; i++) {
        double p = vertical ? mlb_svgi_ax_pos(a, t[i], f->bottom, f->top)
                            : mlb_svgi_ax_pos(a, t[i], f->left, f->right);
        char txt[32];
        tick_text(txt, sizeof txt, a, t[i], scale);
        mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                         "stroke=\"#e3e7ec\"/><text x=\"%.1f\" y=\"%.1f\" "
                         "text-anchor=\"%s\" fill=\"#555\">%s</text>\n",
                      vertical ? f->left : p, vertical ? p : f->top, vertical ? f->right : p,
                      vertical ? p : f->bottom, vertical ? f->left - 5 : p,
                      vertical ? p + 4 : f->bottom + 14, vertical ? "end" : "middle", txt);
    }
    mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3ad\"/>\n",
                  f->left, f->bottom, vertical ? f->left : f->right, vertical ? f->top : f->bottom);
    if (vertical)
        mlb_sb_printf(b, "<text transform=\"translate(14 %.1f) rotate(-90)\" "
                         "text-anchor=\"middle\" fill=\"#333\">",
                      (f->bottom + f->top) / 2);
    else
        mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\" fill=\"#333\">",
                      (f->left + f->right) / 2, f->bottom + 30);
    mlb_sb_html(b, label);
    mlb_sb_puts(b, "</text>\n");
}

/* Left margin that fits the longest variant name (about 6.5 px a character
 * at 11 px), within bounds so that the plot keeps most of the width. */
double mlb_svgi_label_margin(const mlb_doc_group *g)
{
    size_t longest = 4;
    for (size_t i = 0; i < g->n; i++) {
        size_t l = strlen(mlb_run_variant(g->runs[i]));
        if (l > longest)
            longest = l;
    }
    double m = 16 + 6.5 * (double)longest;
    return m < 70 ? 70 : m > 180 ? 180 : m;
}

static void svg_row_label(mlb_sbuf *b, double x, double y, const char *text)
{
    mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" fill=\"#222\">", x, y + 4);
    mlb_sb_html(b, text);
    mlb_sb_puts(b, "</text>\n");
}

/* Wall time of `phase` in every successful repetition, per variant: box
 * (q1-q3), median bar, whiskers to min and max, and each repetition as a dot. */
int mlb_svg_boxplot(mlb_sbuf *b, const mlb_doc_group *g, const char *phase)
{
    char key[64];
    snprintf(key, sizeof key, "phases.%s.wall_s", phase);
    double **vals = calloc(g->n, sizeof *vals);
    size_t *nv = calloc(g->n, sizeof *nv), *n_ok = calloc(g->n, sizeof *n_ok);
    int rc = 0;
    if (!vals || !nv || !n_ok) {
        rc = -ENOMEM;
        goto out;
    }
    double lo = INFINITY, hi = -INFINITY;
    size_t total = 0;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *reps = mlb_jget(g->runs[i], "repetitions"), *rep;
        vals[i] = malloc(((size_t)cJSON_GetArraySize(reps) + 1) * sizeof **vals);
        if (!vals[i]) {
            rc = -ENOMEM;
            goto out;
        }
        cJSON_ArrayForEach(rep, reps)
        {
            double w = mlb_jnum(rep, key);
            if (!mlb_rep_ok(rep))
                continue;
            n_ok[i]++;
            if (!isfinite(w))
                continue;
            vals[i][nv[i]++] = w;
            lo = w < lo ? w : lo;
            hi = w > hi ? w : hi;
        }
        total += nv[i];
    }
    if (!total)
        goto out;
    double left = mlb_svgi_label_margin(g), right = SVG_W - 18, row = 34, top = 12;
    double h = top + row * (double)g->n + 46;
    /* A log axis once the spread is past 20x: linear would squash the fast
     * variants into the first pixels. */
    axis a = {.lo = lo, .hi = hi, .log = lo > 0 && hi / lo > 20};
    if (!a.log) {
        double pad = (hi - lo) * 0.08;
        a.lo = lo - pad < 0 && lo >= 0 ? 0 : lo - pad;
        a.hi = hi + pad;
    }
    double t[MAX_TICKS];
    size_t nt = mlb_svgi_ax_ticks(&a, t);
    double scale;
    const char *unit;
    mlb_svgi_time_unit(a.hi, &scale, &unit);
    char label[96], title[96];
    snprintf(label, sizeof label, "%s wall time (%s)%s", phase, unit, a.log ? ", log scale" : "");
    snprintf(title, sizeof title, "%s wall time per repetition", phase);
    mlb_svgi_svg_open(b, "box", h, title);
    mlb_svgi_svg_axis(b, &a, t, nt, &(frame){left, right, top, top + row * (double)g->n}, 0, scale, label);
    for (size_t i = 0; i < g->n; i++) {
        double cy = top + row * ((double)i + 0.5);
        svg_row_label(b, left - 8, cy, mlb_run_variant(g->runs[i]));
        if (!nv[i]) {
            mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#888\">%s</text>\n", left + 6,
                          cy + 4, n_ok[i] ? "phase not run" : "no successful repetition");
            continue;
        }
        /* The stats module's quantiles, so that the box is the summary's. */
        mlb_summary st;
        int e = mlb_summary_compute(vals[i], nv[i], 0, &st);
        if (e < 0) {
            rc = e;
            goto out;
        }
        double xmin = mlb_svgi_ax_pos(&a, st.min, left, right), xmax = mlb_svgi_ax_pos(&a, st.max, left, right);
        double x1 = mlb_svgi_ax_pos(&a, st.q1, left, right), x3 = mlb_svgi_ax_pos(&a, st.q3, left, right),
               xm = mlb_svgi_ax_pos(&a, st.median, left, right);
        const char *col = mlb_svg_color(i);
        mlb_sb_printf(b, "<g><line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                         "stroke=\"#666\"/>"
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#666\"/>"
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                         "stroke=\"#666\"/>\n",
                      xmin, cy, xmax, cy, xmin, cy - 6, xmin, cy + 6, xmax, cy - 6, xmax, cy + 6);
        mlb_sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" fill=\"%s\" "
                         "fill-opacity=\"0.22\" stroke=\"%s\"/>"
                         "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                         "stroke-width=\"3\"/>\n",
                      x1, cy - 9, x3 - x1 < 1 ? 1 : x3 - x1, col, col, xm, cy - 11, xm, cy + 11,
                      col);
        for (size_t k = 0; k < nv[i]; k++) {
            /* A fixed jitter by repetition index: repeatable output, and
             * equal times still show as separate dots. */
            double jy = cy + ((double)((k * 7) % 9) - 4) * 1.6;
            char tt[32];
            mlb_fmt_time(tt, sizeof tt, vals[i][k]);
            mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" "
                             "fill-opacity=\"0.75\" stroke=\"#fff\" stroke-width=\"0.6\">"
                             "<title>repetition %zu: %s</title></circle>\n",
                          mlb_svgi_ax_pos(&a, vals[i][k], left, right), jy, col, k + 1, tt);
        }
        mlb_sb_puts(b, "</g>\n");
    }
    mlb_sb_puts(b, "</svg>\n");
    rc = 1;
out:
    if (vals)
        for (size_t i = 0; i < g->n; i++)
            free(vals[i]);
    free(vals);
    free(nv);
    free(n_ok);
    return rc;
}

/* Median `quantity` (a rate) of one phase per variant, as horizontal bars
 * from 0; with `peak` > 0 a dashed line there and each bar's share of it. */
static int svg_rate_bars(mlb_sbuf *b, const mlb_doc_group *g, const char *phase,
                         const char *quantity, const char *unit, double peak)
{
    char key[96];
    snprintf(key, sizeof key, "phases.%s.%s.median", phase, quantity);
    double hi = peak > 0 ? peak : 0;
    int any = 0;
    for (size_t i = 0; i < g->n; i++) {
        double v = mlb_jnum(mlb_jget(g->runs[i], "summary"), key);
        if (isfinite(v) && v > 0) {
            any = 1;
            hi = v > hi ? v : hi;
        }
    }
    if (!any)
        return 0;
    double left = mlb_svgi_label_margin(g), right = SVG_W - 18, row = 30, top = 12;
    double h = top + row * (double)g->n + 46;
    axis a = {.lo = 0, .hi = hi * 1.22}; /* room for the value after the longest bar */
    double t[MAX_TICKS];
    size_t nt = mlb_svgi_ax_ticks(&a, t);
    double scale = peak >= 0 ? 1 : a.hi >= 2e9 ? 1e9 : a.hi >= 2e6 ? 1e6 : a.hi >= 2e3 ? 1e3 : 1;
    const char *prefix = scale == 1e9 ? "G" : scale == 1e6 ? "M" : scale == 1e3 ? "k" : "";
    char label[96], title[96];
    snprintf(label, sizeof label, "%s %s (median, %s)", phase, unit, *prefix ? prefix : "units");
    if (!*prefix)
        snprintf(label, sizeof label, "%s %s (median)", phase, unit);
    snprintf(title, sizeof title, "median %s %s", phase, unit);
    mlb_svgi_svg_open(b, peak >= 0 ? "bars gflops" : "bars", h, title);
    mlb_svgi_svg_axis(b, &a, t, nt, &(frame){left, right, top, top + row * (double)g->n}, 0, scale, label);
    for (size_t i = 0; i < g->n; i++) {
        double cy = top + row * ((double)i + 0.5);
        double v = mlb_jnum(mlb_jget(g->runs[i], "summary"), key);
        svg_row_label(b, left - 8, cy, mlb_run_variant(g->runs[i]));
        char txt[64];
        if (peak >= 0) {
            mlb_fmt_g(txt, sizeof txt, v);
            if (peak > 0 && isfinite(v))
                snprintf(txt + strlen(txt), sizeof txt - strlen(txt), " (%.0f%% of peak)",
                         100 * v / peak);
        } else
            mlb_fmt_rate(txt, sizeof txt, v);
        double x = isfinite(v) && v > 0 ? mlb_svgi_ax_pos(&a, v, left, right) : left;
        if (x > left)
            mlb_sb_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"18\" "
                             "fill=\"%s\"/>",
                          left, cy - 9, x - left, mlb_svg_color(i));
        mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">%s</text>\n", x + 5, cy + 4,
                      txt);
    }
    if (peak > 0) {
        double x = mlb_svgi_ax_pos(&a, peak, left, right);
        mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#c0392b\" "
                         "stroke-dasharray=\"5 3\"/><text x=\"%.1f\" y=\"%.1f\" "
                         "text-anchor=\"end\" fill=\"#c0392b\">measured peak %.4g</text>\n",
                      x, top, x, top + row * (double)g->n, x - 3, top + 10, peak);
    }
    mlb_sb_puts(b, "</svg>\n");
    return 1;
}

int mlb_svg_bars(mlb_sbuf *b, const mlb_doc_group *g, const char *phase)
{
    return svg_rate_bars(b, g, phase, "items_per_s", "items/s", -1);
}

int mlb_svg_gflops(mlb_sbuf *b, const mlb_doc_group *g, const char *phase, double peak)
{
    return svg_rate_bars(b, g, phase, "gflop_per_s", "GFLOP/s", peak > 0 ? peak : 0);
}

void mlb_svgi_series_free(series_set *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].x);
        free(s->v[i].y);
    }
    free(s->v);
    memset(s, 0, sizeof *s);
}

series *mlb_svgi_series_add(series_set *s, size_t cap, size_t color, int faint)
{
    series *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
    if (!nv)
        return NULL;
    s->v = nv;
    series *r = &s->v[s->n];
    memset(r, 0, sizeof *r);
    r->x = malloc((cap + 1) * sizeof *r->x);
    r->y = malloc((cap + 1) * sizeof *r->y);
    if (!r->x || !r->y) {
        free(r->x);
        free(r->y);
        return NULL;
    }
    r->color = color;
    r->faint = faint;
    s->n++;
    return r;
}

/* At most this many vertices a line: a 4096-point memory timeline would
 * weigh the page down without showing more at this width. */
#define MAX_VERTICES 1200

void mlb_svgi_lines(mlb_sbuf *b, const char *cls, const char *title, const series_set *s,
                    const char *xlabel, const char *ylabel, int y_from_zero, const marker *m,
                    size_t nm)
{
    double xhi = 0, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < s->v[i].n; k++) {
            xhi = s->v[i].x[k] > xhi ? s->v[i].x[k] : xhi;
            ylo = s->v[i].y[k] < ylo ? s->v[i].y[k] : ylo;
            yhi = s->v[i].y[k] > yhi ? s->v[i].y[k] : yhi;
        }
    double left = 62, right = SVG_W - 24, top = 12, bottom = 252, h = 300;
    axis ax = {.lo = 0, .hi = xhi > 0 ? xhi : 1};
    axis ay = {.lo = ylo, .hi = yhi};
    if (y_from_zero && ylo >= 0)
        ay.lo = 0;
    else {
        double pad = (yhi - ylo) * 0.06;
        ay.lo -= pad;
        ay.hi += pad;
    }
    double tx[MAX_TICKS], ty[MAX_TICKS];
    size_t ntx = mlb_svgi_ax_ticks(&ax, tx), nty = mlb_svgi_ax_ticks(&ay, ty);
    double xscale;
    const char *xunit;
    mlb_svgi_time_unit(ax.hi, &xscale, &xunit);
    char xl[160];
    snprintf(xl, sizeof xl, "%s (%s)", xlabel, xunit);
    mlb_svgi_svg_open(b, cls, h, title);
    const frame f = {left, right, top, bottom};
    mlb_svgi_svg_axis(b, &ax, tx, ntx, &f, 0, xscale, xl);
    mlb_svgi_svg_axis(b, &ay, ty, nty, &f, 1, 1, ylabel);
    /* Phase boundaries and the like: a dashed vertical line in the series'
     * colour, labelled at the top. */
    for (size_t i = 0; i < nm; i++) {
        if (!(m[i].x >= ax.lo && m[i].x <= ax.hi))
            continue;
        double x = mlb_svgi_ax_pos(&ax, m[i].x, left, right);
        mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
                         "stroke-dasharray=\"4 3\" stroke-opacity=\"0.8\"/>\n",
                      x, top, x, bottom, mlb_svg_color(m[i].color));
        if (m[i].label) {
            mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\" font-size=\"10\">", x + 2,
                          top + 10 + 11 * (double)(i % 3));
            mlb_sb_html(b, m[i].label);
            mlb_sb_puts(b, "</text>\n");
        }
    }
    /* faint lines first, so that the solid ones stay on top */
    for (int pass = 1; pass >= 0; pass--)
        for (size_t i = 0; i < s->n; i++) {
            const series *r = &s->v[i];
            if (r->faint != pass || !r->n)
                continue;
            const char *col = mlb_svg_color(r->color);
            size_t stride = r->n > MAX_VERTICES ? (r->n + MAX_VERTICES - 1) / MAX_VERTICES : 1;
            mlb_sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"%s\" "
                             "stroke-opacity=\"%s\" stroke-linejoin=\"round\" points=\"",
                          col, pass ? "1" : "2", pass ? "0.3" : "0.95");
            for (size_t k = 0; k < r->n; k += stride) {
                /* the largest y of each stride, so that peaks survive thinning */
                size_t best = k;
                for (size_t j = k; j < k + stride && j < r->n; j++)
                    if (r->y[j] > r->y[best])
                        best = j;
                mlb_sb_printf(b, "%.1f,%.1f ", mlb_svgi_ax_pos(&ax, r->x[best], left, right),
                              mlb_svgi_ax_pos(&ay, r->y[best], bottom, top));
            }
            mlb_sb_puts(b, "\"/>\n");
            if (!pass && r->n <= 40) /* few points: each one visible */
                for (size_t k = 0; k < r->n; k++)
                    mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%s\"/>",
                                  mlb_svgi_ax_pos(&ax, r->x[k], left, right),
                                  mlb_svgi_ax_pos(&ay, r->y[k], bottom, top), col);
            if (!pass && r->n <= 40)
                mlb_sb_puts(b, "\n");
        }
    mlb_sb_puts(b, "</svg>\n");
}

/* The learning-curve quantities of a group: "loss" and each progress metric. */
int mlb_progress_names(const mlb_doc_group *g, mlb_name_list *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep, *pt;
        cJSON_ArrayForEach(rep, mlb_jget(g->runs[i], "repetitions"))
        {
            cJSON_ArrayForEach(pt, mlb_jget(rep, "progress"))
            {
                if (!isfinite(mlb_jnum(pt, "t_s")))
                    continue;
                if (isfinite(mlb_jnum(pt, "loss")) && mlb_names_add(out, "loss", "lower") < 0)
                    return -ENOMEM;
                const char *m = mlb_jstr(pt, "metric");
                if (m && *m && isfinite(mlb_jnum(pt, "value")) && strcmp(m, "loss") != 0 &&
                    mlb_names_add(out, m, NULL) < 0)
                    return -ENOMEM;
            }
        }
    }
    return 0;
}

/* Resident memory of the first successful repetition of each variant, with
 * its phase boundaries at each phase's start_s. */
int mlb_svg_memory(mlb_sbuf *b, const mlb_doc_group *g)
{
    series_set s = {0};
    marker *m = calloc(g->n * MLB_DOC_N_PHASES + 1, sizeof *m);
    size_t nm = 0;
    int labelled = 0; /* phase names on the first variant's boundaries only */
    if (!m)
        return -ENOMEM;
    for (size_t i = 0; i < g->n; i++) {
        const cJSON *rep;
        cJSON_ArrayForEach(rep, mlb_jget(g->runs[i], "repetitions"))
        {
            const cJSON *tl = mlb_jget(rep, "memory_timeline"), *pt;
            int np = cJSON_GetArraySize(tl);
            if (!mlb_rep_ok(rep) || np <= 0)
                continue;
            series *r = mlb_svgi_series_add(&s, (size_t)np, i, 0);
            if (!r) {
                mlb_svgi_series_free(&s);
                free(m);
                return -ENOMEM;
            }
            cJSON_ArrayForEach(pt, tl)
            {
                double t = mlb_jval(cJSON_GetArrayItem(pt, 0));
                double v = mlb_jval(cJSON_GetArrayItem(pt, 1));
                if (isfinite(t) && isfinite(v)) {
                    r->x[r->n] = t;
                    r->y[r->n++] = v / (1024.0 * 1024.0);
                }
            }
            /* A boundary where each phase that ran after the first begins:
             * its start_s, or for a document without it the sum of the
             * earlier phases' wall times. */
            double t0 = 0;
            int first = 1;
            for (size_t ph = 0; ph < MLB_DOC_N_PHASES; ph++) {
                char key[64];
                snprintf(key, sizeof key, "phases.%s.wall_s", mlb_doc_phases[ph]);
                double w = mlb_jnum(rep, key);
                if (!isfinite(w))
                    continue;
                snprintf(key, sizeof key, "phases.%s.start_s", mlb_doc_phases[ph]);
                double st = mlb_jnum(rep, key);
                if (isfinite(st))
                    t0 = st;
                if (!first) {
                    m[nm].x = t0;
                    m[nm].color = i;
                    m[nm++].label = labelled ? NULL : mlb_doc_phases[ph];
                }
                first = 0;
                t0 += w;
            }
            labelled = 1;
            break;
        }
    }
    size_t pts = 0;
    for (size_t i = 0; i < s.n; i++)
        pts += s.v[i].n;
    if (pts)
        mlb_svgi_lines(b, "memory", "resident memory over time", &s, "time since setup began",
                       "resident memory (MiB)", 1, m, nm);
    mlb_svgi_series_free(&s);
    free(m);
    return pts > 0;
}
