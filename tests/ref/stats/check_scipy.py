#!/usr/bin/python3
"""Cross-check the R reference values in this directory against scipy, where
scipy computes the same quantity exactly (Welch, Mann-Whitney, Shapiro-Wilk,
sample SD, type-7 quantiles). Not run by the test suite; run it after
regenerating the references:  /usr/bin/python3 tests/ref/stats/check_scipy.py
Exit status 1 if any value differs by more than 1e-6 relative (1e-4 for p)."""
import glob
import os
import sys

import warnings

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))


def load_ref(path):
    with open(path) as f:
        return dict(line.rstrip("\n").split(" ", 1) for line in f)


def close(got, want, tol):
    return (got == 0 and want == 0) or abs(got - want) <= tol * abs(want)


# scipy warns about cancellation on the 1.2e8 case; its values still agree.
warnings.simplefilter("ignore", RuntimeWarning)
bad = 0
for ref_path in sorted(glob.glob(os.path.join(HERE, "*.ref"))):
    case = os.path.basename(ref_path)[:-4]
    if case.startswith("padj_"):
        continue
    ref = load_ref(ref_path)
    a = np.loadtxt(os.path.join(HERE, case + "_a.txt"), ndmin=1)
    b = np.loadtxt(os.path.join(HERE, case + "_b.txt"), ndmin=1)
    got = {}
    for s, x in (("a", a), ("b", b)):
        if len(x) >= 2:
            got[s + ".sd"] = np.std(x, ddof=1)
        got[s + ".q1"], got[s + ".q3"] = np.quantile(x, [0.25, 0.75])
        if 3 <= len(x) <= 5000 and x.min() < x.max():
            z = (x - x.mean()) / x.std() if x.max() - x.min() < 1e-10 else x
            # scipy runs the same AS R94 code in single precision, which is
            # not exact: W agrees with R to float accuracy, its p in the far
            # tail (n = 5000) only to about 1e-3, so only W is compared.
            got[s + ".shapiro_w"] = stats.shapiro(z)[0]
    if ref["welch_p"] != "null":
        t = stats.ttest_ind(a, b, equal_var=False)
        got["welch_t"], got["welch_p"] = t.statistic, t.pvalue
    method = "exact" if ref["mwu_method"] == "exact" else "asymptotic"
    if ref["mwu_p"] != "null":
        u = stats.mannwhitneyu(a, b, use_continuity=True, alternative="two-sided", method=method)
        got["mwu_u"], got["mwu_p"] = u.statistic, u.pvalue
    for k, v in got.items():
        want = float(ref[k])
        tol = 1e-4 if k.endswith("_p") else 1e-6
        if "shapiro" in k:
            tol = 1e-4  # single precision, see above
        if not close(float(v), want, tol):
            print(f"{case}: {k}: scipy {float(v):.10g}, R {want:.10g}")
            bad += 1
print("mismatches:", bad)
sys.exit(1 if bad else 0)
