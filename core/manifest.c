/* The manifest's lines (cluster.h), checked field by field: plan writes
 * them, run-job reads them from a file that may have been edited or cut. */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "textbuf.h"

#define jget mlb_jget
#define jstr mlb_jstr

long mlb_manifest_index(const cJSON *o, const char *k)
{
    const cJSON *v = jget(o, k);
    if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 1e9 ||
        v->valuedouble != (double)(long)v->valuedouble)
        return -1;
    return (long)v->valuedouble;
}

int mlb_manifest_line_check(const cJSON *line, char *why, size_t whylen)
{
    const char *schema = jstr(line, "schema");
    const cJSON *args = jget(line, "args"), *runs = jget(line, "runs"), *e;
    if (!cJSON_IsObject(line)) {
        snprintf(why, whylen, "not a JSON object");
        return -1;
    }
    if (!schema || strcmp(schema, MLB_MANIFEST_SCHEMA)) {
        snprintf(why, whylen, "schema is %s, expected %s", schema ? schema : "missing",
                 MLB_MANIFEST_SCHEMA);
        return -1;
    }
    long index = mlb_manifest_index(line, "index"), jobs = mlb_manifest_index(line, "jobs"), n_runs = mlb_manifest_index(line, "n_runs");
    if (index < 0 || jobs < 1 || index >= jobs || n_runs < 1) {
        snprintf(why, whylen, "index, jobs or n_runs missing or out of range");
        return -1;
    }
    if (!jstr(line, "manifest_id") || !jstr(line, "engine_version")) {
        snprintf(why, whylen, "manifest_id or engine_version missing");
        return -1;
    }
    if (!cJSON_IsArray(args)) {
        snprintf(why, whylen, "args is not a list");
        return -1;
    }
    cJSON_ArrayForEach(e, args) if (!cJSON_IsString(e))
    {
        snprintf(why, whylen, "args holds something other than strings");
        return -1;
    }
    if (!cJSON_IsArray(runs) || cJSON_GetArraySize(runs) < 1) {
        snprintf(why, whylen, "runs is not a non-empty list");
        return -1;
    }
    long prev = -1;
    cJSON_ArrayForEach(e, runs)
    {
        if (!cJSON_IsNumber(e) || e->valuedouble <= (double)prev || e->valuedouble >= (double)n_runs ||
            e->valuedouble != (double)(long)e->valuedouble) {
            snprintf(why, whylen, "runs must be increasing run indices below n_runs");
            return -1;
        }
        prev = (long)e->valuedouble;
    }
    return 0;
}

