/*
 * rl-parity dqn|reinforce naive|openblas DIR: one DQN gradient step or one
 * REINFORCE update (rl_agent.c) on a fixed, seeded batch and fixed seeded
 * weights, with the given kernel table; writes to DIR what PyTorch must
 * reproduce: the batch (batch.txt, 9 significant digits, exact for float32),
 * the starting weights (*_init.bin, target.bin), the loss and, for
 * REINFORCE, the advantages (result.txt), every gradient (grads.bin) and the
 * weights after Adam (updated.bin). tools/parity/rl_torch.py computes the
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
static int save_grads(nn_model *m, const char *dir)
{
    size_t bytes = m->n_weights * sizeof *m->weights;
    nn_real *keep = malloc(bytes);
    if (!keep)
        return -1;
    memcpy(keep, m->weights, bytes);
    memcpy(m->weights, m->grads, bytes);
    int rc = save(m, dir, "grads.bin");
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
    rc |= save(&q, dir, "updated.bin") | save_grads(&q, dir);
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
    enum { OD = 6, K = 3, T1 = 37, T2 = 23, N = T1 + T2 };
    nn_model pi;
    nn_optim opt;
    char err[512];
    if (rl_mlp_build(&pi, be, OD, HIDDEN, K, N, 21, err, sizeof err) < 0 ||
        nn_optim_init(&opt, NN_ADAM, pi.n_weights, LR, 0, 0, err, sizeof err) < 0) {
        fprintf(stderr, "rl-parity: %s\n", err);
        return 1;
    }
    float obs[N * OD], rew[N];
    int32_t act[N];
    nn_real adv[N], dout[N * K];
    uint64_t rng = 5678;
    FILE *f = open_in(dir, "batch.txt");
    if (!f)
        return 1;
    /* Two Acrobot-like episodes: -1 per step, 0 on the last of the first
     * (it terminated). Rows: episode, obs (6), action, reward. */
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < OD; j++)
            obs[i * OD + j] = unif(&rng, -1, 1);
        act[i] = (int32_t)rl_rng_below(&rng, K);
        rew[i] = i == T1 - 1 ? 0.0f : -1.0f;
        fprintf(f, "%d", i < T1 ? 0 : 1);
        for (int j = 0; j < OD; j++)
            fprintf(f, " %.9g", obs[i * OD + j]);
        fprintf(f, " %d %.9g\n", act[i], rew[i]);
    }
    fclose(f);
    /* The first episode normalised, the second with a baseline and
     * without, so that both paths of rl_returns are checked. */
    rl_returns(rew, T1, 0.99, 0.0, 1, adv);
    rl_returns(rew + T1, T2, 0.99, -5.0, 0, adv + T1);
    int rc = save(&pi, dir, "pi_init.bin");
    double loss = rl_reinforce_update(&pi, &opt, N, obs, act, adv, dout);
    rc |= save(&pi, dir, "updated.bin") | save_grads(&pi, dir);
    if ((f = open_in(dir, "result.txt"))) {
        fprintf(f, "loss %.17g\nadv", loss);
        for (int i = 0; i < N; i++)
            fprintf(f, " %.9g", adv[i]);
        fprintf(f, "\n");
        fclose(f);
    } else {
        rc = -1;
    }
    nn_model_free(&pi);
    nn_optim_free(&opt);
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
