"""bert:pytorch — the bert task in PyTorch CPU: the model of
tools/peers/python/mlbench_bert_model.py (bert.h's definition, no
nn.TransformerEncoder) on exactly the initial weights (init.bin, an nn_bert
weights file), examples, splits and per-epoch order that bert:openblas
prepares (data_from), with the plugin's loop: batches in the exported
order, torch.optim.AdamW (betas 0.9/0.999, eps 1e-6, decay on matrices and
embeddings only), clip_grad_norm_, the linear warm-up and decay of
nn_bert_lr, a test evaluation and progress point per epoch; one forward
pass of infer_batch test sequences per inference query. No dropout, as
the plugin: the same model trained the same way.

The qa head scores spans as the plugin does (docs/bert.md): the highest
start + end logit over start <= end on context tokens, end - start < 30,
the text being the context's bytes from the start token's first to the end
token's last (test_qa.json's offsets), then SQuAD v1.1's exact match and
token F1, best over the ground truths; an example whose answer truncation
cut off is a miss."""
import json
import os
import re
import string
import time
from collections import Counter

import mlbench_bert_model as mb
import mlbench_peer
import numpy as np
import torch

MAX_ANSWER = 30  # tokens, end - start < this (BERT's run_squad; the plugin's)


# ---- SQuAD v1.1's evaluation (evaluate-v1.1.py), lower-casing ASCII only as
# plugins/common/squad_metrics.c does (they differ only outside ASCII) ------
_PUNCT = set(string.punctuation)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_ASCII_LOWER = {c: c + 32 for c in range(65, 91)}


def normalize_answer(s):
    s = s.translate(_ASCII_LOWER)
    s = "".join(ch for ch in s if ch not in _PUNCT)
    s = _ARTICLES.sub(" ", s)
    return " ".join(s.split())


def exact_match(pred, truths):
    p = normalize_answer(pred)
    return max(float(p == normalize_answer(t)) for t in truths)


def f1_score(pred, truths):
    def one(t):
        pt, tt = normalize_answer(pred).split(), normalize_answer(t).split()
        common = Counter(pt) & Counter(tt)
        same = sum(common.values())
        if same == 0:
            return 0.0
        prec, rec = same / len(pt), same / len(tt)
        return 2 * prec * rec / (prec + rec)
    return max(one(t) for t in truths)


def best_span(start, end, ctx):
    """(s, e) maximising start[s] + end[e] over context tokens s <= e,
    e - s < MAX_ANSWER; the first in (s, e) order on ties, as the
    plugin's loop; (-1, -1) without context tokens."""
    T = len(start)
    score = start.astype(np.float64)[:, None] + end.astype(np.float64)[None, :]
    i, j = np.indices((T, T))
    ok = ctx[:, None] & ctx[None, :] & (j >= i) & (j - i < MAX_ANSWER)
    if not ok.any():
        return -1, -1
    score[~ok] = -np.inf
    k = int(np.argmax(score))
    return k // T, k % T


class BertTorch(mlbench_peer.Peer):
    def hello(self):
        # The thread count is the threads parameter, set in setup
        # (torch.set_num_threads), after this answer.
        blas = re.findall(r"BLAS_INFO=(\w+)", torch.__config__.show())
        return {"torch": torch.__version__, "blas": blas[0] if blas else "unknown",
                "mkldnn": torch.backends.mkldnn.is_available(),
                "openblas_num_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
                "dropout": 0}

    def setup(self, params, data, seed):
        p = self.p = params
        torch.set_num_threads(int(p["threads"]))
        d = os.path.dirname(data["train_ids"])
        cfg, tensors = mb.read_weights(os.path.join(d, "init.bin"))
        self.model = mb.Bert(cfg, tensors)
        self.qa = cfg["head"] == mb.HEAD_QA
        self.K = cfg["num_classes"]
        t = lambda name: torch.from_numpy(self.load(name).astype(np.int64))
        self.tr = [t("train_ids"), t("train_seg"), t("train_mask"), t("train_labels")]
        self.te = [t("test_ids"), t("test_seg"), t("test_mask"), t("test_labels")]
        self.T = self.tr[0].shape[1] if len(self.tr[0]) else self.te[0].shape[1]
        self.epochs = int(p["epochs"])
        self.order = self.load("order").astype(np.int64) if self.epochs else None
        self.B, self.infer_batch = int(p["batch_size"]), int(p["infer_batch"])
        self.max_batch = max(self.B, self.infer_batch)
        # meta.json (when the plugin writes it): what the arrays do not
        # say, the positive class and the qa examples dropped in training.
        meta = {}
        if os.path.exists(os.path.join(d, "meta.json")):
            with open(os.path.join(d, "meta.json"), encoding="utf-8") as f:
                meta = json.load(f)
        self.positive = int(meta.get("positive", 1))
        self.qa_dropped = meta.get("qa_dropped")
        if self.qa:
            with open(os.path.join(d, "test_qa.json"), encoding="utf-8") as f:
                self.qa_items = json.load(f)
            if len(self.qa_items) != len(self.te[0]):
                raise mlbench_peer.PeerError(f"test_qa.json has {len(self.qa_items)} examples, "
                                             f"test_ids {len(self.te[0])}")
        self.fps = self.model.flops_per_seq(self.T)
        self.cursor = 0
        self.opt = (self.model.adamw(p["lr"], p["weight_decay"]) if self.epochs else None)
        # One forward pass, as the plugin's setup: one-off costs out of the
        # timed phases.
        n = min(len(self.te[0]), self.max_batch)
        with torch.no_grad():
            self.model(self.te[0][:n], self.te[1][:n], self.te[2][:n])

    def evaluate(self):
        """(test loss, {metric: value}) with the plugin's definitions."""
        ids, seg, mask, lab = self.te
        n = len(ids)
        loss, scored = 0.0, 0
        conf = np.zeros((self.K, self.K), dtype=np.int64)
        em = f1 = 0.0
        with torch.no_grad():
            for b0 in range(0, n, self.max_batch):
                sl = slice(b0, b0 + self.max_batch)
                if not self.qa:
                    logits, l = self.model(ids[sl], seg[sl], mask[sl], lab[sl])
                    k = len(logits)
                    loss += l.item() * k
                    scored += k
                    np.add.at(conf, (lab[sl].numpy(), logits.argmax(1).numpy()), 1)
                    continue
                keep = (lab[sl][:, 0] >= 0).nonzero().flatten() + b0
                if len(keep) == 0:
                    continue
                logits, l = self.model(ids[keep], seg[keep], mask[keep], lab[keep])
                loss += l.item() * len(keep)
                scored += len(keep)
                lg = logits.numpy()
                for r, row in zip(keep.tolist(), lg):
                    item = self.qa_items[r]
                    off = np.asarray(item["offsets"], dtype=np.int64)
                    s, e = best_span(row[:, 0], row[:, 1], off[:, 0] >= 0)
                    ctx = item["context"].encode("utf-8")
                    text = "" if s < 0 else ctx[off[s, 0]:off[e, 1]].decode("utf-8", "replace")
                    em += exact_match(text, item["truths"])
                    f1 += f1_score(text, item["truths"])
        tloss = loss / scored if scored else float("nan")
        if self.qa:
            return tloss, {"exact_match": 100.0 * em / n, "f1": 100.0 * f1 / n}
        tp = np.diag(conf).astype(np.float64)
        col, row = conf.sum(0).astype(np.float64), conf.sum(1).astype(np.float64)
        c = self.positive
        prec = tp[c] / col[c] if col[c] else 0.0
        rec = tp[c] / row[c] if row[c] else 0.0
        # macro F1 as plugins/common/metrics.c (scikit-learn's): over the
        # classes in the labels or the predictions, 0 for 0/0.
        present = (row + col) > 0
        den = np.maximum(row + col, 1)
        return tloss, {"accuracy": tp.sum() / n, "precision": prec, "recall": rec,
                       "f1": 2 * prec * rec / (prec + rec) if prec + rec > 0 else 0.0,
                       "macro_f1": float((2 * tp / den)[present].mean())}

    def train(self):
        p = self.p
        ids, seg, mask, lab = self.tr
        ntr, B = len(ids), self.B
        spe = (ntr + B - 1) // B
        total = self.epochs * spe
        warm = int(p["warmup"] * total)
        clip = float(p["grad_clip"])
        params = list(self.model.parameters())
        step, train_loss, train_time = 0, float("nan"), 0.0
        for e in range(self.epochs):
            order = torch.from_numpy(self.order[e])
            total_loss, t0 = 0.0, time.perf_counter()
            for b0 in range(0, ntr, B):
                i = order[b0:b0 + B]
                self.opt.zero_grad(set_to_none=False)
                _, loss = self.model(ids[i], seg[i], mask[i], lab[i])
                lv = loss.item()
                if not np.isfinite(lv):
                    raise mlbench_peer.PeerError(f"epoch {e + 1}, step {step + 1}: the loss "
                                                 f"diverged ({lv}); lower lr")
                total_loss += lv * len(i)
                loss.backward()
                if clip > 0:
                    torch.nn.utils.clip_grad_norm_(params, clip)
                lr = mb.lr_at(p["lr"], step, warm, total)
                for g in self.opt.param_groups:
                    g["lr"] = lr
                self.opt.step()
                step += 1
            train_time += time.perf_counter() - t0
            train_loss = total_loss / ntr
            tloss, scores = self.evaluate()
            key = "exact_match" if self.qa else "accuracy"
            self.progress(e + 1, train_loss, key, scores[key])
        if self.epochs == 0:
            tloss, scores = self.evaluate()
        trained = ntr * self.epochs
        tested = len(self.te[0]) * max(self.epochs, 1)
        self.work(items=trained + tested, tokens=(trained + tested) * self.T, steps=step,
                  flops=self.fps * (3 * trained + tested))
        self.metric("loss", tloss, "lower", rel_tol=1e-4)
        if self.epochs:
            self.metric("train_loss", train_loss, "lower", rel_tol=1e-4)
            self.metric("train_seq_per_s", trained / train_time, "higher", restates_time=True)
        for name, v in scores.items():
            self.metric(name, v, "higher")
        if self.qa:
            # Without meta.json only the test split's cut answers are known
            # (the exported training set holds the survivors only).
            dropped = self.qa_dropped
            if dropped is None:
                dropped = float((self.te[3][:, 0] < 0).sum())
                self.log("no meta.json: qa_dropped counts the test split's cut answers only")
            self.metric("qa_dropped", dropped, "lower", abs_tol=0.5)

    def infer(self):
        n = len(self.te[0])
        idx = torch.tensor([(self.cursor + k) % n for k in range(self.infer_batch)])
        self.cursor = (self.cursor + self.infer_batch) % n
        with torch.no_grad():
            self.model(self.te[0][idx], self.te[1][idx], self.te[2][idx])
        self.work(items=self.infer_batch, tokens=self.infer_batch * self.T,
                  flops=self.fps * self.infer_batch)


mlbench_peer.run(BertTorch())
