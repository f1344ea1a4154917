"""`mlbench-engine history`: a synthetic history built from one real results
document (gemm naive and openblas at a tiny size), copied under 20 commits
with each copy's medians set: one series with a 20% step at a known commit,
one with noise only, one with a 30% regression later undone. The steps must
be found at their commits, the noise-only series must report none, and the
exit status must gate on the threshold and on standing regressions only."""
import copy
import json
import os
import random
import shutil
import tempfile
import unittest

from common import main, run, run_json

N = 20
STEP_AT = 12  # index of the first commit after the step


def commit(i):
    return "c%02d%08x" % (i, 0xabc000 + i)


class History(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.doc = run_json(["--plugin", "gemm:naive,openblas", "--param", "m=32",
                               "--param", "n=32", "--param", "k=32", "--repetitions", "3",
                               "--warmup", "0"])
        cls.dir = tempfile.mkdtemp(prefix="mlb-history-")
        rng = random.Random(7)
        for i in range(N):
            d = copy.deepcopy(cls.doc)
            d["environment"]["git_commit"] = commit(i)
            d["environment"]["timestamp_utc"] = "2026-11-%02dT10:00:00Z" % (i + 1)
            for r in d["runs"]:
                base = 1e-3 if r["variant"] == "naive" else 2e-3
                # naive: +20% from STEP_AT on; openblas: noise only (2% sd).
                m = base * (1.2 if r["variant"] == "naive" and i >= STEP_AT else 1.0)
                m *= 1 + rng.gauss(0, 0.02)
                w = r["summary"]["phases"]["train"]["wall_s"]
                w["median"], w["median_ci95_low"], w["median_ci95_high"] = m, m * 0.98, m * 1.02
                if r["variant"] == "naive":
                    # naive infer: +30% at commit 5, recovered at commit 10.
                    m = 5e-4 * (1.3 if 5 <= i < 10 else 1.0) * (1 + rng.gauss(0, 0.02))
                    w = r["summary"]["phases"]["infer"]["wall_s"]
                    w["median"], w["median_ci95_low"], w["median_ci95_high"] = \
                        m, m * 0.98, m * 1.02
            # Written in shuffled name order: the reader orders by time.
            with open(os.path.join(cls.dir, "r%03d-%d.json" % (rng.randrange(1000), i)),
                      "w") as f:
                json.dump(d, f)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def series(self, out, variant, quantity="train"):
        for s in out["series"]:
            if s["variant"] == variant and s["quantity"] == quantity:
                return s
        self.fail(f"no {variant} {quantity} series in {[s['variant'] for s in out['series']]}")

    def test_step_found_at_its_commit_noise_series_has_none(self):
        p = run(["history", self.dir, "--json"], check=1)
        out = json.loads(p.stdout)
        self.assertEqual(out["documents"], N)
        naive = self.series(out, "naive")
        self.assertEqual(len(naive["points"]), N)
        self.assertEqual(naive["label"], "m=32 n=32 k=32")
        self.assertEqual([pt["commit"] for pt in naive["points"]], [commit(i) for i in range(N)])
        self.assertEqual(len(naive["steps"]), 1, naive["steps"])
        st = naive["steps"][0]
        self.assertEqual(st["commit"], commit(STEP_AT))
        self.assertEqual(st["previous_commit"], commit(STEP_AT - 1))
        self.assertEqual(st["kind"], "regression")
        self.assertAlmostEqual(st["change"], 0.20, delta=0.03)
        self.assertTrue(st["above_threshold"])
        self.assertTrue(st["persists"])
        self.assertEqual(self.series(out, "openblas")["steps"], [])
        # A regression undone later: both steps found, neither standing.
        inf = self.series(out, "naive", "infer")
        self.assertEqual([(s["commit"], s["kind"]) for s in inf["steps"]],
                         [(commit(5), "regression"), (commit(10), "improvement")])
        self.assertAlmostEqual(inf["steps"][0]["change"], 0.30, delta=0.04)
        self.assertTrue(inf["steps"][0]["above_threshold"])
        self.assertFalse(inf["steps"][0]["persists"])

    def test_text_names_the_commit_and_threshold_gates(self):
        p = run(["history", self.dir], check=1)
        self.assertIn("regression +", p.stdout)
        self.assertIn("at " + commit(STEP_AT), p.stdout)
        self.assertIn("ABOVE THRESHOLD", p.stdout)
        self.assertIn("since recovered", p.stdout)
        # A 25% threshold: the 20% step is reported, the recovered 30% one
        # does not gate: the exit is 0.
        p = run(["history", self.dir, "--threshold", "25%"], check=0)
        self.assertIn("at " + commit(STEP_AT), p.stdout)
        self.assertNotIn("ABOVE THRESHOLD", p.stdout)

    def test_since_drops_earlier_commits(self):
        p = run(["history", self.dir, "--json", "--since", commit(STEP_AT)], check=0)
        out = json.loads(p.stdout)
        naive = self.series(out, "naive")
        self.assertEqual(len(naive["points"]), N - STEP_AT)
        self.assertEqual(naive["steps"], [])
        p = run(["history", self.dir, "--since", "nosuchcommit"], check=2)
        self.assertIn("no document has that commit", p.stderr)

    def test_html_page_marks_the_step(self):
        out = os.path.join(self.dir, "h.html.out")
        run(["history", self.dir, "--html", out], check=1)
        with open(out) as f:
            page = f.read()
        self.assertIn("<svg class=\"plot history\"", page)
        self.assertEqual(page.count("<svg"), 4)  # naive and openblas, train and infer
        self.assertEqual(page.count("step reg bad"), 1)
        self.assertIn("step imp", page)
        self.assertIn(commit(STEP_AT), page)
        self.assertNotIn("<script", page)

    def test_bad_inputs(self):
        d = tempfile.mkdtemp(prefix="mlb-history-bad-")
        try:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write("{\"schema\": \"mlbench.result/1\", \"runs\": [")
            p = run(["history", bad], check=2)
            self.assertIn("not valid JSON", p.stderr)
            nocommit = copy.deepcopy(self.doc)
            del nocommit["environment"]["git_commit"]
            with open(bad, "w") as f:
                json.dump(nocommit, f)
            p = run(["history", bad], check=2)
            self.assertIn("environment.git_commit", p.stderr)
            # In a directory, a bad file is skipped with a warning.
            p = run(["history", d], check=2)
            self.assertIn("skipped", p.stderr)
            p = run(["history", "--threshold", "x", d], check=2)
            self.assertIn("--threshold", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
