"""`mlbench-engine compare BASELINE.json NEW.json`, the CI regression gate,
through the real binary. Each case starts from a result the engine wrote
(bundled gemm with small sizes, or the test plugin slow:sleep) and, where a
change must be exact, a copy of it edited in one precise way; each checks the
exit status the gate must give: 0 pass, 1 regression or failed run, 2 error."""
import copy
import json
import os
import shutil
import tempfile
import unittest

from common import PluginDir, main, run

REPS = "8"  # with 8 vs 8 the exact Mann-Whitney p reaches 1.6e-4: Holm over a few passes


def load(path):
    with open(path) as f:
        return json.load(f)


def verdicts(doc):
    """{(run, quantity): comparison} of `compare --json`."""
    return {(c["run"], c["quantity"]): c for c in doc["comparisons"]}


class Gate(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mlb-compare-")
        # gemm: train, infer with per-query latencies, peak RSS and a metric
        # (max_rel_err, lower is better, the same in every repetition).
        cls.gemm = cls.engine("gemm.json", ["--plugin", "gemm:naive", "--param", "m=48",
                                            "--param", "n=48", "--param", "k=48",
                                            "--param", "iterations=4"])
        # slow:sleep: a 10 ms train time that a busy machine hardly blurs, so
        # that doubling it is unmistakable.
        with PluginDir("slow_sleep") as pd:
            cls.sleep = cls.engine("sleep.json", ["--plugin-dir", pd, "--plugin", "slow:sleep",
                                                  "--param", "ms=10"])

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    @classmethod
    def engine(cls, name, args, reps=REPS):
        path = os.path.join(cls.dir, name)
        run(args + ["--repetitions", reps, "--warmup", "0", "--output", path, "--quiet"],
            check=0)
        return path

    def edited(self, src, name, edit):
        """A copy of result `src` with edit(doc) applied."""
        doc = copy.deepcopy(load(src))
        edit(doc)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump(doc, f)
        return path

    def compare(self, base, new, *opts, check):
        return run(["compare", base, new] + list(opts), check=check)

    def compare_json(self, base, new, *opts, check):
        p = run(["compare", base, new, "--json"] + list(opts), check=check)
        doc = json.loads(p.stdout)
        self.assertEqual(doc["exit_status"], check)
        return doc

    @staticmethod
    def set_train(doc, values):
        for rep, v in zip(doc["runs"][0]["repetitions"], values):
            rep["phases"]["train"]["wall_s"] = v

    # ---- cases ------------------------------------------------------------------

    def test_same_file_passes(self):
        p = self.compare(self.gemm, self.gemm, check=0)
        self.assertNotIn("regression:", p.stdout)
        self.assertIn("PASS: 0 regressions", p.stdout)
        doc = self.compare_json(self.gemm, self.gemm, check=0)
        got = {c["quantity"]: c["verdict"] for c in doc["comparisons"]}
        self.assertEqual(set(got), {"train", "infer/query", "peak_rss", "metric:max_rel_err"})
        for q, v in got.items():
            self.assertIn(v, ("no change", "equivalent"), q)
        self.assertEqual(doc["counts"]["regression"], 0)

    def test_slower_train_fails_and_faster_is_an_improvement(self):
        def double(doc):
            for rep in doc["runs"][0]["repetitions"]:
                rep["phases"]["train"]["wall_s"] *= 2
        slow = self.edited(self.sleep, "sleep_x2.json", double)
        p = self.compare(self.sleep, slow, "--threshold", "5%", check=1)
        self.assertIn("slow:sleep", p.stdout)
        self.assertIn("regression", p.stdout)
        self.assertIn("FAIL: 1 regression", p.stdout)
        doc = self.compare_json(self.sleep, slow, check=1)
        train = verdicts(doc)[("slow:sleep", "train")]
        self.assertEqual(train["verdict"], "regression")
        self.assertAlmostEqual(train["change"], 1.0, delta=1e-9)
        self.assertGreater(train["median_ratio_ci95_low"], 1.05)
        self.assertLess(train["p_adjusted"], 0.05)
        p = self.compare(slow, self.sleep, check=0)
        self.assertIn("improvement", p.stdout)
        self.assertNotIn("regression:", p.stdout)

    def test_two_real_runs_of_one_workload_pass(self):
        # A second invocation differs by the machine's drift only: well inside 25%.
        with PluginDir("slow_sleep") as pd:
            again = self.engine("sleep2.json", ["--plugin-dir", pd, "--plugin", "slow:sleep",
                                                "--param", "ms=10"])
        doc = self.compare_json(self.sleep, again, "--threshold", "25%", check=0)
        train = verdicts(doc)[("slow:sleep", "train")]
        self.assertIn(train["verdict"], ("equivalent", "inconclusive", "no change"))
        self.assertEqual(train["family"], len([c for c in doc["comparisons"]
                                               if c["p_adjusted"] is not None]))

    def test_other_workload_is_unmatched_and_an_error(self):
        common = ["--plugin", "gemm:naive", "--param", "n=32", "--param", "k=32"]
        m32 = self.engine("m32.json", common + ["--param", "m=32"], reps="2")
        m48 = self.engine("m48.json", common + ["--param", "m=48"], reps="2")
        p = self.compare(m32, m48, check=2)
        self.assertIn("unmatched: BASELINE run gemm:naive (m=32 ", p.stdout)
        self.assertIn("unmatched: NEW run gemm:naive (m=48 ", p.stdout)
        self.assertIn("m 48 vs 32", p.stdout)
        self.assertIn("no run of NEW matches", p.stderr)
        self.assertNotIn("train", p.stdout.split("unmatched")[0])
        doc = self.compare_json(m32, m48, check=2)
        self.assertEqual(doc["comparisons"], [])
        self.assertEqual(doc["unmatched"]["baseline"][0]["params"]["m"], 32)
        self.assertEqual(doc["unmatched"]["new"][0]["params"]["m"], 48)

    def test_unmatched_runs_are_listed_beside_matched_ones(self):
        def add_run(doc):
            r = copy.deepcopy(doc["runs"][0])
            r["index"] = 1
            r["params"]["m"] = 64
            doc["runs"].append(r)
        more = self.edited(self.gemm, "gemm_plus.json", add_run)
        p = self.compare(self.gemm, more, check=0)
        self.assertIn("unmatched: NEW run gemm:naive (m=64 ", p.stdout)
        self.assertIn("1 unmatched run", p.stdout)
        # The matched run is labelled by what tells it from its unmatched twin.
        self.assertIn("gemm:naive [m=48]", p.stdout)

    def test_tuning_parameters_may_differ(self):
        def threads(doc):
            doc["runs"][0]["params"]["threads"] = 4
        t4 = self.edited(self.gemm, "gemm_t4.json", threads)
        p = self.compare(self.gemm, t4, check=0)
        self.assertIn("tuning parameters differ (new vs baseline): threads 4 vs 1", p.stdout)
        self.assertIn("PASS", p.stdout)

    def test_all_failed_new_run_fails(self):
        def crash(doc):
            r = doc["runs"][0]
            r["status"] = "crashed"
            r["message"] = "killed by signal SIGSEGV (Segmentation fault)"
            for rep in r["repetitions"]:
                rep["status"] = "crashed"
                rep["message"] = r["message"]
        crashed = self.edited(self.gemm, "gemm_crashed.json", crash)
        p = self.compare(self.gemm, crashed, check=1)
        self.assertIn("FAILED: gemm:naive: all 8 repetitions did not succeed (crashed: killed "
                      "by signal SIGSEGV", p.stdout)
        self.assertIn("1 failed run", p.stdout)
        doc = self.compare_json(self.gemm, crashed, check=1)
        self.assertEqual(len(doc["failed"]), 1)

    def test_one_failed_repetition_fails(self):
        def one(doc):
            rep = doc["runs"][0]["repetitions"][3]
            rep["status"] = "timeout"
            rep["message"] = "ran past 600 s"
        partial = self.edited(self.gemm, "gemm_partial.json", one)
        p = self.compare(self.gemm, partial, check=1)
        self.assertIn("FAILED: gemm:naive: 1 of 8 repetitions did not succeed (timeout", p.stdout)

    def test_baseline_without_success_compares_nothing(self):
        def fail(doc):
            for rep in doc["runs"][0]["repetitions"]:
                rep["status"] = "failed"
        bad = self.edited(self.gemm, "gemm_failed_base.json", fail)
        p = self.compare(bad, self.gemm, check=2)
        self.assertIn("BASELINE run has no successful repetition", p.stdout)
        self.assertIn("nothing could be compared", p.stderr)

    def test_infer_is_compared_per_query(self):
        # Twice the queries at the same latency each: the infer phase takes
        # twice as long, the queries are as fast as before.
        def twice(doc):
            r = doc["runs"][0]
            r["config"]["infer_queries"] *= 2
            for rep in r["repetitions"]:
                rep["infer_latency_s"] = rep["infer_latency_s"] * 2
                rep["phases"]["infer"]["wall_s"] *= 2
        more = self.edited(self.gemm, "gemm_q2.json", twice)
        p = self.compare(self.gemm, more, check=0)
        self.assertNotIn("regression:", p.stdout)
        self.assertIn("per query: p50", p.stdout)
        doc = self.compare_json(self.gemm, more, check=0)
        infer = verdicts(doc)[("gemm:naive", "infer/query")]
        self.assertEqual(infer["verdict"], "no change")
        self.assertEqual(infer["latency_s"]["new"]["n"], 2 * infer["latency_s"]["baseline"]["n"])
        self.assertEqual(infer["latency_s"]["new"]["p50"], infer["latency_s"]["baseline"]["p50"])
        self.assertEqual(infer["per_query"], "median of each repetition's latencies")

    def test_worse_metric_fails(self):
        def scale(f):
            def edit(doc):
                for rep in doc["runs"][0]["repetitions"]:
                    rep["metrics"]["max_rel_err"]["value"] *= f
            return edit
        worse = self.edited(self.gemm, "gemm_err10.json", scale(10))
        p = self.compare(self.gemm, worse, check=1)
        self.assertIn("metric:max_rel_err (lower is better)", p.stdout)
        doc = self.compare_json(self.gemm, worse, check=1)
        m = verdicts(doc)[("gemm:naive", "metric:max_rel_err")]
        self.assertEqual((m["verdict"], m["better"]), ("regression", "lower"))
        better = self.edited(self.gemm, "gemm_err01.json", scale(0.1))
        doc = self.compare_json(self.gemm, better, check=0)
        self.assertEqual(verdicts(doc)[("gemm:naive", "metric:max_rel_err")]["verdict"],
                         "improvement")
        # A metric within the engine's tolerance (1e-6 relative) is equivalent.
        same = self.edited(self.gemm, "gemm_err1.json", scale(1 + 1e-9))
        doc = self.compare_json(self.gemm, same, check=0)
        self.assertEqual(verdicts(doc)[("gemm:naive", "metric:max_rel_err")]["verdict"],
                         "equivalent")

    def test_change_within_noise_is_inconclusive(self):
        noisy = [10e-3, 13e-3, 8e-3, 12e-3, 9e-3, 11e-3, 7e-3, 12.5e-3]
        base = self.edited(self.sleep, "noisy_base.json", lambda d: self.set_train(d, noisy))
        new = self.edited(self.sleep, "noisy_new.json",
                          lambda d: self.set_train(d, [v * 1.05 for v in reversed(noisy)]))
        p = self.compare(base, new, check=0)
        self.assertIn("inconclusive: the ratio's 90% CI", p.stdout)
        self.assertIn("straddles the ±5% margin", p.stdout)
        self.assertIn("PASS: 0 regressions", p.stdout)
        self.assertIn("1 inconclusive", p.stdout)

    def test_threshold_is_the_margin(self):
        tight = [10.00e-3, 10.02e-3, 9.98e-3, 10.01e-3, 9.99e-3, 10.03e-3, 9.97e-3, 10.0e-3]
        base = self.edited(self.sleep, "tight_base.json", lambda d: self.set_train(d, tight))
        new = self.edited(self.sleep, "tight_new.json",
                          lambda d: self.set_train(d, [v * 1.01 for v in reversed(tight)]))
        # 1% slower, significantly, with a tight CI: inside ±5%, beyond ±0.5%.
        doc = self.compare_json(base, new, check=0)
        train = verdicts(doc)[("slow:sleep", "train")]
        self.assertEqual(train["verdict"], "equivalent")
        self.assertTrue(train["significant"])
        doc = self.compare_json(base, new, "--threshold", "0.5%", check=1)
        self.assertEqual(verdicts(doc)[("slow:sleep", "train")]["verdict"], "regression")
        # --min-seconds: 0.1 ms slower is below 1 ms.
        p = self.compare(base, new, "--threshold", "0.005", "--min-seconds", "0.001", check=0)
        self.assertIn("below --min-seconds: slower by", p.stdout)

    def test_peak_rss_doubled_fails(self):
        def double(doc):
            for rep in doc["runs"][0]["repetitions"]:
                for ph in rep["phases"].values():
                    ph["rss_peak_bytes"] *= 2
        fat = self.edited(self.gemm, "gemm_rss2.json", double)
        p = self.compare(self.gemm, fat, "--mem-threshold", "10%", check=1)
        self.assertIn("peak_rss", p.stdout)
        doc = self.compare_json(self.gemm, fat, "--mem-threshold", "10%", check=1)
        rss = verdicts(doc)[("gemm:naive", "peak_rss")]
        self.assertEqual(rss["verdict"], "regression")
        self.assertAlmostEqual(rss["change"], 1.0, delta=1e-9)
        for q in ("train", "infer/query"):
            self.assertEqual(verdicts(doc)[("gemm:naive", q)]["verdict"], "no change")
        doc = self.compare_json(self.gemm, fat, "--mem-threshold", "150%", check=0)
        self.assertNotEqual(verdicts(doc)[("gemm:naive", "peak_rss")]["verdict"], "regression")

    def test_twin_runs_without_an_index_are_labelled(self):
        # Two runs of one workload are told apart by their index; one that is
        # missing or not a number (found by fuzz_compare: NaN converted to an
        # int) is labelled '#?', never a garbage number.
        def twins(doc):
            second = copy.deepcopy(doc["runs"][0])
            second["index"] = "one"
            doc["runs"][0].pop("index")
            doc["runs"].append(second)
        path = self.edited(self.gemm, "twins.json", twins)
        doc = self.compare_json(path, path, check=0)
        labels = {c["run"] for c in doc["comparisons"]}
        self.assertTrue(labels, doc)
        for label in labels:
            self.assertIn("#?", label)
            self.assertNotIn("-2147483648", label)

    def test_bad_options(self):
        for opt in (["--threshold", "abc"], ["--threshold", "-5%"], ["--mem-threshold"],
                    ["--min-seconds", "1%"], ["--frobnicate"]):
            p = run(["compare", self.gemm, self.gemm] + opt, check=2)
            self.assertIn("compare", p.stderr)
        p = run(["compare", self.gemm], check=2)
        self.assertIn("Usage", p.stderr)
        p = run(["compare", "--help"], check=0)
        self.assertIn("--mem-threshold", p.stdout)


class BadFiles(unittest.TestCase):
    def test_compare_rejects_bad_files(self):
        with tempfile.TemporaryDirectory() as d:
            bad = os.path.join(d, "bad.json")
            with open(bad, "w") as f:
                f.write('{"runs": [\n  1,\n')
            p = run(["compare", bad, bad], check=2)
            self.assertIn(bad, p.stderr)
            other = os.path.join(d, "other.json")
            with open(other, "w") as f:
                f.write('{"schema": "something/else"}')
            p = run(["compare", other, other], check=2)
            self.assertIn("schema", p.stderr)
            norun = os.path.join(d, "norun.json")
            with open(norun, "w") as f:
                f.write('{"schema": "mlbench.result/1", "runs": [{"status": "ok"}]}')
            p = run(["compare", norun, norun], check=2)
            self.assertIn("runs[0]", p.stderr)
            p = run(["compare", os.path.join(d, "missing.json"), norun], check=2)
            self.assertIn("missing.json", p.stderr)


if __name__ == "__main__":
    main()
