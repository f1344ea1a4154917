/*
 * rl-parity dqn|reinforce naive|openblas DIR: one DQN gradient step or one
 * REINFORCE update (rl_agent.c) on a fixed, seeded batch and fixed seeded
 * weights, with the given kernel table; writes to DIR what PyTorch must
 * reproduce: the batch (batch.txt, 9 significant digits, exact for float32),
 * the starting weights (*_init.bin, target.bin), the loss and, for
 * REINFORCE, the advantages and the value network's loss (result.txt), every
 * gradient (grads.bin, value_grads.bin) and the weights after Adam
 * (updated.bin, value_updated.bin). tools/parity/rl_torch.py computes the
 * PyTorch side once into tests/ref/rl/parity/; tests/integration/
 * test_rl_parity.py compares.
 */
#include "rl_agent.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIDDEN 128
#define DQN_BATCH 64
#define DQN_GAMMA 0.99
#define LR 1e-3

static int save(const nn_model *m, const char *dir, const char *name)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (nn_weights_save(m, path, err, sizeof err) < 0) {
        fprintf(stderr, "rl-parity: %s\n", err);
        return -1;
    }
    return 0;
}

/* grads.bin: the gradients written through the weight-file writer. */
static int save_grads(nn_model *m, const char *dir, const char *name)
{
    size_t bytes = m->n_weights * sizeof *m->weights;
    nn_real *keep = malloc(bytes);
    if (!keep)
        return -1;
    memcpy(keep, m->weights, bytes);
    memcpy(m->weights, m->grads, bytes);
    int rc = save(m, dir, name);
    memcpy(m->weights, keep, bytes);
    free(keep);
    return rc;
}

static FILE *open_in(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fprintf(stderr, "rl-parity: %s: %s\n", path, strerror(errno));
    return f;
}

static float unif(uint64_t *rng, double lo, double hi)
{
    return (float)(lo + (hi - lo) * rl_rng_uniform(rng));
}

static int run_dqn(const nn_backend *be, const char *dir)
{
    enum { OD = 4, K = 2, B = DQN_BATCH };
    nn_model q, target;
    nn_optim opt;
    rl_dqn_scratch sc;
    char err[512];
    if (rl_mlp_build(&q, be, OD, HIDDEN, K, B, 11, err, sizeof err) < 0 ||
        rl_mlp_build(&target, be, OD, HIDDEN, K, B, 12, err, sizeof err) < 0 ||
        nn_optim_init(&opt, NN_ADAM, q.n_weights, LR, 0, 0, err, sizeof err) < 0 ||
        rl_dqn_scratch_init(&sc, B, K) < 0) {
        fprintf(stderr, "rl-parity: %s\n", err);
        return 1;
    }
    float obs[B * OD], next[B * OD], rew[B];
    int32_t act[B];
    uint8_t term[B];
    uint64_t rng = 1234;
    FILE *f = open_in(dir, "batch.txt");
    if (!f)
        return 1;
    /* Rows: obs (4), action, reward, next obs (4), terminated. */
    for (int i = 0; i < B; i++) {
        for (int j = 0; j < OD; j++)
            obs[i * OD + j] = unif(&rng, -2, 2);
        act[i] = (int32_t)rl_rng_below(&rng, K);
        rew[i] = 1.0f;
        for (int j = 0; j < OD; j++)
            next[i * OD + j] = unif(&rng, -2, 2);
        term[i] = rl_rng_uniform(&rng) < 0.25;
        for (int j = 0; j < OD; j++)
            fprintf(f, "%.9g ", obs[i * OD + j]);
        fprintf(f, "%d %.9g", act[i], rew[i]);
        for (int j = 0; j < OD; j++)
            fprintf(f, " %.9g", next[i * OD + j]);
        fprintf(f, " %d\n", term[i]);
    }
    fclose(f);
    int rc = save(&q, dir, "q_init.bin") | save(&target, dir, "target.bin");
    double loss =
        rl_dqn_update(&q, &target, &opt, &sc, B, obs, act, rew, next, term, DQN_GAMMA);
    rc |= save(&q, dir, "updated.bin") | save_grads(&q, dir, "grads.bin");
    if ((f = open_in(dir, "result.txt"))) {
        fprintf(f, "loss %.17g\n", loss);
        fclose(f);
    } else {
        rc = -1;
    }
    nn_model_free(&q);
    nn_model_free(&target);
    nn_optim_free(&opt);
    rl_dqn_scratch_free(&sc);
    return rc ? 1 : 0;
}

static int run_reinforce(const nn_backend *be, const char *dir)
{
    enum { OD = 6, K = 3, T1 = 37, T2 = 23, T3 = 15, N = T1 + T2 + T3 };
    nn_model pi, value;
    nn_optim opt, vopt;
    char err[512];
    if (rl_mlp_build(&pi, be, OD, HIDDEN, K, N, 21, err, sizeof err) < 0 ||
        rl_mlp_build(&value, be, OD, HIDDEN, 1, N, 22, err, sizeof err) < 0 ||
        nn_optim_init(&opt, NN_ADAM, pi.n_weights, LR, 0, 0, err, sizeof err) < 0 ||
        nn_optim_init(&vopt, NN_ADAM, value.n_weights, LR, 0, 0, err, sizeof err) < 0) {
        fprintf(stderr, "rl-parity: %s\n", err);
        return 1;
    }
    float obs[N * OD], rew[N];
    int32_t act[N];
    nn_real adv[N], gret[N], vals[T3], dout[N * K];
    uint64_t rng = 5678;
    FILE *f = open_in(dir, "batch.txt");
    if (!f)
        return 1;
    /* Three Acrobot-like episodes: -1 per step, 0 on the last of the first
     * (it terminated). Rows: episode, obs (6), action, reward. */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < OD; j++)
            obs[i * OD + j] = unif(&rng, -1, 1);
        act[i] = (int32_t)rl_rng_below(&rng, K);
        rew[i] = i == T1 - 1 ? 0.0f : -1.0f;
        fprintf(f, "%d", i < T1 ? 0 : i < T1 + T2 ? 1 : 2);
        for (int j = 0; j < OD; j++)
            fprintf(f, " %.9g", obs[i * OD + j]);
        fprintf(f, " %d %.9g\n", act[i], rew[i]);
    }
    fclose(f);
    int rc = save(&pi, dir, "pi_init.bin") | save(&value, dir, "value_init.bin");
    /* Every path of rl_returns: the first episode normalised, the second
     * with a constant baseline and not normalised, the third with the value
     * network's baseline and normalised. */
    rl_returns(rew, T1, 0.99, 0.0, NULL, 1, adv);
    rl_returns(rew + T1, T2, 0.99, -5.0, NULL, 0, adv + T1);
    nn_model_forward(&value, obs + (T1 + T2) * OD, T3, 0);
    memcpy(vals, nn_model_output(&value), sizeof vals);
    rl_returns(rew + T1 + T2, T3, 0.99, 0.0, vals, 1, adv + T1 + T2);
    for (int e = 0, at = 0, len[3] = {T1, T2, T3}; e < 3; at += len[e++])
        rl_returns(rew + at, len[e], 0.99, 0.0, NULL, 0, gret + at);
    double loss = rl_reinforce_update(&pi, &opt, N, obs, act, adv, dout);
    double vloss = rl_value_update(&value, &vopt, N, obs, gret, dout);
    rc |= save(&pi, dir, "updated.bin") | save_grads(&pi, dir, "grads.bin");
    rc |= save(&value, dir, "value_updated.bin") | save_grads(&value, dir, "value_grads.bin");
    if ((f = open_in(dir, "result.txt"))) {
        fprintf(f, "loss %.17g\nvalue_loss %.17g\nadv", loss, vloss);
        for (int i = 0; i < N; i++)
            fprintf(f, " %.9g", adv[i]);
        fprintf(f, "\n");
        fclose(f);
    } else {
        rc = -1;
    }
    nn_model_free(&pi);
    nn_model_free(&value);
    nn_optim_free(&opt);
    nn_optim_free(&vopt);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc != 4 || (strcmp(argv[1], "dqn") && strcmp(argv[1], "reinforce")) ||
        (strcmp(argv[2], "naive") && strcmp(argv[2], "openblas"))) {
        fprintf(stderr, "usage: rl-parity dqn|reinforce naive|openblas DIR\n");
        return 2;
    }
    nn_backend be;
    char err[512];
    const nn_kernels *k = strcmp(argv[2], "naive") ? &nn_kernels_openblas : &nn_kernels_naive;
    if (nn_backend_init(&be, k, 1, err, sizeof err) < 0) {
        fprintf(stderr, "rl-parity: %s\n", err);
        return 1;
    }
    int rc = !strcmp(argv[1], "dqn") ? run_dqn(&be, argv[3]) : run_reinforce(&be, argv[3]);
    nn_backend_release(&be);
    return rc;
}
