/* dup:same, built twice (dup_a.so, dup_b.so): two plugins claiming the same
 * task and variant, which discovery must report rather than pick one of. */
#include "testplug.h"

#ifndef DUP_COPY
#error "build with -DDUP_COPY=\"a\" or \"b\""
#endif

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "dup",
    .variant = "same",
    .description = "test: duplicate task:variant, copy " DUP_COPY,
    .setup = tp_setup_nothing,
    .train = tp_nothing,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
