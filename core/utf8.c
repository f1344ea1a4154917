/* UTF-8 checks, repair and cutting; see utf8.h. */
#include "utf8.h"

#include <stdlib.h>
#include <string.h>

/* Length of the valid UTF-8 sequence starting s[0..n), 0 when there is none
 * (a stray continuation byte, an overlong form, a surrogate, a truncated
 * sequence). */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return c ? 1 : 0;
    size_t k = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (k == 0 || n < k)
        return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] > 0x9F) || (c == 0xF0 && s[1] < 0x90) ||
        (c == 0xF4 && s[1] > 0x8F))
        return 0;
    return k;
}

int mlb_utf8_valid(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(u + i, n - i);
        if (!k)
            return 0;
        i += k;
    }
    return 1;
}

char *mlb_utf8_fix(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    /* U+FFFD is 3 bytes: at most three times the input. */
    if (n > ((size_t)-1 - 1) / 3)
        return NULL;
    char *out = malloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = seq_len(u + i, n - i);
        if (k) {
            memcpy(o, u + i, k);
            o += k;
            i += k;
        } else {
            memcpy(o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        }
    }
    *o = '\0';
    return out;
}

void mlb_utf8_cut(char *s, size_t max)
{
    size_t n = strlen(s);
    if (n <= max)
        return;
    size_t end = max;
    /* s[end] is the first byte dropped: if it continues a character, the
     * character's start is dropped too. */
    while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
        end--;
    s[end] = '\0';
}

void mlb_utf8_trim_end(char *s)
{
    size_t n = strlen(s);
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned c = (unsigned char)s[n - back];
        if ((c & 0xC0) == 0x80)
            continue; /* a continuation byte: its lead is further back */
        size_t k = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
        if (k > back)
            s[n - back] = '\0';
        return;
    }
}

const char *mlb_utf8_skip_partial(const char *s)
{
    for (int i = 0; i < 3 && ((unsigned char)*s & 0xC0) == 0x80; i++)
        s++;
    return s;
}

char *mlb_utf8_excerpt(char *out, size_t outlen, const char *s, size_t max)
{
    if (!outlen)
        return out;
    if (max > outlen - 1)
        max = outlen - 1;
    size_t n = strnlen(s, max + 1);
    size_t take = n < max ? n : max;
    memcpy(out, s, take);
    out[take] = '\0';
    if (n > max) {
        /* The next byte, s[take], tells whether the cut splits a character. */
        size_t end = take;
        while (end > 0 && ((unsigned char)s[end] & 0xC0) == 0x80)
            end--;
        out[end] = '\0';
    }
    return out;
}
