/* gzread.h: zlib reads plain files as they are, so one reader serves both. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "gzread.h"

int bert_read_file(const char *path, size_t max, char **out, size_t *len, char *err,
                   size_t errlen)
{
    *out = NULL;
    *len = 0;
    gzFile g = gzopen(path, "rb");
    if (!g) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : ENOENT));
        return -ENOENT;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap);
    int got = 0, rc = 0;
    while (buf && (got = gzread(g, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *nb = cap < max ? realloc(buf, 2 * cap) : NULL;
            if (!nb) {
                snprintf(err, errlen, "%s: larger than %zu bytes, or out of memory", path, max);
                rc = -EFBIG;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory", path);
        rc = -ENOMEM;
    } else if (rc == 0 && got < 0) {
        int e;
        snprintf(err, errlen, "%s: %s", path, gzerror(g, &e));
        rc = -EIO;
    }
    gzclose(g);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = n;
    return 0;
}
