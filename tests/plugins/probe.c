/* probe:*: plugins whose entry point, available() or descriptor is broken
 * in one way each (chosen at build time), for discovery's isolation and
 * descriptor checks: none may take down the engine or an unrelated run. */
#include <signal.h>
#include <stddef.h>
#include <unistd.h>

#include "testplug.h"

#if defined(PROBE_AVAIL_SEGV)
static const char *avail(void)
{
    raise(SIGSEGV);
    return NULL;
}
#define VARIANT "availsegv"
#elif defined(PROBE_AVAIL_HANG)
static const char *avail(void)
{
    for (;;)
        pause();
    return NULL;
}
#define VARIANT "availhang"
#elif defined(PROBE_AVAIL_NO)
static const char *avail(void) { return "the frobnicator is missing"; }
#define VARIANT "availno"
#else
#define avail NULL
#ifndef PROBE_VARIANT
#define PROBE_VARIANT "plain"
#endif
#define VARIANT PROBE_VARIANT
#endif

#if defined(PROBE_NULL_NAME)
static const mlb_param_def params[] = {{NULL, MLB_PARAM_INT, "1", "no name"}};
#elif defined(PROBE_BAD_TYPE)
static const mlb_param_def params[] = {{"n", (mlb_param_type)99, "1", "unknown type"}};
#elif defined(PROBE_NULL_DEF)
static const mlb_param_def params[] = {{"n", MLB_PARAM_INT, NULL, "no default"}};
#elif defined(PROBE_BAD_DEF)
static const mlb_param_def params[] = {{"n", MLB_PARAM_INT, "many", "default not an int"}};
#else
static const mlb_param_def params[] = {{"n", MLB_PARAM_INT, "1", "a number"}};
#endif

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "probe",
    .variant = VARIANT,
    .description = "test: broken in discovery",
    .params = params,
    .n_params = 1,
    .available = avail,
    .setup = tp_setup_nothing,
    .train = tp_nothing,
    .teardown = tp_nothing,
};

#if defined(PROBE_ENTRY_SEGV)
MLB_EXPORT const mlb_plugin *mlbench_plugin_entry(void)
{
    raise(SIGSEGV);
    return &plugin;
}
#else
TP_ENTRY(plugin)
#endif
