/* fault:alloc: train allocates and touches `mb` MiB (for peak-memory and
 * memory-limit tests); setup allocates almost nothing. */
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>

#include "testplug.h"

#define ALLOC_PAGE 4096 /* touching every 4 KiB touches every page on any host */

typedef struct {
    size_t bytes;
    unsigned char *buf; /* allocated by train, freed by teardown */
} alloc_state;

static const mlb_param_def params[] = {
    {"mb", MLB_PARAM_INT, "200", "MiB that train allocates and touches"},
};

static int alloc_setup(mlb_ctx *ctx, void **state)
{
    int64_t mb = mlb_param_int(ctx, "mb");
    if (mb < 1 || mb > (INT64_C(1) << 20))
        return mlb_error(ctx, "parameter mb=%" PRId64 ": must be between 1 and %d", mb, 1 << 20);
    alloc_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->bytes = (size_t)mb << 20;
    *state = s;
    return 0;
}

static int alloc_train(mlb_ctx *ctx, void *state)
{
    alloc_state *s = state;
    free(s->buf);
    s->buf = malloc(s->bytes);
    if (!s->buf)
        return mlb_error(ctx, "cannot allocate %zu MiB", s->bytes >> 20);
    for (size_t i = 0; i < s->bytes; i += ALLOC_PAGE)
        s->buf[i] = (unsigned char)(i / ALLOC_PAGE);
    /* Read back what was written and publish it, so that neither the
     * writes nor the allocation can be optimised away. */
    double sum = 0;
    for (size_t i = 0; i < s->bytes; i += ALLOC_PAGE)
        sum += s->buf[i];
    mlb_report_metric(ctx, "page_sum", sum, MLB_HIGHER_IS_BETTER);
    mlb_report_work(ctx, MLB_WORK_ITEMS, 1);
    return 0;
}

static int alloc_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    alloc_state *s = state;
    if (s)
        free(s->buf);
    free(s);
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "alloc",
    .description = "test: train allocates and touches mb MiB",
    .params = params,
    .n_params = sizeof params / sizeof params[0],
    .setup = alloc_setup,
    .train = alloc_train,
    .teardown = alloc_teardown,
};

TP_ENTRY(plugin)
