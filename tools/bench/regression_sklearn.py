#!/usr/bin/python3
"""scikit-learn's side of tools/bench/regression.sh, and the comparison.

Fits LinearRegression, Ridge, Lasso and ElasticNet on the arrays the mlbench
engine exported (X_train.npy, ...), with the parameters the native runs used
(read from their results JSON), times fit() alone, and prints a markdown
table next to the native variants' fit_s metric. Run by regression.sh with
OPENBLAS_NUM_THREADS set to the native runs' thread count.
"""
import argparse
import json
import os
import platform
import re
import statistics
import sys
import time

import numpy as np
import sklearn
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge
from sklearn.metrics import r2_score


def objective(algo, p, X, y, coef, b):
    r = y - X @ coef - b
    rss = float(r @ r)
    n = len(y)
    if algo == "linear":
        return rss
    if algo == "ridge":
        return rss + p["alpha"] * float(coef @ coef)
    l1 = 1.0 if algo == "lasso" else p["l1_ratio"]
    return (rss / (2 * n) + p["alpha"] * l1 * float(np.abs(coef).sum())
            + 0.5 * p["alpha"] * (1 - l1) * float(coef @ coef))


def estimators(algo, p):
    if algo == "linear":
        return [("sklearn", LinearRegression())]
    if algo == "ridge":
        return [("sklearn", Ridge(alpha=p["alpha"]))]
    kw = dict(alpha=p["alpha"], tol=p["tol"], max_iter=p["max_iter"])
    make = (lambda **k: Lasso(**k)) if algo == "lasso" else \
        (lambda **k: ElasticNet(l1_ratio=p["l1_ratio"], **k))
    return [("sklearn", make(**kw)), ("sklearn precompute=True", make(precompute=True, **kw))]


def native_runs(path):
    """(variant, status, median fit_s, metrics of the first repetition, params)."""
    with open(path) as f:
        doc = json.load(f)
    out = []
    for run in doc["runs"]:
        reps = [r for r in run.get("repetitions", []) if r.get("status") == "ok"]
        fits = [r["metrics"]["fit_s"]["value"] for r in reps if "fit_s" in r.get("metrics", {})]
        m = {k: v["value"] for k, v in reps[0]["metrics"].items()} if reps else {}
        why = run.get("error") or run.get("message") or ""
        if not why:
            for r in run.get("repetitions", []) + run.get("warmup_status", []):
                if isinstance(r, dict) and r.get("error"):
                    why = r["error"]
                    break
        out.append((run["variant"], run["status"], statistics.median(fits) if fits else None, m,
                    run["params"], why))
    return out


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--native", required=True, help="directory with native-<algo>.json")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--algorithms", default="linear,ridge,lasso,elasticnet")
    ap.add_argument("--write-doc")
    a = ap.parse_args()

    load = lambda name: np.load(os.path.join(a.data, name + ".npy"))
    Xtr, ytr, Xte, yte = load("X_train"), load("y_train"), load("X_test"), load("y_test")
    # scikit-learn's coordinate descent wants Fortran order and converts
    # otherwise (a copy inside every fit); hand it what it prefers, as a
    # user who cares would.
    Xtr_f = np.asfortranarray(Xtr)

    lines = []
    emit = lines.append
    emit("Synthetic regression, %d training x %d features (%d test rows), seed 42; "
         "%d thread(s) for OpenBLAS and scikit-learn; median of %d fits. "
         "%s; scikit-learn %s, NumPy %s. Ratio = scikit-learn's fit time / the variant's "
         "(above 1: the variant is faster)." %
         (Xtr.shape[0], Xtr.shape[1], Xte.shape[0], a.threads, a.reps, cpu_model(),
          sklearn.__version__, np.__version__))
    emit("")
    emit("| algorithm | implementation | fit (s) | vs scikit-learn | iterations | test R² | "
         "objective vs scikit-learn |")
    emit("|---|---|---:|---:|---:|---:|---:|")
    for algo in a.algorithms.split(","):
        native = native_runs(os.path.join(a.native, "native-%s.json" % algo))
        p = dict(native[0][4]) if native else {}
        p.setdefault("alpha", 1.0)
        p.setdefault("l1_ratio", 0.5)
        p.setdefault("tol", 1e-4)
        p.setdefault("max_iter", 1000)
        sk_time = sk_obj = None
        for first, (name, est) in enumerate(estimators(algo, p)):
            first = first == 0
            X = Xtr_f if algo in ("lasso", "elasticnet") else Xtr
            est.fit(X, ytr)  # warm-up: imports, BLAS buffers, first-call costs
            times = []
            for _ in range(a.reps):
                t0 = time.perf_counter()
                est.fit(X, ytr)
                times.append(time.perf_counter() - t0)
            t = statistics.median(times)
            obj = objective(algo, p, Xtr, ytr, est.coef_, est.intercept_)
            if first:
                sk_time, sk_obj = t, obj
            n_iter = getattr(est, "n_iter_", None)
            emit("| %s | %s | %.4f | %s | %s | %.6f | %s |" % (
                algo, name, t, "1 (reference)" if first else "%.2f" % (sk_time / t),
                "-" if n_iter is None else n_iter, r2_score(yte, est.predict(Xte)),
                "reference" if first else "%+.1e" % ((obj - sk_obj) / sk_obj)))
        for variant, status, fit, m, _, why in native:
            if status != "ok" or fit is None:
                emit("| %s | mlbench %s | - | - | - | - | %s |" % (
                    algo, variant, (why or status).replace("|", "/")[:90]))
                continue
            label = "scikit-learn as engine peer" if variant == "sklearn" else "mlbench " + variant
            emit("| %s | %s | %.4f | %.2f | %d | %.6f | %+.1e |" % (
                algo, label, fit, sk_time / fit, m.get("iterations", 0), m.get("r2", float("nan")),
                (m["objective"] - sk_obj) / sk_obj))
    table = "\n".join(lines)
    print(table)

    if a.write_doc:
        write_section(a.write_doc, table)


def write_section(path, table):
    """Replaces the body of '## regression' in path, or appends the section."""
    head = "## regression"
    body = (head + "\n\n"
            "Measured with `tools/bench/regression.sh` (the figures below are its output; "
            "rerun it to refresh them).\n\n" + table + "\n")
    text = open(path).read() if os.path.exists(path) else "# Performance\n"
    m = re.search(r"^## regression[ \t]*\n", text, flags=re.M)
    if m:
        nxt = re.search(r"^## ", text[m.end():], flags=re.M)
        end = m.end() + nxt.start() if nxt else len(text)
        keep = text[m.start():end]
        # Hand-written notes after the generated table survive a refresh.
        notes = keep.split("<!-- notes -->", 1)
        body += ("\n<!-- notes -->" + notes[1]) if len(notes) == 2 else "\n"
        text = text[:m.start()] + body + text[end:]
    else:
        text = text.rstrip("\n") + "\n\n" + body
    with open(path, "w") as f:
        f.write(text)
    print("updated %s (## regression)" % path, file=sys.stderr)


if __name__ == "__main__":
    main()
