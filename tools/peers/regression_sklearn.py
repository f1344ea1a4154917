"""regression:sklearn — scikit-learn's LinearRegression, Ridge, Lasso and
ElasticNet on exactly the arrays the native variants train on (data_from).
Same parameters as the native plugin; objectives as in plugins/regression."""
import time

import mlbench_peer
import numpy as np
from sklearn.linear_model import ElasticNet, Lasso, LinearRegression, Ridge

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # older scikit-learn installs
    threadpool_limits = None


class RegressionSklearn(mlbench_peer.Peer):
    def hello(self):
        import sklearn
        return {"sklearn": sklearn.__version__, "numpy": np.__version__}

    def setup(self, params, data, seed):
        self.p = params
        threads = int(params.get("threads", 1))
        if threadpool_limits is not None:
            self.limits = threadpool_limits(limits=threads)  # BLAS threads as the native variants
        self.X = self.load("X_train")
        self.y = self.load("y_train")
        self.Xt = self.load("X_test")
        self.yt = self.load("y_test")
        algo = params["algorithm"]
        alpha, l1, tol, it = params["alpha"], params["l1_ratio"], params["tol"], params["max_iter"]
        # Coordinate descent on the Gram matrix or on the data, decided as
        # the native plugin decides it (plugin.c, regression_setup): auto means the
        # Gram form when the training split has more rows than features.
        pre = params.get("precompute", "auto")
        if pre == "auto":
            gram = self.X.shape[0] > self.X.shape[1]
        elif pre in ("true", "false"):
            gram = pre == "true"
        else:
            raise mlbench_peer.PeerError(f"parameter precompute='{pre}': must be auto, true or false")
        if algo == "linear":
            self.model = LinearRegression()
        elif algo == "ridge":
            self.model = Ridge(alpha=alpha)
        elif algo == "lasso":
            self.model = Lasso(alpha=alpha, tol=tol, max_iter=it, precompute=gram,
                               random_state=seed % 2**32)
        elif algo == "elasticnet":
            self.model = ElasticNet(alpha=alpha, l1_ratio=l1, tol=tol, max_iter=it,
                                    precompute=gram, random_state=seed % 2**32)
        else:
            raise mlbench_peer.PeerError(f"algorithm '{algo}' is not linear, ridge, lasso or elasticnet")
        self.batch = int(params["batch_size"])
        self.cursor = 0
        # Best settings, as a careful user would have them: coordinate descent
        # wants Fortran order (else every fit copies X), and a first full-size
        # fit pays one-off costs (lazy imports, BLAS buffers, page faults on
        # the temporaries a fit allocates) that the native variants pay in
        # their setup, which allocates their workspace. Both happen here.
        if algo in ("lasso", "elasticnet"):
            self.X = np.asfortranarray(self.X)
        self.model.fit(self.X, self.y)

    def objective(self):
        p, w = self.p, self.model.coef_
        r = self.y - self.X @ w - self.model.intercept_
        rss, l1, l2, n = float(r @ r), float(np.abs(w).sum()), float(w @ w), len(self.y)
        algo = p["algorithm"]
        if algo == "linear":
            return rss
        if algo == "ridge":
            return rss + p["alpha"] * l2
        if algo == "lasso":
            return rss / (2 * n) + p["alpha"] * l1
        return rss / (2 * n) + p["alpha"] * p["l1_ratio"] * l1 + 0.5 * p["alpha"] * (1 - p["l1_ratio"]) * l2

    def train(self):
        # The fits only, as the native variants time them; scoring is in
        # teardown, which the engine times apart.
        repeats = int(self.p.get("fit_repeats", 1))
        t0 = time.perf_counter()
        for _ in range(repeats):
            self.model.fit(self.X, self.y)
        fit_s = (time.perf_counter() - t0) / repeats
        self.fitted = True
        self.work(items=len(self.y) * repeats)
        self.metric("fit_s", fit_s, "lower", restates_time=True)
        self.metric("iterations", float(np.max(getattr(self.model, "n_iter_", 1) or 1)), "lower")

    def infer(self):
        n = len(self.yt)
        rows = min(self.batch, n)
        first = self.cursor if self.cursor + rows <= n else 0
        self.model.predict(self.Xt[first:first + rows])
        self.cursor = first + rows
        self.work(items=rows)

    def teardown(self):
        # Scores of the held-out predictions and the training objective:
        # checks, not the timed fit (as in the native plugin's teardown).
        if not getattr(self, "fitted", False):
            return
        pred = self.model.predict(self.Xt)
        err = self.yt - pred
        ss_tot = float(((self.yt - self.yt.mean()) ** 2).sum())
        ss_res = float(err @ err)
        if not np.isfinite(ss_res):
            raise mlbench_peer.PeerError("the fitted model predicts non-finite values")
        self.metric("r2", 1 - ss_res / ss_tot if ss_tot > 0 else float(ss_res == 0), "higher")
        self.metric("rmse", np.sqrt(ss_res / len(err)), "lower")
        self.metric("mae", float(np.abs(err).mean()), "lower")
        self.metric("objective", self.objective(), "lower")


mlbench_peer.run(RegressionSklearn())
