/*
 * Clustering quality metrics shared by every task that clusters, defined as
 * scikit-learn 1.2 defines them (tests/test_clustering.c checks each
 * against sklearn.metrics: tests/ref/clustering/make_refs.py), so that a
 * native variant and a peer report numbers that can be compared.
 *
 * Labels are plain ints naming clusters; any value is a cluster of its own
 * (DBSCAN's noise label -1 too, as sklearn.metrics treats it). A function
 * that scores a subset takes the rows as an index list `idx` of m entries;
 * idx NULL means rows 0..m-1. X is row-major with d columns.
 *
 * These run in teardown (they allocate O(m) or O(m * clusters)), never in
 * a timed phase. A function returning a double returns NaN when the metric
 * is undefined (too few or too many clusters, m == 0) or memory runs out.
 */
#ifndef MLB_PLUGINS_CLUSTER_METRICS_H
#define MLB_PLUGINS_CLUSTER_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Adjusted Rand index of two labelings of the same n points
 * (adjusted_rand_score): 1 for identical partitions whatever the label
 * values (also when both are trivial), about 0 for independent ones. Pairs
 * are counted in 64-bit integers and the ratio formed in long double, where
 * sklearn uses Python's unbounded ints. NaN for n == 0. */
double cmetrics_adjusted_rand(const int *a, const int *b, size_t n);

/* Sum over the m rows of the squared Euclidean distance to their cluster's
 * centre, centers[labels[i]] (k-means' inertia_). Labels must index
 * centers: 0 <= label. */
double cmetrics_inertia(const double *X, size_t d, const int *labels, const size_t *idx, size_t m,
                        const double *centers);

/* Mean silhouette coefficient of the m rows (silhouette_score on that
 * subset): per row, a = mean distance to the other rows of its cluster,
 * b = the smallest mean distance to the rows of another cluster, s =
 * (b - a) / max(a, b), and 0 for a row alone in its cluster. Distances are
 * among the m rows only. NaN unless 2 <= clusters <= m - 1. */
double cmetrics_silhouette(const double *X, size_t d, const int *labels, const size_t *idx,
                           size_t m);

/* Davies-Bouldin index of the m rows (davies_bouldin_score): the mean over
 * clusters of max_j (s_i + s_j) / |c_i - c_j|, s the mean distance of a
 * cluster's rows to its centroid c. 0 when every s or every centroid
 * distance is within 1e-8 of 0 (as sklearn's np.allclose). NaN unless
 * 2 <= clusters <= m - 1. */
double cmetrics_davies_bouldin(const double *X, size_t d, const int *labels, const size_t *idx,
                               size_t m);

/* The rows silhouette_score(sample_size=m) would score, drawn from the
 * seed: a partial Fisher-Yates shuffle of 0..n-1, where step i (i = 0..m-1)
 * swaps position i with i + floor(u * (n - i)), u = (mlb_rand_u64(&s) >> 11)
 * * 2^-53 and s starts at `seed`; idx receives positions 0..m-1 (m <= n).
 * Written out so that another program (tools/peers/rust) can draw the same
 * rows; peers get them exported anyway. Returns 0 or -ENOMEM / -EINVAL. */
int cmetrics_sample_rows(size_t n, size_t m, uint64_t seed, size_t *idx);

#endif
