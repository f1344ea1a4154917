#!/usr/bin/python3
"""Reference fits for tests/test_svm.c, made with Debian's scikit-learn.

Each case fits scikit-learn's SVC, NuSVC or LinearSVC to a bundled dataset
read here with scikit-learn's own loaders (tests/ref/data checks that they
read the files as mlbench does), split without randomness so that the C
test can rebuild the same arrays: rows i with i % 4 == 0 are the test set,
the others (in file order) the training set. digits uses its first 900
rows, pixels / 16 (exact in floating point).

Recorded per case: the gamma scikit-learn used (to 17 digits, so the C
test runs the same kernel), the support vectors per class, the SMO
iterations of each one-vs-one pair (n_iter_), the dual objective of each
pair recomputed from dual_coef_ (svc: 1/2 c^T K c - sum |c|; nusvc:
1/2 c^T K c, LIBSVM's rescaled obj), the test predictions and accuracy;
for LinearSVC the primal objective 1/2 ||[w; b]||^2 + C sum sq. hinge
(the intercept regularised as LIBLINEAR does) and its epochs.

nu is 0.5 and 0.25, values whose multiples are exact: scikit-learn's fork
starts nu-SVC from nu_l = sum_i nu C_i accumulated row by row (its sample
weights), LIBSVM and the native solver from nu l / 2. For a nu such as 0.3
the two starts differ in the last bits, the paths part, and the objectives
agree only to the tolerance (digits pair (0, 2): 1.6e-5 relative at tol
1e-3), while LIBSVM 3.24 and the native solver still agree to the bit.

    /usr/bin/python3 tests/ref/svm/make_refs.py > tests/ref/svm/refs.json
"""
import json
import os
import sys

import numpy as np
import sklearn
from sklearn import datasets as skd
from sklearn.svm import SVC, LinearSVC, NuSVC

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")


def load(name):
    if name == "iris":
        return skd.load_iris(return_X_y=True)
    if name == "heart_scale":
        X, y = skd.load_svmlight_file(os.path.join(root, "data", "heart_scale"))
        return X.toarray(), np.searchsorted(np.unique(y), y)  # -1/+1 to 0/1, as classify does
    if name == "digits":
        X, y = skd.load_digits(return_X_y=True)
        return X[:900] / 16.0, y[:900]
    raise ValueError(name)


def split(X, y):
    test = np.arange(len(y)) % 4 == 0
    return X[~test], y[~test].astype(np.int64), X[test], y[test].astype(np.int64)


def kernel(kind, A, B, gamma, coef0, degree):
    dot = A @ B.T
    if kind == "linear":
        return dot
    if kind == "poly":
        return (gamma * dot + coef0) ** degree
    if kind == "rbf":
        sa, sb = (A * A).sum(1), (B * B).sum(1)
        return np.exp(-gamma * (sa[:, None] + sb[None, :] - 2 * dot))
    return np.tanh(gamma * dot + coef0)


CASES = [
    # name, dataset, model, params
    ("iris_svc_rbf", "iris", "svc", dict(kernel="rbf", C=1.0, gamma="scale")),
    ("iris_nusvc_rbf", "iris", "nusvc", dict(kernel="rbf", nu=0.5, gamma="scale")),
    ("heart_svc_linear", "heart_scale", "svc", dict(kernel="linear", C=1.0)),
    ("heart_svc_poly", "heart_scale", "svc", dict(kernel="poly", C=1.0, degree=3, gamma="scale",
                                                   coef0=1.0)),
    ("heart_svc_sigmoid", "heart_scale", "svc", dict(kernel="sigmoid", C=1.0, gamma="auto",
                                                      coef0=0.0)),
    ("heart_svc_rbf_noshrink", "heart_scale", "svc", dict(kernel="rbf", C=2.0, gamma="scale",
                                                           shrinking=False)),
    ("digits_svc_rbf", "digits", "svc", dict(kernel="rbf", C=10.0, gamma="scale")),
    ("digits_nusvc_rbf", "digits", "nusvc", dict(kernel="rbf", nu=0.25, gamma="scale")),
    ("heart_linearsvc", "heart_scale", "linearsvc", dict(C=1.0)),
    ("heart_linearsvc_scaled", "heart_scale", "linearsvc", dict(C=0.5, intercept_scaling=2.0)),
    ("digits_linearsvc", "digits", "linearsvc", dict(C=0.1)),
]


def case(name, dataset, model, p):
    X, y, Xt, yt = split(*load(dataset))
    out = {"name": name, "dataset": dataset, "model": model,
           "n_train": int(len(y)), "n_test": int(len(yt)), "n_features": int(X.shape[1]),
           "n_classes": int(len(np.unique(y)))}
    if model == "linearsvc":
        m = LinearSVC(C=p["C"], intercept_scaling=p.get("intercept_scaling", 1.0), tol=1e-4,
                      max_iter=1000, random_state=0).fit(X, y)
        s = p.get("intercept_scaling", 1.0)
        W, b = m.coef_, m.intercept_ / s
        rows = [1] if len(W) == 1 else range(len(W))
        primal = 0.0
        for r, c in enumerate(rows):
            yy = np.where(y == c, 1.0, -1.0)
            margin = 1 - yy * (X @ W[r] + b[r] * s)
            primal += 0.5 * (W[r] @ W[r] + b[r] ** 2) + p["C"] * float((np.maximum(margin, 0) ** 2).sum())
        pred = m.predict(Xt)
        out.update(C=p["C"], intercept_scaling=s, tol=1e-4, primal=primal,
                   n_iter=int(np.max(m.n_iter_)))
    else:
        common = dict(kernel=p["kernel"], gamma=p.get("gamma", "scale"), degree=p.get("degree", 3),
                      coef0=p.get("coef0", 0.0), shrinking=p.get("shrinking", True), tol=1e-3,
                      cache_size=200)
        m = (NuSVC(nu=p["nu"], **common) if model == "nusvc" else SVC(C=p["C"], **common)).fit(X, y)
        g = float(m._gamma)
        cs = np.concatenate([[0], np.cumsum(m.n_support_)])
        objs = []
        k = len(m.classes_)
        for a in range(k):
            for b in range(a + 1, k):
                ia, ib = np.arange(cs[a], cs[a + 1]), np.arange(cs[b], cs[b + 1])
                c = np.concatenate([m.dual_coef_[b - 1, ia], m.dual_coef_[a, ib]])
                S = m.support_vectors_[np.concatenate([ia, ib])]
                K = kernel(p["kernel"], S, S, g, common["coef0"], common["degree"])
                objs.append(float(0.5 * c @ K @ c - (np.abs(c).sum() if model == "svc" else 0.0)))
        pred = m.predict(Xt)
        out.update(kernel=p["kernel"], C=p.get("C", 1.0), nu=p.get("nu", 0.5), gamma=g,
                   gamma_mode=p.get("gamma", "scale"), degree=common["degree"],
                   coef0=common["coef0"], shrinking=int(common["shrinking"]), tol=1e-3,
                   n_support=[int(v) for v in m.n_support_], pair_obj=objs,
                   pair_iter=[int(v) for v in m.n_iter_])
    out["pred"] = [int(v) for v in pred]
    out["accuracy"] = float((pred == yt).mean())
    return out


doc = {"sklearn": sklearn.__version__, "numpy": np.__version__,
       "split": "test rows: i % 4 == 0; digits: first 900 rows, / 16",
       "cases": [case(*c) for c in CASES]}
json.dump(doc, sys.stdout, indent=1)
sys.stdout.write("\n")
