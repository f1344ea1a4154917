/* `mlbench-engine data`: what the data layer makes of a file, before a run
 * is spent on it. Everything it says comes from mlb_data_inspect, the same
 * reading a task's dataset= gets, so the check cannot disagree with the run. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd_data.h"
#include "mlbench/data.h"
#include "textbuf.h"

#define CMD "mlbench-engine data"
#define SHOW_NAMES 8   /* names listed in the text output */
#define JSON_NAMES 32  /* and in the JSON */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: " CMD " FILE [--format F] [--target T] [--header auto|true|false]\n"
            "                           [--delimiter D] [--classify] [--json]\n"
            "\n"
            "Reads FILE as a task's dataset=FILE would and prints what it holds: rows,\n"
            "features, the target, the classes, and the problems found (every bad row of\n"
            "a text file, each with its line and column; the byte offset in a binary one).\n"
            "FILE is a CSV or LIBSVM file, a pair images.idx,labels.idx or X.npy,y.npy\n"
            "(plain or gzip), or a registered dataset name.\n"
            "  --format F     auto (from the contents), csv, libsvm, idx, npy, sklearn\n"
            "  --target T     CSV: the target column, a header name or 1-based index\n"
            "                 (default: the last)\n"
            "  --header H     CSV: auto (default), true, false\n"
            "  --delimiter D  CSV: one character, tab or space (default: from the file)\n"
            "  --classify     read the target as class labels (numbers or strings)\n"
            "  --json         one JSON object on stdout\n"
            "Exit status: 0 the file loads; 2 it does not, or a usage error.\n");
}

/* Per-class row counts (NULL on failure or for regression). */
static size_t *class_counts(const mlb_dataset *ds)
{
    if (ds->n_classes <= 0)
        return NULL;
    size_t *c = calloc((size_t)ds->n_classes, sizeof *c);
    if (!c)
        return NULL;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] >= 0 && ds->y[i] < ds->n_classes)
            c[(size_t)ds->y[i]]++;
    return c;
}

static const char *class_name(const mlb_dataset *ds, int c, char *buf, size_t len)
{
    if (ds->class_names && ds->class_names[c])
        return ds->class_names[c];
    snprintf(buf, len, "%d", c);
    return buf;
}

static void delimiter_text(char d, char *buf, size_t len)
{
    if (d == ' ')
        snprintf(buf, len, "blanks");
    else if (d == '\t')
        snprintf(buf, len, "tab");
    else
        snprintf(buf, len, "'%c'", d);
}

static int is_text_format(const mlb_data_info *info)
{
    return !strcmp(info->format, "csv");
}

static void print_problems(const mlb_data_info *info)
{
    size_t shown = info->n_problems < MLB_DATA_INFO_MAX ? info->n_problems : MLB_DATA_INFO_MAX;
    for (size_t i = 0; i < shown; i++)
        printf("  %s\n", info->problems[i]);
    if (info->n_problems > shown)
        printf("  ... and %zu more\n", info->n_problems - shown);
}

static void print_text(const char *file, const mlb_data_info *info, const mlb_dataset *ds,
                       const char *err)
{
    if (!ds) {
        printf("%s: does not load", file);
        if (info->format[0])
            printf(" as %s", info->format);
        if (info->bad_rows || info->missing_cells || info->non_numeric_cells)
            printf(" (%zu bad row%s: %zu missing value%s, %zu non-numeric cell%s)", info->bad_rows,
                   info->bad_rows == 1 ? "" : "s", info->missing_cells,
                   info->missing_cells == 1 ? "" : "s", info->non_numeric_cells,
                   info->non_numeric_cells == 1 ? "" : "s");
        printf("\n");
        if (info->n_problems)
            print_problems(info);
        else
            printf("  %s\n", err);
        return;
    }
    printf("%s: %s%s%s\n", file, info->registered ? "registered dataset, " : "", info->format,
           info->gzip ? " (gzip)" : "");
    if (is_text_format(info)) {
        char d[16];
        delimiter_text(info->delimiter, d, sizeof d);
        printf("  layout     %zu columns, delimiter %s, %s\n", info->columns, d,
               info->header ? "the first line is a header" : "no header line");
    }
    printf("  rows       %zu\n", ds->n);
    printf("  features   %zu", ds->d);
    if (ds->feature_names) {
        printf(":");
        for (size_t j = 0; j < ds->d && j < SHOW_NAMES; j++)
            printf("%s %s", j ? "," : "", ds->feature_names[j] ? ds->feature_names[j] : "");
        if (ds->d > SHOW_NAMES)
            printf(", ...");
    }
    printf("\n");
    if (ds->channels)
        printf("  image      %zu x %zu x %zu (channels x height x width)\n", ds->channels,
               ds->height, ds->width);
    printf("  target    ");
    if (info->target_col > 0)
        printf(" column %ld", info->target_col);
    if (ds->target_name)
        printf(" '%s'", ds->target_name);
    if (ds->n_classes > 0) {
        size_t *count = class_counts(ds);
        printf("%s%d class%s:", info->target_col > 0 || ds->target_name ? ", " : " ",
               ds->n_classes, ds->n_classes == 1 ? "" : "es");
        for (int c = 0; c < ds->n_classes && c < SHOW_NAMES; c++) {
            char buf[16];
            printf("%s %s", c ? "," : "", class_name(ds, c, buf, sizeof buf));
            if (count)
                printf(" (%zu)", count[c]);
        }
        if (ds->n_classes > SHOW_NAMES)
            printf(", ...");
        free(count);
    } else {
        double lo = INFINITY, hi = -INFINITY, sum = 0;
        for (size_t i = 0; i < ds->n; i++) {
            lo = fmin(lo, ds->y[i]);
            hi = fmax(hi, ds->y[i]);
            sum += ds->y[i];
        }
        printf("%sregression, %.6g to %.6g (mean %.6g)",
               info->target_col > 0 || ds->target_name ? ", " : " ", lo, hi,
               ds->n ? sum / (double)ds->n : 0.0);
    }
    printf("\n");
    size_t shown = info->n_warnings < MLB_DATA_INFO_MAX ? info->n_warnings : MLB_DATA_INFO_MAX;
    if (!shown)
        printf("  problems   none found\n");
    for (size_t i = 0; i < shown; i++)
        printf("  %s %s\n", i ? "          " : "warning   ", info->warnings[i]);
    if (info->n_warnings > shown)
        printf("             ... and %zu more\n", info->n_warnings - shown);
}

static cJSON *string_list(char *const *names, size_t n, size_t limit)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n && i < limit; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(names[i] ? names[i] : ""));
    return a;
}

static cJSON *info_list(const char (*items)[256], size_t n)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; a && i < n && i < MLB_DATA_INFO_MAX; i++)
        cJSON_AddItemToArray(a, cJSON_CreateString(items[i]));
    return a;
}

static int print_json(const char *file, const mlb_data_info *info, const mlb_dataset *ds,
                      const char *err)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -ENOMEM;
    cJSON_AddStringToObject(o, "file", file);
    cJSON_AddBoolToObject(o, "ok", ds != NULL);
    if (info->format[0])
        cJSON_AddStringToObject(o, "format", info->format);
    else
        cJSON_AddNullToObject(o, "format");
    cJSON_AddBoolToObject(o, "registered", info->registered);
    cJSON_AddBoolToObject(o, "gzip", info->gzip);
    if (is_text_format(info) && info->columns) {
        char d[2] = {info->delimiter, '\0'};
        cJSON_AddBoolToObject(o, "header", info->header);
        cJSON_AddStringToObject(o, "delimiter", d);
        cJSON_AddNumberToObject(o, "columns", (double)info->columns);
    } else {
        cJSON_AddNullToObject(o, "header");
        cJSON_AddNullToObject(o, "delimiter");
        cJSON_AddNullToObject(o, "columns");
    }
    if (ds) {
        cJSON_AddNumberToObject(o, "rows", (double)ds->n);
        cJSON_AddNumberToObject(o, "features", (double)ds->d);
        if (ds->feature_names)
            cJSON_AddItemToObject(o, "feature_names",
                                  string_list(ds->feature_names, ds->d, JSON_NAMES));
        else
            cJSON_AddNullToObject(o, "feature_names");
        cJSON *t = cJSON_AddObjectToObject(o, "target");
        if (t) {
            if (info->target_col > 0)
                cJSON_AddNumberToObject(t, "column", (double)info->target_col);
            else
                cJSON_AddNullToObject(t, "column");
            if (ds->target_name)
                cJSON_AddStringToObject(t, "name", ds->target_name);
            else
                cJSON_AddNullToObject(t, "name");
            cJSON_AddStringToObject(t, "kind", ds->n_classes > 0 ? "classification" : "regression");
        }
        if (ds->n_classes > 0) {
            cJSON *c = cJSON_AddObjectToObject(o, "classes");
            size_t *count = class_counts(ds);
            cJSON *names = cJSON_CreateArray(), *rows = cJSON_CreateArray();
            for (int k = 0; k < ds->n_classes && k < JSON_NAMES; k++) {
                char buf[16];
                cJSON_AddItemToArray(names, cJSON_CreateString(class_name(ds, k, buf, sizeof buf)));
                cJSON_AddItemToArray(rows, cJSON_CreateNumber(count ? (double)count[k] : 0));
            }
            free(count);
            if (c) {
                cJSON_AddNumberToObject(c, "count", ds->n_classes);
                cJSON_AddItemToObject(c, "names", names);
                cJSON_AddItemToObject(c, "rows", rows);
            } else {
                cJSON_Delete(names);
                cJSON_Delete(rows);
            }
        } else {
            cJSON_AddNullToObject(o, "classes");
        }
        if (ds->channels) {
            cJSON *im = cJSON_AddObjectToObject(o, "image");
            if (im) {
                cJSON_AddNumberToObject(im, "channels", (double)ds->channels);
                cJSON_AddNumberToObject(im, "height", (double)ds->height);
                cJSON_AddNumberToObject(im, "width", (double)ds->width);
            }
        } else {
            cJSON_AddNullToObject(o, "image");
        }
    }
    cJSON_AddItemToObject(o, "problems", info_list(info->problems, info->n_problems));
    cJSON_AddNumberToObject(o, "problems_total", (double)info->n_problems);
    cJSON_AddNumberToObject(o, "bad_rows", (double)info->bad_rows);
    cJSON_AddNumberToObject(o, "missing_cells", (double)info->missing_cells);
    cJSON_AddNumberToObject(o, "non_numeric_cells", (double)info->non_numeric_cells);
    cJSON_AddItemToObject(o, "warnings", info_list(info->warnings, info->n_warnings));
    cJSON_AddNumberToObject(o, "warnings_total", (double)info->n_warnings);
    if (ds)
        cJSON_AddNullToObject(o, "error");
    else
        cJSON_AddStringToObject(o, "error", err);
    char *text = mlb_json_fix_utf8(o) == 0 ? cJSON_Print(o) : NULL;
    cJSON_Delete(o);
    if (!text)
        return -ENOMEM;
    printf("%s\n", text);
    free(text);
    return 0;
}

int mlb_cmd_data(int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    mlb_data_opts opts = {0};
    mlb_data_file_opts fopts = MLB_DATA_FILE_OPTS_INIT;
    char err[1024];
    static const struct {
        const char *flag, *key;
    } valued[] = {{"--format", "format"},
                  {"--target", "target"},
                  {"--header", "header"},
                  {"--delimiter", "delimiter"}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        size_t v;
        for (v = 0; v < sizeof valued / sizeof valued[0]; v++)
            if (!strcmp(a, valued[v].flag))
                break;
        if (v < sizeof valued / sizeof valued[0]) {
            if (i + 1 >= argc) {
                fprintf(stderr, CMD ": %s needs a value\n", a);
                usage(stderr);
                return 2;
            }
            if (mlb_data_opts_set(&opts, &fopts, valued[v].key, argv[++i], err, sizeof err) < 0) {
                fprintf(stderr, CMD ": %s: %s\n", a, err);
                return 2;
            }
        } else if (!strcmp(a, "--classify")) {
            opts.classify = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, CMD ": unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!file) {
            file = a;
        } else {
            fprintf(stderr, CMD ": one FILE (a pair is one argument: images.idx,labels.idx)\n");
            usage(stderr);
            return 2;
        }
    }
    if (!file) {
        fprintf(stderr, CMD ": no FILE\n");
        usage(stderr);
        return 2;
    }
    mlb_data_info *info = calloc(1, sizeof *info);
    if (!info) {
        fprintf(stderr, CMD ": out of memory\n");
        return 1;
    }
    mlb_dataset *ds = NULL;
    err[0] = '\0';
    int rc = mlb_data_inspect(file, &opts, &fopts, info, &ds, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, CMD ": %s\n", err);
    int prc = 0;
    if (json)
        prc = print_json(file, info, ds, err);
    else
        print_text(file, info, ds, err);
    fflush(stdout);
    mlb_dataset_free(ds);
    free(info);
    if (prc < 0) {
        fprintf(stderr, CMD ": out of memory\n");
        return 1;
    }
    return rc < 0 ? 2 : 0;
}
