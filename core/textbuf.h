/* What every report renderer needs and nothing else: a growing text buffer
 * with the escapes of each output format, read-only access to the results
 * document, and the number formats the tables share. */
#ifndef MLB_CORE_TEXTBUF_H
#define MLB_CORE_TEXTBUF_H

#include <stddef.h>
#include <cjson/cJSON.h>

#define MLB_DASH "\xe2\x80\x93" /* "–": an absent value, distinct from a measured 0 */

/* The phases in the order the runner measures them (as in the document). */
extern const char *const mlb_doc_phases[4];
#define MLB_DOC_N_PHASES 4

/* A growing text buffer. Allocation failure is sticky (oom), so that the
 * builders append freely and check once at the end. {0} is an empty buffer;
 * free(s) releases it. */
typedef struct mlb_sbuf {
    char *s;
    size_t len, cap;
    int oom;
} mlb_sbuf;

void mlb_sb_putn(mlb_sbuf *b, const char *s, size_t n);
void mlb_sb_puts(mlb_sbuf *b, const char *s);
void mlb_sb_printf(mlb_sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Document text (NULL appends nothing) escaped for HTML element content and
 * quoted attributes; for one Markdown table cell or list item; as one
 * RFC 4180 CSV field. Invalid UTF-8 becomes U+FFFD in HTML and Markdown. */
void mlb_sb_html(mlb_sbuf *b, const char *s);
void mlb_sb_md(mlb_sbuf *b, const char *s);
void mlb_sb_csv(mlb_sbuf *b, const char *s);

/* Reading the document: NULL, NaN or NULL where a field is absent or of
 * another type, so that a renderer never has to tell "missing" from "null".
 * A path is dotted: "phases.train.wall_s.median". A number reads as the
 * saved document holds it (cJSON writes 15 digits where they are close
 * enough), so that a live run renders as its saved file does. */
/* Makes every key and string of the tree valid UTF-8 (utf8.h: invalid
 * bytes become U+FFFD), so that whatever a plugin, peer, file or argv put
 * in a document, what is written from it is valid. Returns 0 or -ENOMEM. */
int mlb_json_fix_utf8(cJSON *node);

const cJSON *mlb_jget(const cJSON *o, const char *key);
const cJSON *mlb_jpath(const cJSON *o, const char *path);
double mlb_jnum(const cJSON *o, const char *path);
double mlb_jval(const cJSON *number);
const char *mlb_jstr(const cJSON *o, const char *path);
const char *mlb_or_dash(const char *s);
/* Whether a repetition's status is "ok". */
int mlb_rep_ok(const cJSON *rep);

/* The shortest text that reads back as the same double ("" for NaN). */
void mlb_fmt_exact(char *b, size_t n, double v);
/* "%.4g", or "–" for NaN. */
void mlb_fmt_g(char *b, size_t n, double v);
/* A p-value: "< 0.001", "0.012", or "–". */
void mlb_fmt_p(char *b, size_t n, double p);
/* A run's parameters as "k=v;k=v" (numbers exact, booleans true/false). */
void mlb_params_text(mlb_sbuf *b, const cJSON *params);
/* The command line of `environment` as shell words, so that it can be pasted. */
void mlb_command_line(mlb_sbuf *b, const cJSON *env);

#endif
