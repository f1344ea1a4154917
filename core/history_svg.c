/* The page of `history --html`: one small SVG per series, self-contained
 * (inline CSS and SVG, no script), every number written out as text so that
 * nothing is only on hover and the page prints whole. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "export.h"
#include "history.h"
#include "textbuf.h"

#define W 640
#define H 150
#define ML 64 /* left margin: the y labels */
#define MR 12
#define MT 12
#define MB 34 /* bottom: commit labels */

static double px(size_t i, size_t n)
{
    return n > 1 ? ML + (double)i * (W - ML - MR) / (double)(n - 1) : ML + (W - ML - MR) / 2.0;
}

static double py(double v, double lo, double hi)
{
    return MT + (hi - v) / (hi - lo) * (H - MT - MB);
}

static void plot(mlb_sbuf *b, const mlb_hist_series *s, double thr)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < s->n; i++) {
        const mlb_hist_point *p = &s->pts[i];
        double a = isfinite(p->lo) ? p->lo : p->median, z = isfinite(p->hi) ? p->hi : p->median;
        lo = fmin(lo, fmin(a, p->median));
        hi = fmax(hi, fmax(z, p->median));
    }
    if (!(hi > lo)) {
        lo = lo * 0.9;
        hi = hi * 1.1 + 1e-12;
    }
    double pad = (hi - lo) * 0.08;
    lo = fmax(0, lo - pad);
    hi += pad;
    mlb_sb_printf(b, "<svg class=\"plot history\" viewBox=\"0 0 %d %d\" width=\"%d\" height=\"%d\" "
                     "role=\"img\" xmlns=\"http://www.w3.org/2000/svg\">\n",
                  W, H, W, H);
    /* y axis: the extremes and the middle, in the document's unit (s). */
    for (int k = 0; k <= 2; k++) {
        double v = lo + (hi - lo) * k / 2.0;
        char t[32];
        mlb_fmt_time(t, sizeof t, v);
        double y = py(v, lo, hi);
        mlb_sb_printf(b, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" class=\"grid\"/>"
                         "<text x=\"%d\" y=\"%.1f\" class=\"yl\">%s</text>\n",
                      ML, W - MR, y, y, ML - 4, y + 4, t);
    }
    /* Segments: each final segment's typical value as a flat line. */
    size_t a = 0;
    for (size_t k = 0; k <= s->n_steps; k++) {
        size_t e = k < s->n_steps ? s->steps[k].at : s->n;
        double v = k < s->n_steps ? s->steps[k].before : (s->n_steps ? s->steps[k - 1].after : NAN);
        if (isfinite(v))
            mlb_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"seg\"/>\n",
                          px(a, s->n), px(e - 1, s->n), py(v, lo, hi), py(v, lo, hi));
        a = e;
    }
    for (size_t i = 0; i < s->n; i++) {
        const mlb_hist_point *p = &s->pts[i];
        double x = px(i, s->n);
        if (isfinite(p->lo) && isfinite(p->hi))
            mlb_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\" class=\"ci\"/>",
                          x, x, py(p->lo, lo, hi), py(p->hi, lo, hi));
        mlb_sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" class=\"pt\"/>\n", x,
                      py(p->median, lo, hi));
    }
    for (size_t k = 0; k < s->n_steps; k++) {
        const mlb_hist_step *st = &s->steps[k];
        double x = (px(st->at - 1, s->n) + px(st->at, s->n)) / 2;
        const char *cls =
            st->change > 0 ? (mlb_history_step_persists(s, k, thr) ? "reg bad" : "reg") : "imp";
        mlb_sb_printf(b, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\" class=\"step %s\"/>"
                         "<text x=\"%.1f\" y=\"%d\" class=\"sl %s\">%+.1f%% ",
                      x, x, MT, H - MB, cls, x + 3, MT + 10, cls, st->change * 100);
        mlb_sb_html(b, s->pts[st->at].commit);
        mlb_sb_puts(b, "</text>\n");
    }
    /* x axis: the first and last commits (all of them are in the table). */
    if (s->n) {
        mlb_sb_printf(b, "<text x=\"%d\" y=\"%d\" class=\"xl\">", ML, H - 8);
        mlb_sb_html(b, s->pts[0].commit);
        mlb_sb_printf(b, "</text><text x=\"%d\" y=\"%d\" class=\"xl end\">", W - MR, H - 8);
        mlb_sb_html(b, s->pts[s->n - 1].commit);
        mlb_sb_puts(b, "</text>\n");
    }
    mlb_sb_puts(b, "</svg>\n");
}

int mlb_history_html(const mlb_history *h, double thr, mlb_sbuf *b)
{
    mlb_sb_puts(b,
                "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                "<title>mlbench history</title>\n<style>\n"
                "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em auto;max-width:1000px;"
                "padding:0 1em;color:#222}\n"
                "svg{max-width:100%;height:auto;display:block}\n"
                ".grid{stroke:#ddd}.yl{font-size:10px;text-anchor:end;fill:#555}\n"
                ".xl{font-size:10px;fill:#555}.xl.end{text-anchor:end}\n"
                ".pt{fill:#1f5fa8}.ci{stroke:#1f5fa8;stroke-opacity:.45}\n"
                ".seg{stroke:#888;stroke-width:1.5}\n"
                ".step{stroke-dasharray:4 3;stroke-width:1.5}.step.reg{stroke:#c07000}"
                ".step.bad{stroke:#c00}.step.imp{stroke:#080}\n"
                ".sl{font-size:10px}.sl.reg{fill:#c07000}.sl.bad{fill:#c00}.sl.imp{fill:#080}\n"
                "table{border-collapse:collapse;font-size:12px}td,th{padding:2px 8px;"
                "border-bottom:1px solid #eee;text-align:left}\n"
                "</style></head><body>\n<h1>mlbench history</h1>\n");
    size_t n_steps = 0, n_bad = 0;
    for (size_t i = 0; i < h->n; i++)
        for (size_t k = 0; k < h->s[i].n_steps; k++) {
            n_steps++;
            n_bad += mlb_history_step_persists(&h->s[i], k, thr);
        }
    mlb_sb_printf(b, "<p>%zu documents, %zu series, %zu step(s), %zu standing regression(s) "
                     "above %.3g%% (red; orange: a regression since recovered). "
                     "Each point is one document's median wall time with its 95%% CI; grey "
                     "lines are the segments between steps.</p>\n",
                  h->n_docs, h->n, n_steps, n_bad, thr * 100);
    for (size_t i = 0; i < h->n; i++) {
        const mlb_hist_series *s = &h->s[i];
        mlb_sb_puts(b, "<section class=\"series\"><h2>");
        mlb_sb_html(b, s->task);
        mlb_sb_puts(b, ":");
        mlb_sb_html(b, s->variant);
        mlb_sb_puts(b, " ");
        mlb_sb_html(b, s->quantity);
        mlb_sb_puts(b, "</h2><p>");
        mlb_sb_html(b, s->label && *s->label ? s->label : "default parameters");
        mlb_sb_puts(b, " <small>(");
        mlb_sb_html(b, s->params);
        mlb_sb_puts(b, ")</small>");
        mlb_sb_printf(b, "; %zu points</p>\n", s->n);
        plot(b, s, thr);
        if (s->n_steps) {
            mlb_sb_puts(b, "<table><tr><th>step</th><th>commit</th><th>previous</th>"
                           "<th>time</th><th>before</th><th>after</th><th>change</th></tr>\n");
            for (size_t k = 0; k < s->n_steps; k++) {
                const mlb_hist_step *st = &s->steps[k];
                char t0[32], t1[32];
                mlb_fmt_time(t0, sizeof t0, st->before);
                mlb_fmt_time(t1, sizeof t1, st->after);
                mlb_sb_printf(b, "<tr><td>%s</td><td>",
                              st->change > 0 ? "regression" : "improvement");
                mlb_sb_html(b, s->pts[st->at].commit);
                mlb_sb_puts(b, "</td><td>");
                mlb_sb_html(b, s->pts[st->at - 1].commit);
                mlb_sb_puts(b, "</td><td>");
                mlb_sb_html(b, s->pts[st->at].time);
                mlb_sb_printf(b, "</td><td>%s</td><td>%s</td><td>%+.1f%%</td></tr>\n", t0, t1,
                              st->change * 100);
            }
            mlb_sb_puts(b, "</table>\n");
        }
        mlb_sb_puts(b, "</section>\n");
    }
    mlb_sb_puts(b, "</body></html>\n");
    return b->oom ? -ENOMEM : 0;
}
