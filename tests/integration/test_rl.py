"""The dqn and reinforce tasks through the real engine, at tiny sizes:
determinism (the same seed gives the same sequence of returns, run after
run and repetition after repetition, for each variant; another seed gives
another), the metrics and work the docs promise (docs/rl.md), a learning
curve of one point per episode whose returns are the metrics' source, bad
parameters, and, where PyTorch is installed, the peers replaying the
plugins' episodes from the same weights and draws."""
import subprocess
import unittest

from common import main, run, run_by_variant, run_json

TINY = ["--warmup", "0"]
DQN = ["--param", "total_steps=400", "--param", "learning_starts=100", "--param", "hidden=16",
       "--param", "batch_size=16", "--param", "eps_steps=300", "--param", "target_update=50"]
REINFORCE = ["--param", "episodes=12", "--param", "hidden=16", "--param",
             "episodes_per_update=2"]


def torch_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                          capture_output=True).returncode == 0


def returns(rep):
    return [p["value"] for p in rep["progress"] if p["metric"] == "return"]


class Rl(unittest.TestCase):
    def runs(self, task, params, seed, variants="naive,openblas", reps=2, extra=()):
        _, doc = run_json(["--plugin", f"{task}:{variants}", "--repetitions", str(reps),
                           "--seed", str(seed)] + TINY + params + list(extra))
        return run_by_variant(doc)

    def check_determinism(self, task, params):
        a = self.runs(task, params, 5)
        b = self.runs(task, params, 5)
        c = self.runs(task, params, 6, reps=1)
        for v in ("naive", "openblas"):
            ra = [returns(r) for r in a[v]["repetitions"]]
            rb = [returns(r) for r in b[v]["repetitions"]]
            self.assertGreater(len(ra[0]), 3, ra)
            self.assertEqual(ra[0], ra[1], f"{task}:{v}: repetitions with one seed differ")
            self.assertEqual(ra, rb, f"{task}:{v}: runs with one seed differ")
            self.assertNotEqual(ra[0], returns(c[v]["repetitions"][0]),
                                f"{task}:{v}: seeds 5 and 6 gave the same returns")
        return a

    def test_dqn(self):
        runs = self.check_determinism("dqn", DQN)
        for v, r in runs.items():
            rep = r["repetitions"][0]
            self.assertEqual(rep["status"], "ok")
            m = {k: x["value"] for k, x in rep["metrics"].items()}
            rets = returns(rep)
            # Every step of CartPole earns 1: the returns are the episodes'
            # lengths, and they account for the finished episodes' steps.
            self.assertEqual(m["episodes"], len(rets))
            self.assertAlmostEqual(m["mean_return_100"], sum(rets[-100:]) / len(rets[-100:]))
            self.assertAlmostEqual(m["mean_return_10"], sum(rets[-10:]) / len(rets[-10:]))
            self.assertEqual(m["best_return"], max(rets))
            steps = [p["step"] for p in rep["progress"]]
            self.assertEqual(steps[-1], sum(rets))
            self.assertLessEqual(steps[-1], 400)
            self.assertIsNone(m["steps_to_solve"])  # 400 steps cannot solve CartPole
            self.assertEqual(m["gradient_steps"], 300)  # steps 100..399
            self.assertGreater(m["env_steps_per_s"], 0)
            self.assertEqual(rep["phases"]["train"]["items"], 400)

    def test_reinforce(self):
        runs = self.check_determinism("reinforce", REINFORCE)
        for v, r in runs.items():
            rep = r["repetitions"][0]
            m = {k: x["value"] for k, x in rep["metrics"].items()}
            rets = returns(rep)
            self.assertEqual(len(rets), 12)
            self.assertEqual([p["step"] for p in rep["progress"]], list(range(1, 13)))
            self.assertEqual(m["env_steps"], sum(rets))
            self.assertEqual(rep["phases"]["train"]["items"], sum(rets))
            self.assertAlmostEqual(m["mean_return_100"], sum(rets) / 12)
            self.assertGreater(m["episodes_per_s"], 0)

    def test_acrobot(self):
        runs = self.runs("reinforce", ["--param", "env=acrobot", "--param", "episodes=2",
                                       "--param", "hidden=8"], 3, reps=1)
        for v, r in runs.items():
            rep = r["repetitions"][0]
            rets = returns(rep)
            # -1 per step, 0 on a terminating one; an untrained policy
            # mostly runs into the 500-step limit.
            self.assertEqual(len(rets), 2)
            self.assertTrue(all(-500 <= x <= 0 for x in rets), rets)
            m = {k: x["value"] for k, x in rep["metrics"].items()}
            self.assertEqual(m["env_steps"], sum(min(500, 1 - x) if x > -500 else 500
                                                  for x in rets))

    def test_bad_parameters(self):
        p = run(["--plugin", "dqn:naive", "--param", "env=pendulum", "--repetitions", "1"] + TINY)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("pendulum", p.stderr)
        self.assertIn("cartpole", p.stderr)
        p = run(["--plugin", "reinforce:naive", "--param", "baseline=critic", "--repetitions",
                 "1"] + TINY)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("baseline", p.stderr)

    def test_peers_replay_the_plugins(self):
        if not torch_installed():
            print("skipped: python3-torch is not installed (tools/setup.sh --peers)")
            return
        for task, params in (("dqn", DQN), ("reinforce", REINFORCE),
                             ("reinforce", REINFORCE + ["--param", "baseline=value"]),
                             ("reinforce", REINFORCE + ["--param", "baseline=mean",
                                                        "--param", "normalize=false"])):
            runs = self.runs(task, params, 9, variants="openblas,pytorch", reps=1,
                             extra=["--param", "threads=1"])
            ours = returns(runs["openblas"]["repetitions"][0])
            theirs = returns(runs["pytorch"]["repetitions"][0])
            # Same weights, environment and draws: float32 rounding aside,
            # the same episodes (these runs are too short to drift apart).
            self.assertEqual(ours, theirs, f"{task} {params[-2:]}")


if __name__ == "__main__":
    main()
