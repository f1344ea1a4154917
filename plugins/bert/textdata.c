/* textdata.h: labelled text, TSV or CSV. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzread.h"
#include "textdata.h"

void text_set_free(text_set *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n; i++)
        free(t->text[i]);
    free(t->text);
    free(t->label);
    for (int c = 0; c < t->n_classes; c++)
        free(t->class_names[c]);
    free(t->class_names);
    free(t);
}

int text_set_class(const text_set *t, const char *name)
{
    for (int c = 0; c < t->n_classes; c++)
        if (!strcmp(t->class_names[c], name))
            return c;
    return -1;
}

/* One field growing as it is read. */
typedef struct {
    char *s;
    size_t n, cap;
} field;

static int field_put(field *f, char c)
{
    if (f->n + 1 >= f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 256;
        char *ns = realloc(f->s, cap);
        if (!ns)
            return -ENOMEM;
        f->s = ns;
        f->cap = cap;
    }
    f->s[f->n++] = c;
    f->s[f->n] = '\0';
    return 0;
}

static int valid_utf8(const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned c = s[i];
        size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (!k || i + k > n || (k == 2 && c < 0xC2))
            return 0;
        for (size_t j = 1; j < k; j++)
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
        i += k;
    }
    return 1;
}

typedef struct {
    char **label_of;  /* per row, the label's text until classes are known */
    size_t n, cap;
    char **text;
} rows;

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int text_set_parse(const char *buf, size_t len, text_set **out, char *err, size_t errlen)
{
    *out = NULL;
    const char *nl = memchr(buf, '\n', len);
    size_t first = nl ? (size_t)(nl - buf) : len;
    char sep = memchr(buf, '\t', first) ? '\t' : ',';
    rows r = {0};
    field f[2] = {{0}};
    int rc = 0;
    size_t line = 1, i = 0;
    int header_checked = 0;
    while (i < len && rc == 0) {
        size_t rec_line = line;
        int nf = 0, quoted = 0;
        f[0].n = f[1].n = 0;
        if (f[0].s) f[0].s[0] = '\0';
        if (f[1].s) f[1].s[0] = '\0';
        /* one record: fields up to an unquoted newline or the end */
        for (;;) {
            if (i >= len) {
                if (quoted) {
                    snprintf(err, errlen, "line %zu: a quoted field is not closed", rec_line);
                    rc = -EINVAL;
                }
                break;
            }
            char c = buf[i++];
            if (c == '\0') {
                snprintf(err, errlen, "line %zu: a NUL byte", line);
                rc = -EINVAL;
                break;
            }
            if (quoted) {
                if (c == '"' && i < len && buf[i] == '"') {
                    i++;
                } else if (c == '"') {
                    quoted = 0;
                    if (i < len && buf[i] != sep && buf[i] != '\n' && buf[i] != '\r') {
                        snprintf(err, errlen, "line %zu: text after a closing quote", line);
                        rc = -EINVAL;
                        break;
                    }
                    continue;
                }
                if (c == '\n')
                    line++;
            } else if (c == '"' && sep == ',' && f[nf < 2 ? nf : 1].n == 0) {
                quoted = 1;
                continue;
            } else if (c == sep) {
                if (++nf > 1) {
                    snprintf(err, errlen, "line %zu: more than two fields (text%clabel)", line,
                             sep);
                    rc = -EINVAL;
                    break;
                }
                continue;
            } else if (c == '\n' || c == '\r') {
                if (c == '\r' && i < len && buf[i] == '\n')
                    i++;
                line++;
                break;
            }
            if (f[nf].n >= TEXT_MAX_FIELD) {
                snprintf(err, errlen, "line %zu: a field over %u bytes", rec_line, TEXT_MAX_FIELD);
                rc = -EINVAL;
                break;
            }
            if ((rc = field_put(&f[nf], c)) < 0)
                break;
        }
        if (rc)
            break;
        if (nf == 0 && f[0].n == 0)
            continue; /* an empty line */
        if (nf != 1) {
            snprintf(err, errlen, "line %zu: one field; expected text%slabel", rec_line,
                     sep == '\t' ? "<TAB>" : ",");
            rc = -EINVAL;
            break;
        }
        if (!header_checked++ && !strcmp(f[0].s ? f[0].s : "", "text") &&
            !strcmp(f[1].s ? f[1].s : "", "label"))
            continue;
        if (!f[1].n) {
            snprintf(err, errlen, "line %zu: an empty label", rec_line);
            rc = -EINVAL;
            break;
        }
        if (!valid_utf8((const unsigned char *)f[0].s, f[0].n) ||
            !valid_utf8((const unsigned char *)f[1].s, f[1].n)) {
            snprintf(err, errlen, "line %zu: not valid UTF-8", rec_line);
            rc = -EINVAL;
            break;
        }
        if (r.n == TEXT_MAX_ROWS) {
            snprintf(err, errlen, "line %zu: more than %d records", rec_line, TEXT_MAX_ROWS);
            rc = -EINVAL;
            break;
        }
        if (r.n == r.cap) {
            size_t cap = r.cap ? 2 * r.cap : 1024;
            char **nt = realloc(r.text, cap * sizeof *nt);
            char **nl2 = nt ? realloc(r.label_of, cap * sizeof *nl2) : NULL;
            if (nt)
                r.text = nt;
            if (!nl2) {
                rc = -ENOMEM;
                break;
            }
            r.label_of = nl2;
            r.cap = cap;
        }
        r.text[r.n] = strdup(f[0].s ? f[0].s : "");
        r.label_of[r.n] = strdup(f[1].s);
        if (!r.text[r.n] || !r.label_of[r.n]) {
            free(r.text[r.n]);
            free(r.label_of[r.n]);
            rc = -ENOMEM;
            break;
        }
        r.n++;
    }
    free(f[0].s);
    free(f[1].s);
    if (rc == 0 && !r.n) {
        snprintf(err, errlen, "no records");
        rc = -EINVAL;
    }
    text_set *t = rc == 0 ? calloc(1, sizeof *t) : NULL;
    char **names = rc == 0 ? malloc(r.n * sizeof *names) : NULL;
    if (rc == 0 && (!t || !names || !(t->label = malloc(r.n * sizeof *t->label))))
        rc = -ENOMEM;
    if (rc == 0) {
        /* The classes: the distinct labels, sorted. */
        memcpy(names, r.label_of, r.n * sizeof *names);
        qsort(names, r.n, sizeof *names, cmp_str);
        size_t k = 0;
        for (size_t i2 = 0; i2 < r.n; i2++)
            if (!k || strcmp(names[k - 1], names[i2]))
                names[k++] = names[i2];
        if (k > TEXT_MAX_CLASSES) {
            snprintf(err, errlen, "%zu distinct labels; at most %d", k, TEXT_MAX_CLASSES);
            rc = -EINVAL;
        } else if (!(t->class_names = calloc(k, sizeof *t->class_names))) {
            rc = -ENOMEM;
        } else {
            t->n_classes = (int)k;
            for (size_t c = 0; c < k && rc == 0; c++)
                if (!(t->class_names[c] = strdup(names[c])))
                    rc = -ENOMEM;
            for (size_t i2 = 0; i2 < r.n && rc == 0; i2++) {
                size_t lo = 0, hi = k;
                while (lo < hi) { /* the label's class, by bisection */
                    size_t mid = (lo + hi) / 2;
                    int d = strcmp(r.label_of[i2], t->class_names[mid]);
                    if (!d) {
                        lo = mid;
                        break;
                    }
                    if (d < 0)
                        hi = mid;
                    else
                        lo = mid + 1;
                }
                t->label[i2] = (int32_t)lo;
            }
        }
    }
    free(names);
    for (size_t i2 = 0; i2 < r.n; i2++)
        free(r.label_of[i2]);
    free(r.label_of);
    if (rc < 0) {
        for (size_t i2 = 0; i2 < r.n; i2++)
            free(r.text[i2]);
        free(r.text);
        text_set_free(t);
        return rc;
    }
    t->text = r.text;
    t->n = r.n;
    *out = t;
    return 0;
}

int text_set_load(const char *path, text_set **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf, why[512];
    size_t n;
    int rc = bert_read_file(path, TEXT_MAX_FILE, &buf, &n, err, errlen);
    if (rc == 0 && (rc = text_set_parse(buf, n, out, why, sizeof why)) < 0)
        snprintf(err, errlen, "%s:%s%s", path,
                 rc == -ENOMEM ? " out of memory" : strncmp(why, "line ", 5) ? " " : "",
                 rc == -ENOMEM ? "" : strncmp(why, "line ", 5) ? why : why + 5);
    free(buf);
    return rc;
}
