/* LIBSVM / SVMlight sparse text: "label index:value ...", densified. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "utf8.h"

typedef struct {
    size_t row, col; /* col 0-based */
    double v;
} entry;

typedef struct {
    entry *v;
    size_t n, cap;
} entry_list;

static int push_entry(entry_list *a, size_t row, size_t col, double v)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 4096;
        if (cap > MLB_DATA_MAX_CELLS)
            cap = MLB_DATA_MAX_CELLS;
        if (cap <= a->n)
            return -EFBIG;
        entry *e = realloc(a->v, cap * sizeof *e);
        if (!e)
            return -ENOMEM;
        a->v = e;
        a->cap = cap;
    }
    a->v[a->n++] = (entry){row, col, v};
    return 0;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Parses one line into entries and a label; *has_row is 0 for blank lines. */
static int parse_line(mlb_text_reader *r, size_t row, entry_list *ents, double *label,
                      size_t *max_col, int *has_row, char *err, size_t err_len)
{
    char *p = r->line;
    *has_row = 0;
    while (is_blank(*p))
        p++;
    if (*p == '\0' || *p == '#')
        return 0;
    char *tok = p;
    while (*p && !is_blank(*p))
        p++;
    char saved = *p;
    *p = '\0';
    if (mlb_data_parse_number(tok, label) < 0)
        return mlb_data_fail(err, err_len, -EINVAL, "%s:%zu:%zu: label '%s' is not a number",
                             r->path, r->lineno, (size_t)(tok - r->line) + 1,
                             MLB_EXCERPT(tok, 40));
    *p = saved;
    size_t prev = 0; /* last 1-based index, for the increasing check */
    for (;;) {
        while (is_blank(*p))
            p++;
        if (*p == '\0' || *p == '#')
            break;
        tok = p;
        size_t col = (size_t)(tok - r->line) + 1;
        size_t idx = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9') {
            if (idx > MLB_DATA_MAX_COLS)
                break;
            idx = idx * 10 + (size_t)(*p - '0');
            p++;
            digits++;
        }
        if (idx > MLB_DATA_MAX_COLS)
            return mlb_data_fail(err, err_len, -EFBIG,
                                 "%s:%zu:%zu: feature index beyond the limit of %zu", r->path,
                                 r->lineno, col, (size_t)MLB_DATA_MAX_COLS);
        if (!digits || *p != ':')
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu:%zu: expected index:value, got '%s'", r->path,
                                 r->lineno, col, MLB_EXCERPT(tok, 40));
        if (idx == 0)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu:%zu: feature index 0 (indices start at 1)", r->path,
                                 r->lineno, col);
        if (idx <= prev)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu:%zu: feature index %zu after %zu: indices must "
                                 "increase",
                                 r->path, r->lineno, col, idx, prev);
        prev = idx;
        char *val = ++p;
        while (*p && !is_blank(*p))
            p++;
        saved = *p;
        *p = '\0';
        double v;
        if (mlb_data_parse_number(val, &v) < 0)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s:%zu:%zu: value '%s' of feature %zu is not a finite "
                                 "number",
                                 r->path, r->lineno, (size_t)(val - r->line) + 1,
                                 MLB_EXCERPT(val, 40), idx);
        *p = saved;
        int rc = push_entry(ents, row, idx - 1, v);
        if (rc < 0)
            return mlb_data_fail(err, err_len, rc, "%s:%zu: too many entries", r->path,
                                 r->lineno);
        if (idx > *max_col)
            *max_col = idx;
    }
    *has_row = 1;
    return 0;
}

int mlb_data_libsvm_read(const char *path, size_t n_features, const mlb_data_opts *opts,
                         mlb_data_info *info, mlb_dataset **out, char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    if (n_features > MLB_DATA_MAX_COLS)
        return mlb_data_fail(err, err_len, -EFBIG, "%s: n_features=%zu beyond the limit %zu",
                             path, n_features, (size_t)MLB_DATA_MAX_COLS);
    mlb_text_reader r;
    int rc = mlb_text_open(&r, path, err, err_len);
    if (rc < 0)
        return rc;
    entry_list ents = {0};
    mlb_dvec labels = {0};
    size_t max_col = n_features, rows = 0, text_bytes = 0;
    int first_rc = 0;
    char *first_err = NULL;
    while (!opts->max_rows || rows < opts->max_rows) {
        rc = mlb_text_next(&r, err, err_len);
        if (rc <= 0)
            break;
        text_bytes += r.len + 1;
        double label;
        int has_row;
        size_t ents0 = ents.n, max0 = max_col;
        rc = parse_line(&r, rows, &ents, &label, &max_col, &has_row, err, err_len);
        if (rc == -EINVAL && info) {
            /* Lenient: note the bad line, drop what it added, read on. */
            ents.n = ents0;
            max_col = max0;
            info->bad_rows++;
            mlb_data_note_problem(info, err);
            if (!first_rc) {
                first_rc = rc;
                first_err = strdup(err);
            }
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        if (!has_row)
            continue;
        if ((rc = mlb_dvec_push(&labels, label)) < 0 || rows + 1 > MLB_DATA_MAX_ROWS) {
            rc = mlb_data_fail(err, err_len, -EFBIG, "%s:%zu: too many rows", path, r.lineno);
            break;
        }
        rows++;
    }
    mlb_text_close(&r);
    int fatal_noted = 0;
    if (rc < 0 && info) {
        mlb_data_note_problem(info, err);
        fatal_noted = 1;
    }
    if (first_rc)
        rc = mlb_data_fail(err, err_len, first_rc, "%s", first_err ? first_err : "bad rows");
    free(first_err);
    mlb_dataset *ds = NULL;
    if (!rc && rows == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: no data rows", path);
    if (!rc && max_col == 0)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: no features in any row", path);
    if (!rc)
        rc = mlb_data_check_shape(path, rows, max_col, err, err_len);
    /* Dense from sparse: a line "1 1000000:1" asks for a million zeros. The
     * table may hold at most 64 values per byte of text (at least 2^20), so
     * that a 768-byte file cannot ask for a gigabyte (docs/datasets.md). */
    size_t dense_cap = text_bytes > ((size_t)1 << 20) / 64 ? 64 * text_bytes : (size_t)1 << 20;
    if (!rc && max_col && rows > dense_cap / max_col)
        rc = mlb_data_fail(err, err_len, -EFBIG,
                           "%s: LIBSVM data too sparse to densify: %zu rows x %zu features "
                           "= %.3g values from %zu bytes of text (at most 64 a byte, or 2^20)",
                           path, rows, max_col, (double)rows * (double)max_col, text_bytes);
    if (!rc && !(ds = mlb_data_new(path)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    if (!rc && mlb_data_alloc(ds, rows, max_col, opts->dtype) < 0)
        rc = mlb_data_fail(err, err_len, -ENOMEM,
                           "%s: cannot allocate a dense %zu x %zu table", path, rows, max_col);
    if (!rc) {
        if (ds->X)
            memset(ds->X, 0, rows * max_col * sizeof(double));
        if (ds->X32)
            memset(ds->X32, 0, rows * max_col * sizeof(float));
        for (size_t k = 0; k < ents.n; k++) {
            const entry *e = &ents.v[k];
            if (ds->X)
                ds->X[e->row * max_col + e->col] = e->v;
            else
                ds->X32[e->row * max_col + e->col] = (float)e->v;
        }
        memcpy(ds->y, labels.v, rows * sizeof(double));
        if (opts->classify)
            rc = mlb_data_labels_to_classes(ds, 1, err, err_len);
    }
    if (info && rc < 0 && !fatal_noted && !first_rc)
        mlb_data_note_problem(info, err);
    free(ents.v);
    mlb_dvec_free(&labels);
    if (rc) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}

int mlb_data_load_libsvm(const char *path, size_t n_features, const mlb_data_opts *opts,
                         mlb_dataset **out, char *err, size_t err_len)
{
    return mlb_data_libsvm_read(path, n_features, opts, NULL, out, err, err_len);
}
