/* The in-process target: a plugin's callbacks, called in the process that
 * measures them (the repetition's child, or the engine with --no-fork). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "target.h"

static int plugin_start(mlb_target *t, const mlb_plugin_entry *e, const mlb_target_opts *o,
                        mlb_ctx *ctx)
{
    (void)o; /* a plugin's deadline and memory are the runner's watch */
    (void)ctx;
    memset(t, 0, sizeof *t);
    t->ops = &mlb_target_plugin_ops;
    t->entry = e;
    t->start_s = NAN;
    t->phases = 1u << MLB_PH_SETUP | 1u << MLB_PH_TEARDOWN;
    if (e->desc.train)
        t->phases |= 1u << MLB_PH_TRAIN;
    if (e->desc.infer)
        t->phases |= 1u << MLB_PH_INFER;
    t->max_infer_n = e->desc.max_infer_n > 0 ? e->desc.max_infer_n : 0;
    return 0;
}

static int plugin_phase(mlb_target *t, mlb_ctx *ctx, int ph)
{
    const mlb_plugin *d = &t->entry->desc;
    int rc;
    switch (ph) {
    case MLB_PH_SETUP: rc = d->setup(ctx, &t->impl); break;
    case MLB_PH_TRAIN: rc = d->train(ctx, t->impl); break;
    case MLB_PH_INFER: rc = d->infer(ctx, t->impl); break;
    default: rc = d->teardown(ctx, t->impl); break;
    }
    t->fault = rc < 0 ? MLB_TARGET_FAILED : MLB_TARGET_OK;
    return rc;
}

/* NULL desc.infer_n (a plugin older than ABI 1.3 reads as NULL) makes the
 * runner call infer n times instead. */
static int plugin_infer_n(mlb_target *t, mlb_ctx *ctx, int n)
{
    const mlb_plugin *d = &t->entry->desc;
    int rc = d->infer_n ? d->infer_n(ctx, t->impl, n) : 0;
    for (int i = 0; !d->infer_n && i < n && rc >= 0; i++)
        rc = d->infer(ctx, t->impl);
    t->fault = rc < 0 ? MLB_TARGET_FAILED : MLB_TARGET_OK;
    return rc;
}

static void plugin_stop(mlb_target *t)
{
    t->impl = NULL; /* the plugin's teardown owns its state */
}

const mlb_target_ops mlb_target_plugin_ops = {
    .kind = "plugin",
    .kill_grace_s = 0.0,
    .start = plugin_start,
    .phase = plugin_phase,
    .infer_n = plugin_infer_n,
    .stop = plugin_stop,
};

/* Runs the native variant's setup with the peer run's parameters (where it
 * declares them), then its export_data, so that the peer gets exactly the
 * arrays that variant trains on. */
int mlb_plugin_export_data(const mlb_plugin_entry *from, const mlb_ctx *ctx, const char *dir,
                           char *why, size_t whylen)
{
    if (!from->desc.export_data) {
        snprintf(why, whylen, "variant %s:%s cannot export its data (no export_data)",
                 from->desc.task, from->desc.variant);
        return -ENOTSUP;
    }
    mlb_ctx nc;
    int rc = mlb_ctx_init(&nc, &from->desc, ctx->seed);
    for (size_t i = 0; rc == 0 && i < ctx->n_params; i++) {
        char w[256];
        int r = mlb_ctx_set_param(&nc, ctx->params[i].def->name, ctx->params[i].text, w, sizeof w);
        if (r < 0 && r != -ENOENT) { /* a parameter it does not declare is not its business */
            snprintf(why, whylen, "parameter '%s' for %s:%s: %s", ctx->params[i].def->name,
                     from->desc.task, from->desc.variant, w);
            rc = r;
        }
    }
    void *state = NULL;
    if (rc == 0 && (rc = from->desc.setup(&nc, &state)) < 0)
        snprintf(why, whylen, "%s:%s setup (for the peer's data): %s", from->desc.task,
                 from->desc.variant, nc.err);
    if (rc == 0) {
        if ((rc = from->desc.export_data(&nc, state, dir)) < 0)
            snprintf(why, whylen, "%s:%s export_data: %s", from->desc.task, from->desc.variant,
                     nc.err);
        from->desc.teardown(&nc, state);
    }
    mlb_ctx_free(&nc);
    return rc < 0 ? rc : 0;
}
