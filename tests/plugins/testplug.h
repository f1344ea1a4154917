/* Shared bits of the test-only plugins: each is one tiny descriptor whose
 * callbacks misbehave in one precise way for the engine's tests. */
#ifndef MLB_TESTPLUG_H
#define MLB_TESTPLUG_H

#include <string.h>

#include "mlbench/plugin.h"

static inline int tp_setup_nothing(mlb_ctx *ctx, void **state)
{
    (void)ctx;
    *state = NULL;
    return 0;
}

static inline int tp_nothing(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    return 0;
}

/* Defines the exported entry point returning `desc`. */
#define TP_ENTRY(desc)                                                                            \
    MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void) { return &(desc); }

#endif
