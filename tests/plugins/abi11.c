/* abi11:old, a plugin as built against ABI 1.1: its struct_size ends at
 * export_data. The bytes past it (here, a rule table that would reject the
 * default) must be ignored, as they would be absent in a real 1.1 build. */
#include <stddef.h>

#include "testplug.h"

static const mlb_param_def params[] = {
    {"n", MLB_PARAM_INT, "4", "any integer"},
};

static const mlb_param_rule rules[] = {
    MLB_RULE_RANGE("n", 100, 200),
};

static const mlb_plugin plugin = {
    .abi_major = MLB_ABI_MAJOR,
    .struct_size = offsetof(mlb_plugin, param_rules),
    .task = "abi11",
    .variant = "old",
    .description = "test: a plugin built against ABI 1.1",
    .params = params,
    .n_params = 1,
    .setup = tp_setup_nothing,
    .train = tp_nothing,
    .teardown = tp_nothing,
    MLB_PARAM_RULES(rules),
};

TP_ENTRY(plugin)
