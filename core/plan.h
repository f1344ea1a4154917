/* The plan: which runs (task:variant + parameters) the engine measures, in
 * which comparison groups, against which baseline; from a suite and the
 * command line. Every value is checked here, before anything forks. */
#ifndef MLB_CORE_PLAN_H
#define MLB_CORE_PLAN_H

#include "cli.h"
#include "discover.h"
#include "engine.h"
#include "suite.h"

/* The engine's defaults for what neither suite nor command line sets. */
typedef struct {
    int repetitions, warmup, infer_queries;
    double timeout_s;
    int vary_seed;
} mlb_run_defaults;

/* Builds s's runs and groups from the suite (may be NULL) and the command
 * line. Returns 0, or -1 after an error naming the file position or option,
 * the plugin, the parameter, the value and the rule (exit status 2). */
int mlb_plan_build(mlb_session *s, mlb_registry *reg, const mlb_suite *suite, const mlb_cli *c,
                   const mlb_run_defaults *d);

/* Finds TASK or TASK:VARIANT; when there is none, prints on stderr (prefixed
 * with `what`: "--plugin", "file:line:col") the valid names and the nearest
 * one, and returns NULL. */
mlb_plugin_entry *mlb_plan_lookup(mlb_registry *reg, const char *task, const char *variant,
                                  const char *what);

/* --list and --describe (describe.c). */
void mlb_list_plugins(mlb_registry *reg, int json);
int mlb_describe(mlb_registry *reg, const char *spec, int json);

void mlb_session_free(mlb_session *s);
void mlb_run_free(mlb_run *r);
void mlb_group_free(mlb_group *g);

#endif
