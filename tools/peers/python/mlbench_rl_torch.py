"""What the dqn and reinforce PyTorch peers (and tools/parity/rl_torch.py)
share: the MLP of plugins/common/rl/rl_agent.c (fc1, fc2, fc3 with ReLU, the C
tensor names), the agents' generator draws (rl_agent.c's rl_rng_below and
rl_sample), the two updates in PyTorch, and the episode statistics with
the plugins' metric names and margins."""
import math
import os

import mlbench_peer
import mlbench_rl_envs as envs
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mlbench_cnn_models import load_into, read_weights
from mlbench_rl_envs import MASK, f32

AGENT_SALT = 0x6167656E74  # rl_agent.h's RL_AGENT_SALT ("agent")
RETURN_REL_TOL = 0.10      # rl_agent.c's RL_RETURN_REL_TOL


class Mlp(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.fc1 = nn.Linear(n_in, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def below(rng, n):
    """rl_rng_below: an index in [0, n) by rejection."""
    limit = MASK - MASK % n
    while True:
        x = rng.next()
        if x < limit:
            return x % n


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1, _M2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31 = np.uint64(30), np.uint64(27), np.uint64(31)
_STEPS = np.arange(1, 1025, dtype=np.uint64)


def below_many(rng, n, count):
    """count draws of below(rng, n), vectorised: splitmix64's state is a
    counter (state_i = state + i * golden), so the outputs are a function of
    the index. A draw that rejection would discard (probability n / 2^64)
    sends the rest through the scalar path, so the sequence is below()'s."""
    # uint64 array arithmetic wraps modulo 2^64 without a warning
    z = np.uint64(rng.s) + _GOLDEN * _STEPS[:count] if count <= len(_STEPS) else \
        np.uint64(rng.s) + _GOLDEN * np.arange(1, count + 1, dtype=np.uint64)
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    z = z ^ (z >> _S31)
    limit = MASK - MASK % n
    bad = np.nonzero(z >= np.uint64(limit))[0]
    k = int(bad[0]) if len(bad) else count
    out = (z[:k] % np.uint64(n)).astype(np.int64)
    rng.s = (rng.s + k * 0x9E3779B97F4A7C15) & MASK
    if k < count:
        rest = [below(rng, n) for _ in range(count - k)]
        out = np.concatenate([out, np.array(rest, dtype=np.int64)])
    return out


def sample(logits, u):
    """rl_sample: the first action whose cumulative probability exceeds u
    (softmax in double, as the C code computes it)."""
    z = [float(v) for v in logits]
    mx = max(z)
    p = [math.exp(v - mx) for v in z]
    s = sum(p)
    c = 0.0
    for j in range(len(p) - 1):
        c += p[j] / s
        if u < c:
            return j
    return len(p) - 1


def dqn_loss(q, target, obs, act, rew, next_obs, term, gamma):
    """rl_dqn_update's loss: Huber (smooth L1, beta 1) of Q(s, a) against
    r + gamma * max target(s') * (1 - terminated), in float32."""
    with torch.no_grad():
        target_max = target(next_obs).max(dim=1).values
        y = rew + gamma * target_max * (1 - term)
    qsa = q(obs).gather(1, act.view(-1, 1)).squeeze(1)
    return F.smooth_l1_loss(qsa, y)


def returns(rew, gamma, baseline, normalize, values=None):
    """rl_returns: discounted returns in double, minus the baseline, rounded
    to float32, minus values[t] (a learned baseline, in float32), then
    standardised over the episode (unbiased std, + 1e-8) in double."""
    g, out = 0.0, [0.0] * len(rew)
    for t in range(len(rew) - 1, -1, -1):
        g = rew[t] + gamma * g
        out[t] = f32(g - baseline)
        if values is not None:
            out[t] = f32(out[t] - f32(values[t]))
    if normalize and len(out) > 0:
        mean = sum(out) / len(out)
        sd = math.sqrt(sum((v - mean) ** 2 for v in out) / (len(out) - 1)) if len(out) > 1 else 0.0
        out = [(v - mean) / (sd + 1e-8) for v in out]
    return out


def reinforce_loss(pi, obs, act, adv):
    """rl_reinforce_update's loss: -mean log softmax(pi(s))[a] * A."""
    logp = F.log_softmax(pi(obs), dim=1).gather(1, act.view(-1, 1)).squeeze(1)
    return -(logp * adv).mean()


def value_loss(v, obs, ret):
    """rl_value_update's loss: mean (v(s) - G)^2."""
    return F.mse_loss(v(obs).squeeze(1), ret)


class Stats:
    """rl_stats: returns per episode, the first step (and episode) at which
    the mean of the last 100 reached the threshold."""

    def __init__(self, threshold):
        self.ret, self.threshold = [], threshold
        self.solved_step = self.solved_episode = None

    def add(self, ret, step):
        self.ret.append(ret)
        if (self.solved_step is None and len(self.ret) >= 100
                and sum(self.ret[-100:]) / 100 >= self.threshold):
            self.solved_step, self.solved_episode = step, len(self.ret)

    def last_mean(self, k):
        r = self.ret[-k:]
        return sum(r) / len(r) if r else float("nan")

    def report(self, peer):
        tol = RETURN_REL_TOL
        if self.ret:
            peer.metric("mean_return_100", self.last_mean(100), "higher", rel_tol=tol, abs_tol=0)
            peer.metric("mean_return_10", self.last_mean(10), "higher", rel_tol=tol, abs_tol=0)
            peer.metric("best_return", max(self.ret), "higher", rel_tol=tol, abs_tol=0)
        # The plugins report null (NaN) when never solved; a peer omits it.
        if self.solved_step is not None:
            peer.metric("steps_to_solve", self.solved_step, "lower", rel_tol=tol, abs_tol=0)
            peer.metric("episodes_to_solve", self.solved_episode, "lower", rel_tol=tol,
                        abs_tol=0)


class AgentPeer(mlbench_peer.Peer):
    """The part of the dqn and reinforce peers' setup they share: threads,
    the environment and the agent's generator from the run's seed, and the
    policy or Q network with the initial weights the plugin exported
    (rl_export_model: shape.npy beside weights_init.bin)."""

    def hello(self):
        return {"torch": torch.__version__,
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}

    def agent_setup(self, params, data, seed):
        self.p = params
        torch.set_num_threads(int(params["threads"]))
        self.env = envs.Env(params["env"], seed)
        self.rng = envs.SplitMix64(seed ^ AGENT_SALT)
        od, k, h = self.env.obs_dim, self.env.n_actions, int(params["hidden"])
        net = Mlp(od, h, k)
        shape = [int(v) for v in self.load("shape")]
        if shape != [od, h, k]:
            raise mlbench_peer.PeerError(f"exported network {shape}, expected {[od, h, k]}")
        load_into(net, read_weights(os.path.join(os.path.dirname(data["shape"]),
                                                 "weights_init.bin")))
        return net
