/* `mlbench-engine stats`: the statistics module on numbers from files.
 *
 *   stats A.txt [B.txt] [--json] [--seed N] [--what NAME] [--higher-is-better]
 *         [--equivalence R]
 *   stats --adjust P.txt [--json]
 *
 * Each file holds one number per line; blank lines and lines starting with
 * '#' are skipped. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"
#include "textbuf.h"

#define CMD "mlbench-engine stats"

typedef struct {
    const char *path;
    double *v;
    size_t *line; /* 1-based line of each value, for messages and outliers */
    size_t n;
} sample_file;

static void sample_free(sample_file *s)
{
    free(s->v);
    free(s->line);
}

/* Parse one number per line. Returns 0, or 2 after printing
 * "path:line: message" (1 on allocation failure). */
static int sample_read(const char *path, sample_file *out)
{
    memset(out, 0, sizeof *out);
    out->path = path;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, CMD ": %s: %s\n", path, strerror(errno));
        return 2;
    }
    size_t cap = 0, lineno = 0;
    char *buf = NULL;
    size_t bufcap = 0;
    int rc = 0;
    ssize_t got;
    while ((got = getline(&buf, &bufcap, f)) >= 0) {
        lineno++;
        if (memchr(buf, '\0', (size_t)got)) {
            /* Everything after it would be dropped without a word. */
            fprintf(stderr, CMD ": %s:%zu: a NUL byte in the line\n", path, lineno);
            rc = 2;
            break;
        }
        char *p = buf;
        while (*p == ' ' || *p == '\t')
            p++;
        char *e = p + strlen(p);
        while (e > p && (e[-1] == '\n' || e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
            *--e = '\0';
        if (*p == '\0' || *p == '#')
            continue;
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || *end != '\0') {
            fprintf(stderr, CMD ": %s:%zu: not a number: '%s'\n", path, lineno, p);
            rc = 2;
            break;
        }
        if (!isfinite(v)) {
            /* strtod accepts "nan", "inf" and overflows to HUGE_VAL. */
            fprintf(stderr, CMD ": %s:%zu: value is not finite: '%s'\n", path, lineno, p);
            rc = 2;
            break;
        }
        if (out->n == cap) {
            size_t nc = cap ? 2 * cap : 64;
            double *nv = realloc(out->v, nc * sizeof *nv);
            if (nv)
                out->v = nv;
            size_t *nl = nv ? realloc(out->line, nc * sizeof *nl) : NULL;
            if (!nv || !nl) {
                fprintf(stderr, CMD ": %s: out of memory\n", path);
                rc = 1;
                break;
            }
            out->line = nl;
            cap = nc;
        }
        out->v[out->n] = v;
        out->line[out->n++] = lineno;
    }
    if (rc == 0 && ferror(f)) {
        fprintf(stderr, CMD ": %s: read error\n", path);
        rc = 2;
    }
    if (rc == 0 && out->n == 0) {
        fprintf(stderr, CMD ": %s: no values\n", path);
        rc = 2;
    }
    free(buf);
    fclose(f);
    if (rc)
        sample_free(out);
    return rc;
}

static void usage(FILE *to)
{
    fprintf(to,
            "usage: " CMD " A.txt [B.txt] [--json] [--seed N] [--what NAME] [--higher-is-better]\n"
            "             [--equivalence R]\n"
            "       " CMD " --adjust P.txt [--json]\n"
            "Each file holds one number per line. With one file: a summary of the sample;\n"
            "with two: both summaries and the comparison of A with B (by default lower\n"
            "values are better, as for times) and its verdict: better, worse, equivalent\n"
            "or inconclusive against a relative equivalence margin R (\"2%%\" or 0.02;\n"
            "default 2%% for times, 1e-06 with a 1e-12 absolute floor with\n"
            "--higher-is-better); with --adjust: Bonferroni, Holm and Benjamini-Hochberg\n"
            "adjusted p-values, in input order.\n");
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

/* Line numbers and values of the outliers, added to a summary object. */
static int add_outliers(cJSON *o, const sample_file *f, const mlb_summary *s)
{
    cJSON *arr = cJSON_AddArrayToObject(o, "outliers");
    if (!arr)
        return -1;
    for (size_t i = 0; i < f->n; i++)
        if (mlb_summary_is_outlier(s, f->v[i])) {
            cJSON *e = cJSON_CreateObject();
            if (!e || !cJSON_AddItemToArray(arr, e) ||
                !cJSON_AddNumberToObject(e, "line", (double)f->line[i]) ||
                !cJSON_AddNumberToObject(e, "value", f->v[i]))
                return -1;
        }
    return cJSON_AddStringToObject(o, "file", f->path) ? 0 : -1;
}

static int print_json(cJSON *o)
{
    char *txt = o && mlb_json_fix_utf8(o) == 0 ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!txt) {
        fprintf(stderr, CMD ": out of memory\n");
        return 1;
    }
    puts(txt);
    free(txt);
    return 0;
}

static void print_num(const char *label, double v)
{
    if (isfinite(v))
        printf("  %-24s %.6g\n", label, v);
    else
        printf("  %-24s -\n", label);
}

static void print_summary(const char *name, const sample_file *f, const mlb_summary *s)
{
    printf("%s (%s)\n", name, f->path);
    printf("  %-24s %zu\n", "n", s->n);
    print_num("mean", s->mean);
    print_num("median", s->median);
    print_num("sd", s->sd);
    print_num("min", s->min);
    print_num("max", s->max);
    print_num("IQR", s->iqr);
    print_num("MAD", s->mad);
    if (isfinite(s->cv))
        printf("  %-24s %.2f%%%s\n", "coeff. of variation", 100.0 * s->cv,
               s->high_cv ? "  (high: noisy?)" : "");
    else
        print_num("coeff. of variation", s->cv);
    if (isfinite(s->ci95_low))
        printf("  %-24s [%.6g, %.6g]\n", "95% CI of mean (t)", s->ci95_low, s->ci95_high);
    else
        print_num("95% CI of mean (t)", NAN);
    printf("  %-24s [%.6g, %.6g]\n", "95% CI of median (boot)", s->median_ci95_low,
           s->median_ci95_high);
    if (s->shapiro_why)
        printf("  %-24s not computable: %s\n", "Shapiro-Wilk", s->shapiro_why);
    else
        printf("  %-24s W = %.6f, p = %.4g\n", "Shapiro-Wilk", s->shapiro_w, s->shapiro_p);
    if (s->ad_why)
        printf("  %-24s not computable: %s\n", "Anderson-Darling", s->ad_why);
    else
        printf("  %-24s A2 = %.6f, A2* = %.6f, p = %.4g\n", "Anderson-Darling", s->ad_stat,
               s->ad_stat_adj, s->ad_p);
    printf("  %-24s %zu", "outliers (Tukey)", s->n_outliers);
    const char *sep = ": line ";
    for (size_t i = 0; i < f->n; i++)
        if (mlb_summary_is_outlier(s, f->v[i])) {
            printf("%s%zu (%.6g)", sep, f->line[i], f->v[i]);
            sep = ", line ";
        }
    printf("\n");
}

static void print_comparison(const char *na, const char *nb, const char *what, int better,
                             const mlb_comparison *c)
{
    printf("%s vs %s\n", na, nb);
    if (c->welch_why)
        printf("  %-24s not computable: %s\n", "Welch t-test", c->welch_why);
    else
        printf("  %-24s t = %.6g, df = %.6g, p = %.4g\n", "Welch t-test", c->welch_t, c->welch_df,
               c->welch_p);
    if (c->mwu_why)
        printf("  %-24s not computable: %s\n", "Mann-Whitney U", c->mwu_why);
    else
        printf("  %-24s U = %.6g, p = %.4g (%s)\n", "Mann-Whitney U", c->mwu_u, c->mwu_p,
               mlb_mwu_method_name(c->mwu_method));
    print_num("Cohen's d", c->cohens_d);
    print_num("median difference A-B", c->median_diff);
    if (isfinite(c->diff_ci90_low))
        printf("  %-24s 90%% CI [%.6g, %.6g], 95%% CI [%.6g, %.6g]\n", "", c->diff_ci90_low,
               c->diff_ci90_high, c->diff_ci95_low, c->diff_ci95_high);
    printf("  %-24s %.4f (%s)\n", "Cliff's delta", c->cliffs_delta, c->cliffs_label);
    if (isfinite(c->median_ratio))
        printf("  %-24s %.6g, 90%% CI [%.6g, %.6g], 95%% CI [%.6g, %.6g]\n", "median ratio A/B",
               c->median_ratio, c->ratio_ci90_low, c->ratio_ci90_high, c->ratio_ci95_low,
               c->ratio_ci95_high);
    else
        printf("  %-24s not computable: %s\n", "median ratio A/B", c->ratio_why);
    printf("  %-24s %s%s%s\n", "chosen test", mlb_test_name(c->chosen), c->chosen_why ? ": " : "",
           c->chosen_why ? c->chosen_why : "");
    if (c->lower_is_better == MLB_BETTER_LOWER_TIME)
        printf("  %-24s ratio within [%.6g, %.6g] (relative %g)\n", "equivalence margin",
               c->margin_low, c->margin_high, c->margin.rel);
    else
        printf("  %-24s difference within [%.6g, %.6g] (relative %g, absolute %g)\n",
               "equivalence margin", c->margin_low, c->margin_high, c->margin.rel, c->margin.abs);
    printf("  %-24s %s%s%s\n", "verdict kind", mlb_verdict_kind_name(c->verdict_kind),
           c->verdict_kind == MLB_KIND_INCONCLUSIVE ? ": " : "",
           c->verdict_kind == MLB_KIND_INCONCLUSIVE ? c->inconclusive_why : "");
    char v[1024];
    mlb_verdict(v, sizeof v, na, nb, what, better, c);
    printf("\n%s\n", v);
}

static int cmd_adjust(const char *path, int json)
{
    sample_file f;
    int rc = sample_read(path, &f);
    if (rc)
        return rc;
    for (size_t i = 0; i < f.n; i++)
        if (f.v[i] < 0.0 || f.v[i] > 1.0) {
            fprintf(stderr, CMD ": %s:%zu: p-value outside [0, 1]: %g\n", path, f.line[i],
                    f.v[i]);
            sample_free(&f);
            return 2;
        }
    double *adj = malloc(3 * f.n * sizeof *adj);
    if (!adj || mlb_p_adjust(f.v, f.n, adj, adj + f.n, adj + 2 * f.n) < 0) {
        fprintf(stderr, CMD ": out of memory\n");
        free(adj);
        sample_free(&f);
        return 1;
    }
    if (json) {
        cJSON *o = cJSON_CreateObject();
        static const char *const keys[3] = {"bonferroni", "holm", "bh"};
        for (int k = 0; o && k < 3; k++) {
            cJSON *arr = cJSON_CreateDoubleArray(adj + (size_t)k * f.n, (int)f.n);
            if (!arr || !cJSON_AddItemToObject(o, keys[k], arr)) {
                cJSON_Delete(arr);
                cJSON_Delete(o);
                o = NULL;
            }
        }
        rc = print_json(o);
    } else {
        printf("%-6s %-12s %-12s %-12s %-12s\n", "line", "p", "bonferroni", "holm", "bh");
        for (size_t i = 0; i < f.n; i++)
            printf("%-6zu %-12.6g %-12.6g %-12.6g %-12.6g\n", f.line[i], f.v[i], adj[i],
                   adj[f.n + i], adj[2 * f.n + i]);
    }
    free(adj);
    sample_free(&f);
    return rc;
}

int mlb_cmd_stats(int argc, char **argv)
{
    const char *files[2] = {NULL, NULL}, *adjust = NULL, *what = NULL;
    size_t nfiles = 0;
    int json = 0, better = MLB_BETTER_LOWER_TIME;
    uint64_t seed = 42;
    double equivalence = NAN; /* unset: the default of the kind of quantity */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if (strcmp(a, "--higher-is-better") == 0) {
            better = MLB_BETTER_HIGHER;
        } else if (strcmp(a, "--adjust") == 0 || strcmp(a, "--seed") == 0 ||
                   strcmp(a, "--what") == 0 || strcmp(a, "--equivalence") == 0) {
            if (i + 1 >= argc) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                usage(stderr);
                return 2;
            }
            const char *v = argv[++i];
            if (a[2] == 'a') {
                adjust = v;
            } else if (a[2] == 'w') {
                what = v;
            } else if (a[2] == 'e') {
                /* "2%" or 0.02, as the engine's --equivalence */
                char *end;
                errno = 0;
                double r = strtod(v, &end);
                if (end != v && *end == '%' && end[1] == '\0') {
                    r /= 100.0;
                    end++;
                }
                if (end == v || *end != '\0' || errno || !isfinite(r) || r < 0.0) {
                    fprintf(stderr, CMD ": --equivalence: not a margin >= 0 like 2%% or 0.02: '%s'\n",
                            v);
                    return 2;
                }
                equivalence = r;
            } else {
                char *end;
                errno = 0;
                unsigned long long s = strtoull(v, &end, 10);
                if (*v == '\0' || *v == '-' || *end != '\0' || errno) {
                    fprintf(stderr, CMD ": --seed: not a non-negative integer: '%s'\n", v);
                    return 2;
                }
                seed = (uint64_t)s;
            }
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, CMD ": unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (nfiles < 2) {
            files[nfiles++] = a;
        } else {
            fprintf(stderr, CMD ": at most two sample files\n");
            usage(stderr);
            return 2;
        }
    }
    if (adjust) {
        if (nfiles) {
            fprintf(stderr, CMD ": --adjust takes no sample files\n");
            return 2;
        }
        return cmd_adjust(adjust, json);
    }
    if (nfiles == 0) {
        usage(stderr);
        return 2;
    }

    sample_file f[2];
    int rc = sample_read(files[0], &f[0]);
    if (rc)
        return rc;
    if (nfiles == 2 && (rc = sample_read(files[1], &f[1])) != 0) {
        sample_free(&f[0]);
        return rc;
    }

    if (nfiles == 1) {
        mlb_summary s;
        if (mlb_summary_compute(f[0].v, f[0].n, seed, &s) < 0) {
            fprintf(stderr, CMD ": out of memory\n");
            rc = 1;
        } else if (json) {
            cJSON *o = mlb_summary_to_json(&s);
            if (o && add_outliers(o, &f[0], &s) < 0) {
                cJSON_Delete(o);
                o = NULL;
            }
            rc = print_json(o);
        } else {
            print_summary(base_name(f[0].path), &f[0], &s);
        }
        sample_free(&f[0]);
        return rc;
    }

    mlb_comparison *c = malloc(sizeof *c);
    mlb_margin m = mlb_margin_default(better);
    if (isfinite(equivalence))
        m.rel = equivalence;
    if (!c || mlb_compare_samples(f[0].v, f[0].n, f[1].v, f[1].n, seed, c) < 0 ||
        mlb_comparison_set_margin(c, better, m) < 0) {
        fprintf(stderr, CMD ": out of memory\n");
        rc = 1;
    } else {
        const char *na = base_name(f[0].path), *nb = base_name(f[1].path);
        if (json) {
            char v[1024];
            cJSON *o = mlb_comparison_to_json(c);
            mlb_verdict(v, sizeof v, na, nb, what, better, c);
            if (o && (add_outliers(cJSON_GetObjectItem(o, "a"), &f[0], &c->a) < 0 ||
                      add_outliers(cJSON_GetObjectItem(o, "b"), &f[1], &c->b) < 0 ||
                      !cJSON_AddStringToObject(o, "verdict", v))) {
                cJSON_Delete(o);
                o = NULL;
            }
            rc = print_json(o);
        } else {
            print_summary(na, &f[0], &c->a);
            print_summary(nb, &f[1], &c->b);
            print_comparison(na, nb, what, better, c);
        }
    }
    free(c);
    sample_free(&f[0]);
    sample_free(&f[1]);
    return rc;
}
