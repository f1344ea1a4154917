/* Shared by the libFuzzer targets of the engine's parsers (suite, peer,
 * results). Their errors go to stderr by design, once per input, which
 * would drown libFuzzer's own reports: stdout and stderr are pointed at
 * /dev/null. libFuzzer keeps the stderr it captured at start-up, and the
 * sanitizers write to file descriptor 2, so crash reports still show.
 * FUZZ_VERBOSE=1 keeps the engine's messages (to read while reproducing). */
#ifndef MLB_FUZZ_ENGINE_H
#define MLB_FUZZ_ENGINE_H

#include "fuzz_common.h"

static FILE *fuzz_devnull;

static inline void fuzz_quiet(void)
{
    if (fuzz_devnull)
        return;
    fuzz_devnull = fopen("/dev/null", "w");
    if (!fuzz_devnull)
        abort();
    const char *v = getenv("FUZZ_VERBOSE");
    if (v && *v && *v != '0')
        return;
    stdout = fuzz_devnull;
    stderr = fuzz_devnull;
}

#endif
