/* Typed JSON of a context's parameters (ctx_json.h). Below both the results
 * and the peer bridge, so that neither needs the other. */
#include "ctx_json.h"

cJSON *mlb_ctx_params_json(const mlb_ctx *c)
{
    cJSON *o = cJSON_CreateObject();
    for (size_t i = 0; o && i < c->n_params; i++) {
        const mlb_param_value *p = &c->params[i];
        switch (p->def->type) {
        case MLB_PARAM_INT: cJSON_AddNumberToObject(o, p->def->name, (double)p->i); break;
        case MLB_PARAM_FLOAT: cJSON_AddNumberToObject(o, p->def->name, p->f); break;
        case MLB_PARAM_BOOL: cJSON_AddBoolToObject(o, p->def->name, p->b); break;
        case MLB_PARAM_STRING: cJSON_AddStringToObject(o, p->def->name, p->text); break;
        }
    }
    return o;
}
