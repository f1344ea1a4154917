/* fault:wrongabi: a plugin built for a future major ABI; the engine must
 * refuse it (by abi_major) without calling anything. */
#include "testplug.h"

static const mlb_plugin plugin = {
    .abi_major = MLB_ABI_MAJOR + 1,
    .struct_size = sizeof(mlb_plugin),
    .task = "fault",
    .variant = "wrongabi",
    .description = "test: declares abi_major = MLB_ABI_MAJOR + 1",
    .setup = tp_setup_nothing,
    .train = tp_nothing,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
