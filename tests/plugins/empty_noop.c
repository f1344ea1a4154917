/* empty:noop: every phase does nothing, so a run of it measures the engine's
 * own cost per repetition, per phase and per query. */
#include "testplug.h"

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "empty",
    .variant = "noop",
    .description = "test: every callback returns at once (engine overhead)",
    .setup = tp_setup_nothing,
    .train = tp_nothing,
    .infer = tp_nothing,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
