/* Delimited numeric text: plain CSV and scikit-learn's bundled layout. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

typedef struct {
    char *s;    /* NUL-terminated in the reader's line buffer */
    size_t col; /* 1-based column of its first character */
} cell;

typedef struct {
    cell *v;
    size_t n, cap;
} cell_list;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Splits the line in place. With delim ' ', any run of blanks separates and
 * leading/trailing blanks are ignored; otherwise each delimiter separates
 * exactly, and blanks around a cell are trimmed. */
static int split_cells(char *line, char delim, cell_list *out)
{
    out->n = 0;
    char *p = line;
    for (;;) {
        if (delim == ' ') {
            while (is_blank(*p))
                p++;
            if (*p == '\0')
                break;
        }
        char *start = p;
        while (*p && (delim == ' ' ? !is_blank(*p) : *p != delim))
            p++;
        char *end = p;
        int more = *p != '\0';
        if (more)
            p++;
        if (delim != ' ') {
            while (start < end && is_blank(*start))
                start++;
            while (end > start && is_blank(end[-1]))
                end--;
        }
        *end = '\0';
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            if (cap > MLB_DATA_MAX_COLS + 1)
                return -EFBIG;
            cell *v = realloc(out->v, cap * sizeof *v);
            if (!v)
                return -ENOMEM;
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n].s = start;
        out->v[out->n].col = (size_t)(start - line) + 1;
        out->n++;
        if (!more)
            break;
    }
    return 0;
}

static int line_is_empty(const char *s)
{
    while (is_blank(*s))
        s++;
    return *s == '\0';
}

/* What the row reader needs to know about the layout. */
typedef struct {
    size_t ncols;        /* expected cells per row; 0: set by the first row */
    size_t ncols_line;   /* the line that set ncols */
    long target;         /* 0-based target cell, or -1 for none */
    int classify;
    size_t max_rows;
    size_t max_label;    /* labels must be < this (0: 65536) */
} row_layout;

static int parse_label(mlb_text_reader *r, const cell *c, double v, size_t max_label, char *err,
                       size_t err_len)
{
    size_t limit = max_label ? max_label : 65536;
    if (v < 0 || v != floor(v) || v >= (double)limit)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s:%zu:%zu: class label '%s' must be an integer from 0 to %zu",
                             r->path, r->lineno, c->col, c->s, limit - 1);
    return 0;
}

/* Reads data rows until the end (or max_rows) into X (row-major features)
 * and y; *rows gets their number. */
static int read_rows(mlb_text_reader *r, row_layout *lay, mlb_dvec *X, mlb_dvec *y, size_t *rows,
                     char delim, char *err, size_t err_len)
{
    cell_list cells = {0};
    int rc = 0;
    *rows = 0;
    while (!lay->max_rows || *rows < lay->max_rows) {
        rc = mlb_text_next(r, err, err_len);
        if (rc <= 0)
            break;
        rc = 0;
        if (line_is_empty(r->line))
            continue;
        if ((rc = split_cells(r->line, delim, &cells)) < 0) {
            rc = mlb_data_fail(err, err_len, rc, "%s:%zu: %s", r->path, r->lineno,
                               rc == -EFBIG ? "too many columns" : "out of memory");
            break;
        }
        if (!lay->ncols) {
            lay->ncols = cells.n;
            lay->ncols_line = r->lineno;
            if (lay->target >= (long)cells.n) {
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu: target column %ld, but rows have %zu columns",
                                   r->path, r->lineno, lay->target + 1, cells.n);
                break;
            }
            if (lay->target >= 0 && cells.n < 2) {
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu: one column: nothing left for features besides the "
                                   "target",
                                   r->path, r->lineno);
                break;
            }
        }
        if (cells.n != lay->ncols) {
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:%zu: %zu columns, expected %zu (as on line %zu): ragged rows",
                               r->path, r->lineno, cells.n, lay->ncols, lay->ncols_line);
            break;
        }
        for (size_t j = 0; j < cells.n && !rc; j++) {
            const cell *c = &cells.v[j];
            double v;
            if (c->s[0] == '\0')
                rc = mlb_data_fail(err, err_len, -EINVAL, "%s:%zu:%zu: empty cell (column %zu)",
                                   r->path, r->lineno, c->col, j + 1);
            else if (mlb_data_parse_number(c->s, &v) < 0)
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu:%zu: '%.40s' is not a finite decimal number (column "
                                   "%zu)",
                                   r->path, r->lineno, c->col, c->s, j + 1);
            else if ((long)j == lay->target) {
                if (lay->classify)
                    rc = parse_label(r, c, v, lay->max_label, err, err_len);
                if (!rc && (rc = mlb_dvec_push(y, v)) < 0)
                    rc = mlb_data_fail(err, err_len, rc, "%s:%zu: too much data", r->path,
                                       r->lineno);
            } else if ((rc = mlb_dvec_push(X, v)) < 0)
                rc = mlb_data_fail(err, err_len, rc, "%s:%zu: more than %zu values", r->path,
                                   r->lineno, (size_t)MLB_DATA_MAX_CELLS);
        }
        if (rc)
            break;
        if (lay->target < 0 && (rc = mlb_dvec_push(y, 0.0)) < 0) {
            rc = mlb_data_fail(err, err_len, rc, "%s:%zu: too much data", r->path, r->lineno);
            break;
        }
        ++*rows;
        if (*rows > MLB_DATA_MAX_ROWS) {
            rc = mlb_data_fail(err, err_len, -EFBIG, "%s:%zu: more than %zu rows", r->path,
                               r->lineno, (size_t)MLB_DATA_MAX_ROWS);
            break;
        }
    }
    free(cells.v);
    return rc;
}

/* Moves the parsed rows into a new dataset. */
static int build(const char *name, mlb_dvec *X, mlb_dvec *y, size_t rows, size_t d,
                 mlb_dtype dtype, mlb_dataset **out, char *err, size_t err_len)
{
    mlb_dataset *ds = mlb_data_new(name);
    if (!ds)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
    ds->n = rows;
    ds->d = d;
    ds->y = y->v;
    y->v = NULL;
    if (dtype == MLB_DTYPE_F32) {
        ds->X32 = malloc((rows * d > 0 ? rows * d : 1) * sizeof(float));
        if (!ds->X32) {
            mlb_dataset_free(ds);
            return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
        }
        for (size_t i = 0; i < rows * d; i++)
            ds->X32[i] = (float)X->v[i];
        mlb_dvec_free(X);
    } else {
        ds->X = X->v;
        X->v = NULL;
    }
    *out = ds;
    return 0;
}

static char **split_names(cell_list *cells, size_t from, size_t skip, size_t count)
{
    char **names = calloc(count ? count : 1, sizeof *names);
    if (!names)
        return NULL;
    size_t k = 0;
    for (size_t j = from; j < cells->n && k < count; j++) {
        if (j == skip)
            continue;
        if (!(names[k++] = strdup(cells->v[j].s))) {
            for (size_t i = 0; i < k; i++)
                free(names[i]);
            free(names);
            return NULL;
        }
    }
    return names;
}


/* The one way out of a loader: releases the reader and the scratch, and
 * hands over ds only when rc is 0. X and y may be NULL (early exits). */
static int load_finish(int rc, mlb_text_reader *r, cell_list *header, char *header_line,
                       mlb_dvec *X, mlb_dvec *y, mlb_dataset *ds, mlb_dataset **out)
{
    mlb_text_close(r);
    free(header->v);
    free(header_line);
    if (X)
        mlb_dvec_free(X);
    if (y)
        mlb_dvec_free(y);
    if (rc) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

int mlb_data_load_csv(const char *path, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                      size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    char delim = opts->delimiter ? opts->delimiter : ',';
    if (opts->target_col < MLB_CSV_NO_TARGET)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: target_col %ld is invalid", path,
                             opts->target_col);

    mlb_text_reader r;
    int rc = mlb_text_open(&r, path, err, err_len);
    if (rc < 0)
        return rc;

    row_layout lay = {.target = -1, .classify = opts->classify, .max_rows = opts->max_rows};
    cell_list header = {0};
    char *header_line = NULL;
    if (opts->has_header) {
        while ((rc = mlb_text_next(&r, err, err_len)) == 1 && line_is_empty(r.line))
            ;
        if (rc == 0)
            rc = mlb_data_fail(err, err_len, -EINVAL, "%s: empty file (expected a header line)",
                               path);
        /* The header's cells must outlive the reader's line buffer. */
        if (rc == 1 && !(header_line = strdup(r.line)))
            rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
        if (rc == 1 && (rc = split_cells(header_line, delim, &header)) < 0)
            rc = mlb_data_fail(err, err_len, rc, "%s:%zu: header: too many columns", path,
                               r.lineno);
        if (rc < 0) {
            return load_finish(rc, &r, &header, header_line, NULL, NULL, NULL, out);
        }
        lay.ncols = header.n;
        lay.ncols_line = r.lineno;
        rc = 0;
    }
    /* The target column is resolved once the column count is known. */
    long want = opts->target_col;
    if (want == MLB_CSV_NO_TARGET)
        lay.target = -1;
    else if (want >= 1)
        lay.target = want - 1;
    else
        lay.target = lay.ncols ? (long)lay.ncols - 1 : -2; /* -2: last, once known */
    if (lay.ncols && (lay.target >= (long)lay.ncols || (lay.target >= 0 && lay.ncols < 2))) {
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           "%s:%zu: target column %ld, but the header has %zu column(s)", path,
                           lay.ncols_line, lay.target + 1, lay.ncols);
        return load_finish(rc, &r, &header, header_line, NULL, NULL, NULL, out);
    }

    mlb_dvec X = {0}, y = {0};
    size_t rows = 0;
    if (lay.target == -2) {
        /* Peek the first row to learn the width, then read all rows. */
        row_layout first = lay;
        first.target = -1;
        first.max_rows = 1;
        rc = read_rows(&r, &first, &X, &y, &rows, delim, err, err_len);
        if (!rc && rows == 1) {
            lay.ncols = first.ncols;
            lay.ncols_line = first.ncols_line;
            lay.target = (long)first.ncols - 1;
            if (first.ncols < 2)
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu: one column: nothing left for features besides the "
                                   "target",
                                   path, first.ncols_line);
            /* Re-file the first row's last value as its target. */
            if (!rc) {
                double t = X.v[--X.n];
                y.v[0] = t;
                if (lay.classify && (t < 0 || t != floor(t) || t >= 65536))
                    rc = mlb_data_fail(err, err_len, -EINVAL,
                                       "%s:%zu: class label '%.17g' must be an integer from 0 "
                                       "to 65535",
                                       path, first.ncols_line, t);
            }
        }
        if (!rc && rows == 1 && (!opts->max_rows || opts->max_rows > 1)) {
            size_t more = 0;
            if (opts->max_rows)
                lay.max_rows = opts->max_rows - 1;
            rc = read_rows(&r, &lay, &X, &y, &more, delim, err, err_len);
            rows += more;
        }
    } else {
        rc = read_rows(&r, &lay, &X, &y, &rows, delim, err, err_len);
    }
    if (!rc && rows == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: no data rows", path);
    size_t d = lay.target >= 0 ? lay.ncols - 1 : lay.ncols;
    mlb_dataset *ds = NULL;
    if (!rc)
        rc = build(path, &X, &y, rows, d, opts->dtype, &ds, err, err_len);
    if (!rc && header.n) {
        ds->feature_names = split_names(&header, 0, lay.target >= 0 ? (size_t)lay.target : SIZE_MAX,
                                        d);
        if (lay.target >= 0)
            ds->target_name = strdup(header.v[lay.target].s);
        if (!ds->feature_names || (lay.target >= 0 && !ds->target_name))
            rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    }
    if (!rc && opts->classify && lay.target >= 0)
        rc = mlb_data_count_classes(ds, err, err_len);
    return load_finish(rc, &r, &header, header_line, &X, &y, ds, out);
}

/* A header count: a plain non-negative decimal integer. */
static int parse_count(const char *s, size_t *out)
{
    if (!*s)
        return -1;
    size_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || v > (SIZE_MAX - 9) / 10)
            return -1;
        v = v * 10 + (size_t)(*p - '0');
    }
    *out = v;
    return 0;
}

int mlb_data_load_sklearn_csv(const char *path, const mlb_data_opts *opts, mlb_dataset **out,
                              char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    mlb_text_reader r;
    int rc = mlb_text_open(&r, path, err, err_len);
    if (rc < 0)
        return rc;
    cell_list header = {0};
    char *header_line = NULL; /* its cells outlive the reader's line buffer */
    size_t n = 0, d = 0;
    rc = mlb_text_next(&r, err, err_len);
    if (rc == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           "%s: empty file (expected the header \"n_samples,n_features,...\")",
                           path);
    if (rc == 1 && !(header_line = strdup(r.line)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    if (rc == 1) {
        rc = split_cells(header_line, ',', &header);
        if (rc < 0)
            rc = mlb_data_fail(err, err_len, rc, "%s:1: header: too many columns", path);
        else if (header.n < 2 || parse_count(header.v[0].s, &n) < 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1:1: header must start \"n_samples,n_features\" (two "
                               "non-negative integers), got '%.40s'",
                               path, header.n ? header.v[0].s : "");
        else if (parse_count(header.v[1].s, &d) < 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1:%zu: n_features '%.40s' is not a non-negative integer", path,
                               header.v[1].col, header.v[1].s);
        else if (n == 0 || d == 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1: header announces %zu samples of %zu features: empty", path,
                               n, d);
        else
            rc = mlb_data_check_shape(path, n, d, err, err_len);
    }
    if (rc < 0) {
        return load_finish(rc, &r, &header, header_line, NULL, NULL, NULL, out);
    }
    size_t n_names = header.n - 2;
    row_layout lay = {
        .ncols = d + 1,
        .ncols_line = 1,
        .target = (long)d,
        .classify = 1,
        .max_rows = opts->max_rows && opts->max_rows < n ? opts->max_rows : n,
        .max_label = n_names,
    };
    mlb_dvec X = {0}, y = {0};
    size_t rows = 0;
    rc = read_rows(&r, &lay, &X, &y, &rows, ',', err, err_len);
    if (!rc && rows < lay.max_rows)
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           "%s:%zu: the header announces %zu rows, the file ends after %zu "
                           "(truncated?)",
                           path, r.lineno, n, rows);
    if (!rc && rows == n) {
        /* Anything after the announced rows means the header is wrong. */
        int more;
        while ((more = mlb_text_next(&r, err, err_len)) == 1 && line_is_empty(r.line))
            ;
        if (more < 0)
            rc = more;
        else if (more == 1)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:%zu: more rows than the %zu the header announces", path,
                               r.lineno, n);
    }
    mlb_dataset *ds = NULL;
    if (!rc)
        rc = build(path, &X, &y, rows, d, opts->dtype, &ds, err, err_len);
    if (!rc) {
        ds->n_classes = n_names ? (int)n_names : 0;
        if (n_names) {
            ds->class_names = split_names(&header, 2, SIZE_MAX, n_names);
            if (!ds->class_names)
                rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
        } else {
            rc = mlb_data_count_classes(ds, err, err_len);
        }
    }
    return load_finish(rc, &r, &header, header_line, &X, &y, ds, out);
}
