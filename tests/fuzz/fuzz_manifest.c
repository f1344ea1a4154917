/* libFuzzer target: one line of a plan's manifest (core/manifest.c) as
 * run-job reads it: JSON, then every field checked. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cJSON *line = cJSON_ParseWithLength((const char *)data, size);
    char why[256];
    if (line && mlb_manifest_line_check(line, why, sizeof why) == 0) {
        /* What run-job then relies on: an index below jobs, runs below n_runs. */
        long idx = mlb_manifest_index(line, "index"), jobs = mlb_manifest_index(line, "jobs");
        if (idx < 0 || idx >= jobs)
            abort();
    }
    cJSON_Delete(line);
    return 0;
}
