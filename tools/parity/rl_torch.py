#!/usr/bin/python3
"""Parity of the RL agents' updates (plugins/common/rl/rl_agent.c) with PyTorch.

rl-parity (BUILD/plugins/common/rl/) runs one DQN gradient step (Huber loss
against the target network's bootstrap, Adam) and one REINFORCE update
(normalised and baselined returns, policy-gradient loss, Adam) on a fixed
seeded batch and fixed seeded weights, and dumps the batch, the starting
weights, the loss, every gradient and the weights after Adam. This script
repeats each update in PyTorch float32 (tools/peers/python/
mlbench_rl_torch.py, the code the peers train with) from the same weights
and batch and reports ||ours - torch|| / ||torch|| per tensor; exit 1 if
any reaches 1e-5.

With --write it stores PyTorch's side (from the naive variant's dump) in
tests/ref/rl/parity/, with checksums of the inputs, which
tests/integration/test_rl_parity.py compares every variant with, without
PyTorch.

    tools/parity/rl_torch.py [--build build] [--write]
"""
import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers", "python"))
import mlbench_rl_torch as rl  # noqa: E402
from mlbench_cnn_models import load_into, read_weights, write_weights  # noqa: E402

BOUND = 1e-5
REF = os.path.join(HERE, "..", "..", "tests", "ref", "rl", "parity")
GAMMA, LR, HIDDEN = 0.99, 1e-3, 128


def rel(ours, ref):
    ours = np.asarray(ours, np.float64).ravel()
    ref = np.asarray(ref, np.float64).ravel()
    den = np.linalg.norm(ref)
    return np.linalg.norm(ours - ref) / den if den > 0 else np.linalg.norm(ours - ref)


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def model_from(path, n_in, n_out):
    m = rl.Mlp(n_in, HIDDEN, n_out)
    load_into(m, read_weights(path))
    return m


def grads_model(m):
    g = rl.Mlp(m.fc1.in_features, HIDDEN, m.fc3.out_features)
    with torch.no_grad():
        for (_, p), (_, q) in zip(g.named_parameters(), m.named_parameters()):
            p.copy_(q.grad)
    return g


def torch_dqn(d):
    rows = np.loadtxt(os.path.join(d, "batch.txt"), dtype=np.float64, ndmin=2)
    obs = torch.tensor(rows[:, 0:4], dtype=torch.float32)
    act = torch.tensor(rows[:, 4], dtype=torch.int64)
    rew = torch.tensor(rows[:, 5], dtype=torch.float32)
    nxt = torch.tensor(rows[:, 6:10], dtype=torch.float32)
    term = torch.tensor(rows[:, 10], dtype=torch.float32)
    q = model_from(os.path.join(d, "q_init.bin"), 4, 2)
    target = model_from(os.path.join(d, "target.bin"), 4, 2)
    opt = torch.optim.Adam(q.parameters(), lr=LR)
    loss = rl.dqn_loss(q, target, obs, act, rew, nxt, term, GAMMA)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return {"loss": loss.item()}, {"": q}, ["batch.txt", "q_init.bin", "target.bin"]


def torch_reinforce(d):
    rows = np.loadtxt(os.path.join(d, "batch.txt"), dtype=np.float64, ndmin=2)
    ep = rows[:, 0].astype(int)
    rews = [float(v) for v in rows[:, 8]]
    t1, t2 = int((ep == 0).sum()), int((ep <= 1).sum())
    obs = torch.tensor(rows[:, 1:7], dtype=torch.float32)
    act = torch.tensor(rows[:, 7], dtype=torch.int64)
    pi = model_from(os.path.join(d, "pi_init.bin"), 6, 3)
    value = model_from(os.path.join(d, "value_init.bin"), 6, 1)
    with torch.no_grad():
        vals = value(obs[t2:]).squeeze(1).tolist()
    adv = (rl.returns(rews[:t1], GAMMA, 0.0, True) + rl.returns(rews[t1:t2], GAMMA, -5.0, False)
           + rl.returns(rews[t2:], GAMMA, 0.0, True, vals))
    ret = (rl.returns(rews[:t1], GAMMA, 0.0, False) + rl.returns(rews[t1:t2], GAMMA, 0.0, False)
           + rl.returns(rews[t2:], GAMMA, 0.0, False))
    opt = torch.optim.Adam(pi.parameters(), lr=LR)
    loss = rl.reinforce_loss(pi, obs, act, torch.tensor(adv, dtype=torch.float32))
    opt.zero_grad()
    loss.backward()
    opt.step()
    vopt = torch.optim.Adam(value.parameters(), lr=LR)
    vloss = rl.value_loss(value, obs, torch.tensor(ret, dtype=torch.float32))
    vopt.zero_grad()
    vloss.backward()
    vopt.step()
    return ({"loss": loss.item(), "value_loss": vloss.item(),
             "adv": [float(np.float32(a)) for a in adv]}, {"": pi, "value_": value},
            ["batch.txt", "pi_init.bin", "value_init.bin"])


def ours(d):
    out = {}
    with open(os.path.join(d, "result.txt")) as f:
        for line in f:
            key, *vals = line.split()
            out[key] = [float(v) for v in vals] if key == "adv" else float(vals[0])
    return out


def compare(d, ref, tensors):
    """tensors: {file name: {tensor: array}} of PyTorch's side."""
    mine = ours(d)
    errs = {k: abs(mine[k] - ref[k]) / abs(ref[k]) for k in ("loss", "value_loss") if k in ref}
    if "adv" in ref:
        errs["adv"] = rel(mine["adv"], ref["adv"])
    for fname, theirs in tensors.items():
        got = read_weights(os.path.join(d, fname))
        for name, (_, a) in theirs.items():
            errs[f"{fname} {name}"] = rel(got[name][1], a)
    return errs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--write", action="store_true",
                    help="store PyTorch's side in tests/ref/rl/parity")
    a = ap.parse_args()
    driver = os.path.join(a.build, "plugins", "common", "rl", "rl-parity")
    torch.set_num_threads(1)
    worst = 0.0
    for algo, fn in (("dqn", torch_dqn), ("reinforce", torch_reinforce)):
        for variant in ("naive", "openblas"):
            with tempfile.TemporaryDirectory(prefix="mlb-rl-parity-") as d:
                subprocess.run([driver, algo, variant, d], check=True)
                ref, models, inputs = fn(d)
                out = os.path.join(REF, algo)
                write = a.write and variant == "naive"
                tensors = {}
                with tempfile.TemporaryDirectory() as t:
                    for prefix, model in models.items():
                        for fname, m in ((prefix + "grads.bin", grads_model(model)),
                                         (prefix + "updated.bin", model)):
                            path = os.path.join(out if write else t, fname)
                            os.makedirs(os.path.dirname(path), exist_ok=True)
                            write_weights(path, m)
                            tensors[fname] = read_weights(path)
                if write:
                    ref["inputs_sha256"] = {n: sha(os.path.join(d, n)) for n in inputs}
                    ref["torch"] = torch.__version__
                    with open(os.path.join(out, "ref.json"), "w") as f:
                        json.dump(ref, f, indent=1)
                        f.write("\n")
                errs = compare(d, ref, tensors)
                top = max(errs.values())
                worst = max(worst, top)
                print(f"{algo} {variant}: loss ours {ours(d)['loss']:.9g} torch {ref['loss']:.9g}; "
                      f"largest relative error {top:.2e} ({max(errs, key=errs.get)})")
    print(f"worst {worst:.2e} (bound {BOUND:g})")
    return 0 if worst < BOUND else 1


if __name__ == "__main__":
    sys.exit(main())
