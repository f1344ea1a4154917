/* A whole file, plain or gzip, into memory, at most `max` bytes: what the
 * bert task's readers (vocabulary, labelled text) parse. */
#ifndef MLB_BERT_GZREAD_H
#define MLB_BERT_GZREAD_H

#include <stddef.h>

/* 0 with *buf (malloc'd, the caller's) and *len; or negative with
 * "PATH: reason" in err. */
int bert_read_file(const char *path, size_t max, char **buf, size_t *len, char *err,
                   size_t errlen);

#endif
