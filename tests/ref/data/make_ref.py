#!/usr/bin/python3
"""Reference values for tests/test_data.c, computed without mlbench.

- Each bundled dataset as scikit-learn (or, for heart_scale, its
  load_svmlight_file; for Fashion-MNIST, NumPy on the gzip files) reads it:
  shape, classes, sums and corner values.
- Per-column mean and standard deviation (ddof=0) of iris, for the
  standardisation test.
- The first uniform draws of the synthetic regression generator. It seeds
  GSL's MT19937 with a 32-bit value folded from the 64-bit run seed with
  splitmix64 (core/data.c); NumPy's MT19937 with the same legacy seeding is an
  independent implementation of the same generator, so the true coefficients
  (100 * uniform) can be checked bit for bit.

    /usr/bin/python3 tests/ref/data/make_ref.py > tests/ref/data/datasets.txt
"""
import gzip
import os

import numpy as np
from sklearn import datasets as skd

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
M64 = (1 << 64) - 1


def line(*fields):
    print(" ".join(("%.17g" % f) if isinstance(f, float) else str(f) for f in fields))


def summary(name, X, y, k):
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    line("dataset", name, X.shape[0], X.shape[1], k, float(X.sum()), float(y.sum()),
         float(X[0, 0]), float(X[-1, -1]), float(y[0]), float(y[-1]))


print("# dataset name n d n_classes sum(X) sum(y) X[0,0] X[n-1,d-1] y[0] y[n-1]")
X, y = skd.load_diabetes(return_X_y=True, scaled=False)
summary("diabetes", X, y, 0)
X, y = skd.load_digits(return_X_y=True)
summary("digits", X, y, 10)
for name, loader in (("iris", skd.load_iris), ("breast_cancer", skd.load_breast_cancer),
                     ("wine", skd.load_wine)):
    X, y = loader(return_X_y=True)
    summary(name, X, y, len(set(y)))
X, y = skd.load_svmlight_file(os.path.join(root, "data", "heart_scale"))
y = (y > 0).astype(np.float64)  # classes -1, +1 sorted -> 0, 1
summary("heart_scale", X.toarray(), y, 2)

fm = "/usr/share/datasets/fashion-mnist"
if os.path.exists(os.path.join(fm, "t10k-images-idx3-ubyte.gz")):
    with gzip.open(os.path.join(fm, "t10k-images-idx3-ubyte.gz")) as f:
        img = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 784)
    with gzip.open(os.path.join(fm, "t10k-labels-idx1-ubyte.gz")) as f:
        lab = np.frombuffer(f.read(), dtype=np.uint8, offset=8)
    print("# fashion-mnist-test: the first 100 rows only")
    summary("fashion-mnist-test:100", img[:100], lab[:100], 10)

print("# moments iris column mean std (ddof=0)")
X, _ = skd.load_iris(return_X_y=True)
for j in range(X.shape[1]):
    line("moments", "iris", j, float(X[:, j].mean()), float(X[:, j].std()))


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def gsl_seed(seed, stream):
    h = splitmix64(seed ^ splitmix64(stream))
    s = (h ^ (h >> 32)) & 0xFFFFFFFF
    return s if s != 0 else 4357  # GSL's mt19937_set maps 0 to 4357


print("# synth_coef seed n_features coef[0..]  (regression: stream 1, coef = 100 * u)")
for seed in (0, 42, 2**63 + 5):
    bg = np.random.MT19937()
    bg._legacy_seeding(gsl_seed(seed, 1))
    raw = bg.random_raw(6)
    line("synth_coef", seed, 6, *[100.0 * (float(r) / 4294967296.0) for r in raw])
