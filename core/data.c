/* The data layer's common parts: error reporting, the zlib text reader,
 * number parsing, dataset allocation, views, standardisation, split. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gsl/gsl_permutation.h>
#include <gsl/gsl_randist.h>
#include <gsl/gsl_statistics_double.h>
#include <gsl/gsl_statistics_float.h>

#include "data_internal.h"
#include "mlbench/plugin.h"

#define READ_CHUNK ((size_t)1 << 16)

int mlb_data_fail(char *err, size_t err_len, int code, const char *fmt, ...)
{
    if (err && err_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, err_len, fmt, ap);
        va_end(ap);
    }
    return code;
}

int mlb_data_gzopen(const char *path, gzFile *out, char *err, size_t err_len)
{
    *out = NULL;
    /* zlib's own open gives no errno for a missing file on every version;
     * fopen first gives the usual message and keeps directories out. */
    FILE *probe = fopen(path, "rb");
    if (!probe)
        return mlb_data_fail(err, err_len, -errno, "%s: cannot open: %s", path, strerror(errno));
    int fd_ok = fgetc(probe) != EOF || !ferror(probe);
    int saved = errno;
    fclose(probe);
    if (!fd_ok)
        return mlb_data_fail(err, err_len, -EIO, "%s: cannot read: %s", path, strerror(saved));
    gzFile gz = gzopen(path, "rb");
    if (!gz)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: cannot open through zlib", path);
    gzbuffer(gz, 1 << 17);
    *out = gz;
    return 0;
}

int mlb_data_gzcheck(gzFile gz, const char *path, char *err, size_t err_len)
{
    int errnum = Z_OK;
    const char *msg = gzerror(gz, &errnum);
    if (errnum == Z_OK || errnum == Z_STREAM_END)
        return 0;
    /* Z_BUF_ERROR here means the gzip stream ended early: gzread reports a
     * truncated file as a short read, not as -1. */
    if (errnum == Z_BUF_ERROR)
        return mlb_data_fail(err, err_len, -EIO,
                             "%s: truncated gzip data (ends after %lld uncompressed bytes)", path,
                             (long long)gztell(gz));
    if (errnum == Z_ERRNO)
        return mlb_data_fail(err, err_len, -EIO, "%s: read error: %s", path, strerror(errno));
    return mlb_data_fail(err, err_len, -EIO, "%s: corrupt gzip data near uncompressed byte %lld: %s",
                         path, (long long)gztell(gz), msg ? msg : "unknown zlib error");
}

int mlb_data_gzread_exact(gzFile gz, const char *path, size_t *offset, void *buf, size_t n,
                          const char *what, char *err, size_t err_len)
{
    unsigned char *p = buf;
    size_t done = 0;
    while (done < n) {
        /* gzread counts in unsigned and returns int: at most 1 GiB a call. */
        size_t want = n - done > (1u << 30) ? (1u << 30) : n - done;
        int got = gzread(gz, p + done, (unsigned)want);
        if (got <= 0) {
            int rc = mlb_data_gzcheck(gz, path, err, err_len);
            if (rc < 0)
                return rc;
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "%s: truncated at byte %zu: %s needs %zu more bytes", path,
                                 *offset + done, what, n - done);
        }
        done += (size_t)got;
    }
    *offset += n;
    return 0;
}

int mlb_data_gz_end(gzFile gz, const char *path, char *err, size_t err_len)
{
    if (gzdirect(gz))
        return 0; /* not compressed: the reader saw every byte */
    FILE *f = fopen(path, "rb");
    if (!f)
        return mlb_data_fail(err, err_len, -errno, "%s: cannot open: %s", path, strerror(errno));
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    if (inflateInit2(&zs, 15 + 16) != Z_OK) {
        fclose(f);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    }
    unsigned char *in = malloc(1 << 16), *out = malloc(1 << 16);
    long long consumed = 0; /* raw bytes handed to inflate */
    int rc = in && out ? 0 : -ENOMEM, in_member = 1;
    while (rc == 0) {
        if (zs.avail_in == 0) {
            size_t n = fread(in, 1, 1 << 16, f);
            if (n == 0)
                break;
            zs.next_in = in;
            zs.avail_in = (uInt)n;
            consumed += (long long)n;
        }
        if (!in_member) {
            /* Another member may follow (gzip allows concatenation); any
             * other byte is junk, which zlib's gzread skips in silence. */
            if (zs.next_in[0] != 0x1f) {
                rc = -EINVAL;
                break;
            }
            inflateReset(&zs);
            in_member = 1;
        }
        zs.next_out = out;
        zs.avail_out = 1 << 16;
        int z = inflate(&zs, Z_NO_FLUSH);
        if (z == Z_STREAM_END)
            in_member = 0;
        else if (z == Z_DATA_ERROR && zs.total_in == 0)
            rc = -EINVAL; /* 0x1f, but no gzip header */
        else if (z != Z_OK && z != Z_BUF_ERROR)
            break; /* corrupt data: the reader has reported it */
    }
    long long at = consumed - (long long)zs.avail_in;
    inflateEnd(&zs);
    free(in);
    free(out);
    fclose(f);
    if (rc == -EINVAL)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte %lld of the file: bytes after the gzip data (junk, or a "
                             "file appended to it)",
                             path, at);
    if (rc < 0)
        return mlb_data_fail(err, err_len, rc, "%s: out of memory", path);
    return 0;
}

/* ---- Text reader -------------------------------------------------------- */

int mlb_text_open(mlb_text_reader *r, const char *path, char *err, size_t err_len)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->chunk = malloc(READ_CHUNK);
    r->cap = 256;
    r->line = malloc(r->cap);
    if (!r->chunk || !r->line) {
        mlb_text_close(r);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    }
    int rc = mlb_data_gzopen(path, &r->gz, err, err_len);
    if (rc < 0)
        mlb_text_close(r);
    return rc;
}

void mlb_text_close(mlb_text_reader *r)
{
    if (r->gz)
        gzclose(r->gz);
    free(r->chunk);
    free(r->line);
    memset(r, 0, sizeof *r);
}

static int line_append(mlb_text_reader *r, const unsigned char *p, size_t n, char *err,
                       size_t err_len)
{
    if (r->len + n + 1 > r->cap) {
        if (r->len + n + 1 > MLB_DATA_MAX_LINE)
            return mlb_data_fail(err, err_len, -EFBIG,
                                 "%s:%zu: line longer than %zu bytes (not a text data file?)",
                                 r->path, r->lineno, (size_t)MLB_DATA_MAX_LINE);
        size_t cap = r->cap;
        while (cap < r->len + n + 1)
            cap *= 2;
        if (cap > MLB_DATA_MAX_LINE)
            cap = MLB_DATA_MAX_LINE;
        char *line = realloc(r->line, cap);
        if (!line)
            return mlb_data_fail(err, err_len, -ENOMEM, "%s:%zu: out of memory", r->path,
                                 r->lineno);
        r->line = line;
        r->cap = cap;
    }
    if (memchr(p, '\0', n)) {
        size_t col = r->len + (size_t)((const unsigned char *)memchr(p, '\0', n) - p) + 1;
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s:%zu:%zu: NUL byte in a text file (binary or corrupt data)",
                             r->path, r->lineno, col);
    }
    memcpy(r->line + r->len, p, n);
    r->len += n;
    return 0;
}

int mlb_text_next(mlb_text_reader *r, char *err, size_t err_len)
{
    r->len = 0;
    r->lineno++;
    int any = 0;
    for (;;) {
        if (r->chunk_pos == r->chunk_len) {
            if (r->at_eof)
                break;
            int got = gzread(r->gz, r->chunk, (unsigned)READ_CHUNK);
            if (got < 0) {
                int rc = mlb_data_gzcheck(r->gz, r->path, err, err_len);
                return rc < 0 ? rc : mlb_data_fail(err, err_len, -EIO, "%s: read error", r->path);
            }
            if (got == 0) {
                int rc = mlb_data_gzcheck(r->gz, r->path, err, err_len);
                if (rc == 0)
                    rc = mlb_data_gz_end(r->gz, r->path, err, err_len);
                if (rc < 0)
                    return rc;
                r->at_eof = 1;
                break;
            }
            r->chunk_pos = 0;
            r->chunk_len = (size_t)got;
        }
        any = 1;
        const unsigned char *start = r->chunk + r->chunk_pos;
        size_t avail = r->chunk_len - r->chunk_pos;
        const unsigned char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        int rc = line_append(r, start, take, err, err_len);
        if (rc < 0)
            return rc;
        r->chunk_pos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (!any) {
        r->lineno--;
        return 0;
    }
    if (r->len && r->line[r->len - 1] == '\r')
        r->len--;
    /* A UTF-8 byte order mark (spreadsheet exports write one) is not data:
     * left in, it would be an invisible character in the first cell's error
     * message, or part of the first header name. */
    if (r->lineno == 1 && r->len >= 3 && !memcmp(r->line, "\xEF\xBB\xBF", 3)) {
        memmove(r->line, r->line + 3, r->len - 3);
        r->len -= 3;
    }
    r->line[r->len] = '\0';
    return 1;
}

/* ---- Numbers ------------------------------------------------------------ */

int mlb_data_parse_number(const char *s, double *out)
{
    /* Checked by hand first: strtod alone would also take "nan", "inf",
     * hexadecimal and leading blanks, none of which belong in these files. */
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    size_t digits = 0;
    while (isdigit((unsigned char)*p)) {
        p++;
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            p++;
            digits++;
        }
    }
    if (!digits)
        return -1;
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p != '\0')
        return -1;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    /* ERANGE on underflow still gives a usable (tiny or zero) value. */
    if (*end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

/* ---- Growing array ------------------------------------------------------ */

int mlb_dvec_push(mlb_dvec *a, double x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        if (cap > MLB_DATA_MAX_CELLS)
            cap = MLB_DATA_MAX_CELLS;
        if (cap <= a->n)
            return -EFBIG;
        double *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

void mlb_dvec_free(mlb_dvec *a)
{
    free(a->v);
    memset(a, 0, sizeof *a);
}

/* ---- Dataset allocation ------------------------------------------------- */

mlb_dataset *mlb_data_new(const char *name)
{
    mlb_dataset *ds = calloc(1, sizeof *ds);
    if (!ds)
        return NULL;
    ds->name = strdup(name ? name : "");
    if (!ds->name) {
        free(ds);
        return NULL;
    }
    return ds;
}

int mlb_data_check_shape(const char *what, size_t n, size_t d, char *err, size_t err_len)
{
    if (n > MLB_DATA_MAX_ROWS || d > MLB_DATA_MAX_COLS || (d && n > MLB_DATA_MAX_CELLS / d))
        return mlb_data_fail(err, err_len, -EFBIG,
                             "%s: %zu rows x %zu columns is beyond the limits (%zu rows, %zu "
                             "columns, %zu cells): a corrupt size?",
                             what, n, d, (size_t)MLB_DATA_MAX_ROWS, (size_t)MLB_DATA_MAX_COLS,
                             (size_t)MLB_DATA_MAX_CELLS);
    return 0;
}

int mlb_data_alloc(mlb_dataset *ds, size_t n, size_t d, mlb_dtype dtype)
{
    /* n*d <= MLB_DATA_MAX_CELLS was checked by the caller; sizes fit. */
    size_t cells = n * d > 0 ? n * d : 1;
    ds->n = n;
    ds->d = d;
    if (dtype == MLB_DTYPE_F32)
        ds->X32 = malloc(cells * sizeof(float));
    else
        ds->X = malloc(cells * sizeof(double));
    ds->y = calloc(n ? n : 1, sizeof(double));
    if ((dtype == MLB_DTYPE_F32 ? (void *)ds->X32 : (void *)ds->X) == NULL || !ds->y)
        return -ENOMEM;
    return 0;
}

void mlb_data_set_row(mlb_dataset *ds, size_t i, const double *row)
{
    if (ds->X)
        memcpy(ds->X + i * ds->d, row, ds->d * sizeof(double));
    if (ds->X32) {
        float *dst = ds->X32 + i * ds->d;
        for (size_t j = 0; j < ds->d; j++)
            dst[j] = (float)row[j];
    }
}

static void free_list(char **list, size_t n)
{
    if (!list)
        return;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(list);
}

int mlb_data_strdup_list(char *const *src, size_t n, char ***dst)
{
    *dst = NULL;
    if (!src)
        return 0;
    char **out = calloc(n ? n : 1, sizeof *out);
    if (!out)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        if (src[i] && !(out[i] = strdup(src[i]))) {
            free_list(out, n);
            return -ENOMEM;
        }
    }
    *dst = out;
    return 0;
}

int mlb_data_count_classes(mlb_dataset *ds, char *err, size_t err_len)
{
    double max = -1;
    for (size_t i = 0; i < ds->n; i++)
        if (ds->y[i] > max)
            max = ds->y[i];
    if (max >= 65536)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: class label %.0f: more than 65536 classes",
                             ds->name, max);
    ds->n_classes = (int)max + 1;
    return 0;
}

void mlb_dataset_free(mlb_dataset *ds)
{
    if (!ds)
        return;
    free_list(ds->feature_names, ds->d);
    free_list(ds->class_names, ds->n_classes > 0 ? (size_t)ds->n_classes : 0);
    free(ds->target_name);
    free(ds->name);
    free(ds->X);
    free(ds->X32);
    free(ds->y);
    free(ds);
}

/* ---- Seeded randomness -------------------------------------------------- */

static uint64_t splitmix64(uint64_t x)
{
    return mlb_rand_u64(&x);
}

gsl_rng *mlb_data_rng(uint64_t seed, uint64_t stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r)
        return NULL;
    /* MT19937 takes 32 bits of seed (even where unsigned long is 64): fold
     * all 64 bits of the mixed seed in, so no bit of the run seed is lost. */
    uint64_t h = splitmix64(seed ^ splitmix64(stream));
    gsl_rng_set(r, (unsigned long)(uint32_t)(h ^ (h >> 32)));
    return r;
}

/* ---- Views and transforms ----------------------------------------------- */

int mlb_data_view_f32(mlb_dataset *ds)
{
    if (ds->X32)
        return 0;
    if (!ds->X)
        return -EINVAL;
    size_t cells = ds->n * ds->d;
    ds->X32 = malloc((cells ? cells : 1) * sizeof(float));
    if (!ds->X32)
        return -ENOMEM;
    for (size_t i = 0; i < cells; i++)
        ds->X32[i] = (float)ds->X[i];
    return 0;
}

int mlb_data_view_f64(mlb_dataset *ds)
{
    if (ds->X)
        return 0;
    if (!ds->X32)
        return -EINVAL;
    size_t cells = ds->n * ds->d;
    ds->X = malloc((cells ? cells : 1) * sizeof(double));
    if (!ds->X)
        return -ENOMEM;
    for (size_t i = 0; i < cells; i++)
        ds->X[i] = (double)ds->X32[i];
    return 0;
}

int mlb_data_moments(const mlb_dataset *ds, double *mean, double *std)
{
    if (!ds->n || (!ds->X && !ds->X32))
        return -EINVAL;
    for (size_t j = 0; j < ds->d; j++) {
        double m, tss;
        /* Column j is a strided view of the row-major table. */
        if (ds->X) {
            m = gsl_stats_mean(ds->X + j, ds->d, ds->n);
            tss = gsl_stats_tss_m(ds->X + j, ds->d, ds->n, m);
        } else {
            m = gsl_stats_float_mean(ds->X32 + j, ds->d, ds->n);
            tss = gsl_stats_float_tss_m(ds->X32 + j, ds->d, ds->n, m);
        }
        double s = sqrt(tss / (double)ds->n);
        mean[j] = m;
        std[j] = s > 0 && isfinite(s) ? s : 1.0;
    }
    return 0;
}

int mlb_data_standardize(mlb_dataset *ds, const double *mean, const double *std)
{
    double *own = NULL;
    if (!mean || !std) {
        own = malloc(2 * (ds->d ? ds->d : 1) * sizeof *own);
        if (!own)
            return -ENOMEM;
        int rc = mlb_data_moments(ds, own, own + ds->d);
        if (rc < 0) {
            free(own);
            return rc;
        }
        mean = own;
        std = own + ds->d;
    }
    for (size_t i = 0; i < ds->n; i++) {
        for (size_t j = 0; j < ds->d; j++) {
            if (ds->X)
                ds->X[i * ds->d + j] = (ds->X[i * ds->d + j] - mean[j]) / std[j];
            if (ds->X32)
                ds->X32[i * ds->d + j] =
                    (float)(((double)ds->X32[i * ds->d + j] - mean[j]) / std[j]);
        }
    }
    free(own);
    return 0;
}

/* A dataset with the rows idx[0..count) of ds, in that order. */
static int gather(const mlb_dataset *ds, const size_t *idx, size_t count, mlb_dataset **out)
{
    *out = NULL;
    mlb_dataset *o = mlb_data_new(ds->name);
    if (!o)
        return -ENOMEM;
    size_t cells = count * ds->d > 0 ? count * ds->d : 1;
    int rc = 0;
    o->n = count;
    o->d = ds->d;
    o->n_classes = ds->n_classes;
    o->channels = ds->channels;
    o->height = ds->height;
    o->width = ds->width;
    o->y = malloc((count ? count : 1) * sizeof(double));
    if (ds->X)
        o->X = malloc(cells * sizeof(double));
    if (ds->X32)
        o->X32 = malloc(cells * sizeof(float));
    if (!o->y || (ds->X && !o->X) || (ds->X32 && !o->X32))
        rc = -ENOMEM;
    if (!rc && ds->target_name && !(o->target_name = strdup(ds->target_name)))
        rc = -ENOMEM;
    if (!rc)
        rc = mlb_data_strdup_list(ds->feature_names, ds->d, &o->feature_names);
    if (!rc)
        rc = mlb_data_strdup_list(ds->class_names, ds->n_classes > 0 ? (size_t)ds->n_classes : 0,
                                  &o->class_names);
    if (rc) {
        mlb_dataset_free(o);
        return rc;
    }
    for (size_t k = 0; k < count; k++) {
        size_t i = idx[k];
        o->y[k] = ds->y[i];
        if (ds->X)
            memcpy(o->X + k * ds->d, ds->X + i * ds->d, ds->d * sizeof(double));
        if (ds->X32)
            memcpy(o->X32 + k * ds->d, ds->X32 + i * ds->d, ds->d * sizeof(float));
    }
    *out = o;
    return 0;
}

int mlb_data_subset(const mlb_dataset *ds, size_t first, size_t count, mlb_dataset **out)
{
    *out = NULL;
    if (first > ds->n || count > ds->n - first)
        return -ERANGE;
    size_t *idx = malloc((count ? count : 1) * sizeof *idx);
    if (!idx)
        return -ENOMEM;
    for (size_t k = 0; k < count; k++)
        idx[k] = first + k;
    int rc = gather(ds, idx, count, out);
    free(idx);
    return rc;
}

int mlb_data_split(const mlb_dataset *ds, double test_fraction, uint64_t seed, mlb_dataset **train,
                   mlb_dataset **test, char *err, size_t err_len)
{
    *train = *test = NULL;
    if (!(test_fraction > 0 && test_fraction < 1))
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: test_fraction=%g: must be strictly between 0 and 1", ds->name,
                             test_fraction);
    if (ds->n < 2)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: %zu row(s): a train/test split needs at least 2", ds->name,
                             ds->n);
    size_t n_test = (size_t)llround(test_fraction * (double)ds->n);
    if (n_test < 1)
        n_test = 1;
    if (n_test > ds->n - 1)
        n_test = ds->n - 1;

    gsl_rng *rng = mlb_data_rng(seed, UINT64_C(0x73706c6974)); /* "split" */
    size_t *perm = malloc(ds->n * sizeof *perm);
    if (!rng || !perm) {
        gsl_rng_free(rng);
        free(perm);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory for a split", ds->name);
    }
    for (size_t i = 0; i < ds->n; i++)
        perm[i] = i;
    gsl_ran_shuffle(rng, perm, ds->n, sizeof *perm);
    gsl_rng_free(rng);

    int rc = gather(ds, perm, n_test, test);
    if (!rc)
        rc = gather(ds, perm + n_test, ds->n - n_test, train);
    free(perm);
    if (rc) {
        mlb_dataset_free(*test);
        *test = NULL;
        return mlb_data_fail(err, err_len, rc, "%s: out of memory for a split", ds->name);
    }
    return 0;
}

int mlb_data_write_csv(const mlb_dataset *ds, const char *path, char *err, size_t err_len)
{
    if (!ds->X && !ds->X32)
        return mlb_data_fail(err, err_len, -EINVAL, "%s: dataset has no features", ds->name);
    FILE *f = fopen(path, "w");
    if (!f)
        return mlb_data_fail(err, err_len, -errno, "%s: cannot create: %s", path,
                             strerror(errno));
    for (size_t j = 0; j < ds->d; j++)
        fprintf(f, "x%zu,", j);
    fputs("y\n", f);
    for (size_t i = 0; i < ds->n; i++) {
        for (size_t j = 0; j < ds->d; j++)
            fprintf(f, "%.17g,",
                    ds->X ? ds->X[i * ds->d + j] : (double)ds->X32[i * ds->d + j]);
        fprintf(f, "%.17g\n", ds->y[i]);
    }
    int bad = ferror(f);
    if (fclose(f) != 0 || bad)
        return mlb_data_fail(err, err_len, -EIO, "%s: write error", path);
    return 0;
}

/* ---- Class labels, missing values, problems ----------------------------- */

void mlb_data_format_number(double v, char *buf, size_t len)
{
    /* Integers as integers: "10", not the shorter "1e+01". */
    if (v == floor(v) && fabs(v) < 1e15) {
        snprintf(buf, len, "%.0f", v);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, len, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int mlb_data_labels_to_classes(mlb_dataset *ds, int plus_sign, char *err, size_t err_len)
{
    double *sorted = malloc((ds->n ? ds->n : 1) * sizeof *sorted);
    if (!sorted)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", ds->name);
    memcpy(sorted, ds->y, ds->n * sizeof *sorted);
    qsort(sorted, ds->n, sizeof *sorted, cmp_double);
    size_t k = 0;
    for (size_t i = 0; i < ds->n; i++)
        if (i == 0 || sorted[i] != sorted[k - 1])
            sorted[k++] = sorted[i];
    if (k > 65536) {
        free(sorted);
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: %zu distinct labels: not a classification target", ds->name, k);
    }
    char **names = calloc(k ? k : 1, sizeof *names);
    int rc = names ? 0 : -ENOMEM;
    for (size_t c = 0; c < k && !rc; c++) {
        char buf[40];
        if (plus_sign)
            snprintf(buf, sizeof buf, "%+.15g", sorted[c]);
        else
            mlb_data_format_number(sorted[c], buf, sizeof buf);
        if (!(names[c] = strdup(buf)))
            rc = -ENOMEM;
    }
    if (rc) {
        free_list(names, k);
        free(sorted);
        return mlb_data_fail(err, err_len, rc, "%s: out of memory", ds->name);
    }
    for (size_t i = 0; i < ds->n; i++) {
        const double *hit = bsearch(&ds->y[i], sorted, k, sizeof *sorted, cmp_double);
        ds->y[i] = (double)(hit - sorted);
    }
    /* Replaces whatever the caller had (a mapping is the whole truth). */
    free_list(ds->class_names, ds->n_classes > 0 ? (size_t)ds->n_classes : 0);
    ds->class_names = names;
    ds->n_classes = (int)k;
    free(sorted);
    return 0;
}

int mlb_data_is_missing(const char *s)
{
    static const char *const marks[] = {"", "na", "n/a", "nan", "null", "none", "?"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++)
        if (!strcasecmp(s, marks[i]))
            return 1;
    return 0;
}

void mlb_data_note_problem(mlb_data_info *info, const char *msg)
{
    if (info->n_problems < MLB_DATA_INFO_MAX)
        snprintf(info->problems[info->n_problems], sizeof info->problems[0], "%s", msg);
    info->n_problems++;
}

void mlb_data_note_warning(mlb_data_info *info, const char *fmt, ...)
{
    if (info->n_warnings < MLB_DATA_INFO_MAX) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(info->warnings[info->n_warnings], sizeof info->warnings[0], fmt, ap);
        va_end(ap);
    }
    info->n_warnings++;
}
