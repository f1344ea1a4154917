#!/usr/bin/python3
"""Parity of the NN core's recurrent layers (the rnn task's network) with
PyTorch.

For each cell (rnn_tanh, rnn_relu, lstm, gru), depth (1 and 2 layers, each
also bidirectional) and variant (naive, openblas; onednn and libtorch where
the build has them, through their engines' drivers rnn-parity-onednn and
rnn-parity-libtorch), the C driver rnn-parity (BUILD/plugins/rnn/)
initialises the network, writes its weights (docs/weights-format.md) and one
batch, and runs forward and backward (BPTT). This script loads the same
weights into nn.RNN / nn.LSTM / nn.GRU + nn.Linear
(tools/peers/python/mlbench_rnn_models.py), repeats the pass and reports the
relative error ||ours - torch|| / ||torch|| of the logits, the loss and
every gradient against PyTorch in float64 on the same float32 weights and
batch (PyTorch float32's own error alongside). It also converts the weight
file to a PyTorch state dict and back (tools/parity/weights_convert.py) and
checks the bytes are unchanged. Exits 1 if any error reaches the bound
(1e-4), a parameter count differs or the round trip changes the file.

    tools/parity/rnn_torch.py [--build build] [--cells lstm,gru] [--batch 8]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "peers", "python"))
sys.path.insert(0, here)
from mlbench_rnn_models import from_weights, read_weights  # noqa: E402
from weights_convert import to_state_dict, write_state_dict  # noqa: E402

BOUND = 1e-4
# (layers, bidirectional)
STACKS = [(1, False), (1, True), (2, False), (2, True)]


def rel(ours, ref):
    ours = np.asarray(ours, dtype=np.float64).ravel()
    ref = np.asarray(ref, dtype=np.float64).ravel()
    den = np.linalg.norm(ref)
    num = np.linalg.norm(ours - ref)
    return num / den if den > 0 else num


def reference(weights, nonlin, x, y, dtype):
    model = from_weights(weights, nonlin).to(dtype)
    model.train()
    out = model(torch.from_numpy(x).to(dtype))
    loss = F.cross_entropy(out, torch.from_numpy(y))
    model.zero_grad()
    loss.backward()
    t = {"logits": out.detach().numpy(), "loss": [loss.item()]}
    for pname, p in model.named_parameters():
        t[pname + ".grad"] = p.grad.numpy()
    return t, sum(p.numel() for p in model.parameters())


def check(driver, cell, variant, layers, bidir, a, label=None):
    nonlin = "relu" if cell == "rnn_relu" else "tanh"
    with tempfile.TemporaryDirectory(prefix="mlb-parity-") as d:
        subprocess.run([driver, cell, variant, str(a.batch), str(a.seq_len), str(a.input_size),
                        str(a.hidden), str(layers), str(int(bidir)), str(a.seed), d],
                       check=True, stdout=subprocess.DEVNULL)
        wpath = os.path.join(d, "weights.bin")
        weights = read_weights(wpath)
        grads = read_weights(os.path.join(d, "grads.bin"))
        x = np.load(os.path.join(d, "x.npy"))
        y = np.load(os.path.join(d, "y.npy"))
        logits = np.load(os.path.join(d, "logits.npy"))
        loss = float(np.load(os.path.join(d, "loss.npy"))[0])
        # weight file -> state dict -> weight file: the same bytes
        back = os.path.join(d, "back.bin")
        write_state_dict(back, to_state_dict(weights))
        with open(wpath, "rb") as f1, open(back, "rb") as f2:
            round_trip = f1.read() == f2.read()
    ref64, n_torch = reference(weights, nonlin, x, y, torch.float64)
    ref32, _ = reference(weights, nonlin, x, y, torch.float32)
    mine = {"logits": logits, "loss": [loss]}
    for k in ref64:
        if k not in mine:
            mine[k] = grads[k[:-5]][1]
    rows = [(k, rel(mine[k], ref64[k]), rel(ref32[k], ref64[k])) for k in ref64]
    n_ours = sum(arr.size for t, arr in weights.values() if t)
    grad_rows = [r for r in rows if r[0].endswith(".grad")]
    gworst = max(grad_rows, key=lambda r: r[1])
    worst = max(r[1] for r in rows)
    ok = worst < BOUND and n_ours == n_torch and round_trip
    stack = f"{layers}{'x2' if bidir else ''}"
    print(f"{cell:9s} {stack:6s} {label or variant:12s} {n_ours:>8d} {n_torch:>8d}  {rows[0][1]:.1e}  "
          f"{rows[1][1]:.1e}  {gworst[1]:.1e} {gworst[0][:-5]:26s} "
          f"{max(r[2] for r in rows):.1e}  {'yes' if round_trip else 'NO':5s} "
          f"{'ok' if ok else 'FAIL'}")
    if a.verbose:
        for r in rows:
            print(f"    {r[0]:40s} {r[1]:9.2e} {r[2]:9.2e}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default=os.path.join(here, "..", "..", "build"))
    ap.add_argument("--cells", default="rnn_tanh,rnn_relu,lstm,gru")
    ap.add_argument("--variants", default=None,
                    help="naive,openblas (and onednn, libtorch when built: the default); "
                         "onednn-cells: the NN core's cells on the onednn kernel table")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--seq-len", type=int, default=12)
    ap.add_argument("--input-size", type=int, default=10)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    driver = os.path.join(a.build, "plugins", "rnn", "rnn-parity")
    if not os.access(driver, os.X_OK):
        print(f"rnn_torch.py: {driver} not found; build first (ninja -C {a.build})",
              file=sys.stderr)
        return 2
    # The engines have drivers of their own, built where their libraries
    # were found: rnn-parity-onednn (oneDNN's RNN primitives) and
    # rnn-parity-libtorch. onednn-cells is the plain driver's onednn: the NN
    # core's cells on the onednn kernel table (matmul primitives), what rnn:onednn
    # was before it ran the primitives; not in the default list.
    drivers = {"onednn": driver + "-onednn", "libtorch": driver + "-libtorch"}
    if a.variants is None:
        a.variants = "naive,openblas"
        for v, built in (("onednn", os.access(drivers["onednn"], os.X_OK)),
                         ("libtorch", os.access(drivers["libtorch"], os.X_OK))):
            if built:
                a.variants += "," + v
            else:
                print(f"rnn_torch.py: rnn:{v} not built; not checked")
    torch.set_num_threads(1)
    print(f"rnn parity with PyTorch {torch.__version__}: batch {a.batch}, {a.seq_len} steps x "
          f"{a.input_size} features, hidden {a.hidden}; relative error ||ours - torch|| / "
          f"||torch||, bound {BOUND:g} against PyTorch float64 on the same float32 weights")
    print("columns: layers (x2: bidirectional), parameter counts (ours, torch); errors of the\n"
          "logits, the loss and the worst gradient; PyTorch float32's own worst error against\n"
          "float64, for scale; whether weights -> state dict -> weights is byte-identical")
    print(f"{'cell':9s} {'layers':6s} {'variant':12s} {'params':>8s} {'torch':>8s}  "
          f"{'logits':7s}  {'loss':7s}  {'worst gradient':34s} {'f32/f64':7s}  {'trip':5s}")
    ok = True
    for c in a.cells.split(","):
        for layers, bidir in STACKS:
            for v in a.variants.split(","):
                ok = check(drivers.get(v, driver), c, "onednn" if v == "onednn-cells" else v,
                           layers, bidir, a, label=v) and ok
    print("rnn parity:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
