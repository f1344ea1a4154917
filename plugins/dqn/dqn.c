/*
 * The dqn task every variant shares: the environment, the replay buffer,
 * epsilon-greedy acting, the learning schedule and the metrics. The
 * gradient step itself is rl_dqn_update (plugins/common/rl/rl_agent.c), which the
 * parity test checks against PyTorch.
 *
 * Generator draws, in order, which the PyTorch peer repeats: the
 * environment's resets from its own generator (seed); the agent's from a
 * second one (seed ^ RL_AGENT_SALT): per step one uniform for epsilon and,
 * when exploring, one index below the action count; per gradient step
 * batch_size indices below the buffer's fill.
 */
#include "dqn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rl_agent.h"

_Static_assert(sizeof(nn_real) == sizeof(float), "the dqn plugins run the float32 NN core");

typedef struct {
    const rl_env_kind *kind;
    long total_steps, learning_starts, train_freq, eps_steps, target_update;
    int buffer_size, batch_size, hidden;
    double gamma, eps_final;
    nn_backend be;
    nn_model q, target;
    nn_optim opt;
    rl_dqn_scratch scratch;
    rl_env env;
    uint64_t agent_rng;
    /* The replay ring: transition i is obs[i], act[i], rew[i], next[i],
     * term[i]; fill counts up to buffer_size, pos is the next slot. */
    float *obs, *next, *rew;
    int32_t *act;
    uint8_t *term;
    int fill, pos;
    /* One sampled batch, gathered contiguously for the networks. */
    float *bobs, *bnext, *brew;
    int32_t *bact;
    uint8_t *bterm;
    rl_stats stats;
    double flops_fwd; /* per sample */
} dqn_state;

static void state_free(dqn_state *s)
{
    if (!s)
        return;
    nn_model_free(&s->q);
    nn_model_free(&s->target);
    nn_optim_free(&s->opt);
    rl_dqn_scratch_free(&s->scratch);
    nn_backend_release(&s->be);
    nn_free(s->obs);
    nn_free(s->next);
    nn_free(s->rew);
    nn_free(s->act);
    nn_free(s->term);
    nn_free(s->bobs);
    nn_free(s->bnext);
    nn_free(s->brew);
    nn_free(s->bact);
    nn_free(s->bterm);
    free(s);
}

int dqn_setup(mlb_ctx *ctx, void **state, const nn_kernels *kernels)
{
    *state = NULL;
    dqn_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    /* dqn_rules bound every value. */
    s->kind = rl_env_find(mlb_param_str(ctx, "env"));
    s->total_steps = mlb_param_int(ctx, "total_steps");
    s->buffer_size = (int)mlb_param_int(ctx, "buffer_size");
    s->batch_size = (int)mlb_param_int(ctx, "batch_size");
    s->gamma = mlb_param_float(ctx, "gamma");
    s->learning_starts = mlb_param_int(ctx, "learning_starts");
    s->train_freq = mlb_param_int(ctx, "train_freq");
    s->eps_final = mlb_param_float(ctx, "eps_final");
    s->eps_steps = mlb_param_int(ctx, "eps_steps");
    s->target_update = mlb_param_int(ctx, "target_update");
    s->hidden = (int)mlb_param_int(ctx, "hidden");
    int threads = (int)mlb_param_int(ctx, "threads");
    char err[512];
    int rc = 0, od = s->kind->obs_dim, k = s->kind->n_actions;
    uint64_t seed = mlb_seed(ctx);
    if ((rc = nn_backend_init(&s->be, kernels, threads, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && threads > 1 && kernels == &nn_kernels_naive && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the naive variant is single-threaded; threads=%d ignored",
                threads);
    if (rc == 0 && ((rc = rl_mlp_build(&s->q, &s->be, od, s->hidden, k, s->batch_size, seed, err,
                                       sizeof err)) < 0 ||
                    (rc = rl_mlp_build(&s->target, &s->be, od, s->hidden, k, s->batch_size, seed,
                                       err, sizeof err)) < 0))
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0 && (rc = nn_optim_init(&s->opt, NN_ADAM, s->q.n_weights, mlb_param_float(ctx, "lr"),
                                       0, 0, err, sizeof err)) < 0)
        rc = mlb_error(ctx, "%s", err);
    if (rc == 0) {
        size_t n = (size_t)s->buffer_size, b = (size_t)s->batch_size;
        s->obs = nn_alloc(n * (size_t)od, sizeof *s->obs);
        s->next = nn_alloc(n * (size_t)od, sizeof *s->next);
        s->rew = nn_alloc(n, sizeof *s->rew);
        s->act = nn_alloc(n, sizeof *s->act);
        s->term = nn_alloc(n, sizeof *s->term);
        s->bobs = nn_alloc(b * (size_t)od, sizeof *s->bobs);
        s->bnext = nn_alloc(b * (size_t)od, sizeof *s->bnext);
        s->brew = nn_alloc(b, sizeof *s->brew);
        s->bact = nn_alloc(b, sizeof *s->bact);
        s->bterm = nn_alloc(b, sizeof *s->bterm);
        if (!s->obs || !s->next || !s->rew || !s->act || !s->term || !s->bobs || !s->bnext ||
            !s->brew || !s->bact || !s->bterm ||
            rl_dqn_scratch_init(&s->scratch, s->batch_size, k) < 0)
            rc = mlb_error(ctx, "out of memory for a replay buffer of %d transitions", s->buffer_size);
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    rl_stats_init(&s->stats, s->kind->solved_threshold);
    /* The target starts as a copy of the online network. */
    memcpy(s->target.weights, s->q.weights, s->q.n_weights * sizeof *s->q.weights);
    rl_env_init(&s->env, s->kind, seed);
    s->agent_rng = seed ^ RL_AGENT_SALT;
    s->flops_fwd = nn_model_forward_flops(&s->q);
    /* One forward pass of a full batch now, so that one-off costs (OpenBLAS
     * buffers, first touches) stay out of the timed train. */
    nn_model_forward(&s->q, s->bobs, s->batch_size, 0);
    mlb_log(ctx, MLB_LOG_DEBUG, "dqn on %s: %d -> %d -> %d -> %d, %zu parameters, %s kernels",
            s->kind->name, od, s->hidden, s->hidden, k, s->q.n_weights, s->be.k->name);
    *state = s;
    return 0;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void sample_batch(dqn_state *s)
{
    int od = s->kind->obs_dim;
    for (int i = 0; i < s->batch_size; i++) {
        size_t j = (size_t)rl_rng_below(&s->agent_rng, (uint64_t)s->fill);
        memcpy(s->bobs + (size_t)i * (size_t)od, s->obs + j * (size_t)od, (size_t)od * sizeof(float));
        memcpy(s->bnext + (size_t)i * (size_t)od, s->next + j * (size_t)od, (size_t)od * sizeof(float));
        s->brew[i] = s->rew[j];
        s->bact[i] = s->act[j];
        s->bterm[i] = s->term[j];
    }
}

int dqn_train(mlb_ctx *ctx, void *state)
{
    dqn_state *s = state;
    int od = s->kind->obs_dim, k = s->kind->n_actions;
    float obs[RL_OBS_MAX], nobs[RL_OBS_MAX];
    double t0 = now_s(), ep_ret = 0, ep_loss = 0;
    long updates = 0, greedy = 0;
    int ep_updates = 0;
    rl_env_reset(&s->env, obs);
    for (long t = 0; t < s->total_steps; t++) {
        double frac = s->eps_steps > 0 ? fmin(1.0, (double)t / (double)s->eps_steps) : 1.0;
        double eps = 1.0 + (s->eps_final - 1.0) * frac;
        int a;
        if (rl_rng_uniform(&s->agent_rng) < eps) {
            a = (int)rl_rng_below(&s->agent_rng, (uint64_t)k);
        } else {
            nn_model_forward(&s->q, obs, 1, 0);
            a = rl_argmax(nn_model_output(&s->q), k);
            greedy++;
        }
        int term, trunc;
        double r = rl_env_step(&s->env, a, nobs, &term, &trunc);
        size_t p = (size_t)s->pos;
        memcpy(s->obs + p * (size_t)od, obs, (size_t)od * sizeof *obs);
        memcpy(s->next + p * (size_t)od, nobs, (size_t)od * sizeof *nobs);
        s->rew[p] = (float)r;
        s->act[p] = a;
        s->term[p] = (uint8_t)term;
        s->pos = (s->pos + 1) % s->buffer_size;
        if (s->fill < s->buffer_size)
            s->fill++;
        ep_ret += r;
        memcpy(obs, nobs, sizeof obs);
        if (t >= s->learning_starts && t % s->train_freq == 0) {
            sample_batch(s);
            double loss = rl_dqn_update(&s->q, &s->target, &s->opt, &s->scratch, s->batch_size,
                                        s->bobs, s->bact, s->brew, s->bnext, s->bterm, s->gamma);
            if (!isfinite(loss))
                return mlb_error(ctx, "step %ld: the loss diverged (%g); lower lr", t, loss);
            ep_loss += loss;
            ep_updates++;
            updates++;
        }
        if (t >= s->learning_starts && t % s->target_update == 0)
            memcpy(s->target.weights, s->q.weights, s->q.n_weights * sizeof *s->q.weights);
        if (term || trunc) {
            rl_stats_add(&s->stats, ep_ret, t + 1);
            mlb_report_progress(ctx, (double)(t + 1), ep_updates ? ep_loss / ep_updates : NAN,
                                "return", ep_ret);
            ep_ret = ep_loss = 0;
            ep_updates = 0;
            rl_env_reset(&s->env, obs);
        }
    }
    double wall = now_s() - t0;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)s->total_steps);
    /* Per gradient step: the target's forward pass, then forward and
     * backward (about 2x forward) of the online network; per greedy action
     * one forward pass. */
    mlb_report_work(ctx, MLB_WORK_FLOPS,
                    s->flops_fwd * ((double)updates * s->batch_size * 4.0 + (double)greedy));
    rl_stats_report(ctx, &s->stats);
    /* Fewer, longer episodes are better where each step earns a reward
     * (CartPole), more, shorter ones where each costs one (Acrobot). */
    mlb_report_metric(ctx, "episodes", (double)s->stats.n,
                      s->kind->solved_threshold > 0 ? MLB_LOWER_IS_BETTER : MLB_HIGHER_IS_BETTER);
    mlb_report_metric_ex(ctx, "env_steps_per_s", wall > 0 ? (double)s->total_steps / wall : NAN,
                         MLB_HIGHER_IS_BETTER, 0, 0, MLB_METRIC_RESTATES_TIME);
    mlb_report_metric(ctx, "gradient_steps", (double)updates, MLB_HIGHER_IS_BETTER);
    return 0;
}

/* For the peer: the initial weights (the target starts as their copy). */
int dqn_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    dqn_state *s = state;
    return rl_export_model(ctx, &s->q, s->kind->obs_dim, s->hidden, s->kind->n_actions, dir);
}

int dqn_teardown(mlb_ctx *ctx, void *state)
{
    (void)ctx;
    state_free(state);
    return 0;
}
