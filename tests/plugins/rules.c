/* rules:a and rules:b (RULES_VARIANT): parameters with every kind of ABI 1.2
 * rule, and a setup that rejects one value the rules cannot express (odd
 * n with mode=pair), the way a plugin words a rejected parameter. */
#include "testplug.h"

static const mlb_param_def params[] = {
    {"n", MLB_PARAM_INT, "4", "1..64"},
    {"alpha", MLB_PARAM_FLOAT, "0.5", "> 0 and < 1"},
    {"threads", MLB_PARAM_INT, "1", "tuning: 1..8, 0 = auto"},
    {"mode", MLB_PARAM_STRING, "single", "single | pair"},
    {"free", MLB_PARAM_STRING, "x", "no rule"},
};

static const mlb_param_rule rules[] = {
    MLB_RULE_RANGE("n", 1, 64),
    MLB_RULE_OPEN("alpha", 0, 1),
    MLB_RULE_TUNING_RANGE_AUTO("threads", 1, 8),
    MLB_RULE_CHOICES("mode", "single", "pair"),
};

static int rules_setup(mlb_ctx *ctx, void **state)
{
    *state = NULL;
    if (!strcmp(mlb_param_str(ctx, "mode"), "pair") && mlb_param_int(ctx, "n") % 2)
        return mlb_error(ctx, "parameter n=%lld: mode=pair needs an even n",
                         (long long)mlb_param_int(ctx, "n"));
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "rules",
    .variant = RULES_VARIANT,
    .description = "test: parameter rules of every kind",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = rules_setup,
    .train = tp_nothing,
    .teardown = tp_nothing,
    MLB_PARAM_RULES(rules),
};

TP_ENTRY(plugin)
