#!/usr/bin/python3
"""Makes the PyTorch references tests/test_nn_recurrent.c checks the NN
core's recurrent layers against, without needing PyTorch at test time.

For each cell (rnn_tanh, rnn_relu, lstm, gru): the rnn task's network
(tools/peers/python/mlbench_rnn_models.py: 2 layers, bidirectional, hidden
4, input 3, 3 classes) in float64 with PyTorch's seeded default
initialisation, one batch of 3 sequences of 5 steps, forward, cross-entropy
and backward. Writes CELL.weights.bin (the weights) and CELL.grads.bin
(each tensor's gradient under the same name), both float64 weight files
(docs/weights-format.md), and CELL.txt: the batch, labels, logits and loss
as text. Run with Debian's python3-torch 1.13:

    /usr/bin/python3 tests/ref/rnn/make_ref.py
"""
import os
import struct
import sys
import zlib

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "..", "tools", "peers", "python"))
from mlbench_rnn_models import MAGIC, SeqClassifier  # noqa: E402

T, I, H, N, CLASSES = 5, 3, 4, 3, 3


def write_f64(path, named):
    body = bytearray()
    for name, t in named:
        a = t.detach().numpy().astype("<f8")
        nb = name.encode()
        body += struct.pack("<I", len(nb)) + nb + struct.pack("<2I", 1, a.ndim)
        body += struct.pack(f"<{a.ndim}I", *a.shape) + a.tobytes()
    data = MAGIC + struct.pack("<4I", 1, 8, len(named), 0) + bytes(body)
    with open(path, "wb") as f:
        f.write(data + struct.pack("<I", zlib.crc32(data)))


def main():
    for k, cell in enumerate(("rnn_tanh", "rnn_relu", "lstm", "gru")):
        torch.manual_seed(100 + k)
        model = "rnn" if cell.startswith("rnn_") else cell
        m = SeqClassifier(model, I, H, layers=2, bidirectional=True, classes=CLASSES,
                          nonlinearity="relu" if cell == "rnn_relu" else "tanh").double()
        x = torch.randn(N, T, I, dtype=torch.float64)
        y = torch.tensor([0, 2, 1])
        out = m(x)
        loss = F.cross_entropy(out, y)
        loss.backward()
        params = list(m.named_parameters())
        write_f64(os.path.join(here, f"{cell}.weights.bin"), params)
        write_f64(os.path.join(here, f"{cell}.grads.bin"), [(n, p.grad) for n, p in params])
        with open(os.path.join(here, f"{cell}.txt"), "w") as f:
            f.write(f"# {cell}: x [{N}, {T}, {I}], labels [{N}], logits [{N}, {CLASSES}], "
                    f"loss; PyTorch {torch.__version__} float64 (make_ref.py)\n")
            f.write(" ".join(f"{v:.17g}" for v in x.flatten().tolist()) + "\n")
            f.write(" ".join(str(v) for v in y.tolist()) + "\n")
            f.write(" ".join(f"{v:.17g}" for v in out.detach().flatten().tolist()) + "\n")
            f.write(f"{loss.item():.17g}\n")


if __name__ == "__main__":
    main()
