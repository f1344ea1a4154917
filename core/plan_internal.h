/* What plan.c and sweep.c share: setting a run's parameter with positioned
 * errors, and the swept axes of the groups being planned. */
#ifndef MLB_CORE_PLAN_INTERNAL_H
#define MLB_CORE_PLAN_INTERNAL_H

#include <limits.h>

#include "plan.h"

/* One swept axis of one group: keys that take each value together
 * (m=n=k=256,512 sweeps the three as one), and the values, as text. */
typedef struct {
    size_t group;
    char **keys;
    size_t n_keys;
    char **values;
    size_t n_values;
    char where[PATH_MAX + 32];
} mlb_sweep_axis;

typedef struct {
    mlb_sweep_axis *v;
    size_t n;
} mlb_sweep_axes;


/* Sets KEY=VALUE on run r: an unknown key names the valid ones and the
 * nearest, a bad value the rule; `where` prefixes an unknown-key error,
 * `where_value` a bad-value one. Returns 0 or -1 (printed). */
int mlb_plan_set_param(mlb_run *r, const char *key, const char *value, const char *where,
                       const char *where_value);

/* Splits s at every `sep` into a new array of copies; 0 or -ENOMEM. */
int mlb_split_dup(const char *s, char sep, char ***out, size_t *n);

/* Adds an axis for group g (taking ownership of keys and values); -1 when a
 * key is swept twice for the group (printed) or out of memory. */
int mlb_sweep_axis_add(mlb_sweep_axes *a, size_t g, char **keys, size_t n_keys, char **values,
                       size_t n_values, const char *where);
void mlb_sweep_axes_free(mlb_sweep_axes *a);

/* A --param value as the values it stands for (a list, a range, or one
 * value); 0 with *n >= 1, or -1 (printed). */
int mlb_sweep_parse_values(const char *text, const mlb_param_def *def, const mlb_plugin *pl,
                           char ***out, size_t *n);

/* Replaces every group that has axes by one group per point of their
 * product, its runs cloned with the point's values; 0 or -1 (printed). */
int mlb_sweep_expand(mlb_session *s, const mlb_sweep_axes *axes);

#endif
