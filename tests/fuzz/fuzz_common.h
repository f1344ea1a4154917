/* Shared by the libFuzzer targets of the data loaders: the loaders read
 * files (through zlib), so each input is written to a temporary file that
 * lives as long as the fuzzing process. */
#ifndef MLB_FUZZ_COMMON_H
#define MLB_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mlbench/data.h"

/* A temporary file per slot (0, 1), created on first use. */
static inline const char *fuzz_path(int slot)
{
    static char paths[2][64];
    if (!paths[slot][0]) {
        snprintf(paths[slot], sizeof paths[slot], "/tmp/mlb_fuzz_%d_%ld_XXXXXX", slot,
                 (long)getpid());
        int fd = mkstemp(paths[slot]);
        if (fd < 0)
            abort();
        close(fd);
    }
    return paths[slot];
}

static inline void fuzz_cleanup(void)
{
    unlink(fuzz_path(0));
    unlink(fuzz_path(1));
}

static inline const char *fuzz_write(int slot, const uint8_t *data, size_t size)
{
    static int registered;
    if (!registered) {
        atexit(fuzz_cleanup);
        registered = 1;
    }
    const char *p = fuzz_path(slot);
    FILE *f = fopen(p, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    return p;
}

/* Splits an input into two files: the first two bytes give the length of
 * the first part (modulo what is there), the rest is the second. */
static inline void fuzz_split(const uint8_t *data, size_t size, const char **a, const char **b)
{
    size_t cut = 0;
    if (size >= 2) {
        cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
        data += 2;
        size -= 2;
    }
    if (cut > size)
        cut = size;
    *a = fuzz_write(0, data, cut);
    *b = fuzz_write(1, data + cut, size - cut);
}

/* A loaded dataset must be whole: every cell and target readable. */
static inline void fuzz_touch(const mlb_dataset *ds)
{
    volatile double sink = 0;
    for (size_t i = 0; i < ds->n * ds->d; i++)
        sink += ds->X ? ds->X[i] : (double)ds->X32[i];
    for (size_t i = 0; i < ds->n; i++) {
        sink += ds->y[i];
        if (ds->n_classes > 0 && !(ds->y[i] >= 0 && ds->y[i] < ds->n_classes))
            abort(); /* a class index out of range is a loader bug */
    }
    for (int c = 0; ds->class_names && c < ds->n_classes; c++)
        sink += (double)strlen(ds->class_names[c]);
    for (size_t j = 0; ds->feature_names && j < ds->d; j++)
        sink += (double)strlen(ds->feature_names[j]);
    (void)sink;
}

/* Runs a loader call (which may use the error buffer err_ this declares),
 * checks what it loaded and frees it; a failure must leave the dataset
 * NULL and a message. */
#define FUZZ_CHECK(call, ds)                                                                      \
    do {                                                                                           \
        char err_[512] = "";                                                                       \
        ds = (mlb_dataset *)1;                                                                     \
        int rc_ = (call);                                                                          \
        if (rc_ == 0) {                                                                            \
            fuzz_touch(ds);                                                                        \
            mlb_dataset_free(ds);                                                                  \
        } else if (rc_ > 0 || ds != NULL || err_[0] == '\0') {                                     \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#endif
