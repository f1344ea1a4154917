#!/usr/bin/python3
"""PyTorch CPU side of tools/bench/cnn.sh: the same workloads as the cnn
plugin's benchmark runs, on the same data and model definitions
(tools/peers/python/mlbench_cnn_models.py), timed the way the engine times ours.

    cnn_torch.py --threads N [--repetitions R] > results.json

Workloads (each repeated R times after one warm-up; medians reported):
  lenet5_train   one epoch over the first 10000 Fashion-MNIST training images,
                 batch 64, SGD lr 0.01 momentum 0.9, standardised inputs, then
                 accuracy on 100 test images (as the plugin's train phase does)
  lenet5_infer1  one image per query, eval mode, no_grad (latency)
  lenet5_infer64 64 images per query
  resnet18_train 8 steps at batch 32 on seeded 3x32x32 inputs, then 32 test images
"""
import argparse
import gzip
import json
import os
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "peers", "python"))
import mlbench_cnn_models as models  # noqa: E402

FASHION = "/usr/share/datasets/fashion-mnist"


def idx(path, images):
    with gzip.open(path, "rb") as f:
        data = f.read()
    if images:
        n, h, w = (int.from_bytes(data[i:i + 4], "big") for i in (4, 8, 12))
        return np.frombuffer(data, np.uint8, offset=16).reshape(n, 1, h, w).astype(np.float32) / 255
    return np.frombuffer(data, np.uint8, offset=8).astype(np.int64)


def fashion(n_train, n_test):
    xtr = idx(f"{FASHION}/train-images-idx3-ubyte.gz", True)[:n_train]
    ytr = idx(f"{FASHION}/train-labels-idx1-ubyte.gz", False)[:n_train]
    xte = idx(f"{FASHION}/t10k-images-idx3-ubyte.gz", True)[:n_test]
    yte = idx(f"{FASHION}/t10k-labels-idx1-ubyte.gz", False)[:n_test]
    mean, std = xtr.mean(dtype=np.float64), xtr.std(dtype=np.float64)
    f = lambda a: torch.from_numpy(((a - mean) / std).astype(np.float32))
    return f(xtr), torch.from_numpy(ytr), f(xte), torch.from_numpy(yte)


def train_epoch(model, opt, x, y, xte, yte, batch):
    model.train()
    perm = torch.randperm(x.shape[0])
    for b in range(0, x.shape[0], batch):
        i = perm[b:b + batch]
        opt.zero_grad(set_to_none=False)
        loss = F.cross_entropy(model(x[i]), y[i])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        return (model(xte).argmax(1) == yte).float().mean().item()


def timed(fn, reps):
    fn()  # warm-up
    out = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return statistics.median(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repetitions", type=int, default=3)
    ap.add_argument("--queries", type=int, default=200)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(42)
    res = {"torch": torch.__version__, "threads": torch.get_num_threads(),
           "mkldnn": torch.backends.mkldnn.is_available()}

    x, y, xte, yte = fashion(10000, 100)
    model = models.make_model("lenet5")
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    res["lenet5_train_s"] = timed(lambda: train_epoch(model, opt, x, y, xte, yte, 64),
                                  a.repetitions)
    res["lenet5_train_items"] = 10000
    model.eval()
    for batch in (1, 64):
        q = xte[:batch] if batch <= xte.shape[0] else x[:batch]
        lat = []
        with torch.no_grad():
            for _ in range(20):
                model(q)
            for _ in range(a.queries):
                t = time.perf_counter()
                model(q).argmax(1)
                lat.append(time.perf_counter() - t)
        res[f"lenet5_infer{batch}_p50_s"] = statistics.median(lat)

    g = torch.Generator().manual_seed(1)
    xr = torch.randn(256, 3, 32, 32, generator=g)
    yr = torch.randint(0, 10, (256,), generator=g)
    model = models.make_model("resnet18")
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    res["resnet18_train_s"] = timed(
        lambda: train_epoch(model, opt, xr, yr, xr[:32], yr[:32], 32), a.repetitions)
    res["resnet18_train_items"] = 256
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
