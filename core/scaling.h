/* Scaling curves of a sweep (docs/methodology.md, "Sweeps and scaling"). */
#ifndef MLB_CORE_SCALING_H
#define MLB_CORE_SCALING_H

#include <cjson/cJSON.h>

#include "engine.h"

/* The results' `scaling` array: one entry per task, swept numeric parameter,
 * slice (values of the other swept parameters), variant and quantity
 * (train_s, infer_query_s, train_rss_added_bytes) with at least three sizes;
 * NULL when there is none (or out of memory). */
cJSON *mlb_scaling_json(const mlb_session *s);

#endif
