#!/usr/bin/python3
"""Reference fits on the diabetes data for tests/test_regression.c.

Reads the committed data/diabetes_*.csv.gz with NumPy (not with mlbench's
loader), checks them against scikit-learn's own copy, and fits every
algorithm with Debian's scikit-learn on all 442 rows. OLS and ridge are
cross-checked against a second, independent NumPy solution (lstsq / SVD)
before they are written. Lasso and elastic net are run twice: at a tight
tol (the optimum, for the objective) and at scikit-learn's default tol
(whose iteration count the C coordinate descent must reproduce).

    /usr/bin/python3 tests/ref/regression/make_ref.py > tests/ref/regression/diabetes.txt
"""
import os
import sys

import numpy as np
import sklearn
from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")
X = np.loadtxt(os.path.join(root, "data", "diabetes_data_raw.csv.gz"))
y = np.loadtxt(os.path.join(root, "data", "diabetes_target.csv.gz"))
Xs, ys = load_diabetes(return_X_y=True, scaled=False)
assert np.array_equal(X, Xs) and np.array_equal(y, ys), "data/ differs from scikit-learn's"
n, d = X.shape


def objective(algo, alpha, l1_ratio, coef, b):
    r = y - X @ coef - b
    rss = float(r @ r)
    if algo == "linear":
        return rss
    if algo == "ridge":
        return rss + alpha * float(coef @ coef)
    return (rss / (2 * n) + alpha * l1_ratio * float(np.abs(coef).sum())
            + 0.5 * alpha * (1 - l1_ratio) * float(coef @ coef))


def centred():
    return X - X.mean(axis=0), y - y.mean()


rows = []


def emit(name, algo, alpha, l1, tol, max_iter, n_iter, coef, b):
    obj = objective(algo, alpha, l1, coef, b)
    rows.append(" ".join([name, algo] + ["%.17g" % v for v in (alpha, l1, tol)]
                         + ["%d" % max_iter, "%d" % n_iter, "%.17g" % obj, "%.17g" % b]
                         + ["%.17g" % c for c in coef]))


# OLS: scikit-learn (scipy lstsq), checked against an SVD pseudo-inverse.
m = LinearRegression().fit(X, y)
Xc, yc = centred()
alt = np.linalg.pinv(Xc) @ yc
assert np.allclose(m.coef_, alt, rtol=1e-11, atol=0), (m.coef_, alt)
emit("ols", "linear", 0.0, 0.0, 0.0, 0, 1, m.coef_, m.intercept_)

# Scores of the OLS fit on its own rows, by scikit-learn's metrics.
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score  # noqa: E402
pred = m.predict(X)
scores = "scores ols %.17g %.17g %.17g" % (r2_score(y, pred), np.sqrt(mean_squared_error(y, pred)),
                                          mean_absolute_error(y, pred))

# Ridge: scikit-learn's Cholesky solver, checked against its SVD solver.
for alpha in (0.01, 1.0, 100.0):
    m = Ridge(alpha=alpha, solver="cholesky").fit(X, y)
    m2 = Ridge(alpha=alpha, solver="svd").fit(X, y)
    assert np.allclose(m.coef_, m2.coef_, rtol=1e-11, atol=0)
    emit("ridge_%g" % alpha, "ridge", alpha, 0.0, 0.0, 0, 1, m.coef_, m.intercept_)

# Lasso and elastic net (coordinate descent on the data, precompute=False).
for algo, alpha, l1 in (("lasso", 0.1, 1.0), ("lasso", 1.0, 1.0),
                        ("elasticnet", 0.5, 0.7), ("elasticnet", 0.01, 0.5)):
    for tol, max_iter in ((1e-4, 1000), (1e-12, 1000000)):
        if algo == "lasso":
            m = Lasso(alpha=alpha, tol=tol, max_iter=max_iter)
        else:
            m = ElasticNet(alpha=alpha, l1_ratio=l1, tol=tol, max_iter=max_iter)
        m.fit(X, y)
        emit("%s_%g_%g_%g" % (algo, alpha, l1, tol), algo, alpha, l1, tol, max_iter, m.n_iter_,
             m.coef_, m.intercept_)

print("# diabetes (442 x 10, raw units), all rows; scikit-learn %s, NumPy %s" %
      (sklearn.__version__, np.__version__))
print("# name algorithm alpha l1_ratio tol max_iter n_iter objective intercept coef[0..9]")
for r in rows:
    print(r)
print("# scores ols r2 rmse mae (of the OLS fit, on all rows)")
print(scores)
