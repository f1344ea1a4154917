"""The rnn task through the real engine: every variant built (naive,
openblas; onednn and libtorch where their libraries were found) trains an LSTM on a
small slice of Fashion-MNIST rows from the same seed and agree; work counts
(sequences, optimiser steps, FLOPs counted here from the layer sizes) and
metrics land in the results; a stacked bidirectional GRU on synthetic
sequences; weight files round-trip; the PyTorch peer, on the same data,
initial weights and batch order, reaches the same loss; bad parameters fail
clearly. Sizes are tiny; the quality and speed runs are benchmarks
(docs/rnn.md, tools/bench/rnn.sh)."""
import math
import os
import shutil
import subprocess
import tempfile
import unittest

from common import main, run, run_by_variant, run_json

FASHION = "/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"
TINY = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "3"]
LSTM = ["--param", "model=lstm", "--param", "hidden_size=32", "--param", "train_samples=600",
        "--param", "test_samples=300", "--param", "epochs=2", "--param", "batch_size=32",
        "--param", "lr=0.005", "--param", "infer_batch=4"]
# 50 steps of 16 features as the synthetic workload, smaller.
SYNTH = ["--param", "dataset=synthetic", "--param", "seq_len=20", "--param", "input_size=8",
         "--param", "n_classes=4", "--param", "train_samples=256", "--param", "test_samples=64",
         "--param", "hidden_size=16", "--param", "batch_size=32", "--param", "lr=0.01",
         "--param", "epochs=2"]
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def torch_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                          capture_output=True).returncode == 0


def forward_flops(cell, T, I, H, layers=1, dirs=1, classes=10):
    """2 per multiply-add of one sequence's forward pass: every step's input
    and recurrent products for each layer and direction, and the head."""
    g, macs = GATES[cell], 0
    for layer in range(layers):
        inp = I if layer == 0 else H * dirs
        macs += dirs * T * g * H * (inp + H)
    return 2 * (macs + H * dirs * classes)


def built_variants():
    """The rnn variants this build has (onednn where oneDNN was found,
    libtorch where libtorch was)."""
    p = run(["--list"], check=0)
    return {line.split()[1] for line in p.stdout.splitlines()
            if line.startswith("rnn ") and len(line.split()) > 1}


# The optional variants, compared with openblas wherever it is.
EXTRA = [v for v in ("onednn", "libtorch") if v in built_variants()]
for _v in ("onednn", "libtorch"):
    if _v not in EXTRA:
        print(f"test_rnn: rnn:{_v} not built; its comparisons are left out")


def plugins(*variants):
    return [a for v in variants for a in ("--plugin", "rnn:" + v)]


def rep(run_doc):
    return run_doc["repetitions"][0]


def metric(run_doc, name):
    return rep(run_doc)["metrics"][name]["value"]


@unittest.skipUnless(os.path.exists(FASHION), "dataset-fashion-mnist is not installed")
class LstmFashion(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        _, cls.doc = run_json(plugins("naive", "openblas", *EXTRA) + TINY + LSTM, timeout=600)
        cls.runs = run_by_variant(cls.doc)

    def test_both_variants_ran(self):
        self.assertEqual(set(self.runs), {"naive", "openblas", *EXTRA})
        for v, r in self.runs.items():
            self.assertEqual(r["status"], "ok", v)

    def test_learns_and_variants_agree(self):
        acc = {v: metric(r, "accuracy") for v, r in self.runs.items()}
        # Chance is 0.1; 38 Adam steps of a 32-unit LSTM reach about 0.6.
        for v, a in acc.items():
            self.assertGreater(a, 0.45, f"{v}: accuracy {a}")
        # Same seed, same initial weights and batches: only rounding differs.
        for v in ["naive"] + EXTRA:
            self.assertLessEqual(abs(acc[v] - acc["openblas"]), 0.01, acc)
            self.assertAlmostEqual(metric(self.runs[v], "loss"),
                                   metric(self.runs["openblas"], "loss"), delta=1e-3, msg=v)

    def test_metrics_and_work(self):
        fwd = forward_flops("lstm", 28, 28, 32)
        for r in self.runs.values():
            m = rep(r)["metrics"]
            for name in ("accuracy", "macro_f1", "loss", "test_loss", "epochs_to_target"):
                self.assertIn(name, m)
            self.assertTrue(0 < m["macro_f1"]["value"] <= 1)
            self.assertIsNone(m["epochs_to_target"]["value"])  # 0.85 is out of reach
            prog = rep(r)["progress"]
            self.assertEqual([p["step"] for p in prog], [1, 2])
            self.assertLess(prog[1]["loss"], prog[0]["loss"])
            phases = rep(r)["phases"]
            self.assertEqual(phases["train"]["items"], 1200)  # sequences x epochs
            self.assertEqual(phases["train"]["steps"], 2 * math.ceil(600 / 32))
            self.assertEqual(phases["train"]["flops"], 3 * fwd * 1200)
            self.assertEqual(phases["infer"]["items"], 3 * 4)
            self.assertEqual(phases["infer"]["flops"], fwd * 3 * 4)


class SyntheticAndOptions(unittest.TestCase):
    def test_stacked_bidirectional_gru(self):
        _, doc = run_json(plugins("naive", "openblas", *EXTRA) +
                          ["--param", "model=gru", "--param", "num_layers=2",
                           "--param", "bidirectional=true"] + SYNTH + TINY, timeout=600)
        runs = run_by_variant(doc)
        fwd = forward_flops("gru", 20, 8, 16, layers=2, dirs=2, classes=4)
        for v in ["naive", "openblas"] + EXTRA:
            self.assertEqual(runs[v]["status"], "ok", runs[v].get("message"))
            phases = rep(runs[v])["phases"]
            self.assertEqual(phases["train"]["items"], 512)
            self.assertEqual(phases["train"]["steps"], 16)
            self.assertEqual(phases["train"]["flops"], 3 * fwd * 512)
        # Gaussian classes: learnable well above chance (0.25) in 16 steps.
        self.assertGreater(metric(runs["openblas"], "accuracy"), 0.5)
        for v in ["naive"] + EXTRA:
            self.assertAlmostEqual(metric(runs[v], "loss"), metric(runs["openblas"], "loss"),
                                   delta=1e-4, msg=v)

    def test_clipping_changes_the_updates(self):
        # SGD: Adam's steps would not feel a rescaled gradient.
        base = ["--plugin", "rnn:openblas", "--param", "model=rnn", "--param", "optimizer=sgd"]
        _, free = run_json(base + SYNTH + TINY)
        _, clipped = run_json(base + SYNTH + TINY + ["--param", "clip_grad=0.01"])
        # A 0.01 bound scales every step far down: the loss falls slower.
        self.assertGreater(metric(clipped["runs"][0], "loss"),
                           metric(free["runs"][0], "loss") + 0.05)

    def test_bad_parameters(self):
        for param, needle in (("model=transformer", "parameter model: 'transformer' is not one of"),
                              ("optimizer=rmsprop", "parameter optimizer: 'rmsprop' is not one of"),
                              ("hidden_size=0", "parameter hidden_size: 0 is out of range"),
                              ("num_layers=0", "parameter num_layers: 0 is out of range"),
                              ("clip_grad=-1", "parameter clip_grad: -1 is out of range"),
                              ("dataset=iris", "parameter dataset: 'iris' is not one of")):
            p = run(["--plugin", "rnn:naive", "--param", "epochs=0", "--param", param] + TINY,
                    check=2)
            self.assertIn(needle, p.stderr, param)


class Weights(unittest.TestCase):
    def test_round_trip_through_the_engine(self):
        d = tempfile.mkdtemp(prefix="mlb-rnn-")
        try:
            path = os.path.join(d, "w.bin")
            common = ["--plugin", "rnn:openblas", "--param", "model=lstm"] + SYNTH + TINY
            _, a = run_json(common + ["--param", "weights_out=" + path])
            # 4 gates x 16 x (8 + 16) + 2 x 64 biases, head 16 x 4 + 4
            self.assertTrue(os.path.getsize(path) > (4 * 16 * 24 + 128 + 68) * 4)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"MLBNNWT\0")
            _, b = run_json(common + ["--param", "epochs=0", "--param", "weights_in=" + path])
            self.assertEqual(metric(a["runs"][0], "accuracy"), metric(b["runs"][0], "accuracy"))
            self.assertAlmostEqual(metric(a["runs"][0], "test_loss"),
                                   metric(b["runs"][0], "test_loss"), places=6)
            # A GRU (3 gates) refuses an LSTM's file (4), naming it.
            p = run(["--plugin", "rnn:openblas", "--param", "model=gru", "--param", "epochs=0",
                     "--param", "weights_in=" + path] + SYNTH[:-2] + TINY, check=2)
            self.assertIn(path, p.stderr)
            self.assertIn("another shape", p.stderr)
        finally:
            shutil.rmtree(d, ignore_errors=True)


    @unittest.skipUnless(EXTRA, "neither rnn:onednn nor rnn:libtorch is built")
    def test_engine_weights_out(self):
        # An engine's trained weights (libtorch's tensors; onednn's master
        # weights, whose GRU gates it permutes for oneDNN), saved through
        # the NN core's format, give the NN core the engine's own final
        # test loss.
        for v in EXTRA:
            d = tempfile.mkdtemp(prefix="mlb-rnn-eng-")
            try:
                path = os.path.join(d, "w.bin")
                common = ["--param", "model=gru"] + SYNTH + TINY
                _, a = run_json(plugins(v) + common + ["--param", "weights_out=" + path])
                _, b = run_json(plugins("openblas") + common +
                                ["--param", "epochs=0", "--param", "weights_in=" + path])
                self.assertAlmostEqual(metric(a["runs"][0], "test_loss"),
                                       metric(b["runs"][0], "test_loss"), places=5, msg=v)
            finally:
                shutil.rmtree(d, ignore_errors=True)


@unittest.skipUnless(torch_installed(), "needs python3-torch")
class TorchPeer(unittest.TestCase):
    def test_same_batches_same_result(self):
        # Every variant against the peer (the optional ones where built):
        # LSTM and GRU quality within a point of PyTorch's.
        for model in ("lstm", "gru"):
            _, doc = run_json(plugins("openblas", *EXTRA, "pytorch") +
                              ["--param", "model=" + model, "--param", "clip_grad=1"]
                              + SYNTH + TINY, timeout=600)
            runs = run_by_variant(doc)
            self.assertEqual(runs["pytorch"]["status"], "ok", runs["pytorch"])
            t = rep(runs["pytorch"])
            self.assertEqual([p["step"] for p in t["progress"]], [1, 2])
            for v in ["openblas"] + EXTRA:
                self.assertEqual(runs[v]["status"], "ok", runs[v])
                # Same data, initial weights, batch order and optimiser:
                # only float32 rounding differs after 16 Adam steps.
                self.assertAlmostEqual(metric(runs["pytorch"], "loss"),
                                       metric(runs[v], "loss"), delta=1e-3, msg=(model, v))
                self.assertLessEqual(abs(metric(runs["pytorch"], "accuracy") -
                                         metric(runs[v], "accuracy")), 1 / 64 + 1e-9,
                                     (model, v))
                o = rep(runs[v])
                for k in ("items", "steps", "flops"):
                    self.assertEqual(t["phases"]["train"][k], o["phases"]["train"][k], (v, k))


if __name__ == "__main__":
    main()
