/* serve:one and serve:batched: infer sleeps `ms` milliseconds per call,
 * reporting `items` work items per query. serve:batched also has infer_n
 * (ABI 1.3): n queries in one call of the same `ms`, refusing n above its
 * max_infer_n, so that the offline scenario's batching shows as samples per
 * second and the server scenario's latencies have a known service time.
 * serve:old12 is built as against ABI 1.2 (struct_size ends before infer_n)
 * with an infer_n past its size that fails: the engine must not see it. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "testplug.h"

#ifndef SERVE_VARIANT
#define SERVE_VARIANT "one"
#endif
#define SERVE_MAX_N 8

static const mlb_param_def params[] = {
    {"ms", MLB_PARAM_FLOAT, "1", "milliseconds each infer call sleeps"},
    {"items", MLB_PARAM_INT, "4", "work items per query"},
};

typedef struct {
    double ms;
    int64_t items;
} serve_state;

static int serve_setup(mlb_ctx *ctx, void **state)
{
    serve_state *s = malloc(sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->ms = mlb_param_float(ctx, "ms");
    s->items = mlb_param_int(ctx, "items");
    *state = s;
    return 0;
}

static void sleep_ms(double ms)
{
    struct timespec left = {.tv_sec = (time_t)(ms / 1000),
                            .tv_nsec = (long)((ms - 1000.0 * (double)(time_t)(ms / 1000)) * 1e6)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static int serve_infer(mlb_ctx *ctx, void *state)
{
    serve_state *s = state;
    sleep_ms(s->ms);
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)s->items);
    return 0;
}

#if defined SERVE_OLD
static int serve_infer_n(mlb_ctx *ctx, void *state, int n)
{
    (void)state;
    return mlb_error(ctx, "infer_n lies past this plugin's struct_size (n=%d)", n);
}
#elif defined SERVE_BATCHED
static int serve_infer_n(mlb_ctx *ctx, void *state, int n)
{
    serve_state *s = state;
    if (n < 1 || n > SERVE_MAX_N)
        return mlb_error(ctx, "infer_n called with n=%d, outside 1..%d", n, SERVE_MAX_N);
    sleep_ms(s->ms);
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)(s->items * n));
    return 0;
}
#endif

static int serve_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
    return 0;
}

static const mlb_plugin plugin = {
#ifdef SERVE_OLD
    .abi_major = MLB_ABI_MAJOR,
    .struct_size = offsetof(mlb_plugin, infer_n),
#else
    MLB_PLUGIN_HEADER,
#endif
    .task = "serve",
    .variant = SERVE_VARIANT,
    .description = "test: infer sleeps ms per call",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = serve_setup,
    .infer = serve_infer,
    .teardown = serve_teardown,
#if defined SERVE_BATCHED || defined SERVE_OLD
    .infer_n = serve_infer_n,
    .max_infer_n = SERVE_MAX_N,
#endif
};

TP_ENTRY(plugin)
