"""The clustering task through the real engine: naive and openblas agree
with each other (and with the scikit-learn peer where python3-sklearn is
installed, the Rust peer where tools/setup.sh --peers built it) on k-means
from the first rows, DBSCAN and agglomerative clustering; infer exists for
k-means only; bad parameters and oversized problems fail clearly; export for
peers writes the arrays."""
import os
import shutil
import subprocess
import tempfile
import unittest

from common import SOURCE_ROOT, run, run_by_variant, run_json

HAVE_SKLEARN = subprocess.run(["/usr/bin/python3", "-c", "import sklearn, scipy"],
                              capture_output=True).returncode == 0
RUST_DIR = os.path.join(SOURCE_ROOT, "tools", "peers", "rust")
HAVE_RUST = os.access(os.path.join(RUST_DIR, "bin", "mlbench-clustering-peer"), os.X_OK)

IRIS = ["--param", "dataset=iris", "--param", "n_clusters=3"]
# One repetition: these check answers, not timings (a peer start costs a
# Python start-up and scikit-learn's imports).
QUICK = ["--repetitions", "1", "--warmup", "0"]


def plugins(*specs):
    out = []
    for s in specs:
        out += ["--plugin", s]
    return out


def metrics(run_doc, rep=0):
    return run_doc["repetitions"][rep]["metrics"]


def value(run_doc, name, rep=0):
    return metrics(run_doc, rep)[name]["value"]


class ClusteringTest(unittest.TestCase):
    def variants(self, base):
        out = list(base)
        if HAVE_SKLEARN:
            out.append("clustering:sklearn")
        return out

    def assert_same(self, runs, names, rel=1e-9):
        ref = runs[names[0]]
        for v in names[1:]:
            for m in ("inertia", "merge_height_sum", "noise_fraction", "n_clusters_found",
                      "ari", "silhouette", "davies_bouldin"):
                if m in metrics(ref):
                    a, b = value(ref, m), value(runs[v], m)
                    self.assertLessEqual(abs(a - b), rel * max(abs(a), 1e-300) + 1e-15,
                                         (m, names[0], a, v, b))

    def test_kmeans_from_first_rows_agrees_everywhere(self):
        # One --plugin per variant: lloyd and elkan, every implementation,
        # from the same initial centres: same iterations, inertia, labels.
        specs = self.variants(["clustering:naive", "clustering:openblas"])
        for algo in ("lloyd", "elkan"):
            _, doc = run_json(plugins(*specs) + IRIS + QUICK + [
                "--param", "init=first", "--param", f"algorithm={algo}",
                "--infer-queries", "3", "--param", "batch_size=100"])
            runs = run_by_variant(doc)
            for v, r in runs.items():
                self.assertEqual(r["status"], "ok", (v, r.get("message")))
                self.assertEqual(value(r, "iterations"), 12, (algo, v))  # sklearn's n_iter_
                self.assertAlmostEqual(value(r, "inertia"), 78.85566582597731, delta=1e-7)
                rep = r["repetitions"][0]
                self.assertEqual(rep["phases"]["train"]["items"], 150)
                self.assertEqual(rep["phases"]["infer"]["items"], 300)  # 3 queries of 100
            self.assert_same(runs, sorted(runs))
        self.assertAlmostEqual(value(runs["naive"], "ari"), 0.7163421126838475, places=12)

    def test_kmeans_task_group_compares_variants(self):
        # The headline: --plugin clustering --param model=kmeans
        # compares every available variant, with statistics.
        _, doc = run_json(["--plugin", "clustering", "--param", "model=kmeans", "--param",
                           "n_samples=2000", "--param", "n_features=4", "--param", "centers=4",
                           "--param", "n_clusters=4", "--param", "init=first",
                           "--repetitions", "1", "--warmup", "0", "--infer-queries", "2"],
                          expect_rc=0)
        runs = run_by_variant(doc)
        want = {"naive", "openblas"} | ({"sklearn"} if HAVE_SKLEARN else set()) | \
               ({"rust"} if HAVE_RUST else set())
        self.assertEqual(set(runs), want)
        for v, r in runs.items():
            self.assertEqual(r["status"], "ok", (v, r.get("message")))
            self.assertEqual(value(r, "ari"), 1.0, v)  # well-separated blobs
        self.assert_same(runs, sorted(runs))
        pairs = {frozenset((c["a"], c["b"])) for c in doc["comparisons"]
                 if c["quantity"] == "train"}
        self.assertIn(frozenset(("naive", "openblas")), pairs)

    def test_kmeanspp_is_deterministic(self):
        args = plugins("clustering:naive", "clustering:openblas") + [
            "--repetitions", "2", "--warmup", "0",
            "--param", "n_samples=3000", "--param", "n_features=5", "--param", "centers=5",
            "--param", "n_clusters=5", "--param", "init=k-means++", "--param", "n_init=2",
            "--infer-queries", "1"]
        _, d1 = run_json(args)
        _, d2 = run_json(args)
        r1, r2 = run_by_variant(d1), run_by_variant(d2)
        for v in ("naive", "openblas"):
            self.assertEqual(metrics(r1[v], 0)["inertia"], metrics(r2[v], 1)["inertia"])
        # The same draws in both variants: the same initial centres.
        self.assertAlmostEqual(value(r1["naive"], "inertia") / value(r1["openblas"], "inertia"),
                               1.0, places=9)

    def test_dbscan_indexes_agree(self):
        specs = self.variants(["clustering:naive", "clustering:openblas"])
        common = ["--param", "model=dbscan", "--param", "n_samples=600", "--param",
                  "n_features=2", "--param", "centers=4", "--param", "eps=0.35", "--param",
                  "min_samples=6"] + QUICK
        seen = {}
        for index in ("kdtree", "brute"):
            extra = plugins("clustering:rust") if HAVE_RUST and index == "brute" else []
            _, doc = run_json(plugins(*specs) + extra + common + ["--param", f"index={index}"])
            runs = run_by_variant(doc)
            for v, r in runs.items():
                self.assertEqual(r["status"], "ok", (v, r.get("message")))
                # No infer phase: the queries (the engine's default count) do nothing.
                self.assertEqual(r["repetitions"][0]["phases"].get("infer", {}).get("items", 0), 0)
                self.assertNotIn("inertia", metrics(r))
                seen[(index, v)] = r
            self.assert_same(runs, sorted(runs))
        self.assert_same({k: v for k, v in seen.items()},
                         [("kdtree", "naive"), ("brute", "naive"), ("brute", "openblas")])

    def test_agglomerative_linkages_agree(self):
        # scikit-learn for two of them here (each peer start is a Python
        # start-up); every linkage is held to it in tests/test_clustering.c,
        # and average on iris below.
        for linkage in ("ward", "average", "complete", "single"):
            base = ["clustering:naive", "clustering:openblas"]
            specs = self.variants(base) if linkage in ("ward", "single") else base
            _, doc = run_json(plugins(*specs) + QUICK + [
                "--param", "model=agglomerative", "--param", f"linkage={linkage}",
                "--param", "n_samples=300", "--param", "n_features=3", "--param", "centers=3",
                "--param", "n_clusters=3", "--infer-queries", "0"])
            runs = run_by_variant(doc)
            for v, r in runs.items():
                self.assertEqual(r["status"], "ok", (linkage, v, r.get("message")))
                self.assertIn("merge_height_sum", metrics(r))
            self.assert_same(runs, sorted(runs))

    def test_agglomerative_on_iris_matches_sklearn_with_ties(self):
        # iris has duplicate rows and tied distances: the exact distances
        # (both variants) break ties as SciPy does.
        if not HAVE_SKLEARN:
            self.skipTest("python3-sklearn is not installed")
        _, doc = run_json(plugins("clustering:naive", "clustering:openblas",
                                  "clustering:sklearn") + IRIS + QUICK + [
            "--param", "model=agglomerative", "--param", "linkage=average",
            "--infer-queries", "0"])
        self.assert_same(run_by_variant(doc), ["sklearn", "naive", "openblas"], rel=1e-12)

    def test_errors_are_clear(self):
        p = run(plugins("clustering:naive") + ["--param", "model=spectral"], check=2)
        self.assertIn("parameter model: 'spectral' is not one of kmeans, dbscan, agglomerative",
                      p.stderr)
        p = run(plugins("clustering:naive") + ["--param", "linkage=wards"], check=2)
        self.assertIn("(did you mean 'ward'?)", p.stderr)
        p = run(plugins("clustering:naive") + ["--param", "eps=0"], check=2)
        self.assertIn("parameter eps", p.stderr)
        p = run(plugins("clustering:naive") + ["--param", "dataset=nope"] + QUICK, check=2)
        self.assertIn("unknown dataset 'nope'", p.stderr)
        self.assertIn("blobs", p.stderr)
        # The O(n^2) guard: a clear refusal in setup, said once.
        p = run(plugins("clustering:naive") + QUICK + [
            "--param", "model=agglomerative", "--param", "n_samples=3000", "--param",
            "max_n=2000"], check=1)
        self.assertIn("max_n=2000 refuses it", p.stderr)
        self.assertIn("linkage=single", p.stderr)

    def test_users_own_file(self):
        # iris as a user's CSV: a header, string labels in the last column.
        d = tempfile.mkdtemp(prefix="mlb-clu-file-")
        try:
            src = os.path.join(SOURCE_ROOT, "data", "iris.csv")
            names = ["setosa", "versicolor", "virginica"]
            path = os.path.join(d, "flowers.csv")
            with open(src) as f, open(path, "w") as g:
                rows = f.read().splitlines()[1:]  # sklearn's layout: a count header
                g.write("sl,sw,pl,pw,species\n")
                for r in rows:
                    c = r.split(",")
                    g.write(",".join(c[:4] + [names[int(c[4])]]) + "\n")
            _, doc = run_json(plugins("clustering:naive") + QUICK + [
                "--param", f"dataset={path}", "--param", "n_clusters=3", "--param",
                "init=first", "--infer-queries", "0"])
            r = doc["runs"][0]
            self.assertEqual(r["status"], "ok", r.get("message"))
            self.assertEqual(value(r, "iterations"), 12)
            self.assertAlmostEqual(value(r, "ari"), 0.7163421126838475, places=12)
            # The same data laid out otherwise: labels first, ';' between
            # fields; the file options say how to read it.
            path2 = os.path.join(d, "flowers2.txt")
            with open(path2, "w") as g:
                g.write("species;sl;sw;pl;pw\n")
                for r2 in rows:
                    c = r2.split(",")
                    g.write(";".join([names[int(c[4])]] + c[:4]) + "\n")
            _, doc = run_json(plugins("clustering:naive") + QUICK + [
                "--param", f"dataset={path2}", "--param", "target=species", "--param",
                "delimiter=;", "--param", "header=true", "--param", "format=csv",
                "--param", "n_clusters=3", "--param", "init=first", "--infer-queries", "0"])
            r = doc["runs"][0]
            self.assertEqual(r["status"], "ok", r.get("message"))
            self.assertEqual(value(r, "iterations"), 12)
            self.assertAlmostEqual(value(r, "ari"), 0.7163421126838475, places=12)
            # A target column the file lacks: an input error, said once.
            p = run(plugins("clustering:naive") + QUICK + [
                "--param", f"dataset={path2}", "--param", "target=genus", "--param",
                "delimiter=;"])
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertIn("genus", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_describe_says_which_models_infer(self):
        p = run(["--describe", "clustering:naive"], check=0)
        self.assertIn("only kmeans has an infer phase", p.stdout)

    def test_export_data_writes_npy(self):
        d = tempfile.mkdtemp(prefix="mlb-clu-export-")
        try:
            run(plugins("clustering:naive") + ["--param", "n_samples=3000", "--param",
                                               "n_features=4", "--export-data", d, "--quiet"],
                check=0)
            with open(os.path.join(d, "X.npy"), "rb") as f:
                head = f.read(128)
            self.assertEqual(head[:6], b"\x93NUMPY")
            self.assertIn(b"(3000, 4)", head)
            with open(os.path.join(d, "silhouette_idx.npy"), "rb") as f:
                self.assertIn(b"(2000,)", f.read(128))  # silhouette_sample's default
            self.assertTrue(os.path.exists(os.path.join(d, "y.npy")))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_rust_peer_unavailable_says_why(self):
        # The descriptor without its binary (a copy under another variant
        # name, beside no bin/): listed, unavailable, with the reason.
        d = tempfile.mkdtemp(prefix="mlb-clu-rust-")
        try:
            with open(os.path.join(RUST_DIR, "clustering-rust.peer.yaml")) as f:
                text = f.read().replace("variant: rust", "variant: rust-unbuilt")
            with open(os.path.join(d, "clustering-rust.peer.yaml"), "w") as f:
                f.write(text)
            p = run(["--plugin-dir", d, "--list"], check=0)
            line = [l for l in p.stdout.splitlines() if "rust-unbuilt" in l]
            self.assertEqual(len(line), 1, p.stdout)
            self.assertIn("tools/setup.sh --peers", line[0])
            self.assertNotIn(" yes ", line[0])
        finally:
            shutil.rmtree(d, ignore_errors=True)

    @unittest.skipUnless(HAVE_RUST, "the Rust peer is not built (tools/setup.sh --peers)")
    def test_rust_peer_matches_and_refuses_the_rest(self):
        _, doc = run_json(plugins("clustering:naive", "clustering:rust") + IRIS + QUICK + [
            "--param", "init=first", "--infer-queries", "2"])
        runs = run_by_variant(doc)
        for v, r in runs.items():
            self.assertEqual(r["status"], "ok", (v, r.get("message")))
        self.assertEqual(value(runs["rust"], "iterations"), 12)
        self.assertEqual(runs["rust"]["repetitions"][0]["phases"]["infer"]["items"], 300)
        self.assert_same(runs, ["naive", "rust"])
        # k-means++: the plugin's draws, so the same initial centres.
        _, doc = run_json(plugins("clustering:naive", "clustering:rust") + QUICK + [
            "--param", "n_samples=2000", "--param", "n_features=3", "--param", "n_clusters=6",
            "--param", "init=k-means++", "--param", "n_init=2", "--infer-queries", "1"])
        runs = run_by_variant(doc)
        self.assert_same(runs, ["naive", "rust"])
        self.assertEqual(value(runs["naive"], "iterations"), value(runs["rust"], "iterations"))
        _, doc = run_json(plugins("clustering:rust") + IRIS + QUICK + [
            "--param", "algorithm=elkan", "--infer-queries", "1"], expect_rc=1)
        self.assertIn("the rust peer runs model=kmeans", doc["runs"][0]["message"])


if __name__ == "__main__":
    unittest.main()
