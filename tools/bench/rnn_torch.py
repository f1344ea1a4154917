#!/usr/bin/python3
"""PyTorch's side of tools/bench/rnn.sh measured in-process: inference latency
of the rnn task's network (nn.RNN / nn.LSTM / nn.GRU + nn.Linear on the last
step, tools/peers/python/mlbench_rnn_models.py) at batch 1 and batch 32 on
the synthetic 50 x 32 -> 128 workload, eval mode under no_grad, and, as a
cross-check of the rnn:pytorch peer, its training rate (Adam, batch 32) in a
plain loop. Prints JSON. Through the peer protocol each query would also pay
a JSON round trip, which a batch-1 forward pass does not dwarf.

    OPENBLAS_NUM_THREADS=1 tools/bench/rnn_torch.py [--threads 1] [--queries 200]
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "peers",
                                "python"))
from mlbench_rnn_models import SeqClassifier  # noqa: E402

T, I, H = 50, 32, 128


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    for cell in ("rnn", "lstm", "gru"):
        m = SeqClassifier(cell, I, H, classes=10)
        m.eval()
        for b in (1, 32):
            x = torch.randn(b, T, I)
            lat = []
            with torch.no_grad():
                for _ in range(10):
                    m(x)
                for _ in range(a.queries):
                    t0 = time.perf_counter()
                    m(x).argmax(1)
                    lat.append(time.perf_counter() - t0)
            out[f"{cell}_infer{b}_p50_s"] = statistics.median(lat)
        m.train()
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        x, y = torch.randn(32, T, I), torch.randint(0, 10, (32,))
        for k in range(a.steps + 3):
            if k == 3:
                t0 = time.perf_counter()
            opt.zero_grad()
            F.cross_entropy(m(x), y).backward()
            opt.step()
        out[f"{cell}_train_steps_per_s"] = a.steps / (time.perf_counter() - t0)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
