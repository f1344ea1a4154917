"""clustering:sklearn — scikit-learn's KMeans, DBSCAN and
AgglomerativeClustering on exactly the arrays the native variants cluster
(data_from: naive), with the same parameters, and the same metrics computed
by sklearn.metrics (docs/clustering.md)."""
import time

import mlbench_peer
import numpy as np
from sklearn.cluster import DBSCAN, AgglomerativeClustering, KMeans
from sklearn.metrics import adjusted_rand_score, davies_bouldin_score, silhouette_score

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # older scikit-learn installs
    threadpool_limits = None


def defined(labels, m):
    """sklearn's silhouette and Davies-Bouldin need 2 <= clusters <= m - 1."""
    k = len(np.unique(labels))
    return 2 <= k <= m - 1


class ClusteringSklearn(mlbench_peer.Peer):
    def hello(self):
        import scipy
        import sklearn
        return {"sklearn": sklearn.__version__, "scipy": scipy.__version__,
                "numpy": np.__version__}

    def build(self, X):
        p = self.p
        model = p["model"]
        if model == "kmeans":
            k = int(p["n_clusters"])
            init = p["init"]
            if init == "first":
                # The plugin's init=first: the first k rows, one run.
                return KMeans(n_clusters=k, init=X[:k], n_init=1, max_iter=int(p["max_iter"]),
                              tol=float(p["tol"]), algorithm=p["algorithm"])
            if init not in ("k-means++", "random"):
                raise mlbench_peer.PeerError(f"init '{init}' is not k-means++, random or first")
            return KMeans(n_clusters=k, init=init, n_init=int(p["n_init"]),
                          max_iter=int(p["max_iter"]), tol=float(p["tol"]),
                          algorithm=p["algorithm"], random_state=self.seed % 2**32)
        if model == "dbscan":
            index = {"kdtree": "kd_tree", "brute": "brute"}.get(p["index"])
            if index is None:
                raise mlbench_peer.PeerError(f"index '{p['index']}' is not kdtree or brute")
            return DBSCAN(eps=float(p["eps"]), min_samples=int(p["min_samples"]),
                          algorithm=index, leaf_size=int(p["leaf_size"]))
        if model == "agglomerative":
            return AgglomerativeClustering(n_clusters=int(p["n_clusters"]), linkage=p["linkage"],
                                           compute_distances=True)
        raise mlbench_peer.PeerError(f"model '{model}' is not kmeans, dbscan or agglomerative")

    def setup(self, params, data, seed):
        self.p, self.seed = params, seed
        threads = int(params.get("threads", 1))
        if threadpool_limits is not None:
            # BLAS and OpenMP threads, as the native variants' BLAS threads.
            self.limits = threadpool_limits(limits=threads)
        self.X = self.load("X")
        self.y = self.load("y") if "y" in data else None
        self.sil = self.load("silhouette_idx") if "silhouette_idx" in data else None
        n = len(self.X)
        if params["model"] == "agglomerative" and params["linkage"] != "single" and \
                n > int(params["max_n"]):
            raise mlbench_peer.PeerError(f"agglomerative on {n} rows: max_n={params['max_n']} "
                                         "refuses the condensed distance matrix")
        self.model = self.build(self.X)
        self.batch = min(int(params["batch_size"]), n)
        self.cursor = 0
        # One-off costs (lazy imports, thread pools, first BLAS calls) paid
        # here, on a few rows, as the native variants pay theirs in setup.
        m = min(n, 200)
        if params["model"] == "dbscan" or int(params["n_clusters"]) <= m:
            self.build(self.X[:m]).fit(self.X[:m])

    def train(self):
        # The fits only, as the native variants time them; the metrics are
        # in teardown, which the engine times apart.
        repeats = int(self.p.get("fit_repeats", 1))
        t0 = time.perf_counter()
        for _ in range(repeats):
            self.model.fit(self.X)
        fit_s = (time.perf_counter() - t0) / repeats
        self.fitted = True
        self.work(items=len(self.X) * repeats)
        self.metric("fit_s", fit_s, "lower", restates_time=True)
        if self.p["model"] == "kmeans":
            self.metric("iterations", float(self.model.n_iter_), "lower")

    def infer(self):
        if self.p["model"] != "kmeans" or not getattr(self, "fitted", False):
            return  # dbscan and agglomerative predict nothing, as in the plugin
        n, rows = len(self.X), self.batch
        first = self.cursor if self.cursor + rows <= n else 0
        self.model.predict(self.X[first:first + rows])
        self.cursor = first + rows
        self.work(items=rows)

    def teardown(self):
        if not getattr(self, "fitted", False):
            return
        X, labels, model = self.X, self.model.labels_, self.p["model"]
        self.metric("n_clusters_found", len(np.unique(labels[labels >= 0])), "higher")
        if model == "kmeans":
            self.metric("inertia", self.model.inertia_, "lower")
        elif model == "dbscan":
            self.metric("noise_fraction", float(np.mean(labels < 0)), "lower")
        else:
            self.metric("merge_height_sum", float(np.sum(self.model.distances_)), "lower")
        if self.y is not None:
            self.metric("ari", adjusted_rand_score(self.y, labels), "higher")
        # Silhouette and Davies-Bouldin over the clustered rows (DBSCAN's
        # noise left out), the silhouette on the plugin's sample when it
        # drew one: the same rows as the native variants score.
        rows = np.flatnonzero(labels >= 0)
        if defined(labels[rows], len(rows)):
            self.metric("davies_bouldin", davies_bouldin_score(X[rows], labels[rows]), "lower")
        if self.sil is not None:
            rows = self.sil[labels[self.sil] >= 0]
        if defined(labels[rows], len(rows)):
            self.metric("silhouette", silhouette_score(X[rows], labels[rows]), "higher")


mlbench_peer.run(ClusteringSklearn())
