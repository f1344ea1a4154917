#!/usr/bin/python3
"""Parity of the NN core's GPT-2 (plugins/nn/transformer.c) with PyTorch, as
llm.c's test_gpt2 checks its C model.

A tiny GPT-2 (2 layers, 2 heads, 64 channels, GPT-2's vocabulary of 50257
padded to 50304, block 64) is initialised here, written as an llm.c
checkpoint, and given a random batch. For each kernel variant (naive,
openblas, and onednn where the build has gpt2:onednn) the C driver gpt2-parity (BUILD/plugins/gpt2/) loads them and
dumps logits, gradients, the losses of 10 AdamW steps on that batch and
greedy generations with and without the KV cache; the engine itself then
evaluates the checkpoint on a token shard (mode=eval). The reference is the
same model in PyTorch, float64 on the same float32 weights. Checked, with
relative error ||ours - ref|| / ||ref|| per tensor:

  logits, loss, every gradient tensor        < 1e-4
  each of the 10 AdamW steps' losses         < 1e-4
  the engine's val_loss on the shard         < 1e-4
  greedy tokens (KV cache and recomputed)    equal to PyTorch's

Exits 1 on any failure.   tools/parity/gpt2_torch.py [--build build]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers",
                                "python"))
import mlbench_gpt2_model as g2  # noqa: E402

BOUND = 1e-4
CFG = {"maxT": 64, "V": 50257, "L": 2, "NH": 2, "C": 64, "Vp": 50304}
B, T, STEPS, LR, WD, NEW = 2, 16, 10, 1e-3, 0.1, 16


def rel(ours, ref):
    ours = np.asarray(ours, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    den = np.linalg.norm(ref)
    return np.linalg.norm(ours - ref) / den if den > 0 else np.linalg.norm(ours - ref)


def torch_reference(tensors, tokens, prompt):
    torch.manual_seed(0)
    m = g2.GPT(CFG).double()
    m.load_llmc(tensors)
    x = torch.from_numpy(tokens[:-1].reshape(B, T))
    y = torch.from_numpy(tokens[1:].reshape(B, T))
    # Greedy generation by full recomputation, before any step.
    seq = list(prompt)
    with torch.no_grad():
        for _ in range(NEW):
            logits, _ = m(torch.tensor([seq]))
            seq.append(int(torch.argmax(logits[0, -1, :CFG["V"]])))
    gen = seq[len(prompt):]
    opt = m.adamw(LR, WD)
    losses = []
    for s in range(STEPS):
        opt.zero_grad()
        logits, loss = m(x, y)
        loss.backward()
        losses.append(loss.item())
        if s == 0:
            first = (logits.detach().numpy(), loss.item(), m.export_llmc(grads=True))
        opt.step()
    return first, losses, gen


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    args = ap.parse_args()
    driver = os.path.join(args.build, "plugins", "gpt2", "gpt2-parity")
    engine = os.path.join(args.build, "core", "mlbench-engine")
    if not os.path.exists(driver):
        print(f"gpt2_torch: {driver} not built", file=sys.stderr)
        return 1
    # The driver takes onednn only where oneDNN was found, as the plugin.
    variants = ["naive", "openblas"]
    if os.path.exists(os.path.join(args.build, "plugins", "gpt2", "gpt2_onednn.so")):
        variants.append("onednn")
    else:
        print("gpt2_torch: gpt2:onednn not built (no oneDNN); checking naive, openblas")
    torch.set_num_threads(1)
    rng = np.random.default_rng(20240326)
    tensors = g2.init_tensors(CFG, 1)
    # Non-trivial LayerNorm gains and biases, so that their paths count.
    for name in ("ln1w", "ln1b", "qkvb", "attprojb", "ln2w", "ln2b", "fcb", "fcprojb", "lnfw",
                 "lnfb"):
        tensors[name] = (tensors[name] + 0.1 * rng.standard_normal(tensors[name].shape)
                         ).astype(np.float32)
    tokens = rng.integers(0, CFG["V"], B * T + 1)
    prompt = rng.integers(0, CFG["V"], 5)
    shard = rng.integers(0, CFG["V"], 3 * B * T + 7)  # 3 windows and a remainder
    (ref_logits, ref_loss, ref_grads), ref_losses, ref_gen = torch_reference(tensors, tokens,
                                                                             prompt)
    ok = True

    def report(what, err, bound=BOUND):
        nonlocal ok
        good = err < bound
        ok &= good
        print(f"  {what:28s} {err:.3e} {'ok' if good else 'FAIL (bound %.0e)' % bound}")

    with tempfile.TemporaryDirectory(prefix="mlb-gpt2-parity-") as d:
        ckpt = os.path.join(d, "model.bin")
        g2.write_ckpt(ckpt, CFG, tensors)
        g2.write_shard(os.path.join(d, "batch.bin"), tokens)
        g2.write_shard(os.path.join(d, "prompt.bin"), prompt)
        g2.write_shard(os.path.join(d, "val.bin"), shard)
        for variant in variants:
            out = os.path.join(d, variant)
            os.mkdir(out)
            subprocess.run([driver, variant, ckpt, os.path.join(d, "batch.bin"),
                            os.path.join(d, "prompt.bin"), str(B), str(T), str(STEPS), str(LR),
                            str(WD), str(NEW), out], check=True)
            print(f"gpt2 parity, {variant} vs PyTorch float64:")
            logits = np.fromfile(os.path.join(out, "logits.f32"), dtype="<f4")
            report("logits", rel(logits.reshape(ref_logits.shape), ref_logits))
            losses = [float(v) for v in open(os.path.join(out, "losses.txt"))]
            report("loss", abs(losses[0] - ref_loss) / abs(ref_loss))
            _, grads = g2.read_ckpt(os.path.join(out, "grads.bin"))
            for name in g2.NAMES:
                report(f"grad {name}", rel(grads[name], ref_grads[name]))
            worst = max(abs(a - b) / abs(b) for a, b in zip(losses, ref_losses))
            report(f"{STEPS} AdamW steps' losses", worst)
            for kind in ("kv", "full"):
                gen = [int(v) for v in open(os.path.join(out, f"gen_{kind}.txt"))]
                same = gen == ref_gen
                ok &= same
                print(f"  greedy tokens ({kind:4s})       {'equal' if same else 'DIFFER'}"
                      f"{'' if same else f': {gen} vs {ref_gen}'}")
        # The engine's eval mode on the shard against PyTorch's loss over
        # llm.c's windows (B*T+1 tokens, advancing B*T).
        res = os.path.join(d, "eval.json")
        subprocess.run([engine, "--plugin", "gpt2:" + ",".join(variants), "--repetitions", "1",
                        "--warmup", "0", "--infer-queries", "1", "--param", "mode=eval",
                        "--param", "vocab=gpt2", "--param", "checkpoint=" + ckpt,
                        "--param", "dataset=" + os.path.join(d, "val.bin"),
                        "--param", f"batch_size={B}", "--param", f"seq_len={T}",
                        "--output", res], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        m = g2.GPT(CFG).double()
        m.load_llmc(tensors)
        ref = []
        with torch.no_grad():
            for p in range(0, len(shard) - B * T, B * T):
                w = torch.from_numpy(shard[p:p + B * T + 1])
                ref.append(m(w[:-1].view(B, T), w[1:].view(B, T))[1].item())
        ref_val = float(np.mean(ref))
        vals = eval_losses(res)
        print(f"engine mode=eval on a {len(shard)}-token shard ({len(ref)} windows), "
              f"PyTorch {ref_val:.6f}:")
        for variant in variants:
            if variant not in vals:
                ok = False
                print(f"  {variant}: no val_loss in the results")
                continue
            report(f"val_loss {variant}", abs(vals[variant] - ref_val) / ref_val)
    print("gpt2 parity:", "ok" if ok else "FAILED")
    return 0 if ok else 1


def eval_losses(path):
    """{variant: val_loss of its first ok repetition} from a results file."""
    with open(path) as f:
        doc = json.load(f)
    out = {}
    for run in doc["runs"]:
        for rep in run.get("repetitions", []):
            val = rep.get("metrics", {}).get("val_loss")
            if rep.get("status") == "ok" and val is not None and run["variant"] not in out:
                out[run["variant"]] = val["value"]
    return out


if __name__ == "__main__":
    sys.exit(main())
