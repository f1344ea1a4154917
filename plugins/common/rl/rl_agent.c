/* The agents' shared maths (rl_agent.h). */
#include "rl_agent.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlbench/plugin.h"

int rl_mlp_build(nn_model *m, const nn_backend *be, int in, int hidden, int out, int max_batch,
                 uint64_t seed, char *err, size_t errlen)
{
    int rc = nn_model_init(m, in, 1, 1), x = 0;
    if (rc < 0) {
        snprintf(err, errlen, "mlp %d -> %d -> %d -> %d: %s", in, hidden, hidden, out,
                 strerror(-rc));
        return rc;
    }
    const char *names[3] = {"fc1", "fc2", "fc3"};
    int widths[3] = {hidden, hidden, out};
    for (int l = 0; l < 3 && rc >= 0; l++) {
        rc = x = nn_add_linear(m, names[l], x, widths[l], 1);
        if (rc >= 0 && l < 2)
            rc = x = nn_add_relu(m, x);
    }
    if (rc < 0) {
        snprintf(err, errlen, "mlp %d -> %d -> %d -> %d: %s", in, hidden, hidden, out,
                 strerror(-rc));
        return rc;
    }
    if ((rc = nn_model_compile(m, be, max_batch, err, errlen)) < 0)
        return rc;
    nn_model_init_weights(m, seed);
    return 0;
}

int rl_argmax(const nn_real *q, int k)
{
    return nn_argmax(q, k);
}

uint64_t rl_rng_below(uint64_t *state, uint64_t n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n, x;
    do
        x = rl_rng_next(state);
    while (x >= limit);
    return x % n;
}

/* ---- DQN ----------------------------------------------------------------- */

int rl_dqn_scratch_init(rl_dqn_scratch *s, int batch, int n_actions)
{
    memset(s, 0, sizeof *s);
    s->batch = batch;
    s->n_actions = n_actions;
    s->y = nn_alloc((size_t)batch, sizeof *s->y);
    s->qsa = nn_alloc((size_t)batch, sizeof *s->qsa);
    s->dqsa = nn_alloc((size_t)batch, sizeof *s->dqsa);
    s->dout = nn_alloc((size_t)batch * (size_t)n_actions, sizeof *s->dout);
    if (!s->y || !s->qsa || !s->dqsa || !s->dout) {
        rl_dqn_scratch_free(s);
        return -ENOMEM;
    }
    return 0;
}

void rl_dqn_scratch_free(rl_dqn_scratch *s)
{
    nn_free(s->y);
    nn_free(s->qsa);
    nn_free(s->dqsa);
    nn_free(s->dout);
    memset(s, 0, sizeof *s);
}

double rl_dqn_update(nn_model *q, nn_model *target, nn_optim *opt, rl_dqn_scratch *s, int n,
                     const float *obs, const int32_t *act, const float *rew,
                     const float *next_obs, const uint8_t *term, double gamma)
{
    int k = s->n_actions;
    /* The targets in float32, in PyTorch's order: r + gamma * max * (1 - d). */
    nn_model_forward(target, next_obs, n, 0);
    const nn_real *qn = nn_model_output(target);
    for (int i = 0; i < n; i++) {
        const nn_real *row = qn + (size_t)i * (size_t)k;
        nn_real best = row[rl_argmax(row, k)];
        s->y[i] = rew[i] + (nn_real)gamma * best * (nn_real)(1 - term[i]);
    }
    nn_model_forward(q, obs, n, 1);
    const nn_real *qs = nn_model_output(q);
    for (int i = 0; i < n; i++)
        s->qsa[i] = qs[(size_t)i * (size_t)k + (size_t)act[i]];
    double loss = nn_huber_forward(n, s->qsa, s->y, 1.0);
    memset(s->dqsa, 0, (size_t)n * sizeof *s->dqsa);
    nn_huber_backward(n, s->qsa, s->y, 1.0, s->dqsa);
    memset(s->dout, 0, (size_t)n * (size_t)k * sizeof *s->dout);
    for (int i = 0; i < n; i++)
        s->dout[(size_t)i * (size_t)k + (size_t)act[i]] = s->dqsa[i];
    nn_model_zero_grad(q);
    nn_model_backward_from(q, n, s->dout);
    nn_optim_step(opt, q->weights, q->grads);
    return loss;
}

/* ---- REINFORCE ------------------------------------------------------------ */

void rl_returns(const float *rew, int t_len, double gamma, double baseline,
                const nn_real *values, int normalize, nn_real *out)
{
    double g = 0, sum = 0;
    /* out holds the float32 returns; the sums run in double. */
    for (int t = t_len - 1; t >= 0; t--) {
        g = rew[t] + gamma * g;
        out[t] = (nn_real)(g - baseline);
        if (values)
            out[t] -= values[t];
        sum += out[t];
    }
    if (!normalize || t_len < 1)
        return;
    double mean = sum / t_len, ss = 0;
    for (int t = 0; t < t_len; t++)
        ss += ((double)out[t] - mean) * ((double)out[t] - mean);
    double sd = t_len > 1 ? sqrt(ss / (t_len - 1)) : 0.0;
    for (int t = 0; t < t_len; t++)
        out[t] = (nn_real)(((double)out[t] - mean) / (sd + 1e-8));
}

double rl_reinforce_update(nn_model *pi, nn_optim *opt, int n, const float *obs,
                           const int32_t *act, const nn_real *adv, nn_real *dout)
{
    int k = nn_model_classes(pi);
    nn_model_forward(pi, obs, n, 1);
    const nn_real *z = nn_model_output(pi);
    double loss = 0;
    for (int i = 0; i < n; i++) {
        const nn_real *row = z + (size_t)i * (size_t)k;
        nn_real *d = dout + (size_t)i * (size_t)k;
        double mx = row[rl_argmax(row, k)], sum = 0;
        for (int j = 0; j < k; j++)
            sum += exp((double)row[j] - mx);
        double logz = mx + log(sum);
        loss -= ((double)row[act[i]] - logz) * adv[i];
        /* d/dz of -log p_a * A / n = (p - onehot(a)) * A / n */
        for (int j = 0; j < k; j++) {
            double p = exp((double)row[j] - logz);
            d[j] = (nn_real)((p - (j == act[i])) * (double)adv[i] / n);
        }
    }
    nn_model_zero_grad(pi);
    nn_model_backward_from(pi, n, dout);
    nn_optim_step(opt, pi->weights, pi->grads);
    return loss / n;
}

double rl_value_update(nn_model *v, nn_optim *opt, int n, const float *obs, const nn_real *ret,
                       nn_real *dout)
{
    nn_model_forward(v, obs, n, 1);
    const nn_real *y = nn_model_output(v);
    double loss = 0;
    for (int i = 0; i < n; i++) {
        nn_real d = y[i] - ret[i];
        loss += (double)d * d;
        dout[i] = 2 * d / (nn_real)n; /* PyTorch's mse_loss backward, in float32 */
    }
    nn_model_zero_grad(v);
    nn_model_backward_from(v, n, dout);
    nn_optim_step(opt, v->weights, v->grads);
    return loss / n;
}

int rl_sample(const nn_real *logits, int k, double u)
{
    double mx = logits[rl_argmax(logits, k)], p[RL_ACTIONS_MAX], sum = 0;
    for (int j = 0; j < k; j++)
        sum += p[j] = exp((double)logits[j] - mx);
    double c = 0;
    for (int j = 0; j < k - 1; j++) {
        c += p[j] / sum;
        if (u < c)
            return j;
    }
    return k - 1;
}

/* ---- statistics ------------------------------------------------------------ */

void rl_stats_init(rl_stats *st, double threshold)
{
    memset(st, 0, sizeof *st);
    st->best = -INFINITY;
    st->threshold = threshold;
    st->solved_step = -1;
    st->solved_episode = -1;
}

double rl_stats_last_mean(const rl_stats *st, int k)
{
    long m = st->n < k ? st->n : k;
    if (m == 0)
        return NAN;
    double sum = 0;
    for (long i = st->n - m; i < st->n; i++)
        sum += st->last[i % RL_STATS_WINDOW];
    return sum / (double)m;
}

void rl_stats_add(rl_stats *st, double ret, long step)
{
    st->last[st->n % RL_STATS_WINDOW] = ret;
    st->n++;
    st->best = ret > st->best ? ret : st->best;
    /* Solved: the mean of a full window of 100 episodes at the threshold. */
    if (st->solved_step < 0 && st->n >= 100 && rl_stats_last_mean(st, 100) >= st->threshold) {
        st->solved_step = step;
        st->solved_episode = st->n;
    }
}

/* Returns are noisy across seeds: two variants whose mean returns (or
 * steps to solve) differ by under 10% learn equally well. */
#define RL_RETURN_REL_TOL 0.10

void rl_stats_report(struct mlb_ctx *ctx, const rl_stats *st)
{
    double best = st->best;
    mlb_report_metric_ex(ctx, "mean_return_100", rl_stats_last_mean(st, 100),
                         MLB_HIGHER_IS_BETTER, RL_RETURN_REL_TOL, 0, 0);
    mlb_report_metric_ex(ctx, "mean_return_10", rl_stats_last_mean(st, 10), MLB_HIGHER_IS_BETTER,
                         RL_RETURN_REL_TOL, 0, 0);
    mlb_report_metric_ex(ctx, "best_return", st->n ? best : NAN, MLB_HIGHER_IS_BETTER,
                         RL_RETURN_REL_TOL, 0, 0);
    mlb_report_metric_ex(ctx, "steps_to_solve",
                         st->solved_step < 0 ? NAN : (double)st->solved_step, MLB_LOWER_IS_BETTER,
                         RL_RETURN_REL_TOL, 0, 0);
    mlb_report_metric_ex(ctx, "episodes_to_solve",
                         st->solved_episode < 0 ? NAN : (double)st->solved_episode,
                         MLB_LOWER_IS_BETTER, RL_RETURN_REL_TOL, 0, 0);
}

int rl_export_model(struct mlb_ctx *ctx, const nn_model *m, int in, int hidden, int out,
                    const char *dir)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/weights_init.bin", dir);
    if (nn_weights_save(m, path, err, sizeof err) < 0)
        return mlb_error(ctx, "%s", err);
    int64_t shape[3] = {in, hidden, out};
    size_t dims[1] = {3};
    snprintf(path, sizeof path, "%s/shape.npy", dir);
    return mlb_npy_write(ctx, path, MLB_NPY_I64, shape, 1, dims);
}
