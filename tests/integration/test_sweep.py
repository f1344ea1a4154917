"""Sweeps: a list or range of values (command line or suite) makes one group
per point of the cartesian product; the scaling block fits each variant's
cost against the swept size."""
import os
import tempfile
import unittest

from common import PluginDir, main, run, run_json


class Sweep(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.pd = PluginDir("rules_a", "rules_b")

    @classmethod
    def tearDownClass(cls):
        cls.pd.__exit__()

    def doc(self, args, **kw):
        return run_json(["--plugin-dir", self.pd.path, "--repetitions", "2", "--warmup", "0"]
                        + list(args), **kw)[1]

    def test_gemm_scaling_exponents(self):
        # m = n = k swept together: time ~ n^3, the memory train holds ~ n^2.
        d = self.doc(["--plugin", "gemm:naive,openblas", "--param", "m=n=k=48..384*2",
                      "--repetitions", "5", "--infer-queries", "1", "--warmup", "1"])
        self.assertEqual([g["point"] for g in d["groups"]],
                         [{"m=n=k": v} for v in (48, 96, 192, 384)])
        self.assertEqual(d["sweep"]["params"], ["m=n=k"])
        self.assertEqual([r["params"]["k"] for r in d["runs"]], [48, 48, 96, 96, 192, 192, 384, 384])
        # Times on a shared machine are noisy (another tenant can stretch one
        # size): the bounds are wide, the class and the memory fit are firm.
        # OpenBLAS's smallest sizes are tens of microseconds, where the call's
        # fixed cost and its kernel switches by size flatten the fit (2.25
        # seen on a loaded machine): its lower bound is wider than naive's.
        fits = {(c["variant"], c["quantity"]): c for c in d["scaling"]}
        for v in ("naive", "openblas"):
            t = fits[(v, "train_s")]
            self.assertEqual(t["x"], [48, 96, 192, 384])
            self.assertGreater(t["exponent"], 2.3 if v == "naive" else 1.8, t)
            self.assertLess(t["exponent"], 4.0, t)
            self.assertIn(t["complexity"], ("O(n^2)", "O(n^3)"), t)
            lo, hi = t["exponent_ci95"]
            self.assertLess(lo, t["exponent"])
            self.assertGreater(hi, t["exponent"])
        # naive's memory is its three matrices: n^2 above a floor.
        # (AddressSanitizer's allocator pads small blocks: a little flatter,
        # 1.7 seen.)
        m = fits[("naive", "train_rss_added_bytes")]
        self.assertGreater(m["exponent"], 1.4, m)
        self.assertLess(m["exponent"], 2.4, m)
        self.assertEqual(m["complexity"], "O(n^2)", m)
        # OpenBLAS adds its packing buffers, whose touched pages follow its
        # blocking rather than n^2: up to 384 they bend its curve (1.4 under
        # ASan, classed n log n). From 96 to 768 the matrices dominate. (A
        # run of its own: naive at 768 under ASan takes a minute.)
        d = self.doc(["--plugin", "gemm:openblas", "--param", "m=n=k=96..768*2",
                      "--repetitions", "3", "--infer-queries", "1", "--warmup", "1"])
        m = {c["quantity"]: c for c in d["scaling"]}["train_rss_added_bytes"]
        self.assertEqual(m["x"], [96, 192, 384, 768])
        self.assertGreater(m["exponent"], 1.7, m)
        self.assertLess(m["exponent"], 2.3, m)
        self.assertEqual(m["complexity"], "O(n^2)", m)
        # The terminal shows the same fits.
        p = run(["--plugin", "gemm:naive", "--param", "m=n=k=32,48,64", "--repetitions", "2",
                 "--warmup", "0", "--infer-queries", "1"], check=0)
        self.assertIn("Scaling over the sweep", p.stdout)
        self.assertIn("m=n=k", p.stdout)

    def test_cartesian_product_and_lists(self):
        d = self.doc(["--plugin", "rules", "--param", "n=2,4", "--param", "mode=single,pair"])
        self.assertEqual([g["point"] for g in d["groups"]],
                         [{"n": 2, "mode": "single"}, {"n": 2, "mode": "pair"},
                          {"n": 4, "mode": "single"}, {"n": 4, "mode": "pair"}])
        for g in d["groups"]:
            self.assertEqual(len(g["runs"]), 2)
            for r in g["runs"]:
                self.assertEqual(d["runs"][r]["params"]["n"], g["point"]["n"])
        # Each point is its own group: comparisons never cross points.
        for c in d["comparisons"]:
            self.assertEqual(d["runs"][c["run_a"]]["group"], d["runs"][c["run_b"]]["group"])
        # A string without choices keeps its commas: one value, not a sweep.
        d = self.doc(["--plugin", "rules:a", "--param", "free=x,y"])
        self.assertEqual(len(d["groups"]), 1)
        self.assertEqual(d["runs"][0]["params"]["free"], "x,y")
        self.assertNotIn("sweep", d)
        # Ranges with steps.
        d = self.doc(["--plugin", "rules:a", "--param", "n=2..8+3"])
        self.assertEqual([g["point"]["n"] for g in d["groups"]], [2, 5, 8])

    def test_each_point_is_checked(self):
        p = run(["--plugin-dir", self.pd.path, "--plugin", "rules", "--param", "n=32..128*2"],
                check=2)
        self.assertIn("parameter n: 128 is out of range", p.stderr)
        p = run(["--plugin-dir", self.pd.path, "--plugin", "rules", "--param", "n=8..2"], check=2)
        self.assertIn("a range is FROM..TO", p.stderr)
        p = run(["--plugin-dir", self.pd.path, "--plugin", "rules", "--param", "rules:a.n=2,4"],
                check=2)
        self.assertIn("scope it to the task", p.stderr)

    def test_suite_sweep(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "s.yaml")
            with open(path, "w") as f:
                f.write("benchmarks:\n  - task: rules\n    variants: [b, a]\n    baseline: a\n"
                        "    params:\n      n: [2, 4, 6]\n      alpha: 0.25\n")
            d = self.doc(["--config", path])
            self.assertEqual([g["point"] for g in d["groups"]], [{"n": 2}, {"n": 4}, {"n": 6}])
            for g in d["groups"]:
                self.assertEqual(g["baseline_variant"], "a")
                self.assertEqual(g["baseline_rule"], "suite")
            self.assertTrue(all(r["params"]["alpha"] == 0.25 for r in d["runs"]))
            with open(path, "w") as f:
                f.write("benchmarks:\n  - task: rules\n    params:\n      n: [2, 400]\n")
            p = run(["--plugin-dir", self.pd.path, "--config", path], check=2)
            self.assertIn(f"{path}:4:10: rules:a: parameter n: 400 is out of range", p.stderr)


if __name__ == "__main__":
    main()
