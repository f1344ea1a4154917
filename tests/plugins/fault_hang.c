/* fault:hang: train never returns (for the engine's timeout). */
#include <unistd.h>

#include "testplug.h"

static int hang_train(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    for (;;)
        sleep(1);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "hang",
    .description = "test: train sleeps forever",
    .setup = tp_setup_nothing,
    .train = hang_train,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
