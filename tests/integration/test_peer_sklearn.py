"""regression:sklearn through the bridge: on the identical data the native
variants use, scikit-learn reaches the same fit. Skipped where Debian's
python3-sklearn is not installed (tools/setup.sh --peers)."""
import subprocess
import unittest

from common import main, run, run_by_variant, run_json

HAVE_SKLEARN = subprocess.run(["/usr/bin/python3", "-c", "import sklearn"],
                              capture_output=True).returncode == 0


@unittest.skipUnless(HAVE_SKLEARN, "python3-sklearn is not installed")
class SklearnPeer(unittest.TestCase):
    def check(self, algorithm, extra=()):
        p, doc = run_json(["--plugin", "regression:naive", "--plugin", "regression:sklearn",
                           "--param", f"algorithm={algorithm}", "--repetitions", "2",
                           "--warmup", "0", "--infer-queries", "3"] + list(extra))
        runs = run_by_variant(doc)
        for v in ("naive", "sklearn"):
            self.assertEqual(runs[v]["status"], "ok", runs[v].get("message"))
        m_n = runs["naive"]["repetitions"][0]["metrics"]
        m_s = runs["sklearn"]["repetitions"][0]["metrics"]
        # Both time the fits in train and score in teardown: the same metric
        # names, directions and set of phases.
        for m in (m_n, m_s):
            self.assertEqual(sorted(m), sorted(["fit_s", "iterations", "r2", "rmse", "mae",
                                                "objective"]))
        self.assertEqual({k: v["better"] for k, v in m_n.items()},
                         {k: v["better"] for k, v in m_s.items()})
        return m_n, m_s, runs

    def test_ridge_same_fit_on_diabetes(self):
        m_n, m_s, runs = self.check("ridge")
        self.assertAlmostEqual(m_n["r2"]["value"], m_s["r2"]["value"], places=9)
        rel = abs(m_n["objective"]["value"] - m_s["objective"]["value"]) / m_s["objective"]["value"]
        self.assertLess(rel, 1e-9)
        rep = runs["sklearn"]["repetitions"][0]
        self.assertGreater(rep["peer"]["start_s"], 0)
        self.assertGreater(rep["phases"]["setup"]["rss_peak_bytes"], 20 * 2**20)  # a Python process

    def test_lasso_same_objective(self):
        m_n, m_s, _ = self.check("lasso", ["--param", "alpha=0.1", "--param", "standardize=true"])
        rel = abs(m_n["objective"]["value"] - m_s["objective"]["value"]) / m_s["objective"]["value"]
        self.assertLess(rel, 1e-6)

    def test_precompute_reaches_sklearn(self):
        # Both forms of coordinate descent, on each side: the same fit, and
        # the peer refuses a value the native plugin refuses.
        for pre in ("true", "false"):
            m_n, m_s, _ = self.check("elasticnet", ["--param", "alpha=0.05", "--param",
                                                    "standardize=true", "--param",
                                                    f"precompute={pre}"])
            rel = abs(m_n["objective"]["value"] - m_s["objective"]["value"]) / m_s["objective"]["value"]
            self.assertLess(rel, 1e-6, pre)
        # The peer takes the native variant's parameters and so its rules.
        p = run(["--plugin", "regression:sklearn", "--param", "algorithm=lasso",
                 "--param", "precompute=maybe", "--repetitions", "1", "--warmup", "0",
                 "--infer-queries", "1"], check=2)
        self.assertIn("regression:sklearn: parameter precompute: 'maybe' is not one of auto, "
                      "true, false", p.stderr)


if __name__ == "__main__":
    main()
