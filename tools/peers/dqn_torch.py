"""dqn:pytorch — the dqn task's agent (plugins/dqn/dqn.c) in PyTorch CPU:
the same network and initial weights (data_from openblas), environment
(tools/peers/python/mlbench_rl_envs.py), hyper-parameters, schedule and
generator draws, so that it differs from the plugins only in the
framework doing the maths."""
import copy
import time

import mlbench_peer
import mlbench_rl_torch as rl
import numpy as np
import torch


class DqnTorch(rl.AgentPeer):
    def setup(self, params, data, seed):
        self.q = self.agent_setup(params, data, seed)
        od, k, h = self.env.obs_dim, self.env.n_actions, int(params["hidden"])
        self.target = copy.deepcopy(self.q)
        self.opt = torch.optim.Adam(self.q.parameters(), lr=float(params["lr"]))
        n = int(params["buffer_size"])
        self.obs = np.zeros((n, od), np.float32)
        self.next = np.zeros((n, od), np.float32)
        self.rew = np.zeros(n, np.float32)
        self.act = np.zeros(n, np.int64)
        self.term = np.zeros(n, np.float32)
        self.fill = self.pos = 0
        self.flops_fwd = 2.0 * (od * h + h * h + h * k)
        with torch.no_grad():  # warm-up, as the plugin's setup
            self.q(torch.zeros(int(params["batch_size"]), od))

    def train(self):
        p = self.p
        total, starts = int(p["total_steps"]), int(p["learning_starts"])
        freq, tupd = int(p["train_freq"]), int(p["target_update"])
        eps_final, eps_steps = float(p["eps_final"]), int(p["eps_steps"])
        batch, gamma, n = int(p["batch_size"]), float(p["gamma"]), int(p["buffer_size"])
        k = self.env.n_actions
        stats = rl.Stats(self.env.solved_threshold)
        t0 = time.monotonic()
        obs = np.array(self.env.reset(), np.float32)
        ep_ret, ep_loss, ep_updates, updates, greedy = 0.0, 0.0, 0, 0, 0
        for t in range(total):
            frac = min(1.0, t / eps_steps) if eps_steps > 0 else 1.0
            eps = 1.0 + (eps_final - 1.0) * frac
            if self.rng.uniform() < eps:
                a = rl.below(self.rng, k)
            else:
                with torch.no_grad():
                    a = int(torch.argmax(self.q(torch.from_numpy(obs).unsqueeze(0))[0]))
                greedy += 1
            nobs, r, term, trunc = self.env.step(a)
            nobs = np.array(nobs, np.float32)
            i = self.pos
            self.obs[i], self.next[i], self.rew[i] = obs, nobs, r
            self.act[i], self.term[i] = a, float(term)
            self.pos = (self.pos + 1) % n
            self.fill = min(self.fill + 1, n)
            ep_ret += r
            obs = nobs
            if t >= starts and t % freq == 0:
                idx = rl.below_many(self.rng, self.fill, batch)
                loss = rl.dqn_loss(self.q, self.target, torch.from_numpy(self.obs[idx]),
                                   torch.from_numpy(self.act[idx]),
                                   torch.from_numpy(self.rew[idx]),
                                   torch.from_numpy(self.next[idx]),
                                   torch.from_numpy(self.term[idx]), gamma)
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                lv = loss.item()
                if not np.isfinite(lv):
                    raise mlbench_peer.PeerError(f"step {t}: the loss diverged; lower lr")
                ep_loss += lv
                ep_updates += 1
                updates += 1
            if t >= starts and t % tupd == 0:
                self.target.load_state_dict(self.q.state_dict())
            if term or trunc:
                stats.add(ep_ret, t + 1)
                self.progress(t + 1, ep_loss / ep_updates if ep_updates else None, "return",
                              ep_ret)
                ep_ret, ep_loss, ep_updates = 0.0, 0.0, 0
                obs = np.array(self.env.reset(), np.float32)
        wall = time.monotonic() - t0
        self.work(items=total, flops=self.flops_fwd * (updates * batch * 4.0 + greedy))
        stats.report(self)
        self.metric("episodes", len(stats.ret),
                    "lower" if self.env.solved_threshold > 0 else "higher")
        self.metric("env_steps_per_s", total / wall, "higher", restates_time=True)
        self.metric("gradient_steps", updates, "higher")


mlbench_peer.run(DqnTorch())
