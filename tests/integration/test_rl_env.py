"""The RL environments' dynamics (plugins/common/rl/rl_env.c) against an
independent implementation: mlbench-env-trace replays the committed action
sequences of tests/ref/rl/ from their seeds, and every state must equal the
trajectory that the Python transcription of gym's code
(tools/peers/python/mlbench_rl_envs.py, via tools/parity/rl_env_traces.py)
computed, to the printed 17 digits; both endings (termination, truncation
at 500 steps) are among the cases. Bad arguments fail with a message."""
import glob
import os
import subprocess
import unittest

from common import BUILD_ROOT, SOURCE_ROOT, main

TRACE = os.path.join(BUILD_ROOT, "plugins", "common", "rl", "mlbench-env-trace")
REF = os.path.join(SOURCE_ROOT, "tests", "ref", "rl")


def trace(env, seed, actions):
    p = subprocess.run([TRACE, env, str(seed), actions], capture_output=True, text=True,
                       timeout=60)
    return p


class EnvTraces(unittest.TestCase):
    def test_reference_trajectories(self):
        cases = sorted(glob.glob(os.path.join(REF, "*.actions")))
        self.assertEqual(len(cases), 4, cases)
        endings = set()
        for actions in cases:
            env, seed, _ = os.path.basename(actions)[:-len(".actions")].split("-")
            with self.subTest(case=os.path.basename(actions)):
                p = trace(env, seed, actions)
                self.assertEqual(p.returncode, 0, p.stderr)
                ours = [[float(v) for v in ln.split()] for ln in p.stdout.splitlines()]
                with open(actions[:-len(".actions")] + ".trace") as f:
                    ref = [[float(v) for v in ln.split()] for ln in f]
                with open(actions) as f:
                    n_actions = len(f.read().split())
                # One state after the reset and one per step, all of them.
                self.assertEqual(len(ours), n_actions + 1)
                self.assertEqual(len(ours), len(ref))
                for i, (a, b) in enumerate(zip(ours, ref)):
                    self.assertEqual(len(a), 4)
                    for x, y in zip(a, b):
                        self.assertLessEqual(abs(x - y), 1e-12 * max(1.0, abs(y)),
                                             f"step {i}: {a} vs {b}")
                endings.add(n_actions == 500)
        self.assertEqual(endings, {True, False}, "both truncation and termination covered")

    def test_reset_depends_on_seed(self):
        p = subprocess.run([TRACE, "cartpole", "1", "/dev/null"], capture_output=True, text=True)
        q = subprocess.run([TRACE, "cartpole", "2", "/dev/null"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotEqual(p.stdout, q.stdout)
        vals = [float(v) for v in p.stdout.split()]
        self.assertEqual(len(vals), 4)
        self.assertTrue(all(-0.05 <= v < 0.05 for v in vals), vals)

    def test_bad_arguments(self):
        p = trace("pendulum", 1, "/dev/null")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown environment 'pendulum'", p.stderr)
        self.assertIn("cartpole acrobot", p.stderr)
        p = trace("cartpole", -1, "/dev/null")
        self.assertEqual(p.returncode, 2)
        self.assertIn("not a non-negative integer", p.stderr)
        bad = os.path.join(BUILD_ROOT, "rl-bad.actions")
        with open(bad, "w") as f:
            f.write("1\n2\n")
        try:
            p = trace("cartpole", 1, bad)
            self.assertEqual(p.returncode, 1)
            self.assertIn("rl-bad.actions:2: action '2' not in 0..1", p.stderr)
            self.assertEqual(len(p.stdout.splitlines()), 2)
        finally:
            os.unlink(bad)


if __name__ == "__main__":
    main()
