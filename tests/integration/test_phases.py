"""The selection, validation and assessment phases through the real binary
(docs/phases.md). References are independent of the engine: dpkg-query's own
answers, the source files' lines counted here, the document's repetitions
read here, /sys and /proc read here."""
import json
import os
import shutil
import statistics
import subprocess
import unittest

from common import ENV, SOURCE_ROOT, main, run, run_json

GEMM_TINY = ["--param", "m=32", "--param", "n=32", "--param", "k=32"]


def dpkg(pkg, field):
    if not shutil.which("dpkg-query"):
        return None
    p = subprocess.run(["dpkg-query", "-W", "-f", "${" + field + "}", pkg],
                       capture_output=True, text=True)
    return p.stdout if p.returncode == 0 and p.stdout else None


def non_blank_lines(rel):
    with open(os.path.join(SOURCE_ROOT, rel)) as f:
        return sum(1 for line in f if line.strip())


def has_sklearn():
    return subprocess.run(["/usr/bin/python3", "-c", "import sklearn, numpy"],
                          capture_output=True).returncode == 0


class Select(unittest.TestCase):
    def test_gemm_matrix_and_packages(self):
        out = json.loads(run(["select", "gemm", "--json"], check=0).stdout)
        impl = {o["variant"]: o for o in out["implementations"]}
        self.assertEqual(set(impl), {"naive", "blocked", "openblas"})
        self.assertEqual({o["task"] for o in out["implementations"]}, {"gemm"})
        self.assertEqual(out["matrix"]["variants"][0], "naive")
        for o in impl.values():
            self.assertTrue(o["available"], o)
            self.assertEqual(o["kind"], "native")
            self.assertTrue(o["dependencies"]["in_table"])
        pk = impl["openblas"]["dependencies"]["packages"]
        self.assertEqual([p["name"] for p in pk], ["libopenblas0-pthread"])
        want = dpkg("libopenblas0-pthread", "Version")
        if want is None:
            print("skip: dpkg-query does not know libopenblas0-pthread; version not checked")
        else:
            self.assertEqual(pk[0]["version"], want)
            self.assertEqual(pk[0]["installed_kib"],
                             float(dpkg("libopenblas0-pthread", "Installed-Size")))
        self.assertEqual(pk[0]["licence"], "BSD-3-clause")
        self.assertEqual(impl["naive"]["dependencies"]["packages"], [])
        self.assertEqual(impl["naive"]["dependencies"]["loc_own"],
                         non_blank_lines("plugins/gemm/naive.c"))

    def test_text_matrix_and_list(self):
        p = run(["select", "gemm", "template"], check=0)
        self.assertIn("TASK", p.stdout)
        rows = [l for l in p.stdout.splitlines() if l.startswith(("gemm ", "template "))]
        self.assertEqual(len(rows), 2, p.stdout)
        self.assertIn("gemm:openblas", p.stdout)
        self.assertIn("libopenblas0-pthread", p.stdout)
        p = run(["select", "gemm", "--matrix"], check=0)
        self.assertNotIn("gemm:openblas", p.stdout)

    def test_peer_availability_matches_the_interpreter(self):
        out = json.loads(run(["select", "svm", "--json"], check=0).stdout)
        peer = [o for o in out["implementations"] if o["variant"] == "sklearn"]
        self.assertEqual(len(peer), 1)
        self.assertEqual(peer[0]["kind"], "peer")
        self.assertEqual(peer[0]["available"], has_sklearn())
        names = [p["name"] for p in peer[0]["dependencies"]["packages"]]
        self.assertIn("python3-sklearn", names)
        if not peer[0]["available"]:
            self.assertIn("why_not", peer[0])

    def test_unknown_task(self):
        p = run(["select", "nosuchtask"], check=2)
        self.assertIn("nosuchtask", p.stderr)


class Validate(unittest.TestCase):
    def test_machine_checks(self):
        p = run(["validate", "--json"], check=0)
        out = json.loads(p.stdout)
        names = [c["check"] for c in out["checks"]]
        for n in ("governor", "turbo", "loadavg", "other_cpu", "OMP_NUM_THREADS",
                  "OPENBLAS_NUM_THREADS", "OPENBLAS_CORETYPE", "memory"):
            self.assertIn(n, names)
        govs = []
        for cpu in range(os.cpu_count()):
            path = "/sys/devices/system/cpu/cpu%d/cpufreq/scaling_governor" % cpu
            if os.path.exists(path):
                with open(path) as f:
                    govs.append(f.read().strip())
        g = next(c for c in out["checks"] if c["check"] == "governor")
        if govs:
            self.assertEqual(g["status"], "ok" if set(govs) == {"performance"} else "bias")
        else:
            self.assertEqual(g["status"], "note")
        n_bias = sum(c["status"] == "bias" for c in out["checks"])
        self.assertEqual(out["bias"], n_bias)
        for c in out["checks"]:
            if c["status"] == "bias":
                self.assertIn("fix", c)
        # --strict exits 1 exactly when something would bias timings.
        p = run(["validate", "--strict", "--json"])
        self.assertEqual(p.returncode, 1 if json.loads(p.stdout)["bias"] else 0, p.stdout)

    def test_oversubscribed_threads_bias_and_strict(self):
        env = dict(ENV, OPENBLAS_NUM_THREADS=str(os.cpu_count() + 5), OPENBLAS_CORETYPE="Haswell")
        p = run(["validate", "--strict", "--no-run", "--json"], env=env)
        self.assertEqual(p.returncode, 1)
        out = json.loads(p.stdout)
        c = {c["check"]: c for c in out["checks"]}
        self.assertEqual(c["OPENBLAS_NUM_THREADS"]["status"], "bias")
        self.assertEqual(c["OPENBLAS_CORETYPE"]["status"], "note")
        self.assertIn("Haswell", c["OPENBLAS_CORETYPE"]["message"])

    def test_quality_parity_of_gemm(self):
        p = run(["validate", "--plugin", "gemm", "--json"] + GEMM_TINY, check=0)
        q = {o["variant"]: o for o in json.loads(p.stdout)["quality"]}
        self.assertEqual(q["naive"]["quality"], "reference")
        self.assertEqual(q["blocked"]["quality"], "parity")
        self.assertEqual(q["openblas"]["quality"], "parity")
        p = run(["validate", "--plugin", "gemm"] + GEMM_TINY, check=0)
        self.assertIn("no variant failed or is worse than its reference", p.stdout)

    def test_unavailable_variant_is_a_note(self):
        sel = json.loads(run(["select", "clustering", "--json"], check=0).stdout)
        rust = [o for o in sel["implementations"] if o["variant"] == "rust"]
        if not rust or rust[0]["available"]:
            print("skip: clustering:rust is built here; no unavailable variant to check")
            return
        p = run(["validate", "--plugin", "clustering:naive,rust", "--json"], check=0)
        q = {o["variant"]: o for o in json.loads(p.stdout)["quality"]}
        self.assertEqual(q["rust"]["quality"], "unavailable")
        self.assertEqual(q["rust"]["detail"], rust[0]["why_not"])

    def test_quality_worse_is_reported_with_a_fix(self):
        # openblas fits a far stronger ridge penalty than the reference: its
        # r2 on the same data is worse, which validate must catch.
        p = run(["validate", "--plugin", "regression:naive,openblas", "--param",
                 "algorithm=ridge", "--param", "regression:openblas.alpha=1000", "--json"],
                check=1)
        q = {o["variant"]: o for o in json.loads(p.stdout)["quality"]}
        self.assertEqual(q["openblas"]["quality"], "worse")
        self.assertIn("r2", q["openblas"]["detail"])
        self.assertIn("fix", q["openblas"])

    def test_bad_suite(self):
        p = run(["validate", "/nonexistent.yaml", "--json"], check=2)
        self.assertIn("quality_error", json.loads(p.stdout))


class Assess(unittest.TestCase):
    def test_gemm_table_from_the_document(self):
        _, doc = run_json(["--plugin", "gemm", "--repetitions", "3", "--warmup", "0"]
                          + GEMM_TINY)
        d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mlb-assess-%d.json" % os.getpid())
        with open(d, "w") as f:
            json.dump(doc, f)
        try:
            out = json.loads(run(["assess", d, "--json"], check=0).stdout)
            md = run(["assess", d, "--markdown"], check=0).stdout
            text = run(["assess", d], check=0).stdout
            run(["assess", d, "--html", d + ".html"], check=0)
            with open(d + ".html") as f:
                page = f.read()
        finally:
            os.unlink(d)
            if os.path.exists(d + ".html"):
                os.unlink(d + ".html")
        self.assertIn('<section class="assessment">', page)
        self.assertIn("<td>gemm:openblas</td>", page)
        self.assertNotIn("<script", page)
        a = {o["variant"]: o for o in out["implementations"]}
        self.assertEqual(set(a), {"naive", "blocked", "openblas"})
        self.assertEqual(a["naive"]["quality"], "reference")
        self.assertEqual(a["openblas"]["quality"], "parity")
        self.assertEqual(a["blocked"]["quality"], "parity")
        for r in doc["runs"]:
            want = statistics.median(rep["memory_timeline"][0][1] for rep in r["repetitions"]
                                     if rep["status"] == "ok")
            self.assertEqual(a[r["variant"]]["rss_before_work_bytes"], want)
            self.assertIsNone(a[r["variant"]]["startup_s"])
        deps = a["openblas"]["dependencies"]
        self.assertEqual(deps["loc_own"], non_blank_lines("plugins/gemm/openblas.c"))
        self.assertEqual(deps["loc_shared"], non_blank_lines("plugins/gemm/gemm.c")
                         + non_blank_lines("plugins/gemm/gemm.h"))
        size = dpkg("libopenblas0-pthread", "Installed-Size")
        if size is None:
            print("skip: dpkg-query does not know libopenblas0-pthread; size not checked")
        else:
            self.assertEqual(deps["installed_kib"], float(size))
        self.assertIn("| implementation |", md)
        self.assertIn("| gemm:openblas | native |", md)
        self.assertNotIn("&amp;", md)
        self.assertIn("in-process", text)

    def test_peer_startup_and_worse_quality(self):
        if not has_sklearn():
            print("skip: python3-sklearn is not installed (tools/setup.sh --peers)")
            return
        _, doc = run_json(["--plugin", "regression:naive,sklearn", "--param", "algorithm=ridge",
                           "--repetitions", "2", "--warmup", "0"], timeout=600)
        d = os.path.join(os.environ.get("TMPDIR", "/tmp"), "mlb-assess-p%d.json" % os.getpid())
        with open(d, "w") as f:
            json.dump(doc, f)
        try:
            out = json.loads(run(["assess", d, "--json"], check=0).stdout)
        finally:
            os.unlink(d)
        a = {o["variant"]: o for o in out["implementations"]}
        sk = a["sklearn"]
        self.assertEqual(sk["kind"], "peer")
        run_sk = next(r for r in doc["runs"] if r["variant"] == "sklearn")
        reps = [r for r in run_sk["repetitions"] if r["status"] == "ok"]
        # The median of an even count is a mean of two: C and Python may round
        # its last bit differently.
        self.assertAlmostEqual(sk["startup_s"],
                               statistics.median(r["peer"]["start_s"] for r in reps), delta=1e-12)
        self.assertAlmostEqual(sk["rss_before_work_bytes"],
                               statistics.median(r["memory_timeline"][0][1] for r in reps),
                               delta=1e-6)
        # An interpreter with numpy and scikit-learn imported holds far more
        # than the engine's forked process.
        self.assertGreater(sk["rss_before_work_bytes"], a["naive"]["rss_before_work_bytes"])
        self.assertIn(sk["quality"], ("parity", "better", "inconclusive"))
        self.assertEqual(sk["dependencies"]["loc_own"],
                         non_blank_lines("tools/peers/regression_sklearn.py")
                         + non_blank_lines("tools/peers/python/mlbench_peer.py"))
        self.assertEqual(sk["dependencies"]["loc_shared"], 0)
        hello = reps[0]["peer"]["hello"]
        self.assertEqual(sk["runtime_versions"],
                         {k: v for k, v in hello.items() if isinstance(v, str) and "threads" not in k})

    def test_bad_input(self):
        p = run(["assess", "/nonexistent.json"], check=2)
        self.assertIn("/nonexistent.json", p.stderr)
        run(["assess"], check=2)


if __name__ == "__main__":
    main()
