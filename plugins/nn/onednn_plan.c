/* A oneDNN plan's bookkeeping (onednn_plan.h). */
#include "onednn_plan.h"

#include "nn.h"

#include <stdlib.h>
#include <string.h>

/* OpenMP's, the runtime of Debian's libdnnl. */
void omp_set_num_threads(int n);

#define CK(call) NN_DNNL_CK(s->err, s->errlen, call)

int nn_dnnl_grow(void **v, int *cap, int n, size_t elem)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *p = realloc(*v, (size_t)nc * elem);
    if (!p)
        return -ENOMEM;
    *v = p;
    *cap = nc;
    return 0;
}

static int oom(nn_dnnl_store *s)
{
    snprintf(s->err, s->errlen, "out of memory for a plan");
    return -ENOMEM;
}

nn_dnnl_step *nn_dnnl_push(nn_dnnl_store *s, nn_dnnl_steps *list)
{
    if (nn_dnnl_grow((void **)&list->v, &list->cap, list->n, sizeof *list->v) < 0) {
        oom(s);
        return NULL;
    }
    nn_dnnl_step *st = &list->v[list->n++];
    memset(st, 0, sizeof *st);
    return st;
}

float *nn_dnnl_buf(nn_dnnl_store *s, size_t bytes)
{
    float *ptr = NULL;
    if (nn_dnnl_grow((void **)&s->bufs, &s->cap_bufs, s->n_bufs, sizeof *s->bufs) < 0 ||
        !(ptr = nn_alloc(bytes / sizeof(float) + 1, sizeof(float)))) {
        oom(s);
        return NULL;
    }
    memset(ptr, 0, bytes);
    s->bufs[s->n_bufs++] = ptr;
    return ptr;
}

int nn_dnnl_mem(nn_dnnl_store *s, const dnnl_memory_desc_t *md, void *ptr, dnnl_memory_t *out)
{
    if (!ptr && !(ptr = nn_dnnl_buf(s, dnnl_memory_desc_get_size(md))))
        return -ENOMEM;
    if (nn_dnnl_grow((void **)&s->mems, &s->cap_mems, s->n_mems, sizeof *s->mems) < 0)
        return oom(s);
    CK(dnnl_memory_create(out, md, s->eng, ptr));
    s->mems[s->n_mems++] = *out;
    return 0;
}

int nn_dnnl_keep_pd(nn_dnnl_store *s, dnnl_primitive_desc_t pd)
{
    if (nn_dnnl_grow((void **)&s->pds, &s->cap_pds, s->n_pds, sizeof *s->pds) < 0) {
        dnnl_primitive_desc_destroy(pd);
        return oom(s);
    }
    s->pds[s->n_pds++] = pd;
    return 0;
}

int nn_dnnl_pd_create(nn_dnnl_store *s, dnnl_primitive_desc_t *pd, const void *desc,
                      const_dnnl_primitive_desc_t hint)
{
    CK(dnnl_primitive_desc_create(pd, desc, NULL, s->eng, hint));
    return nn_dnnl_keep_pd(s, *pd);
}

int nn_dnnl_add_prim(nn_dnnl_store *s, nn_dnnl_steps *list, const_dnnl_primitive_desc_t pd,
                     int nargs, const int *arg, const dnnl_memory_t *m)
{
    if (nargs > NN_DNNL_MAX_ARGS) {
        snprintf(s->err, s->errlen, "a primitive with %d arguments (at most %d)", nargs,
                 NN_DNNL_MAX_ARGS);
        return -EINVAL;
    }
    nn_dnnl_step *st = nn_dnnl_push(s, list);
    if (!st)
        return -ENOMEM;
    st->kind = NN_DNNL_PRIM;
    CK(dnnl_primitive_create(&st->prim, pd));
    st->nargs = nargs;
    for (int i = 0; i < nargs; i++)
        st->args[i] = (dnnl_exec_arg_t){arg[i], m[i]};
    return 0;
}

int nn_dnnl_add_reorder(nn_dnnl_store *s, nn_dnnl_steps *list, dnnl_memory_t from,
                        dnnl_memory_t to)
{
    const dnnl_memory_desc_t *a, *b;
    CK(dnnl_memory_get_memory_desc(from, &a));
    CK(dnnl_memory_get_memory_desc(to, &b));
    dnnl_primitive_desc_t pd;
    CK(dnnl_reorder_primitive_desc_create(&pd, a, s->eng, b, s->eng, NULL));
    int rc = nn_dnnl_keep_pd(s, pd);
    return rc ? rc
              : nn_dnnl_add_prim(s, list, pd, 2, (const int[]){DNNL_ARG_FROM, DNNL_ARG_TO},
                                 (const dnnl_memory_t[]){from, to});
}

int nn_dnnl_need(nn_dnnl_store *s, nn_dnnl_steps *list, dnnl_memory_t have,
                 const dnnl_memory_desc_t *want, dnnl_memory_t *out)
{
    const dnnl_memory_desc_t *md;
    CK(dnnl_memory_get_memory_desc(have, &md));
    if (dnnl_memory_desc_equal(md, want)) {
        *out = have;
        return 0;
    }
    int rc = nn_dnnl_mem(s, want, NULL, out);
    return rc ? rc : nn_dnnl_add_reorder(s, list, have, *out);
}

dnnl_status_t nn_dnnl_exec(const nn_dnnl_step *st, dnnl_stream_t strm)
{
    return dnnl_primitive_execute(st->prim, strm, st->nargs, st->args);
}

void nn_dnnl_steps_free(nn_dnnl_steps *list)
{
    for (int j = 0; j < list->n; j++)
        if (list->v[j].prim)
            dnnl_primitive_destroy(list->v[j].prim);
    free(list->v);
    memset(list, 0, sizeof *list);
}

void nn_dnnl_store_free(nn_dnnl_store *s)
{
    for (int j = 0; j < s->n_mems; j++)
        dnnl_memory_destroy(s->mems[j]);
    for (int j = 0; j < s->n_pds; j++)
        dnnl_primitive_desc_destroy(s->pds[j]);
    for (int j = 0; j < s->n_bufs; j++)
        nn_free(s->bufs[j]);
    free(s->mems);
    free(s->pds);
    free(s->bufs);
    s->mems = NULL;
    s->pds = NULL;
    s->bufs = NULL;
    s->n_mems = s->cap_mems = s->n_pds = s->cap_pds = s->n_bufs = s->cap_bufs = 0;
}

void *nn_dnnl_plan_get(void *plans, size_t size, int *count, int max, int n, int training,
                       int (*build)(void *engine, void *plan), void (*free_plan)(void *plan),
                       void *engine, const char *who, const char *err)
{
    char *base = plans;
    for (int k = 0; k < *count; k++) {
        const int *key = (const int *)(base + (size_t)k * size);
        if (key[0] == n && key[1] == training)
            return base + (size_t)k * size;
    }
    if (*count == max) { /* make room: drop the oldest */
        free_plan(base);
        memmove(base, base + size, (size_t)(max - 1) * size);
        (*count)--;
    }
    int *slot = (int *)(base + (size_t)*count * size);
    memset(slot, 0, size);
    slot[0] = n;
    slot[1] = training;
    if (build(engine, slot) < 0) {
        free_plan(slot);
        fprintf(stderr, "%s: %s\n", who, err);
        return NULL;
    }
    (*count)++;
    return slot;
}

int nn_dnnl_open(dnnl_engine_t *eng, dnnl_stream_t *strm, int threads, char *err, size_t errlen)
{
    *eng = NULL;
    *strm = NULL;
    omp_set_num_threads(threads);
    dnnl_status_t st = dnnl_engine_create(eng, dnnl_cpu, 0);
    if (st == dnnl_success)
        st = dnnl_stream_create(strm, *eng, dnnl_stream_default_flags);
    if (st != dnnl_success) {
        snprintf(err, errlen, "oneDNN: no CPU engine (%s)", dnnl_status2str(st));
        nn_dnnl_close(*eng, *strm);
        *eng = NULL;
        *strm = NULL;
        return -EIO;
    }
    return 0;
}

void nn_dnnl_close(dnnl_engine_t eng, dnnl_stream_t strm)
{
    if (strm)
        dnnl_stream_destroy(strm);
    if (eng)
        dnnl_engine_destroy(eng);
}
