/* wordpiece.h: BERT's basic tokeniser and WordPiece, on the Unicode tables
 * of wordpiece_unicode.h (generated from Python's unicodedata, so that the
 * reference, tests/ref/bert_wordpiece/wordpiece_ref.py, asks the same
 * questions of the same data). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gzread.h"
#include "wordpiece.h"
#include "wordpiece_unicode.h"

/* ---- vocabulary: an open-addressing hash of token -> id ------------------- */

struct wp_vocab {
    char **tokens;   /* by id */
    size_t n;
    int32_t *slots;  /* ids, -1 empty; size a power of two >= 2n */
    size_t mask;
    int32_t unk, cls, sep, pad;
};

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

int32_t wp_vocab_id(const wp_vocab *v, const char *tok, size_t len)
{
    for (size_t i = hash_bytes(tok, len) & v->mask;; i = (i + 1) & v->mask) {
        int32_t id = v->slots[i];
        if (id < 0)
            return -1;
        if (!strncmp(v->tokens[id], tok, len) && v->tokens[id][len] == '\0')
            return id;
    }
}

size_t wp_vocab_size(const wp_vocab *v) { return v->n; }
const char *wp_vocab_token(const wp_vocab *v, int32_t id)
{
    return id >= 0 && (size_t)id < v->n ? v->tokens[id] : NULL;
}
int32_t wp_unk(const wp_vocab *v) { return v->unk; }
int32_t wp_cls(const wp_vocab *v) { return v->cls; }
int32_t wp_sep(const wp_vocab *v) { return v->sep; }
int32_t wp_pad(const wp_vocab *v) { return v->pad; }

void wp_vocab_free(wp_vocab *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->n; i++)
        free(v->tokens[i]);
    free(v->tokens);
    free(v->slots);
    free(v);
}

/* Decodes one UTF-8 character at s[0..n); returns its length (>= 1) and
 * the code point, U+FFFD for an invalid or truncated sequence (one byte). */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
    unsigned c = s[0];
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    uint32_t v = len == 1 ? c : len == 2 ? c & 0x1F : len == 3 ? c & 0x0F : c & 0x07;
    if (!len || len > n)
        goto bad;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        v = v << 6 | (s[i] & 0x3F);
    }
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min[len] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        goto bad;
    *cp = v;
    return len;
bad:
    *cp = 0xFFFD;
    return 1;
}

static int utf8_valid(const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t k = utf8_next((const unsigned char *)s + i, n - i, &cp);
        if (cp == 0xFFFD && !(k == 3 && (unsigned char)s[i] == 0xEF))
            return 0;
        i += k;
    }
    return 1;
}

static int vocab_insert(wp_vocab *v, int32_t id)
{
    const char *t = v->tokens[id];
    size_t len = strlen(t);
    for (size_t i = hash_bytes(t, len) & v->mask;; i = (i + 1) & v->mask) {
        if (v->slots[i] < 0) {
            v->slots[i] = id;
            return 0;
        }
        if (!strcmp(v->tokens[v->slots[i]], t))
            return -1; /* twice */
    }
}

int wp_vocab_parse(const char *text, size_t len, wp_vocab **out, char *err, size_t errlen)
{
    *out = NULL;
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    if (len && text[len - 1] != '\n')
        lines++;
    if (lines > WP_MAX_VOCAB) {
        snprintf(err, errlen, "more than %d tokens", WP_MAX_VOCAB);
        return -EINVAL;
    }
    wp_vocab *v = calloc(1, sizeof *v);
    size_t cap = 16;
    while (cap < 2 * lines + 2)
        cap *= 2;
    if (!v || !(v->tokens = calloc(lines ? lines : 1, sizeof *v->tokens)) ||
        !(v->slots = malloc(cap * sizeof *v->slots))) {
        wp_vocab_free(v);
        return -ENOMEM;
    }
    memset(v->slots, 0xFF, cap * sizeof *v->slots);
    v->mask = cap - 1;
    int rc = 0;
    for (size_t at = 0, line = 1; at < len && rc == 0; line++) {
        const char *nl = memchr(text + at, '\n', len - at);
        size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
        size_t tl = n && text[at + n - 1] == '\r' ? n - 1 : n; /* a CRLF file */
        if (!tl || tl > WP_MAX_TOKEN_BYTES || memchr(text + at, '\0', tl) ||
            !utf8_valid(text + at, tl)) {
            snprintf(err, errlen, "line %zu: %s", line,
                     !tl ? "an empty token" : tl > WP_MAX_TOKEN_BYTES ? "a token over 256 bytes"
                     : "not valid UTF-8 text");
            rc = -EINVAL;
            break;
        }
        if (!(v->tokens[v->n] = malloc(tl + 1))) {
            rc = -ENOMEM;
            break;
        }
        memcpy(v->tokens[v->n], text + at, tl);
        v->tokens[v->n][tl] = '\0';
        if (vocab_insert(v, (int32_t)v->n) < 0) {
            snprintf(err, errlen, "line %zu: token '%.64s' is there twice", line,
                     v->tokens[v->n]);
            free(v->tokens[v->n]);
            rc = -EINVAL;
            break;
        }
        v->n++;
        at += n + 1;
    }
    if (rc == 0) {
        v->unk = wp_vocab_id(v, "[UNK]", 5);
        v->cls = wp_vocab_id(v, "[CLS]", 5);
        v->sep = wp_vocab_id(v, "[SEP]", 5);
        v->pad = wp_vocab_id(v, "[PAD]", 5);
        if (v->unk < 0 || v->cls < 0 || v->sep < 0 || v->pad < 0) {
            snprintf(err, errlen, "no %s token", v->unk < 0 ? "[UNK]" : v->cls < 0 ? "[CLS]"
                                                  : v->sep < 0 ? "[SEP]" : "[PAD]");
            rc = -EINVAL;
        }
    }
    if (rc < 0) {
        wp_vocab_free(v);
        return rc;
    }
    *out = v;
    return 0;
}

int wp_vocab_load(const char *path, wp_vocab **out, char *err, size_t errlen)
{
    *out = NULL;
    char *buf, why[256];
    size_t n;
    int rc = bert_read_file(path, (size_t)WP_MAX_VOCAB * (WP_MAX_TOKEN_BYTES + 2), &buf, &n, err,
                            errlen);
    if (rc == 0 && (rc = wp_vocab_parse(buf, n, out, why, sizeof why)) < 0)
        snprintf(err, errlen, "%s: %s", path, rc == -ENOMEM ? "out of memory" : why);
    free(buf);
    return rc;
}

/* ---- Unicode questions ---------------------------------------------------- */

static int in_ranges(const wp_range *r, size_t n, uint32_t cp)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < r[mid].lo)
            hi = mid;
        else if (cp > r[mid].hi)
            lo = mid + 1;
        else
            return 1;
    }
    return 0;
}
#define IN(table, cp) in_ranges(table, sizeof table / sizeof table[0], cp)

static int is_space(uint32_t cp)
{
    return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || IN(wp_space, cp);
}

/* BERT counts every ASCII symbol as punctuation ("$", "^", "`" too). */
static int is_punct(uint32_t cp)
{
    return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) ||
           (cp >= 123 && cp <= 126) || IN(wp_punct, cp);
}

/* The CJK Unified Ideographs blocks BERT splits into single characters
 * (not Hangul, Hiragana or Katakana, which are written with spaces). */
static int is_cjk(uint32_t cp)
{
    return (cp >= 0x4E00 && cp <= 0x9FFF) || (cp >= 0x3400 && cp <= 0x4DBF) ||
           (cp >= 0x20000 && cp <= 0x2A6DF) || (cp >= 0x2A700 && cp <= 0x2B73F) ||
           (cp >= 0x2B740 && cp <= 0x2B81F) || (cp >= 0x2B820 && cp <= 0x2CEAF) ||
           (cp >= 0xF900 && cp <= 0xFAFF) || (cp >= 0x2F800 && cp <= 0x2FA1F);
}

/* Lower-case, NFD, without non-spacing marks: what cp becomes, in out[]
 * (at most 4 code points, here at most 3); returns how many. */
static int fold(uint32_t cp, uint32_t out[4])
{
    if (cp >= 0xAC00 && cp <= 0xD7A3) { /* Hangul syllables: Unicode's formula */
        uint32_t s = cp - 0xAC00, t = s % 28;
        out[0] = 0x1100 + s / (21 * 28);
        out[1] = 0x1161 + (s % (21 * 28)) / 28;
        if (t)
            out[2] = 0x11A7 + t;
        return t ? 3 : 2;
    }
    if (IN(wp_mark, cp))
        return 0;
    size_t lo = 0, hi = sizeof wp_fold / sizeof wp_fold[0];
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (cp < wp_fold[mid].cp)
            hi = mid;
        else if (cp > wp_fold[mid].cp)
            lo = mid + 1;
        else {
            int n = wp_fold[mid].len < 4 ? wp_fold[mid].len : 4;
            for (int i = 0; i < n; i++)
                out[i] = wp_fold_pool[wp_fold[mid].off + i];
            return n;
        }
    }
    out[0] = cp;
    return 1;
}

/* ---- tokenising ------------------------------------------------------------ */

/* Code points, each with the bytes [s, e) of the input it came from, so
 * that a piece can say which bytes of the text it stands for. */
typedef struct {
    uint32_t *cp;
    size_t *s, *e;
    size_t n, cap;
} cps;

static int cps_push(cps *b, uint32_t c, size_t s, size_t e)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 256;
        uint32_t *nc = realloc(b->cp, cap * sizeof *nc);
        if (nc)
            b->cp = nc;
        size_t *ns = nc ? realloc(b->s, cap * sizeof *ns) : NULL;
        if (ns)
            b->s = ns;
        size_t *ne = ns ? realloc(b->e, cap * sizeof *ne) : NULL;
        if (!ne)
            return -ENOMEM;
        b->e = ne;
        b->cap = cap;
    }
    b->cp[b->n] = c;
    b->s[b->n] = s;
    b->e[b->n] = e;
    b->n++;
    return 0;
}

static void cps_free(cps *b)
{
    free(b->cp);
    free(b->s);
    free(b->e);
}

static size_t utf8_put(uint32_t cp, char *o)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Where pieces go: ids[0..cap) and, when starts is not NULL, each
 * piece's bytes [starts[i], ends[i]) of the input. */
typedef struct {
    int32_t *ids;
    size_t *starts, *ends;
    size_t cap, *n;
} wp_out;

static void emit(wp_out *o, int32_t id, size_t s, size_t e)
{
    if (*o->n < o->cap) {
        o->ids[*o->n] = id;
        if (o->starts) {
            o->starts[*o->n] = s;
            o->ends[*o->n] = e;
        }
    }
    (*o->n)++;
}

/* Greedy longest-match-first pieces of one word w->cp[0..w->n); a word
 * longer than WP_MAX_WORD_CHARS, or with a piece that matches nothing, is
 * one [UNK] spanning the whole word. */
static void wordpiece(const wp_vocab *v, const cps *w, wp_out *o)
{
    size_t len = w->n;
    if (!len)
        return;
    if (len > WP_MAX_WORD_CHARS) {
        emit(o, v->unk, w->s[0], w->e[len - 1]);
        return;
    }
    char word[4 * WP_MAX_WORD_CHARS], sub[2 + 4 * WP_MAX_WORD_CHARS];
    size_t off[WP_MAX_WORD_CHARS + 1], at = 0;
    for (size_t i = 0; i < len; i++) {
        off[i] = at;
        at += utf8_put(w->cp[i], word + at);
    }
    off[len] = at;
    int32_t found[WP_MAX_WORD_CHARS];
    size_t from[WP_MAX_WORD_CHARS], to[WP_MAX_WORD_CHARS]; /* code points [from, to) */
    size_t n_found = 0;
    for (size_t start = 0; start < len;) {
        int32_t id = -1;
        size_t end = len;
        for (; end > start && id < 0; end--) {
            size_t pre = start ? 2 : 0, bytes = off[end] - off[start];
            memcpy(sub, "##", pre);
            memcpy(sub + pre, word + off[start], bytes);
            id = wp_vocab_id(v, sub, pre + bytes);
        }
        if (id < 0) {
            emit(o, v->unk, w->s[0], w->e[len - 1]);
            return;
        }
        from[n_found] = start;
        to[n_found] = end + 1; /* the loop's end-- ran once past the match */
        found[n_found++] = id;
        start = end + 1;
    }
    for (size_t i = 0; i < n_found; i++)
        emit(o, found[i], w->s[from[i]], w->e[to[i] - 1]);
}

static int encode(const wp_vocab *v, const char *text, size_t len, wp_out *o)
{
    /* Clean-up and CJK first, then whitespace-separated tokens, each
     * folded as a whole (Greek final sigma looks at its neighbours), then
     * split at punctuation into words. What a code point folds into keeps
     * its bytes of the input. */
    cps t = {0}, word = {0};
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        uint32_t cp;
        size_t at = i;
        i += utf8_next((const unsigned char *)text + i, len - i, &cp);
        if (cp == 0 || cp == 0xFFFD || IN(wp_control, cp))
            continue;
        if (is_space(cp))
            rc = cps_push(&t, ' ', at, i);
        else if (is_cjk(cp))
            rc = cps_push(&t, ' ', at, at) || cps_push(&t, cp, at, i) || cps_push(&t, ' ', i, i)
                     ? -ENOMEM
                     : 0;
        else
            rc = cps_push(&t, cp, at, i);
    }
    rc = rc ? rc : cps_push(&t, ' ', len, len);
    size_t tok0 = 0;
    for (size_t i = 0; i < t.n && rc == 0; i++) {
        if (t.cp[i] != ' ')
            continue;
        word.n = 0;
        for (size_t j = tok0; j < i && rc == 0; j++) {
            uint32_t f[4], c = t.cp[j];
            int k;
            if (c == 0x3A3) { /* final sigma: after a cased letter, before none */
                int before = j > tok0 && IN(wp_cased, t.cp[j - 1]);
                int after = j + 1 < i && IN(wp_cased, t.cp[j + 1]);
                f[0] = before && !after ? 0x3C2 : 0x3C3;
                k = 1;
            } else {
                k = fold(c, f);
            }
            for (int q = 0; q < k && rc == 0; q++) {
                if (is_punct(f[q]) || is_space(f[q])) {
                    /* punctuation is a word of its own; a space ends one */
                    wordpiece(v, &word, o);
                    word.n = 0;
                    if (!is_space(f[q])) {
                        uint32_t one_cp = f[q];
                        size_t one_s = t.s[j], one_e = t.e[j];
                        cps one = {&one_cp, &one_s, &one_e, 1, 1};
                        wordpiece(v, &one, o);
                    }
                } else {
                    rc = cps_push(&word, f[q], t.s[j], t.e[j]);
                }
            }
        }
        if (rc == 0)
            wordpiece(v, &word, o);
        tok0 = i + 1;
    }
    cps_free(&t);
    cps_free(&word);
    return rc;
}

int wp_encode(const wp_vocab *v, const char *text, size_t len, int32_t *ids, size_t cap,
              size_t *n)
{
    wp_out o = {ids, NULL, NULL, cap, n};
    return encode(v, text, len, &o);
}

int wp_encode_offsets(const wp_vocab *v, const char *text, size_t len, int32_t *ids,
                      size_t *starts, size_t *ends, size_t cap, size_t *n)
{
    wp_out o = {ids, starts, ends, cap, n};
    return encode(v, text, len, &o);
}

int wp_encode_example(const wp_vocab *v, const char *a, size_t alen, const char *b, size_t blen,
                      int max_len, int32_t *ids, int32_t *segments, int32_t *mask)
{
    int special = b ? 3 : 2;
    if (max_len < special)
        return -EINVAL;
    size_t cap = (size_t)max_len, na = 0, nb = 0;
    int32_t *ta = malloc(cap * sizeof *ta), *tb = b ? malloc(cap * sizeof *tb) : NULL;
    int rc = 0;
    if (!ta || (b && !tb))
        rc = -ENOMEM;
    if (rc == 0)
        rc = wp_encode(v, a, alen, ta, cap, &na);
    if (rc == 0 && b)
        rc = wp_encode(v, b, blen, tb, cap, &nb);
    if (rc < 0) {
        free(ta);
        free(tb);
        return rc;
    }
    /* Truncate the longer part first, one token at a time, as BERT does. */
    size_t room = cap - (size_t)special;
    while (na + nb > room) {
        if (na >= nb)
            na--;
        else
            nb--;
    }
    int k = 0;
    ids[k] = v->cls, segments[k] = 0, k++;
    for (size_t i = 0; i < na; i++)
        ids[k] = ta[i], segments[k] = 0, k++;
    ids[k] = v->sep, segments[k] = 0, k++;
    for (size_t i = 0; b && i < nb; i++)
        ids[k] = tb[i], segments[k] = 1, k++;
    if (b)
        ids[k] = v->sep, segments[k] = 1, k++;
    for (int i = 0; i < max_len; i++)
        mask[i] = i < k;
    for (int i = k; i < max_len; i++)
        ids[i] = v->pad, segments[i] = 0;
    free(ta);
    free(tb);
    return k;
}
