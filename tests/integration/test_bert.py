"""The bert task end to end: the real engine on the bert plugins, tiny
models (1 layer, hidden 32, 32-64 tokens, a few hundred examples, one
epoch) on the real spam corpus, the synthetic qa set and the small files
of tests/data/bert. The quality comparison with PyTorch is the peer's
(tools/parity/bert_torch.py); here, the variants agree with each other,
the metrics and files are the ones docs/bert.md names, and bad input is
refused with its parameter, file and line."""
import ast
import json
import math
import os
import shutil
import struct
import tempfile
import unittest

from common import SOURCE_ROOT, main, run, run_by_variant, run_json

TINY = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "3"]
MODEL = ["--param", "n_layer=1", "--param", "n_head=2", "--param", "hidden=32",
         "--param", "batch_size=16", "--param", "epochs=1"]
CLASSIFY = MODEL + ["--param", "max_len=32", "--param", "max_examples=200"]
QA = MODEL + ["--param", "head=qa", "--param", "max_len=64", "--param", "qa_examples=200",
              "--param", "qa_entities=2"]
DATA = os.path.join(SOURCE_ROOT, "tests", "data", "bert")
CLASSIFY_METRICS = {"accuracy", "precision", "recall", "f1", "macro_f1", "loss", "train_loss",
                    "train_seq_per_s"}
QA_METRICS = {"exact_match", "f1", "loss", "train_loss", "qa_dropped", "train_seq_per_s"}


def have_spam():
    return os.path.exists(os.path.join(SOURCE_ROOT, "data", "spam_assassin.tsv.gz"))


def rep_of(run_doc):
    rep = run_doc["repetitions"][0]
    assert rep["status"] == "ok", rep
    return rep


def metrics(run_doc):
    return {k: v["value"] for k, v in rep_of(run_doc)["metrics"].items()}


def read_npy(path):
    """(shape, values) of a little-endian int64 .npy (format 1.0), C order."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path
    hlen = struct.unpack("<H", data[8:10])[0]
    header = ast.literal_eval(data[10:10 + hlen].decode("latin1"))
    assert header["descr"] == "<i8" and not header["fortran_order"], header
    shape = tuple(header["shape"])
    n = 1
    for s in shape:
        n *= s
    return shape, list(struct.unpack("<%dq" % n, data[10 + hlen:10 + hlen + 8 * n]))


def built_variants():
    """The bert variants this build has (onednn where oneDNN was found)."""
    p = run(["--list"], check=0)
    return {line.split()[1] for line in p.stdout.splitlines()
            if line.startswith("bert ") and len(line.split()) > 1}


# The optional variants, compared with naive and openblas where built.
EXTRA = [v for v in ("onednn",) if v in built_variants()]
if not EXTRA:
    print("test_bert: bert:onednn not built (no oneDNN); its comparisons are left out")
ALL = "bert:" + ",".join(["naive", "openblas"] + EXTRA)


class Bert(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlb-bert-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def agree(self, runs, names, others=("naive", *EXTRA)):
        """Every variant of `others` ran and agrees with openblas."""
        b = metrics(runs["openblas"])
        self.assertEqual(set(b), names)
        for other in others:
            a = metrics(runs[other])
            self.assertEqual(set(a), names)
            for k in names - {"train_seq_per_s"}:
                self.assertTrue(math.isfinite(b[k]), (k, b[k]))
                # The same weights and batches, float32 sums in other orders.
                self.assertLessEqual(abs(a[k] - b[k]), 1e-4 * max(1.0, abs(b[k])),
                                     (other, k, a[k], b[k]))
        return b

    def test_classify_variants_agree(self):
        if not have_spam():
            self.skipTest("data/spam_assassin.tsv.gz is missing (tools/setup.sh fetches it)")
        _, doc = run_json(["--plugin", ALL] + TINY + CLASSIFY)
        runs = run_by_variant(doc)
        m = self.agree(runs, CLASSIFY_METRICS)
        for k in ("accuracy", "precision", "recall", "f1", "macro_f1"):
            self.assertGreaterEqual(m[k], 0)
            self.assertLessEqual(m[k], 1)
        rep = rep_of(runs["openblas"])
        self.assertEqual([p["step"] for p in rep["progress"]], [1])
        self.assertEqual(rep["progress"][0]["metric"], "accuracy")
        self.assertAlmostEqual(rep["progress"][0]["value"], m["accuracy"], places=12)
        # 200 examples, stratified 80/20: 160 trained on, 40 tested, in
        # ceil(160 / 16) = 10 steps; each inference query is one sequence.
        self.assertEqual(rep["phases"]["train"]["steps"], 10)
        self.assertEqual(rep["phases"]["train"]["items"], 200)
        self.assertEqual(rep["phases"]["infer"]["items"], 3)
        self.assertEqual(rep["phases"]["infer"]["tokens"], 3 * 32)

    def test_qa_variants_agree(self):
        _, doc = run_json(["--plugin", ALL] + TINY + QA)
        runs = run_by_variant(doc)
        m = self.agree(runs, QA_METRICS)
        self.assertGreaterEqual(m["exact_match"], 0)
        self.assertLessEqual(m["exact_match"], m["f1"] + 1e-9)
        self.assertLessEqual(m["f1"], 100)
        rep = rep_of(runs["openblas"])
        self.assertEqual(rep["progress"][0]["metric"], "exact_match")

    def test_training_lowers_the_loss(self):
        # Three epochs on the synthetic set: the epochs' mean losses fall
        # and the model beats the untrained one's test loss.
        args = TINY + QA + ["--param", "epochs=3", "--param", "lr=2e-3"]
        _, doc = run_json(["--plugin", "bert:openblas"] + args)
        run_doc = run_by_variant(doc)["openblas"]
        curve = [p["loss"] for p in rep_of(run_doc)["progress"]]
        self.assertEqual(len(curve), 3)
        self.assertLess(curve[2], curve[0])
        trained = metrics(run_doc)
        _, doc = run_json(["--plugin", "bert:openblas"] + args + ["--param", "epochs=0"])
        untrained = metrics(run_by_variant(doc)["openblas"])
        self.assertLess(trained["loss"], untrained["loss"] - 0.2)

    def test_forward_only(self):
        # epochs=0: no training, no learning curve; the untrained model's
        # logits are near 0, so its loss is near ln 2 (two classes).
        _, doc = run_json(["--plugin", "bert:openblas"] + TINY + MODEL +
                          ["--param", "dataset=" + os.path.join(DATA, "tiny.tsv"),
                           "--param", "max_len=32", "--param", "epochs=0",
                           "--param", "infer_batch=4"])
        run_doc = run_by_variant(doc)["openblas"]
        m = metrics(run_doc)
        self.assertNotIn("train_loss", m)
        self.assertAlmostEqual(m["loss"], math.log(2), delta=0.05)
        rep = rep_of(run_doc)
        self.assertEqual(rep.get("progress", []), [])
        self.assertEqual(rep["phases"]["train"].get("steps", 0), 0)
        self.assertEqual(rep["phases"]["infer"]["items"], 3 * 4)

    def test_user_files(self):
        # A TSV of text,label (60 rows, ham/spam) and a SQuAD v1.1 file
        # with a non-ASCII context (answer_start counts characters).
        _, doc = run_json(["--plugin", "bert:naive,openblas"] + TINY + MODEL +
                          ["--param", "dataset=" + os.path.join(DATA, "tiny.tsv"),
                           "--param", "max_len=32", "--param", "epochs=2"])
        self.agree(run_by_variant(doc), CLASSIFY_METRICS, others=("naive",))
        _, doc = run_json(["--plugin", "bert:naive,openblas"] + TINY + MODEL +
                          ["--param", "head=qa",
                           "--param", "dataset=" + os.path.join(DATA, "tiny_squad.json"),
                           "--param", "max_len=64", "--param", "test_fraction=0.4"])
        m = self.agree(run_by_variant(doc), QA_METRICS, others=("naive",))
        self.assertEqual(m["qa_dropped"], 0)

    def test_checkpoint_round_trip(self):
        ckpt = os.path.join(self.dir, "m.bin")
        args = TINY + MODEL + ["--param", "dataset=" + os.path.join(DATA, "tiny.tsv"),
                               "--param", "max_len=32"]
        _, doc = run_json(["--plugin", "bert:openblas"] + args +
                          ["--param", "checkpoint_out=" + ckpt])
        trained = metrics(run_by_variant(doc)["openblas"])
        with open(ckpt, "rb") as f:
            magic, version = struct.unpack("<2i", f.read(8))
        self.assertEqual((magic, version), (20261218, 1))
        _, doc = run_json(["--plugin", "bert:naive"] + args +
                          ["--param", "epochs=0", "--param", "checkpoint=" + ckpt])
        again = metrics(run_by_variant(doc)["naive"])
        self.assertAlmostEqual(again["loss"], trained["loss"], delta=1e-4 * trained["loss"])
        self.assertEqual(again["accuracy"], trained["accuracy"])

    def test_export_data(self):
        # The files of docs/bert.md for the peer, with their shapes: the qa
        # labels' spans, turned into text through the offsets, are the
        # answers.
        out = os.path.join(self.dir, "x")
        p = run(["--plugin", "bert:openblas"] + QA +
                ["--param", "epochs=2", "--param", "max_len=48", "--export-data", out])
        self.assertEqual(p.returncode, 0, p.stderr)
        shapes = {}
        for part in ("train", "test"):
            for a in ("ids", "seg", "mask", "labels"):
                shapes[part + "_" + a], _ = read_npy(os.path.join(out, f"{part}_{a}.npy"))
        ntr, nte = shapes["train_ids"][0], shapes["test_ids"][0]
        for part, n in (("train", ntr), ("test", nte)):
            for a in ("ids", "seg", "mask"):
                self.assertEqual(shapes[f"{part}_{a}"], (n, 48))
            self.assertEqual(shapes[f"{part}_labels"], (n, 2))
        (e, n), order = read_npy(os.path.join(out, "order.npy"))
        self.assertEqual((e, n), (2, ntr))
        for k in range(2):
            self.assertEqual(sorted(order[k * ntr:(k + 1) * ntr]), list(range(ntr)))
        self.assertNotEqual(order[:ntr], order[ntr:])  # reshuffled each epoch
        with open(os.path.join(out, "init.bin"), "rb") as f:
            self.assertEqual(struct.unpack("<2i", f.read(8)), (20261218, 1))
        with open(os.path.join(out, "test_qa.json"), encoding="utf-8") as f:
            qa = json.load(f)
        self.assertEqual(len(qa), nte)
        _, labels = read_npy(os.path.join(out, "test_labels.npy"))
        _, mask = read_npy(os.path.join(out, "test_mask.npy"))
        cut = 0
        for i, ex in enumerate(qa):
            self.assertEqual(len(ex["offsets"]), 48)
            s, t = labels[2 * i], labels[2 * i + 1]
            if s < 0:
                self.assertEqual(t, -1)
                cut += 1
                continue
            self.assertTrue(0 < s <= t < 48 and mask[i * 48 + t] == 1)
            ctx = ex["context"].encode("utf-8")
            text = ctx[ex["offsets"][s][0]:ex["offsets"][t][1]].decode("utf-8")
            self.assertIn(text, ex["truths"])
        self.assertLess(cut, nte)
        with open(os.path.join(out, "meta.json")) as f:
            meta = json.load(f)
        self.assertEqual(meta["head"], "qa")
        self.assertGreaterEqual(meta["qa_dropped"], cut)  # the test split's and training's
        # classify: labels are one class index per example.
        if have_spam():
            out2 = os.path.join(self.dir, "c")
            p = run(["--plugin", "bert:openblas"] + CLASSIFY + ["--export-data", out2])
            self.assertEqual(p.returncode, 0, p.stderr)
            shape, lab = read_npy(os.path.join(out2, "train_labels.npy"))
            self.assertEqual(shape, (160,))
            self.assertEqual(set(lab), {0, 1})
            self.assertFalse(os.path.exists(os.path.join(out2, "test_qa.json")))
            with open(os.path.join(out2, "meta.json")) as f:
                meta = json.load(f)
            self.assertEqual((meta["classes"], meta["positive"]), (["ham", "spam"], 1))

    def test_bad_parameters(self):
        cases = [
            (["--param", "head=foo"], "parameter head"),
            (["--param", "n_head=3"], "parameter n_head: 3 does not divide hidden=32"),
            (["--param", "head=qa", "--param", "max_len=4"], "parameter max_len: 4"),
            (["--param", "dataset=" + os.path.join(DATA, "bad.tsv")], "bad.tsv:3: one field"),
            (["--param", "head=qa", "--param", "dataset=" + os.path.join(DATA, "tiny.tsv")],
             "tiny.tsv: not valid JSON"),
            (["--param", "dataset=synthetic"], "synthetic is qa's"),
            (["--param", "vocab=" + os.path.join(DATA, "bad.tsv")], "parameter vocab"),
        ]
        for extra, msg in cases:
            p = run(["--plugin", "bert:naive"] + TINY + MODEL + ["--param", "max_len=32"] +
                    extra)
            self.assertEqual(p.returncode, 2, (extra, p.stderr))
            self.assertIn(msg, p.stdout + p.stderr, extra)


if __name__ == "__main__":
    main()
