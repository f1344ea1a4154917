/* Text buffer, escapes, document access and number formats of the reports
 * (textbuf.h). */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export.h"
#include "textbuf.h"
#include "utf8.h"

const char *const mlb_doc_phases[MLB_DOC_N_PHASES] = {"setup", "train", "infer", "teardown"};

/* ---- valid UTF-8 --------------------------------------------------------------- */

/* Replaces *s (allocated by cJSON) with a repaired copy when invalid. */
static int fix_string(char **s)
{
    size_t n = strlen(*s);
    if (mlb_utf8_valid(*s, n))
        return 0;
    char *fixed = mlb_utf8_fix(*s, n);
    if (!fixed)
        return -ENOMEM;
    char *copy = cJSON_malloc(strlen(fixed) + 1);
    if (!copy) {
        free(fixed);
        return -ENOMEM;
    }
    strcpy(copy, fixed);
    free(fixed);
    cJSON_free(*s);
    *s = copy;
    return 0;
}

int mlb_json_fix_utf8(cJSON *node)
{
    for (; node; node = node->next) {
        /* A constant key (cJSON_StringIsConst) is the engine's own literal. */
        if (node->string && !(node->type & cJSON_StringIsConst) && fix_string(&node->string) < 0)
            return -ENOMEM;
        if (cJSON_IsString(node) && node->valuestring && fix_string(&node->valuestring) < 0)
            return -ENOMEM;
        if (node->child && mlb_json_fix_utf8(node->child) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ---- the buffer -------------------------------------------------------------- */

static void sb_reserve(mlb_sbuf *b, size_t extra)
{
    if (b->oom || b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 8192;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char *ns = realloc(b->s, cap);
    if (!ns) {
        b->oom = 1;
        return;
    }
    b->s = ns;
    b->cap = cap;
}

void mlb_sb_putn(mlb_sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    if (b->oom)
        return;
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

void mlb_sb_puts(mlb_sbuf *b, const char *s)
{
    mlb_sb_putn(b, s, strlen(s));
}

void mlb_sb_printf(mlb_sbuf *b, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        mlb_sb_putn(b, tmp, (size_t)n);
        return;
    }
    sb_reserve(b, (size_t)n);
    if (b->oom)
        return;
    va_start(ap, fmt);
    vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- escapes ----------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p, or 0: plugin messages are bytes,
 * and an HTML page declared UTF-8 (or a Markdown file) must not carry
 * invalid sequences. */
static size_t utf8_len(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
             : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    if (!n)
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] >= 0xA0) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] >= 0x90))
        return 0; /* overlong, surrogate, or above U+10FFFF */
    return n;
}

#define REPLACEMENT "\xef\xbf\xbd"

/* The valid UTF-8 sequence at *p, or U+FFFD for one invalid byte. */
static void put_utf8(mlb_sbuf *b, const unsigned char **p)
{
    size_t n = utf8_len(*p);
    if (n)
        mlb_sb_putn(b, (const char *)*p, n);
    else
        mlb_sb_puts(b, REPLACEMENT);
    *p += n ? n : 1;
}

/* s with each byte that `esc` replaces (a non-NULL text) replaced, and any
 * other sequence copied if it is valid UTF-8. */
static void put_escaped(mlb_sbuf *b, const char *s, const char *(*esc)(unsigned char c))
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        const char *e = esc(*p);
        if (e) {
            mlb_sb_puts(b, e);
            p++;
        } else
            put_utf8(b, &p);
    }
}

static const char *html_escape(unsigned char c)
{
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F)
        return REPLACEMENT; /* control characters are not allowed in HTML */
    return c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&quot;"
         : c == '\'' ? "&#39;" : NULL;
}

/* One line, no column break, no raw HTML, and no HTML entity either (the
 * text must read as itself in a plain-text view). */
static const char *md_escape(unsigned char c)
{
    if (c < 0x20 || c == 0x7F)
        return " ";
    return c == '|' ? "\\|" : c == '\\' ? "\\\\" : c == '`' ? "'" : NULL;
}

void mlb_sb_html(mlb_sbuf *b, const char *s)
{
    put_escaped(b, s, html_escape);
}

void mlb_sb_md(mlb_sbuf *b, const char *s)
{
    if (!s)
        return;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        /* '<' opens raw HTML only before a letter, '/', '!' or '?' (CommonMark
         * 6.6): escaped there with a backslash, so that "p < 0.001" stays as
         * written. */
        int letter = (p[1] | 0x20) >= 'a' && (p[1] | 0x20) <= 'z';
        if (*p == '<' && (letter || p[1] == '/' || p[1] == '!' || p[1] == '?')) {
            mlb_sb_puts(b, "\\<");
            p++;
            continue;
        }
        const char *e = md_escape(*p);
        if (e) {
            mlb_sb_puts(b, e);
            p++;
        } else
            put_utf8(b, &p);
    }
}

void mlb_sb_csv(mlb_sbuf *b, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\r\n")) {
        mlb_sb_puts(b, s);
        return;
    }
    mlb_sb_puts(b, "\"");
    for (const char *p = s; *p; p++) {
        mlb_sb_putn(b, p, 1);
        if (*p == '"')
            mlb_sb_putn(b, p, 1); /* a quote is doubled */
    }
    mlb_sb_puts(b, "\"");
}

/* ---- reading the document ------------------------------------------------------ */

const cJSON *mlb_jget(const cJSON *o, const char *k)
{
    return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, k) : NULL;
}

const cJSON *mlb_jpath(const cJSON *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *cur = o;
    for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && cur;
         tok = strtok_r(NULL, ".", &save))
        cur = mlb_jget(cur, tok);
    return cur;
}

/* The number that the saved document holds for v. cJSON writes 15
 * significant digits when they read back within a relative DBL_EPSILON, so
 * that a run's in-memory value and its file's can differ in the last bit;
 * reading every number through that text makes a run's reports the bytes of
 * `report` on its saved document. */
static double as_saved(double v)
{
    char t[40];
    snprintf(t, sizeof t, "%1.15g", v);
    double r = strtod(t, NULL);
    return fabs(r - v) <= fmax(fabs(r), fabs(v)) * DBL_EPSILON ? r : v;
}

double mlb_jval(const cJSON *v)
{
    return cJSON_IsNumber(v) && isfinite(v->valuedouble) ? as_saved(v->valuedouble) : NAN;
}

double mlb_jnum(const cJSON *o, const char *path)
{
    return mlb_jval(mlb_jpath(o, path));
}

const char *mlb_jstr(const cJSON *o, const char *path)
{
    const cJSON *v = mlb_jpath(o, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

const char *mlb_or_dash(const char *s)
{
    return s && *s ? s : MLB_DASH;
}

int mlb_rep_ok(const cJSON *rep)
{
    const char *st = mlb_jstr(rep, "status");
    return st && !strcmp(st, "ok");
}

/* ---- numbers ------------------------------------------------------------------- */

/* As cJSON writes numbers, so that CSV cells equal the JSON's values exactly. */
void mlb_fmt_exact(char *b, size_t n, double v)
{
    if (!isfinite(v)) {
        b[0] = '\0';
        return;
    }
    snprintf(b, n, "%.15g", v);
    if (strtod(b, NULL) != v)
        snprintf(b, n, "%.17g", v);
}

void mlb_fmt_time(char *b, size_t n, double s)
{
    if (!isfinite(s))
        snprintf(b, n, MLB_DASH);
    else if (s < 1e-6)
        snprintf(b, n, "%.0f ns", s * 1e9);
    else if (s < 1e-3)
        snprintf(b, n, "%.1f \xc2\xb5s", s * 1e6);
    else if (s < 1)
        snprintf(b, n, "%.2f ms", s * 1e3);
    else if (s < 1e6)
        snprintf(b, n, "%.3f s", s);
    else /* a diverged value: 1e+300 s, not 301 digits */
        snprintf(b, n, "%.4g s", s);
}

void mlb_fmt_rate(char *b, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(b, n, MLB_DASH);
    else if (v >= 1e9)
        snprintf(b, n, "%.2fG/s", v / 1e9);
    else if (v >= 1e6)
        snprintf(b, n, "%.2fM/s", v / 1e6);
    else if (v >= 1e3)
        snprintf(b, n, "%.2fk/s", v / 1e3);
    else
        snprintf(b, n, "%.3g/s", v);
}

void mlb_fmt_bytes(char *b, size_t n, double v)
{
    if (!isfinite(v))
        snprintf(b, n, MLB_DASH);
    else if (v >= 1 << 30)
        snprintf(b, n, "%.2f GiB", v / (1 << 30));
    else
        snprintf(b, n, "%.1f MiB", v / (1 << 20));
}

void mlb_fmt_g(char *b, size_t n, double v)
{
    if (isfinite(v))
        snprintf(b, n, "%.4g", v);
    else
        snprintf(b, n, MLB_DASH);
}

void mlb_fmt_p(char *b, size_t n, double p)
{
    if (!isfinite(p))
        snprintf(b, n, MLB_DASH);
    else if (p < 0.001)
        snprintf(b, n, "< 0.001");
    else
        snprintf(b, n, "%.3f", p);
}

/* ---- composite texts ------------------------------------------------------------ */

/* A parameter's value as text: numbers as written, booleans as true/false. */
static void fmt_param(char *b, size_t n, const cJSON *v)
{
    if (cJSON_IsString(v))
        snprintf(b, n, "%s", v->valuestring);
    else if (cJSON_IsNumber(v))
        mlb_fmt_exact(b, n, mlb_jval(v));
    else if (cJSON_IsBool(v))
        snprintf(b, n, "%s", cJSON_IsTrue(v) ? "true" : "false");
    else
        snprintf(b, n, "null");
}

void mlb_params_text(mlb_sbuf *b, const cJSON *params)
{
    const cJSON *p;
    int first = 1;
    cJSON_ArrayForEach(p, params)
    {
        char v[512];
        fmt_param(v, sizeof v, p);
        mlb_sb_printf(b, "%s%s=%s", first ? "" : ";", p->string ? p->string : "?", v);
        first = 0;
    }
}

/* One argument as a shell word. */
static void shell_word(mlb_sbuf *b, const char *s)
{
    if (*s && !strpbrk(s, " \t\n'\"\\$`!*?[]{}()<>|&;#~")) {
        mlb_sb_puts(b, s);
        return;
    }
    mlb_sb_puts(b, "'");
    for (const char *p = s; *p; p++)
        if (*p == '\'')
            mlb_sb_puts(b, "'\\''");
        else
            mlb_sb_putn(b, p, 1);
    mlb_sb_puts(b, "'");
}

void mlb_command_line(mlb_sbuf *out, const cJSON *env)
{
    const cJSON *a;
    int first = 1;
    cJSON_ArrayForEach(a, mlb_jget(env, "command_line"))
    {
        if (!cJSON_IsString(a))
            continue;
        if (!first)
            mlb_sb_puts(out, " ");
        shell_word(out, a->valuestring);
        first = 0;
    }
}
