/* Delimited text: plain CSV and scikit-learn's bundled layout. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "utf8.h"

#define MAX_CLASSES 65536

typedef struct {
    char *s;    /* NUL-terminated in the line buffer (quotes removed) */
    size_t col; /* 1-based column of its first character (or its opening quote) */
} cell;

typedef struct {
    cell *v;
    size_t n, cap;
} cell_list;

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* A blank around a cell, not a separator (with delimiter '\t' a tab
 * separates; with ' ' every blank does). */
static int is_pad(char c, char delim)
{
    return delim != ' ' && is_blank(c) && c != delim;
}

static int push_cell(cell_list *out, char *s, size_t col)
{
    if (out->n == out->cap) {
        /* A row holds up to MLB_DATA_MAX_COLS features and the target: the
         * doubling stops at exactly that many cells, not at the power of
         * two below it. */
        if (out->cap >= MLB_DATA_MAX_COLS + 1)
            return -EFBIG;
        size_t cap = out->cap ? out->cap * 2 : 64;
        if (cap > MLB_DATA_MAX_COLS + 1)
            cap = MLB_DATA_MAX_COLS + 1;
        cell *v = realloc(out->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        out->v = v;
        out->cap = cap;
    }
    out->v[out->n].s = s;
    out->v[out->n].col = col;
    out->n++;
    return 0;
}

/* Splits the line in place. With delim ' ', any run of blanks separates and
 * leading/trailing blanks are ignored; otherwise each delimiter separates
 * exactly, and blanks around a cell are trimmed. A cell may be quoted
 * ("a,b", with "" for a quote: what spreadsheets and R write); -EINVAL
 * then names the column and reason of a malformed one in *bad_col, *why. */
static int split_cells(char *line, char delim, cell_list *out, size_t *bad_col, const char **why)
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
        char *q = p;
        while (is_pad(*q, delim))
            q++;
        char *start, *end;
        int more;
        if (*q == '"') {
            char *w = q, *s = q + 1;
            for (;;) {
                if (*s == '\0') {
                    *bad_col = (size_t)(q - line) + 1;
                    *why = "unterminated quoted cell (a quote inside a cell is written \"\")";
                    return -EINVAL;
                }
                if (*s == '"') {
                    if (s[1] == '"') {
                        *w++ = '"';
                        s += 2;
                        continue;
                    }
                    s++;
                    break;
                }
                *w++ = *s++;
            }
            while (is_pad(*s, delim))
                s++;
            int at_end = *s == '\0' || (delim == ' ' ? is_blank(*s) : *s == delim);
            if (!at_end) {
                *bad_col = (size_t)(s - line) + 1;
                *why = "text after a closing quote";
                return -EINVAL;
            }
            more = *s != '\0';
            start = q;
            end = w;
            p = more && delim != ' ' ? s + 1 : s;
        } else {
            start = p;
            while (*p && (delim == ' ' ? !is_blank(*p) : *p != delim))
                p++;
            end = p;
            more = *p != '\0';
            if (more)
                p++;
            if (delim != ' ') {
                while (start < end && is_blank(*start))
                    start++;
                while (end > start && is_blank(end[-1]))
                    end--;
            }
        }
        /* end <= the next unread character, so this clobbers nothing unread. */
        size_t col = (size_t)(start - line) + 1;
        *end = '\0';
        int rc = push_cell(out, start, col);
        if (rc < 0)
            return rc;
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

/* ---- Class labels as text (MLB_CLASSIFY_LABELS) -------------------------- */

/* Distinct labels by first appearance, found by an open-addressing hash. */
typedef struct {
    char **names;
    size_t n, cap;
    uint32_t *slots; /* index + 1, 0 empty */
    size_t nslots;   /* a power of two, at least twice n */
} label_table;

static uint64_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

static void label_free(label_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->names[i]);
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

static int label_rehash(label_table *t, size_t nslots)
{
    uint32_t *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < t->n; i++) {
        size_t h = (size_t)hash_str(t->names[i]) & (nslots - 1);
        while (slots[h])
            h = (h + 1) & (nslots - 1);
        slots[h] = (uint32_t)(i + 1);
    }
    free(t->slots);
    t->slots = slots;
    t->nslots = nslots;
    return 0;
}

/* *id gets the label's index; -E2BIG past MAX_CLASSES distinct labels. */
static int label_intern(label_table *t, const char *s, size_t *id)
{
    if (!t->nslots && label_rehash(t, 64) < 0)
        return -ENOMEM;
    size_t h = (size_t)hash_str(s) & (t->nslots - 1);
    while (t->slots[h]) {
        size_t i = t->slots[h] - 1;
        if (!strcmp(t->names[i], s)) {
            *id = i;
            return 0;
        }
        h = (h + 1) & (t->nslots - 1);
    }
    if (t->n == MAX_CLASSES)
        return -E2BIG;
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 16;
        char **v = realloc(t->names, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        t->names = v;
        t->cap = cap;
    }
    char *copy = strdup(s);
    if (!copy)
        return -ENOMEM;
    t->names[t->n] = copy;
    t->slots[h] = (uint32_t)(t->n + 1);
    *id = t->n++;
    if (2 * t->n > t->nslots && label_rehash(t, t->nslots * 2) < 0)
        return -ENOMEM;
    return 0;
}

typedef struct {
    const char *s;
    double v;
    size_t id;
} label_key;

static int cmp_label_num(const void *a, const void *b)
{
    double x = ((const label_key *)a)->v, y = ((const label_key *)b)->v;
    return (x > y) - (x < y);
}

static int cmp_label_str(const void *a, const void *b)
{
    return strcmp(((const label_key *)a)->s, ((const label_key *)b)->s);
}

/* y holds label ids: sorts the labels (numerically when all are numbers,
 * so that 2 comes before 10 and "1" and "1.0" are one class; else by
 * bytes), rewrites y as class indices and hands the names to ds. */
static int label_finish(label_table *t, mlb_dataset *ds)
{
    size_t k = t->n;
    label_key *keys = malloc((k ? k : 1) * sizeof *keys);
    size_t *rank = malloc((k ? k : 1) * sizeof *rank);
    char **names = calloc(k ? k : 1, sizeof *names);
    int rc = keys && rank && names ? 0 : -ENOMEM;
    int numeric = 1;
    for (size_t i = 0; i < k && !rc; i++) {
        keys[i] = (label_key){t->names[i], 0, i};
        if (numeric && mlb_data_parse_number(t->names[i], &keys[i].v) < 0)
            numeric = 0;
    }
    size_t classes = 0;
    if (!rc) {
        qsort(keys, k, sizeof *keys, numeric ? cmp_label_num : cmp_label_str);
        for (size_t i = 0; i < k && !rc; i++) {
            if (i == 0 || (numeric ? keys[i].v != keys[i - 1].v : 1)) {
                char buf[40];
                const char *name = keys[i].s;
                if (numeric) {
                    mlb_data_format_number(keys[i].v, buf, sizeof buf);
                    name = buf;
                }
                if (!(names[classes++] = strdup(name)))
                    rc = -ENOMEM;
            }
            rank[keys[i].id] = classes - 1;
        }
    }
    if (!rc) {
        for (size_t i = 0; i < ds->n; i++)
            ds->y[i] = (double)rank[(size_t)ds->y[i]];
        ds->class_names = names;
        ds->n_classes = (int)classes;
        names = NULL;
    }
    if (names)
        for (size_t i = 0; i < classes; i++)
            free(names[i]);
    free(names);
    free(keys);
    free(rank);
    return rc;
}

/* ---- Rows ---------------------------------------------------------------- */

/* What the row reader knows about the layout and has read so far. */
typedef struct {
    const char *path;
    size_t ncols;        /* cells per row */
    size_t ncols_line;   /* the line that set ncols */
    long target;         /* 0-based target cell, or -1 for none */
    int classify;        /* 0, 1 (class indices) or MLB_CLASSIFY_LABELS */
    size_t max_label;    /* classify 1: labels must be < this (0: 65536) */
    size_t max_rows;     /* 0: all */
    char delim;
    mlb_dvec X, y;
    label_table labels;
    size_t rows;
    mlb_data_info *info; /* lenient: bad rows are noted here, reading goes on */
    int first_rc;        /* lenient: the first bad row's code (its text in info) */
    char *first_err;     /* and message, copied */
} csv_state;

static void state_free(csv_state *st)
{
    mlb_dvec_free(&st->X);
    mlb_dvec_free(&st->y);
    label_free(&st->labels);
    free(st->first_err);
}

/* A content problem (-EINVAL) of one row: strict, it is the error;
 * lenient, it is noted and 0 returned so that reading goes on. */
static int row_problem(csv_state *st, int rc, const char *err)
{
    if (!st->info || rc != -EINVAL)
        return rc;
    st->info->bad_rows++;
    mlb_data_note_problem(st->info, err);
    if (!st->first_rc) {
        st->first_rc = rc;
        st->first_err = strdup(err);
    }
    return 0;
}

static int bad_cell(csv_state *st, size_t lineno, const cell *c, size_t j, int is_target,
                    char *err, size_t err_len)
{
    const char *role = is_target ? ", the target" : "";
    if (mlb_data_is_missing(c->s)) {
        if (st->info)
            st->info->missing_cells++;
        if (c->s[0] == '\0')
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu:%zu: empty cell (column %zu%s): a missing value",
                                 st->path, lineno, c->col, j + 1, role);
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s:%zu:%zu: missing value '%s' (column %zu%s)", st->path,
                             lineno, c->col, MLB_EXCERPT(c->s, 40), j + 1, role);
    }
    if (st->info)
        st->info->non_numeric_cells++;
    return mlb_data_fail(err, err_len, -EINVAL,
                         "%s:%zu:%zu: '%s' is not a finite decimal number (column %zu%s)%s",
                         st->path, lineno, c->col, MLB_EXCERPT(c->s, 40), j + 1, role,
                         is_target ? ": a regression target is a number; class labels need "
                                     "classification (classify)"
                                   : "");
}

/* One data row: a problem of its content is returned as -EINVAL with err
 * set (after the rest of the row is looked at, for the counts of a
 * lenient read); other codes are fatal. */
static int process_row(csv_state *st, const cell_list *cells, size_t lineno, char *err,
                       size_t err_len)
{
    if (cells->n != st->ncols) {
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s:%zu: %zu columns, expected %zu (as on line %zu): ragged rows",
                             st->path, lineno, cells->n, st->ncols, st->ncols_line);
    }
    size_t x0 = st->X.n, y0 = st->y.n;
    int bad = 0, rc = 0;
    for (size_t j = 0; j < cells->n; j++) {
        const cell *c = &cells->v[j];
        int is_target = (long)j == st->target;
        double v = 0;
        if (is_target && st->classify == MLB_CLASSIFY_LABELS) {
            size_t id = 0;
            if (c->s[0] == '\0') {
                if (st->info)
                    st->info->missing_cells++;
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu:%zu: empty cell (column %zu, the class label): a "
                                   "missing value",
                                   st->path, lineno, c->col, j + 1);
            } else if ((rc = label_intern(&st->labels, c->s, &id)) == -E2BIG) {
                /* Fatal (not one bad row): -ERANGE stops a lenient read too. */
                return mlb_data_fail(err, err_len, -ERANGE,
                                     "%s:%zu:%zu: more than %d distinct labels in the target "
                                     "column: not class labels (a regression target?)",
                                     st->path, lineno, c->col, MAX_CLASSES);
            } else if (rc < 0) {
                return mlb_data_fail(err, err_len, rc, "%s:%zu: out of memory", st->path,
                                     lineno);
            }
            v = (double)id;
        } else if (mlb_data_parse_number(c->s, &v) < 0) {
            rc = bad_cell(st, lineno, c, j, is_target, err, err_len);
        } else if (is_target && st->classify == 1) {
            size_t limit = st->max_label ? st->max_label : MAX_CLASSES;
            if (v < 0 || v != floor(v) || v >= (double)limit)
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s:%zu:%zu: class label '%s' must be an integer from 0 to "
                                   "%zu",
                                   st->path, lineno, c->col, c->s, limit - 1);
        }
        if (rc < 0) {
            /* Keep only the first message of the row; count the rest. */
            if (!bad && !st->info)
                return rc;
            if (!bad) {
                bad = 1;
                char *keep = strdup(err);
                if (!keep)
                    return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", st->path);
                for (size_t k = j + 1; k < cells->n; k++) {
                    const cell *o = &cells->v[k];
                    double w;
                    int t = (long)k == st->target;
                    if (t && st->classify == MLB_CLASSIFY_LABELS) {
                        if (o->s[0] == '\0')
                            st->info->missing_cells++;
                    } else if (mlb_data_parse_number(o->s, &w) < 0) {
                        bad_cell(st, lineno, o, k, t, err, err_len);
                    }
                }
                snprintf(err, err_len, "%s", keep);
                free(keep);
            }
            break;
        }
        int prc = is_target ? mlb_dvec_push(&st->y, v) : mlb_dvec_push(&st->X, v);
        if (prc < 0)
            return mlb_data_fail(err, err_len, prc, "%s:%zu: more than %zu values", st->path,
                                 lineno, (size_t)MLB_DATA_MAX_CELLS);
    }
    if (bad) {
        st->X.n = x0;
        st->y.n = y0;
        return -EINVAL;
    }
    if (st->target < 0 && (rc = mlb_dvec_push(&st->y, 0.0)) < 0)
        return mlb_data_fail(err, err_len, rc, "%s:%zu: too much data", st->path, lineno);
    if (++st->rows > MLB_DATA_MAX_ROWS)
        return mlb_data_fail(err, err_len, -EFBIG, "%s:%zu: more than %zu rows", st->path,
                             lineno, (size_t)MLB_DATA_MAX_ROWS);
    return 0;
}

static int done_reading(const csv_state *st)
{
    return st->max_rows && st->rows >= st->max_rows;
}

static int split_line(csv_state *st, char *line, size_t lineno, cell_list *cells, char *err,
                      size_t err_len)
{
    size_t bad_col = 0;
    const char *why = "";
    int rc = split_cells(line, st->delim, cells, &bad_col, &why);
    if (rc == -EINVAL)
        return mlb_data_fail(err, err_len, rc, "%s:%zu:%zu: %s", st->path, lineno, bad_col, why);
    if (rc < 0)
        return mlb_data_fail(err, err_len, rc, "%s:%zu: %s", st->path, lineno,
                             rc == -EFBIG ? "too many columns (at most 1048577: 2^20 features "
                                            "and a target)"
                                          : "out of memory");
    return 0;
}

/* A row given as text: split, then processed (lenient: noted). */
static int take_line(csv_state *st, char *line, size_t lineno, cell_list *cells, char *err,
                     size_t err_len)
{
    int rc = split_line(st, line, lineno, cells, err, err_len);
    if (rc == 0)
        rc = process_row(st, cells, lineno, err, err_len);
    return rc < 0 ? row_problem(st, rc, err) : 0;
}

/* Reads data rows until the end of the file (or max_rows). */
static int read_rows(mlb_text_reader *r, csv_state *st, char *err, size_t err_len)
{
    cell_list cells = {0};
    int rc = 0;
    while (!done_reading(st)) {
        rc = mlb_text_next(r, err, err_len);
        if (rc <= 0)
            break;
        rc = 0;
        if (line_is_empty(r->line))
            continue;
        if ((rc = take_line(st, r->line, r->lineno, &cells, err, err_len)) < 0)
            break;
    }
    free(cells.v);
    return rc;
}

/* Moves the parsed rows into a new dataset. */
static int build(csv_state *st, size_t d, mlb_dtype dtype, mlb_dataset **out, char *err,
                 size_t err_len)
{
    const char *name = st->path;
    mlb_dataset *ds = mlb_data_new(name);
    size_t rows = st->rows;
    if (!ds)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
    ds->n = rows;
    ds->d = d;
    ds->y = st->y.v;
    st->y.v = NULL;
    if (dtype == MLB_DTYPE_F32) {
        ds->X32 = malloc((rows * d > 0 ? rows * d : 1) * sizeof(float));
        if (!ds->X32) {
            mlb_dataset_free(ds);
            return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
        }
        for (size_t i = 0; i < rows * d; i++)
            ds->X32[i] = (float)st->X.v[i];
        mlb_dvec_free(&st->X);
    } else {
        ds->X = st->X.v;
        st->X.v = NULL;
        if (!ds->X && !(ds->X = malloc(sizeof(double)))) {
            mlb_dataset_free(ds);
            return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
        }
    }
    *out = ds;
    return 0;
}

static char **split_names(const cell_list *cells, size_t from, size_t skip, size_t count)
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

/* Next line that is not blank: 1, 0 at the end, or < 0. */
static int next_nonblank(mlb_text_reader *r, char *err, size_t err_len)
{
    int rc;
    while ((rc = mlb_text_next(r, err, err_len)) == 1 && line_is_empty(r->line))
        ;
    return rc;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* The header guess: a word (a cell that is neither empty nor a number)
 * of the first line above a number of the second is a column name; an
 * empty cell votes for nothing (a missing value, or pandas's unnamed index
 * column). With one line, all of its cells must be words. */
static int looks_like_header(const cell_list *a, const cell_list *b)
{
    double v;
    if (!b) {
        for (size_t j = 0; j < a->n; j++)
            if (mlb_data_parse_number(a->v[j].s, &v) == 0)
                return 0;
        return a->n > 0;
    }
    for (size_t j = 0; j < a->n && j < b->n; j++)
        if (a->v[j].s[0] && mlb_data_parse_number(a->v[j].s, &v) < 0 &&
            mlb_data_parse_number(b->v[j].s, &v) == 0)
            return 1;
    return 0;
}

/* Resolves the target column against the first line's cells (the header
 * when there is one): 0 with *target 0-based or -1, else the error. */
static int resolve_target(const mlb_data_opts *opts, const mlb_data_file_opts *fopts,
                          const cell_list *first, int header, size_t line, const char *path,
                          long *target, char *err, size_t err_len)
{
    size_t ncols = first->n;
    const char *want = fopts ? fopts->target_name : NULL;
    long t;
    if (want && *want) {
        t = -2;
        for (size_t j = 0; header && j < ncols && t == -2; j++)
            if (!strcmp(first->v[j].s, want))
                t = (long)j;
        if (t == -2 && all_digits(want)) {
            if (strlen(want) > 9 || atol(want) < 1)
                return mlb_data_fail(err, err_len, -EINVAL,
                                     "%s: target '%s': a column index counts from 1", path,
                                     want);
            t = atol(want) - 1;
        }
        if (t == -2 && !header)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s: target '%s' names a column, but the file has no header "
                                 "line (header=true reads one)",
                                 path, want);
        if (t == -2) {
            char names[160] = "";
            size_t used = 0;
            for (size_t j = 0; j < ncols && used + 1 < sizeof names; j++) {
                int w = snprintf(names + used, sizeof names - used, "%s%s", j ? ", " : "",
                                 first->v[j].s);
                if (w < 0)
                    break;
                used += (size_t)w;
            }
            if (used >= sizeof names)
                memcpy(names + sizeof names - 4, "...", 4);
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu: no column named '%s' in the header (%s)", path, line,
                                 want, names);
        }
    } else if (opts->target_col == MLB_CSV_NO_TARGET) {
        t = -1;
    } else if (opts->target_col >= 1) {
        t = opts->target_col - 1;
    } else {
        t = (long)ncols - 1;
    }
    if (t >= 0 && (t >= (long)ncols || ncols < 2)) {
        if (header)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu: target column %ld, but the header has %zu column(s)",
                                 path, line, t + 1, ncols);
        if (t >= (long)ncols)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu: target column %ld, but rows have %zu columns", path,
                                 line, t + 1, ncols);
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s:%zu: one column: nothing left for features besides the target",
                             path, line);
    }
    *target = t;
    return 0;
}

int mlb_data_csv_read(const char *path, const mlb_data_opts *opts,
                      const mlb_data_file_opts *fopts, mlb_data_info *info, mlb_dataset **out,
                      char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    if (opts->target_col < MLB_CSV_NO_TARGET)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: target_col %ld is invalid", path,
                             opts->target_col);
    int mode = fopts && fopts->header_mode ? fopts->header_mode
                                           : (opts->has_header ? MLB_HEADER_YES : MLB_HEADER_NO);
    if (mode < MLB_HEADER_AUTO || mode > MLB_HEADER_NO)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: header_mode %d is invalid", path, mode);

    mlb_text_reader r;
    int rc = mlb_text_open(&r, path, err, err_len);
    if (rc < 0)
        return rc;
    csv_state st = {.path = path,
                    .target = -1,
                    /* Any other nonzero value asks for classes as 1 always did. */
                    .classify = opts->classify == MLB_CLASSIFY_LABELS ? MLB_CLASSIFY_LABELS
                                : opts->classify                      ? 1
                                                                      : 0,
                    .max_rows = opts->max_rows,
                    .delim = opts->delimiter ? opts->delimiter : ',',
                    .info = info};
    cell_list first = {0}, second = {0};
    char *first_line = NULL, *second_line = NULL; /* their cells outlive the reader's line */
    size_t first_no = 0, second_no = 0;
    int header = 0, have_second = 0;
    mlb_dataset *ds = NULL;

    rc = next_nonblank(&r, err, err_len);
    if (rc == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           mode == MLB_HEADER_YES ? "%s: empty file (expected a header line)"
                                                  : "%s: no data rows",
                           path);
    if (rc == 1 && !(first_line = strdup(r.line)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    first_no = r.lineno;
    if (rc == 1)
        rc = split_line(&st, first_line, first_no, &first, err, err_len);
    if (rc >= 0 && mode == MLB_HEADER_AUTO) {
        rc = next_nonblank(&r, err, err_len);
        if (rc == 1 && !(second_line = strdup(r.line)))
            rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
        second_no = r.lineno;
        if (rc == 1) {
            have_second = 1;
            /* A malformed second line cannot vote; as a row it reports itself. */
            size_t bc;
            const char *why;
            char *probe = strdup(second_line);
            if (!probe)
                rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
            else if (split_cells(probe, st.delim, &second, &bc, &why) < 0)
                second.n = 0;
            header = rc >= 0 && looks_like_header(&first, second.n ? &second : NULL);
            free(probe);
            second.n = 0;
        } else if (rc == 0) {
            header = looks_like_header(&first, NULL);
        }
    } else if (mode == MLB_HEADER_YES) {
        header = 1;
    }
    if (rc >= 0) {
        st.ncols = first.n;
        st.ncols_line = first_no;
        rc = resolve_target(opts, fopts, &first, header, first_no, path, &st.target, err,
                            err_len);
    }
    if (info && rc >= 0) {
        info->header = header;
        info->delimiter = st.delim;
        info->target_col = st.target + 1;
        info->columns = st.ncols;
    }
    if (rc >= 0 && !header)
        rc = row_problem(&st, process_row(&st, &first, first_no, err, err_len), err);
    if (rc >= 0 && have_second && !done_reading(&st))
        rc = take_line(&st, second_line, second_no, &second, err, err_len);
    if (rc >= 0)
        rc = read_rows(&r, &st, err, err_len);
    /* A fatal error (lenient reading stops) is a problem too; the first
     * bad row, if any, stays the answer, as a strict read would give it. */
    int fatal_noted = 0;
    if (rc < 0 && info) {
        mlb_data_note_problem(info, err);
        fatal_noted = 1;
    }
    if (st.first_rc)
        rc = mlb_data_fail(err, err_len, st.first_rc, "%s",
                           st.first_err ? st.first_err : "bad rows");
    if (rc >= 0 && st.rows == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: no data rows", path);
    size_t d = st.target >= 0 ? st.ncols - 1 : st.ncols;
    if (rc >= 0)
        rc = build(&st, d, opts->dtype, &ds, err, err_len);
    if (rc >= 0 && header) {
        ds->feature_names =
            split_names(&first, 0, st.target >= 0 ? (size_t)st.target : SIZE_MAX, d);
        if (st.target >= 0)
            ds->target_name = strdup(first.v[st.target].s);
        if (!ds->feature_names || (st.target >= 0 && !ds->target_name))
            rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    }
    if (rc >= 0 && st.target >= 0 && st.classify == MLB_CLASSIFY_LABELS &&
        label_finish(&st.labels, ds) < 0)
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    else if (rc >= 0 && st.target >= 0 && st.classify == 1)
        rc = mlb_data_count_classes(ds, err, err_len);
    if (info && rc < 0 && !fatal_noted && !st.first_rc)
        mlb_data_note_problem(info, err);

    mlb_text_close(&r);
    free(first.v);
    free(second.v);
    free(first_line);
    free(second_line);
    state_free(&st);
    if (rc < 0) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

int mlb_data_load_csv(const char *path, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                      size_t err_len)
{
    return mlb_data_csv_read(path, opts, NULL, NULL, out, err, err_len);
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
    csv_state st = {.path = path, .delim = ','};
    rc = mlb_text_next(&r, err, err_len);
    if (rc == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           "%s: empty file (expected the header \"n_samples,n_features,...\")",
                           path);
    if (rc == 1 && !(header_line = strdup(r.line)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    if (rc == 1 && (rc = split_line(&st, header_line, 1, &header, err, err_len)) == 0) {
        if (header.n < 2 || parse_count(header.v[0].s, &n) < 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1:1: header must start \"n_samples,n_features\" (two "
                               "non-negative integers), got '%s'",
                               path, MLB_EXCERPT(header.n ? header.v[0].s : "", 40));
        else if (parse_count(header.v[1].s, &d) < 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1:%zu: n_features '%s' is not a non-negative integer", path,
                               header.v[1].col, MLB_EXCERPT(header.v[1].s, 40));
        else if (n == 0 || d == 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:1: header announces %zu samples of %zu features: empty", path,
                               n, d);
        else
            rc = mlb_data_check_shape(path, n, d, err, err_len);
    }
    size_t n_names = header.n >= 2 ? header.n - 2 : 0;
    st.ncols = d + 1;
    st.ncols_line = 1;
    st.target = (long)d;
    st.classify = 1;
    st.max_rows = opts->max_rows && opts->max_rows < n ? opts->max_rows : n;
    st.max_label = n_names;
    if (rc >= 0)
        rc = read_rows(&r, &st, err, err_len);
    if (rc >= 0 && st.rows < st.max_rows)
        rc = mlb_data_fail(err, err_len, -EINVAL,
                           "%s:%zu: the header announces %zu rows, the file ends after %zu "
                           "(truncated?)",
                           path, r.lineno, n, st.rows);
    if (rc >= 0 && st.rows == n) {
        /* Anything after the announced rows means the header is wrong. */
        int more = next_nonblank(&r, err, err_len);
        if (more < 0)
            rc = more;
        else if (more == 1)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s:%zu: more rows than the %zu the header announces", path,
                               r.lineno, n);
    }
    mlb_dataset *ds = NULL;
    if (rc >= 0)
        rc = build(&st, d, opts->dtype, &ds, err, err_len);
    if (rc >= 0) {
        ds->n_classes = n_names ? (int)n_names : 0;
        if (n_names) {
            ds->class_names = split_names(&header, 2, SIZE_MAX, n_names);
            if (!ds->class_names)
                rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
        } else {
            rc = mlb_data_count_classes(ds, err, err_len);
        }
    }
    mlb_text_close(&r);
    free(header.v);
    free(header_line);
    state_free(&st);
    if (rc < 0) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}
