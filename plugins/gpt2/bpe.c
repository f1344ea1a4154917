/*
 * GPT-2's byte-level BPE (bpe.h). Tokens are held as byte strings and
 * merges as pairs of ids: every merge's result is itself a token of
 * encoder.json, so a word is an array of ids and a merge step rewrites
 * adjacent (left, right) into their merged id, lowest rank first, all
 * occurrences left to right, exactly as Encoder.js's string version does.
 */
#include "bpe.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "bpe_unicode.h"
#include "mlbench/data.h"

#define ENCODER_FILE "gpt2_encoder.json.gz"
#define VOCAB_FILE "gpt2_vocab.bpe.gz"
#define MAX_VOCAB (1 << 20)

/* ---- Unicode classes and UTF-8 ---------------------------------------- */

static int in_ranges(const uint32_t (*r)[2], int n, uint32_t cp)
{
    int lo = 0, hi = n - 1;
    while (lo <= hi) {
        int mid = (lo + hi) / 2;
        if (cp < r[mid][0])
            hi = mid - 1;
        else if (cp > r[mid][1])
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}

enum { CL_LETTER, CL_NUMBER, CL_SPACE, CL_OTHER };

/* An invalid byte decodes to this, which is in no class but "other". */
#define CP_INVALID 0xFFFFFFFFu

static int cp_class(uint32_t cp)
{
    if (cp < 128) { /* the common case without a search */
        if ((cp | 32) >= 'a' && (cp | 32) <= 'z')
            return CL_LETTER;
        if (cp >= '0' && cp <= '9')
            return CL_NUMBER;
        if (cp == ' ' || (cp >= 9 && cp <= 13))
            return CL_SPACE;
        return CL_OTHER;
    }
    if (cp == CP_INVALID)
        return CL_OTHER;
    if (in_ranges(bpe_letter_ranges, BPE_LETTER_RANGES, cp))
        return CL_LETTER;
    if (in_ranges(bpe_number_ranges, BPE_NUMBER_RANGES, cp))
        return CL_NUMBER;
    if (in_ranges(bpe_space_ranges, BPE_SPACE_RANGES, cp))
        return CL_SPACE;
    return CL_OTHER;
}

/* The code point at s[i] (i < n) and its length; malformed, overlong,
 * surrogate or out-of-range sequences give CP_INVALID for one byte. */
static uint32_t utf8_at(const uint8_t *s, size_t n, size_t i, size_t *len)
{
    uint8_t c = s[i];
    *len = 1;
    if (c < 0x80)
        return c;
    int k = c >= 0xf0 ? 3 : c >= 0xe0 ? 2 : c >= 0xc0 ? 1 : -1;
    if (k < 0 || c >= 0xf8 || i + (size_t)k >= n)
        return CP_INVALID;
    uint32_t cp = c & (0x3f >> k);
    for (int j = 1; j <= k; j++) {
        uint8_t d = s[i + (size_t)j];
        if ((d & 0xc0) != 0x80)
            return CP_INVALID;
        cp = cp << 6 | (d & 0x3f);
    }
    static const uint32_t min_cp[4] = {0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return CP_INVALID;
    *len = (size_t)k + 1;
    return cp;
}

static int class_at(const uint8_t *s, size_t n, size_t i, size_t *len)
{
    return cp_class(utf8_at(s, n, i, len));
}

/* The end of the run of class cl starting at i. */
static size_t run_of(const uint8_t *s, size_t n, size_t i, int cl)
{
    size_t len;
    while (i < n && class_at(s, n, i, &len) == cl)
        i += len;
    return i;
}

size_t gpt2_bpe_pretoken(const uint8_t *s, size_t n, size_t i)
{
    /* 's|'t|'re|'ve|'m|'ll|'d */
    if (s[i] == '\'' && i + 1 < n) {
        uint8_t a = s[i + 1], b = i + 2 < n ? s[i + 2] : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd')
            return i + 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l'))
            return i + 3;
    }
    /* ' ?\p{L}+', ' ?\p{N}+', ' ?[^\s\p{L}\p{N}]+': an optional space, then
     * a run of one class. */
    size_t len, start = s[i] == ' ' && i + 1 < n ? i + 1 : i;
    int cl = class_at(s, n, start, &len);
    if (cl != CL_SPACE)
        return run_of(s, n, start, cl);
    /* '\s+(?!\S)': the whitespace run, less its last character when a
     * non-space follows (that character then starts the next piece);
     * '\s+' when the run is that one character. */
    size_t e = run_of(s, n, i, CL_SPACE);
    if (e == i) /* s[i] == ' ' followed by a space was handled above: unreachable */
        return i + 1;
    if (e == n)
        return e;
    size_t last = i, p = i;
    while (p < e) {
        last = p;
        utf8_at(s, n, p, &len);
        p += len;
    }
    return last > i ? last : e;
}

/* ---- byte-to-unicode ---------------------------------------------------- */

/* GPT-2's map: printable Latin-1 bytes stand for themselves, the other 68
 * for U+0100 + their rank among them. The inverse, [0, 0x144): byte or -1. */
static void byte_maps(uint32_t to_cp[256], int from_cp[0x144])
{
    int n = 0;
    for (int i = 0; i < 0x144; i++)
        from_cp[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae);
        to_cp[b] = printable ? (uint32_t)b : (uint32_t)(256 + n++);
        from_cp[to_cp[b]] = b;
    }
}

/* The bytes a token string of encoder.json or vocab.bpe stands for, into
 * out (at most strlen(str) bytes); -1 when it holds a code point outside
 * the map. */
static long unmap(const char *str, size_t slen, const int from_cp[0x144], uint8_t *out)
{
    const uint8_t *s = (const uint8_t *)str;
    long k = 0;
    for (size_t i = 0; i < slen;) {
        size_t len;
        uint32_t cp = utf8_at(s, slen, i, &len);
        if (cp >= 0x144 || from_cp[cp] < 0)
            return -1;
        out[k++] = (uint8_t)from_cp[cp];
        i += len;
    }
    return k;
}

/* ---- tables ------------------------------------------------------------- */

static uint64_t hash_bytes(const uint8_t *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static size_t pow2_at_least(size_t n)
{
    size_t c = 16;
    while (c < n)
        c *= 2;
    return c;
}

static size_t merge_slot(const gpt2_bpe *t, uint64_t key)
{
    size_t mask = t->mcap - 1, h = (size_t)((key * 0x9E3779B97F4A7C15ull) >> 17) & mask;
    while (t->mkey[h] && t->mkey[h] != key)
        h = (h + 1) & mask;
    return h;
}

static uint64_t pair_key(int32_t a, int32_t b)
{
    return (uint64_t)(uint32_t)(a + 1) << 32 | (uint32_t)b;
}

void gpt2_bpe_free(gpt2_bpe *t)
{
    free(t->bytes);
    free(t->off);
    free(t->mkey);
    free(t->mrank);
    free(t->mout);
    memset(t, 0, sizeof *t);
}

/* The id of bytes p[n] in the byte-string table ids[cap] (or -1). */
static int32_t find_token(const gpt2_bpe *t, const int32_t *ids, size_t cap, const uint8_t *p,
                          size_t n)
{
    size_t h = (size_t)hash_bytes(p, n) & (cap - 1);
    while (ids[h] >= 0) {
        int32_t id = ids[h];
        size_t len = t->off[id + 1] - t->off[id];
        if (len == n && !memcmp(t->bytes + t->off[id], p, n))
            return id;
        h = (h + 1) & (cap - 1);
    }
    return -1;
}

__attribute__((format(printf, 4, 5))) static int fail(char *err, size_t errlen, int rc,
                                                       const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return rc;
}

/* The vocabulary from encoder.json; fills t->bytes, off, byte_id, eot. */
static int load_encoder(gpt2_bpe *t, const char *json, size_t len, const int from_cp[0x144],
                        char *err, size_t errlen)
{
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return fail(err, errlen, -EINVAL, "encoder.json: not a JSON object");
    }
    int n = cJSON_GetArraySize(root);
    if (n < 256 || n > MAX_VOCAB) {
        cJSON_Delete(root);
        return fail(err, errlen, -EINVAL,
                    "encoder.json: %d entries (a byte-level vocabulary has 256 to 2^20)", n);
    }
    size_t total = 0;
    for (cJSON *e = root->child; e; e = e->next)
        total += strlen(e->string);
    t->n_vocab = n;
    t->bytes = malloc(total ? total : 1);
    t->off = calloc((size_t)n + 1, sizeof *t->off);
    uint32_t *len_of = calloc((size_t)n, sizeof *len_of);
    uint8_t **src = calloc((size_t)n, sizeof *src);
    uint8_t *tmp = malloc(total ? total : 1);
    int rc = 0;
    if (!t->bytes || !t->off || !len_of || !src || !tmp)
        rc = fail(err, errlen, -ENOMEM, "encoder.json: out of memory");
    /* First the bytes of each entry, by id (the file's order is not the
     * ids'), then the table in id order. */
    size_t at = 0;
    t->eot = n - 1;
    for (cJSON *e = root->child; e && rc == 0; e = e->next) {
        double v = cJSON_IsNumber(e) ? e->valuedouble : -1;
        if (!(v >= 0 && v < n) || v != (double)(long)v) {
            rc = fail(err, errlen, -EINVAL,
                      "encoder.json: entry '%.60s': id %g is not an integer in [0, %d)",
                      e->string, v, n);
            break;
        }
        int id = (int)v;
        if (src[id]) {
            rc = fail(err, errlen, -EINVAL, "encoder.json: entry '%.60s': id %d given twice",
                      e->string, id);
            break;
        }
        long k = unmap(e->string, strlen(e->string), from_cp, tmp + at);
        if (k <= 0) {
            rc = fail(err, errlen, -EINVAL,
                      "encoder.json: entry '%.60s' (id %d): empty, or a character outside "
                      "GPT-2's byte-to-unicode map",
                      e->string, id);
            break;
        }
        src[id] = tmp + at;
        len_of[id] = (uint32_t)k;
        at += (size_t)k;
        if (!strcmp(e->string, "<|endoftext|>"))
            t->eot = id;
    }
    cJSON_Delete(root);
    for (int i = 0; rc == 0 && i < n; i++) {
        if (!src[i]) { /* n distinct ids in [0, n): cannot happen, kept as a guard */
            rc = fail(err, errlen, -EINVAL, "encoder.json: id %d missing", i);
            break;
        }
        memcpy(t->bytes + t->off[i], src[i], len_of[i]);
        t->off[i + 1] = t->off[i] + len_of[i];
    }
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    for (int i = 0; rc == 0 && i < n; i++)
        if (len_of[i] == 1 && t->byte_id[t->bytes[t->off[i]]] < 0)
            t->byte_id[t->bytes[t->off[i]]] = i;
    for (int b = 0; rc == 0 && b < 256; b++)
        if (t->byte_id[b] < 0)
            rc = fail(err, errlen, -EINVAL, "encoder.json: no token for byte %d", b);
    free(len_of);
    free(src);
    free(tmp);
    return rc;
}

static int load_merges(gpt2_bpe *t, const char *txt, size_t len, const int from_cp[0x144],
                       char *err, size_t errlen)
{
    size_t cap = pow2_at_least(2 * (size_t)t->n_vocab);
    int32_t *ids = malloc(cap * sizeof *ids);
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += txt[i] == '\n';
    t->mcap = pow2_at_least(2 * lines);
    t->mkey = calloc(t->mcap, sizeof *t->mkey);
    t->mrank = calloc(t->mcap, sizeof *t->mrank);
    t->mout = calloc(t->mcap, sizeof *t->mout);
    size_t maxtok = 0;
    for (int i = 0; i < t->n_vocab; i++)
        if (t->off[i + 1] - t->off[i] > maxtok)
            maxtok = t->off[i + 1] - t->off[i];
    uint8_t *buf = malloc(len + 2 * maxtok + 2);
    if (!ids || !t->mkey || !t->mrank || !t->mout || !buf) {
        free(ids);
        free(buf);
        return fail(err, errlen, -ENOMEM, "vocab.bpe: out of memory");
    }
    for (size_t i = 0; i < cap; i++)
        ids[i] = -1;
    for (int i = 0; i < t->n_vocab; i++) {
        size_t h = (size_t)hash_bytes(t->bytes + t->off[i], t->off[i + 1] - t->off[i]) &
                   (cap - 1);
        while (ids[h] >= 0)
            h = (h + 1) & (cap - 1);
        ids[h] = i;
    }
    /* Encoder.js: the lines between the first ("#version: ...") and the
     * last (empty after the final newline), each split at whitespace. */
    int rc = 0;
    long line = 0, rank = 0;
    size_t p = 0;
    while (p < len && rc == 0) {
        size_t e = p;
        while (e < len && txt[e] != '\n')
            e++;
        line++;
        int last = e >= len; /* Encoder.js drops the final line, complete or not */
        if (line > 1 && !last) {
            const char *part[3] = {0};
            size_t plen[3] = {0};
            int np = 0;
            for (size_t q = p; q < e;) {
                while (q < e && (txt[q] == ' ' || txt[q] == '\t' || txt[q] == '\r'))
                    q++;
                if (q >= e)
                    break;
                size_t s0 = q;
                while (q < e && txt[q] != ' ' && txt[q] != '\t' && txt[q] != '\r')
                    q++;
                if (np < 3) {
                    part[np] = txt + s0;
                    plen[np] = q - s0;
                }
                np++;
            }
            if (np != 2) {
                rc = fail(err, errlen, -EINVAL, "vocab.bpe: line %ld: expected two tokens", line);
                break;
            }
            long ka = unmap(part[0], plen[0], from_cp, buf);
            long kb = ka > 0 ? unmap(part[1], plen[1], from_cp, buf + ka) : -1;
            int32_t a = ka > 0 ? find_token(t, ids, cap, buf, (size_t)ka) : -1;
            int32_t b = kb > 0 ? find_token(t, ids, cap, buf + ka, (size_t)kb) : -1;
            int32_t m = a >= 0 && b >= 0 ? find_token(t, ids, cap, buf, (size_t)(ka + kb)) : -1;
            if (m < 0) {
                rc = fail(err, errlen, -EINVAL,
                          "vocab.bpe: line %ld: a token, or the merge of the two, is not in "
                          "encoder.json",
                          line);
                break;
            }
            size_t h = merge_slot(t, pair_key(a, b));
            t->mkey[h] = pair_key(a, b); /* a repeated pair: the later rank, as Encoder.js */
            t->mrank[h] = (int32_t)rank++;
            t->mout[h] = m;
        }
        p = e + 1;
    }
    t->n_merges = (int)rank;
    free(ids);
    free(buf);
    return rc;
}

int gpt2_bpe_load_mem(gpt2_bpe *t, const char *encoder_json, size_t elen, const char *vocab_bpe,
                      size_t vlen, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    uint32_t to_cp[256];
    int from_cp[0x144];
    byte_maps(to_cp, from_cp);
    int rc = load_encoder(t, encoder_json, elen, from_cp, err, errlen);
    if (rc == 0)
        rc = load_merges(t, vocab_bpe, vlen, from_cp, err, errlen);
    if (rc < 0)
        gpt2_bpe_free(t);
    return rc;
}

static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    gzFile f = gzopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno ? errno : EIO));
        return -EIO;
    }
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    int got = 0;
    while (buf && (got = gzread(f, buf + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *nb = realloc(buf, 2 * cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    gzclose(f);
    if (!buf || got < 0) {
        free(buf);
        snprintf(err, errlen, "%s: %s", path, buf ? "read error" : "out of memory");
        return buf ? -EIO : -ENOMEM;
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return 0;
}

int gpt2_bpe_load(gpt2_bpe *t, const char *encoder_path, const char *vocab_path, char *err,
                  size_t errlen)
{
    memset(t, 0, sizeof *t);
    char *e = NULL, *v = NULL, msg[512];
    size_t el = 0, vl = 0;
    int rc = read_file(encoder_path, &e, &el, err, errlen);
    if (rc == 0)
        rc = read_file(vocab_path, &v, &vl, err, errlen);
    if (rc == 0 && (rc = gpt2_bpe_load_mem(t, e, el, v, vl, msg, sizeof msg)) < 0)
        snprintf(err, errlen, "%s, %s: %s", encoder_path, vocab_path, msg);
    free(e);
    free(v);
    return rc;
}

int gpt2_bpe_load_default(gpt2_bpe *t, char *err, size_t errlen)
{
    char ep[4096], vp[4096];
    memset(t, 0, sizeof *t);
    if (mlb_data_find(ENCODER_FILE, ep, sizeof ep, err, errlen) < 0 ||
        mlb_data_find(VOCAB_FILE, vp, sizeof vp, err, errlen) < 0)
        return -ENOENT;
    return gpt2_bpe_load(t, ep, vp, err, errlen);
}

/* ---- encode / decode ---------------------------------------------------- */

/* BPE of one piece: sym[m] starts as its bytes' ids; returns the new m. */
static size_t bpe_word(const gpt2_bpe *t, int32_t *sym, size_t m)
{
    while (m > 1) {
        int32_t best = INT32_MAX, a = -1, b = -1, out = -1;
        for (size_t i = 0; i + 1 < m; i++) {
            uint64_t key = pair_key(sym[i], sym[i + 1]);
            size_t h = merge_slot(t, key);
            if (t->mkey[h] == key && t->mrank[h] < best) {
                best = t->mrank[h];
                a = sym[i];
                b = sym[i + 1];
                out = t->mout[h];
            }
        }
        if (out < 0)
            break;
        size_t j = 0;
        for (size_t i = 0; i < m;) {
            if (i + 1 < m && sym[i] == a && sym[i + 1] == b) {
                sym[j++] = out;
                i += 2;
            } else {
                sym[j++] = sym[i++];
            }
        }
        m = j;
    }
    return m;
}

int gpt2_bpe_encode(const gpt2_bpe *t, const uint8_t *text, size_t n, int32_t **out,
                    size_t *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    if (!t->n_merges && n) {
        snprintf(err, errlen, "BPE: this tokeniser has no merges (an llm.c tokenizer file "
                              "decodes only)");
        return -EINVAL;
    }
    /* Every id covers at least one byte. */
    int32_t *ids = malloc((n ? n : 1) * sizeof *ids);
    if (!ids) {
        snprintf(err, errlen, "BPE: out of memory for %zu bytes of text", n);
        return -ENOMEM;
    }
    size_t k = 0;
    for (size_t pos = 0; pos < n;) {
        size_t end = gpt2_bpe_pretoken(text, n, pos);
        size_t m = end - pos;
        for (size_t i = 0; i < m; i++)
            ids[k + i] = t->byte_id[text[pos + i]];
        k += bpe_word(t, ids + k, m);
        pos = end;
    }
    *out = ids;
    *n_out = k;
    return 0;
}

int gpt2_bpe_decode(const gpt2_bpe *t, const int32_t *ids, size_t n, uint8_t **out,
                    size_t *n_out, char *err, size_t errlen)
{
    *out = NULL;
    *n_out = 0;
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->n_vocab) {
            snprintf(err, errlen, "BPE: id %d at %zu is outside the vocabulary of %d", ids[i], i,
                     t->n_vocab);
            return -EINVAL;
        }
        total += t->off[ids[i] + 1] - t->off[ids[i]];
    }
    uint8_t *b = malloc(total ? total : 1);
    if (!b) {
        snprintf(err, errlen, "BPE: out of memory");
        return -ENOMEM;
    }
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = t->off[ids[i] + 1] - t->off[ids[i]];
        memcpy(b + at, t->bytes + t->off[ids[i]], l);
        at += l;
    }
    *out = b;
    *n_out = total;
    return 0;
}

/* ---- llm.c's tokenizer file --------------------------------------------- */

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int gpt2_tokenizer_parse(gpt2_bpe *t, const uint8_t *d, size_t len, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (len < 1024) {
        snprintf(err, errlen, "tokenizer file: %zu bytes, shorter than its 1024-byte header",
                 len);
        return -EINVAL;
    }
    uint32_t magic = le32(d), version = le32(d + 4), n = le32(d + 8), eot = le32(d + 12);
    if (magic != GPT2_TOKENIZER_MAGIC) {
        snprintf(err, errlen, "tokenizer file: magic %u, expected %d (llm.c's gpt2_tokenizer.bin)",
                 magic, GPT2_TOKENIZER_MAGIC);
        return -EINVAL;
    }
    if (version != 1 && version != 2) {
        snprintf(err, errlen, "tokenizer file: version %u, expected 1 or 2", version);
        return -EINVAL;
    }
    if (version == 1) /* llm.c: version 1 predates the field; GPT-2's */
        eot = GPT2_BPE_EOT;
    if (n < 1 || n > MAX_VOCAB || eot >= n) {
        snprintf(err, errlen,
                 "tokenizer file: vocabulary of %u with end-of-text %u (need 1..2^20, eot < size)",
                 n, eot);
        return -EINVAL;
    }
    /* Lengths first, so that a truncated file fails before allocating. */
    size_t p = 1024, total = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (p >= len) {
            snprintf(err, errlen, "tokenizer file: truncated at token %u of %u", i, n);
            return -EINVAL;
        }
        uint8_t l = d[p];
        if (l == 0 || p + 1 + l > len) {
            snprintf(err, errlen, "tokenizer file: token %u: %s", i,
                     l == 0 ? "length 0" : "truncated");
            return -EINVAL;
        }
        total += l;
        p += 1 + (size_t)l;
    }
    if (p != len) {
        snprintf(err, errlen, "tokenizer file: %zu trailing bytes after %u tokens", len - p, n);
        return -EINVAL;
    }
    t->bytes = malloc(total);
    t->off = calloc((size_t)n + 1, sizeof *t->off);
    if (!t->bytes || !t->off) {
        gpt2_bpe_free(t);
        snprintf(err, errlen, "tokenizer file: out of memory");
        return -ENOMEM;
    }
    p = 1024;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t l = d[p];
        memcpy(t->bytes + t->off[i], d + p + 1, l);
        t->off[i + 1] = t->off[i] + l;
        p += 1 + (size_t)l;
    }
    t->n_vocab = (int)n;
    t->eot = (int)eot;
    for (int b = 0; b < 256; b++)
        t->byte_id[b] = -1;
    return 0;
}

int gpt2_tokenizer_load(gpt2_bpe *t, const char *path, char *err, size_t errlen)
{
    char *buf = NULL, msg[512];
    size_t len = 0;
    memset(t, 0, sizeof *t);
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -ENOENT;
    }
    fclose(f);
    /* gzread passes a plain file through unchanged. */
    int rc = read_file(path, &buf, &len, err, errlen);
    if (rc < 0)
        return rc;
    rc = gpt2_tokenizer_parse(t, (const uint8_t *)buf, len, msg, sizeof msg);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, msg);
    free(buf);
    return rc;
}

int gpt2_tokenizer_save(const gpt2_bpe *t, const char *path, char *err, size_t errlen)
{
    uint8_t hdr[1024] = {0};
    uint32_t v[4] = {GPT2_TOKENIZER_MAGIC, 2, (uint32_t)t->n_vocab, (uint32_t)t->eot};
    for (int i = 0; i < 4; i++)
        for (int b = 0; b < 4; b++)
            hdr[4 * i + b] = (uint8_t)(v[i] >> (8 * b));
    for (int i = 0; i < t->n_vocab; i++)
        if (t->off[i + 1] - t->off[i] > 255) {
            snprintf(err, errlen, "%s: token %d is %u bytes; the format holds at most 255", path,
                     i, t->off[i + 1] - t->off[i]);
            return -EINVAL;
        }
    FILE *f = fopen(path, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -EIO;
    }
    int ok = fwrite(hdr, 1, sizeof hdr, f) == sizeof hdr;
    for (int i = 0; ok && i < t->n_vocab; i++) {
        uint8_t l = (uint8_t)(t->off[i + 1] - t->off[i]);
        ok = fputc(l, f) != EOF && fwrite(t->bytes + t->off[i], 1, l, f) == l;
    }
    if (fclose(f) != 0 || !ok) {
        snprintf(err, errlen, "%s: write failed", path);
        return -EIO;
    }
    return 0;
}
