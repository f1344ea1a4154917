/*
 * Engines in modules of their own (nn_engine.h says why), opened beside the
 * plugin when a repetition first needs one, in the repetition's process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include "nn_engine.h"

#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    const nn_engine *e; /* the module's engine */
    void *inner;        /* its state */
} loaded;

/* The module's path: the directory of the shared object holding this
 * code (the plugin, which links the NN core statically) + file. */
static int module_path(const char *file, char *out, size_t n)
{
    Dl_info di;
    if (!dladdr((void *)module_path, &di) || !di.dli_fname)
        return -1;
    const char *slash = strrchr(di.dli_fname, '/');
    int dir = slash ? (int)(slash - di.dli_fname) : 1;
    int w = snprintf(out, n, "%.*s/%s", dir, slash ? di.dli_fname : ".", file);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

int nn_engine_module_present(const char *file)
{
    char path[PATH_MAX];
    return module_path(file, path, sizeof path) == 0 && access(path, R_OK) == 0;
}

int nn_engine_load(void **impl, const char *file, const char *symbol, const nn_engine_setup *su,
                   char *err, size_t errlen)
{
    char path[PATH_MAX];
    *impl = NULL;
    if (module_path(file, path, sizeof path) < 0) {
        snprintf(err, errlen, "%s: cannot locate the engine module beside the plugin", file);
        return -ENOENT;
    }
    /* Kept open for the process: libtorch's static state does not unload. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "%s", dlerror());
        return -ENOENT;
    }
    const nn_engine *e = dlsym(h, symbol);
    loaded *l = e ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        snprintf(err, errlen, "%s: %s", path, e ? "out of memory" : "no engine in the module");
        return e ? -ENOMEM : -ENOENT;
    }
    l->e = e;
    int rc = e->create(&l->inner, su, err, errlen);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *impl = l;
    return 0;
}

double nn_engine_loaded_train_step(void *impl, const float *x, const int32_t *y, int n)
{
    loaded *l = impl;
    return l->e->train_step(l->inner, x, y, n);
}

void nn_engine_loaded_forward(void *impl, const float *x, int n, float *logits)
{
    loaded *l = impl;
    l->e->forward(l->inner, x, n, logits);
}

int nn_engine_loaded_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    loaded *l = impl;
    return l->e->weights_to(l->inner, m, err, errlen);
}

void nn_engine_loaded_destroy(void *impl)
{
    loaded *l = impl;
    if (!l)
        return;
    l->e->destroy(l->inner);
    free(l);
}

double nn_engine_loaded_gradients(void *impl, const float *x, const int32_t *y, int n,
                                  float *logits, nn_model *m)
{
    loaded *l = impl;
    return l->e->gradients(l->inner, x, y, n, logits, m);
}
