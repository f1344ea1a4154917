/* libFuzzer target: `mlbench-engine compare BASELINE NEW` (core/cmd_compare.c
 * and compare_runs.c) on two results documents (the input is split in two,
 * after a first byte whose low bit picks --json over the table; the rest is
 * split as fuzz_split does). */
#include "fuzz_engine.h"
#include "cmd_compare.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet();
    int json = size > 0 && (data[0] & 1);
    if (size) {
        data++;
        size--;
    }
    const char *a, *b;
    fuzz_split(data, size, &a, &b);
    char *argv[] = {"compare", (char *)a, (char *)b, json ? "--json" : "--threshold=5%", NULL};
    int rc = mlb_cmd_compare(4, argv);
    if (rc < 0 || rc > 2)
        abort(); /* exit statuses are 0, 1 or 2 */
    return 0;
}
