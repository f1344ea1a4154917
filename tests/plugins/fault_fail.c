/* fault:fail: train reports an error the regular way. */
#include "testplug.h"

static int fail_train(mlb_ctx *ctx, void *state)
{
    (void)state;
    return mlb_error(ctx, "deliberate failure: fault:fail always fails in train");
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "fail",
    .description = "test: train returns an error",
    .setup = tp_setup_nothing,
    .train = fail_train,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
