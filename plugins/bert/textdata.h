/* Labelled text for the bert task's classifier: a file of "text,label"
 * records, tab-separated (TSV: no quoting; a tab or newline inside a text
 * is not possible) or comma-separated (CSV: RFC 4180 quoting, so a text
 * may hold commas, quotes and newlines), plain or gzip, with an optional
 * header line "text<sep>label". Labels are any non-empty strings; the
 * classes are their distinct values in sorted (byte) order, 0..k-1.
 * data/spam_assassin.tsv.gz (tools/bert/make_spam.py) is such a file. */
#ifndef MLB_BERT_TEXTDATA_H
#define MLB_BERT_TEXTDATA_H

#include <stddef.h>
#include <stdint.h>

#define TEXT_MAX_ROWS 10000000
#define TEXT_MAX_FIELD (1u << 20) /* bytes of one text or label */
#define TEXT_MAX_CLASSES 1000
#define TEXT_MAX_FILE ((size_t)4 << 30)

typedef struct {
    size_t n;
    char **text;         /* n NUL-terminated UTF-8 texts */
    int32_t *label;      /* n class indices */
    int n_classes;
    char **class_names;  /* n_classes, sorted */
} text_set;

/* Parses a file's bytes (plain; gzip is the loader's). Returns 0, or
 * negative with "line L: reason" in err (L the record's first line). */
int text_set_parse(const char *buf, size_t len, text_set **out, char *err, size_t errlen);
/* Reads and parses a file; errors are "PATH:LINE: reason". */
int text_set_load(const char *path, text_set **out, char *err, size_t errlen);
void text_set_free(text_set *t);
/* The class index of a name, or -1. */
int text_set_class(const text_set *t, const char *name);

#endif
