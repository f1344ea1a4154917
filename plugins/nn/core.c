/* nn core services: random numbers, aligned memory, shapes, backends. */
#include "nn.h"

#include <mlbench/data.h>
#include <mlbench/plugin.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NN_ALIGN 64

void nn_rng_seed(nn_rng *r, uint64_t seed)
{
    r->s = seed;
}

uint64_t nn_rng_next(nn_rng *r)
{
    return mlb_rand_u64(&r->s);
}

double nn_rng_uniform(nn_rng *r)
{
    return (double)(nn_rng_next(r) >> 11) * 0x1.0p-53;
}

double nn_rng_normal(nn_rng *r)
{
    /* 1 - u is in (0, 1], so the log is finite. */
    double u1 = 1.0 - nn_rng_uniform(r), u2 = nn_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

uint64_t nn_rng_below(nn_rng *r, uint64_t n)
{
    /* Rejection removes the modulo bias; at most a few draws. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = nn_rng_next(r);
    while (x >= limit);
    return x % n;
}

void *nn_alloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t bytes = count * size;
    size_t rounded = (bytes + NN_ALIGN - 1) / NN_ALIGN * NN_ALIGN;
    if (rounded < bytes)
        return NULL;
    void *p = NULL;
    if (posix_memalign(&p, NN_ALIGN, rounded ? rounded : NN_ALIGN) != 0)
        return NULL;
    /* Zeroing also faults the pages in, so that timed passes do not. */
    memset(p, 0, rounded ? rounded : NN_ALIGN);
    return p;
}

void nn_free(void *p)
{
    free(p);
}

int nn_conv_shape_init(nn_conv_shape *s, int c_in, int h_in, int w_in, int c_out, int k,
                       int stride, int pad)
{
    memset(s, 0, sizeof *s);
    if (c_in < 1 || h_in < 1 || w_in < 1 || c_out < 1 || k < 1 || stride < 1 || pad < 0 ||
        pad >= k)
        return -EINVAL;
    int h_out = (h_in + 2 * pad - k) / stride + 1;
    int w_out = (w_in + 2 * pad - k) / stride + 1;
    if (h_in + 2 * pad < k || w_in + 2 * pad < k || h_out < 1 || w_out < 1)
        return -EINVAL;
    *s = (nn_conv_shape){.c_in = c_in, .h_in = h_in, .w_in = w_in, .c_out = c_out, .k = k,
                         .stride = stride, .pad = pad, .h_out = h_out, .w_out = w_out};
    return 0;
}

int nn_pool_shape_init(nn_pool_shape *s, int c, int h_in, int w_in, int k, int stride, int pad)
{
    memset(s, 0, sizeof *s);
    /* PyTorch's own limit: padding at most half the window, so that every
     * window overlaps the image. */
    if (c < 1 || h_in < 1 || w_in < 1 || k < 1 || stride < 1 || pad < 0 || 2 * pad > k ||
        h_in + 2 * pad < k || w_in + 2 * pad < k)
        return -EINVAL;
    *s = (nn_pool_shape){.c = c, .h_in = h_in, .w_in = w_in, .k = k, .stride = stride,
                         .pad = pad, .h_out = (h_in + 2 * pad - k) / stride + 1,
                         .w_out = (w_in + 2 * pad - k) / stride + 1};
    return 0;
}

int nn_backend_init(nn_backend *be, const nn_kernels *k, int threads, char *err, size_t errlen)
{
    memset(be, 0, sizeof *be);
    if (threads < 1) {
        snprintf(err, errlen, "%s kernels: threads=%d must be at least 1", k->name, threads);
        return -EINVAL;
    }
    be->k = k;
    be->threads = threads;
    if (k->init) {
        int rc = k->init(be, err, errlen);
        if (rc < 0) {
            nn_backend_release(be);
            return rc;
        }
    }
    return 0;
}

void nn_backend_release(nn_backend *be)
{
    if (be->k && be->k->release)
        be->k->release(be);
    be->data = NULL;
}

/* ---- batches and predictions --------------------------------------------- */

void nn_gather_batch(const float *x, const int32_t *y, size_t rows, size_t d, const size_t *idx,
                     size_t first, int n, float *xb, int32_t *yb)
{
    for (int i = 0; i < n; i++) {
        size_t k = idx ? idx[first + (size_t)i] : (first + (size_t)i) % rows;
        memcpy(xb + (size_t)i * d, x + k * d, d * sizeof *xb);
        yb[i] = y[k];
    }
}

int32_t nn_argmax(const nn_real *row, int k)
{
    int32_t best = 0;
    for (int j = 1; j < k; j++)
        if (row[j] > row[best])
            best = j;
    return best;
}

void nn_argmax_rows(const nn_real *z, int n, int k, int32_t *out)
{
    for (int i = 0; i < n; i++)
        out[i] = nn_argmax(z + (size_t)i * (size_t)k, k);
}

int nn_npy_save(const char *prog, const char *dir, const char *name, const char *descr,
                const void *data, size_t elem, int ndim, const size_t *shape)
{
    char path[4096], err[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mlb_npy_save(path, descr, elem, data, ndim, shape, err, sizeof err) < 0) {
        fprintf(stderr, "%s: %s\n", prog, err);
        return -1;
    }
    return 0;
}
