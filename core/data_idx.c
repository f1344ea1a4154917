/* IDX files (MNIST, Fashion-MNIST): big-endian header, unsigned bytes. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "data_internal.h"

#define IDX_UBYTE 0x08
#define IDX_MAX_DIMS 4

typedef struct {
    gzFile gz;
    const char *path;
    int ndim;
    size_t dims[IDX_MAX_DIMS];
    size_t offset; /* uncompressed bytes consumed, for messages */
} idx_file;

static const char *idx_type_name(unsigned t)
{
    switch (t) {
    case 0x08: return "unsigned byte";
    case 0x09: return "signed byte";
    case 0x0B: return "short";
    case 0x0C: return "int";
    case 0x0D: return "float";
    case 0x0E: return "double";
    }
    return "unknown";
}

/* Reads exactly n bytes; a short read is a truncated file. */
static int read_exact(idx_file *f, void *buf, size_t n, const char *what, char *err,
                      size_t err_len)
{
    return mlb_data_gzread_exact(f->gz, f->path, &f->offset, buf, n, what, err, err_len);
}

static int idx_open(idx_file *f, const char *path, int min_dim, int max_dim, char *err,
                    size_t err_len)
{
    memset(f, 0, sizeof *f);
    f->path = path;
    int rc = mlb_data_gzopen(path, &f->gz, err, err_len);
    if (rc < 0)
        return rc;
    unsigned char magic[4];
    if ((rc = read_exact(f, magic, 4, "the magic number", err, err_len)) < 0)
        return rc;
    if (magic[0] != 0 || magic[1] != 0)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 0: bad magic number %02x %02x %02x %02x (an IDX file "
                             "starts with 00 00 <type> <dims>)",
                             path, magic[0], magic[1], magic[2], magic[3]);
    if (magic[2] != IDX_UBYTE)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 2: element type 0x%02x (%s); only 0x08 (unsigned byte) is "
                             "supported",
                             path, magic[2], idx_type_name(magic[2]));
    if (magic[3] < min_dim || magic[3] > max_dim)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 3: %u dimensions, expected %d to %d", path, magic[3],
                             min_dim, max_dim);
    f->ndim = magic[3];
    for (int i = 0; i < f->ndim; i++) {
        unsigned char b[4];
        size_t at = f->offset;
        if ((rc = read_exact(f, b, 4, "the header", err, err_len)) < 0)
            return rc;
        uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
        if (v == 0)
            return mlb_data_fail(err, err_len, -EINVAL, "%s: byte %zu: dimension %d is 0", path,
                                 at, i);
        f->dims[i] = v;
    }
    return 0;
}

static void idx_close(idx_file *f)
{
    if (f->gz)
        gzclose(f->gz);
    f->gz = NULL;
}

/* Nothing may follow the data: extra bytes mean the header is wrong. */
static int expect_end(idx_file *f, char *err, size_t err_len)
{
    unsigned char b;
    int got = gzread(f->gz, &b, 1);
    if (got == 1)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte %zu: data continues past the size in the header", f->path,
                             f->offset);
    int rc = mlb_data_gzcheck(f->gz, f->path, err, err_len);
    return rc < 0 ? rc : mlb_data_gz_end(f->gz, f->path, err, err_len);
}

/* Reads count bytes in chunks, growing the buffer only as data arrives, so
 * that a header claiming a huge size in a small (truncated) file fails on
 * the missing data instead of allocating the claim. */
static int read_payload(idx_file *f, size_t count, unsigned char **out, char *err,
                        size_t err_len)
{
    *out = NULL;
    size_t cap = count < ((size_t)1 << 20) ? count : ((size_t)1 << 20);
    unsigned char *buf = malloc(cap ? cap : 1);
    if (!buf)
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", f->path);
    size_t done = 0;
    while (done < count) {
        if (done == cap) {
            size_t ncap = cap * 2 < count ? cap * 2 : count;
            unsigned char *nb = realloc(buf, ncap);
            if (!nb) {
                free(buf);
                return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory at byte %zu",
                                     f->path, f->offset + done);
            }
            buf = nb;
            cap = ncap;
        }
        size_t want = cap - done;
        int rc = read_exact(f, buf + done, want, "the data", err, err_len);
        if (rc < 0) {
            free(buf);
            return rc;
        }
        done += want;
    }
    *out = buf;
    return 0;
}

int mlb_data_load_idx(const char *images_path, const char *labels_path, const mlb_data_opts *opts,
                      mlb_dataset **out, char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    *out = NULL;
    idx_file img, lab;
    memset(&lab, 0, sizeof lab);
    unsigned char *pix = NULL, *labels = NULL;
    mlb_dataset *ds = NULL;
    int rc = idx_open(&img, images_path, 2, 4, err, err_len);
    if (!rc)
        rc = idx_open(&lab, labels_path, 1, 1, err, err_len);
    size_t n = img.dims[0], d = 1;
    for (int i = 1; i < img.ndim; i++)
        d = d <= MLB_DATA_MAX_COLS ? d * img.dims[i] : d;
    if (!rc)
        rc = mlb_data_check_shape(images_path, n, d, err, err_len);
    if (!rc && lab.dims[0] != n)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu labels for the %zu images of %s",
                           labels_path, lab.dims[0], n, images_path);
    size_t rows = opts->max_rows && opts->max_rows < n ? opts->max_rows : n;
    if (!rc)
        rc = read_payload(&img, rows * d, &pix, err, err_len);
    /* Every label, even for a max_rows slice: a byte each, and the number of
     * classes is the file's, not the slice's (whose first rows may lack the
     * top class). */
    if (!rc)
        rc = read_payload(&lab, n, &labels, err, err_len);
    if (!rc && rows == n)
        rc = expect_end(&img, err, err_len);
    if (!rc)
        rc = expect_end(&lab, err, err_len);
    if (!rc && !(ds = mlb_data_new(images_path)))
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", images_path);
    if (!rc && mlb_data_alloc(ds, rows, d, opts->dtype) < 0)
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: cannot allocate %zu x %zu", images_path,
                           rows, d);
    if (!rc) {
        double scale = opts->image_unit ? 1.0 / 255.0 : 1.0;
        for (size_t i = 0; i < rows * d; i++) {
            if (ds->X)
                ds->X[i] = pix[i] * scale;
            else
                ds->X32[i] = (float)(pix[i] * scale);
        }
        int max = -1;
        for (size_t i = 0; i < n; i++)
            if (labels[i] > max)
                max = labels[i];
        for (size_t i = 0; i < rows; i++)
            ds->y[i] = labels[i];
        ds->n_classes = max + 1;
        if (img.ndim == 3) {
            ds->channels = 1;
            ds->height = img.dims[1];
            ds->width = img.dims[2];
        } else if (img.ndim == 4) {
            ds->channels = img.dims[1];
            ds->height = img.dims[2];
            ds->width = img.dims[3];
        }
    }
    idx_close(&img);
    idx_close(&lab);
    free(pix);
    free(labels);
    if (rc) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}
