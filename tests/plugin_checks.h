/* Checks every task's unit test makes of its plugin tables, and the context
 * lookups they share (header-only: each test is one executable). */
#ifndef MLB_TEST_PLUGIN_CHECKS_H
#define MLB_TEST_PLUGIN_CHECKS_H

#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"

static inline const mlb_param_def *pc_param_named(const mlb_param_def *params, size_t n,
                                                  const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(params[i].name, name))
            return &params[i];
    return NULL;
}

/* Every rule names a declared parameter of a type it can constrain, and
 * every default passes its rule (else no run could start). */
static inline void pc_check_rules_fit_params(const mlb_param_def *params, size_t n_params,
                                             const mlb_param_rule *rules, size_t n_rules)
{
    for (size_t i = 0; i < n_rules; i++) {
        const mlb_param_rule *r = &rules[i];
        const mlb_param_def *p = pc_param_named(params, n_params, r->name);
        ck_assert_msg(p != NULL, "rule for undeclared parameter %s", r->name);
        if (r->choices) {
            ck_assert_int_eq(p->type, MLB_PARAM_STRING);
            int found = 0;
            for (const char *const *c = r->choices; *c; c++)
                found |= !strcmp(*c, p->def);
            ck_assert_msg(found, "default %s=%s is not one of its choices", p->name, p->def);
        } else {
            ck_assert(p->type == MLB_PARAM_INT || p->type == MLB_PARAM_FLOAT);
            double v = strtod(p->def, NULL);
            int zero_ok = (r->flags & MLB_RULE_ZERO_AUTO) && v == 0;
            ck_assert_msg(zero_ok || !(r->flags & MLB_RULE_HAS_MIN) || v >= r->min,
                          "%s below min", p->name);
            ck_assert_msg(zero_ok || !(r->flags & MLB_RULE_HAS_MAX) || v <= r->max,
                          "%s above max", p->name);
        }
    }
}

/* The metric a context holds under `name`, or NULL. */
static inline const mlb_metric *pc_metric(const mlb_ctx *c, const char *name)
{
    for (size_t i = 0; i < c->n_metrics; i++)
        if (!strcmp(c->metrics[i].name, name))
            return &c->metrics[i];
    return NULL;
}

#endif
