/* fault:spin: train keeps a CPU busy for `ms` milliseconds of wall time
 * (for CPU-time and timing-accuracy tests: it never sleeps). */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "testplug.h"

static const mlb_param_def params[] = {
    {"ms", MLB_PARAM_INT, "100", "milliseconds to busy-spin in train"},
};

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int spin_setup(mlb_ctx *ctx, void **state)
{
    int64_t ms = mlb_param_int(ctx, "ms");
    if (ms < 0 || ms > INT64_C(86400000))
        return mlb_error(ctx, "parameter ms=%" PRId64 ": must be between 0 and 86400000", ms);
    int64_t *s = malloc(sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    *s = ms;
    *state = s;
    return 0;
}

static int spin_train(mlb_ctx *ctx, void *state)
{
    const int64_t *ms = state;
    int64_t end = now_ns() + *ms * 1000000;
    while (now_ns() < end)
        ; /* clock_gettime is an external call: the loop cannot be removed */
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

static int spin_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "spin",
    .description = "test: train busy-spins for ms milliseconds",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = spin_setup,
    .train = spin_train,
    .teardown = spin_teardown,
};

TP_ENTRY(plugin)
