/* fault:segv: train dies of a segmentation fault. */
#include <signal.h>
#include <stddef.h>

#include "testplug.h"

/* UBSan would report the null store and exit instead of faulting. */
__attribute__((no_sanitize("undefined"))) static int segv_train(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    (void)state;
    /* Die of the signal itself, whatever handler the host installed (ASan
     * turns a SIGSEGV into exit(1)), so the engine always sees signal 11. */
    signal(SIGSEGV, SIG_DFL);
    int *volatile p = NULL; /* volatile: the compiler cannot drop the store */
    *p = 1;
    raise(SIGSEGV); /* not reached */
    return 0;
}

static const mlb_plugin plugin = {
    MLB_PLUGIN_HEADER,
    .task = "fault",
    .variant = "segv",
    .description = "test: segfaults in train",
    .setup = tp_setup_nothing,
    .train = segv_train,
    .teardown = tp_nothing,
};

TP_ENTRY(plugin)
