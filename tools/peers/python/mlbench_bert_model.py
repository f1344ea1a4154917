"""BERT in PyTorch as plugins/nn/bert.h defines it, and its weights file.

The module's parameters are bert.h's 23 tensors themselves, with the same
names, shapes and order (layers stacked along a leading L dimension, the
fused qkv projection [L, 3H, H] whose rows are q, then k, then v), so that
weights and gradients map one to one onto the C model's and onto the
nn_bert weights file: a header of 256 little-endian int32 (magic 20261218,
version 1, vocab_size, max_len, type_vocab, num_layers, num_heads, hidden,
ffn, head, num_classes, the rest 0), then the tensors as float32 in order.

The maths (post-LayerNorm with eps 1e-12, exact-erf GELU, padding keys
masked with -inf before the softmax, tanh pooler on [CLS], classify or qa
head, no dropout) is bert.h's; the peer (tools/peers/bert_torch.py) and
the parity tool (tools/parity/bert_torch.py) share it. No
nn.TransformerEncoder: its fused kernels would hide the definition.
"""
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MAGIC, VERSION, HEADER_INTS = 20261218, 1, 256
HEAD_CLASSIFY, HEAD_QA = 0, 1
LN_EPS = 1e-12
CFG_FIELDS = ["vocab_size", "max_len", "type_vocab", "num_layers", "num_heads", "hidden", "ffn",
              "head", "num_classes"]
NAMES = ["wte", "wpe", "wtt", "lnew", "lneb", "qkvw", "qkvb", "attow", "attob", "ln1w", "ln1b",
         "fcw", "fcb", "fcprojw", "fcprojb", "ln2w", "ln2b", "poolw", "poolb", "headw", "headb"]
# The members of bert.h's nn_bert_params, in order (21; bert.h's first
# version said NN_BERT_NUM_TENSORS 23, a miscount of the same list).
# nn_bert_tensor_decays: every weight matrix and embedding, not the
# LayerNorm gains and the biases.
DECAYS = {"wte", "wpe", "wtt", "qkvw", "attow", "fcw", "fcprojw", "poolw", "headw"}


def shapes(cfg):
    V, P, S = cfg["vocab_size"], cfg["max_len"], cfg["type_vocab"]
    L, H, Fd, K = cfg["num_layers"], cfg["hidden"], cfg["ffn"], cfg["num_classes"]
    return {"wte": (V, H), "wpe": (P, H), "wtt": (S, H), "lnew": (H,), "lneb": (H,),
            "qkvw": (L, 3 * H, H), "qkvb": (L, 3 * H), "attow": (L, H, H), "attob": (L, H),
            "ln1w": (L, H), "ln1b": (L, H), "fcw": (L, Fd, H), "fcb": (L, Fd),
            "fcprojw": (L, H, Fd), "fcprojb": (L, H), "ln2w": (L, H), "ln2b": (L, H),
            "poolw": (H, H), "poolb": (H,), "headw": (K, H), "headb": (K,)}


def check_config(cfg):
    for k in CFG_FIELDS:
        if k != "head" and cfg[k] <= 0:
            raise ValueError(f"{k} = {cfg[k]} must be positive")
    if cfg["hidden"] % cfg["num_heads"]:
        raise ValueError(f"num_heads {cfg['num_heads']} does not divide hidden {cfg['hidden']}")
    if cfg["head"] not in (HEAD_CLASSIFY, HEAD_QA):
        raise ValueError(f"head {cfg['head']}: 0 (classify) or 1 (qa)")
    if cfg["head"] == HEAD_QA and cfg["num_classes"] != 2:
        raise ValueError("the qa head has num_classes 2 (start, end)")


def read_weights(path):
    """(config dict, {name: float32 array}) of an nn_bert weights file."""
    with open(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 * HEADER_INTS:
        raise ValueError(f"{path}: {len(raw)} bytes, shorter than the header")
    hdr = struct.unpack(f"<{HEADER_INTS}i", raw[:4 * HEADER_INTS])
    if hdr[0] != MAGIC or hdr[1] != VERSION:
        raise ValueError(f"{path}: magic {hdr[0]} version {hdr[1]}, not an nn_bert v{VERSION} file")
    cfg = dict(zip(CFG_FIELDS, hdr[2:2 + len(CFG_FIELDS)]))
    check_config(cfg)
    data = np.frombuffer(raw, dtype="<f4", offset=4 * HEADER_INTS)
    out, at = {}, 0
    for name, shp in shapes(cfg).items():
        n = int(np.prod(shp))
        if at + n > data.size:
            raise ValueError(f"{path}: truncated in tensor {name}")
        out[name] = data[at:at + n].reshape(shp).copy()
        at += n
    if at != data.size:
        raise ValueError(f"{path}: {data.size} floats, expected {at}")
    return cfg, out


def write_weights(path, cfg, tensors):
    check_config(cfg)
    hdr = [MAGIC, VERSION] + [int(cfg[k]) for k in CFG_FIELDS]
    hdr += [0] * (HEADER_INTS - len(hdr))
    shp = shapes(cfg)
    with open(path, "wb") as f:
        f.write(struct.pack(f"<{HEADER_INTS}i", *hdr))
        for name in NAMES:
            t = np.ascontiguousarray(tensors[name], dtype="<f4")
            if t.shape != shp[name]:
                raise ValueError(f"tensor {name}: shape {t.shape}, expected {shp[name]}")
            f.write(t.tobytes())


def init_tensors(cfg, seed):
    """BERT's initialisation (as nn_bert_init_weights, from numpy's
    generator: the values differ from the C's, the distribution is the
    same): matrices and embeddings N(0, 0.02), LayerNorm gains 1, biases 0."""
    g = np.random.default_rng(seed)
    t = {}
    for name, shp in shapes(cfg).items():
        if name in DECAYS:
            t[name] = (g.standard_normal(shp) * 0.02).astype(np.float32)
        elif name in ("lnew", "ln1w", "ln2w"):
            t[name] = np.ones(shp, dtype=np.float32)
        else:
            t[name] = np.zeros(shp, dtype=np.float32)
    return t


class Bert(nn.Module):
    def __init__(self, cfg, tensors=None, dtype=torch.float32):
        super().__init__()
        check_config(cfg)
        self.cfg = dict(cfg)
        for name, shp in shapes(cfg).items():
            self.register_parameter(name, nn.Parameter(torch.zeros(shp, dtype=dtype)))
        if tensors is not None:
            self.load_tensors(tensors)

    def load_tensors(self, tensors):
        with torch.no_grad():
            for name in NAMES:
                p = getattr(self, name)
                p.copy_(torch.from_numpy(np.asarray(tensors[name])).to(p.dtype))

    def export(self, grads=False):
        """{name: array} of the parameters (float32 copies of their dtype's
        values), or of their gradients (zeros where none flowed, as the
        pooler's under the qa head)."""
        out = {}
        for name in NAMES:
            p = getattr(self, name)
            t = p.grad if grads else p
            out[name] = (np.zeros(tuple(p.shape)) if t is None else
                         t.detach().cpu().numpy().astype(np.float64))
        return out

    def save(self, path):
        write_weights(path, self.cfg, {k: v.astype(np.float32) for k, v in self.export().items()})

    def encode(self, ids, seg, mask):
        """The encoder's output x_L [B, T, H]."""
        c = self.cfg
        B, T = ids.shape
        H, NH = c["hidden"], c["num_heads"]
        hs = H // NH
        x = self.wte[ids] + self.wpe[:T].unsqueeze(0) + self.wtt[seg]
        x = F.layer_norm(x, (H,), self.lnew, self.lneb, LN_EPS)
        # A padding key gets probability exactly 0 (bert.h), never a large
        # negative score added.
        pad = (mask == 0).view(B, 1, 1, T)
        for l in range(c["num_layers"]):
            qkv = F.linear(x, self.qkvw[l], self.qkvb[l])
            q, k, v = (t.view(B, T, NH, hs).transpose(1, 2) for t in qkv.split(H, dim=2))
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
            att = att.masked_fill(pad, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, H)
            x1 = F.layer_norm(x + F.linear(y, self.attow[l], self.attob[l]), (H,),
                              self.ln1w[l], self.ln1b[l], LN_EPS)
            h = F.gelu(F.linear(x1, self.fcw[l], self.fcb[l]))  # exact erf form
            x = F.layer_norm(x1 + F.linear(h, self.fcprojw[l], self.fcprojb[l]), (H,),
                             self.ln2w[l], self.ln2b[l], LN_EPS)
        return x

    def forward(self, ids, seg, mask, labels=None):
        """(logits, mean loss or None): classify logits [B, K], labels [B];
        qa logits [B, T, 2] (start, end), labels [B, 2], each softmax over
        the real tokens only, loss = (CE(start) + CE(end)) / 2."""
        x = self.encode(ids, seg, mask)
        pooled = torch.tanh(F.linear(x[:, 0], self.poolw, self.poolb))
        if self.cfg["head"] == HEAD_CLASSIFY:
            logits = F.linear(pooled, self.headw, self.headb)
            loss = None if labels is None else F.cross_entropy(logits, labels)
            return logits, loss
        logits = F.linear(x, self.headw, self.headb)
        if labels is None:
            return logits, None
        pad = mask == 0
        s = logits[..., 0].masked_fill(pad, float("-inf"))
        e = logits[..., 1].masked_fill(pad, float("-inf"))
        loss = 0.5 * (F.cross_entropy(s, labels[:, 0]) + F.cross_entropy(e, labels[:, 1]))
        return logits, loss

    def adamw(self, lr, weight_decay, betas=(0.9, 0.999), eps=1e-6):
        """torch.optim.AdamW with decay on DECAYS only (nn_bert_adamw_step)."""
        decay = [getattr(self, n) for n in NAMES if n in DECAYS]
        rest = [getattr(self, n) for n in NAMES if n not in DECAYS]
        return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                  {"params": rest, "weight_decay": 0.0}],
                                 lr=lr, betas=betas, eps=eps)

    def flops_per_seq(self, T):
        """Forward multiply-adds x 2 of one sequence of T tokens: the
        encoder's projections and attention, pooler and head."""
        c = self.cfg
        H, Fd, L = c["hidden"], c["ffn"], c["num_layers"]
        per_tok = L * (2 * (3 * H * H + H * H + 2 * H * Fd) + 4 * T * H)
        head = 2 * H * H + 2 * H * c["num_classes"] * (1 if c["head"] == HEAD_CLASSIFY else T)
        return per_tok * T + head


def lr_at(lr, step, warmup, total):
    """nn_bert_lr: lr * step / warmup, then lr * (total - step) / (total -
    warmup) (transformers' get_linear_schedule_with_warmup)."""
    if step < warmup:
        return lr * step / warmup
    if total <= warmup:
        return 0.0
    return lr * max(0.0, (total - step) / (total - warmup))
