#!/usr/bin/python3
"""Writes the reference trajectories of the RL environments
(tests/ref/rl/*.actions and *.trace) from the Python transcription of gym's
code (tools/peers/python/mlbench_rl_envs.py); tests/integration/
test_rl_env.py runs mlbench-env-trace on the same seeds and actions and
compares. Each case is a seed and a way of choosing actions: random (short
CartPole episodes that terminate, Acrobot episodes truncated at 500) or a
simple controller (CartPole balanced to truncation, Acrobot swung up to
termination), so that both endings and long trajectories are covered.

    tools/parity/rl_env_traces.py [--out tests/ref/rl]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers",
                                "python"))
from mlbench_rl_envs import Env, SplitMix64  # noqa: E402

CASES = [("cartpole", 1, "random"), ("cartpole", 2, "control"),
         ("acrobot", 3, "random"), ("acrobot", 4, "control")]


def choose(env, how, rng):
    s = env.state
    if how == "random":
        return rng.next() % env.n_actions
    if env.e.name == "cartpole":  # push towards where the pole falls
        return 1 if s[2] + 0.5 * s[3] > 0 else 0
    return 2 if s[2] + s[3] > 0 else 0  # pump energy: torque along the links' motion


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "..", "..", "tests", "ref", "rl"))
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for name, seed, how in CASES:
        env, rng = Env(name, seed), SplitMix64(seed * 1000 + 7)
        env.reset()
        states, actions = [list(env.state)], []
        while True:
            act = choose(env, how, rng)
            actions.append(act)
            _, _, term, trunc = env.step(act)
            states.append(list(env.state))
            if term or trunc:
                break
        base = os.path.join(a.out, f"{name}-{seed}-{how}")
        with open(base + ".actions", "w") as f:
            f.write("".join(f"{x}\n" for x in actions))
        with open(base + ".trace", "w") as f:
            for s in states:
                f.write(" ".join(f"{float(v):.17g}" for v in s) + "\n")
        print(f"{base}: {len(actions)} steps, {'terminated' if term else 'truncated'}")


if __name__ == "__main__":
    main()
