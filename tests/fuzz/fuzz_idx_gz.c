/* libFuzzer target: gzip-compressed IDX pairs (the form Fashion-MNIST ships
 * in), through the same loaders as fuzz_idx. The fuzzer's bytes are IDX
 * contents; the target compresses them, so that the mutations reach the
 * IDX parser behind zlib, and damages the gzip streams as the first byte
 * says: its bits pick per file whether to compress at all (a raw file may
 * itself be gzip from the seeds), to cut the stream short, to flip a byte
 * of it, or to append junk after it. Layout: sel, cut (2 bytes, as
 * fuzz_split), images, labels. */
#include <zlib.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* gzip of d[0..n) with one damage; returns a malloc'd buffer of *out_n. */
static uint8_t *gz_of(const uint8_t *d, size_t n, unsigned how, size_t *out_n)
{
    uLong cap = compressBound(n) + 64;
    uint8_t *out = malloc(cap + 8);
    if (!out)
        abort();
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, (how & 8) ? 9 : 1, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        abort();
    z.next_in = (Bytef *)d;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END)
        abort();
    size_t len = z.total_out;
    deflateEnd(&z);
    switch (how & 3) {
    case 1: /* truncated */
        len = len > 1 ? len - 1 - (n % (len - 1)) : 0;
        break;
    case 2: /* one byte changed (the header, the data or the trailer) */
        if (len)
            out[n % len] ^= (uint8_t)(1u << (n % 8));
        break;
    case 3: /* junk after the stream */
        memcpy(out + len, "\x1f\x8bJUNK\n", 8);
        len += 1 + n % 8;
        break;
    }
    *out_n = len;
    return out;
}

static const char *write_part(int slot, const uint8_t *d, size_t n, unsigned how)
{
    if (how & 4)
        return fuzz_write(slot, d, n);
    size_t gn;
    uint8_t *g = gz_of(d, n, how, &gn);
    const char *p = fuzz_write(slot, g, gn);
    free(g);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    size_t cut = 0;
    if (size >= 2) {
        cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
        data += 2;
        size -= 2;
    }
    if (cut > size)
        cut = size;
    const char *a = write_part(0, data, cut, sel & 0xf);
    const char *b = write_part(1, data + cut, size - cut, sel >> 4);
    mlb_data_opts o = {.image_unit = sel & 1, .dtype = (sel & 2) ? MLB_DTYPE_F32 : MLB_DTYPE_F64,
                       .max_rows = (sel & 0x40) ? 1 : 0};
    mlb_dataset *ds;
    FUZZ_CHECK(mlb_data_load_idx(a, b, &o, &ds, err_, sizeof err_), ds);
    char both[160];
    snprintf(both, sizeof both, "%s,%s", a, b);
    FUZZ_CHECK(mlb_dataset_load(both, &o, &ds, err_, sizeof err_), ds);
    return 0;
}
