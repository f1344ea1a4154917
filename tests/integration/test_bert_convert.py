"""tools/parity/bert_convert.py: a random state dict with Hugging Face
BERT's names (built with torch: BertForSequenceClassification's, a bare
BertModel's, BertForQuestionAnswering's without a pooler) converted to an
nn_bert weights file, the file read back with numpy by a reader written
here from docs/bert-weights-format.md (not the converter's), each tensor
compared with its source; the reverse conversion (--to-state-dict) gives
the same tensors back; broken input is refused with the tensor's name.
Skips, saying why, where torch or numpy is not importable."""
import contextlib
import importlib.util
import io
import os
import struct
import subprocess
import sys
import tempfile
import unittest

from common import SOURCE_ROOT

CONVERT = os.path.join(SOURCE_ROOT, "tools", "parity", "bert_convert.py")
PY = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else sys.executable
try:
    import numpy as np
    import torch
    _spec = importlib.util.spec_from_file_location("bert_convert", CONVERT)
    bert_convert = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(bert_convert)
except ImportError as e:  # the skip says why
    torch = None
    TORCH_WHY = f"python3 cannot import {e.name or 'torch'}; the converter needs torch and numpy"

V, P, S, L, H, F = 23, 9, 2, 2, 8, 16


def hf_state(head="classify", K=3, prefix=True, pooler=True, seed=0):
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def r(*shape):
        return torch.randn(*shape, generator=g)

    pre = "bert." if prefix else ""
    sd[pre + "embeddings.position_ids"] = torch.arange(P).unsqueeze(0)  # a buffer: ignored
    sd[pre + "embeddings.word_embeddings.weight"] = r(V, H)
    sd[pre + "embeddings.position_embeddings.weight"] = r(P, H)
    sd[pre + "embeddings.token_type_embeddings.weight"] = r(S, H)
    sd[pre + "embeddings.LayerNorm.weight"] = r(H)
    sd[pre + "embeddings.LayerNorm.bias"] = r(H)
    for i in range(L):
        p = f"{pre}encoder.layer.{i}."
        for x in ("query", "key", "value"):
            sd[p + f"attention.self.{x}.weight"] = r(H, H)
            sd[p + f"attention.self.{x}.bias"] = r(H)
        sd[p + "attention.output.dense.weight"] = r(H, H)
        sd[p + "attention.output.dense.bias"] = r(H)
        sd[p + "attention.output.LayerNorm.weight"] = r(H)
        sd[p + "attention.output.LayerNorm.bias"] = r(H)
        sd[p + "intermediate.dense.weight"] = r(F, H)
        sd[p + "intermediate.dense.bias"] = r(F)
        sd[p + "output.dense.weight"] = r(H, F)
        sd[p + "output.dense.bias"] = r(H)
        sd[p + "output.LayerNorm.weight"] = r(H)
        sd[p + "output.LayerNorm.bias"] = r(H)
    if pooler:
        sd[pre + "pooler.dense.weight"] = r(H, H)
        sd[pre + "pooler.dense.bias"] = r(H)
    if head == "classify":
        sd["classifier.weight"] = r(K, H)
        sd["classifier.bias"] = r(K)
    elif head == "qa":
        sd["qa_outputs.weight"] = r(2, H)
        sd["qa_outputs.bias"] = r(2)
    return sd


def read_nn_bert(path):
    """The format as docs/bert-weights-format.md states it."""
    with open(path, "rb") as f:
        data = f.read()
    h = struct.unpack_from("<256i", data)
    assert h[0] == 20261218 and h[1] == 1, h[:2]
    assert all(x == 0 for x in h[11:]), "reserved header ints must be 0"
    Vv, Pp, Ss, Ll, NH, Hh, Ff, head, K = h[2:11]
    order = [("wte", (Vv, Hh)), ("wpe", (Pp, Hh)), ("wtt", (Ss, Hh)), ("lnew", (Hh,)),
             ("lneb", (Hh,)), ("qkvw", (Ll, 3 * Hh, Hh)), ("qkvb", (Ll, 3 * Hh)),
             ("attow", (Ll, Hh, Hh)), ("attob", (Ll, Hh)), ("ln1w", (Ll, Hh)),
             ("ln1b", (Ll, Hh)), ("fcw", (Ll, Ff, Hh)), ("fcb", (Ll, Ff)),
             ("fcprojw", (Ll, Hh, Ff)), ("fcprojb", (Ll, Hh)), ("ln2w", (Ll, Hh)),
             ("ln2b", (Ll, Hh)), ("poolw", (Hh, Hh)), ("poolb", (Hh,)), ("headw", (K, Hh)),
             ("headb", (K,))]
    t, at = {}, 1024
    for n, shp in order:
        c = int(np.prod(shp))
        t[n] = np.frombuffer(data, "<f4", c, at).reshape(shp)
        at += 4 * c
    assert at == len(data), (at, len(data))
    return dict(V=Vv, P=Pp, S=Ss, L=Ll, NH=NH, H=Hh, F=Ff, head=head, K=K), t


class Result:
    def __init__(self, returncode, stderr):
        self.returncode, self.stderr = returncode, stderr


def run(*args):
    """The converter's main in this process (torch is imported once: each
    new interpreter spends seconds importing it); test_cli runs the script."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = bert_convert.main([CONVERT] + [str(a) for a in args])
    return Result(rc, err.getvalue())


@unittest.skipIf(torch is None, globals().get("TORCH_WHY", ""))
class BertConvert(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="mlb_bert_convert_")
        self.d = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def convert(self, sd, *extra):
        src, dst = os.path.join(self.d, "in.pt"), os.path.join(self.d, "out.bin")
        torch.save(sd, src)
        p = run(src, dst, *extra)
        self.assertEqual(p.returncode, 0, p.stderr)
        return read_nn_bert(dst), p.stderr, dst

    def check_encoder(self, sd, t, pre):
        g = lambda k: sd[pre + k].numpy()  # noqa: E731
        np.testing.assert_array_equal(t["wte"], g("embeddings.word_embeddings.weight"))
        np.testing.assert_array_equal(t["wpe"], g("embeddings.position_embeddings.weight"))
        np.testing.assert_array_equal(t["wtt"], g("embeddings.token_type_embeddings.weight"))
        np.testing.assert_array_equal(t["lnew"], g("embeddings.LayerNorm.weight"))
        np.testing.assert_array_equal(t["lneb"], g("embeddings.LayerNorm.bias"))
        for i in range(L):
            p = f"encoder.layer.{i}."
            for j, x in enumerate(("query", "key", "value")):  # rows q, then k, then v
                np.testing.assert_array_equal(t["qkvw"][i, j * H:(j + 1) * H],
                                              g(p + f"attention.self.{x}.weight"))
                np.testing.assert_array_equal(t["qkvb"][i, j * H:(j + 1) * H],
                                              g(p + f"attention.self.{x}.bias"))
            for n, k in (("attow", "attention.output.dense.weight"),
                         ("attob", "attention.output.dense.bias"),
                         ("ln1w", "attention.output.LayerNorm.weight"),
                         ("ln1b", "attention.output.LayerNorm.bias"),
                         ("fcw", "intermediate.dense.weight"), ("fcb", "intermediate.dense.bias"),
                         ("fcprojw", "output.dense.weight"), ("fcprojb", "output.dense.bias"),
                         ("ln2w", "output.LayerNorm.weight"), ("ln2b", "output.LayerNorm.bias")):
                np.testing.assert_array_equal(t[n][i], g(p + k))

    def test_sequence_classification(self):
        sd = hf_state("classify", K=3)
        (cfg, t), _, dst = self.convert(sd, "--num-heads", 2)
        self.assertEqual(cfg, dict(V=V, P=P, S=S, L=L, NH=2, H=H, F=F, head=0, K=3))
        self.check_encoder(sd, t, "bert.")
        np.testing.assert_array_equal(t["poolw"], sd["bert.pooler.dense.weight"].numpy())
        np.testing.assert_array_equal(t["poolb"], sd["bert.pooler.dense.bias"].numpy())
        np.testing.assert_array_equal(t["headw"], sd["classifier.weight"].numpy())
        np.testing.assert_array_equal(t["headb"], sd["classifier.bias"].numpy())
        # And back: the same names and values (position_ids aside).
        back = os.path.join(self.d, "back.pt")
        p = run("--to-state-dict", dst, back)
        self.assertEqual(p.returncode, 0, p.stderr)
        sd2 = torch.load(back)
        want = {k: v for k, v in sd.items() if not k.endswith("position_ids")}
        self.assertEqual(sorted(sd2), sorted(want))
        for k in want:
            self.assertTrue(torch.equal(sd2[k], want[k].float()), k)
        # A second trip through the converter gives the same file.
        (cfg2, t2), _, _ = self.convert(sd2, "--num-heads", 2)
        self.assertEqual(cfg2, cfg)
        for k in t:
            np.testing.assert_array_equal(t2[k], t[k])

    def test_bare_model_gets_a_head(self):
        sd = hf_state(None, prefix=False)
        (cfg, t), err, _ = self.convert(sd, "--head", "classify", "--num-classes", 4)
        self.assertEqual((cfg["head"], cfg["K"], cfg["NH"]), (0, 4, 1))  # NH: H/64, at least 1
        self.assertIn("no head", err)
        self.check_encoder(sd, t, "")
        self.assertTrue(np.all(t["headb"] == 0) and 0.005 < t["headw"].std() < 0.05)

    def test_question_answering_without_pooler(self):
        sd = hf_state("qa", pooler=False)
        (cfg, t), err, _ = self.convert(sd, "--num-heads", 4)
        self.assertEqual((cfg["head"], cfg["K"], cfg["NH"]), (1, 2, 4))
        self.assertIn("no pooler", err)
        self.check_encoder(sd, t, "bert.")
        self.assertTrue(np.all(t["poolw"] == 0))
        np.testing.assert_array_equal(t["headw"], sd["qa_outputs.weight"].numpy())

    def test_cli(self):
        """The script itself, as a user runs it."""
        src, dst = os.path.join(self.d, "in.pt"), os.path.join(self.d, "out.bin")
        torch.save(hf_state("qa"), src)
        p = subprocess.run([PY, CONVERT, src, dst, "--num-heads", "2"], capture_output=True,
                           text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        cfg, _ = read_nn_bert(dst)
        self.assertEqual((cfg["head"], cfg["NH"], cfg["L"]), (1, 2, L))

    def test_refusals(self):
        sd = hf_state("classify")
        del sd["bert.encoder.layer.1.attention.self.key.bias"]
        src = os.path.join(self.d, "bad.pt")
        torch.save(sd, src)
        p = run(src, os.path.join(self.d, "o.bin"), "--num-heads", 2)
        self.assertEqual(p.returncode, 1)
        self.assertIn("encoder.layer.1.attention.self.key.bias", p.stderr)
        good = os.path.join(self.d, "good.pt")
        torch.save(hf_state("classify"), good)
        p = run(good, os.path.join(self.d, "o.bin"), "--num-heads", 3)
        self.assertEqual(p.returncode, 1)
        self.assertIn("does not divide hidden 8", p.stderr)
        junk = os.path.join(self.d, "junk.bin")
        with open(junk, "wb") as f:
            f.write(b"\0" * 2000)
        p = run("--to-state-dict", junk, os.path.join(self.d, "o.pt"))
        self.assertEqual(p.returncode, 1)
        self.assertIn("magic 0", p.stderr)


if __name__ == "__main__":
    unittest.main()
