/*
 * llm.c's files: GPT-2 checkpoints (gpt2_124M.bin: 256 int32 of header,
 * then the float32 tensors in nn_gpt2_tensor_names' order) and token shards
 * (256 int32 of header, then uint16 tokens). Every reader goes through a
 * parser of bytes in memory, which the fuzz targets (tests/fuzz) drive with
 * arbitrary input; the files are little-endian, as llm.c writes them on
 * every host it runs on.
 */
#include "transformer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HDR_BYTES (NN_GPT2_HEADER_INTS * 4)

static void put32(unsigned char *p, int32_t v)
{
    uint32_t u = (uint32_t)v;
    p[0] = (unsigned char)u;
    p[1] = (unsigned char)(u >> 8);
    p[2] = (unsigned char)(u >> 16);
    p[3] = (unsigned char)(u >> 24);
}

/* The whole file into memory; *len its size. */
static int file_read_all(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        if (n == cap) {
            unsigned char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: out of memory reading the file", path);
        return -ENOMEM;
    }
    if (bad) {
        free(buf);
        snprintf(err, errlen, "%s: read error", path);
        return -EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

int nn_file_write_all(const char *path, const void *hdr, size_t hlen, const void *body,
                     size_t blen, char *err, size_t errlen)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    int ok = fwrite(hdr, 1, hlen, f) == hlen && (blen == 0 || fwrite(body, 1, blen, f) == blen);
    if (fclose(f) != 0 || !ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -EIO;
    }
    return 0;
}

/* The first hlen bytes of a file (*got of them, fewer when it is shorter)
 * and its size. */
static int file_head(const char *path, unsigned char *hdr, size_t hlen, size_t *got,
                     size_t *size, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        return -e;
    }
    *got = fread(hdr, 1, hlen, f);
    long end = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        end = ftell(f);
    fclose(f);
    if (end < 0) {
        snprintf(err, errlen, "%s: cannot tell its size", path);
        return -EIO;
    }
    *size = (size_t)end;
    return 0;
}

int nn_file_parse(const char *path, size_t head, nn_bytes_parser parse, void *arg, char *err,
                  size_t errlen)
{
    unsigned char *buf = NULL;
    size_t len = 0, got = 0;
    int rc;
    if (head) {
        if (!(buf = malloc(head))) {
            snprintf(err, errlen, "%s: out of memory", path);
            return -ENOMEM;
        }
        rc = file_head(path, buf, head, &got, &len, err, errlen);
        if (got < head)
            len = got;
    } else {
        rc = file_read_all(path, &buf, &len, err, errlen);
    }
    if (rc == 0) {
        char msg[1024];
        rc = parse(arg, buf, len, msg, sizeof msg);
        if (rc < 0)
            snprintf(err, errlen, "%s: %s", path, msg);
    }
    free(buf);
    return rc;
}

int nn_params_decode(nn_real *dst, const unsigned char *src, const size_t *sizes,
                     size_t n_tensors, const char *const *names, const char *what, char *err,
                     size_t errlen)
{
    for (size_t t = 0; t < n_tensors; t++)
        for (size_t i = 0; i < sizes[t]; i++, src += 4, dst++) {
            int32_t b = nn_le32(src);
            float f;
            memcpy(&f, &b, 4);
            /* A diverged run's NaN or inf would only come out as NaN outputs. */
            if (!isfinite(f)) {
                snprintf(err, errlen, "%s: %s[%zu] is %s", what, names[t], i,
                         isnan(f) ? "NaN" : "infinite");
                return -EINVAL;
            }
            *dst = (nn_real)f;
        }
    return 0;
}

int nn_params_save(const char *path, const int32_t *ints, int n_ints, size_t hdr_bytes,
                   const nn_real *params, size_t n, char *err, size_t errlen)
{
    unsigned char *hdr = calloc(1, hdr_bytes), *body = malloc(n ? n * 4 : 1);
    if (!hdr || !body || (size_t)n_ints * 4 > hdr_bytes) {
        free(hdr);
        free(body);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    for (int i = 0; i < n_ints; i++)
        put32(hdr + 4 * i, ints[i]);
    for (size_t i = 0; i < n; i++) {
        float f = (float)params[i];
        int32_t b;
        memcpy(&b, &f, 4);
        put32(body + 4 * i, b);
    }
    int rc = nn_file_write_all(path, hdr, hdr_bytes, body, n * 4, err, errlen);
    free(hdr);
    free(body);
    return rc;
}

/* ---- checkpoints ----------------------------------------------------------- */

int nn_gpt2_ckpt_parse_header(const void *data, size_t len, nn_gpt2_config *cfg, char *err,
                              size_t errlen)
{
    const unsigned char *p = data;
    if (len < HDR_BYTES) {
        snprintf(err, errlen, "GPT-2 checkpoint: %zu bytes, shorter than its %d-byte header", len,
                 HDR_BYTES);
        return -EINVAL;
    }
    int32_t magic = nn_le32(p), version = nn_le32(p + 4);
    if (magic != NN_GPT2_CKPT_MAGIC) {
        snprintf(err, errlen,
                 "GPT-2 checkpoint: magic %d, expected %d (llm.c's model file; is this a token "
                 "shard (%d) or a tokenizer (%d)?)",
                 magic, NN_GPT2_CKPT_MAGIC, NN_GPT2_SHARD_MAGIC, NN_GPT2_TOKENIZER_MAGIC);
        return -EINVAL;
    }
    if (version != NN_GPT2_CKPT_VERSION) {
        snprintf(err, errlen,
                 "GPT-2 checkpoint: version %d; only version %d (float32) is read%s", version,
                 NN_GPT2_CKPT_VERSION,
                 version == 5 ? " (5 is llm.c's bfloat16 checkpoint)" : "");
        return -EINVAL;
    }
    nn_gpt2_config c = {.max_seq_len = nn_le32(p + 8), .vocab_size = nn_le32(p + 12),
                        .num_layers = nn_le32(p + 16), .num_heads = nn_le32(p + 20),
                        .channels = nn_le32(p + 24), .padded_vocab_size = nn_le32(p + 28)};
    int rc = nn_gpt2_config_check(&c, err, errlen);
    if (rc < 0)
        return rc;
    size_t sizes[NN_GPT2_NUM_TENSORS];
    size_t want = nn_gpt2_param_sizes(&c, sizes);
    if ((len - HDR_BYTES) / 4 < want || (len - HDR_BYTES) != want * 4) {
        snprintf(err, errlen,
                 "GPT-2 checkpoint: %zu bytes of tensors, but maxT=%d V=%d Vp=%d L=%d NH=%d C=%d "
                 "needs %zu float32 (%zu bytes): %s",
                 len - HDR_BYTES, c.max_seq_len, c.vocab_size, c.padded_vocab_size,
                 c.num_layers, c.num_heads, c.channels, want, want * 4,
                 len - HDR_BYTES < want * 4 ? "truncated" : "trailing bytes");
        return -EINVAL;
    }
    if (cfg)
        *cfg = c;
    return 0;
}

int nn_gpt2_ckpt_parse(nn_gpt2 *m, const void *data, size_t len, char *err, size_t errlen)
{
    nn_gpt2_config c;
    int rc = nn_gpt2_ckpt_parse_header(data, len, &c, err, errlen);
    if (rc < 0)
        return rc;
    if (memcmp(&c, &m->cfg, sizeof c)) {
        snprintf(err, errlen,
                 "GPT-2 checkpoint: maxT=%d V=%d Vp=%d L=%d NH=%d C=%d, but the model is "
                 "maxT=%d V=%d Vp=%d L=%d NH=%d C=%d",
                 c.max_seq_len, c.vocab_size, c.padded_vocab_size, c.num_layers, c.num_heads,
                 c.channels, m->cfg.max_seq_len, m->cfg.vocab_size, m->cfg.padded_vocab_size,
                 m->cfg.num_layers, m->cfg.num_heads, m->cfg.channels);
        return -EINVAL;
    }
    return nn_params_decode(m->params_mem, (const unsigned char *)data + HDR_BYTES, m->sizes,
                            NN_GPT2_NUM_TENSORS, nn_gpt2_tensor_names, "GPT-2 checkpoint", err,
                            errlen);
}

static int ckpt_header_cb(void *cfg, const unsigned char *data, size_t len, char *err,
                          size_t errlen)
{
    return nn_gpt2_ckpt_parse_header(data, len, cfg, err, errlen);
}

static int ckpt_parse_cb(void *m, const unsigned char *data, size_t len, char *err,
                         size_t errlen)
{
    return nn_gpt2_ckpt_parse(m, data, len, err, errlen);
}

int nn_gpt2_ckpt_read_config(const char *path, nn_gpt2_config *cfg, char *err, size_t errlen)
{
    return nn_file_parse(path, HDR_BYTES, ckpt_header_cb, cfg, err, errlen);
}

int nn_gpt2_ckpt_load(nn_gpt2 *m, const char *path, char *err, size_t errlen)
{
    return nn_file_parse(path, 0, ckpt_parse_cb, m, err, errlen);
}

int nn_gpt2_ckpt_save(const nn_gpt2 *m, const char *path, char *err, size_t errlen)
{
    const nn_gpt2_config *c = &m->cfg;
    int32_t v[8] = {NN_GPT2_CKPT_MAGIC, NN_GPT2_CKPT_VERSION, c->max_seq_len, c->vocab_size,
                    c->num_layers, c->num_heads, c->channels, c->padded_vocab_size};
    return nn_params_save(path, v, 8, HDR_BYTES, m->params_mem, m->n_params, err, errlen);
}

/* ---- token shards ---------------------------------------------------------- */

int nn_gpt2_shard_parse(const void *data, size_t len, uint16_t **out, size_t *n, char *err,
                        size_t errlen)
{
    const unsigned char *p = data;
    *out = NULL;
    *n = 0;
    if (len < HDR_BYTES) {
        snprintf(err, errlen, "token shard: %zu bytes, shorter than its %d-byte header", len,
                 HDR_BYTES);
        return -EINVAL;
    }
    int32_t magic = nn_le32(p), version = nn_le32(p + 4), count = nn_le32(p + 8);
    if (magic != NN_GPT2_SHARD_MAGIC) {
        snprintf(err, errlen, "token shard: magic %d, expected %d (llm.c's data file)", magic,
                 NN_GPT2_SHARD_MAGIC);
        return -EINVAL;
    }
    if (version != NN_GPT2_SHARD_VERSION) {
        snprintf(err, errlen, "token shard: version %d, expected %d (uint16 tokens)", version,
                 NN_GPT2_SHARD_VERSION);
        return -EINVAL;
    }
    if (count < 0 || (len - HDR_BYTES) != (size_t)count * 2) {
        snprintf(err, errlen,
                 "token shard: header says %d tokens (%lld bytes) but %zu bytes follow it (%s)",
                 count, (long long)count * 2, len - HDR_BYTES,
                 count < 0 || (len - HDR_BYTES) < (size_t)count * 2 ? "truncated or corrupt"
                                                                     : "trailing bytes");
        return -EINVAL;
    }
    uint16_t *t = nn_alloc(count ? (size_t)count : 1, sizeof *t);
    if (!t) {
        snprintf(err, errlen, "token shard: out of memory for %d tokens", count);
        return -ENOMEM;
    }
    for (int32_t i = 0; i < count; i++)
        t[i] = (uint16_t)(p[HDR_BYTES + 2 * (size_t)i] | p[HDR_BYTES + 2 * (size_t)i + 1] << 8);
    *out = t;
    *n = (size_t)count;
    return 0;
}

struct shard_out {
    uint16_t **out;
    size_t *n;
};

static int shard_parse_cb(void *arg, const unsigned char *data, size_t len, char *err,
                          size_t errlen)
{
    struct shard_out *o = arg;
    return nn_gpt2_shard_parse(data, len, o->out, o->n, err, errlen);
}

int nn_gpt2_shard_load(const char *path, uint16_t **out, size_t *n, char *err, size_t errlen)
{
    struct shard_out o = {out, n};
    *out = NULL;
    *n = 0;
    return nn_file_parse(path, 0, shard_parse_cb, &o, err, errlen);
}

int nn_gpt2_shard_save(const char *path, const uint16_t *tokens, size_t n, char *err,
                       size_t errlen)
{
    if (n > INT32_MAX) {
        snprintf(err, errlen, "%s: %zu tokens exceed a shard's int32 count", path, n);
        return -EINVAL;
    }
    unsigned char hdr[HDR_BYTES] = {0};
    put32(hdr, NN_GPT2_SHARD_MAGIC);
    put32(hdr + 4, NN_GPT2_SHARD_VERSION);
    put32(hdr + 8, (int32_t)n);
    unsigned char *body = malloc(n ? n * 2 : 1);
    if (!body) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        body[2 * i] = (unsigned char)tokens[i];
        body[2 * i + 1] = (unsigned char)(tokens[i] >> 8);
    }
    int rc = nn_file_write_all(path, hdr, sizeof hdr, body, n * 2, err, errlen);
    free(body);
    return rc;
}

/* ---- the evaluation loader ------------------------------------------------- */

size_t nn_gpt2_loader_batches(size_t n, int B, int T)
{
    size_t bt = (size_t)B * (size_t)T;
    return n < 1 || bt == 0 ? 0 : (n - 1) / bt;
}

void nn_gpt2_loader_init(nn_gpt2_loader *l, const uint16_t *tokens, size_t n, int B, int T)
{
    *l = (nn_gpt2_loader){.tokens = tokens, .n = n, .pos = 0, .B = B, .T = T};
}

int nn_gpt2_loader_next(nn_gpt2_loader *l, int32_t *inputs, int32_t *targets)
{
    size_t bt = (size_t)l->B * (size_t)l->T;
    if (l->pos + bt + 1 > l->n) {
        l->pos = 0;
        return -ENODATA;
    }
    const uint16_t *w = l->tokens + l->pos;
    for (size_t i = 0; i < bt; i++) {
        inputs[i] = w[i];
        targets[i] = w[i + 1];
    }
    l->pos += bt;
    return 0;
}
