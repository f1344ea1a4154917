"""The svm task through the real engine: every variant (naive, openblas,
libsvm, liblinear where built) and the scikit-learn peer (where installed)
on small real data reach the same model, the variants that cannot fit a
model fail with a clear "parameter model" error, bad parameters are refused,
and the peer gets the native arrays."""
import os
import shutil
import tempfile
import unittest

from common import main, run, run_by_variant, run_json


def available():
    """The svm variants --list says can run here (libsvm and liblinear are
    stubs where their -dev packages were missing at build time; the peer
    needs python3-sklearn)."""
    out = run(["--list"], check=0).stdout.splitlines()
    return {f[1] for f in (line.split() for line in out)
            if len(f) >= 3 and f[0] == "svm" and f[2] == "yes"}


AVAILABLE = available()
HAVE_SKLEARN = "sklearn" in AVAILABLE
HAVE_LIBSVM = "libsvm" in AVAILABLE
HAVE_LIBLINEAR = "liblinear" in AVAILABLE

QUICK = ["--repetitions", "2", "--warmup", "0", "--infer-queries", "3"]


def plugins(*specs):
    out = []
    for s in specs:
        out += ["--plugin", s]
    return out


# The peer costs seconds a run (Python, scikit-learn's imports); the unit
# test already holds every kernel against scikit-learn's references, so here
# it joins the runs that check it end to end, not every one.
def kernel_variants(peer=True):
    v = ["naive", "openblas"]
    if HAVE_LIBSVM:
        v.append("libsvm")
    if HAVE_SKLEARN and peer:
        v.append("sklearn")
    return v


def linear_variants(peer=True):
    v = ["naive", "openblas"]
    if HAVE_LIBLINEAR:
        v.append("liblinear")
    if HAVE_SKLEARN and peer:
        v.append("sklearn")
    return v


ONE = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "1"]


def rel(a, b):
    return abs(a - b) / abs(b)


class SvmTest(unittest.TestCase):
    def fit(self, variants, params, expect_rc=0, args=QUICK):
        extra = []
        for p in params:
            extra += ["--param", p]
        _, doc = run_json(["--plugin", "svm:" + ",".join(variants)] + extra + list(args),
                          expect_rc=expect_rc)
        runs = run_by_variant(doc)
        for v in variants:
            self.assertEqual(runs[v]["status"], "ok", (v, runs[v].get("message")))
        return doc, {v: r["repetitions"][0]["metrics"] for v, r in runs.items()}, runs

    def check_same_kernel_model(self, m, n_test):
        base = m["naive"]
        for v, mv in m.items():
            # The same dual objective (recomputed from each variant's own
            # coefficients), support vectors and test accuracy.
            self.assertLess(rel(mv["dual_objective"]["value"], base["dual_objective"]["value"]),
                            1e-6, v)
            self.assertLessEqual(abs(mv["n_support"]["value"] - base["n_support"]["value"]),
                                 0.01 * base["n_support"]["value"], v)
            self.assertLessEqual(abs(mv["accuracy"]["value"] - base["accuracy"]["value"]) * n_test,
                                 1.0 + 1e-9, v)
        # The native solvers and scikit-learn's LIBSVM take the same steps.
        if "sklearn" in m:
            self.assertEqual(m["naive"]["iterations"]["value"], m["sklearn"]["iterations"]["value"])
        self.assertEqual(m["naive"]["iterations"]["value"], m["openblas"]["iterations"]["value"])

    def test_svc_rbf_on_iris_every_variant(self):
        doc, m, runs = self.fit(kernel_variants(), ["dataset=iris"])
        self.check_same_kernel_model(m, 38)
        for v, mv in m.items():
            for name in ("fit_s", "accuracy", "balanced_accuracy", "macro_f1", "n_support",
                         "dual_objective"):
                self.assertIn(name, mv, v)
            self.assertGreater(mv["accuracy"]["value"], 0.9)
            self.assertEqual(mv["n_support"]["better"], "lower")
            rep = runs[v]["repetitions"][0]
            self.assertEqual(rep["phases"]["train"]["items"], 112)  # 150 - 38 test rows
            self.assertEqual(rep["phases"]["infer"]["items"], 3 * 38)  # batch_size 64 > 38
        self.assertNotIn("iterations", m.get("libsvm", {}))  # LIBSVM does not say
        if HAVE_SKLEARN:
            # The peer reports the same metrics, in the same directions.
            self.assertEqual(sorted(m["naive"]), sorted(m["sklearn"]))
            self.assertEqual({k: v["better"] for k, v in m["naive"].items()},
                             {k: v["better"] for k, v in m["sklearn"].items()})
            self.assertGreater(runs["sklearn"]["repetitions"][0]["peer"]["start_s"], 0)
        pairs = {frozenset((c["a"], c["b"])) for c in doc["comparisons"] if c["quantity"] == "train"}
        self.assertIn(frozenset(("naive", "openblas")), pairs)

    def test_kernels_and_nusvc_on_heart_scale(self):
        for params in (["kernel=poly", "coef0=1", "degree=2"], ["kernel=sigmoid", "gamma=auto"],
                       ["kernel=linear", "C=0.5"], ["model=nusvc", "nu=0.5"],
                       ["kernel=rbf", "shrinking=false", "C=4"]):
            with self.subTest(params=params):
                _, m, _ = self.fit(kernel_variants(peer=False), ["dataset=heart_scale"] + params,
                                   args=ONE)
                self.check_same_kernel_model(m, 68)

    def test_digits_subset_and_batches(self):
        # Multiclass one-vs-one on real images (10 classes, 45 pairs), small
        # batches so that infer wraps around the test rows.
        _, m, runs = self.fit(kernel_variants(), ["dataset=digits", "batch_size=100",
                                                  "test_fraction=0.5"],
                              args=["--repetitions", "1", "--warmup", "0",
                                    "--infer-queries", "12"])
        self.check_same_kernel_model(m, 898)
        self.assertGreater(m["naive"]["accuracy"]["value"], 0.95)
        self.assertEqual(runs["naive"]["repetitions"][0]["phases"]["infer"]["items"], 1200)

    def test_linearsvc_every_variant(self):
        for ds, n_test, peer in (("heart_scale", 68, True), ("breast_cancer", 142, False)):
            with self.subTest(dataset=ds):
                _, m, _ = self.fit(linear_variants(peer), ["model=linearsvc", f"dataset={ds}"],
                                   args=ONE)
                base = m["naive"]["primal_objective"]["value"]
                for v, mv in m.items():
                    self.assertLess(rel(mv["primal_objective"]["value"], base), 1e-4, v)
                    self.assertLessEqual(
                        abs(mv["accuracy"]["value"] - m["naive"]["accuracy"]["value"]) * n_test,
                        1.0 + 1e-9, v)
                # Strong duality at the tolerance: the native dual meets the primal.
                self.assertLess(rel(-m["naive"]["dual_objective"]["value"], base), 1e-3)

    def test_synthetic_is_deterministic(self):
        args = ["--plugin", "svm:openblas", "--param", "dataset=synthetic", "--param",
                "n_samples=600", "--param", "n_features=5", "--param", "n_classes=3",
                "--repetitions", "2", "--warmup", "0", "--infer-queries", "1"]
        _, d1 = run_json(args)
        _, d2 = run_json(args)
        r1, r2 = d1["runs"][0]["repetitions"], d2["runs"][0]["repetitions"]
        self.assertEqual(r1[0]["metrics"]["dual_objective"], r2[1]["metrics"]["dual_objective"])
        self.assertEqual(r1[0]["phases"]["train"]["items"], 450)

    @unittest.skipUnless(HAVE_LIBSVM and HAVE_LIBLINEAR, "libsvm-dev or liblinear-dev missing")
    def test_variants_that_cannot_fit_the_model(self):
        # One group: the others fit, the library that has no such model
        # fails in setup, said once, and the run ends with status 1.
        doc, _, runs = self.fit(["naive", "libsvm"], ["dataset=iris"])
        p, doc = run_json(["--plugin", "svm:naive,liblinear", "--param", "dataset=iris"] + QUICK,
                          expect_rc=1)
        runs = run_by_variant(doc)
        self.assertEqual(runs["naive"]["status"], "ok")
        self.assertEqual(runs["liblinear"]["status"], "failed")
        self.assertIn("parameter model: the liblinear variant cannot fit model=svc",
                      runs["liblinear"]["message"])
        # Alone, the refusal is an input error (status 2), as a rule's.
        p = run(plugins("svm:libsvm") + ["--param", "model=linearsvc"] + QUICK, check=2)
        self.assertIn("parameter model: the libsvm variant cannot fit model=linearsvc", p.stderr)
        self.assertEqual(p.stderr.count("cannot fit"), 1, p.stderr)

    def test_bad_parameters_are_refused(self):
        for param, msg in (("C=0", "parameter C: 0 is out of range (must be > 0"),
                           ("nu=0", "parameter nu: 0 is out of range (must be > 0 and <= 1)"),
                           ("nu=1.5", "parameter nu: 1.5 is out of range"),
                           ("kernel=rbff", "parameter kernel: 'rbff' is not one of linear, rbf, "
                                           "poly, sigmoid (did you mean 'rbf'?)"),
                           ("model=svr", "parameter model: 'svr' is not one of svc, nusvc, "
                                         "linearsvc"),
                           ("tol=-1", "parameter tol: -1 is out of range"),
                           ("format=xls", "parameter format: 'xls' is not one of")):
            with self.subTest(param=param):
                p = run(plugins("svm:naive") + ["--param", param] + QUICK, check=2)
                self.assertIn(msg, p.stderr)
        # What only setup can tell: an infeasible nu, gamma's words, the
        # dataset.
        p = run(plugins("svm:naive") + ["--param", "dataset=mnist"] + QUICK, check=2)
        self.assertIn("parameter dataset: unknown dataset 'mnist'", p.stderr)
        self.assertIn("synthetic", p.stderr)
        p = run(plugins("svm:naive") + ["--param", "model=nusvc", "--param", "nu=0.9",
                                        "--param", "dataset=breast_cancer"] + QUICK, check=2)
        self.assertIn("parameter nu: 0.9 is infeasible for classes 0 and 1", p.stderr)
        p = run(plugins("svm:openblas") + ["--param", "gamma=big"] + QUICK, check=2)
        self.assertIn("parameter gamma: 'big' is not scale, auto or a number > 0", p.stderr)

    def test_users_own_file(self):
        # iris as a CSV of the user's, with a header and named classes: the
        # labels become classes 0..2 (sorted names), the rows are
        # standardised (scaling=auto for a file), and every variant fits
        # it as it fits the registered iris with scaling=standard.
        d = tempfile.mkdtemp(prefix="mlb-svm-file-")
        try:
            names = ["setosa", "versicolor", "virginica"]
            path = os.path.join(d, "flowers.csv")
            with open(os.path.join(os.environ["MLB_SOURCE_ROOT"], "data", "iris.csv")) as src, \
                    open(path, "w") as out:
                out.write("sl,sw,pl,pw,species\n")
                for line in list(src)[1:]:
                    *x, y = line.strip().split(",")
                    out.write(",".join(x) + "," + names[int(y)] + "\n")
            _, mine, _ = self.fit(kernel_variants(peer=False), [f"dataset={path}"], args=ONE)
            _, ref, _ = self.fit(["naive"], ["dataset=iris", "scaling=standard"], args=ONE)
            self.check_same_kernel_model(mine, 38)
            self.assertEqual(mine["naive"]["dual_objective"], ref["naive"]["dual_objective"])
            with open(path, "a") as out:
                out.write("1,2,oops,4,setosa\n")
            p = run(plugins("svm:naive") + ["--param", f"dataset={path}"] + ONE, check=2)
            self.assertIn("parameter dataset:", p.stderr)
            self.assertIn("flowers.csv", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_export_data_grouped_by_class(self):
        d = tempfile.mkdtemp(prefix="mlb-svm-export-")
        try:
            run(plugins("svm:naive") + ["--param", "dataset=iris", "--export-data", d, "--quiet"],
                check=0)
            with open(os.path.join(d, "X_train.npy"), "rb") as f:
                self.assertIn(b"(112, 4)", f.read(128))
            with open(os.path.join(d, "y_train.npy"), "rb") as f:
                raw = f.read()
            # The labels after the 128-byte header, as doubles: sorted
            # (the training rows are grouped by class, as LIBSVM groups them).
            import struct
            y = struct.unpack("<112d", raw[-112 * 8:])
            self.assertEqual(list(y), sorted(y))
            self.assertEqual(set(y), {0.0, 1.0, 2.0})
        finally:
            shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(HAVE_SKLEARN, "python3-sklearn is not installed")
class SvmSklearnPeer(unittest.TestCase):
    def test_peer_refuses_what_native_refuses(self):
        # The peer takes svm:naive's parameters, so their rules too.
        p = run(plugins("svm:sklearn") + ["--param", "kernel=gauss"] + ONE, check=2)
        self.assertIn("svm:sklearn: parameter kernel: 'gauss' is not one of", p.stderr)

    def test_peer_refuses_an_infeasible_nu(self):
        # It gets svm:naive's data, so naive's setup refuses first.
        p = run(plugins("svm:sklearn") + ["--param", "model=nusvc", "--param", "nu=0.9",
                                          "--param", "dataset=breast_cancer"] + ONE, check=1)
        self.assertIn("parameter nu: 0.9 is infeasible", p.stdout + p.stderr)


if __name__ == "__main__":
    main()
