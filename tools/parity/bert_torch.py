#!/usr/bin/python3
"""Parity of the NN core's BERT (plugins/nn/bert.c) with PyTorch.

A tiny BERT (vocabulary 40, max_len 12, 2 layers, 2 heads, hidden 16,
ffn 64) with both heads (classify with 3 classes; qa) is initialised here
with non-trivial LayerNorm gains and biases, written as an nn_bert weights
file, and given one batch of 3 sequences of 10 tokens of which 4 and 7 are
padding, with both segment types. For each kernel table (naive, openblas,
onednn where built) the C driver bert-parity (BUILD/plugins/bert/) loads them and dumps logits
(with and without labels), the loss, every gradient, the gradient norms
and the weights after 2 AdamW steps with clipping and the linear schedule.
The reference is the same model (tools/peers/python/mlbench_bert_model.py)
in PyTorch, float64 on the same float32 weights. Checked, with relative
error ||ours - ref|| / ||ref|| per tensor (as tools/parity/gpt2_torch.py):

  logits (both forwards), loss, every gradient tensor    < 1e-4
  the gradient norm and the loss at each step            < 1e-4
  each tensor's change over the AdamW steps              < 1e-4
  nn_bert_lr against the schedule's formula              < 1e-12

The reference itself is checked first: the outputs at real positions do
not move when the padding's ids and segments change.

With --self-test the same files are written by the float32 PyTorch model
instead of the C driver and compared, which tests this tool (files,
comparisons, bounds: float32 rounding alone must pass them) but not the C.

Exits 1 on any failure.   tools/parity/bert_torch.py [--build build] [--self-test]
"""
import argparse
import os
import struct
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers",
                                "python"))
import mlbench_bert_model as mb  # noqa: E402

BOUND = 1e-4
B, T, LENGTHS = 3, 10, (10, 6, 3)
STEPS, LR, WD, CLIP = 2, 1e-3, 0.01, 0.05


def rel(ours, ref):
    ours = np.asarray(ours, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    den = np.linalg.norm(ref)
    return np.linalg.norm(ours - ref) / den if den > 0 else np.linalg.norm(ours - ref)


def config(head):
    return {"vocab_size": 40, "max_len": 12, "type_vocab": 2, "num_layers": 2, "num_heads": 2,
            "hidden": 16, "ffn": 64, "head": head,
            "num_classes": 3 if head == mb.HEAD_CLASSIFY else 2}


def make_case(head, rng):
    cfg = config(head)
    t = mb.init_tensors(cfg, 7 + head)
    # Non-trivial gains and biases, so that their paths count; larger
    # embeddings so that the attention is far from uniform.
    for name in ("lnew", "lneb", "qkvb", "attob", "ln1w", "ln1b", "fcb", "fcprojb", "ln2w",
                 "ln2b", "poolb", "headb"):
        t[name] = (t[name] + 0.1 * rng.standard_normal(t[name].shape)).astype(np.float32)
    for name in ("wte", "wpe", "wtt"):
        t[name] = (t[name] * 20).astype(np.float32)
    ids = rng.integers(1, cfg["vocab_size"], (B, T))
    ids[:, 0] = 2  # a [CLS]
    seg = np.zeros((B, T), dtype=np.int64)
    mask = np.zeros((B, T), dtype=np.int64)
    for b, n in enumerate(LENGTHS):
        mask[b, :n] = 1
        seg[b, n // 2:n] = 1  # a second segment, as qa's context
        ids[b, n:] = 0        # [PAD]
    if head == mb.HEAD_CLASSIFY:
        labels = np.array([0, 2, 1])
    else:
        labels = np.array([[n // 2, n - 1 - (b % 2)] for b, n in enumerate(LENGTHS)])
    return cfg, t, ids, seg, mask, labels


def write_batch(path, ids, seg, mask, labels):
    with open(path, "wb") as f:
        f.write(struct.pack("<2i", B, T))
        for a in (ids, seg, mask, labels):
            f.write(np.ascontiguousarray(a, dtype="<i4").tobytes())


def run_steps(model, ids, seg, mask, labels):
    """The driver's loop: (inference logits, first logits, first loss,
    first grads, losses, norms); the model ends after STEPS steps."""
    ids, seg, mask, labels = (torch.from_numpy(np.asarray(a, dtype=np.int64))
                              for a in (ids, seg, mask, labels))
    with torch.no_grad():
        infer = model(ids, seg, mask)[0].detach().numpy().astype(np.float64)
    opt = model.adamw(LR, WD)
    losses, norms = [], []
    for s in range(STEPS):
        opt.zero_grad(set_to_none=False)
        logits, loss = model(ids, seg, mask, labels)
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            first = (logits.detach().numpy().astype(np.float64), model.export(grads=True))
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), CLIP)))
        for g in opt.param_groups:
            g["lr"] = mb.lr_at(LR, s + 1, STEPS, 2 * STEPS)
        opt.step()
    return infer, first[0], first[1], losses, norms


def torch_driver(weights, case, out):
    """bert-parity's files from the float32 PyTorch model (--self-test)."""
    cfg, t = mb.read_weights(weights)
    _, _, ids, seg, mask, labels = case
    m = mb.Bert(cfg, t)
    infer, logits, grads, losses, norms = run_steps(m, ids, seg, mask, labels)
    infer.astype("<f4").tofile(os.path.join(out, "logits_infer.f32"))
    logits.astype("<f4").tofile(os.path.join(out, "logits.f32"))
    mb.write_weights(os.path.join(out, "grads.bin"), cfg, grads)
    m.save(os.path.join(out, "after.bin"))
    for name, vals in (("losses.txt", losses), ("norms.txt", norms),
                       ("lr.txt", [mb.lr_at(1.0, s, 3, 10) for s in range(12)])):
        with open(os.path.join(out, name), "w") as f:
            f.write("".join(f"{v:.17g}\n" for v in vals))


def check_padding_invariance(cfg, t, ids, seg, mask):
    """The reference's masking: other ids and segments under the padding
    leave the outputs at real positions unchanged."""
    m = mb.Bert(cfg, t, torch.float64)
    ids2, seg2 = ids.copy(), seg.copy()
    ids2[mask == 0] = (ids2[mask == 0] * 7 + 3) % cfg["vocab_size"]
    seg2[mask == 0] = 1 - seg2[mask == 0]
    with torch.no_grad():
        a = m(*(torch.from_numpy(x) for x in (ids, seg, mask)))[0].numpy()
        b = m(*(torch.from_numpy(x) for x in (ids2, seg2, mask)))[0].numpy()
    if cfg["head"] == mb.HEAD_QA:
        a, b = a[mask == 1], b[mask == 1]
    return float(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--self-test", action="store_true",
                    help="the float32 PyTorch model in place of the C driver")
    args = ap.parse_args()
    driver = os.path.join(args.build, "plugins", "bert", "bert-parity")
    self_test = args.self_test
    if not self_test and not os.path.exists(driver):
        print(f"bert_torch: {driver} not built", file=sys.stderr)
        return 1
    torch.set_num_threads(1)
    rng = np.random.default_rng(20261218)
    ok = True

    def report(what, err, bound=BOUND):
        nonlocal ok
        good = bool(err < bound)
        ok &= good
        print(f"  {what:30s} {err:.3e} {'ok' if good else 'FAIL (bound %.0e)' % bound}")

    variants = ["torch-float32"] if self_test else ["naive", "openblas"]
    # The driver takes onednn only where oneDNN was found, as the plugin.
    if not self_test:
        if os.path.exists(os.path.join(args.build, "plugins", "bert", "bert_onednn.so")):
            variants.append("onednn")
        else:
            print("bert_torch: bert:onednn not built (no oneDNN); checking naive, openblas")
    with tempfile.TemporaryDirectory(prefix="mlb-bert-parity-") as d:
        for head in (mb.HEAD_CLASSIFY, mb.HEAD_QA):
            hname = "classify" if head == mb.HEAD_CLASSIFY else "qa"
            case = make_case(head, rng)
            cfg, t, ids, seg, mask, labels = case
            print(f"bert reference ({hname}): padding invariance")
            report("max |change| at real tokens", check_padding_invariance(cfg, t, ids, seg, mask),
                   1e-12)
            weights = os.path.join(d, f"{hname}.bin")
            batch = os.path.join(d, f"{hname}.i32")
            mb.write_weights(weights, cfg, t)
            write_batch(batch, ids, seg, mask, labels)
            cfg_r, t_r = mb.read_weights(weights)  # what the driver sees
            ref = mb.Bert(cfg_r, t_r, torch.float64)
            r_infer, r_logits, r_grads, r_losses, r_norms = run_steps(ref, ids, seg, mask, labels)
            r_after = ref.export()
            if r_norms[0] <= CLIP:
                print(f"  the gradient norm {r_norms[0]:.3g} is under the clip {CLIP}: clipping "
                      "is not exercised; FAIL")
                ok = False
            for variant in variants:
                out = os.path.join(d, f"{hname}-{variant}")
                os.mkdir(out)
                if self_test:
                    torch_driver(weights, case, out)
                else:
                    subprocess.run([driver, variant, weights, batch, str(STEPS), str(LR),
                                    str(WD), str(CLIP), out], check=True)
                print(f"bert parity, {hname}, {variant} vs PyTorch float64:")
                for name, r in (("logits_infer.f32", r_infer), ("logits.f32", r_logits)):
                    got = np.fromfile(os.path.join(out, name), dtype="<f4")
                    if got.size != r.size:
                        print(f"  {name}: {got.size} values, expected {r.size}; FAIL")
                        ok = False
                        continue
                    report(name.split(".")[0], rel(got.reshape(r.shape), r))
                losses = [float(v) for v in open(os.path.join(out, "losses.txt"))]
                norms = [float(v) for v in open(os.path.join(out, "norms.txt"))]
                report("loss", abs(losses[0] - r_losses[0]) / abs(r_losses[0]))
                report(f"losses of {STEPS} steps", max(abs(a - b) / abs(b)
                                                      for a, b in zip(losses, r_losses)))
                report(f"gradient norms of {STEPS} steps", max(abs(a - b) / abs(b)
                                                              for a, b in zip(norms, r_norms)))
                _, grads = mb.read_weights(os.path.join(out, "grads.bin"))
                # A gradient that is zero in exact arithmetic (qa's headb:
                # the start and end softmaxes each sum to 1) is only
                # rounding noise in both: it is held to being small
                # against the whole gradient, and its AdamW change (noise
                # over eps) to a tenth of lr, instead of a relative error.
                gnorm = np.sqrt(sum(np.sum(g ** 2) for g in r_grads.values()))
                zero = {n for n in mb.NAMES if np.linalg.norm(r_grads[n]) < 1e-9 * gnorm}
                for name in mb.NAMES:
                    if name in zero:
                        report(f"grad {name} (exactly 0)", np.linalg.norm(grads[name]) / gnorm,
                               1e-6)
                    else:
                        report(f"grad {name}", rel(grads[name], r_grads[name]))
                _, after = mb.read_weights(os.path.join(out, "after.bin"))
                worst = max(((rel(after[n] - t_r[n], r_after[n] - t_r[n]), n)
                             for n in mb.NAMES if n not in zero))
                report(f"AdamW change (worst: {worst[1]})", worst[0])
                for n in sorted(zero):
                    report(f"AdamW change {n} / lr", np.abs(after[n] - r_after[n]).max() / LR,
                           0.1)
                lrs = [float(v) for v in open(os.path.join(out, "lr.txt"))]
                report("nn_bert_lr", max(abs(a - mb.lr_at(1.0, s, 3, 10))
                                         for s, a in enumerate(lrs)), 1e-12)
    print("bert parity:", ("ok" if ok else "FAILED") +
          (" (self-test only: the C driver was not run)" if self_test else ""))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
