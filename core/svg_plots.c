/* The distribution plots of the HTML report (svg.h): learning curves as a
 * median with its 20-80% band over the repetitions, and the infer latency
 * ECDF. Drawn from the repetitions, so that the spread is visible, not only
 * the summaries. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "svg.h"
#include "svg_internal.h"

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Quantile p of sorted v[0..n) by R's type 7, as the stats module. */
static double quantile7(const double *v, size_t n, double p)
{
    if (!n)
        return NAN;
    double h = (double)(n - 1) * p;
    size_t lo = (size_t)floor(h);
    size_t hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

/* ---- learning curves ------------------------------------------------------------ */

/* One variant's curve: per point index k, the median of x and the median,
 * 20% and 80% quantiles of y over the repetitions that have a k-th point. */
typedef struct {
    double *x, *med, *lo, *hi;
    size_t n, reps;
} band;

static void band_free(band *bd)
{
    free(bd->x);
    free(bd->med);
    free(bd->lo);
    free(bd->hi);
}

/* A progress point's value of `name`; NaN where it has none. */
static double point_value(const cJSON *pt, const char *name)
{
    if (!strcmp(name, "loss"))
        return mlb_jnum(pt, "loss");
    const char *m = mlb_jstr(pt, "metric");
    return m && !strcmp(m, name) ? mlb_jnum(pt, "value") : NAN;
}

/* The points of a repetition that carry `name` (and a time): their count. */
static size_t rep_points(const cJSON *rep, const char *name)
{
    size_t n = 0;
    const cJSON *pt;
    cJSON_ArrayForEach(pt, mlb_jget(rep, "progress"))
        n += isfinite(mlb_jnum(pt, "t_s")) && isfinite(point_value(pt, name));
    return n;
}

static int band_build(const cJSON *run, const char *name, int by_step, band *bd)
{
    memset(bd, 0, sizeof *bd);
    const cJSON *reps = mlb_jget(run, "repetitions"), *rep, *pt;
    size_t nrep = (size_t)cJSON_GetArraySize(reps), most = 0;
    cJSON_ArrayForEach(rep, reps)
    {
        size_t k = mlb_rep_ok(rep) ? rep_points(rep, name) : 0;
        most = k > most ? k : most;
        bd->reps += k > 0;
    }
    if (!most)
        return 0;
    double *xs = malloc((nrep + 1) * sizeof *xs), *ys = malloc((nrep + 1) * sizeof *ys);
    bd->x = malloc(most * sizeof *bd->x);
    bd->med = malloc(most * sizeof *bd->med);
    bd->lo = malloc(most * sizeof *bd->lo);
    bd->hi = malloc(most * sizeof *bd->hi);
    if (!xs || !ys || !bd->x || !bd->med || !bd->lo || !bd->hi) {
        free(xs);
        free(ys);
        band_free(bd);
        return -ENOMEM;
    }
    /* Point k of each repetition: the same epoch or step in a deterministic
     * schedule, so that its values across repetitions are one distribution. */
    for (size_t k = 0; k < most; k++) {
        size_t n = 0;
        cJSON_ArrayForEach(rep, reps)
        {
            if (!mlb_rep_ok(rep))
                continue;
            size_t j = 0;
            cJSON_ArrayForEach(pt, mlb_jget(rep, "progress"))
            {
                double t = mlb_jnum(pt, "t_s"), v = point_value(pt, name);
                if (!isfinite(t) || !isfinite(v))
                    continue;
                if (j++ != k)
                    continue;
                double step = mlb_jnum(pt, "step");
                xs[n] = by_step ? (isfinite(step) ? step : (double)(k + 1)) : t;
                ys[n++] = v;
                break;
            }
        }
        if (!n)
            continue;
        qsort(xs, n, sizeof *xs, cmp_dbl);
        qsort(ys, n, sizeof *ys, cmp_dbl);
        bd->x[bd->n] = quantile7(xs, n, 0.5);
        bd->med[bd->n] = quantile7(ys, n, 0.5);
        bd->lo[bd->n] = quantile7(ys, n, 0.2);
        bd->hi[bd->n++] = quantile7(ys, n, 0.8);
    }
    free(xs);
    free(ys);
    return bd->n > 0;
}

int mlb_svg_progress(mlb_sbuf *b, const mlb_doc_group *g, const char *name, int by_step)
{
    band *bd = calloc(g->n, sizeof *bd);
    if (!bd)
        return -ENOMEM;
    int rc = 0;
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t i = 0; i < g->n; i++) {
        int e = band_build(g->runs[i], name, by_step, &bd[i]);
        if (e < 0) {
            rc = e;
            goto out;
        }
        for (size_t k = 0; k < bd[i].n; k++) {
            xlo = fmin(xlo, bd[i].x[k]);
            xhi = fmax(xhi, bd[i].x[k]);
            ylo = fmin(ylo, bd[i].lo[k]);
            yhi = fmax(yhi, bd[i].hi[k]);
        }
    }
    if (!(xhi >= xlo))
        goto out;
    double left = 62, right = SVG_W - 24, top = 12, bottom = 252, h = 300;
    axis ax = {.lo = by_step ? (xlo < 1 ? xlo : 0) : 0, .hi = xhi > 0 ? xhi : 1};
    double pad = (yhi - ylo) * 0.06;
    axis ay = {.lo = ylo - pad, .hi = yhi + pad};
    double tx[MAX_TICKS], ty[MAX_TICKS];
    size_t ntx = mlb_svgi_ax_ticks(&ax, tx), nty = mlb_svgi_ax_ticks(&ay, ty);
    double xscale = 1;
    const char *xunit = "";
    char xl[96], title[160];
    if (by_step)
        snprintf(xl, sizeof xl, "step");
    else {
        mlb_svgi_time_unit(ax.hi, &xscale, &xunit);
        snprintf(xl, sizeof xl, "time since train began (%s)", xunit);
    }
    snprintf(title, sizeof title, "%s during training against %s (median, 20-80%% band)", name,
             by_step ? "step" : "time");
    mlb_svgi_svg_open(b, by_step ? "curve steps" : "curve", h, title);
    const frame f = {left, right, top, bottom};
    mlb_svgi_svg_axis(b, &ax, tx, ntx, &f, 0, xscale, xl);
    mlb_svgi_svg_axis(b, &ay, ty, nty, &f, 1, 1, name);
    for (size_t i = 0; i < g->n; i++) {
        const band *d = &bd[i];
        if (!d->n)
            continue;
        const char *col = mlb_svg_color(i);
        if (d->reps > 1) { /* the band: along the 80% line, back along the 20% */
            mlb_sb_printf(b, "<polygon fill=\"%s\" fill-opacity=\"0.16\" stroke=\"none\" "
                             "points=\"",
                          col);
            for (size_t k = 0; k < d->n; k++)
                mlb_sb_printf(b, "%.1f,%.1f ", mlb_svgi_ax_pos(&ax, d->x[k], left, right),
                              mlb_svgi_ax_pos(&ay, d->hi[k], bottom, top));
            for (size_t k = d->n; k-- > 0;)
                mlb_sb_printf(b, "%.1f,%.1f ", mlb_svgi_ax_pos(&ax, d->x[k], left, right),
                              mlb_svgi_ax_pos(&ay, d->lo[k], bottom, top));
            mlb_sb_puts(b, "\"/>\n");
        }
        mlb_sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                         "stroke-linejoin=\"round\" points=\"",
                      col);
        for (size_t k = 0; k < d->n; k++)
            mlb_sb_printf(b, "%.1f,%.1f ", mlb_svgi_ax_pos(&ax, d->x[k], left, right),
                          mlb_svgi_ax_pos(&ay, d->med[k], bottom, top));
        mlb_sb_puts(b, "\"/>\n");
        if (d->n <= 40)
            for (size_t k = 0; k < d->n; k++)
                mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.2\" fill=\"%s\"/>",
                              mlb_svgi_ax_pos(&ax, d->x[k], left, right),
                              mlb_svgi_ax_pos(&ay, d->med[k], bottom, top), col);
        mlb_sb_puts(b, "\n");
    }
    mlb_sb_puts(b, "</svg>\n");
    rc = 1;
out:
    for (size_t i = 0; i < g->n; i++)
        band_free(&bd[i]);
    free(bd);
    return rc;
}

/* ---- infer latency ---------------------------------------------------------------- */

/* At most this many steps a variant's ECDF: quantiles past it add nothing
 * visible at this width. */
#define ECDF_POINTS 400

/* Every query latency of a run's successful repetitions, sorted; *n 0 when
 * none. */
static int run_latencies(const cJSON *run, double **out, size_t *n)
{
    const cJSON *rep, *e;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    cJSON_ArrayForEach(rep, mlb_jget(run, "repetitions"))
        if (mlb_rep_ok(rep))
            cap += (size_t)cJSON_GetArraySize(mlb_jget(rep, "infer_latency_s"));
    if (!cap)
        return 0;
    double *v = malloc(cap * sizeof *v);
    if (!v)
        return -ENOMEM;
    cJSON_ArrayForEach(rep, mlb_jget(run, "repetitions"))
    {
        if (!mlb_rep_ok(rep))
            continue;
        cJSON_ArrayForEach(e, mlb_jget(rep, "infer_latency_s"))
        {
            double x = mlb_jval(e);
            if (isfinite(x) && x > 0 && *n < cap)
                v[(*n)++] = x;
        }
    }
    qsort(v, *n, sizeof *v, cmp_dbl);
    *out = v;
    return 0;
}

int mlb_svg_latency(mlb_sbuf *b, const mlb_doc_group *g)
{
    double **lat = calloc(g->n, sizeof *lat);
    size_t *nl = calloc(g->n, sizeof *nl);
    int rc = 0;
    if (!lat || !nl) {
        rc = -ENOMEM;
        goto out;
    }
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < g->n; i++) {
        if ((rc = run_latencies(g->runs[i], &lat[i], &nl[i])) < 0)
            goto out;
        if (nl[i]) {
            lo = fmin(lo, lat[i][0]);
            hi = fmax(hi, lat[i][nl[i] - 1]);
        }
    }
    if (!(hi >= lo))
        goto out;
    double left = 62, right = SVG_W - 24, top = 12, bottom = 252, h = 300;
    axis ax = {.lo = lo, .hi = hi, .log = hi / lo > 20};
    if (!ax.log) {
        double pad = (hi - lo) * 0.05;
        ax.lo = lo - pad > 0 ? lo - pad : 0;
        ax.hi = hi + pad;
    }
    axis ay = {.lo = 0, .hi = 1};
    double tx[MAX_TICKS], ty[MAX_TICKS];
    size_t ntx = mlb_svgi_ax_ticks(&ax, tx), nty = mlb_svgi_ax_ticks(&ay, ty);
    double scale;
    const char *unit;
    mlb_svgi_time_unit(ax.hi, &scale, &unit);
    char xl[96];
    snprintf(xl, sizeof xl, "infer query latency (%s)%s", unit, ax.log ? ", log scale" : "");
    mlb_svgi_svg_open(b, "latency", h, "empirical CDF of infer query latency");
    const frame f = {left, right, top, bottom};
    mlb_svgi_svg_axis(b, &ax, tx, ntx, &f, 0, scale, xl);
    mlb_svgi_svg_axis(b, &ay, ty, nty, &f, 1, 1, "fraction of queries at or below");
    /* The three quantiles a service level is stated in, as guides. */
    static const double qs[3] = {0.5, 0.9, 0.99};
    static const char *const qname[3] = {"p50", "p90", "p99"};
    for (int k = 0; k < 3; k++) {
        double y = mlb_svgi_ax_pos(&ay, qs[k], bottom, top);
        mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#9aa3ad\" "
                         "stroke-dasharray=\"3 3\"/><text x=\"%.1f\" y=\"%.1f\" fill=\"#555\" "
                         "text-anchor=\"end\" font-size=\"10\">%s</text>\n",
                      left, y, right, y, right - 2, y - 3, qname[k]);
    }
    for (size_t i = 0; i < g->n; i++) {
        if (!nl[i])
            continue;
        const char *col = mlb_svg_color(i);
        size_t n = nl[i], steps = n < ECDF_POINTS ? n : ECDF_POINTS;
        mlb_sb_printf(b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" points=\"", col);
        double prev_y = bottom;
        for (size_t s = 0; s < steps; s++) {
            /* The s-th of `steps` evenly spaced order statistics. */
            size_t k = steps == n ? s : (size_t)((double)(s + 1) * (double)n / (double)steps) - 1;
            double x = mlb_svgi_ax_pos(&ax, lat[i][k], left, right);
            double y = mlb_svgi_ax_pos(&ay, (double)(k + 1) / (double)n, bottom, top);
            mlb_sb_printf(b, "%.1f,%.1f %.1f,%.1f ", x, prev_y, x, y);
            prev_y = y;
        }
        mlb_sb_puts(b, "\"/>\n");
        /* The summary's percentiles (over the same queries): where the curve
         * crosses each guide, a marked point. */
        const cJSON *sum = mlb_jpath(g->runs[i], "summary.infer_latency_s");
        for (int k = 0; k < 3; k++) {
            double v = mlb_jnum(sum, qname[k]);
            if (!(v >= ax.lo && v <= ax.hi))
                continue;
            mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\" "
                             "stroke=\"#fff\"/>",
                          mlb_svgi_ax_pos(&ax, v, left, right),
                          mlb_svgi_ax_pos(&ay, qs[k], bottom, top), col);
        }
        mlb_sb_puts(b, "\n");
    }
    mlb_sb_puts(b, "</svg>\n");
    rc = 1;
out:
    if (lat)
        for (size_t i = 0; i < g->n; i++)
            free(lat[i]);
    free(lat);
    free(nl);
    return rc;
}
