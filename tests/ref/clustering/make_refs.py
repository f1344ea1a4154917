#!/usr/bin/python3
"""Reference values for tests/test_clustering.c, from Debian's scikit-learn
and SciPy (python3-sklearn 1.2, python3-scipy 1.10).

    /usr/bin/python3 tests/ref/clustering/make_refs.py

Writes refs.json beside this script: small seeded data sets (written out,
so the C test needs no generator of numpy's) or the bundled iris, wine and
digits, each with what scikit-learn and SciPy make of them:

  metrics   adjusted_rand_score, silhouette_score, davies_bouldin_score on
            seeded labelings (noise labels and singletons included)
  kmeans    KMeans from the first k rows (the plugin's init=first), lloyd
            and elkan: labels, inertia_, n_iter_; one case with duplicate
            initial centres (an empty cluster to relocate) and one stopped
            by max_iter
  kmeanspp  the rows the plugin's k-means++ picks, with its splitmix64
            draws written out here in Python (clustering.h's contract)
  sample    the rows cmetrics_sample_rows draws (cluster_metrics.h)
  dbscan    DBSCAN labels (eps chosen away from tied pair distances)
  agglo     AgglomerativeClustering labels per linkage, and SciPy's
            linkage heights, on data without tied distances

Python's json writes the shortest repr of each double, which reads back
exactly.
"""
import json
import math
import os
import warnings

import numpy as np
import scipy
import sklearn
from scipy.cluster import hierarchy
from sklearn import datasets
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "refs.json")
warnings.simplefilter("ignore")  # explicit init with n_init, ConvergenceWarning at max_iter

M64 = (1 << 64) - 1


def splitmix64(state):
    """Returns (new state, value), as mlb_rand_u64."""
    state = (state + 0x9E3779B97F4A7C15) & M64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
    return state, z ^ (z >> 31)


class Draws:
    def __init__(self, seed):
        self.s = seed & M64

    def unit(self):
        self.s, v = splitmix64(self.s)
        return (v >> 11) * 2.0**-53

    def below(self, m):
        j = int(self.unit() * m)
        return j if j < m else m - 1


def kmeanspp_rows(X, k, seed):
    """clustering.h's k-means++: sklearn's greedy algorithm with the
    plugin's draws, on centred data, exact squared distances."""
    Xc = X - X.mean(axis=0)
    n = len(Xc)
    trials = 2 + int(math.floor(math.log(k)))
    r = Draws(seed)
    ids = [r.below(n)]
    closest = ((Xc - Xc[ids[0]]) ** 2).sum(axis=1)
    pot = float(closest.sum())
    for _ in range(1, k):
        csum = np.cumsum(closest)
        cands = [min(int(np.searchsorted(csum, r.unit() * pot, side="left")), n - 1)
                 for _ in range(trials)]
        best, best_pot, best_d = None, math.inf, None
        for c in cands:
            dist = np.minimum(closest, ((Xc - Xc[c]) ** 2).sum(axis=1))
            p = float(dist.sum())
            if p < best_pot:
                best, best_pot, best_d = c, p, dist
        ids.append(best)
        pot, closest = best_pot, best_d
    return ids


def sample_rows(n, m, seed):
    perm = list(range(n))
    r = Draws(seed)
    for i in range(m):
        j = i + r.below(n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[:m]


def arr(a):
    return np.asarray(a).tolist()


refs = {"versions": {"sklearn": sklearn.__version__, "scipy": scipy.__version__,
                     "numpy": np.__version__}}
rng = np.random.default_rng(20240612)

# ---- metrics ---------------------------------------------------------------
Xm = rng.normal(size=(60, 3)) + np.repeat(rng.normal(scale=3, size=(3, 3)), 20, axis=0)
truth = np.repeat([0, 1, 2], 20)
noisy = np.where(rng.random(60) < 0.8, truth, rng.integers(0, 4, 60))
with_noise = noisy.copy()
with_noise[rng.random(60) < 0.15] = -1
singletons = truth.copy()
singletons[5] = 7   # a cluster of one
singletons[40] = 9
cases = []
for name, lab in [("truth", truth), ("noisy", noisy), ("with_noise", with_noise),
                  ("singletons", singletons), ("relabelled", (truth + 1) * 10)]:
    cases.append({"name": name, "labels": arr(lab),
                  "ari": adjusted_rand_score(truth, lab),
                  "ari_vs_noisy": adjusted_rand_score(noisy, lab),
                  "silhouette": float(silhouette_score(Xm, lab)),
                  "davies_bouldin": float(davies_bouldin_score(Xm, lab))})
# The subset a sampled silhouette scores: silhouette_score on those rows.
sub = sample_rows(60, 25, 7)
refs["metrics"] = {"X": arr(Xm), "truth": arr(truth), "cases": cases,
                   "subset": sub,
                   "subset_silhouette": float(silhouette_score(Xm[sub], noisy[sub])),
                   "subset_davies_bouldin": float(davies_bouldin_score(Xm[sub], noisy[sub])),
                   # ARI's trivial cases as sklearn defines them
                   "ari_all_one_vs_singletons": adjusted_rand_score(np.zeros(10), np.arange(10)),
                   "ari_all_one_both": adjusted_rand_score(np.zeros(10), np.zeros(10))}
refs["sample"] = {"n": 150, "m": 20, "seed": 42, "rows": sample_rows(150, 20, 42)}

# ---- k-means ---------------------------------------------------------------
iris = datasets.load_iris().data
wine = datasets.load_wine().data
digits = datasets.load_digits().data
blobs, _ = datasets.make_blobs(n_samples=500, n_features=4, centers=5, cluster_std=1.5,
                               random_state=0)
# Iris reordered so that its first rows are two identical ones (rows 101
# and 142): from those initial centres one cluster starts empty.
dup = np.concatenate([[101, 142], [i for i in range(150) if i not in (101, 142)]])
iris_dup = iris[dup]


def kmeans_case(name, X, k, algo, data=None, max_iter=300, tol=1e-4):
    km = KMeans(n_clusters=k, init=X[:k], n_init=1, algorithm=algo, max_iter=max_iter,
                tol=tol).fit(X)
    c = {"name": name, "k": k, "algorithm": algo, "max_iter": max_iter, "tol": tol,
         "labels": arr(km.labels_), "inertia": float(km.inertia_), "n_iter": int(km.n_iter_)}
    if data is not None:
        c["dataset"] = data
    else:
        c["X"] = arr(X)
    return c


kcases = []
for algo in ("lloyd", "elkan"):
    kcases.append(kmeans_case("iris", iris, 3, algo, data="iris"))
    kcases.append(kmeans_case("wine", wine, 3, algo, data="wine"))
    kcases.append(kmeans_case("digits", digits, 10, algo, data="digits"))
    kcases.append(kmeans_case("blobs500", blobs, 5, algo))
    kcases.append(kmeans_case("iris_dup", iris_dup, 3, algo))
    kcases.append(kmeans_case("iris_max_iter2", iris, 3, algo, data="iris", max_iter=2))
    kcases.append(kmeans_case("wine_tol0", wine, 3, algo, data="wine", tol=0.0))
refs["kmeans"] = kcases
refs["kmeanspp"] = [{"dataset": "iris", "k": 3, "seed": 42, "rows": kmeanspp_rows(iris, 3, 42)},
                    {"dataset": "digits", "k": 10, "seed": 7,
                     "rows": kmeanspp_rows(digits, 10, 7)}]

# ---- DBSCAN ----------------------------------------------------------------
moons, _ = datasets.make_blobs(n_samples=300, n_features=2, centers=3, cluster_std=0.6,
                               random_state=3)
dcases = []
for name, X, eps, ms, data in [("iris", iris, 0.45, 5, "iris"),
                               ("iris_ms10", iris, 0.45, 10, "iris"),
                               ("blobs300", moons, 0.3, 10, None),
                               ("blobs300_wide", moons, 0.55, 4, None)]:
    d2 = ((X[:, None, :] - X[None, :, :]) ** 2).sum(-1)
    gap = float(np.min(np.abs(d2 - eps * eps)))  # no pair sits on the boundary
    assert gap > 1e-6, (name, gap)
    lab = DBSCAN(eps=eps, min_samples=ms).fit(X).labels_
    lab_b = DBSCAN(eps=eps, min_samples=ms, algorithm="brute").fit(X).labels_
    assert (lab == lab_b).all()
    c = {"name": name, "eps": eps, "min_samples": ms, "labels": arr(lab),
         "n_clusters": int(lab.max() + 1), "n_noise": int((lab < 0).sum())}
    if data:
        c["dataset"] = data
    else:
        c["X"] = arr(X)
    dcases.append(c)
refs["dbscan"] = dcases

# ---- agglomerative ---------------------------------------------------------
ablobs, _ = datasets.make_blobs(n_samples=200, n_features=3, centers=4, cluster_std=1.2,
                                random_state=1)
from scipy.spatial.distance import pdist
pd = np.sort(pdist(ablobs))
assert np.min(np.diff(pd)) > 1e-9  # no tied distances
acases = []
for linkage in ("ward", "average", "complete", "single"):
    for k in (4, 7):
        lab = AgglomerativeClustering(n_clusters=k, linkage=linkage).fit(ablobs).labels_
        Z = hierarchy.linkage(ablobs, method=linkage)
        acases.append({"linkage": linkage, "n_clusters": k, "labels": arr(lab),
                       "heights": arr(Z[:, 2])})
refs["agglo"] = {"X": arr(ablobs), "cases": acases}

with open(out, "w") as f:
    json.dump(refs, f)
    f.write("\n")
print(f"wrote {out}")
