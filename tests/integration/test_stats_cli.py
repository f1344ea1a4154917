"""The statistics through the real binary: `stats`, `compare`, and the
comparisons of a run. Reference values come from R (tests/ref/stats)."""
import json
import os
import shutil
import tempfile
import unittest

from common import PluginDir, SOURCE_ROOT, main, run, run_json

REF = os.path.join(SOURCE_ROOT, "tests", "ref", "stats")


def read_ref(name):
    out = {}
    with open(os.path.join(REF, name + ".ref")) as f:
        for line in f:
            if line.strip() and not line.startswith("#"):
                k, v = line.split(None, 1)
                v = v.strip()
                out[k] = None if v in ("null", "NA") else v
    return out


class StatsCli(unittest.TestCase):
    def test_two_sample_json_matches_r(self):
        cases = sorted(f[:-4] for f in os.listdir(REF) if f.endswith(".ref")
                       and os.path.exists(os.path.join(REF, f[:-4] + "_b.txt")))
        self.assertGreater(len(cases), 5)
        for case in cases:
            ref = read_ref(case)
            p = run(["stats", os.path.join(REF, case + "_a.txt"),
                     os.path.join(REF, case + "_b.txt"), "--json"], check=0)
            got = json.loads(p.stdout)
            for key, rel in (("welch_p", 1e-4), ("mwu_p", 1e-4), ("welch_t", 1e-6)):
                if key in ref and ref[key] is not None and got.get(key) is not None:
                    want = float(ref[key])
                    self.assertLessEqual(abs(got[key] - want), rel * max(abs(want), 1e-300),
                                         f"{case} {key}: {got[key]} vs R {want}")

    def test_bad_input_names_file_and_line(self):
        with tempfile.TemporaryDirectory() as d:
            a = os.path.join(d, "a.txt")
            with open(a, "w") as f:
                f.write("1.0\n2.0\nnan\n")
            p = run(["stats", a, "--json"], check=2)
            self.assertIn(a + ":3", p.stderr)
            p = run(["stats", os.path.join(d, "missing.txt")], check=2)
            self.assertIn("missing.txt", p.stderr)


class Compare(unittest.TestCase):
    def results(self, ms, d, name):
        path = os.path.join(d, name)
        with PluginDir("fault_spin") as pd:
            run(["--plugin-dir", pd, "--plugin", "fault:spin", "--param", f"ms={ms}",
                 "--repetitions", "8", "--warmup", "0", "--output", path, "--quiet"], check=0)
        return path

    def test_regression_gate(self):
        with tempfile.TemporaryDirectory() as d:
            base = self.results(20, d, "base.json")
            same = self.results(20, d, "same.json")
            slow = self.results(40, d, "slow.json")
            p = run(["compare", base, slow, "--threshold", "5%"], check=1)
            self.assertIn("REGRESSION", p.stdout)
            self.assertIn("fault:spin train", p.stdout)
            p = run(["compare", slow, base], check=0)
            self.assertIn("improvement", p.stdout)
            p = run(["compare", base, same, "--threshold", "25%"], check=0)
            self.assertNotIn("REGRESSION", p.stdout)
            p = run(["compare", base, slow, "--json"], check=1)
            rows = json.loads(p.stdout)
            train = [r for r in rows if r["what"] == "fault:spin train"][0]
            self.assertAlmostEqual(train["change"], 1.0, delta=0.15)

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


class RunComparisons(unittest.TestCase):
    def test_summary_and_verdicts_in_results(self):
        with PluginDir("fault_spin", "slow_sleep") as pd:
            p, doc = run_json(["--plugin-dir", pd, "--plugin", "fault:spin", "--param", "ms=10",
                               "--repetitions", "5", "--warmup", "0"])
        s = doc["runs"][0]["summary"]["phases"]["train"]["wall_s"]
        for k in ("n", "mean", "median", "sd", "min", "max", "iqr", "mad", "cv", "ci95_low",
                  "ci95_high", "shapiro_w", "shapiro_p"):
            self.assertIn(k, s)
        self.assertEqual(s["n"], 5)


if __name__ == "__main__":
    main()
