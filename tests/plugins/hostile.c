/* hostile:a and hostile:b: a plugin whose numbers and words are what a
 * diverged or careless plugin emits (issue 12): a loss of `value` (1e100,
 * 5e-324), and with `mode` an error message or stderr that is not valid
 * UTF-8 or that a byte cut splits inside a character. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testplug.h"

#ifndef HOSTILE_VARIANT
#define HOSTILE_VARIANT "a"
#endif

static const mlb_param_def params[] = {
    {"value", MLB_PARAM_FLOAT, "1", "the loss reported, times 1 + repetition / 10"},
    {"mode", MLB_PARAM_STRING, "ok",
     "ok; badutf8: fail with invalid UTF-8 in the message; stderr: write 64 KiB of "
     "'é' to stderr and fail; longname: a metric named with 300 bytes of 'é'"},
};

static int hostile_train(mlb_ctx *ctx, void *state)
{
    (void)state;
    const char *mode = mlb_param_str(ctx, "mode");
    int rep = mlb_repetition(ctx);
    double v = mlb_param_float(ctx, "value") * (1.0 + (rep > 0 ? rep : 0) / 10.0);
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    if (strcmp(mode, "badutf8") == 0)
        return mlb_error(ctx, "bad bytes: \xff\xfe \xc3( \xe2\x82 end");
    if (strcmp(mode, "stderr") == 0) {
        /* Two-byte characters from an odd offset: a tail cut at any even
         * byte count from the end splits one. */
        static char buf[65537];
        buf[0] = 'x';
        for (size_t i = 1; i + 1 < sizeof buf; i += 2)
            memcpy(buf + i, "\xc3\xa9", 2);
        if (write(2, buf, sizeof buf - 1) < 0)
            return mlb_error(ctx, "write failed");
        return mlb_error(ctx, "failed after writing stderr");
    }
    if (strcmp(mode, "longname") == 0) {
        char name[301];
        for (size_t i = 0; i + 1 < sizeof name; i += 2)
            memcpy(name + i, "\xc3\xa9", 2);
        name[300] = '\0';
        mlb_report_metric(ctx, name, v, MLB_LOWER_IS_BETTER);
    }
    mlb_report_metric(ctx, "loss", v, MLB_LOWER_IS_BETTER);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "hostile",
    .variant = HOSTILE_VARIANT,
    .description = "test: extreme metric values and invalid UTF-8 text",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = tp_setup_nothing,
    .train = hostile_train,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
