/*
 * clustering: k-means, DBSCAN and agglomerative clustering with
 * scikit-learn's definitions and parameters (docs/clustering.md).
 *
 *   kmeans         Lloyd or Elkan from k-means++, random or the first k rows;
 *                  sklearn's stopping rule (strict convergence of the labels,
 *                  or a centre shift within tol * mean feature variance)
 *   dbscan         Euclidean eps-neighbourhoods by brute force or a k-d tree;
 *                  core points have min_samples neighbours, themselves counted
 *   agglomerative  ward, average, complete by the nearest-neighbour chain on
 *                  the condensed distance matrix; single by a minimum
 *                  spanning tree (Prim), as SciPy's linkage
 *
 * Written once against the kernel table below (kmeans.c, dbscan.c,
 * agglo.c, the plugin glue in plugin.c); naive.c fills the table with plain
 * loops, openblas.c with GEMM-based distances, as plugins/template does.
 */
#ifndef MLB_CLUSTERING_H
#define MLB_CLUSTERING_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mlbench/data.h"
#include "mlbench/variant.h"

/* Zeroed memory whose pages are written now: calloc may map fresh zero
 * pages lazily, and the first timed fit would then pay their faults. All
 * work space is allocated with this, in setup. NULL on overflow or
 * failure. */
static inline void *clu_alloc(size_t count, size_t size)
{
    if (size && count > SIZE_MAX / size)
        return NULL;
    size_t bytes = count * size;
    void *p = malloc(bytes ? bytes : 1);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* ---- kernels ------------------------------------------------------------- */

/* Rows per block of the blocked kernels (scikit-learn's CHUNK_SIZE). */
#define CLU_BLOCK 256

typedef struct clu_kernels {
    const char *name; /* the variant */
    /* Optional, in setup: the thread count (BLAS variants). */
    void (*set_threads)(int threads);
    /* D[i * ldd + j] = ||a_i - b_j||^2 for the m rows of A and the k rows of
     * B (d columns, row-major), never negative: k-means++ and brute-force
     * DBSCAN. an and bn hold the rows' squared norms (the GEMM form needs
     * them, the direct one ignores them). */
    void (*sqdist)(const double *A, const double *an, size_t m, const double *B,
                   const double *bn, size_t k, size_t d, double *D, size_t ldd);
    /* Lloyd's assignment of m <= CLU_BLOCK rows: labels[i] = the first j
     * minimising ||x_i - c_j||^2 (cnorm: the k squared centre norms). With
     * sums non-NULL, also sums[l * d ..] += x_i and counts[l] += 1 for the
     * label l given. scratch: CLU_BLOCK * k doubles. */
    void (*assign)(const double *X, size_t m, size_t d, const double *C, const double *cnorm,
                   size_t k, int *labels, double *sums, double *counts, double *scratch);
} clu_kernels;

extern const clu_kernels clu_kernels_naive;
extern const clu_kernels clu_kernels_openblas;

/* ---- k-means (kmeans.c) -------------------------------------------------- */

typedef enum { CLU_INIT_KMEANSPP = 0, CLU_INIT_RANDOM = 1, CLU_INIT_FIRST = 2 } clu_init;
typedef enum { CLU_LLOYD = 0, CLU_ELKAN = 1 } clu_kalgo;

typedef struct {
    size_t k;
    clu_init init;
    int n_init;   /* 1 for init=first, as sklearn with explicit centres */
    int max_iter;
    double tol;   /* relative: scaled by the mean feature variance */
    clu_kalgo algo;
    uint64_t seed; /* the k-means++ and random draws (below) */
} clu_kmeans_cfg;

/* Everything a fit needs, allocated once (setup) for n x d and k. */
typedef struct {
    size_t n, d, k, trials;
    double *Xc;          /* n x d: X minus its column means (as sklearn fits) */
    double *mean;        /* d */
    double *xnorm;       /* n squared norms of Xc */
    double *C, *Cnew;    /* k x d centres (of Xc) */
    double *cnorm;       /* k */
    double *counts;      /* k */
    double *shift;       /* k */
    int *labels, *labels_old;
    double *best_C;      /* k x d */
    int *best_labels;    /* n */
    double *scratch;     /* CLU_BLOCK * k */
    double *closest;     /* n: k-means++ potentials, relocation distances */
    double *csum;        /* n: running sum of closest (k-means++) */
    double *cand;        /* trials x n: distances to the k-means++ candidates */
    double *cand_rows;   /* trials x d */
    double *cand_norm;   /* trials */
    size_t *cand_id;     /* trials */
    size_t *pp_ids;      /* k: the rows k-means++ chose */
    int *map;            /* k: label map of the same-clustering test */
    size_t *perm;        /* n: the random init's shuffle */
    double *upper;       /* n (elkan) */
    double *lower;       /* n x k (elkan) */
    double *half;        /* k x k: half the centre-centre distances (elkan) */
    double *next;        /* k: the nearest other centre's half distance (elkan) */
} clu_kmeans_work;

typedef struct {
    double *centers; /* k x d, in X's coordinates */
    int *labels;     /* n */
    double inertia;
    int n_iter;      /* of the kept init (sklearn's n_iter_) */
    int converged;   /* stopped before max_iter */
} clu_kmeans_result;

/* n_local_trials of k-means++: 2 + floor(ln k), as sklearn. */
size_t clu_kmeanspp_trials(size_t k);
/* 0 or -ENOMEM; the Elkan bounds (n x k) only for algo == CLU_ELKAN. */
int clu_kmeans_work_alloc(clu_kmeans_work *w, size_t n, size_t d, const clu_kmeans_cfg *cfg);
void clu_kmeans_work_free(clu_kmeans_work *w);

/* Fits X (n x d, the sizes w was made for): n_init runs from cfg->init,
 * keeping the lowest inertia (a run that only relabels the kept one does not
 * replace it, as sklearn). r->centers (k x d) and r->labels (n) are the
 * caller's. The draws: one splitmix64 stream (mlb_rand_u64) from cfg->seed,
 * u = (next >> 11) * 2^-53; k-means++ takes the first centre at floor(u n),
 * then per centre `trials` values u * potential searched in the running sum
 * of the closest squared distances (sklearn's searchsorted, left); random
 * takes the first k of a Fisher-Yates shuffle (step i swaps i and
 * i + floor(u (n - i))). Inits follow one another on the one stream. */
void clu_kmeans_fit(const clu_kernels *kern, const clu_kmeans_cfg *cfg, const double *X,
                    clu_kmeans_work *w, clu_kmeans_result *r);

/* The k-means++ centres' row indices for Xc (one init; for tests). */
void clu_kmeanspp(const clu_kernels *kern, clu_kmeans_work *w, uint64_t *rng, size_t *ids);

/* labels[i] = nearest centre for m rows of X (any m), cnorm the centres'
 * squared norms; scratch CLU_BLOCK * k. */
void clu_kmeans_predict(const clu_kernels *kern, const double *X, size_t m, size_t d,
                        const double *C, const double *cnorm, size_t k, int *labels,
                        double *scratch);

/* ---- DBSCAN (dbscan.c) --------------------------------------------------- */

typedef enum { CLU_INDEX_KDTREE = 0, CLU_INDEX_BRUTE = 1 } clu_index;

/* A k-d tree over the rows of X: a complete binary tree of nodes (children
 * 2i+1 and 2i+2) over a permutation of the rows, each node's range split at
 * its middle along its widest dimension, leaves of at most about
 * leaf_size rows (sklearn's KDTree layout). */
typedef struct {
    size_t n, d, n_nodes;
    size_t *idx;          /* n: the permutation */
    size_t *lo_i, *hi_i;  /* n_nodes: each node's range [lo_i, hi_i) of idx */
    double *lo, *hi;      /* n_nodes x d: bounding boxes */
    double *Xp;           /* n x d: the rows in idx's order */
} clu_kdtree;

int clu_kdtree_alloc(clu_kdtree *t, size_t n, size_t d, size_t leaf_size);
void clu_kdtree_build(clu_kdtree *t, const double *X);
void clu_kdtree_free(clu_kdtree *t);
/* Rows within squared distance r2 of q, Euclidean, boundary included: the
 * count, and (out non-NULL) their indices in out (room for n). The
 * per-point test is sum_j (q_j - x_j)^2 <= r2, summed over j in order, the
 * brute force's naive test to the bit. */
size_t clu_kdtree_radius(const clu_kdtree *t, const double *q, double r2, size_t *out);

typedef struct {
    double eps;
    size_t min_samples;
    clu_index index;
    size_t leaf_size;
} clu_dbscan_cfg;

typedef struct {
    size_t n, d, block;
    clu_kdtree tree;
    double *xnorm;      /* n */
    double *D;          /* block x n distances (brute) */
    double *rows;       /* block x d gathered rows (brute) */
    double *rnorm;      /* block */
    size_t *rid;        /* block: the gathered rows' indices */
    size_t *nbr;        /* n: one query's neighbours (kdtree) */
    size_t *count;      /* n: neighbourhood sizes */
    unsigned char *core;
    size_t *parent;     /* n: union-find over core points */
    int *cid;           /* n: cluster number per union-find root */
} clu_dbscan_work;

typedef struct {
    int *labels;    /* n (caller's): 0.. per cluster, -1 noise */
    size_t n_clusters, n_core, n_noise;
} clu_dbscan_result;

int clu_dbscan_work_alloc(clu_dbscan_work *w, size_t n, size_t d, const clu_dbscan_cfg *cfg);
void clu_dbscan_work_free(clu_dbscan_work *w);
/* scikit-learn's labels exactly: clusters are the connected components of
 * the core points, numbered in the order of their lowest-index core point;
 * a border point takes the lowest-numbered cluster among its core
 * neighbours (the one sklearn's depth-first expansion reaches first). */
void clu_dbscan_fit(const clu_kernels *kern, const clu_dbscan_cfg *cfg, const double *X,
                    clu_dbscan_work *w, clu_dbscan_result *r);

/* ---- agglomerative (agglo.c) --------------------------------------------- */

typedef enum { CLU_WARD = 0, CLU_AVERAGE = 1, CLU_COMPLETE = 2, CLU_SINGLE = 3 } clu_linkage;

typedef struct {
    clu_linkage linkage;
    size_t n_clusters;
} clu_agglo_cfg;

typedef struct {
    size_t n, d;
    double *cond;      /* n(n-1)/2 condensed distances (not single) */
    size_t *size;      /* n: cluster sizes by representative */
    size_t *active;    /* n: active representatives, increasing */
    size_t *chain;     /* n */
    size_t *rowstart;  /* n: where each condensed row starts */
    double *cur;       /* n: Prim's current distances (single) */
    unsigned char *in_tree;
    size_t *ma, *mb;   /* n-1 merges: representatives joined */
    double *mh;        /* n-1 heights */
    size_t *order;     /* n-1: merges by height, stable */
    size_t *tmp;       /* n-1: merge sort */
    size_t *parent;    /* n: union-find for the cut */
    int *root_label;   /* n */
} clu_agglo_work;

typedef struct {
    int *labels;        /* n (caller's) */
    double *heights;    /* n-1 (caller's, may be NULL): merge heights, increasing */
    double height_sum;  /* their sum, the checksum reported */
} clu_agglo_result;

/* Condensed distance matrix entries for n points: n(n-1)/2, or 0 if that
 * overflows. */
size_t clu_condensed_len(size_t n);
int clu_agglo_work_alloc(clu_agglo_work *w, size_t n, size_t d, clu_linkage linkage);
void clu_agglo_work_free(clu_agglo_work *w);
void clu_agglo_fit(const clu_kernels *kern, const clu_agglo_cfg *cfg, const double *X,
                   clu_agglo_work *w, clu_agglo_result *r);

/* ---- plugin glue (plugin.c) ---------------------------------------------- */

/* Sanity limits (a typo, not a memory check). */
#define CLU_MAX_SAMPLES (1 << 26)
#define CLU_MAX_FEATURES (1 << 14)
#define CLU_MAX_CLUSTERS 65536

static const mlb_param_def clustering_params[] = {
    {"model", MLB_PARAM_STRING, "kmeans",
     "kmeans, dbscan or agglomerative (only kmeans has an infer phase: dbscan's and "
     "agglomerative's infer queries do nothing)"},
    {"dataset", MLB_PARAM_STRING, "blobs",
     "blobs (seeded Gaussian blobs), a registered dataset (iris, wine, digits, ...) or a "
     "file (CSV, LIBSVM, IDX pair, .npy pair; its target: the labels for ari)"},
    MLB_DATA_FILE_PARAMS, /* target, header, delimiter, format: a dataset file's layout */
    {"n_samples", MLB_PARAM_INT, "10000", "blobs: rows"},
    {"n_features", MLB_PARAM_INT, "16", "blobs: features"},
    {"centers", MLB_PARAM_INT, "8", "blobs: blobs, centres uniform in [-10, 10]^d"},
    {"cluster_std", MLB_PARAM_FLOAT, "1.0", "blobs: standard deviation of each blob"},
    {"standardize", MLB_PARAM_BOOL, "false", "standardise the features first"},
    {"n_clusters", MLB_PARAM_INT, "8", "kmeans and agglomerative: clusters to find"},
    {"init", MLB_PARAM_STRING, "k-means++",
     "kmeans: k-means++, random, or first (the first n_clusters rows, identical everywhere)"},
    {"n_init", MLB_PARAM_INT, "1", "kmeans: initialisations, the best kept (init=first: 1)"},
    {"max_iter", MLB_PARAM_INT, "300", "kmeans: iterations per initialisation"},
    {"tol", MLB_PARAM_FLOAT, "0.0001",
     "kmeans: centre shift tolerance, relative to the mean feature variance"},
    {"algorithm", MLB_PARAM_STRING, "lloyd", "kmeans: lloyd, or elkan (triangle inequality)"},
    {"eps", MLB_PARAM_FLOAT, "0.5", "dbscan: neighbourhood radius"},
    {"min_samples", MLB_PARAM_INT, "5", "dbscan: neighbours of a core point, itself included"},
    {"index", MLB_PARAM_STRING, "kdtree", "dbscan: neighbourhoods by kdtree or brute force"},
    {"leaf_size", MLB_PARAM_INT, "30", "dbscan: k-d tree leaf size"},
    {"linkage", MLB_PARAM_STRING, "ward", "agglomerative: ward, average, complete or single"},
    {"max_n", MLB_PARAM_INT, "20000",
     "agglomerative: refuse more rows (n(n-1)/2 distances: 20000 rows need 1.6 GB)"},
    {"silhouette_sample", MLB_PARAM_INT, "2000",
     "silhouette over all rows up to this many, else over a seeded sample of this many "
     "(0: always all)"},
    {"batch_size", MLB_PARAM_INT, "256", "kmeans: rows predicted per infer query"},
    {"threads", MLB_PARAM_INT, "1", "BLAS threads (openblas; naive is serial)"},
    {"fit_repeats", MLB_PARAM_INT, "1", "fits per train call (short fits on small data)"},
};

static const mlb_param_rule clustering_rules[] = {
    MLB_RULE_CHOICES("model", "kmeans", "dbscan", "agglomerative"),
    MLB_DATA_FILE_RULES,
    MLB_RULE_RANGE("n_samples", 2, CLU_MAX_SAMPLES),
    MLB_RULE_RANGE("n_features", 1, CLU_MAX_FEATURES),
    MLB_RULE_RANGE("centers", 2, CLU_MAX_CLUSTERS),
    MLB_RULE_MIN_EXCL("cluster_std", 0),
    MLB_RULE_RANGE("n_clusters", 1, CLU_MAX_CLUSTERS),
    MLB_RULE_CHOICES("init", "k-means++", "random", "first"),
    MLB_RULE_RANGE("n_init", 1, 1000),
    MLB_RULE_RANGE("max_iter", 1, 1e6),
    MLB_RULE_MIN("tol", 0),
    MLB_RULE_CHOICES("algorithm", "lloyd", "elkan"),
    MLB_RULE_MIN_EXCL("eps", 0),
    MLB_RULE_RANGE("min_samples", 1, CLU_MAX_SAMPLES),
    MLB_RULE_CHOICES("index", "kdtree", "brute"),
    MLB_RULE_RANGE("leaf_size", 1, 1e6),
    MLB_RULE_CHOICES("linkage", "ward", "average", "complete", "single"),
    MLB_RULE_RANGE("max_n", 2, 1 << 20),
    MLB_RULE_RANGE_AUTO("silhouette_sample", 3, CLU_MAX_SAMPLES),
    MLB_RULE_RANGE("batch_size", 1, CLU_MAX_SAMPLES),
    MLB_RULE_TUNING_RANGE("threads", 1, 1024),
    MLB_RULE_RANGE("fit_repeats", 1, 1e6),
};

int clustering_setup(mlb_ctx *ctx, void **state, const clu_kernels *k);
int clustering_train(mlb_ctx *ctx, void *state);
int clustering_infer(mlb_ctx *ctx, void *state);
int clustering_teardown(mlb_ctx *ctx, void *state);
int clustering_export_data(mlb_ctx *ctx, void *state, const char *dir);

#endif
