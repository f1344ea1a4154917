"""Discovery, selection, parameters, suites and the results document, on the
bundled gemm plugins and the test-only plugins."""
import json
import os
import re
import shutil
import tempfile
import unittest

from common import ENGINE, PluginDir, main, run, run_by_variant, run_json

SMALL = ["--param", "m=48", "--param", "n=40", "--param", "k=56"]


class Listing(unittest.TestCase):
    def test_list_table_has_gemm_variants(self):
        p = run(["--list"], check=0)
        for v in ("naive", "blocked", "openblas"):
            self.assertRegex(p.stdout, rf"gemm\s+{v}\s+yes")

    def test_list_json_fields(self):
        p = run(["--list", "--json"], check=0)
        items = json.loads(p.stdout)
        gemm = [i for i in items if i["task"] == "gemm"]
        self.assertEqual({i["variant"] for i in gemm}, {"naive", "blocked", "openblas"})
        for i in gemm:
            for k in ("task", "variant", "description", "available", "reason", "path", "params"):
                self.assertIn(k, i)
            self.assertTrue(i["available"])
            self.assertIsNone(i["reason"])
            names = {p["name"] for p in i["params"]}
            self.assertTrue({"m", "n", "k", "dtype", "threads"} <= names)
            for prm in i["params"]:
                self.assertIn(prm["type"], ("int", "float", "string", "bool"))
                self.assertIn("default", prm)
                self.assertIn("help", prm)

    def test_describe(self):
        p = run(["--describe", "gemm:openblas"], check=0)
        self.assertIn("dtype", p.stdout)
        self.assertIn("threads", p.stdout)
        p = run(["--describe", "gemm:nope"], check=2)
        self.assertIn("gemm:nope", p.stderr)

    def test_plugin_path_env_and_dir(self):
        with PluginDir("fault_spin") as d:
            env = dict(os.environ, MLBENCH_PLUGIN_PATH=d)
            import subprocess
            p = subprocess.run([ENGINE, "--list"], capture_output=True, text=True, env=env)
            self.assertRegex(p.stdout, r"fault\s+spin")
            p = run(["--plugin-dir", d, "--list"], check=0)
            self.assertRegex(p.stdout, r"fault\s+spin")


class BadPlugins(unittest.TestCase):
    def test_non_plugins_skipped_with_warning(self):
        with PluginDir("notplugin", "wrongabi", "fault_spin") as d:
            with open(os.path.join(d, "x.so"), "wb") as f:
                f.write(b"this is not an ELF object\n" * 10)
            p = run(["--plugin-dir", d, "--list"], check=0)
            self.assertRegex(p.stderr, r"notplugin\.so: skipped, not an mlbench plugin")
            self.assertRegex(p.stderr, r"x\.so: skipped, cannot load")
            self.assertRegex(p.stderr, r"wrongabi\.so: ABI version 2, engine expects 1")
            self.assertRegex(p.stdout, r"fault\s+spin")      # the good one still loads
            self.assertNotRegex(p.stdout, r"wrongabi")

    def test_duplicate_names_are_an_error_naming_both(self):
        with PluginDir("dup_a", "dup_b") as d:
            p = run(["--plugin-dir", d, "--list"], check=2)
            self.assertIn("dup:same", p.stderr)
            self.assertIn(os.path.join(d, "dup_a.so"), p.stderr)
            self.assertIn(os.path.join(d, "dup_b.so"), p.stderr)


class Params(unittest.TestCase):
    def test_unknown_param(self):
        p = run(["--plugin", "gemm", "--param", "bogus=1"], check=2)
        self.assertRegex(p.stderr, r"--param: gemm:\w+: no parameter 'bogus'")

    def test_ill_typed_param(self):
        p = run(["--plugin", "gemm:naive", "--param", "m=abc"], check=2)
        self.assertIn("gemm:naive", p.stderr)
        self.assertIn("parameter m: 'abc' is not an integer", p.stderr)

    def test_unknown_plugin_and_options(self):
        self.assertIn("no task 'nosuchtask'", run(["--plugin", "nosuchtask"], check=2).stderr)
        self.assertIn("no plugin gemm:nosuch", run(["--plugin", "gemm:nosuch"], check=2).stderr)
        run(["--repetitions", "0", "--plugin", "gemm"], check=2)
        run(["--bogus-option"], check=2)
        self.assertIn("Usage", run(["--help"], check=0).stdout)

    def test_plugin_rejects_bad_value(self):
        # The rules reject it before anything runs: no repetition, exit 2.
        p = run(["--plugin", "gemm:naive", "--param", "dtype=f16", "--repetitions", "1",
                 "--warmup", "0"], check=2)
        self.assertIn("gemm:naive: parameter dtype: 'f16' is not one of f32, f64", p.stderr)


class GemmRun(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.proc, cls.doc = run_json(["--plugin", "gemm", "--repetitions", "3", "--warmup", "1",
                                      "--infer-queries", "4"] + SMALL)

    def test_schema_and_environment(self):
        d = self.doc
        self.assertEqual(d["schema"], "mlbench.result/1")
        self.assertEqual(d["status"], "complete")
        env = d["environment"]
        for k in ("hostname", "cpu_model", "cpu_cores_online", "kernel", "compiler",
                  "openblas_config", "gsl_version", "libyaml_version", "cjson_version",
                  "engine_version", "git_commit", "timestamp_utc", "command_line", "seed"):
            self.assertIn(k, env)
        self.assertEqual(env["seed"], 42)
        self.assertIn("--plugin", env["command_line"])

    def test_three_variants_ok_with_phases(self):
        runs = run_by_variant(self.doc)
        self.assertEqual(set(runs), {"naive", "blocked", "openblas"})
        for v, r in runs.items():
            self.assertEqual(r["status"], "ok", v)
            self.assertEqual(r["params"]["m"], 48)
            self.assertEqual(len(r["repetitions"]), 3)
            self.assertEqual(r["warmup_status"], ["ok"])
            for rep in r["repetitions"]:
                for ph in ("setup", "train", "infer", "teardown"):
                    m = rep["phases"][ph]
                    for k in ("wall_s", "cpu_user_s", "cpu_sys_s", "rss_peak_bytes", "rss_avg_bytes"):
                        self.assertIsInstance(m[k], (int, float), (v, ph, k))
                    self.assertGreater(m["wall_s"], 0)
                self.assertEqual(rep["phases"]["train"]["flops"], 2 * 48 * 40 * 56)
                self.assertEqual(len(rep["infer_latency_s"]), 4)
                self.assertLess(rep["metrics"]["max_rel_err"]["value"], 1e-4)
            s = r["summary"]
            self.assertEqual(s["phases"]["train"]["wall_s"]["n"], 3)
            self.assertIn("gflop_per_s", s["phases"]["train"])
            self.assertIn("p99", s["infer_latency_s"])

    def test_comparisons(self):
        cmps = self.doc["comparisons"]
        pairs = {(c["a"], c["b"], c["quantity"]) for c in cmps}
        self.assertEqual(len([p for p in pairs if p[2] == "train"]), 3)
        for c in cmps:
            self.assertIn("verdict", c)
            self.assertIn(c["chosen_test"], ("welch", "mann-whitney", "none"))

    def test_table_printed(self):
        p = run(["--plugin", "gemm", "--repetitions", "2", "--warmup", "0"] + SMALL, check=0)
        for v in ("naive", "blocked", "openblas"):
            self.assertIn(v, p.stdout)
        self.assertIn("GFLOP/s", p.stdout)
        self.assertIn("speed-up", p.stdout)

    def test_sequential_order_and_seed(self):
        p, doc = run_json(["--plugin", "gemm:naive", "--order", "sequential", "--seed", "7",
                           "--repetitions", "2"] + SMALL)
        self.assertEqual(doc["environment"]["seed"], 7)
        self.assertEqual(doc["runs"][0]["status"], "ok")


class Suites(unittest.TestCase):
    def write(self, text):
        d = tempfile.mkdtemp(prefix="mlb-suite-")
        self.addCleanup(shutil.rmtree, d, True)
        path = os.path.join(d, "s.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_suite_runs_and_cli_overrides(self):
        path = self.write("suite: t\nrepetitions: 4\nwarmup: 0\nbenchmarks:\n"
                          "  - task: gemm\n    variants: [naive, openblas]\n"
                          "    params: {m: 32, n: 32, k: 32}\n")
        p, doc = run_json(["--config", path, "--repetitions", "2", "--param", "m=24"])
        runs = run_by_variant(doc)
        self.assertEqual(set(runs), {"naive", "openblas"})
        self.assertEqual(len(runs["naive"]["repetitions"]), 2)   # CLI over suite
        self.assertEqual(runs["naive"]["params"]["m"], 24)       # CLI over suite
        self.assertEqual(runs["naive"]["params"]["n"], 32)       # from the suite

    def test_suite_unknown_task_has_position(self):
        path = self.write("benchmarks:\n  - task: nosuch\n")
        p = run(["--config", path], check=2)
        self.assertIn(f"{path}:2:11: no task 'nosuch'", p.stderr)

    def test_suite_unknown_variant_and_param_have_position(self):
        path = self.write("benchmarks:\n  - task: gemm\n    variants: [naive, nope]\n")
        self.assertIn(f"{path}:3:23:", run(["--config", path], check=2).stderr)
        path = self.write("benchmarks:\n  - task: gemm\n    params:\n      bogus: 3\n")
        p = run(["--config", path], check=2)
        self.assertIn(f"{path}:4:7:", p.stderr)
        self.assertIn("'bogus'", p.stderr)

    def test_suite_syntax_error(self):
        path = self.write("benchmarks: [\n")
        p = run(["--config", path], check=2)
        self.assertIn(path + ":", p.stderr)

    def test_quick_suite(self):
        quick = os.path.join(os.environ["MLB_SOURCE_ROOT"], "config", "quick.yaml")
        p, doc = run_json(["--config", quick])
        self.assertTrue(all(r["status"] == "ok" for r in doc["runs"]))


class Output(unittest.TestCase):
    def test_unwritable_output_fails_before_running(self):
        p = run(["--plugin", "gemm:naive", "--output", "/nonexistent/dir/r.json"], check=2)
        self.assertIn("/nonexistent/dir", p.stderr)


if __name__ == "__main__":
    main()
