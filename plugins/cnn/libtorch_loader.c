/*
 * cnn:libtorch's engine, loaded when a repetition first needs it. libtorch's
 * libraries are large and run constructors when loaded (about 1.4 s here),
 * and the engine loads every plugin at discovery: a plugin linked against
 * them would make every engine start, `--list` and any unrelated run pay
 * that. So the plugin links only this forwarder; the C++ engine
 * (libtorch.cpp, which links libtorch) is a separate module,
 * cnn_libtorch_engine.engine, beside the plugin, opened with dlopen in the
 * repetition's own process.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cnn_engine.h"

#define ENGINE_FILE "cnn_libtorch_engine.engine"

typedef struct {
    const cnn_engine *e; /* the module's engine */
    void *inner;         /* its state */
} loaded;

/* The engine module's path: this plugin's directory + ENGINE_FILE. */
static int engine_path(char *out, size_t n)
{
    Dl_info di;
    if (!dladdr((void *)engine_path, &di) || !di.dli_fname)
        return -1;
    const char *slash = strrchr(di.dli_fname, '/');
    int dir = slash ? (int)(slash - di.dli_fname) : 1;
    int w = snprintf(out, n, "%.*s/%s", dir, slash ? di.dli_fname : ".", ENGINE_FILE);
    return w > 0 && (size_t)w < n ? 0 : -1;
}

const char *cnn_libtorch_available(void)
{
    char path[PATH_MAX];
    if (engine_path(path, sizeof path) < 0 || access(path, R_OK) != 0)
        return "its engine module " ENGINE_FILE " is not beside the plugin (rebuild or reinstall)";
    return NULL;
}

static int ld_create(void **impl, const cnn_engine_setup *su, char *err, size_t errlen)
{
    char path[PATH_MAX];
    if (engine_path(path, sizeof path) < 0) {
        snprintf(err, errlen, "cnn:libtorch: cannot locate its engine module");
        return -ENOENT;
    }
    /* Kept open for the process: libtorch's static state does not unload. */
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(err, errlen, "cnn:libtorch: %s", dlerror());
        return -ENOENT;
    }
    const cnn_engine *e = dlsym(h, "cnn_engine_libtorch");
    loaded *l = e ? calloc(1, sizeof *l) : NULL;
    if (!l) {
        snprintf(err, errlen, "cnn:libtorch: %s", e ? "out of memory" : "no engine in the module");
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

static double ld_train_step(void *impl, const float *x, const int32_t *y, int n)
{
    loaded *l = impl;
    return l->e->train_step(l->inner, x, y, n);
}

static void ld_forward(void *impl, const float *x, int n, float *logits)
{
    loaded *l = impl;
    l->e->forward(l->inner, x, n, logits);
}

static int ld_weights_to(void *impl, nn_model *m, char *err, size_t errlen)
{
    loaded *l = impl;
    return l->e->weights_to(l->inner, m, err, errlen);
}

static void ld_destroy(void *impl)
{
    loaded *l = impl;
    if (!l)
        return;
    l->e->destroy(l->inner);
    free(l);
}

static double ld_gradients(void *impl, const float *x, const int32_t *y, int n, float *logits,
                           nn_model *m)
{
    loaded *l = impl;
    return l->e->gradients(l->inner, x, y, n, logits, m);
}

const cnn_engine cnn_engine_libtorch_loader = {
    "libtorch", ld_create, ld_train_step, ld_forward, ld_weights_to, ld_destroy, ld_gradients,
};
