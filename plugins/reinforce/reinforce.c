/*
 * The reinforce task every variant shares: episodes of the stochastic
 * policy, Monte-Carlo returns, and the metrics. The policy-gradient step is
 * rl_reinforce_update (plugins/common/rl/rl_agent.c), which the parity test checks
 * against PyTorch.
 *
 * Generator draws, in order, which the PyTorch peer repeats: the
 * environment's resets from its own generator (seed); the agent's (seed ^
 * RL_AGENT_SALT) one uniform per step, mapped to an action through the
 * policy's cumulative probabilities (rl_sample).
 */
#include "reinforce.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rl_agent.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the reinforce plugins run the float32 NN core");

/* The value network's generator salt ("value"). */
#define REINFORCE_VALUE_SALT UINT64_C(0x76616c7565)

enum { BASELINE_NONE, BASELINE_MEAN, BASELINE_VALUE };

typedef struct {
    const rl_env_kind *kind;
    int episodes, per_update, hidden, normalize, baseline;
    double gamma;
    nn_backend be;
    nn_model pi, value; /* value: baseline=value only */
    nn_optim opt, vopt;
    rl_env env;
    uint64_t agent_rng;
    int cap;       /* rows of the batch: per_update x max_steps */
    float *obs;    /* [cap, obs_dim] the update's states */
    int32_t *act;  /* [cap] */
    float *rew;    /* [max_steps] one episode's rewards */
    nn_real *adv;  /* [cap] */
    nn_real *dout; /* [cap, actions] */
    nn_real *gret; /* [cap] the raw returns, the value network's targets */
    nn_real *vdout; /* [cap] */
    double base_sum, base_n; /* the running mean baseline */
    rl_stats stats;
    double flops_fwd;
} reinforce_state;

static void state_free(reinforce_state *s)
{
    if (!s)
        return;
    nn_model_free(&s->pi);
    nn_optim_free(&s->opt);
    nn_model_free(&s->value);
    nn_optim_free(&s->vopt);
    nn_free(s->gret);
    nn_free(s->vdout);
    nn_backend_release(&s->be);
    nn_free(s->obs);
    nn_free(s->act);
    nn_free(s->rew);
    nn_free(s->adv);
    nn_free(s->dout);
    free(s);
}

int reinforce_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels)
{
    *state = NULL;
    reinforce_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->kind = rl_env_find(mlb_param_str(ctx, "env"));
    s->episodes = (int)mlb_param_int(ctx, "episodes");
    s->per_update = (int)mlb_param_int(ctx, "episodes_per_update");
    s->gamma = mlb_param_float(ctx, "gamma");
    const char *bl = mlb_param_str(ctx, "baseline");
    s->baseline = !strcmp(bl, "mean") ? BASELINE_MEAN : !strcmp(bl, "value") ? BASELINE_VALUE
                                                                             : BASELINE_NONE;
    s->normalize = mlb_param_bool(ctx, "normalize");
    s->hidden = (int)mlb_param_int(ctx, "hidden");
    int threads = (int)mlb_param_int(ctx, "threads");
    int od = s->kind->obs_dim, k = s->kind->n_actions;
    s->cap = s->per_update * s->kind->max_steps;
    uint64_t seed = mlb_seed(ctx);
    char err[512];
    int rc = 0;
    if ((rc = nn_backend_init(&s->be, kernels, threads, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && threads > 1 && kernels == &nn_kernels_naive && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    if (rc == 0 && (rc = rl_mlp_build(&s->pi, &s->be, od, s->hidden, k, s->cap, seed, err,
                                      sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && (rc = nn_optim_init(&s->opt, NN_ADAM, s->pi.n_weights,
                                       mlb_param_float(ctx, "lr"), 0, 0, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && s->baseline == BASELINE_VALUE &&
        ((rc = rl_mlp_build(&s->value, &s->be, od, s->hidden, 1, s->cap,
                            seed ^ REINFORCE_VALUE_SALT, err, sizeof err)) < 0 ||
         (rc = nn_optim_init(&s->vopt, NN_ADAM, s->value.n_weights, mlb_param_float(ctx, "lr"), 0,
                             0, err, sizeof err)) < 0))
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        s->gret = nn_alloc((size_t)s->cap, sizeof *s->gret);
        s->vdout = nn_alloc((size_t)s->cap, sizeof *s->vdout);
        s->obs = nn_alloc((size_t)s->cap * (size_t)od, sizeof *s->obs);
        s->act = nn_alloc((size_t)s->cap, sizeof *s->act);
        s->rew = nn_alloc((size_t)s->kind->max_steps, sizeof *s->rew);
        s->adv = nn_alloc((size_t)s->cap, sizeof *s->adv);
        s->dout = nn_alloc((size_t)s->cap * (size_t)k, sizeof *s->dout);
        if (!s->obs || !s->act || !s->rew || !s->adv || !s->dout || !s->gret || !s->vdout)
            rc = mlb_error(ctx, "out of memory for a batch of %d steps", s->cap);
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    rl_stats_init(&s->stats, s->kind->solved_threshold);
    rl_env_init(&s->env, s->kind, seed);
    s->agent_rng = seed ^ RL_AGENT_SALT;
    s->flops_fwd = nn_model_forward_flops(&s->pi);
    /* A forward pass of a full batch now: one-off costs out of train. */
    nn_model_forward(&s->pi, s->obs, s->cap, 0);
    mlb_log(ctx, MLB_LOG_DEBUG, "reinforce on %s: %d -> %d -> %d -> %d, %zu parameters, %s kernels",
            s->kind->name, od, s->hidden, s->hidden, k, s->pi.n_weights, s->be.k->name);
    *state = s;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int reinforce_train(mlb_ctx *ctx, void *state)
{
    reinforce_state *s = state;
    int od = s->kind->obs_dim, k = s->kind->n_actions;
    double t0 = now_s(), loss = NAN;
    long steps = 0, updates = 0;
    int rows = 0; /* of the batch gathered since the last update */
    for (int ep = 1; ep <= s->episodes; ep++) {
        float obs[RL_OBS_MAX];
        rl_env_reset(&s->env, obs);
        int t_len = 0, term = 0, trunc = 0;
        double ret = 0;
        while (!term && !trunc) {
            float *o = s->obs + (size_t)(rows + t_len) * (size_t)od;
            memcpy(o, obs, (size_t)od * sizeof *o);
            nn_model_forward(&s->pi, o, 1, 0);
            int a = rl_sample(nn_model_output(&s->pi), k, rl_rng_uniform(&s->agent_rng));
            s->act[rows + t_len] = a;
            double r = rl_env_step(&s->env, a, obs, &term, &trunc);
            s->rew[t_len++] = (float)r;
            ret += r;
        }
        steps += t_len;
        double baseline =
            s->baseline == BASELINE_MEAN && s->base_n > 0 ? s->base_sum / s->base_n : 0.0;
        const nn_real *values = NULL;
        if (s->baseline == BASELINE_VALUE) {
            /* V(s_t) from the value network as it stands (it changes only
             * at updates), and the raw returns it will be fitted to. */
            nn_model_forward(&s->value, s->obs + (size_t)rows * (size_t)od, t_len, 0);
            values = nn_model_output(&s->value);
            rl_returns(s->rew, t_len, s->gamma, 0.0, NULL, 0, s->gret + rows);
        }
        rl_returns(s->rew, t_len, s->gamma, baseline, values, s->normalize, s->adv + rows);
        if (s->baseline == BASELINE_MEAN) { /* this episode's returns join the mean for the next */
            double g = 0;
            for (int t = t_len - 1; t >= 0; t--) {
                g = s->rew[t] + s->gamma * g;
                s->base_sum += g;
            }
            s->base_n += t_len;
        }
        rows += t_len;
        if (ep % s->per_update == 0 || ep == s->episodes) {
            loss = rl_reinforce_update(&s->pi, &s->opt, rows, s->obs, s->act, s->adv, s->dout);
            if (!isfinite(loss))
                return mlb_error(ctx, "episode %d: the loss diverged (%g); lower lr", ep, loss);
            if (s->baseline == BASELINE_VALUE &&
                !isfinite(rl_value_update(&s->value, &s->vopt, rows, s->obs, s->gret, s->vdout)))
                return mlb_error(ctx, "episode %d: the value loss diverged; lower lr", ep);
            updates++;
            rows = 0;
        }
        rl_stats_add(&s->stats, ret, steps);
        mlb_report_progress(ctx, ep, loss, "return", ret);
    }
    double wall = now_s() - t0;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)steps);
    /* Per step: the acting forward pass, then forward and backward (about
     * 2x forward) in the update. */
    mlb_report_work(ctx, MLB_WORK_FLOPS, s->flops_fwd * 4.0 * (double)steps);
    rl_stats_report(ctx, &s->stats);
    mlb_report_metric_ex(ctx, "env_steps_per_s", wall > 0 ? (double)steps / wall : NAN,
                         MLB_HIGHER_IS_BETTER, 0, 0, MLB_METRIC_RESTATES_TIME);
    mlb_report_metric_ex(ctx, "episodes_per_s", wall > 0 ? s->episodes / wall : NAN,
                         MLB_HIGHER_IS_BETTER, 0, 0, MLB_METRIC_RESTATES_TIME);
    mlb_report_metric(ctx, "env_steps", (double)steps,
                      s->kind->solved_threshold > 0 ? MLB_HIGHER_IS_BETTER : MLB_LOWER_IS_BETTER);
    (void)updates;
    return 0;
}

/* For the peer: the initial weights of the policy (and value network). */
int reinforce_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    reinforce_state *s = state;
    int rc = rl_export_model(ctx, &s->pi, s->kind->obs_dim, s->hidden, s->kind->n_actions, dir);
    if (rc == 0 && s->baseline == BASELINE_VALUE) {
        char path[4096], err[512];
        snprintf(path, sizeof path, "%s/value_init.bin", dir);
        if (nn_weights_save(&s->value, path, err, sizeof err) < 0)
            rc = mlb_error(ctx, "%s", err);
    }
    return rc;
}

int reinforce_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    state_free(state);
    return 0;
}
