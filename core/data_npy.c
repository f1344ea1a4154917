/* NumPy .npy files (format 1.0, 2.0, 3.0): a features array and a targets
 * array, as np.save writes them. The header is a Python dict literal; only
 * the three keys np.save writes are accepted, parsed by hand (no eval). */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"
#include "utf8.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAX_DIMS 32
/* np.save's headers are a few hundred bytes; NumPy itself refuses headers
 * over 10000 bytes by default. A larger length is a corrupt file. */
#define NPY_MAX_HEADER ((size_t)1 << 16)
#define NPY_CHUNK ((size_t)1 << 16) /* elements decoded per read */

typedef struct {
    gzFile gz;
    const char *path;
    size_t offset;        /* uncompressed bytes consumed, for messages */
    char kind;            /* 'f', 'i', 'u', 'b' */
    size_t itemsize;
    int swap;             /* the file's byte order is not the host's */
    int ndim;
    size_t shape[NPY_MAX_DIMS];
    size_t count;         /* elements (product of the shape) */
    size_t data_offset;   /* where the data start */
    char descr[32];       /* as written, for messages */
} npy_file;

static int host_is_little(void)
{
    const uint16_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

static int read_exact(npy_file *f, void *buf, size_t n, const char *what, char *err,
                      size_t err_len)
{
    return mlb_data_gzread_exact(f->gz, f->path, &f->offset, buf, n, what, err, err_len);
}

/* ---- The header dict ----------------------------------------------------- */

typedef struct {
    const char *s;  /* header text (not NUL-terminated) */
    size_t n, i;
    size_t base;    /* file offset of s[0] */
    const char *path;
    char *err;
    size_t err_len;
} hparser;

static int hfail(hparser *h, const char *what)
{
    return mlb_data_fail(h->err, h->err_len, -EINVAL, "%s: byte %zu: .npy header: %s", h->path,
                         h->base + h->i, what);
}

static void hskip(hparser *h)
{
    while (h->i < h->n && (h->s[h->i] == ' ' || h->s[h->i] == '\t' || h->s[h->i] == '\n' ||
                           h->s[h->i] == '\r'))
        h->i++;
}

static int hpeek(hparser *h)
{
    hskip(h);
    return h->i < h->n ? (unsigned char)h->s[h->i] : -1;
}

static int hexpect(hparser *h, char c, const char *what)
{
    if (hpeek(h) != (unsigned char)c)
        return hfail(h, what);
    h->i++;
    return 0;
}

/* A quoted string without escapes (np.save writes none in these keys). */
static int hstring(hparser *h, char *out, size_t out_len)
{
    int q = hpeek(h);
    if (q != '\'' && q != '"')
        return hfail(h, "expected a quoted string");
    size_t start = ++h->i;
    while (h->i < h->n && h->s[h->i] != q) {
        if (h->s[h->i] == '\\')
            return hfail(h, "escapes in strings are not supported");
        h->i++;
    }
    if (h->i >= h->n)
        return hfail(h, "unterminated string");
    size_t len = h->i - start;
    h->i++;
    if (len + 1 > out_len) {
        h->i = start;
        return hfail(h, "string too long");
    }
    memcpy(out, h->s + start, len);
    out[len] = '\0';
    return 0;
}

static int hword(hparser *h, const char *w)
{
    size_t len = strlen(w);
    if (h->n - h->i >= len && !memcmp(h->s + h->i, w, len)) {
        h->i += len;
        return 1;
    }
    return 0;
}

static int hshape(hparser *h, npy_file *f)
{
    if (hexpect(h, '(', "shape: expected a tuple such as (3, 4)") < 0)
        return -EINVAL;
    f->ndim = 0;
    for (;;) {
        int c = hpeek(h);
        if (c == ')') {
            h->i++;
            return 0;
        }
        if (c < '0' || c > '9')
            return hfail(h, "shape: expected a non-negative integer");
        if (f->ndim == NPY_MAX_DIMS)
            return hfail(h, "shape: more than 32 dimensions");
        size_t v = 0;
        size_t at = h->i;
        while (h->i < h->n && h->s[h->i] >= '0' && h->s[h->i] <= '9') {
            if (v > (SIZE_MAX - 9) / 10) {
                h->i = at;
                return hfail(h, "shape: dimension too large");
            }
            v = v * 10 + (size_t)(h->s[h->i] - '0');
            h->i++;
        }
        if (h->i < h->n && h->s[h->i] == 'L') /* Python 2's long */
            h->i++;
        f->shape[f->ndim++] = v;
        c = hpeek(h);
        if (c == ',')
            h->i++;
        else if (c != ')')
            return hfail(h, "shape: expected ',' or ')'");
    }
}

static int parse_descr(hparser *h, npy_file *f, const char *d, size_t at)
{
    snprintf(f->descr, sizeof f->descr, "%s", d);
    char order = '|';
    const char *p = d;
    if (*p == '<' || *p == '>' || *p == '|' || *p == '=')
        order = *p++;
    char kind = *p ? *p++ : '\0';
    size_t size = 0;
    int digits = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        size = size * 10 + (size_t)(*p++ - '0');
        digits++;
    }
    int ok = *p == '\0' && digits > 0 &&
             ((kind == 'f' && (size == 4 || size == 8)) ||
              ((kind == 'i' || kind == 'u') && (size == 1 || size == 2 || size == 4 || size == 8)) ||
              (kind == 'b' && size == 1));
    if (!ok) {
        const char *what = "";
        switch (kind) {
        case 'U': what = " (unicode strings)"; break;
        case 'S': case 'a': what = " (byte strings)"; break;
        case 'O': what = " (Python objects)"; break;
        case 'c': what = " (complex numbers)"; break;
        case 'M': case 'm': what = " (dates or times)"; break;
        case 'V': what = " (raw or structured records)"; break;
        case 'f': what = " (a float size other than 4 or 8)"; break;
        }
        h->i = at;
        char msg[160];
        snprintf(msg, sizeof msg,
                 "dtype '%s'%s is not supported; save float64, float32, integers or bool",
                 MLB_EXCERPT(d, 20), what);
        return hfail(h, msg);
    }
    int file_little = order == '<' || (order == '=' && host_is_little());
    f->kind = kind;
    f->itemsize = size;
    f->swap = size > 1 && order != '|' && file_little != host_is_little();
    return 0;
}

static int parse_header(npy_file *f, const char *s, size_t n, size_t base, char *err,
                        size_t err_len)
{
    hparser h = {s, n, 0, base, f->path, err, err_len};
    int have_descr = 0, have_order = 0, have_shape = 0, fortran = 0;
    size_t fortran_at = 0;
    if (hexpect(&h, '{', "expected '{' (a Python dict)") < 0)
        return -EINVAL;
    for (;;) {
        int c = hpeek(&h);
        if (c == '}') {
            h.i++;
            break;
        }
        char key[32];
        size_t key_at = h.i;
        if (hstring(&h, key, sizeof key) < 0 || hexpect(&h, ':', "expected ':' after a key") < 0)
            return -EINVAL;
        hskip(&h);
        size_t at = h.i;
        if (!strcmp(key, "descr") && !have_descr) {
            if (hpeek(&h) == '[')
                return hfail(&h, "structured dtype (a list of fields) is not supported");
            char d[32];
            if (hstring(&h, d, sizeof d) < 0 || parse_descr(&h, f, d, at) < 0)
                return -EINVAL;
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order") && !have_order) {
            if (hword(&h, "True"))
                fortran = 1;
            else if (!hword(&h, "False"))
                return hfail(&h, "fortran_order: expected True or False");
            fortran_at = at;
            have_order = 1;
        } else if (!strcmp(key, "shape") && !have_shape) {
            if (hshape(&h, f) < 0)
                return -EINVAL;
            have_shape = 1;
        } else {
            h.i = key_at;
            char msg[96];
            snprintf(msg, sizeof msg, "unexpected or repeated key '%s'", MLB_EXCERPT(key, 32));
            return hfail(&h, msg);
        }
        c = hpeek(&h);
        if (c == ',')
            h.i++;
        else if (c != '}')
            return hfail(&h, "expected ',' or '}'");
    }
    hskip(&h);
    if (h.i != h.n)
        return hfail(&h, "text after the dict");
    if (!have_descr || !have_order || !have_shape)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte %zu: .npy header lacks '%s'", f->path, base,
                             !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    size_t multi = 0;
    for (int k = 0; k < f->ndim; k++)
        multi += f->shape[k] > 1;
    /* Fortran order only changes the layout of an array with two or more
     * dimensions longer than 1. */
    if (fortran && multi > 1) {
        h.i = fortran_at;
        return hfail(&h, "fortran_order is True: only C order is read (save "
                         "np.ascontiguousarray(a), or a.T if it was written transposed)");
    }
    return 0;
}

static int npy_open(npy_file *f, const char *path, char *err, size_t err_len)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int rc = mlb_data_gzopen(path, &f->gz, err, err_len);
    if (rc < 0)
        return rc;
    unsigned char pre[8] = {0};
    int got = gzread(f->gz, pre, 8);
    if (got < 0)
        return mlb_data_gzcheck(f->gz, path, err, err_len) < 0
                   ? -EIO
                   : mlb_data_fail(err, err_len, -EIO, "%s: read error", path);
    /* A short file that is not .npy either is named for what it is. */
    size_t have = (size_t)got;
    if (memcmp(pre, NPY_MAGIC, have < 6 ? have : 6) != 0 || have == 0)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 0: not a .npy file (starts %02x %02x %02x %02x %02x %02x, "
                             "expected \\x93NUMPY)",
                             path, pre[0], pre[1], pre[2], pre[3], pre[4], pre[5]);
    if (have < 8)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: truncated at byte %zu: the .npy preamble needs %zu more bytes",
                             path, have, 8 - have);
    f->offset = 8;
    size_t hlen;
    if (pre[6] == 1) {
        unsigned char b[2];
        if ((rc = read_exact(f, b, 2, "the header length", err, err_len)) < 0)
            return rc;
        hlen = (size_t)b[0] | (size_t)b[1] << 8;
    } else if (pre[6] == 2 || pre[6] == 3) {
        unsigned char b[4];
        if ((rc = read_exact(f, b, 4, "the header length", err, err_len)) < 0)
            return rc;
        hlen = (size_t)b[0] | (size_t)b[1] << 8 | (size_t)b[2] << 16 | (size_t)b[3] << 24;
    } else {
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 6: .npy format version %u.%u (1.0, 2.0 and 3.0 are read)",
                             path, pre[6], pre[7]);
    }
    if (hlen > NPY_MAX_HEADER)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 8: .npy header of %zu bytes (more than %zu: corrupt?)",
                             path, hlen, (size_t)NPY_MAX_HEADER);
    char *h = malloc(hlen ? hlen : 1);
    if (!h)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    size_t base = f->offset;
    rc = read_exact(f, h, hlen, "the header", err, err_len);
    if (rc == 0)
        rc = parse_header(f, h, hlen, base, err, err_len);
    free(h);
    if (rc < 0)
        return rc;
    f->data_offset = f->offset;
    size_t count = 1;
    for (int k = 0; k < f->ndim; k++) {
        if (f->shape[k] && count > MLB_DATA_MAX_CELLS / f->shape[k])
            return mlb_data_fail(err, err_len, -EFBIG,
                                 "%s: byte %zu: shape beyond the limit of %zu elements: a "
                                 "corrupt size?",
                                 path, base, (size_t)MLB_DATA_MAX_CELLS);
        count *= f->shape[k];
    }
    f->count = count;
    return 0;
}

static void npy_close(npy_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

static void shape_text(const npy_file *f, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "(");
    for (int k = 0; k < f->ndim && used < len; k++)
        used += (size_t)snprintf(buf + used, len - used, "%s%zu", k ? ", " : "", f->shape[k]);
    if (used < len)
        snprintf(buf + used, len - used, f->ndim == 1 ? ",)" : ")");
}

static double decode(const npy_file *f, const unsigned char *p)
{
    unsigned char b[8];
    size_t n = f->itemsize;
    for (size_t k = 0; k < n; k++)
        b[k] = f->swap ? p[n - 1 - k] : p[k];
    switch (f->kind) {
    case 'f':
        if (n == 4) {
            float v;
            memcpy(&v, b, 4);
            return v;
        } else {
            double v;
            memcpy(&v, b, 8);
            return v;
        }
    case 'b':
        return b[0] != 0;
    case 'u':
        switch (n) {
        case 1: return b[0];
        case 2: { uint16_t v; memcpy(&v, b, 2); return v; }
        case 4: { uint32_t v; memcpy(&v, b, 4); return v; }
        default: { uint64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    default:
        switch (n) {
        case 1: { int8_t v; memcpy(&v, b, 1); return v; }
        case 2: { int16_t v; memcpy(&v, b, 2); return v; }
        case 4: { int32_t v; memcpy(&v, b, 4); return v; }
        default: { int64_t v; memcpy(&v, b, 8); return (double)v; }
        }
    }
}

/* Reads `count` elements as doubles (into *d) or floats (into *s), scaled
 * by `scale`; the buffers grow as data arrive, so that a header claiming a
 * huge shape in a small file fails on the missing data. `row_len` turns an
 * element index into row and column for messages. */
static int read_values(npy_file *f, size_t count, size_t row_len, double scale, double **d,
                       float **s, char *err, size_t err_len)
{
    size_t cap = count < NPY_CHUNK ? count : NPY_CHUNK;
    size_t esize = d ? sizeof(double) : sizeof(float);
    void *buf = malloc((cap ? cap : 1) * esize);
    unsigned char *raw = malloc(NPY_CHUNK * f->itemsize);
    int rc = buf && raw ? 0 : mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", f->path);
    size_t done = 0;
    while (!rc && done < count) {
        size_t take = count - done < NPY_CHUNK ? count - done : NPY_CHUNK;
        if (done + take > cap) {
            size_t ncap = cap * 2 > done + take ? cap * 2 : done + take;
            if (ncap > count)
                ncap = count;
            void *nb = realloc(buf, ncap * esize);
            if (!nb) {
                rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory at byte %zu",
                                   f->path, f->offset);
                break;
            }
            buf = nb;
            cap = ncap;
        }
        size_t at = f->offset;
        if ((rc = read_exact(f, raw, take * f->itemsize, "the data", err, err_len)) < 0) {
            char shape[96];
            shape_text(f, shape, sizeof shape);
            size_t len = err ? strlen(err) : 0;
            if (err && len + 1 < err_len)
                snprintf(err + len, err_len - len, " (shape %s of '%s')", shape, f->descr);
            break;
        }
        for (size_t k = 0; k < take; k++) {
            double v = decode(f, raw + k * f->itemsize);
            if (!isfinite(v)) {
                size_t e = done + k;
                rc = mlb_data_fail(err, err_len, -EINVAL,
                                   "%s: byte %zu: element %zu (row %zu, column %zu, counting from 0) "
                                   "is %s",
                                   f->path, at + k * f->itemsize, e, e / row_len, e % row_len,
                                   isnan(v) ? "NaN" : "infinite");
                break;
            }
            v *= scale;
            if (d)
                ((double *)buf)[done + k] = v;
            else
                ((float *)buf)[done + k] = (float)v;
        }
        done += take;
    }
    free(raw);
    if (rc) {
        free(buf);
        return rc;
    }
    if (d)
        *d = buf;
    else
        *s = buf;
    return 0;
}

/* Nothing may follow the data: extra bytes mean the header is wrong. */
static int expect_end(npy_file *f, char *err, size_t err_len)
{
    unsigned char b;
    if (gzread(f->gz, &b, 1) == 1)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte %zu: data continue past the shape in the header", f->path,
                             f->offset);
    return mlb_data_gzcheck(f->gz, f->path, err, err_len);
}

int mlb_data_load_npy(const char *x_path, const char *y_path, const mlb_data_opts *opts,
                      mlb_dataset **out, char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    if (!x_path || !y_path)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: a .npy dataset is a pair: features and targets (X.npy,y.npy)",
                             x_path ? x_path : y_path ? y_path : "(null)");
    npy_file fx, fy;
    memset(&fy, 0, sizeof fy);
    mlb_dataset *ds = NULL;
    double *y = NULL;
    char shape[96];
    int rc = npy_open(&fx, x_path, err, err_len);
    size_t n = 0, d = 1;
    if (!rc) {
        shape_text(&fx, shape, sizeof shape);
        for (int k = 1; k < fx.ndim; k++)
            d *= fx.shape[k];
        n = fx.ndim ? fx.shape[0] : 0;
        if (fx.ndim == 0)
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s: shape (): a scalar, not a table of rows", x_path);
        else if (n == 0 || d == 0)
            rc = mlb_data_fail(err, err_len, -EINVAL, "%s: shape %s: no %s", x_path, shape,
                               n == 0 ? "rows" : "columns");
        else
            rc = mlb_data_check_shape(x_path, n, d, err, err_len);
    }
    if (!rc)
        rc = npy_open(&fy, y_path, err, err_len);
    if (!rc) {
        char yshape[96];
        shape_text(&fy, yshape, sizeof yshape);
        if (!(fy.ndim == 1 || (fy.ndim == 2 && fy.shape[1] == 1)))
            rc = mlb_data_fail(err, err_len, -EINVAL,
                               "%s: shape %s: targets must be of shape (n,) or (n, 1)", y_path,
                               yshape);
        else if (fy.shape[0] != n)
            rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu targets for the %zu rows of %s",
                               y_path, fy.shape[0], n, x_path);
    }
    size_t rows = opts->max_rows && opts->max_rows < n ? opts->max_rows : n;
    if (!rc && !(ds = mlb_data_new(x_path)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", x_path);
    if (!rc) {
        double scale = opts->image_unit && fx.kind == 'u' && fx.itemsize == 1 ? 1.0 / 255.0 : 1.0;
        ds->d = d;
        if (opts->dtype == MLB_DTYPE_F32)
            rc = read_values(&fx, rows * d, d, scale, NULL, &ds->X32, err, err_len);
        else
            rc = read_values(&fx, rows * d, d, scale, &ds->X, NULL, err, err_len);
    }
    if (!rc && rows == n)
        rc = expect_end(&fx, err, err_len);
    /* Every target, even for a max_rows slice: the classes are the file's. */
    if (!rc)
        rc = read_values(&fy, n, 1, 1.0, &y, NULL, err, err_len);
    if (!rc)
        rc = expect_end(&fy, err, err_len);
    if (!rc) {
        ds->y = y;
        ds->n = n;
        y = NULL;
        if (opts->classify)
            rc = mlb_data_labels_to_classes(ds, 0, err, err_len);
        ds->n = rows;
    }
    if (!rc && (fx.ndim == 3 || fx.ndim == 4)) {
        ds->channels = fx.ndim == 4 ? fx.shape[1] : 1;
        ds->height = fx.shape[fx.ndim - 2];
        ds->width = fx.shape[fx.ndim - 1];
    }
    npy_close(&fx);
    npy_close(&fy);
    free(y);
    if (rc) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}
