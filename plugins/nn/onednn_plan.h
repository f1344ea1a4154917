/*
 * The bookkeeping of a oneDNN plan, shared by the engines that run a whole
 * network as oneDNN primitives (cnn:onednn, rnn:onednn): a plan is a list
 * of steps (a primitive with its arguments, or an engine's own kind of
 * step) made once per batch size and mode, plus everything it created —
 * memory objects, primitive descriptors and buffers — freed with it.
 *
 * Every function returns 0 or a negative errno and, on failure, says why
 * in the store's err (the failing call, oneDNN's status, file and line).
 */
#ifndef MLB_NN_ONEDNN_PLAN_H
#define MLB_NN_ONEDNN_PLAN_H

#include <dnnl.h>
#include <dnnl_debug.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

#define NN_DNNL_MAX_ARGS 16

/* Kind 0 is a primitive; an engine numbers its own kinds from 1. */
enum { NN_DNNL_PRIM = 0 };

typedef struct {
    int kind;
    dnnl_primitive_t prim;
    int nargs;
    dnnl_exec_arg_t args[NN_DNNL_MAX_ARGS];
    /* For an engine's own kinds: what they read and write. */
    void *src, *dst;
    size_t count;
    int node;
    double aux;
} nn_dnnl_step;

typedef struct {
    nn_dnnl_step *v;
    int n, cap;
} nn_dnnl_steps;

typedef struct {
    dnnl_engine_t eng;
    char *err; /* the engine's message buffer */
    size_t errlen;
    dnnl_memory_t *mems;
    int n_mems, cap_mems;
    dnnl_primitive_desc_t *pds;
    int n_pds, cap_pds;
    void **bufs;
    int n_bufs, cap_bufs;
} nn_dnnl_store;

/* Fails the calling function with -EIO when a oneDNN call fails, saying
 * which in err (a char array in scope). */
#define NN_DNNL_CK(err, errlen, call)                                                            \
    do {                                                                                          \
        dnnl_status_t st_ = (call);                                                               \
        if (st_ != dnnl_success) {                                                                \
            snprintf((err), (errlen), "oneDNN: %s failed (%s, %s:%d)", #call,                     \
                     dnnl_status2str(st_), __FILE__, __LINE__);                                   \
            return -EIO;                                                                          \
        }                                                                                         \
    } while (0)

/* Room for element n of *v (capacity *cap), doubling. */
int nn_dnnl_grow(void **v, int *cap, int n, size_t elem);

/* A new zeroed step at the end of list, or NULL (said in err). */
nn_dnnl_step *nn_dnnl_push(nn_dnnl_store *s, nn_dnnl_steps *list);

/* A zeroed buffer of bytes, owned by the store, or NULL. */
float *nn_dnnl_buf(nn_dnnl_store *s, size_t bytes);

/* A memory object of md over ptr, or over a fresh buffer when ptr is NULL. */
int nn_dnnl_mem(nn_dnnl_store *s, const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *out);

/* Keeps pd to be freed with the store (destroys it if it cannot). */
int nn_dnnl_keep_pd(nn_dnnl_store *s, dnnl_primitive_desc_t pd);

int nn_dnnl_pd_create(nn_dnnl_store *s, dnnl_primitive_desc_t *pd, const void *desc,
                      const_dnnl_primitive_desc_t hint);

/* Appends pd's primitive with its arguments (pairs of DNNL_ARG_*, memory). */
int nn_dnnl_add_prim(nn_dnnl_store *s, nn_dnnl_steps *list, const_dnnl_primitive_desc_t pd,
                     int nargs, const int *arg, const dnnl_memory_t *m);

int nn_dnnl_add_reorder(nn_dnnl_store *s, nn_dnnl_steps *list, dnnl_memory_t from,
                        dnnl_memory_t to);

/* An input in the layout `want`: `have` itself when the layouts agree,
 * else a buffer filled from it by a reorder step appended to list. */
int nn_dnnl_need(nn_dnnl_store *s, nn_dnnl_steps *list, dnnl_memory_t have,
                 const dnnl_memory_desc_t *want, dnnl_memory_t *out);

/* Runs a primitive step on strm (without waiting). */
dnnl_status_t nn_dnnl_exec(const nn_dnnl_step *st, dnnl_stream_t strm);

void nn_dnnl_steps_free(nn_dnnl_steps *list);
void nn_dnnl_store_free(nn_dnnl_store *s);

/* An engine's plans: an array of max structs of `size` bytes, each
 * beginning with `int n, training;`, *count of them made. Returns the one
 * for (n, training), else builds it in a zeroed slot with n and training
 * set (build(engine, plan); the oldest plan freed by free_plan and dropped
 * when all are taken) and counts it; NULL when build fails, with
 * "who: err" said on stderr (err: the engine's message). */
void *nn_dnnl_plan_get(void *plans, size_t size, int *count, int max, int n, int training,
                       int (*build)(void *engine, void *plan), void (*free_plan)(void *plan),
                       void *engine, const char *who, const char *err);

/* The CPU engine and a stream on it, with `threads` OpenMP threads (the
 * runtime of Debian's libdnnl); -EIO with the reason in err. */
int nn_dnnl_open(dnnl_engine_t *eng, dnnl_stream_t *strm, int threads, char *err, size_t errlen);
void nn_dnnl_close(dnnl_engine_t eng, dnnl_stream_t strm);

#endif
