"""svm:sklearn — scikit-learn's SVC, NuSVC and LinearSVC on exactly the
arrays the native variants train on (data_from). Same parameters as the
native plugin (plugins/svm/svm.h), the same metrics: the dual objective is
recomputed from the fitted coefficients with the formula the native
variants use (svm_pair_objectives), the primal one of LinearSVC likewise."""
import time

import mlbench_peer
import numpy as np
from sklearn.svm import SVC, LinearSVC, NuSVC

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # older scikit-learn installs
    threadpool_limits = None


def kernel_matrix(kernel, A, B, gamma, coef0, degree):
    """K(A, B) with LIBSVM's formulas (rbf from the squared norms)."""
    dot = A @ B.T
    if kernel == "linear":
        return dot
    if kernel == "poly":
        return (gamma * dot + coef0) ** degree
    if kernel == "rbf":
        sa, sb = (A * A).sum(1), (B * B).sum(1)
        return np.exp(-gamma * (sa[:, None] + sb[None, :] - 2 * dot))
    return np.tanh(gamma * dot + coef0)


class SvmSklearn(mlbench_peer.Peer):
    def hello(self):
        import sklearn
        return {"sklearn": sklearn.__version__, "numpy": np.__version__}

    def setup(self, params, data, seed):
        self.p = params
        threads = int(params.get("threads", 1))
        if threadpool_limits is not None:
            self.limits = threadpool_limits(limits=threads)
        self.X = self.load("X_train")
        self.y = self.load("y_train").astype(np.int64)
        self.Xt = self.load("X_test")
        self.yt = self.load("y_test").astype(np.int64)
        model = params["model"]
        g = params["gamma"]
        if g not in ("scale", "auto"):
            try:
                g = float(g)
            except ValueError:
                raise mlbench_peer.PeerError(f"parameter gamma: '{g}' is not scale, auto or a number > 0")
            if not np.isfinite(g) or g <= 0:
                raise mlbench_peer.PeerError(f"parameter gamma: '{params['gamma']}' is not scale, auto or a number > 0")
        max_iter = int(params["max_iter"])
        tol = float(params["tol"])
        if model == "linearsvc":
            self.model = LinearSVC(penalty="l2", loss="squared_hinge", dual=True,
                                   tol=tol or 1e-4, C=params["C"],
                                   fit_intercept=bool(params["fit_intercept"]),
                                   intercept_scaling=params["intercept_scaling"],
                                   max_iter=max_iter or 1000, random_state=seed % 2**32)
        else:
            common = dict(kernel=params["kernel"], degree=int(params["degree"]), gamma=g,
                          coef0=params["coef0"], shrinking=bool(params["shrinking"]),
                          tol=tol or 1e-3, cache_size=params["cache_mb"],
                          max_iter=max_iter or -1)
            if model == "nusvc":
                self.model = NuSVC(nu=params["nu"], **common)
            else:
                self.model = SVC(C=params["C"], **common)
        self.batch = min(int(params["batch_size"]), len(self.yt))
        self.cursor = 0
        # A first fit pays one-off costs (lazy imports, first allocations),
        # as the native variants pay theirs in setup. It also raises here,
        # in setup, what scikit-learn refuses (an infeasible nu).
        try:
            self.model.fit(self.X, self.y)
        except ValueError as e:
            raise mlbench_peer.PeerError(str(e))

    def train(self):
        repeats = int(self.p.get("fit_repeats", 1))
        t0 = time.perf_counter()
        for _ in range(repeats):
            self.model.fit(self.X, self.y)
        fit_s = (time.perf_counter() - t0) / repeats
        self.fitted = True
        self.work(items=len(self.y) * repeats)
        self.metric("fit_s", fit_s, "lower", restates_time=True)
        it = np.atleast_1d(self.model.n_iter_)
        # SMO steps of all pairs, or the slowest one-vs-rest model's epochs,
        # as the native variants count them.
        self.metric("iterations", float(it.max() if self.p["model"] == "linearsvc" else it.sum()),
                    "lower")

    def infer(self):
        n = len(self.yt)
        first = self.cursor if self.cursor + self.batch <= n else 0
        self.model.predict(self.Xt[first:first + self.batch])
        self.cursor = first + self.batch
        self.work(items=self.batch)

    def dual_objective(self):
        m, p = self.model, self.p
        cs = np.concatenate([[0], np.cumsum(m.n_support_)])
        gamma = getattr(m, "_gamma", 0.0)
        total = 0.0
        k = len(m.classes_)
        for a in range(k):
            for b in range(a + 1, k):
                ia, ib = np.arange(cs[a], cs[a + 1]), np.arange(cs[b], cs[b + 1])
                c = np.concatenate([m.dual_coef_[b - 1, ia], m.dual_coef_[a, ib]])
                S = m.support_vectors_[np.concatenate([ia, ib])]
                K = kernel_matrix(p["kernel"], S, S, gamma, p["coef0"], int(p["degree"]))
                total += 0.5 * c @ K @ c - (np.abs(c).sum() if p["model"] == "svc" else 0.0)
        return float(total)

    def primal_objective(self):
        m, p = self.model, self.p
        W = m.coef_
        b = m.intercept_ / p["intercept_scaling"] if p["fit_intercept"] else np.zeros(len(W))
        total = 0.0
        classes = [0] if len(W) == 1 else range(len(W))
        for r, c in enumerate(classes):
            # Binary: scikit-learn's row is class 1 against class 0; the
            # objective is the same for either sign convention.
            y = np.where(self.y == (1 if len(W) == 1 else c), 1.0, -1.0)
            margin = 1 - y * (self.X @ W[r] + b[r] * (p["intercept_scaling"] if p["fit_intercept"] else 0))
            total += 0.5 * (W[r] @ W[r] + b[r] ** 2) + p["C"] * float((np.maximum(margin, 0) ** 2).sum())
        return float(total)

    def teardown(self):
        # Scores and objectives: checks, not the timed fit (as the native
        # variants' teardown).
        if not getattr(self, "fitted", False):
            return
        from sklearn.metrics import (accuracy_score, balanced_accuracy_score, f1_score,
                                     precision_score, recall_score)
        pred = self.model.predict(self.Xt)
        yt = self.yt
        self.metric("accuracy", accuracy_score(yt, pred), "higher")
        self.metric("balanced_accuracy", balanced_accuracy_score(yt, pred), "higher")
        self.metric("macro_f1", f1_score(yt, pred, average="macro", zero_division=0), "higher")
        self.metric("macro_precision", precision_score(yt, pred, average="macro", zero_division=0),
                    "higher")
        self.metric("macro_recall", recall_score(yt, pred, average="macro", zero_division=0),
                    "higher")
        if self.p["model"] == "linearsvc":
            self.metric("primal_objective", self.primal_objective(), "lower")
        else:
            self.metric("dual_objective", self.dual_objective(), "lower")
            self.metric("n_support", float(self.model.n_support_.sum()), "lower")


mlbench_peer.run(SvmSklearn())
