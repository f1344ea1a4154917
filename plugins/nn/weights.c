/*
 * Weight files: every named tensor of a model, with a magic, a version and
 * a CRC-32 trailer. The format is specified in docs/weights-format.md;
 * tools/parity/cnn_torch.py reads and writes it too. Integers and values
 * are little-endian whatever the host, so files move between machines.
 */
#include "nn.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define HEADER_BYTES 24
#define MAX_TENSORS 100000

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_value(unsigned char *p, nn_real v)
{
#ifdef NN_DOUBLE
    uint64_t u;
    memcpy(&u, &v, sizeof u);
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(u >> (8 * i));
#else
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    put_u32(p, u);
#endif
}

static nn_real get_value(const unsigned char *p, uint32_t elem)
{
    if (elem == 4) {
        uint32_t u = get_u32(p);
        float f;
        memcpy(&f, &u, sizeof f);
        return (nn_real)f;
    }
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u |= (uint64_t)p[i] << (8 * i);
    double d;
    memcpy(&d, &u, sizeof d);
    return (nn_real)d;
}

/* CRC-32 over a buffer of any size (zlib takes uInt lengths). */
static uint32_t crc_of(const unsigned char *p, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

int nn_weights_save(const nn_model *m, const char *path, char *err, size_t errlen)
{
    const uint32_t elem = sizeof(nn_real);
    size_t total = HEADER_BYTES + 4;
    for (int i = 0; i < m->n_params; i++) {
        const nn_param *p = &m->params[i];
        total += 4 + strlen(p->name) + 8 + 4 * (size_t)p->ndim + p->size * elem;
    }
    unsigned char *buf = malloc(total);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory for %zu bytes", path, total);
        return -ENOMEM;
    }
    unsigned char *q = buf;
    memcpy(q, NN_WEIGHTS_MAGIC, 8);
    put_u32(q + 8, NN_WEIGHTS_VERSION);
    put_u32(q + 12, elem);
    put_u32(q + 16, (uint32_t)m->n_params);
    put_u32(q + 20, 0);
    q += HEADER_BYTES;
    for (int i = 0; i < m->n_params; i++) {
        const nn_param *p = &m->params[i];
        size_t len = strlen(p->name);
        put_u32(q, (uint32_t)len);
        memcpy(q + 4, p->name, len);
        q += 4 + len;
        put_u32(q, p->trainable ? 1u : 0u);
        put_u32(q + 4, (uint32_t)p->ndim);
        q += 8;
        for (int d = 0; d < p->ndim; d++, q += 4)
            put_u32(q, (uint32_t)p->dims[d]);
        for (size_t j = 0; j < p->size; j++, q += elem)
            put_value(q, p->data[j]);
    }
    put_u32(q, crc_of(buf, (size_t)(q - buf)));

    /* Written to a temporary name and renamed, so that a crash leaves the
     * old file or the new one, never half of one. */
    char tmp[4096];
    int rc = 0;
    if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
        snprintf(err, errlen, "%s: path too long", path);
        free(buf);
        return -ENAMETOOLONG;
    }
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        free(buf);
        return rc;
    }
    size_t wrote = fwrite(buf, 1, total, f);
    int close_rc = fclose(f);
    free(buf);
    if (wrote != total || close_rc != 0) {
        snprintf(err, errlen, "%s: write failed", tmp);
        remove(tmp);
        return -EIO;
    }
    if (rename(tmp, path) != 0) {
        rc = -errno;
        snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
        remove(tmp);
        return rc;
    }
    return 0;
}

static int read_all(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int rc = -errno;
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        return rc;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        unsigned char *b = realloc(buf, cap * 2);
        if (!b) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = b;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, bad ? "read error" : "out of memory");
        return bad ? -EIO : -ENOMEM;
    }
    *out = buf;
    *len = n;
    return 0;
}

#define FAIL(code, ...)                                                                           \
    do {                                                                                          \
        snprintf(err, errlen, __VA_ARGS__);                                                       \
        rc = (code);                                                                              \
        goto out;                                                                                 \
    } while (0)

int nn_weights_load(nn_model *m, const char *path, char *err, size_t errlen)
{
    unsigned char *buf = NULL;
    size_t len = 0;
    int rc = read_all(path, &buf, &len, err, errlen);
    if (rc < 0)
        return rc;
    char *seen = calloc((size_t)m->n_params + 1, 1);
    if (!seen)
        FAIL(-ENOMEM, "%s: out of memory", path);
    if (len < HEADER_BYTES + 4)
        FAIL(-EINVAL, "%s: %zu bytes, too short for a weight file", path, len);
    if (memcmp(buf, NN_WEIGHTS_MAGIC, 8) != 0)
        FAIL(-EINVAL, "%s: not an mlbench weight file (bad magic)", path);
    uint32_t version = get_u32(buf + 8);
    if (version != NN_WEIGHTS_VERSION)
        FAIL(-EINVAL, "%s: weight file version %u, this build reads version %d", path, version,
             NN_WEIGHTS_VERSION);
    uint32_t elem = get_u32(buf + 12), count = get_u32(buf + 16);
    if (elem != 4 && elem != 8)
        FAIL(-EINVAL, "%s: element size %u, expected 4 (float32) or 8 (float64)", path, elem);
    /* The checksum first: a damaged file should say so, rather than fail
     * on whichever field the damage happened to hit. */
    uint32_t want = get_u32(buf + len - 4), got = crc_of(buf, len - 4);
    if (want != got)
        FAIL(-EINVAL, "%s: checksum mismatch (file 0x%08x, computed 0x%08x): truncated or corrupt",
             path, want, got);
    if (count > MAX_TENSORS)
        FAIL(-EINVAL, "%s: %u tensors, more than the limit of %d", path, count, MAX_TENSORS);
    size_t pos = HEADER_BYTES, end = len - 4;
    for (uint32_t t = 0; t < count; t++) {
        if (end - pos < 4)
            FAIL(-EINVAL, "%s: tensor %u: truncated", path, t);
        uint32_t nlen = get_u32(buf + pos);
        pos += 4;
        if (nlen == 0 || nlen >= NN_NAME_MAX || end - pos < (size_t)nlen + 8)
            FAIL(-EINVAL, "%s: tensor %u: bad name length %u", path, t, nlen);
        char name[NN_NAME_MAX];
        memcpy(name, buf + pos, nlen);
        name[nlen] = '\0';
        pos += nlen;
        uint32_t flags = get_u32(buf + pos), ndim = get_u32(buf + pos + 4);
        pos += 8;
        if (ndim < 1 || ndim > NN_MAX_DIMS || end - pos < 4 * (size_t)ndim)
            FAIL(-EINVAL, "%s: tensor '%s': bad rank %u", path, name, ndim);
        const nn_param *p = nn_model_find(m, name);
        if (!p)
            FAIL(-EINVAL, "%s: tensor '%s' is not in this model", path, name);
        int idx = (int)(p - m->params);
        if (seen[idx])
            FAIL(-EINVAL, "%s: tensor '%s' appears twice", path, name);
        seen[idx] = 1;
        int same = ndim == (uint32_t)p->ndim && (flags & 1u) == (p->trainable ? 1u : 0u);
        for (uint32_t d = 0; d < ndim; d++)
            same = same && d < (uint32_t)p->ndim && get_u32(buf + pos + 4 * d) ==
                                                         (uint32_t)p->dims[d];
        if (!same)
            FAIL(-EINVAL, "%s: tensor '%s' has another shape or kind than the model's", path,
                 name);
        pos += 4 * (size_t)ndim;
        if ((end - pos) / elem < p->size)
            FAIL(-EINVAL, "%s: tensor '%s': data truncated", path, name);
        for (size_t j = 0; j < p->size; j++)
            p->data[j] = get_value(buf + pos + j * elem, elem);
        pos += p->size * elem;
    }
    if (pos != end)
        FAIL(-EINVAL, "%s: %zu unexpected bytes after the last tensor", path, end - pos);
    for (int i = 0; i < m->n_params; i++)
        if (!seen[i])
            FAIL(-EINVAL, "%s: tensor '%s' of the model is missing", path, m->params[i].name);
    rc = 0;
out:
    free(seen);
    free(buf);
    return rc;
}
