"""The statistics through the real binary: `stats` and the comparisons of a
run (`compare`, the regression gate, is in test_compare.py). Reference values
come from R (tests/ref/stats)."""
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
