/* Earlier results applied to a new plan: --resume and --dry-run's estimate. */
#ifndef MLB_CORE_RESUME_H
#define MLB_CORE_RESUME_H

#include <stdio.h>
#include <cjson/cJSON.h>

#include "engine.h"

/* Loads into s (runs allocated, nothing run yet) the repetitions that the
 * results file `path` of the same plan already holds, except interrupted
 * ones. The plan (runs in order: task, variant, every parameter), the engine
 * version and the seed must match; else an error naming what differs.
 * Returns 0 with that file's environment in *previous_env (the caller's),
 * or -1 (exit status 2). */
int mlb_resume_load(mlb_session *s, const char *path, cJSON **previous_env);

/* Takes into r (reps allocated) the repetitions of `old`, a run of a results
 * document doing the same work, except interrupted ones; r's status and
 * message become those of its first failed repetition. 0, or -1 when a
 * repetition cannot be read. */
int mlb_resume_take_run(mlb_run *r, const cJSON *old);

/* --dry-run: the plan and its estimated wall time on f, from an earlier
 * results file when given. Returns the exit status (0, or 2 for a bad file). */
int mlb_dry_run(FILE *f, const mlb_session *s, const char *estimate_from);

/* A duration for people: "12.3 ms", "4.1 s", "3 min 05 s", "2 h 10 min";
 * "unknown" for NaN or a negative value. */
void mlb_fmt_duration(char *b, size_t n, double s);

#endif
