"""The bert task's C classifier and QA head against the bert:pytorch peer on
the same recipe, at test size: both train the same model (bert.h's
definition) from the same initial weights on the same batches in the
same order with the same AdamW, clipping and schedule, so that only
float32 rounding (in other summation orders) separates them. Checked: the
test metrics agree within a couple of points (accuracy 0.02; exact match
and F1 2 points), the losses and every epoch's training loss within 2%,
and the work counted is the same. Sizes are small (2 layers, hidden 64,
64 tokens, 600 spam e-mails or 600 synthetic questions with 3 people a
context, 2 epochs of batch 8 at lr 2e-3, so that the classifier learns in
120 steps): 30-75 s on this 2-core machine. The full-recipe figures (the
issue's >= 95% spam accuracy, QA exact match within 2 points of
PyTorch's) are docs/bert.md's, with the commands that made them."""
import os
import subprocess
import unittest

from common import BUILD_ROOT, SOURCE_ROOT, main, run_by_variant, run_json

RECIPE = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "2", "--seed", "7",
          "--param", "n_layer=2", "--param", "n_head=2", "--param", "hidden=64",
          "--param", "max_len=64", "--param", "epochs=2", "--param", "batch_size=8",
          "--param", "lr=2e-3"]


def torch_installed():
    return subprocess.run(["/usr/bin/python3", "-c", "import torch"],
                          capture_output=True).returncode == 0


def plugin_built():
    # The task links the NN core's encoder (plugins/nn/bert.c).
    return (os.path.exists(os.path.join(SOURCE_ROOT, "plugins", "nn", "bert.c")) and
            os.path.exists(os.path.join(BUILD_ROOT, "plugins", "bert", "bert_openblas.so")))


def rep_of(run_doc):
    rep = run_doc["repetitions"][0]
    assert rep["status"] == "ok", rep
    return rep


def metrics(run_doc):
    return {k: v["value"] for k, v in rep_of(run_doc)["metrics"].items()}


@unittest.skipUnless(torch_installed(), "needs python3-torch (tools/setup.sh --peers)")
@unittest.skipUnless(plugin_built(), "the bert plugins are not built (plugins/nn/bert.c)")
class Quality(unittest.TestCase):
    def compare(self, extra, agree):
        _, doc = run_json(["--plugin", "bert:openblas,pytorch"] + RECIPE + extra, timeout=900)
        runs = run_by_variant(doc)
        c, t = metrics(runs["openblas"]), metrics(runs["pytorch"])
        print(f"\n  openblas {c}\n  pytorch  {t}")
        for k, tol in agree.items():
            self.assertLessEqual(abs(c[k] - t[k]), tol, f"{k}: C {c[k]}, PyTorch {t[k]}")
        for k in ("loss", "train_loss"):
            self.assertLess(abs(c[k] - t[k]) / c[k], 0.02, f"{k}: C {c[k]}, PyTorch {t[k]}")
        rc, rt = rep_of(runs["openblas"]), rep_of(runs["pytorch"])
        self.assertEqual([p["step"] for p in rc["progress"]], [1, 2])
        self.assertEqual([p["step"] for p in rt["progress"]], [1, 2])
        for a, b in zip(rc["progress"], rt["progress"]):
            self.assertLess(abs(a["loss"] - b["loss"]) / a["loss"], 0.02, (a, b))
        for k in ("items", "tokens", "steps"):
            self.assertEqual(rc["phases"]["train"][k], rt["phases"]["train"][k], k)
        return c, t

    @unittest.skipUnless(os.path.exists(os.path.join(SOURCE_ROOT, "data",
                                                     "spam_assassin.tsv.gz")),
                         "data/spam_assassin.tsv.gz is missing (tools/setup.sh fetches it)")
    def test_classify_spam(self):
        c, _ = self.compare(["--param", "max_examples=600"],
                            {"accuracy": 0.02, "f1": 0.03, "macro_f1": 0.03})
        # Learned: far above the majority class (ham, 68% of the test split);
        # this recipe gives 0.958 (seed 7).
        self.assertGreater(c["accuracy"], 0.9)

    def test_qa_synthetic(self):
        # Three people per context at 64 tokens: about a sixth of the
        # answers are cut off, so the dropped training examples (meta.json)
        # and the test split's misses are part of what must agree. From
        # scratch, 2 epochs only start to learn the task (exact match a few
        # percent): the point is agreement.
        c, t = self.compare(["--param", "head=qa", "--param", "qa_examples=600"],
                            {"exact_match": 2.0, "f1": 2.0})
        self.assertGreater(c["qa_dropped"], 0)
        self.assertEqual(c["qa_dropped"], t["qa_dropped"])


if __name__ == "__main__":
    main()
