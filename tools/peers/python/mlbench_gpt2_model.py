"""GPT-2 in PyTorch (nanoGPT-style, the definition plugins/nn/transformer.c
implements) and llm.c's files: checkpoints (header of 256 int32: magic
20240326, version 3, maxT, V, L, NH, C, Vp; then float32 tensors in llm.c's
order) and token shards (magic 20240520, version 1, count; uint16 tokens).
Shared by tools/parity/gpt2_torch.py and the gpt2:pytorch peer."""
import math
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

CKPT_MAGIC, CKPT_VERSION = 20240326, 3
SHARD_MAGIC, SHARD_VERSION = 20240520, 1
NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]


def shapes(maxT, V, L, NH, C, Vp):
    return {"wte": (Vp, C), "wpe": (maxT, C), "ln1w": (L, C), "ln1b": (L, C),
            "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C), "attprojw": (L, C, C),
            "attprojb": (L, C), "ln2w": (L, C), "ln2b": (L, C), "fcw": (L, 4 * C, C),
            "fcb": (L, 4 * C), "fcprojw": (L, C, 4 * C), "fcprojb": (L, C), "lnfw": (C,),
            "lnfb": (C,)}


def read_ckpt(path):
    """(config dict, {name: float32 array}) of an llm.c checkpoint."""
    with open(path, "rb") as f:
        raw = f.read()
    hdr = struct.unpack("<256i", raw[:1024])
    if hdr[0] != CKPT_MAGIC or hdr[1] != CKPT_VERSION:
        raise ValueError(f"{path}: magic {hdr[0]} version {hdr[1]}, not an llm.c fp32 checkpoint")
    cfg = dict(zip(["maxT", "V", "L", "NH", "C", "Vp"], hdr[2:8]))
    data = np.frombuffer(raw, dtype="<f4", offset=1024)
    out, at = {}, 0
    for name, shp in shapes(**cfg).items():
        n = int(np.prod(shp))
        out[name] = data[at:at + n].reshape(shp).copy()
        at += n
    if at != data.size:
        raise ValueError(f"{path}: {data.size} floats, expected {at}")
    return cfg, out


def write_ckpt(path, cfg, tensors):
    hdr = [CKPT_MAGIC, CKPT_VERSION, cfg["maxT"], cfg["V"], cfg["L"], cfg["NH"], cfg["C"],
           cfg["Vp"]] + [0] * 248
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *hdr))
        for name in NAMES:
            f.write(np.ascontiguousarray(tensors[name], dtype="<f4").tobytes())


def read_shard(path):
    with open(path, "rb") as f:
        raw = f.read()
    hdr = struct.unpack("<256i", raw[:1024])
    if hdr[0] != SHARD_MAGIC or hdr[1] != SHARD_VERSION:
        raise ValueError(f"{path}: not an llm.c token shard")
    tok = np.frombuffer(raw, dtype="<u2", offset=1024)
    if tok.size != hdr[2]:
        raise ValueError(f"{path}: {tok.size} tokens, header says {hdr[2]}")
    return tok.astype(np.int64)


def write_shard(path, tokens):
    tokens = np.asarray(tokens, dtype="<u2")
    with open(path, "wb") as f:
        f.write(struct.pack("<256i", *([SHARD_MAGIC, SHARD_VERSION, tokens.size] + [0] * 253)))
        f.write(tokens.tobytes())


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1 = nn.LayerNorm(C)
        self.c_attn = nn.Linear(C, 3 * C)
        self.attn_proj = nn.Linear(C, C)
        self.ln_2 = nn.LayerNorm(C)
        self.c_fc = nn.Linear(C, 4 * C)
        self.mlp_proj = nn.Linear(4 * C, C)

    def attn(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(x).split(C, dim=2)
        hs = C // self.NH
        q, k, v = (t.view(B, T, self.NH, hs).transpose(1, 2) for t in (q, k, v))
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        mask = torch.tril(torch.ones(T, T, dtype=torch.bool, device=x.device))
        att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.attn_proj(y)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT(nn.Module):
    """wte has Vp rows, as llm.c's; the loss and sampling see the first V."""

    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        C = cfg["C"]
        self.wte = nn.Embedding(cfg["Vp"], C)
        self.wpe = nn.Embedding(cfg["maxT"], C)
        self.h = nn.ModuleList([Block(C, cfg["NH"]) for _ in range(cfg["L"])])
        self.ln_f = nn.LayerNorm(C)

    def forward(self, idx, targets=None):
        B, T = idx.shape
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for b in self.h:
            x = b(x)
        logits = self.ln_f(x) @ self.wte.weight.t()  # the tied head, [B, T, Vp]
        loss = None
        if targets is not None:
            V = self.cfg["V"]
            loss = F.cross_entropy(logits[..., :V].reshape(-1, V), targets.reshape(-1))
        return logits, loss

    # llm.c name -> (module parameter for layer l, or the parameter itself)
    def _params(self):
        per_layer = {"ln1w": "ln_1.weight", "ln1b": "ln_1.bias", "qkvw": "c_attn.weight",
                     "qkvb": "c_attn.bias", "attprojw": "attn_proj.weight",
                     "attprojb": "attn_proj.bias", "ln2w": "ln_2.weight", "ln2b": "ln_2.bias",
                     "fcw": "c_fc.weight", "fcb": "c_fc.bias", "fcprojw": "mlp_proj.weight",
                     "fcprojb": "mlp_proj.bias"}
        out = {"wte": [self.wte.weight], "wpe": [self.wpe.weight],
               "lnfw": [self.ln_f.weight], "lnfb": [self.ln_f.bias]}
        for name, attr in per_layer.items():
            out[name] = [b.get_parameter(attr) for b in self.h]
        return out

    def load_llmc(self, tensors):
        with torch.no_grad():
            for name, plist in self._params().items():
                t = tensors[name]
                if len(plist) == 1 and name in ("wte", "wpe", "lnfw", "lnfb"):
                    plist[0].copy_(torch.from_numpy(np.asarray(t)).to(plist[0].dtype))
                else:
                    for l, p in enumerate(plist):
                        p.copy_(torch.from_numpy(np.asarray(t[l])).to(p.dtype))

    def export_llmc(self, grads=False):
        out = {}
        for name, plist in self._params().items():
            vals = [(p.grad if grads else p).detach().cpu().numpy().copy() for p in plist]
            out[name] = vals[0] if name in ("wte", "wpe", "lnfw", "lnfb") else np.stack(vals)
        return out

    def adamw(self, lr, weight_decay, betas=(0.9, 0.95), eps=1e-8):
        """torch.optim.AdamW with decay on the 2-D weights only (GPT-2's
        rule, as nn_gpt2_adamw_step)."""
        decay = [p for p in self.parameters() if p.dim() >= 2]
        rest = [p for p in self.parameters() if p.dim() < 2]
        return torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay},
                                  {"params": rest, "weight_decay": 0.0}],
                                 lr=lr, betas=betas, eps=eps)


def init_tensors(cfg, seed):
    """GPT-2's initialisation in llm.c's layout (padded wte rows zero)."""
    g = np.random.default_rng(seed)
    shp = shapes(**cfg)
    t = {}
    resid = 0.02 / math.sqrt(2 * cfg["L"])
    for name in NAMES:
        if name in ("ln1w", "ln2w", "lnfw"):
            t[name] = np.ones(shp[name], dtype=np.float32)
        elif name.endswith("b") and name not in ("wte",):
            t[name] = np.zeros(shp[name], dtype=np.float32)
        else:
            sd = resid if name in ("attprojw", "fcprojw") else 0.02
            t[name] = (g.standard_normal(shp[name]) * sd).astype(np.float32)
    t["wte"][cfg["V"]:] = 0
    return t
