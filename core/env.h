/* Environment metadata recorded with every result. */
#ifndef MLB_CORE_ENV_H
#define MLB_CORE_ENV_H
#include <stdint.h>
#include <cjson/cJSON.h>

cJSON *mlb_env_collect(int argc, char **argv, uint64_t seed);
/* UTC time as "2026-11-26T19:10:21Z" (iso) or "20261126T191021Z" (compact). */
void mlb_utc_stamp(char *buf, size_t len, int compact);

#endif
