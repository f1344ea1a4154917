/* A context's parameters as typed JSON (numbers, booleans, strings): what
 * the results record and what a peer's setup request carries. */
#ifndef MLB_CORE_CTX_JSON_H
#define MLB_CORE_CTX_JSON_H

#include <cjson/cJSON.h>

#include "ctx.h"

/* A new object { name: value } in declaration order, or NULL without memory. */
cJSON *mlb_ctx_params_json(const mlb_ctx *c);

#endif
