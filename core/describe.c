/* --list and --describe: what the registry holds, with each parameter's
 * type, default and rule (ABI 1.2), as a table or as JSON. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "ctx.h"
#include "plan.h"
#include "textbuf.h"

static void add_rule_json(cJSON *p, const mlb_plugin *d, const mlb_param_def *def)
{
    mlb_param_rule r;
    if (mlb_param_rule_get(d, def->name, &r) < 0)
        return;
    if (r.flags & MLB_RULE_HAS_MIN)
        cJSON_AddNumberToObject(p, "min", r.min);
    if (r.flags & MLB_RULE_HAS_MAX)
        cJSON_AddNumberToObject(p, "max", r.max);
    if (r.flags & MLB_RULE_HAS_MIN)
        cJSON_AddBoolToObject(p, "min_exclusive", (r.flags & MLB_RULE_MIN_EXCLUSIVE) != 0);
    if (r.flags & MLB_RULE_HAS_MAX)
        cJSON_AddBoolToObject(p, "max_exclusive", (r.flags & MLB_RULE_MAX_EXCLUSIVE) != 0);
    if (r.flags & MLB_RULE_ZERO_AUTO)
        cJSON_AddBoolToObject(p, "zero_is_auto", 1);
    if (r.flags & MLB_RULE_TUNING)
        cJSON_AddBoolToObject(p, "tuning", 1);
    if (r.choices) {
        cJSON *c = cJSON_AddArrayToObject(p, "choices");
        for (size_t i = 0; r.choices[i]; i++)
            cJSON_AddItemToArray(c, cJSON_CreateString(r.choices[i]));
    }
}

static cJSON *params_decl_json(const mlb_plugin *d)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t i = 0; i < d->n_params; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "name", d->params[i].name);
        cJSON_AddStringToObject(p, "type", mlb_param_type_name(d->params[i].type));
        cJSON_AddStringToObject(p, "default", d->params[i].def ? d->params[i].def : "");
        cJSON_AddStringToObject(p, "help", d->params[i].help ? d->params[i].help : "");
        add_rule_json(p, d, &d->params[i]);
        cJSON_AddItemToArray(a, p);
    }
    return a;
}

static cJSON *entry_json(mlb_plugin_entry *e)
{
    mlb_entry_unavailable(e);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "task", e->desc.task);
    cJSON_AddStringToObject(o, "variant", e->desc.variant);
    cJSON_AddStringToObject(o, "description", e->desc.description);
    cJSON_AddBoolToObject(o, "available", e->unavailable == NULL);
    if (e->unavailable)
        cJSON_AddStringToObject(o, "reason", e->unavailable);
    else
        cJSON_AddNullToObject(o, "reason");
    cJSON_AddStringToObject(o, "path", e->path);
    cJSON_AddBoolToObject(o, "peer", e->peer != NULL);
    cJSON_AddItemToObject(o, "params", params_decl_json(&e->desc));
    return o;
}

static void print_json(cJSON *a)
{
    char *s = mlb_json_fix_utf8(a) == 0 ? cJSON_Print(a) : NULL;
    if (s)
        printf("%s\n", s);
    free(s);
    cJSON_Delete(a);
}

void mlb_list_plugins(mlb_registry *reg, int json)
{
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < reg->n; i++)
            cJSON_AddItemToArray(a, entry_json(&reg->v[i]));
        print_json(a);
        return;
    }
    printf("%-14s %-12s %-24s %s\n", "TASK", "VARIANT", "AVAILABLE", "DESCRIPTION");
    for (size_t i = 0; i < reg->n; i++) {
        mlb_plugin_entry *e = &reg->v[i];
        mlb_entry_unavailable(e);
        char avail[256];
        snprintf(avail, sizeof avail, "%s%s", e->unavailable ? "no: " : "yes",
                 e->unavailable ? e->unavailable : "");
        printf("%-14s %-12s %-24s %s\n", e->desc.task, e->desc.variant, avail, e->desc.description);
    }
    if (!reg->n)
        printf("(no plugins found)\n");
}

static void print_params(const mlb_plugin *d, int (*keep)(const mlb_param_def *, void *),
                         void *arg)
{
    int any = 0;
    for (size_t i = 0; i < d->n_params; i++) {
        const mlb_param_def *p = &d->params[i];
        if (keep && !keep(p, arg))
            continue;
        mlb_param_rule r;
        char rule[512] = "";
        if (mlb_param_rule_get(d, p->name, &r) == 0)
            mlb_param_rule_text(&r, p->type, rule, sizeof rule);
        printf("    %-16s %-7s default %-10s %s%s%s%s\n", p->name, mlb_param_type_name(p->type),
               p->def && *p->def ? p->def : "''", p->help ? p->help : "", *rule ? " [" : "",
               rule, *rule ? "]" : "");
        any = 1;
    }
    if (!any)
        printf("    (none)\n");
}

/* For --describe TASK: a parameter every variant of the task declares. */
typedef struct {
    mlb_registry *reg;
    const char *task;
} shared_arg;

static int declared_by_all(const mlb_param_def *p, void *arg)
{
    const shared_arg *a = arg;
    for (size_t i = 0; i < a->reg->n; i++) {
        const mlb_plugin *d = &a->reg->v[i].desc;
        if (strcmp(d->task, a->task) != 0)
            continue;
        int found = 0;
        for (size_t k = 0; k < d->n_params && !found; k++)
            found = !strcmp(d->params[k].name, p->name) && d->params[k].type == p->type;
        if (!found)
            return 0;
    }
    return 1;
}

int mlb_describe(mlb_registry *reg, const char *spec, int json)
{
    char task[256];
    snprintf(task, sizeof task, "%s", spec);
    char *colon = strchr(task, ':');
    const char *variant = NULL;
    if (colon) {
        *colon = '\0';
        variant = colon + 1;
    }
    mlb_plugin_entry *e = mlb_plan_lookup(reg, task, variant, "--describe");
    if (!e)
        return 2;
    if (variant) {
        if (json) {
            print_json(entry_json(e));
            return 0;
        }
        printf("%s:%s — %s\n  path: %s\n  available: %s\n  parameters:\n", e->desc.task,
               e->desc.variant, e->desc.description, e->path,
               mlb_entry_unavailable(e) ? e->unavailable : "yes");
        print_params(&e->desc, NULL, NULL);
        return 0;
    }
    if (json) {
        cJSON *a = cJSON_CreateArray();
        for (size_t i = 0; i < reg->n; i++)
            if (!strcmp(reg->v[i].desc.task, task))
                cJSON_AddItemToArray(a, entry_json(&reg->v[i]));
        print_json(a);
        return 0;
    }
    printf("%s — variants:\n", task);
    for (size_t i = 0; i < reg->n; i++) {
        mlb_plugin_entry *v = &reg->v[i];
        if (strcmp(v->desc.task, task) != 0)
            continue;
        mlb_entry_unavailable(v);
        printf("    %-12s %s%s%s\n", v->desc.variant, v->desc.description,
               v->unavailable ? " [unavailable: " : "", v->unavailable ? v->unavailable : "");
        if (v->unavailable)
            printf("%*s]\n", 0, "");
    }
    shared_arg a = {reg, task};
    printf("  parameters every variant shares (--describe %s:VARIANT for the rest):\n", task);
    print_params(&e->desc, declared_by_all, &a);
    return 0;
}
