"""Statistics over seeds: with --vary-seed (or vary_seed: true on a suite's
benchmark) measured repetition i runs with seed + i, every variant of a
group gets the same seeds, each repetition records its seed in the results,
and the plugin really receives it (its seeded data change with it); a peer
receives it too. Without it every repetition runs with the one seed."""
import os
import shutil
import subprocess
import tempfile
import unittest

from common import main, run, run_by_variant, run_json

TEMPLATE = ["--plugin", "template:naive,openblas", "--param", "n=1000", "--repetitions", "3",
            "--warmup", "1"]


def seeds(run_doc):
    return [r["seed"] for r in run_doc["repetitions"]]


def dots(run_doc):
    return [r["metrics"]["dot"]["value"] for r in run_doc["repetitions"]]


class VarySeed(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="mlb-vary-")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def test_cli(self):
        _, doc = run_json(TEMPLATE + ["--seed", "7", "--vary-seed"])
        runs = run_by_variant(doc)
        for v, r in runs.items():
            self.assertEqual(seeds(r), [7, 8, 9], v)
            self.assertTrue(r["config"]["vary_seed"])
            d = dots(r)
            self.assertEqual(len(set(d)), 3, f"{v}: the data did not change with the seed: {d}")
        # Same seeds, same data: the variants agree repetition by repetition.
        for a, b in zip(dots(runs["naive"]), dots(runs["openblas"])):
            self.assertAlmostEqual(a, b, delta=1e-9 * max(1.0, abs(a)))
        # Repetition i with --vary-seed is the plain run with --seed 7 + i.
        _, one = run_json(TEMPLATE[:4] + ["--repetitions", "1", "--warmup", "0", "--seed", "9"])
        self.assertEqual(dots(run_by_variant(one)["naive"])[0], dots(runs["naive"])[2])

    def test_default_keeps_one_seed(self):
        _, doc = run_json(TEMPLATE + ["--seed", "7"])
        for v, r in run_by_variant(doc).items():
            self.assertEqual(seeds(r), [7, 7, 7], v)
            self.assertNotIn("vary_seed", r["config"])
            self.assertEqual(len(set(dots(r))), 1)

    def suite(self, text):
        path = os.path.join(self.tmp, "s.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_suite_key(self):
        path = self.suite("""suite: vary
repetitions: 2
warmup: 0
benchmarks:
  - task: template
    params: {n: 500}
    vary_seed: true
  - task: template
    params: {n: 600}
""")
        _, doc = run_json(["--config", path, "--seed", "100"])
        by_n = {}
        for r in doc["runs"]:
            by_n.setdefault(r["params"]["n"], []).append(seeds(r))
        self.assertEqual(by_n[500], [[100, 101]] * len(by_n[500]))
        self.assertEqual(by_n[600], [[100, 100]] * len(by_n[600]))
        self.assertGreaterEqual(len(by_n[500]), 2)  # every variant of the group

    def test_suite_bad_value(self):
        path = self.suite("""benchmarks:
  - task: template
    vary_seed: sometimes
""")
        p = run(["--config", path])
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertIn("s.yaml:3:16: benchmark 1: vary_seed: expected true or false, got "
                      "'sometimes'", p.stderr)
        path = self.suite("""benchmarks:
  - task: template
    vary_seeds: true
""")
        p = run(["--config", path])
        self.assertEqual(p.returncode, 2)
        self.assertIn("vary_seed", p.stderr)  # the allowed keys are listed

    def test_peer_gets_the_seed(self):
        if subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                          capture_output=True).returncode != 0:
            print("skipped: python3-torch is not installed (tools/setup.sh --peers)")
            return
        _, doc = run_json(["--plugin", "reinforce:openblas,pytorch", "--param", "episodes=4",
                           "--param", "hidden=8", "--repetitions", "2", "--warmup", "0",
                           "--seed", "3", "--vary-seed"])
        runs = run_by_variant(doc)
        rets = {}
        for v, r in runs.items():
            self.assertEqual(seeds(r), [3, 4], v)
            rets[v] = [[p["value"] for p in rep["progress"]] for rep in r["repetitions"]]
        # The peer trained from seed + i's weights, environment and draws.
        self.assertEqual(rets["openblas"], rets["pytorch"])
        self.assertNotEqual(rets["openblas"][0], rets["openblas"][1])


if __name__ == "__main__":
    main()
