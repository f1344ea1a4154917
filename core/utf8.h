/* Valid UTF-8 for every string the engine writes (results JSON, HTML, CSV,
 * Markdown): text from plugins, peers, files and argv may hold any bytes,
 * and a byte count may cut a character in two. Part of libmlbench, so that
 * the data layer's and the API's messages are cut on character boundaries
 * where they are made. */
#ifndef MLB_CORE_UTF8_H
#define MLB_CORE_UTF8_H

#include <stddef.h>

/* Whether s[0..n) is valid UTF-8 (RFC 3629: no overlong forms, surrogates
 * or code points above U+10FFFF). */
int mlb_utf8_valid(const char *s, size_t n);

/* A valid UTF-8 copy of s[0..n), NUL-terminated: each byte that is not part
 * of a valid sequence (and each NUL) becomes U+FFFD. NULL when out of
 * memory. */
char *mlb_utf8_fix(const char *s, size_t n);

/* Truncates the string s in place to at most max bytes without splitting a
 * character: a cut inside one drops the whole character. */
void mlb_utf8_cut(char *s, size_t max);

/* Drops an incomplete character at the end of s, as a byte-limited
 * vsnprintf leaves. */
void mlb_utf8_trim_end(char *s);

/* Drops the bytes that continue a character cut off before s: for a tail
 * taken at a byte offset. Returns the first whole character. */
const char *mlb_utf8_skip_partial(const char *s);

/* Copies at most max bytes of s to out (of outlen bytes) without splitting
 * a character, for an excerpt in a message ("got '...'"). Returns out. */
char *mlb_utf8_excerpt(char *out, size_t outlen, const char *s, size_t max);

/* An excerpt of at most `max` bytes (a constant) as a temporary for one
 * statement: printf("'%s'", MLB_EXCERPT(s, 40)) instead of "%.40s", which
 * can cut a character in two. */
#define MLB_EXCERPT(s, max) mlb_utf8_excerpt((char[(max) + 1]){0}, (max) + 1, (s), (max))

#endif
