"""The gpt2 task through the real engine on the bundled Moby-Dick text:
naive, openblas (and onednn where built) train the same tiny model from the
same seed and agree,
the untrained loss is ln(256) (uniform over bytes), the learning curve and
metrics land in the results, llm.c checkpoints and shards written by one run
load in the next, generation with and without the KV cache gives the same
tokens, and bad parameters fail with a clear message. PyTorch parity is
tools/parity/gpt2_torch.py; sizes here are tiny (seconds)."""
import math
import os
import shutil
import struct
import subprocess
import tempfile
import unittest

from common import main, run, run_by_variant, run_json

TINY = ["--repetitions", "1", "--warmup", "0", "--infer-queries", "3"]
MODEL = ["--param", "n_layer=1", "--param", "n_head=2", "--param", "n_embd=32",
         "--param", "block_size=32", "--param", "batch_size=2", "--param", "seq_len=16",
         "--param", "eval_batches=8"]


def metrics(run_doc):
    rep = run_doc["repetitions"][0]
    assert rep["status"] == "ok", rep
    return {k: v["value"] for k, v in rep["metrics"].items()}


def write_shard(path, tokens):
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *([20240520, 1, len(tokens)] + [0] * 253)))
        f.write(struct.pack("<%dH" % len(tokens), *tokens))


def built_variants():
    """The gpt2 variants this build has (onednn where oneDNN was found)."""
    p = run(["--list"], check=0)
    return {line.split()[1] for line in p.stdout.splitlines()
            if line.startswith("gpt2 ") and len(line.split()) > 1}


# The optional variants, run beside naive and openblas where built.
EXTRA = [v for v in ("onednn",) if v in built_variants()]
if not EXTRA:
    print("test_gpt2: gpt2:onednn not built (no oneDNN); its comparisons are left out")
ALL = "gpt2:" + ",".join(["naive", "openblas"] + EXTRA)


class Gpt2(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mlb-gpt2-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_untrained_loss_is_uniform(self):
        # GPT-2's init (std 0.02) leaves the logits near 0: the loss of an
        # untrained byte model is ln(256) to within a few hundredths.
        _, doc = run_json(["--plugin", "gpt2:openblas"] + TINY + MODEL +
                          ["--param", "mode=eval"])
        m = metrics(run_by_variant(doc)["openblas"])
        self.assertAlmostEqual(m["val_loss"], math.log(256), delta=0.02)
        self.assertAlmostEqual(m["perplexity"], math.exp(m["val_loss"]), delta=1e-9)

    def test_train_variants_agree_and_learn(self):
        ckpt = os.path.join(self.dir, "m.bin")
        _, doc = run_json(["--plugin", ALL] + TINY + MODEL +
                          ["--param", "steps=30", "--param", "lr=0.003",
                           "--param", "gpt2:openblas.checkpoint_out=" + ckpt])
        runs = run_by_variant(doc)
        b = metrics(runs["openblas"])
        for v in ["naive"] + EXTRA:
            a = metrics(runs[v])
            for k in ("train_loss", "val_loss", "perplexity"):
                self.assertLess(abs(a[k] - b[k]) / b[k], 1e-4, (v, k))
        self.assertLess(b["val_loss"], math.log(256) - 0.5)  # it learned something
        curve = runs["openblas"]["repetitions"][0]["progress"]
        self.assertEqual([p["step"] for p in curve], list(range(1, 31)))
        self.assertLess(curve[-1]["loss"], curve[0]["loss"])
        rep = runs["openblas"]["repetitions"][0]["phases"]["train"]
        self.assertEqual(rep["tokens"], 30 * 2 * 16)
        # The checkpoint is llm.c's: header, then 16 tensors of float32.
        with open(ckpt, "rb") as f:
            hdr = struct.unpack("<8i", f.read(32))
        self.assertEqual(hdr, (20240326, 3, 32, 256, 1, 2, 32, 256))
        C, L = 32, 1
        n = 256 * C + 32 * C + L * (12 * C * C + 13 * C) + 2 * C
        self.assertEqual(os.path.getsize(ckpt), 1024 + 4 * n)
        # Evaluating the checkpoint reproduces the training run's val_loss.
        _, doc = run_json(["--plugin", "gpt2:openblas"] + TINY + MODEL +
                          ["--param", "mode=eval", "--param", "checkpoint=" + ckpt])
        ev = metrics(run_by_variant(doc)["openblas"])
        self.assertAlmostEqual(ev["val_loss"], b["val_loss"], delta=1e-6 * b["val_loss"])

        # Generation: with and without the KV cache, the same greedy tokens;
        # top_k=1 sampling is greedy too.
        gen = {}
        for kv, extra in (("true", []), ("false", []),
                          ("true", ["--param", "temperature=0.8", "--param", "top_k=1"])):
            _, doc = run_json(["--plugin", ALL] + TINY +
                              ["--param", "mode=generate", "--param", "checkpoint=" + ckpt,
                               "--param", "kv_cache=" + kv, "--param", "max_new_tokens=12",
                               "--param", "prompt=Call me"] + extra)
            for v, r in run_by_variant(doc).items():
                m = metrics(r)
                gen[(kv, len(extra), v)] = (m["first_token"], m["token_checksum"])
                self.assertGreater(m["tokens_per_s"], 0)
                self.assertLessEqual(m["latency_p50_ms"], m["latency_p90_ms"])
                self.assertLessEqual(m["latency_p90_ms"], m["latency_p99_ms"])
                self.assertEqual(r["repetitions"][0]["phases"]["train"]["tokens"], 12)
        self.assertEqual(len(set(gen.values())), 1, gen)

    def test_user_text_and_shard(self):
        text = os.path.join(self.dir, "t.txt")
        with open(text, "w") as f:
            f.write("the quick brown fox jumps over the lazy dog. " * 40)
        _, doc = run_json(["--plugin", "gpt2:openblas"] + TINY + MODEL +
                          ["--param", "dataset=" + text, "--param", "steps=3",
                           "--param", "eval_batches=0"])
        m = metrics(run_by_variant(doc)["openblas"])
        self.assertTrue(math.isfinite(m["val_loss"]))
        # The same bytes as a token shard: all of it is validation data for
        # eval; llm.c's windows are B*T+1 = 33 tokens advancing by 32.
        data = open(text, "rb").read()
        shard = os.path.join(self.dir, "t.bin")
        write_shard(shard, list(data))
        _, doc = run_json(["--plugin", "gpt2:openblas"] + TINY + MODEL +
                          ["--param", "dataset=" + shard, "--param", "mode=eval",
                           "--param", "eval_batches=0"])
        run_doc = run_by_variant(doc)["openblas"]
        self.assertEqual(run_doc["repetitions"][0]["phases"]["train"]["tokens"],
                         (len(data) - 1) // 32 * 32)
        # Tokens beyond the byte vocabulary are refused.
        write_shard(shard, [1, 2, 300, 4] * 20)
        p = run(["--plugin", "gpt2:openblas"] + TINY + MODEL +
                ["--param", "dataset=" + shard, "--param", "mode=eval"])
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("token 300 at 2 is outside the model's vocabulary of 256", p.stdout + p.stderr)

    def test_pytorch_peer_agrees(self):
        if subprocess.run(["/usr/bin/python3", "-c", "import torch, numpy"],
                          capture_output=True).returncode != 0:
            self.skipTest("python3-torch is not installed (tools/setup.sh --peers)")
        # Same weights, batches and AdamW: the same losses, to float32 sums.
        _, doc = run_json(["--plugin", "gpt2:" + ",".join(["openblas"] + EXTRA + ["pytorch"])]
                          + TINY + MODEL + ["--param", "steps=5", "--param", "warmup_steps=2"])
        runs = run_by_variant(doc)
        b = metrics(runs["pytorch"])
        for v in ["openblas"] + EXTRA:
            a = metrics(runs[v])
            for k in ("train_loss", "val_loss"):
                self.assertLess(abs(a[k] - b[k]) / b[k], 1e-4, (v, k))
        ca = [p["loss"] for p in runs["openblas"]["repetitions"][0]["progress"]]
        cb = [p["loss"] for p in runs["pytorch"]["repetitions"][0]["progress"]]
        self.assertEqual(len(ca), 5)
        for x, y in zip(ca, cb):
            self.assertLess(abs(x - y) / y, 1e-4)
        # Greedy generation with the KV cache: the same tokens (the cache and
        # recomputation agree on our side, test_train_variants_agree_and_learn).
        for kv in ("true",):
            _, doc = run_json(["--plugin", "gpt2:openblas,pytorch"] + TINY + MODEL +
                              ["--param", "mode=generate", "--param", "kv_cache=" + kv,
                               "--param", "max_new_tokens=10", "--param", "prompt=Call"])
            runs = run_by_variant(doc)
            a, b = metrics(runs["openblas"]), metrics(runs["pytorch"])
            self.assertEqual(a["token_checksum"], b["token_checksum"], kv)

    def test_quiet_keeps_plugin_info_off_stderr(self):
        # The plugin's info lines (the generated text) are for a person
        # watching; --quiet leaves only warnings and errors.
        args = ["--plugin", "gpt2:openblas"] + TINY + MODEL + [
            "--param", "mode=generate", "--param", "max_new_tokens=4",
            "--output", os.path.join(self.dir, "r.json")]
        loud = run(args, check=0)
        self.assertIn("[gpt2:openblas] info: generated", loud.stderr)
        quiet = run(args + ["--quiet"], check=0)
        self.assertNotIn("info:", quiet.stderr)

    def test_bad_parameters(self):
        bad_ckpt = os.path.join(self.dir, "bad.bin")
        write_shard(bad_ckpt, [1, 2, 3])
        cases = [
            (["--param", "seq_len=64"], "seq_len=64 exceeds the model's block size 32"),
            (["--param", "n_head=3"], "n_head must divide n_embd"),
            (["--param", "checkpoint=" + bad_ckpt], "magic 20240520, expected 20240326"),
            (["--param", "mode=generate", "--param", "max_new_tokens=40"],
             "exceed the model's block size 32"),
            (["--param", "mode=generate", "--param", "prompt=ids:1,999"],
             "ids must be integers in [0, 256)"),
            (["--param", "dataset=iris"], "registered dataset the gpt2 task does not take"),
        ]
        for extra, msg in cases:
            p = run(["--plugin", "gpt2:naive"] + TINY + MODEL + extra)
            self.assertNotEqual(p.returncode, 0, extra)
            self.assertIn(msg, p.stdout + p.stderr, extra)


if __name__ == "__main__":
    main()
