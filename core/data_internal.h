/* Shared internals of the data layer (core/data*.c); not installed, not
 * exported from libmlbench. */
#ifndef MLB_CORE_DATA_INTERNAL_H
#define MLB_CORE_DATA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include <zlib.h>

#include "mlbench/data.h"

#if defined(__GNUC__)
#define MLB_HIDDEN __attribute__((visibility("hidden")))
#else
#define MLB_HIDDEN
#endif

/* Longest text line a loader accepts: far beyond any real dataset's row, and
 * a bound on what a file without newlines can make us allocate. */
#define MLB_DATA_MAX_LINE ((size_t)64 << 20)

/* Formats into err (if non-NULL) and returns code. */
MLB_HIDDEN int mlb_data_fail(char *err, size_t err_len, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Opens path through zlib (plain or gzip). Returns 0 or -errno with err set. */
MLB_HIDDEN int mlb_data_gzopen(const char *path, gzFile *out, char *err, size_t err_len);

/* After gzread returned <= 0: 0 at a clean end of data, or -EIO with err set
 * (a read error, a corrupt or truncated gzip stream). */
MLB_HIDDEN int mlb_data_gzcheck(gzFile gz, const char *path, char *err, size_t err_len);
/* Reads exactly n bytes at *offset (the uncompressed offset, advanced by
 * n): a short read is a truncated file, "what" naming what it cut. 0, or
 * -EINVAL / -EIO with err set. */
MLB_HIDDEN int mlb_data_gzread_exact(gzFile gz, const char *path, size_t *offset, void *buf,
                                     size_t n, const char *what, char *err, size_t err_len);
/* After the last byte of a gzip file was read: an error when bytes that are
 * not another gzip member follow the compressed data (gzread ignores them),
 * naming the file offset. 0 for an uncompressed file. */
MLB_HIDDEN int mlb_data_gz_end(gzFile gz, const char *path, char *err, size_t err_len);

/* Line-at-a-time reader of a text file (plain or gzip). */
typedef struct {
    gzFile gz;
    const char *path;
    char *line;          /* current line, NUL-terminated, without "\n" or "\r\n"
                          * (line 1 also without a UTF-8 byte order mark) */
    size_t len;          /* its length */
    size_t cap;
    size_t lineno;       /* 1-based number of the current line */
    unsigned char *chunk; /* read-ahead buffer */
    size_t chunk_pos, chunk_len;
    int at_eof;
} mlb_text_reader;

MLB_HIDDEN int mlb_text_open(mlb_text_reader *r, const char *path, char *err, size_t err_len);
/* 1: a line was read into r->line; 0: end of file; < 0: error (err set:
 * a NUL byte, an over-long line, a read or decompression error). */
MLB_HIDDEN int mlb_text_next(mlb_text_reader *r, char *err, size_t err_len);
MLB_HIDDEN void mlb_text_close(mlb_text_reader *r);

/* Strict decimal number: [+-]digits[.digits][(e|E)[+-]digits] (or .digits),
 * finite after conversion. s is NUL-terminated. Returns 0 or -1. */
MLB_HIDDEN int mlb_data_parse_number(const char *s, double *out);

/* A growing array of doubles whose size is bounded by what was actually read
 * (so a lying header never makes us allocate more than the data). */
typedef struct {
    double *v;
    size_t n, cap;
} mlb_dvec;
MLB_HIDDEN int mlb_dvec_push(mlb_dvec *a, double x);
MLB_HIDDEN void mlb_dvec_free(mlb_dvec *a);

/* A zeroed dataset shell with name set; fields are filled by the caller. */
MLB_HIDDEN mlb_dataset *mlb_data_new(const char *name);
/* Allocates X (or X32, per dtype) for n x d and y for n. 0 or -ENOMEM. */
MLB_HIDDEN int mlb_data_alloc(mlb_dataset *ds, size_t n, size_t d, mlb_dtype dtype);
/* Copies d features given as doubles into row i of whichever store exists. */
MLB_HIDDEN void mlb_data_set_row(mlb_dataset *ds, size_t i, const double *row);
/* Duplicates a list of n strings (NULL in, NULL out); 0 or -ENOMEM. */
MLB_HIDDEN int mlb_data_strdup_list(char *const *src, size_t n, char ***dst);
/* Checks n x d against the MLB_DATA_MAX_* limits. */
MLB_HIDDEN int mlb_data_check_shape(const char *what, size_t n, size_t d, char *err,
                                    size_t err_len);
/* Converts integer class labels in y (each >= 0, integral, checked by the
 * loader) into n_classes = max + 1. */
MLB_HIDDEN int mlb_data_count_classes(mlb_dataset *ds, char *err, size_t err_len);

/* Shortest "%.*g" text that reads back as v (class names of numeric labels). */
MLB_HIDDEN void mlb_data_format_number(double v, char *buf, size_t len);

/* Maps the distinct targets of ds, sorted, to 0..k-1 and names the classes
 * by their values ("%+.15g" with plus_sign, as LIBSVM's -1/+1; else the
 * shortest text). At most 65536 classes. 0 or -EINVAL / -ENOMEM. */
MLB_HIDDEN int mlb_data_labels_to_classes(mlb_dataset *ds, int plus_sign, char *err,
                                          size_t err_len);

/* 1 for the usual spellings of a missing value: "", NA, N/A, NaN, null,
 * None, ? (any case). */
MLB_HIDDEN int mlb_data_is_missing(const char *s);

/* Lenient reading (mlb_data_inspect): a text loader given an info records
 * a bad row's problem there and reads on; at the end it fails with the
 * first problem. Stores msg in info->problems while there is room. */
MLB_HIDDEN void mlb_data_note_problem(mlb_data_info *info, const char *msg);
MLB_HIDDEN void mlb_data_note_warning(mlb_data_info *info, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* The loaders behind mlb_data_load_csv / _libsvm, with an info for
 * lenient reading (NULL: strict, stop at the first problem). fopts: NULL,
 * or a whole struct of this library's size (not a caller's shorter one). */
MLB_HIDDEN int mlb_data_csv_read(const char *path, const mlb_data_opts *opts,
                                 const mlb_data_file_opts *fopts, mlb_data_info *info,
                                 mlb_dataset **out, char *err, size_t err_len);
MLB_HIDDEN int mlb_data_libsvm_read(const char *path, size_t n_features,
                                    const mlb_data_opts *opts, mlb_data_info *info,
                                    mlb_dataset **out, char *err, size_t err_len);

/* The seeded MT19937 every generator and the split use: a 64-bit seed and a
 * stream tag fold into its 32-bit seed, so that different uses of one run
 * seed get independent streams. Returns NULL on allocation failure. */
MLB_HIDDEN gsl_rng *mlb_data_rng(uint64_t seed, uint64_t stream);

#endif
