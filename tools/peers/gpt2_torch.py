"""gpt2:pytorch — the gpt2 task in PyTorch CPU: the nanoGPT-style model of
tools/peers/python/mlbench_gpt2_model.py on exactly the initial weights
(init.bin, an llm.c checkpoint), token splits and prompt that gpt2:openblas
prepares (data_from), with the plugin's loop: llm.c's sequential windows of
B*T+1 tokens, AdamW (betas 0.9/0.95, eps 1e-8, decay on the 2-D weights),
clipping by global norm, the same warmup and cosine schedule, the same
evaluation windows; generation with a KV cache (or recomputing the
context), greedy or sampled (torch's generator: sampled tokens differ from
the plugin's, greedy ones match)."""
import math
import os
import time

import mlbench_gpt2_model as g2
import mlbench_peer
import numpy as np
import torch
import torch.nn.functional as F


def lr_at(lr, step, warmup, total, cosine, min_frac=0.1):
    """nn_lr_schedule (plugins/nn/transformer.c)."""
    if step < warmup:
        return lr * (step + 1) / warmup
    if not cosine or total <= warmup:
        return lr
    r = min(1.0, (step - warmup) / (total - warmup))
    return lr * (min_frac + (1 - min_frac) * 0.5 * (1 + math.cos(math.pi * r)))


class KV:
    """Keys and values of every layer, [L, NH, maxT, hs]."""

    def __init__(self, cfg):
        L, NH, C, T = cfg["L"], cfg["NH"], cfg["C"], cfg["maxT"]
        self.k = torch.zeros(L, NH, T, C // NH)
        self.v = torch.zeros(L, NH, T, C // NH)


def step(model, tok, pos, kv):
    """Logits [Vp] of token `tok` at position pos, with the cache."""
    cfg = model.cfg
    NH, C = cfg["NH"], cfg["C"]
    hs = C // NH
    x = model.wte.weight[tok] + model.wpe.weight[pos]
    for l, b in enumerate(model.h):
        q, k, v = b.c_attn(b.ln_1(x)).split(C)
        kv.k[l, :, pos] = k.view(NH, hs)
        kv.v[l, :, pos] = v.view(NH, hs)
        att = (kv.k[l, :, :pos + 1] @ q.view(NH, hs, 1)).squeeze(-1) / math.sqrt(hs)
        y = (att.softmax(-1).unsqueeze(1) @ kv.v[l, :, :pos + 1]).reshape(C)
        x = x + b.attn_proj(y)
        x = x + b.mlp_proj(F.gelu(b.c_fc(b.ln_2(x)), approximate="tanh"))
    return model.ln_f(x) @ model.wte.weight.t()


class Gpt2Torch(mlbench_peer.Peer):
    def hello(self):
        return {"torch": torch.__version__,
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS")}

    def setup(self, params, data, seed):
        p = self.p = params
        torch.set_num_threads(int(p["threads"]))
        self.seed = seed
        cfg, tensors = g2.read_ckpt(os.path.join(os.path.dirname(data["val_tokens"]), "init.bin"))
        self.cfg = cfg
        self.model = g2.GPT(cfg)
        self.model.load_llmc(tensors)
        self.train_tok = torch.from_numpy(self.load("train_tokens"))
        self.val_tok = torch.from_numpy(self.load("val_tokens"))
        self.prompt = [int(t) for t in self.load("prompt_tokens")]
        self.B, self.T = int(p["batch_size"]), int(p["seq_len"])
        self.mode = p["mode"]
        self.kv = KV(cfg)
        self.pos = 0
        self.icursor = 0
        self.iseq = None
        self.opt = self.model.adamw(p["lr"], p["weight_decay"]) if self.mode == "train" else None
        with torch.no_grad():  # one-off costs out of the timed phases, as the plugin
            step(self.model, 0, 0, self.kv)
            self.model(torch.zeros(1, min(self.T, cfg["maxT"]), dtype=torch.long))

    def flops_per_token(self, T):
        c = self.cfg
        return 2 * (c["L"] * 12 * c["C"] ** 2 + c["Vp"] * c["C"]) + c["L"] * 2 * c["C"] * T

    def next_batch(self):
        bt = self.B * self.T
        if self.pos + bt + 1 > len(self.train_tok):
            self.pos = 0
        w = self.train_tok[self.pos:self.pos + bt + 1]
        self.pos += bt
        return w[:-1].view(self.B, self.T), w[1:].view(self.B, self.T)

    def evaluate(self):
        bt = self.B * self.T
        avail = (len(self.val_tok) - 1) // bt
        n = int(self.p["eval_batches"])
        n = n if 0 < n < avail else avail
        total = 0.0
        with torch.no_grad():
            for b in range(n):
                w = self.val_tok[b * bt:b * bt + bt + 1]
                total += self.model(w[:-1].view(self.B, self.T), w[1:].view(self.B, self.T))[1].item()
        return total / n if n else float("nan"), n

    def sample(self, logits, gen):
        V = self.cfg["V"]
        l = logits[:V]
        t = self.p["temperature"]
        if t == 0:
            return int(torch.argmax(l))
        k = int(self.p["top_k"])
        if 0 < k < V:
            thresh = torch.topk(l, k).values[-1]
            l = torch.where(l >= thresh, l, torch.tensor(float("-inf")))
        return int(torch.multinomial(torch.softmax(l / t, -1), 1, generator=gen))

    def next_logits(self, seq):
        if self.p["kv_cache"]:
            return step(self.model, seq[-1], len(seq) - 1, self.kv)
        return self.model(torch.tensor([seq]))[0][0, -1]

    def generate(self):
        gen = torch.Generator().manual_seed(self.seed % 2**63)
        seq = list(self.prompt)
        n_new = int(self.p["max_new_tokens"])
        lat, out = [], []
        with torch.no_grad():
            t0 = time.perf_counter()
            if self.p["kv_cache"]:
                for i, tok in enumerate(seq[:-1]):
                    step(self.model, tok, i, self.kv)
            for k in range(n_new):
                a = time.perf_counter()
                tok = self.sample(self.next_logits(seq), gen)
                b = time.perf_counter()
                seq.append(tok)
                out.append(tok)
                if k == 0:
                    ttft = b - t0
                else:
                    lat.append(b - a)
            total = time.perf_counter() - t0
        n_ctx = len(seq)
        self.work(tokens=n_new, flops=self.flops_per_token(n_ctx) *
                  (n_new + len(self.prompt) - 1 if self.p["kv_cache"] else n_new * n_ctx))
        lat = np.array(lat) if lat else np.array([float("nan")])
        self.metric("tokens_per_s", n_new / total, "higher", restates_time=True)
        self.metric("ttft_ms", 1e3 * ttft, "lower", restates_time=True)
        for q in (50, 90, 99):
            self.metric(f"latency_p{q}_ms", 1e3 * np.percentile(lat, q), "lower",
                        restates_time=True)
        self.metric("first_token", out[0], "higher", abs_tol=0.5)
        self.metric("token_checksum", sum((i + 1) * t for i, t in enumerate(out)), "higher",
                    abs_tol=0.5)

    def train(self):
        if self.mode == "generate":
            return self.generate()
        p, bt = self.p, self.B * self.T
        fpt = self.flops_per_token(self.T)
        if self.mode == "train":
            steps, last = int(p["steps"]), float("nan")
            for s in range(steps):
                x, y = self.next_batch()
                _, loss = self.model(x, y)
                last = loss.item()
                if not math.isfinite(last):
                    raise mlbench_peer.PeerError(f"step {s + 1}: the loss diverged; lower lr")
                self.opt.zero_grad(set_to_none=False)
                loss.backward()
                if p["grad_clip"] > 0:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), p["grad_clip"])
                lr = lr_at(p["lr"], s, int(p["warmup_steps"]), steps,
                           p["lr_schedule"] == "cosine")
                for g in self.opt.param_groups:
                    g["lr"] = lr
                self.opt.step()
                self.progress(s + 1, last, "lr", lr)
            self.work(steps=steps, tokens=bt * steps, flops=3 * fpt * bt * steps)
            self.metric("train_loss", last, "lower")
        val, n = self.evaluate()
        if self.mode == "eval":
            self.work(tokens=bt * n, flops=fpt * bt * n)
        self.metric("val_loss", val, "lower", rel_tol=1e-4)
        self.metric("perplexity", math.exp(val), "lower", rel_tol=1e-4)

    def infer(self):
        with torch.no_grad():
            if self.mode == "generate":
                maxT = self.cfg["maxT"]
                if self.iseq is None or len(self.iseq) >= maxT:
                    self.iseq = list(self.prompt)
                    if self.p["kv_cache"]:
                        for i, tok in enumerate(self.iseq[:-1]):
                            step(self.model, tok, i, self.kv)
                l = self.next_logits(self.iseq)
                self.iseq.append(int(torch.argmax(l[:self.cfg["V"]])))
                self.work(tokens=1)
                return
            T = self.T
            if self.icursor >= len(self.val_tok) - T:
                self.icursor = 0
            x = self.val_tok[self.icursor:self.icursor + T].view(1, T)
            self.icursor += T
            self.model(x)
            self.work(tokens=T, flops=self.flops_per_token(T) * T)


mlbench_peer.run(Gpt2Torch())
