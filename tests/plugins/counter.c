/* count:a and count:b (COUNT_VARIANT): train sleeps `ms` milliseconds;
 * teardown appends "VARIANT MS REP" to the file named by $MLB_TEST_COUNT_LOG,
 * so a test can tell which repetitions ran, and how often (--resume). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "testplug.h"

static const mlb_param_def params[] = {
    {"ms", MLB_PARAM_INT, "50", "milliseconds to sleep in train"},
};

static const mlb_param_rule rules[] = {
    MLB_RULE_RANGE("ms", 0, 60000),
};

static int count_train(mlb_ctx *ctx, void *state)
{
    (void)state;
    long ms = (long)mlb_param_int(ctx, "ms");
    struct timespec left = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

static int count_teardown(mlb_ctx *ctx, void *state)
{
    (void)state;
    const char *path = getenv("MLB_TEST_COUNT_LOG");
    if (!path)
        return 0;
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0)
        return mlb_error(ctx, "%s: cannot open", path);
    char line[96];
    int n = snprintf(line, sizeof line, "%s %lld %d\n", COUNT_VARIANT,
                     (long long)mlb_param_int(ctx, "ms"), mlb_repetition(ctx));
    ssize_t w = write(fd, line, (size_t)n); /* one write: lines never interleave */
    close(fd);
    return w == n ? 0 : mlb_error(ctx, "%s: short write", path);
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "count",
    .variant = COUNT_VARIANT,
    .description = "test: logs every repetition it runs",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = tp_setup_nothing,
    .train = count_train,
    .teardown = count_teardown,
    MLB_PARAM_RULES(rules),
};

TP_ENTRY(plugin)
