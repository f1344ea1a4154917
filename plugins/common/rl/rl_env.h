/*
 * rl: the environments the reinforcement-learning tasks (dqn, reinforce)
 * share, with gym's exact dynamics, and a seeded generator per instance.
 *
 * Every environment is one rl_env_kind (a table of callbacks and sizes);
 * an instance is one plain struct holding its state and its own generator,
 * so that any number of them run side by side with no global state. A new
 * environment is a new table in rl_env.c and a line in rl_env_kinds[].
 *
 * Resets draw from splitmix64 (the generator nn_rng and mlb_rand_u64 use):
 * gym's numpy generator cannot be reproduced from C, so the Python
 * transcription (tools/peers/python/mlbench_rl_envs.py) implements the same
 * generator, and the two give identical episodes for a seed.
 */
#ifndef MLB_RL_ENV_H
#define MLB_RL_ENV_H

#include <stddef.h>
#include <stdint.h>

#define RL_STATE_MAX 8
#define RL_OBS_MAX 8
#define RL_ACTIONS_MAX 8

typedef struct rl_env rl_env;

typedef struct {
    const char *name;
    int state_dim, obs_dim, n_actions;
    int max_steps;           /* truncation (gym's TimeLimit) */
    double solved_threshold; /* gym's reward_threshold for the 100-episode mean */
    /* The initial state, drawn from e->rng. */
    void (*reset)(rl_env *e);
    /* Advances e->s by one action in [0, n_actions); returns the reward and
     * sets *terminated (the true end of the episode, not truncation). */
    double (*step)(rl_env *e, int action, int *terminated);
    /* The observation the agent sees (float32, as gym returns it). */
    void (*observe)(const rl_env *e, float *obs);
} rl_env_kind;

struct rl_env {
    const rl_env_kind *kind;
    uint64_t rng;            /* splitmix64 state */
    double s[RL_STATE_MAX];  /* the internal state, float64 as in gym */
    int steps;               /* steps since the last reset */
};

/* The environments, NULL-terminated; rl_env_find returns NULL for an
 * unknown name. */
extern const rl_env_kind *const rl_env_kinds[];
const rl_env_kind *rl_env_find(const char *name);

/* Binds e to its kind and seeds its generator; call rl_env_reset next. */
void rl_env_init(rl_env *e, const rl_env_kind *k, uint64_t seed);
/* A new episode from the instance's generator; fills obs [obs_dim]. */
void rl_env_reset(rl_env *e, float *obs);
/* One step; fills obs, returns the reward, sets *terminated and *truncated
 * (max_steps reached without termination). */
double rl_env_step(rl_env *e, int action, float *obs, int *terminated, int *truncated);

/* The generator: splitmix64, and a double in [0, 1) from its top 53 bits. */
uint64_t rl_rng_next(uint64_t *state);
double rl_rng_uniform(uint64_t *state);

#endif
