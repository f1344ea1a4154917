/* peertest:native: a native variant whose only job is to export a small,
 * known dataset, so that a peer with data_from: native can be checked to
 * receive exactly these arrays. */
#include <stdio.h>
#include <stdlib.h>

#include "testplug.h"

typedef struct {
    double X[6], y[3];
} native_state;

static int native_setup(mlb_ctx *ctx, void **state)
{
    native_state *s = malloc(sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    double seed = (double)mlb_seed(ctx);
    for (int i = 0; i < 6; i++)
        s->X[i] = seed + i * 0.5;
    for (int i = 0; i < 3; i++)
        s->y[i] = i;
    *state = s;
    return 0;
}

static int native_export(mlb_ctx *ctx, void *state, const char *dir)
{
    native_state *s = state;
    char path[4096];
    size_t xs[2] = {3, 2}, ys[1] = {3};
    snprintf(path, sizeof path, "%s/X_train.npy", dir);
    if (mlb_npy_write(ctx, path, MLB_NPY_F64, s->X, 2, xs) < 0)
        return MLB_EFAIL;
    snprintf(path, sizeof path, "%s/y_train.npy", dir);
    return mlb_npy_write(ctx, path, MLB_NPY_F64, s->y, 1, ys);
}

static int native_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
    return 0;
}

static const mlb_param_def params[] = {
    {"mode", MLB_PARAM_STRING, "data", "ignored: shared with the peer"},
    {"ms", MLB_PARAM_INT, "1", "ignored: shared with the peer"},
};

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "peertest",
    .variant = "native",
    .description = "test: exports a 3x2 dataset for the data_from peer",
    .params = params,
    .n_params = 2,
    .setup = native_setup,
    .teardown = native_teardown,
    .export_data = native_export,
};

TP_ENTRY(plugin)
