#!/usr/bin/python3
"""Converts a Hugging Face BERT state dict to an nn_bert weights file
(docs/bert-weights-format.md), and back.

    tools/parity/bert_convert.py STATE.pt|pytorch_model.bin OUT.bin
        [--num-heads NH] [--head classify|qa] [--num-classes K] [--seed S]
    tools/parity/bert_convert.py --to-state-dict WEIGHTS.bin OUT.pt [--no-prefix]

The state dict is BertModel's, BertForSequenceClassification's or
BertForQuestionAnswering's (names with or without the "bert." prefix;
TensorFlow-era LayerNorm names gamma/beta are accepted). query, key and
value are concatenated into the fused qkv projection. A state dict holds no
head count: --num-heads, default hidden / 64 (every published BERT's head
size). The head comes from the state dict (classifier.* -> classify,
qa_outputs.* -> qa); a bare BertModel gets the head that --head and
--num-classes name, initialised N(0, 0.02) from --seed (BERT's init, biases
0), and BertForQuestionAnswering, which has no pooler, gets a zero pooler
(the qa head does not read it). Values are written as float32.
"""
import argparse
import os
import re
import struct
import sys

import numpy as np

MAGIC, VERSION, HEADER_INTS = 20261218, 1, 256
NAMES = ["wte", "wpe", "wtt", "lnew", "lneb", "qkvw", "qkvb", "attow", "attob", "ln1w", "ln1b",
         "fcw", "fcb", "fcprojw", "fcprojb", "ln2w", "ln2b", "poolw", "poolb", "headw", "headb"]
HEADS = {"classify": 0, "qa": 1}
HEAD_NAMES = {0: "classifier", 1: "qa_outputs"}


def shapes(c):
    """The tensors' shapes, in file order, of a configuration dict."""
    V, P, S, L, H, F, K = (c[k] for k in ("vocab_size", "max_len", "type_vocab", "num_layers",
                                          "hidden", "ffn", "num_classes"))
    return {"wte": (V, H), "wpe": (P, H), "wtt": (S, H), "lnew": (H,), "lneb": (H,),
            "qkvw": (L, 3 * H, H), "qkvb": (L, 3 * H), "attow": (L, H, H), "attob": (L, H),
            "ln1w": (L, H), "ln1b": (L, H), "fcw": (L, F, H), "fcb": (L, F),
            "fcprojw": (L, H, F), "fcprojb": (L, H), "ln2w": (L, H), "ln2b": (L, H),
            "poolw": (H, H), "poolb": (H,), "headw": (K, H), "headb": (K,)}


def write_weights(path, cfg, tensors):
    hdr = [MAGIC, VERSION, cfg["vocab_size"], cfg["max_len"], cfg["type_vocab"],
           cfg["num_layers"], cfg["num_heads"], cfg["hidden"], cfg["ffn"], cfg["head"],
           cfg["num_classes"]]
    want = shapes(cfg)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<%di" % HEADER_INTS, *(hdr + [0] * (HEADER_INTS - len(hdr)))))
        for n in NAMES:
            a = np.ascontiguousarray(tensors[n], dtype="<f4")
            if a.shape != want[n]:
                raise ValueError(f"{n}: shape {a.shape}, expected {want[n]}")
            f.write(a.tobytes())
    os.replace(tmp, path)


def read_weights(path):
    """(config, {name: float32 array}) of an nn_bert weights file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 4 * HEADER_INTS:
        raise ValueError(f"{path}: {len(data)} bytes, shorter than the header")
    h = struct.unpack_from("<%di" % HEADER_INTS, data)
    if h[0] != MAGIC or h[1] != VERSION:
        raise ValueError(f"{path}: magic {h[0]} version {h[1]}, expected {MAGIC} {VERSION}")
    keys = ("vocab_size", "max_len", "type_vocab", "num_layers", "num_heads", "hidden", "ffn",
            "head", "num_classes")
    cfg = dict(zip(keys, h[2:11]))
    out, at = {}, 4 * HEADER_INTS
    for n, shp in shapes(cfg).items():
        cnt = int(np.prod(shp))
        if at + 4 * cnt > len(data):
            raise ValueError(f"{path}: truncated in tensor {n}")
        out[n] = np.frombuffer(data, "<f4", cnt, at).reshape(shp).copy()
        at += 4 * cnt
    if at != len(data):
        raise ValueError(f"{path}: {len(data) - at} bytes after the last tensor")
    return cfg, out


def _np(t):
    return t.detach().cpu().float().numpy()


def from_state_dict(state, num_heads=None, head=None, num_classes=None, seed=0):
    """(config, tensors) from a Hugging Face BERT state dict."""
    sd = {}
    for k, v in state.items():
        k = re.sub(r"\.gamma$", ".weight", re.sub(r"\.beta$", ".bias", k))
        sd[k[5:] if k.startswith("bert.") else k] = v

    def get(name):
        if name not in sd:
            raise KeyError(f"the state dict has no {name} (nor bert.{name})")
        return _np(sd[name])

    wte = get("embeddings.word_embeddings.weight")
    V, H = wte.shape
    layers = sorted({int(m.group(1)) for k in sd for m in [re.match(r"encoder\.layer\.(\d+)\.", k)]
                     if m})
    if not layers or layers != list(range(len(layers))):
        raise ValueError(f"encoder layers {layers}: expected 0..L-1")
    L = len(layers)
    NH = num_heads or max(1, H // 64)
    if H % NH:
        raise ValueError(f"--num-heads {NH} does not divide hidden {H}")
    t = {"wte": wte, "wpe": get("embeddings.position_embeddings.weight"),
         "wtt": get("embeddings.token_type_embeddings.weight"),
         "lnew": get("embeddings.LayerNorm.weight"), "lneb": get("embeddings.LayerNorm.bias")}
    per = {n: [] for n in NAMES[5:17]}
    for i in range(L):
        p = f"encoder.layer.{i}."
        q = [get(p + f"attention.self.{x}.weight") for x in ("query", "key", "value")]
        per["qkvw"].append(np.concatenate(q, 0))
        per["qkvb"].append(np.concatenate(
            [get(p + f"attention.self.{x}.bias") for x in ("query", "key", "value")], 0))
        for dst, src in (("attow", "attention.output.dense.weight"),
                         ("attob", "attention.output.dense.bias"),
                         ("ln1w", "attention.output.LayerNorm.weight"),
                         ("ln1b", "attention.output.LayerNorm.bias"),
                         ("fcw", "intermediate.dense.weight"), ("fcb", "intermediate.dense.bias"),
                         ("fcprojw", "output.dense.weight"), ("fcprojb", "output.dense.bias"),
                         ("ln2w", "output.LayerNorm.weight"), ("ln2b", "output.LayerNorm.bias")):
            per[dst].append(get(p + src))
    for n, v in per.items():
        t[n] = np.stack(v, 0)
    notes = []
    if "pooler.dense.weight" in sd:
        t["poolw"], t["poolb"] = get("pooler.dense.weight"), get("pooler.dense.bias")
    else:
        t["poolw"], t["poolb"] = np.zeros((H, H), "f4"), np.zeros(H, "f4")
        notes.append("no pooler in the state dict: a zero pooler (the qa head does not read it)")
    found = [h for h, nm in HEAD_NAMES.items() if nm + ".weight" in sd]
    if found:
        hd = found[0]
        if head is not None and HEADS[head] != hd:
            raise ValueError(f"--head {head}, but the state dict's head is {HEAD_NAMES[hd]}")
        t["headw"], t["headb"] = get(HEAD_NAMES[hd] + ".weight"), get(HEAD_NAMES[hd] + ".bias")
        K = t["headw"].shape[0]
    else:
        hd = HEADS[head or "classify"]
        K = 2 if hd == 1 else (num_classes or 2)
        rng = np.random.default_rng(seed)
        t["headw"] = (0.02 * rng.standard_normal((K, H))).astype("f4")
        t["headb"] = np.zeros(K, "f4")
        notes.append(f"no head in the state dict: a new {['classify', 'qa'][hd]} head of {K} "
                     f"outputs, N(0, 0.02) from seed {seed}")
    cfg = {"vocab_size": V, "max_len": t["wpe"].shape[0], "type_vocab": t["wtt"].shape[0],
           "num_layers": L, "num_heads": NH, "hidden": H, "ffn": t["fcw"].shape[1], "head": hd,
           "num_classes": K}
    return cfg, t, notes


def to_state_dict(cfg, t, prefix=True):
    """Hugging Face names (BertForSequenceClassification's or
    BertForQuestionAnswering's, with a pooler) for an nn_bert file's tensors."""
    import torch
    from collections import OrderedDict
    H = cfg["hidden"]
    pre = "bert." if prefix else ""
    sd = OrderedDict()

    def put(name, a):
        sd[name] = torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))

    put(pre + "embeddings.word_embeddings.weight", t["wte"])
    put(pre + "embeddings.position_embeddings.weight", t["wpe"])
    put(pre + "embeddings.token_type_embeddings.weight", t["wtt"])
    put(pre + "embeddings.LayerNorm.weight", t["lnew"])
    put(pre + "embeddings.LayerNorm.bias", t["lneb"])
    for i in range(cfg["num_layers"]):
        p = f"{pre}encoder.layer.{i}."
        for j, x in enumerate(("query", "key", "value")):
            put(p + f"attention.self.{x}.weight", t["qkvw"][i, j * H:(j + 1) * H])
            put(p + f"attention.self.{x}.bias", t["qkvb"][i, j * H:(j + 1) * H])
        for src, dst in (("attow", "attention.output.dense.weight"),
                         ("attob", "attention.output.dense.bias"),
                         ("ln1w", "attention.output.LayerNorm.weight"),
                         ("ln1b", "attention.output.LayerNorm.bias"),
                         ("fcw", "intermediate.dense.weight"), ("fcb", "intermediate.dense.bias"),
                         ("fcprojw", "output.dense.weight"), ("fcprojb", "output.dense.bias"),
                         ("ln2w", "output.LayerNorm.weight"), ("ln2b", "output.LayerNorm.bias")):
            put(p + dst, t[src][i])
    put(pre + "pooler.dense.weight", t["poolw"])
    put(pre + "pooler.dense.bias", t["poolb"])
    hn = HEAD_NAMES[cfg["head"]]
    put(hn + ".weight", t["headw"])
    put(hn + ".bias", t["headb"])
    return sd


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--to-state-dict", action="store_true",
                    help="nn_bert weights file -> Hugging Face state dict (torch.save)")
    ap.add_argument("--no-prefix", action="store_true",
                    help="with --to-state-dict: BertModel names, without 'bert.'")
    ap.add_argument("--num-heads", type=int)
    ap.add_argument("--head", choices=sorted(HEADS))
    ap.add_argument("--num-classes", type=int)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv[1:])
    import torch
    try:
        if a.to_state_dict:
            cfg, t = read_weights(a.src)
            torch.save(to_state_dict(cfg, t, not a.no_prefix), a.dst)
            return 0
        state = torch.load(a.src, map_location="cpu")
        if not isinstance(state, dict):
            raise ValueError(f"{a.src}: a {type(state).__name__}, not a state dict")
        if "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        cfg, t, notes = from_state_dict(state, a.num_heads, a.head, a.num_classes, a.seed)
        for n in notes:
            print(f"bert_convert: {a.src}: {n}", file=sys.stderr)
        write_weights(a.dst, cfg, t)
    except (KeyError, ValueError, OSError) as e:
        msg = e.args[0] if isinstance(e, KeyError) and e.args else e
        print(f"bert_convert: {a.src}: {msg}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
