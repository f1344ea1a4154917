"""reinforce:pytorch — the reinforce task's agent (plugins/reinforce/
reinforce.c) in PyTorch CPU: the same policy network and initial weights
(data_from openblas), environment (tools/peers/python/mlbench_rl_envs.py),
hyper-parameters and generator draws."""
import os
import time

import mlbench_peer
import mlbench_rl_torch as rl
import numpy as np
import torch
from mlbench_cnn_models import load_into, read_weights


class ReinforceTorch(rl.AgentPeer):
    def setup(self, params, data, seed):
        self.pi = self.agent_setup(params, data, seed)
        od, k, h = self.env.obs_dim, self.env.n_actions, int(params["hidden"])
        self.opt = torch.optim.Adam(self.pi.parameters(), lr=float(params["lr"]))
        self.value = None
        if params["baseline"] == "value":
            self.value = rl.Mlp(od, h, 1)
            load_into(self.value, read_weights(os.path.join(os.path.dirname(data["shape"]),
                                                            "value_init.bin")))
            self.vopt = torch.optim.Adam(self.value.parameters(), lr=float(params["lr"]))
        self.flops_fwd = 2.0 * (od * h + h * h + h * k)
        with torch.no_grad():
            self.pi(torch.zeros(1, od))

    def train(self):
        p = self.p
        episodes, per_update = int(p["episodes"]), int(p["episodes_per_update"])
        gamma, normalize = float(p["gamma"]), bool(p["normalize"])
        use_baseline = p["baseline"] == "mean"
        stats = rl.Stats(self.env.solved_threshold)
        t0 = time.monotonic()
        steps, base_sum, base_n, loss = 0, 0.0, 0, None
        b_obs, b_act, b_adv, b_ret = [], [], [], []
        for ep in range(1, episodes + 1):
            obs = np.array(self.env.reset(), np.float32)
            rews, term, trunc = [], False, False
            while not (term or trunc):
                b_obs.append(obs)
                with torch.no_grad():
                    logits = self.pi(torch.from_numpy(obs).unsqueeze(0))[0]
                a = rl.sample(logits.tolist(), self.rng.uniform())
                b_act.append(a)
                o, r, term, trunc = self.env.step(a)
                obs = np.array(o, np.float32)
                rews.append(float(np.float32(r)))
            steps += len(rews)
            baseline = base_sum / base_n if use_baseline and base_n > 0 else 0.0
            values = None
            if self.value is not None:
                with torch.no_grad():
                    values = self.value(torch.from_numpy(np.stack(b_obs[-len(rews):])))
                values = values.squeeze(1).tolist()
                b_ret += rl.returns(rews, gamma, 0.0, False)
            b_adv += rl.returns(rews, gamma, baseline, normalize, values)
            if use_baseline:
                g = 0.0
                for r in reversed(rews):
                    g = r + gamma * g
                    base_sum += g
                base_n += len(rews)
            if ep % per_update == 0 or ep == episodes:
                lt = rl.reinforce_loss(self.pi, torch.from_numpy(np.stack(b_obs)),
                                       torch.tensor(b_act, dtype=torch.int64),
                                       torch.tensor(b_adv, dtype=torch.float32))
                self.opt.zero_grad()
                lt.backward()
                self.opt.step()
                loss = lt.item()
                if not np.isfinite(loss):
                    raise mlbench_peer.PeerError(f"episode {ep}: the loss diverged; lower lr")
                if self.value is not None:
                    vl = rl.value_loss(self.value, torch.from_numpy(np.stack(b_obs)),
                                       torch.tensor(b_ret, dtype=torch.float32))
                    self.vopt.zero_grad()
                    vl.backward()
                    self.vopt.step()
                    if not np.isfinite(vl.item()):
                        raise mlbench_peer.PeerError(f"episode {ep}: the value loss diverged")
                b_obs, b_act, b_adv, b_ret = [], [], [], []
            ret = float(sum(rews))
            stats.add(ret, steps)
            self.progress(ep, loss, "return", ret)
        wall = time.monotonic() - t0
        self.work(items=steps, flops=self.flops_fwd * 4.0 * steps)
        stats.report(self)
        self.metric("env_steps_per_s", steps / wall, "higher", restates_time=True)
        self.metric("episodes_per_s", episodes / wall, "higher", restates_time=True)
        self.metric("env_steps", steps, "higher" if self.env.solved_threshold > 0 else "lower")


mlbench_peer.run(ReinforceTorch())
