#!/usr/bin/python3
"""Reference values for tests/test_metrics.c, from Debian's scikit-learn.

Generates a few seeded cases that reach the rules a metric can get wrong
(zero_division with a class never predicted and one never true, a class
absent from both, clipping and renormalising in log loss, tied ROC scores,
a constant regression target) and writes them with sklearn.metrics' values
to refs.json. Python's json writes the shortest repr of each double, which
reads back exactly; null stands for NaN (sklearn raises where the C
functions return NaN).

    /usr/bin/python3 tests/ref/metrics/make_refs.py
"""
import json
import math
import os
import warnings

import numpy as np
import sklearn
from sklearn import metrics as M
from sklearn.exceptions import UndefinedMetricWarning

out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "refs.json")
rng = np.random.default_rng(20240611)
# The cases are built to be ill-defined where it matters; sklearn's
# warnings about it say nothing new.
warnings.simplefilter("ignore", UndefinedMetricWarning)
warnings.filterwarnings("ignore", "y_pred contains classes not in y_true")
EPS = 1e-15  # scikit-learn 1.2's eps="auto" would be float64's 2.2e-16


def noisy_predictions(y_true, k, p_keep):
    keep = rng.random(len(y_true)) < p_keep
    return np.where(keep, y_true, rng.integers(0, k, len(y_true)))


def probabilities(y_true, k):
    """Softmax rows leaning to the true class, then the awkward inputs that
    log_loss must clip and renormalise: exact 0s and 1s, unnormalised rows."""
    z = rng.normal(size=(len(y_true), k))
    z[np.arange(len(y_true)), y_true] += 1.5
    p = np.exp(z)
    p /= p.sum(axis=1, keepdims=True)
    n = len(y_true)
    p[0, :] = 0.0
    p[0, (y_true[0] + 1) % k] = 1.0      # certain and wrong: clipped to eps
    p[1, :] = 0.0
    p[1, y_true[1]] = 1.0                # certain and right: clipped to 1 - eps
    p[2:n // 4] *= 0.7                   # rows summing to 0.7
    p[n // 4:n // 3] *= 1.3
    return p


def score_or_nan(f, *a, **kw):
    try:
        v = f(*a, **kw)
    except ValueError:
        return None
    return None if math.isnan(v) else float(v)


def classification(name, y_true, y_pred, k, with_proba=True):
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    exp = {
        "accuracy": M.accuracy_score(y_true, y_pred),
        "balanced_accuracy": M.balanced_accuracy_score(y_true, y_pred),
        # All k classes, absent ones included: the C matrix is always k x k.
        "confusion": M.confusion_matrix(y_true, y_pred, labels=list(range(k))).tolist(),
    }
    for f, fname in ((M.precision_score, "precision"), (M.recall_score, "recall"),
                     (M.f1_score, "f1")):
        for avg in ("macro", "weighted"):
            exp[f"{fname}_{avg}"] = f(y_true, y_pred, average=avg, zero_division="warn")
    case = {"name": name, "n_classes": k, "y_true": y_true.tolist(), "y_pred": y_pred.tolist()}
    if with_proba:
        p = probabilities(y_true, k)
        case["proba"] = p.ravel().tolist()  # n x k, row-major
        exp["log_loss"] = M.log_loss(y_true, p, eps=EPS, labels=list(range(k)))
    if k == 2:
        s = rng.normal(size=len(y_true)) + 1.2 * y_true
        case["score"] = s.tolist()
        exp["roc_auc"] = score_or_nan(M.roc_auc_score, y_true, s)
    case["expect"] = {key: (float(v) if not isinstance(v, list) else v) for key, v in exp.items()}
    return case


cases = []

# Binary, with probabilities and continuous scores.
yt = rng.integers(0, 2, 300)
cases.append(classification("binary", yt, noisy_predictions(yt, 2, 0.75), 2))

# Class 3 occurs but is never predicted: its precision is 0/0, scored 0.
yt = rng.integers(0, 5, 250)
yp = noisy_predictions(yt, 5, 0.6)
yp[yp == 3] = 1
assert (yt == 3).any() and not (yp == 3).any()
cases.append(classification("absent_predicted", yt, yp, 5))

# Class 4 is predicted but never occurs: recall 0/0 scored 0, and
# balanced accuracy leaves it out.
yt = rng.integers(0, 4, 250)
yp = noisy_predictions(yt, 5, 0.6)
assert (yp == 4).any() and not (yt == 4).any()
cases.append(classification("absent_true", yt, yp, 5))

# n_classes = 6, class 5 in neither: not a label of the problem for the
# macro mean; log loss still has a column for it.
yt = rng.integers(0, 5, 200)
yp = noisy_predictions(yt, 5, 0.5)
cases.append(classification("unused_class", yt, yp, 6))

# Twelve classes: enough for NumPy's pairwise sums to reorder additions.
yt = rng.integers(0, 12, 240)
cases.append(classification("many_classes", yt, noisy_predictions(yt, 12, 0.4), 12))

# Everything right.
yt = rng.integers(0, 3, 50)
cases.append(classification("perfect", yt, yt.copy(), 3))

# ROC AUC on its own: ties, extremes, one class.
roc = []


def roc_case(name, y, s):
    y = np.asarray(y)
    s = np.asarray(s, dtype=float)
    roc.append({"name": name, "y_true": y.tolist(), "score": s.tolist(),
                "roc_auc": score_or_nan(M.roc_auc_score, y, s)})


yt = rng.integers(0, 2, 200)
roc_case("ties", yt, np.round(rng.normal(size=200) + 0.8 * yt, 1))
roc_case("all_tied", yt, np.full(200, 0.5))
roc_case("tie_across_classes", [0, 1, 0, 1, 1, 0], [0.1, 0.4, 0.4, 0.4, 0.9, 0.2])
# Tied groups listed positives first, then negatives first: counting each
# pair by input order instead of one half would score 1.0 and 0.556.
roc_case("ties_positives_first", [1, 1, 0, 0, 1, 0], [0.3, 0.3, 0.3, 0.3, 0.9, 0.1])
roc_case("ties_negatives_first", [0, 0, 1, 1, 1, 0], [0.3, 0.3, 0.3, 0.3, 0.9, 0.1])
roc_case("perfect", [0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
roc_case("inverted", [1, 1, 0, 0], [0.1, 0.2, 0.8, 0.9])
roc_case("one_class", [1, 1, 1], [0.1, 0.5, 0.9])

# Regression.
reg = []


def reg_case(name, y, p):
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    reg.append({"name": name, "y_true": y.tolist(), "y_pred": p.tolist(),
                "r2": float(M.r2_score(y, p)),
                "rmse": float(M.mean_squared_error(y, p, squared=False)),
                "mae": float(M.mean_absolute_error(y, p))})


y = rng.normal(size=120) * 3 + 10
reg_case("random", y, y + rng.normal(size=120))
y = rng.normal(size=400) + 1000.0       # a large mean against a small spread
reg_case("offset", y, y + 0.3 * rng.normal(size=400))
reg_case("worse_than_mean", y[:50], rng.normal(size=50) + 1000.0)
# A constant target, its sum exact in binary so that the mean is too and
# SS_tot is exactly 0 in both NumPy and C.
reg_case("constant_imperfect", np.full(20, 4.25), 4.25 + rng.normal(size=20))
reg_case("constant_perfect", np.full(20, 4.25), np.full(20, 4.25))
reg_case("perfect", y[:30], y[:30])

doc = {
    "generator": "tests/ref/metrics/make_refs.py",
    "sklearn": sklearn.__version__,
    "numpy": np.__version__,
    "classification": cases,
    "roc": roc,
    "regression": reg,
}
with open(out + ".tmp", "w") as f:
    json.dump(doc, f, allow_nan=False)
    f.write("\n")
os.replace(out + ".tmp", out)
print(f"wrote {out}: {len(cases)} classification, {len(roc)} ROC, {len(reg)} regression cases")
