/* The terminal table: one block per group of compared variants. */
#include <math.h>
#include <string.h>

#include "engine.h"
#include "export.h"

static double jget(const cJSON *o, const char *path)
{
    /* path: "phases.train.wall_s.median" */
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = cJSON_GetObjectItemCaseSensitive(cur, tok);
    return cJSON_IsNumber(cur) ? cur->valuedouble : NAN;
}

/* Pads by display width: "±" and "×" are one column but two bytes. */
static void put_col(FILE *f, const char *s, int width)
{
    int cols = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        cols += (*p & 0xC0) != 0x80;
    fputs(s, f);
    for (; cols < width; cols++)
        fputc(' ', f);
    fputc(' ', f);
}


static void fmt_time_spread(char *b, size_t n, const cJSON *sum, const char *phase)
{
    char key[128], t[32];
    snprintf(key, sizeof key, "phases.%s.wall_s.median", phase);
    double med = jget(sum, key);
    snprintf(key, sizeof key, "phases.%s.wall_s.iqr", phase);
    double iqr = jget(sum, key);
    mlb_fmt_time(t, sizeof t, med);
    if (isfinite(med) && isfinite(iqr) && med > 0)
        snprintf(b, n, "%s ±%.1f%%", t, 50.0 * iqr / med);
    else
        snprintf(b, n, "%s", t);
}



static void metrics_text(char *b, size_t n, const cJSON *sum)
{
    b[0] = '\0';
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(sum, "metrics");
    const cJSON *e;
    size_t used = 0;
    cJSON_ArrayForEach(e, m)
    {
        double v = jget(e, "median");
        int w = snprintf(b + used, n - used, "%s%s=%.4g", used ? " " : "", e->string, v);
        if (w < 0 || (size_t)w >= n - used)
            break;
        used += (size_t)w;
    }
    if (!used)
        snprintf(b, n, "-");
}

void mlb_report_table(FILE *f, const mlb_session *s)
{
    int last_group = -1;
    double base_train = NAN, base_infer = NAN;
    for (size_t i = 0; i < s->n_runs; i++) {
        const mlb_run *r = &s->runs[i];
        const cJSON *sum = r->summary;
        if (r->group != last_group) {
            last_group = r->group;
            base_train = jget(sum, "phases.train.wall_s.median");
            base_infer = jget(sum, "phases.infer.wall_s.median");
            fprintf(f, "\n== %s ==\n", r->pl->desc.task);
            fprintf(f, "%-14s %-11s %-19s %-19s %-10s %-11s %-9s %-10s %-9s %s\n", "variant",
                    "status", "train (median)", "infer p50/query", "train/s", "infer/s",
                    "GFLOP/s", "peak RSS", "speed-up", "metrics");
        }
        char train[48], infer[48], rate[32], irate[32], gf[32], mem[32], sp[32], met[256];
        fmt_time_spread(train, sizeof train, sum, "train");
        mlb_fmt_time(infer, sizeof infer, jget(sum, "infer_latency_s.p50"));
        mlb_fmt_rate(rate, sizeof rate, jget(sum, "phases.train.items_per_s.median"));
        mlb_fmt_rate(irate, sizeof irate, jget(sum, "phases.infer.items_per_s.median"));
        double g = jget(sum, "phases.train.gflop_per_s.median");
        if (!isfinite(g))
            g = jget(sum, "phases.infer.gflop_per_s.median");
        snprintf(gf, sizeof gf, isfinite(g) ? "%.2f" : "-", g);
        double peak = NAN;
        for (int ph = 0; ph < MLB_PH_N; ph++) {
            char key[96];
            snprintf(key, sizeof key, "phases.%s.rss_peak_bytes.max", mlb_phase_names[ph]);
            double v = jget(sum, key);
            if (isfinite(v) && !(v <= peak))
                peak = v;
        }
        mlb_fmt_bytes(mem, sizeof mem, peak);
        double t = jget(sum, "phases.train.wall_s.median");
        double sp_v = isfinite(t) && t > 0 ? base_train / t : NAN;
        if (!isfinite(sp_v)) {
            double q = jget(sum, "phases.infer.wall_s.median");
            sp_v = isfinite(q) && q > 0 ? base_infer / q : NAN;
        }
        snprintf(sp, sizeof sp, isfinite(sp_v) ? "%.2fx" : "-", sp_v);
        metrics_text(met, sizeof met, sum);
        const char *cells[] = {r->pl->desc.variant, mlb_rep_status_name(r->status), train, infer,
                               rate, irate, gf, mem, sp};
        static const int widths[] = {14, 11, 19, 19, 10, 11, 9, 10, 9};
        for (size_t k = 0; k < sizeof widths / sizeof *widths; k++)
            put_col(f, cells[k], widths[k]);
        fprintf(f, "%s\n", met);
        if (r->message)
            fprintf(f, "  %s:%s: %s\n", r->pl->desc.task, r->pl->desc.variant, r->message);
    }
    int any = 0;
    for (size_t i = 0; i < s->n_cmps; i++) {
        const mlb_cmp_entry *e = &s->cmps[i];
        if (strncmp(e->what, "metric:", 7) == 0 && !e->c.significant)
            continue; /* identical quality from one seed is the rule, not news */
        if (!any++)
            fprintf(f, "\nComparisons (p adjusted by Holm within each task's comparisons):\n");
        fprintf(f, "  %s: %s\n", s->runs[e->a].pl->desc.task, e->verdict);
    }
    /* The repetition-count warning, once per group rather than per line. */
    int warned_group = -1;
    for (size_t i = 0; i < s->n_cmps; i++) {
        const mlb_cmp_entry *e = &s->cmps[i];
        int g = s->runs[e->a].group;
        if (!e->c.few_reps || g == warned_group)
            continue;
        warned_group = g;
        char w[512];
        mlb_comparison_warnings(w, sizeof w, "a", "b", &(mlb_comparison){
            .a = e->c.a, .b = e->c.b, .mwu_min_p = e->c.mwu_min_p, .few_reps = 1,
            .min_reps = e->c.min_reps, .family = e->c.family});
        fprintf(f, "  %s: warning: %s\n", s->runs[e->a].pl->desc.task, w);
    }
    fprintf(f, "\n");
}
