/* slow:sleep: train sleeps `ms` milliseconds (for interrupt tests: a run
 * that is still going when SIGINT arrives). */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "testplug.h"

static const mlb_param_def params[] = {
    {"ms", MLB_PARAM_INT, "200", "milliseconds to sleep in train"},
};

static int sleep_setup(mlb_ctx *ctx, void **state)
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

static int sleep_train(mlb_ctx *ctx, void *state)
{
    const int64_t *ms = state;
    struct timespec left = {.tv_sec = (time_t)(*ms / 1000), .tv_nsec = (long)(*ms % 1000) * 1000000};
    /* A handled signal cuts nanosleep short; sleep the rest, as the engine
     * decides what a signal means, not this plugin. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

static int sleep_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    free(state);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "slow",
    .variant = "sleep",
    .description = "test: train sleeps ms milliseconds",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = sleep_setup,
    .train = sleep_train,
    .teardown = sleep_teardown,
};

TP_ENTRY(plugin)
