/*
 * The agents' maths the dqn and reinforce tasks share, written once on the
 * NN core (the variants differ only in the kernel table the models are
 * compiled for): the MLP both use, DQN's gradient step and REINFORCE's
 * update, Monte-Carlo returns, and the episode statistics every RL task
 * reports. tools/parity/rl_torch.py checks the two updates against PyTorch
 * through rl-parity (parity.c).
 */
#ifndef MLB_RL_AGENT_H
#define MLB_RL_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "nn.h"
#include "rl_env.h"

struct mlb_ctx;

/* in -> hidden -> hidden -> out with ReLU between: tensors fc1, fc2, fc3
 * (the PyTorch peers' module names), compiled for batches up to max_batch
 * and initialised from seed as PyTorch initialises nn.Linear. */
int rl_mlp_build(nn_model *m, const nn_backend *be, int in, int hidden, int out, int max_batch,
                 uint64_t seed, char *err, size_t errlen);

/* The first index of the largest of q[0..k) (torch.argmax's tie rule). */
int rl_argmax(const nn_real *q, int k);

/* The agents' generator is seeded with the run's seed ^ RL_AGENT_SALT
 * ("agent"), the environment's with the seed itself. */
#define RL_AGENT_SALT UINT64_C(0x6167656e74)

/* The agents' own generator draws: an index uniform in [0, n) by rejection
 * (nn_rng_below), as the peers' Python does. */
uint64_t rl_rng_below(uint64_t *state, uint64_t n);

/* ---- DQN ---------------------------------------------------------------- */

/* Scratch of one gradient step, for batches up to `batch`. */
typedef struct {
    int batch, n_actions;
    nn_real *y;    /* [batch] TD targets */
    nn_real *qsa;  /* [batch] Q(s, a) */
    nn_real *dqsa; /* [batch] */
    nn_real *dout; /* [batch * n_actions] */
} rl_dqn_scratch;

int rl_dqn_scratch_init(rl_dqn_scratch *s, int batch, int n_actions);
void rl_dqn_scratch_free(rl_dqn_scratch *s);

/* One gradient step of q on n transitions (obs, act, rew, next_obs, term):
 * y = r + gamma * max_a' target(s')[a'] * (1 - terminated), Huber loss
 * (delta 1) of Q(s, a) against y, mean over the batch, then opt's step.
 * Returns the loss. Truncation does not mask the bootstrap, so term is
 * termination only. */
double rl_dqn_update(nn_model *q, nn_model *target, nn_optim *opt, rl_dqn_scratch *s, int n,
                     const float *obs, const int32_t *act, const float *rew,
                     const float *next_obs, const uint8_t *term, double gamma);

/* ---- REINFORCE ---------------------------------------------------------- */

/* G_t = r_t + gamma * G_{t+1} over one episode of t_len steps (in double),
 * minus baseline, rounded to nn_real, minus values[t] when values is not
 * NULL (a learned baseline V(s_t)), then, with normalize, standardised over
 * the episode: (A - mean) / (std + 1e-8) with the unbiased std (PyTorch's
 * .std()); an episode of one step is only centred. Writes out[0..t_len). */
void rl_returns(const float *rew, int t_len, double gamma, double baseline,
                const nn_real *values, int normalize, nn_real *out);

/* One policy-gradient step on n steps (obs [n, obs_dim], act, adv):
 * loss = -mean_t log softmax(pi(s_t))[a_t] * adv_t; dout [n * actions] is
 * scratch. Returns the loss. */
double rl_reinforce_update(nn_model *pi, nn_optim *opt, int n, const float *obs,
                           const int32_t *act, const nn_real *adv, nn_real *dout);

/* One step of a value network v (one output) towards the returns ret [n]:
 * MSE loss mean_t (v(s_t) - ret_t)^2, then opt's step; dout [n] is
 * scratch. Returns the loss. */
double rl_value_update(nn_model *v, nn_optim *opt, int n, const float *obs, const nn_real *ret,
                       nn_real *dout);

/* An action drawn from softmax(logits[0..k)) with u uniform in [0, 1):
 * the first a whose cumulative probability exceeds u. */
int rl_sample(const nn_real *logits, int k, double u);

/* ---- episode statistics -------------------------------------------------- */

/* The window the metrics need (the learning curve keeps every return). */
#define RL_STATS_WINDOW 100

typedef struct {
    double last[RL_STATS_WINDOW]; /* returns of the last episodes, a ring */
    long n;           /* episodes finished */
    double best;
    double threshold; /* the environment's solved threshold */
    long solved_step; /* first step the 100-episode mean reached it; -1 never */
    long solved_episode;
} rl_stats;

void rl_stats_init(rl_stats *st, double threshold);
/* Records a finished episode that ended after `step` environment steps. */
void rl_stats_add(rl_stats *st, double ret, long step);
/* Mean return of the last k <= RL_STATS_WINDOW episodes (fewer when fewer
 * ran; NaN for none). */
double rl_stats_last_mean(const rl_stats *st, int k);

/* The metrics both tasks report from st: mean_return_100, mean_return_10,
 * best_return, and (NaN when never) steps_to_solve and episodes_to_solve,
 * with a 10% margin of equivalence (returns vary from seed to seed). */
void rl_stats_report(struct mlb_ctx *ctx, const rl_stats *st);

/* For a peer (docs/peer-protocol.md): the model's weights as
 * DIR/weights_init.bin and its shape (inputs, hidden units, outputs) as
 * DIR/shape.npy, which also tells the peer where the directory is (the
 * engine lists the .npy files). 0, or the error reported on ctx. */
int rl_export_model(struct mlb_ctx *ctx, const nn_model *m, int in, int hidden, int out,
                    const char *dir);

#endif
