/* The log-log plots of a sweep's scaling curves (svg.h). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "export.h"
#include "stats.h"
#include "svg.h"
#include "svg_internal.h"

/* ---- scaling curves of a sweep ------------------------------------------------- */

/* What a scaling[] quantity measures, for titles, and how its values read:
 * seconds, bytes, or a plain number (a quantity this reader does not know). */
enum { Q_TIME, Q_BYTES, Q_PLAIN };

static int scaling_kind(const char *quantity, const char **axis_label, const char **caption)
{
    static const struct {
        const char *name, *axis, *caption;
        int kind;
    } known[] = {
        {"train_s", "train wall time", "Train wall time", Q_TIME},
        {"infer_query_s", "infer query time", "Infer query time (median of each repetition)",
         Q_TIME},
        {"train_rss_added_bytes", "memory added in train",
         "Memory added in train (peak RSS over the RSS at the start)", Q_BYTES},
    };
    for (size_t i = 0; quantity && i < sizeof known / sizeof *known; i++)
        if (!strcmp(quantity, known[i].name)) {
            *axis_label = known[i].axis;
            *caption = known[i].caption;
            return known[i].kind;
        }
    *axis_label = *caption = quantity ? quantity : "?";
    return Q_PLAIN;
}

const char *mlb_scaling_caption(const char *quantity)
{
    const char *axis_label, *caption;
    scaling_kind(quantity, &axis_label, &caption);
    return caption;
}

static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One repetition's value of `quantity`, as the fit took it (scaling.c): train
 * wall time, the median of its infer queries, or train's peak RSS above the
 * RSS when the repetition began. NaN where it has none. */
static double scaling_rep_value(const char *quantity, const cJSON *rep)
{
    if (!mlb_rep_ok(rep) || !quantity)
        return NAN;
    if (!strcmp(quantity, "train_s"))
        return mlb_jnum(rep, "phases.train.wall_s");
    if (!strcmp(quantity, "infer_query_s")) {
        const cJSON *lat = mlb_jget(rep, "infer_latency_s"), *e;
        int n = cJSON_GetArraySize(lat);
        if (n <= 0)
            return NAN;
        double *v = malloc((size_t)n * sizeof *v), m = NAN;
        size_t k = 0;
        if (!v)
            return NAN;
        cJSON_ArrayForEach(e, lat)
        {
            double x = mlb_jval(e);
            if (isfinite(x))
                v[k++] = x;
        }
        if (k) {
            qsort(v, k, sizeof *v, cmp_dbl);
            m = k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
        }
        free(v);
        return m;
    }
    if (!strcmp(quantity, "train_rss_added_bytes")) {
        double peak = mlb_jnum(rep, "phases.train.rss_peak_bytes");
        double start = mlb_jval(cJSON_GetArrayItem(
            cJSON_GetArrayItem(mlb_jget(rep, "memory_timeline"), 0), 1));
        return peak - start;
    }
    return NAN;
}

/* The value of swept parameter `param` at group `id`: groups[].point. */
static double group_point(const cJSON *doc, double id, const char *param)
{
    const cJSON *g;
    cJSON_ArrayForEach(g, mlb_jget(doc, "groups"))
    {
        if (mlb_jnum(g, "index") != id)
            continue;
        const cJSON *v = mlb_jget(mlb_jget(g, "point"), param);
        if (cJSON_IsNumber(v))
            return mlb_jval(v);
        if (cJSON_IsString(v)) {
            char *end;
            double x = strtod(v->valuestring, &end);
            return *v->valuestring && !*end ? x : NAN;
        }
        return NAN;
    }
    return NAN;
}

/* The run of `variant` (of `task`) in the group with id `id`, or NULL. */
static const cJSON *group_run(const mlb_doc_group_list *gl, double id, const char *task,
                              const char *variant, size_t *pos)
{
    for (size_t k = 0; k < gl->n; k++) {
        if (gl->v[k].id != id)
            continue;
        for (size_t i = 0; i < gl->v[k].n; i++) {
            const cJSON *r = gl->v[k].runs[i];
            const char *v = mlb_jstr(r, "variant"), *t = mlb_jstr(r, "task");
            if (v && variant && !strcmp(v, variant) && (!task || (t && !strcmp(t, task)))) {
                if (pos)
                    *pos = i;
                return r;
            }
        }
        return NULL;
    }
    return NULL;
}

size_t mlb_scaling_color(const mlb_doc_group_list *gl, const cJSON *fit, size_t fallback)
{
    size_t pos;
    double id = mlb_jval(cJSON_GetArrayItem(mlb_jget(fit, "groups"), 0));
    if (group_run(gl, id, mlb_jstr(fit, "task"), mlb_jstr(fit, "variant"), &pos))
        return pos;
    return fallback;
}

/* The fitted curve at x: coefficient·x^exponent, plus the floor of an
 * offset power law. */
static double fit_at(const cJSON *fit, double x)
{
    double a = mlb_jnum(fit, "coefficient"), e = mlb_jnum(fit, "exponent");
    double floor_c = mlb_jnum(fit, "floor");
    const char *model = mlb_jstr(fit, "model");
    double y = a * pow(x, e);
    if (model && !strcmp(model, "offset_power") && isfinite(floor_c))
        y += floor_c;
    return y;
}

/* A log axis over [lo, hi] (both > 0): the 1-2-5 ticks of ax_ticks, or,
 * where the range is too narrow for three of them, linear steps placed on
 * the log scale, so that the plot stays log-log and its ticks can be read. */
static size_t log_axis(axis *a, double *t)
{
    double lo = a->lo, hi = a->hi;
    a->log = 1;
    size_t n = mlb_svgi_ax_ticks(a, t);
    if (a->log && n >= 3)
        return n;
    int digits = a->digits;
    *a = (axis){.lo = lo / 1.25, .hi = hi * 1.25, .digits = digits};
    n = mlb_svgi_ax_ticks(a, t);
    a->log = 1;
    if (!(a->lo > 0))
        a->lo = lo / 1.25;
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] >= a->lo && t[i] <= a->hi)
            t[m++] = t[i];
    return m;
}

typedef struct {
    double x, y; /* y in the axis's units */
    size_t fit;
    size_t group_pos, rep; /* which listed group, which repetition */
} scal_point;

#define FIT_SAMPLES 48

/* The legend's entries after the variants' (solid: the medians). */
static const char *const legend_marks[2] = {"fitted curve", "one repetition"};

int mlb_svg_scaling(mlb_sbuf *b, const cJSON *doc, const mlb_doc_group_list *gl,
                    const cJSON *const *fits, size_t n)
{
    if (!n)
        return 0;
    const char *qname = mlb_jstr(fits[0], "quantity"), *qlabel, *qcaption; /* the figure's */
    const char *param = mlb_jstr(fits[0], "param"), *task = mlb_jstr(fits[0], "task");
    int kind = scaling_kind(qname, &qlabel, &qcaption);
    scal_point *pts = NULL;
    size_t npts = 0, cap = 0, *color = calloc(n, sizeof *color);
    int rc = 0;
    if (!color)
        return -ENOMEM;
    /* The raw values first (in the document's units), for the extents. */
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
#define EXTEND(X, Y)                                                                             \
    do {                                                                                         \
        xlo = (X) < xlo ? (X) : xlo;                                                             \
        xhi = (X) > xhi ? (X) : xhi;                                                             \
        ylo = (Y) < ylo ? (Y) : ylo;                                                             \
        yhi = (Y) > yhi ? (Y) : yhi;                                                             \
    } while (0)
    for (size_t f = 0; f < n; f++) {
        const cJSON *fit = fits[f], *gid;
        color[f] = mlb_scaling_color(gl, fit, f);
        size_t gp = 0;
        cJSON_ArrayForEach(gid, mlb_jget(fit, "groups"))
        {
            double x = group_point(doc, mlb_jval(gid), param);
            const cJSON *run =
                group_run(gl, mlb_jval(gid), task, mlb_jstr(fit, "variant"), NULL), *rep;
            size_t k = 0;
            cJSON_ArrayForEach(rep, mlb_jget(run, "repetitions"))
            {
                double y = scaling_rep_value(qname, rep);
                k++;
                if (!(x > 0) || !isfinite(x) || !(y > 0) || !isfinite(y))
                    continue;
                if (npts == cap) {
                    size_t nc = cap ? 2 * cap : 64;
                    scal_point *np = realloc(pts, nc * sizeof *np);
                    if (!np) {
                        rc = -ENOMEM;
                        goto out;
                    }
                    pts = np;
                    cap = nc;
                }
                pts[npts++] = (scal_point){x, y, f, gp, k};
                EXTEND(x, y);
            }
            gp++;
        }
        const cJSON *xs = mlb_jget(fit, "x"), *ms = mlb_jget(fit, "median");
        double fx0 = INFINITY, fx1 = -INFINITY;
        for (int i = 0; i < cJSON_GetArraySize(xs); i++) {
            double x = mlb_jval(cJSON_GetArrayItem(xs, i)),
                   y = mlb_jval(cJSON_GetArrayItem(ms, i));
            if (!(x > 0) || !isfinite(x))
                continue;
            fx0 = x < fx0 ? x : fx0;
            fx1 = x > fx1 ? x : fx1;
            if (y > 0 && isfinite(y))
                EXTEND(x, y);
        }
        for (int s = 0; fx1 >= fx0 && s < FIT_SAMPLES; s++) {
            double x = fx0 * pow(fx1 / fx0, (double)s / (FIT_SAMPLES - 1)), y = fit_at(fit, x);
            if (y > 0 && isfinite(y))
                EXTEND(x, y);
        }
    }
#undef EXTEND
    if (!(yhi > 0) || !(xhi > 0))
        goto out; /* nothing positive to draw */

    /* The y axis in display units: s, ms or µs; KiB, MiB or GiB. */
    double yscale = 1;
    const char *yunit = "";
    if (kind == Q_TIME)
        mlb_svgi_time_unit(yhi, &yscale, &yunit);
    else if (kind == Q_BYTES) {
        yscale = yhi >= 1024.0 * 1024 * 1024 ? 1024.0 * 1024 * 1024
               : yhi >= 1024.0 * 1024       ? 1024.0 * 1024
                                            : 1024.0;
        yunit = yscale > 1024.0 * 1024 ? "GiB" : yscale > 1024.0 ? "MiB" : "KiB";
    }
    const double left = 66, right = SVG_W - 20, top = 12, bottom = 244;
    axis ay = {.lo = ylo / yscale, .hi = yhi / yscale};
    double ty[MAX_TICKS], tx[MAX_TICKS];
    size_t nty = log_axis(&ay, ty);
    /* x: ticks at the swept values where they are few and far enough apart
     * to be read, else 1-2-5 steps. */
    double vals[MAX_TICKS];
    size_t nv = 0;
    int too_many = 0;
    for (size_t f = 0; f < n && !too_many; f++) {
        const cJSON *xs = mlb_jget(fits[f], "x");
        for (int i = 0; i < cJSON_GetArraySize(xs); i++) {
            double x = mlb_jval(cJSON_GetArrayItem(xs, i));
            int seen = !(x > 0) || !isfinite(x);
            for (size_t k = 0; k < nv && !seen; k++)
                seen = vals[k] == x;
            if (seen)
                continue;
            if (nv == 12) {
                too_many = 1;
                break;
            }
            vals[nv++] = x;
        }
    }
    axis ax = {.lo = xlo, .hi = xhi, .log = 1, .digits = 6};
    size_t ntx = 0;
    if (!too_many && nv >= 2) {
        qsort(vals, nv, sizeof *vals, cmp_dbl);
        ax.lo = xlo / 1.15;
        ax.hi = xhi * 1.15;
        double gap = INFINITY;
        for (size_t k = 1; k < nv; k++) {
            double d = mlb_svgi_ax_pos(&ax, vals[k], left, right) - mlb_svgi_ax_pos(&ax, vals[k - 1], left, right);
            gap = d < gap ? d : gap;
        }
        if (gap >= 34) {
            memcpy(tx, vals, nv * sizeof *vals);
            ntx = nv;
        }
    }
    if (!ntx) {
        ax = (axis){.lo = xlo, .hi = xhi, .digits = 6};
        ntx = log_axis(&ax, tx);
    }

    /* The legend under the plot: each variant's line, then what the marks are. */
    double lx = left, ly = bottom + 50;
    double *legx = malloc((n + 2) * sizeof *legx), *legy = malloc((n + 2) * sizeof *legy);
    if (!legx || !legy) {
        free(legx);
        free(legy);
        rc = -ENOMEM;
        goto out;
    }
    for (size_t f = 0; f < n + 2; f++) {
        const char *name = f < n ? mlb_run_variant(fits[f]) : legend_marks[f - n];
        double w = 30 + 6.5 * (double)strlen(name) + 14;
        if (f < n && isfinite(mlb_jnum(fits[f], "exponent")))
            w += 6.5 * 11; /* " (b = 2.65)" */
        if (lx + w > right && lx > left) {
            lx = left;
            ly += 16;
        }
        legx[f] = lx;
        legy[f] = ly;
        lx += w;
    }
    double h = ly + 12;

    char ylabel[160], xlabel[160];
    /* The title names the slice: "gemm: train wall time against m (n=32), log-log". */
    mlb_sbuf title = {0};
    mlb_sb_printf(&title, "%s: %s against %s", mlb_or_dash(task), qlabel, mlb_or_dash(param));
    const cJSON *fv;
    int first_fixed = 1;
    cJSON_ArrayForEach(fv, mlb_jget(fits[0], "fixed"))
    {
        char num[64];
        const char *text = cJSON_IsString(fv) ? fv->valuestring : NULL;
        if (cJSON_IsNumber(fv)) {
            mlb_fmt_exact(num, sizeof num, mlb_jval(fv));
            text = num;
        }
        mlb_sb_printf(&title, "%s%s=%s", first_fixed ? " (" : " ", fv->string ? fv->string : "?",
                      mlb_or_dash(text));
        first_fixed = 0;
    }
    mlb_sb_printf(&title, "%s, log-log", first_fixed ? "" : ")");
    if (title.oom) {
        free(title.s);
        free(legx);
        free(legy);
        rc = -ENOMEM;
        goto out;
    }
    snprintf(ylabel, sizeof ylabel, "%s%s%s%s%s", qlabel, *yunit ? " (" : "", yunit,
             *yunit ? ")" : "", ay.log ? ", log scale" : "");
    snprintf(xlabel, sizeof xlabel, "%s%s", mlb_or_dash(param), ax.log ? ", log scale" : "");
    mlb_svgi_svg_open(b, "scaling", h, title.s);
    free(title.s);
    const frame fr = {left, right, top, bottom};
    mlb_svgi_svg_axis(b, &ax, tx, ntx, &fr, 0, 1, xlabel);
    mlb_svgi_svg_axis(b, &ay, ty, nty, &fr, 1, 1, ylabel);
    /* Each repetition, faint, under the lines; a fixed jitter by repetition
     * so that equal values still show apart. */
    for (size_t i = 0; i < npts; i++) {
        const scal_point *p = &pts[i];
        char v[48], xv[48];
        if (kind == Q_TIME)
            mlb_fmt_time(v, sizeof v, p->y);
        else if (kind == Q_BYTES)
            mlb_fmt_bytes(v, sizeof v, p->y);
        else
            mlb_fmt_g(v, sizeof v, p->y);
        mlb_fmt_exact(xv, sizeof xv, p->x);
        mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"%s\" "
                         "fill-opacity=\"0.3\"><title>",
                      mlb_svgi_ax_pos(&ax, p->x, left, right) + ((double)((p->rep * 7) % 5) - 2) * 1.3,
                      mlb_svgi_ax_pos(&ay, p->y / yscale, bottom, top), mlb_svg_color(color[p->fit]));
        mlb_sb_html(b, mlb_run_variant(fits[p->fit]));
        mlb_sb_puts(b, ", ");
        mlb_sb_html(b, param);
        mlb_sb_printf(b, " = %s, repetition %zu: %s</title></circle>\n", xv, p->rep, v);
    }
    /* The fitted curves, dashed, over the swept range. */
    for (size_t f = 0; f < n; f++) {
        const cJSON *fit = fits[f], *xs = mlb_jget(fit, "x");
        double fx0 = INFINITY, fx1 = -INFINITY;
        for (int i = 0; i < cJSON_GetArraySize(xs); i++) {
            double x = mlb_jval(cJSON_GetArrayItem(xs, i));
            if (x > 0 && isfinite(x)) {
                fx0 = x < fx0 ? x : fx0;
                fx1 = x > fx1 ? x : fx1;
            }
        }
        if (!(fx1 > fx0))
            continue;
        int started = 0;
        for (int s = 0; s < FIT_SAMPLES; s++) {
            double x = fx0 * pow(fx1 / fx0, (double)s / (FIT_SAMPLES - 1)), y = fit_at(fit, x);
            if (!(y > 0) || !isfinite(y))
                continue;
            if (!started)
                mlb_sb_printf(b, "<path class=\"fit\" fill=\"none\" stroke=\"%s\" "
                                 "stroke-width=\"1.5\" stroke-dasharray=\"6 4\" d=\"",
                              mlb_svg_color(color[f]));
            mlb_sb_printf(b, "%s%.1f,%.1f", started ? " L" : "M", mlb_svgi_ax_pos(&ax, x, left, right),
                          mlb_svgi_ax_pos(&ay, y / yscale, bottom, top));
            started = 1;
        }
        if (!started)
            continue;
        char co[32], ex[32], fl[48];
        mlb_fmt_g(co, sizeof co, mlb_jnum(fit, "coefficient"));
        snprintf(ex, sizeof ex, "%.2f", mlb_jnum(fit, "exponent"));
        mlb_sb_puts(b, "\"><title>");
        mlb_sb_html(b, mlb_run_variant(fit));
        mlb_sb_puts(b, " fit: ");
        const char *model = mlb_jstr(fit, "model");
        if (model && !strcmp(model, "offset_power") && isfinite(mlb_jnum(fit, "floor"))) {
            if (kind == Q_BYTES)
                mlb_fmt_bytes(fl, sizeof fl, mlb_jnum(fit, "floor"));
            else
                mlb_fmt_g(fl, sizeof fl, mlb_jnum(fit, "floor"));
            mlb_sb_printf(b, "%s + ", fl);
        }
        mlb_sb_printf(b, "%s\xc2\xb7x^%s</title></path>\n", co, ex);
    }
    /* The medians of each size, solid, on top. */
    for (size_t f = 0; f < n; f++) {
        const cJSON *fit = fits[f], *xs = mlb_jget(fit, "x"), *ms = mlb_jget(fit, "median");
        const char *col = mlb_svg_color(color[f]);
        mlb_sb_printf(b, "<polyline class=\"median\" fill=\"none\" stroke=\"%s\" "
                         "stroke-width=\"2\" stroke-linejoin=\"round\" points=\"",
                      col);
        for (int i = 0; i < cJSON_GetArraySize(xs); i++) {
            double x = mlb_jval(cJSON_GetArrayItem(xs, i)), y = mlb_jval(cJSON_GetArrayItem(ms, i));
            if (x > 0 && y > 0 && isfinite(x) && isfinite(y))
                mlb_sb_printf(b, "%.1f,%.1f ", mlb_svgi_ax_pos(&ax, x, left, right),
                              mlb_svgi_ax_pos(&ay, y / yscale, bottom, top));
        }
        mlb_sb_puts(b, "\"><title>");
        mlb_sb_html(b, mlb_run_variant(fit));
        mlb_sb_puts(b, ": median of each size</title></polyline>\n");
        for (int i = 0; i < cJSON_GetArraySize(xs); i++) {
            double x = mlb_jval(cJSON_GetArrayItem(xs, i)), y = mlb_jval(cJSON_GetArrayItem(ms, i));
            if (!(x > 0 && y > 0 && isfinite(x) && isfinite(y)))
                continue;
            char v[48], xv[48];
            if (kind == Q_TIME)
                mlb_fmt_time(v, sizeof v, y);
            else if (kind == Q_BYTES)
                mlb_fmt_bytes(v, sizeof v, y);
            else
                mlb_fmt_g(v, sizeof v, y);
            mlb_fmt_exact(xv, sizeof xv, x);
            mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>",
                          mlb_svgi_ax_pos(&ax, x, left, right), mlb_svgi_ax_pos(&ay, y / yscale, bottom, top), col);
            mlb_sb_html(b, mlb_run_variant(fit));
            mlb_sb_puts(b, ", ");
            mlb_sb_html(b, param);
            mlb_sb_printf(b, " = %s: median %s</title></circle>\n", xv, v);
        }
    }
    for (size_t f = 0; f < n + 2; f++) {
        double x = legx[f], y = legy[f];
        const char *col = f < n ? mlb_svg_color(color[f]) : "#555";
        if (f < n)
            mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"%s\" stroke-width=\"2\"/>",
                          x, y, x + 24, y, col);
        else if (f == n)
            mlb_sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                             "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>",
                          x, y, x + 24, y, col);
        else
            mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.4\" fill=\"%s\" "
                             "fill-opacity=\"0.3\"/>",
                          x + 12, y, col);
        mlb_sb_printf(b, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#222\">", x + 30, y + 4);
        mlb_sb_html(b, f < n ? mlb_run_variant(fits[f]) : legend_marks[f - n]);
        mlb_sb_puts(b, "</text>");
        /* The fitted exponent, so that the legend reads as the table. */
        double e = f < n ? mlb_jnum(fits[f], "exponent") : NAN;
        if (isfinite(e)) {
            const char *name = mlb_run_variant(fits[f]);
            mlb_sb_printf(b, "<text class=\"b\" x=\"%.1f\" y=\"%.1f\" fill=\"#555\">(b = %.2f)"
                             "</text>",
                          x + 30 + 6.5 * (double)strlen(name) + 4, y + 4, e);
        }
        mlb_sb_puts(b, "\n");
    }
    mlb_sb_puts(b, "</svg>\n");
    free(legx);
    free(legy);
    rc = 1;
out:
    free(pts);
    free(color);
    return rc;
}
