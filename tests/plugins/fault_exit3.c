/* fault:exit3: train exits the process with status 3. */
#include <stdlib.h>

#include "testplug.h"

static int exit3_train(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    exit(3);
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "exit3",
    .description = "test: calls exit(3) in train",
    .setup = tp_setup_nothing,
    .train = exit3_train,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
