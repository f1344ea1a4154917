"""The cnn task through the real engine: both variants train LeNet-5 on a
small slice of Fashion-MNIST from the same seed and agree, learning curves
and metrics land in the results, weight files round-trip, and bad
parameters fail with a clear message. Sizes are tiny (the sanitizer build
runs this too); full-size quality runs are benchmarks (docs/cnn.md)."""
import os
import shutil
import subprocess
import tempfile
import unittest

from common import main, run, run_by_variant, run_json

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
TINY = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "3"]
LENET = ["--param", "train_samples=600", "--param", "test_samples=300", "--param", "epochs=2",
         "--param", "batch_size=32", "--param", "lr=0.05", "--param", "infer_batch=4"]


def numpy_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import numpy"],
                          capture_output=True).returncode == 0


def torch_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                          capture_output=True).returncode == 0


# The layers that cost FLOPs, as docs/cnn.md defines the models: ("conv",
# out channels, kernel, stride, padding), ("pool", window = stride), ("fc",
# outputs). Pooling only changes the shape.
LENET5 = [("conv", 6, 5, 1, 2), ("pool", 2), ("conv", 16, 5, 1, 0), ("pool", 2),
          ("fc", 120), ("fc", 84), ("fc", 10)]
SIMPLECNN = [("conv", 32, 3, 1, 1), ("pool", 2), ("conv", 64, 3, 1, 1), ("pool", 2),
             ("fc", 128), ("fc", 10)]


def forward_flops(layers, c=1, h=28, w=28):
    """FLOPs of one image's forward pass, counted from the layer shapes
    independently of the plugin: 2 per multiply-add of the convolution and
    linear layers, nothing for the rest (docs/cnn.md)."""
    macs = 0
    for kind, *a in layers:
        if kind == "conv":
            out, k, stride, pad = a
            h, w = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
            macs += out * h * w * c * k * k
            c = out
        elif kind == "pool":
            h, w = (h - a[0]) // a[0] + 1, (w - a[0]) // a[0] + 1
        else:
            macs += c * h * w * a[0]
            c, h, w = a[0], 1, 1
    return 2 * macs


def rep(run_doc):
    return run_doc["repetitions"][0]


def metric(run_doc, name):
    return rep(run_doc)["metrics"][name]["value"]


@unittest.skipUnless(os.path.exists(FASHION), "dataset-fashion-mnist is not installed")
class LeNetFashion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.doc = run_json(["--plugin", "cnn:naive", "--plugin", "cnn:openblas"] + TINY + LENET,
                              timeout=600)
        cls.runs = run_by_variant(cls.doc)

    def test_both_variants_ran(self):
        self.assertEqual(set(self.runs), {"naive", "openblas"})
        for v, r in self.runs.items():
            self.assertEqual(r["status"], "ok", v)

    def test_learns_and_variants_agree(self):
        acc = {v: metric(r, "accuracy") for v, r in self.runs.items()}
        # Chance is 0.1; 38 SGD steps reach about 0.55.
        for v, a in acc.items():
            self.assertGreater(a, 0.45, f"{v}: accuracy {a}")
        # Same seed, same initial weights and batches: only rounding differs.
        self.assertLessEqual(abs(acc["naive"] - acc["openblas"]), 0.01, acc)
        self.assertAlmostEqual(metric(self.runs["naive"], "loss"),
                               metric(self.runs["openblas"], "loss"), delta=1e-3)

    def test_metrics(self):
        for r in self.runs.values():
            m = rep(r)["metrics"]
            for name in ("accuracy", "macro_f1", "loss", "test_loss", "epochs_to_target"):
                self.assertIn(name, m)
            self.assertEqual(m["accuracy"]["better"], "higher")
            self.assertEqual(m["loss"]["better"], "lower")
            self.assertTrue(0 < m["macro_f1"]["value"] <= 1)
            # target 0.85 is out of reach here: null, not a number
            self.assertIsNone(m["epochs_to_target"]["value"])

    def test_learning_curve_and_work(self):
        for r in self.runs.values():
            prog = rep(r)["progress"]
            self.assertEqual([p["step"] for p in prog], [1, 2])
            for p in prog:
                self.assertEqual(p["metric"], "accuracy")
                self.assertTrue(0 <= p["value"] <= 1)
                self.assertGreater(p["loss"], 0)
            self.assertLess(prog[1]["loss"], prog[0]["loss"])
            phases = rep(r)["phases"]
            self.assertEqual(phases["train"]["items"], 1200)  # samples x epochs
            self.assertEqual(phases["infer"]["items"], 3 * 4)  # queries x infer_batch
            # Train counts backward as twice the forward pass; infer, the forward.
            fwd = forward_flops(LENET5)
            self.assertEqual(fwd, 833040)  # the figure docs/cnn.md states
            self.assertEqual(phases["train"]["flops"], 3 * fwd * 1200)
            self.assertEqual(phases["infer"]["flops"], fwd * 3 * 4)
            self.assertEqual(len(rep(r)["infer_latency_s"]), 3)


    def test_offline_scenario_batches(self):
        # infer_n: 70 queries of 4 images in forward passes of the compiled
        # batch; the same work as 70 single queries, as samples per second.
        _, doc = run_json(["--plugin", "cnn:openblas"] + TINY + LENET +
                          ["--scenario", "offline", "--infer-queries", "70"], timeout=600)
        r = doc["runs"][0]
        ph = rep(r)["phases"]["infer"]
        self.assertEqual(ph["items"], 70 * 4)
        self.assertEqual(ph["flops"], forward_flops(LENET5) * 70 * 4)
        self.assertAlmostEqual(metric(r, "offline_samples_per_s") * ph["wall_s"] / 280, 1.0,
                               delta=0.1)


@unittest.skipUnless(os.path.exists(FASHION), "dataset-fashion-mnist is not installed")
class Weights(unittest.TestCase):
    def test_round_trip_through_the_engine(self):
        d = tempfile.mkdtemp(prefix="mlb-cnn-")
        try:
            path = os.path.join(d, "w.bin")
            common = ["--plugin", "cnn:openblas", "--param", "train_samples=200",
                      "--param", "test_samples=200", "--param", "batch_size=32"] + TINY
            _, a = run_json(common + ["--param", "epochs=1", "--param", "weights_out=" + path])
            self.assertTrue(os.path.getsize(path) > 61706 * 4)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"MLBNNWT\0")
            # No training: the loaded weights classify exactly as they did.
            _, b = run_json(common + ["--param", "epochs=0", "--param", "weights_in=" + path])
            self.assertEqual(metric(a["runs"][0], "accuracy"), metric(b["runs"][0], "accuracy"))
            self.assertAlmostEqual(metric(a["runs"][0], "test_loss"),
                                   metric(b["runs"][0], "test_loss"), places=6)
            # A model of another shape refuses the file, naming the parameter
            # and the file: an input error (exit 2), as rnn's.
            p = run(common + ["--param", "epochs=0", "--param", "model=simplecnn",
                              "--param", "weights_in=" + path], check=2)
            self.assertIn("parameter weights_in: " + path, p.stderr)
            self.assertIn("another shape", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(os.path.exists(FASHION) and torch_installed(),
                     "needs dataset-fashion-mnist and python3-torch")
class TorchPeer(unittest.TestCase):
    def test_torch_peer_side_by_side(self):
        _, doc = run_json(["--plugin", "cnn:openblas", "--plugin", "cnn:pytorch"] + TINY + LENET,
                          timeout=600)
        runs = run_by_variant(doc)
        self.assertEqual(runs["pytorch"]["status"], "ok", runs["pytorch"])
        # Same data and initial weights; only the shuffles differ.
        acc = {v: metric(r, "accuracy") for v, r in runs.items()}
        self.assertGreater(acc["pytorch"], 0.45, acc)
        self.assertLess(abs(acc["pytorch"] - acc["openblas"]), 0.1, acc)
        t = rep(runs["pytorch"])
        self.assertEqual([p["step"] for p in t["progress"]], [1, 2])
        self.assertEqual(t["phases"]["train"]["items"], 1200)
        self.assertAlmostEqual(t["phases"]["train"]["flops"],
                               rep(runs["openblas"])["phases"]["train"]["flops"], delta=1)


def built_variants():
    """The cnn variants this build has (libtorch only where it was found)."""
    p = run(["--list"], check=0)
    return {line.split()[1] for line in p.stdout.splitlines()
            if line.startswith("cnn ") and len(line.split()) > 1}


ENGINES = [v for v in ("libtorch", "onednn") if v in built_variants()]
DIGITS = ["--param", "dataset=digits", "--param", "model=simplecnn"]


def rel(a, b):
    return abs(a - b) / max(abs(b), 1e-30)


@unittest.skipUnless(ENGINES, "no engine variant built (libtorch-dev missing?)")
class EngineVariants(unittest.TestCase):
    """cnn:libtorch against cnn:openblas, itself checked against PyTorch
    (tools/parity): cnn.c gives every variant the same data, initial
    weights, shuffles and batches, so an engine's losses and metrics must
    agree with the NN core's to rounding, step by step."""

    def compare(self, args, variants=None, timeout=600):
        vs = ["openblas"] + ENGINES
        cmd = []
        for v in vs:
            cmd += ["--plugin", "cnn:" + v]
        _, doc = run_json(cmd + TINY + args, timeout=timeout)
        runs = run_by_variant(doc)
        for v in vs:
            self.assertEqual(runs[v]["status"], "ok", runs[v])
        return runs

    def test_initial_weights_forward(self):
        # epochs=0: the test set through the initial weights, inference mode
        # (ResNet-18's batch norm on its running statistics).
        for model, data in (("lenet5", ["--param", "dataset=digits"]), ("simplecnn", DIGITS[:2]),
                            ("resnet18", ["--param", "train_samples=8"])):
            runs = self.compare(data + ["--param", "model=" + model, "--param", "epochs=0",
                                        "--param", "test_samples=16"])
            ref = metric(runs["openblas"], "test_loss")
            for v in ENGINES:
                self.assertLess(rel(metric(runs[v], "test_loss"), ref), 1e-5, (model, v))
                self.assertEqual(metric(runs[v], "accuracy"),
                                 metric(runs["openblas"], "accuracy"), (model, v))

    def test_one_step(self):
        # One batch of 8, one SGD step with momentum and weight decay (Adam
        # for ResNet-18): the batch's loss is the forward pass in training
        # mode; the test loss after it checks backward and the update.
        for model, extra in (("simplecnn", DIGITS[:2] + ["--param", "weight_decay=0.01"]),
                             ("resnet18", ["--param", "optimizer=adam", "--param", "lr=0.001"])):
            runs = self.compare(extra + ["--param", "model=" + model, "--param", "epochs=1",
                                         "--param", "train_samples=8", "--param", "batch_size=8",
                                         "--param", "test_samples=16"])
            for name in ("loss", "test_loss"):
                ref = metric(runs["openblas"], name)
                for v in ENGINES:
                    self.assertLess(rel(metric(runs[v], name), ref), 1e-4, (model, v, name))

    @unittest.skipUnless(os.path.exists(FASHION), "dataset-fashion-mnist is not installed")
    def test_lenet_fashion_learns_like_openblas(self):
        runs = self.compare(LENET)
        acc = {v: metric(r, "accuracy") for v, r in runs.items()}
        for v in ENGINES:
            self.assertGreater(acc[v], 0.45, acc)
            self.assertLessEqual(abs(acc[v] - acc["openblas"]), 0.01, acc)
            self.assertAlmostEqual(metric(runs[v], "loss"), metric(runs["openblas"], "loss"),
                                   delta=1e-3)
            self.assertEqual([p["step"] for p in rep(runs[v])["progress"]], [1, 2])
            for ph in ("train", "infer"):
                self.assertEqual(rep(runs[v])["phases"][ph]["items"],
                                 rep(runs["openblas"])["phases"][ph]["items"])
                self.assertEqual(rep(runs[v])["phases"][ph]["flops"],
                                 rep(runs["openblas"])["phases"][ph]["flops"])

    def test_weights_out_round_trip(self):
        # The engine's trained weights, saved through the NN core's format,
        # give the NN core the engine's own final test loss.
        d = tempfile.mkdtemp(prefix="mlb-cnn-engine-")
        try:
            for v in ENGINES:
                path = os.path.join(d, v + ".bin")
                common = DIGITS + ["--param", "train_samples=64", "--param", "test_samples=40"]
                _, doc = run_json(["--plugin", "cnn:" + v, "--param", "epochs=1",
                                   "--param", "weights_out=" + path] + TINY + common)
                trained = metric(doc["runs"][0], "test_loss")
                _, doc = run_json(["--plugin", "cnn:openblas", "--param", "epochs=0",
                                   "--param", "weights_in=" + path] + TINY + common)
                self.assertLess(rel(metric(doc["runs"][0], "test_loss"), trained), 1e-5, v)
        finally:
            shutil.rmtree(d, ignore_errors=True)


class OtherModelsAndData(unittest.TestCase):
    def test_resnet18_synthetic(self):
        _, doc = run_json(["--plugin", "cnn:openblas", "--param", "model=resnet18",
                           "--param", "train_samples=16", "--param", "test_samples=8",
                           "--param", "batch_size=8", "--param", "epochs=1",
                           "--param", "optimizer=adam", "--param", "lr=0.001"] + TINY,
                          timeout=600)
        r = doc["runs"][0]
        self.assertEqual(r["status"], "ok")
        self.assertEqual(rep(r)["phases"]["train"]["items"], 16)

    def test_simplecnn_digits(self):
        _, doc = run_json(["--plugin", "cnn:naive", "--plugin", "cnn:openblas",
                           "--param", "model=simplecnn",
                           "--param", "dataset=digits", "--param", "train_samples=64",
                           "--param", "test_samples=40", "--param", "epochs=1"] + TINY,
                          timeout=600)
        runs = run_by_variant(doc)
        fwd = forward_flops(SIMPLECNN)  # digits are padded to 1x28x28
        for v in ("naive", "openblas"):
            self.assertEqual(runs[v]["status"], "ok")
            phases = rep(runs[v])["phases"]
            self.assertEqual(phases["train"]["flops"], 3 * fwd * 64)  # 1 epoch of 64
            self.assertEqual(phases["infer"]["flops"], fwd * 3)  # 3 queries of 1 image
        self.assertEqual(metric(runs["naive"], "accuracy"), metric(runs["openblas"], "accuracy"))

    def test_bad_parameters(self):
        # The task's rules reject these before anything runs (exit 2).
        for param, needle in (("model=vgg16", "parameter model: 'vgg16' is not one of lenet5"),
                              ("optimizer=rmsprop", "parameter optimizer: 'rmsprop' is not one of"),
                              ("batch_size=0", "parameter batch_size: 0 is out of range"),
                              ("lr=-1", "parameter lr: -1 is out of range (must be > 0)")):
            p = run(["--plugin", "cnn:naive", "--param", "dataset=digits", "--param", "epochs=0",
                     "--param", param] + TINY, check=2)
            self.assertIn(needle, p.stderr, param)
            self.assertNotIn("repetition", p.stderr, param)
        # A dataset may be a file, so its name is known only in setup: a
        # rejection there is said once, exit 2 too.
        for param, needle in (("dataset=cifar10", "parameter dataset: unknown dataset 'cifar10'"),
                              ("dataset=iris", "parameter dataset: 'iris' is a registered "
                                               "dataset the cnn task does not take")):
            p = run(["--plugin", "cnn:naive", "--param", "epochs=0", "--param", param] + TINY,
                    check=2)
            self.assertIn(needle, p.stderr, param)
            self.assertIn("fashion-mnist, digits, synthetic", p.stderr, param)
            self.assertEqual(p.stderr.count(needle), 1, p.stderr)


# 200 seeded random 8x8 images, 3 classes (each class a brighter band of
# rows, so that there is something to learn), as NumPy writes them.
WRITE_NPY = """
import sys
import numpy as np
d = sys.argv[1]
rng = np.random.default_rng(7)
y = np.arange(200) % 3
X = rng.random((200, 8, 8), dtype=np.float32)
for k in range(3):
    X[y == k, 3 * k:3 * k + 2, :] += 1.0
np.save(f"{d}/X.npy", X)
np.save(f"{d}/y.npy", y.astype(np.int64))
np.save(f"{d}/flat.npy", X.reshape(200, 64)[:, :10].copy())
"""


@unittest.skipUnless(numpy_installed(), "/usr/bin/python3 has no numpy to write the .npy files")
class UserImages(unittest.TestCase):
    """dataset=X.npy,y.npy: the user's own images, split 80/20."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mlb-cnnfile-")
        subprocess.run(["/usr/bin/python3", "-c", WRITE_NPY, cls.dir], check=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def test_npy_images(self):
        pair = os.path.join(self.dir, "X.npy") + "," + os.path.join(self.dir, "y.npy")
        _, doc = run_json(["--plugin", "cnn:naive", "--param", "model=simplecnn",
                           "--param", "dataset=" + pair, "--param", "epochs=1",
                           "--param", "batch_size=16"] + TINY, timeout=600)
        r = doc["runs"][0]
        self.assertEqual(r["status"], "ok", r.get("message"))
        self.assertEqual(rep(r)["phases"]["train"]["items"], 160)  # 200 - 40 held out
        self.assertEqual(rep(r)["phases"]["train"]["flops"],
                         3 * forward_flops(SIMPLECNN[:-1] + [("fc", 3)], 1, 8, 8) * 160)
        acc = metric(r, "accuracy")
        self.assertGreaterEqual(acc, 0.0)
        self.assertLessEqual(acc, 1.0)

    def test_rows_that_are_not_images(self):
        pair = os.path.join(self.dir, "flat.npy") + "," + os.path.join(self.dir, "y.npy")
        p = run(["--plugin", "cnn:naive", "--param", "model=simplecnn",
                 "--param", "dataset=" + pair, "--param", "epochs=0"] + TINY, check=2)
        self.assertIn("parameter dataset: " + pair + ": rows of 10 values are not images",
                      p.stderr)
        self.assertEqual(p.stderr.count("not images"), 1, p.stderr)


if __name__ == "__main__":
    main()
