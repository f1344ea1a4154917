/* libFuzzer target: the reader of `history` (core/history.c) on arbitrary
 * bytes as a results document, then ordering and step detection over what
 * it kept, so that whatever a file holds reaches every loop. */
#include <stdint.h>
#include <stdlib.h>

#include "history.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    mlb_history h = {0};
    char err[512];
    /* Twice: a second document of the same series appends to it. */
    mlb_history_add_json(&h, (const char *)data, size, "fuzz", err, sizeof err);
    mlb_history_add_json(&h, (const char *)data, size, "fuzz2", err, sizeof err);
    mlb_history_order(&h, size > 0 && data[0] == 'c' ? "c" : NULL);
    mlb_history_detect(&h, 1 + (size % 3), 0);
    mlb_history_free(&h);
    return 0;
}
