/*
 * The clustering task's plugin glue, shared by every variant: parameters
 * (clustering.h), data (seeded blobs or a registered dataset), the timed
 * fits (train), k-means predictions (infer), the checks and metrics
 * (teardown), export for peers.
 */
#include "dataset_params.h"
#include "clustering.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_metrics.h"
#include "mlbench/data.h"

typedef enum { MODEL_KMEANS = 0, MODEL_DBSCAN = 1, MODEL_AGGLO = 2 } clu_model;

/* The silhouette sample's stream: the run's seed, decorrelated from the
 * k-means draws, which start from the seed itself. */
#define CLU_SILHOUETTE_SALT UINT64_C(0x73696c686f756574)

typedef struct {
    const clu_kernels *k;
    clu_model model;
    mlb_dataset *ds;
    size_t n, d;
    int *y_true;  /* n, or NULL: the data has no labels */
    int *labels;  /* n: the fit's */
    /* kmeans */
    clu_kmeans_cfg kcfg;
    clu_kmeans_work kw;
    clu_kmeans_result kr;
    double *cnorm;    /* k: the fitted centres' squared norms (infer) */
    double *pscratch; /* CLU_BLOCK * k (infer) */
    int *pred;        /* batch */
    size_t batch, cursor;
    /* dbscan */
    clu_dbscan_cfg dcfg;
    clu_dbscan_work dw;
    clu_dbscan_result dr;
    /* agglomerative */
    clu_agglo_cfg acfg;
    clu_agglo_work aw;
    clu_agglo_result ar;
    double *heights; /* n - 1 */
    /* metrics */
    size_t *sil_idx; /* silhouette rows when sampled, else NULL */
    size_t sil_m;
    size_t *rows;    /* n: the rows a metric scores */
    int fit_repeats;
    int fitted;
} clu_state;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void state_free(clu_state *s)
{
    if (!s)
        return;
    clu_kmeans_work_free(&s->kw);
    clu_dbscan_work_free(&s->dw);
    clu_agglo_work_free(&s->aw);
    mlb_dataset_free(s->ds);
    free(s->y_true);
    free(s->labels);
    free(s->kr.centers);
    free(s->cnorm);
    free(s->pscratch);
    free(s->pred);
    free(s->heights);
    free(s->sil_idx);
    free(s->rows);
    free(s);
}

static int load_data(mlb_ctx *ctx, clu_state *s)
{
    const char *name = mlb_param_str(ctx, "dataset");
    char err[768];
    int rc;
    if (!strcmp(name, "blobs")) {
        mlb_synth_opts o = {.kind = MLB_SYNTH_BLOBS,
                            .n_samples = (size_t)mlb_param_int(ctx, "n_samples"),
                            .n_features = (size_t)mlb_param_int(ctx, "n_features"),
                            .seed = mlb_seed(ctx),
                            .noise = mlb_param_float(ctx, "cluster_std"),
                            .n_classes = (int)mlb_param_int(ctx, "centers")};
        if ((size_t)o.n_classes > o.n_samples)
            return mlb_error(ctx, "dataset=blobs: centers=%d exceeds n_samples=%zu", o.n_classes,
                             o.n_samples);
        if ((rc = mlb_data_synth(&o, &s->ds, err, sizeof err)) < 0)
            return mlb_error(ctx, "dataset=%s: %s", name, err);
    } else {
        /* A registered name, or the user's own file (the file options say
         * how to read it): its target column holds the labels the ARI is
         * scored against. */
        mlb_data_opts o = {.classify = 1};
        if ((rc = common_dataset_load(ctx, name, &o, "blobs", &s->ds)) < 0)
            return rc;
    }
    if (mlb_param_bool(ctx, "standardize") && (rc = mlb_data_standardize(s->ds, NULL, NULL)) < 0)
        return mlb_error(ctx, "dataset=%s: standardisation failed (%s)", name, strerror(-rc));
    s->n = s->ds->n;
    s->d = s->ds->d;
    if (s->ds->n_classes > 0) {
        if (!(s->y_true = malloc(s->n * sizeof *s->y_true)))
            return mlb_error(ctx, "out of memory");
        for (size_t i = 0; i < s->n; i++)
            s->y_true[i] = (int)s->ds->y[i];
    }
    return 0;
}

/* Physical memory, for a clear refusal before an allocation the machine
 * cannot hold (the engine's --mem-limit kills a repetition only after the
 * fact). 0 if unknown. */
static double physical_bytes(void)
{
    long pages = sysconf(_SC_PHYS_PAGES), size = sysconf(_SC_PAGESIZE);
    return pages > 0 && size > 0 ? (double)pages * (double)size : 0;
}

static int setup_kmeans(mlb_ctx *ctx, clu_state *s)
{
    clu_kmeans_cfg *c = &s->kcfg;
    c->k = (size_t)mlb_param_int(ctx, "n_clusters");
    const char *init = mlb_param_str(ctx, "init");
    c->init = !strcmp(init, "first") ? CLU_INIT_FIRST
            : !strcmp(init, "random") ? CLU_INIT_RANDOM : CLU_INIT_KMEANSPP;
    c->n_init = (int)mlb_param_int(ctx, "n_init");
    c->max_iter = (int)mlb_param_int(ctx, "max_iter");
    c->tol = mlb_param_float(ctx, "tol");
    c->algo = strcmp(mlb_param_str(ctx, "algorithm"), "elkan") ? CLU_LLOYD : CLU_ELKAN;
    c->seed = mlb_seed(ctx);
    if (c->k > s->n)
        return mlb_error(ctx, "n_clusters=%zu exceeds the %zu rows of the data", c->k, s->n);
    if (c->init == CLU_INIT_FIRST && c->n_init > 1 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "init=first is deterministic: n_init=%d runs once (as "
                                   "scikit-learn with explicit initial centres)", c->n_init);
    /* The largest buffers: Elkan's n x k lower bounds, k-means++'s trials x n
     * candidate distances. */
    double bytes = 8.0 * (double)s->n *
                   ((double)s->d * 2 + (c->algo == CLU_ELKAN ? (double)c->k : 0) +
                    (c->init == CLU_INIT_KMEANSPP ? (double)clu_kmeanspp_trials(c->k) : 0));
    double phys = physical_bytes();
    if (phys > 0 && bytes > phys)
        return mlb_error(ctx, "kmeans on %zu x %zu with n_clusters=%zu needs %.1f GB of work "
                              "space, more than this machine's %.1f GB",
                         s->n, s->d, c->k, bytes / 1e9, phys / 1e9);
    s->batch = (size_t)mlb_param_int(ctx, "batch_size");
    if (s->batch > s->n)
        s->batch = s->n;
    if (clu_kmeans_work_alloc(&s->kw, s->n, s->d, c) < 0 ||
        !(s->kr.centers = clu_alloc(c->k * s->d, sizeof(double))) ||
        !(s->cnorm = clu_alloc(c->k, sizeof(double))) ||
        !(s->pscratch = clu_alloc((size_t)CLU_BLOCK * c->k, sizeof(double))) ||
        !(s->pred = clu_alloc(s->batch, sizeof(int))))
        return mlb_error(ctx, "cannot allocate k-means work space for %zu x %zu, k=%zu (%.1f GB)",
                         s->n, s->d, c->k, bytes / 1e9);
    s->kr.labels = s->labels;
    return 0;
}

static int setup_dbscan(mlb_ctx *ctx, clu_state *s)
{
    clu_dbscan_cfg *c = &s->dcfg;
    c->eps = mlb_param_float(ctx, "eps");
    c->min_samples = (size_t)mlb_param_int(ctx, "min_samples");
    c->index = strcmp(mlb_param_str(ctx, "index"), "brute") ? CLU_INDEX_KDTREE : CLU_INDEX_BRUTE;
    c->leaf_size = (size_t)mlb_param_int(ctx, "leaf_size");
    if (clu_dbscan_work_alloc(&s->dw, s->n, s->d, c) < 0)
        return mlb_error(ctx, "cannot allocate DBSCAN work space for %zu x %zu", s->n, s->d);
    s->dr.labels = s->labels;
    return 0;
}

static int setup_agglo(mlb_ctx *ctx, clu_state *s)
{
    clu_agglo_cfg *c = &s->acfg;
    const char *l = mlb_param_str(ctx, "linkage");
    c->linkage = !strcmp(l, "average") ? CLU_AVERAGE
               : !strcmp(l, "complete") ? CLU_COMPLETE
               : !strcmp(l, "single") ? CLU_SINGLE : CLU_WARD;
    c->n_clusters = (size_t)mlb_param_int(ctx, "n_clusters");
    size_t max_n = (size_t)mlb_param_int(ctx, "max_n");
    if (c->n_clusters > s->n)
        return mlb_error(ctx, "n_clusters=%zu exceeds the %zu rows of the data", c->n_clusters,
                         s->n);
    double bytes = c->linkage == CLU_SINGLE ? 64.0 * (double)s->n
                                            : 8.0 * (double)clu_condensed_len(s->n);
    if (c->linkage != CLU_SINGLE && s->n > max_n)
        return mlb_error(ctx, "agglomerative linkage=%s on %zu rows needs the %zu-entry "
                              "condensed distance matrix (%.2f GB); max_n=%zu refuses it (raise "
                              "max_n, and --mem-limit if set, or use linkage=single, O(n) memory)",
                         l, s->n, clu_condensed_len(s->n), bytes / 1e9, max_n);
    double phys = physical_bytes();
    if (phys > 0 && bytes > phys)
        return mlb_error(ctx, "agglomerative on %zu rows needs %.2f GB of distances, more than "
                              "this machine's %.2f GB",
                         s->n, bytes / 1e9, phys / 1e9);
    if (c->linkage != CLU_SINGLE)
        mlb_log(ctx, MLB_LOG_DEBUG, "condensed distances: %.1f MB (--mem-limit must allow it)",
                bytes / 1e6);
    if (clu_agglo_work_alloc(&s->aw, s->n, s->d, c->linkage) < 0 ||
        !(s->heights = clu_alloc(s->n - 1, sizeof(double))))
        return mlb_error(ctx, "cannot allocate %.2f GB for the distances of %zu rows (lower "
                              "n_samples, or raise --mem-limit)",
                         bytes / 1e9, s->n);
    s->ar.labels = s->labels;
    s->ar.heights = s->heights;
    return 0;
}

/* One call of each kernel on a few rows, so that one-off costs of the first
 * BLAS calls (symbol binding, OpenBLAS's buffers) fall in setup, not in
 * the timed fit. */
static void warm_up(const clu_kernels *k)
{
    double A[4 * 3], n[4], D[4 * 4], sums[4 * 3] = {0}, counts[4] = {0},
                                     scratch[CLU_BLOCK * 4];
    int labels[4];
    for (int i = 0; i < 12; i++)
        A[i] = (double)((i * 7) % 5);
    for (int i = 0; i < 4; i++)
        n[i] = A[3 * i] * A[3 * i] + A[3 * i + 1] * A[3 * i + 1] + A[3 * i + 2] * A[3 * i + 2];
    k->sqdist(A, n, 4, A, n, 4, 3, D, 4);
    k->assign(A, 4, 3, A, n, 4, labels, sums, counts, scratch);
}

int clustering_setup(mlb_ctx *ctx, void **state, const clu_kernels *k)
{
    *state = NULL;
    clu_state *s = calloc(1, sizeof *s);
    if (!s)
        return mlb_error(ctx, "out of memory");
    s->k = k;
    const char *model = mlb_param_str(ctx, "model");
    s->model = !strcmp(model, "dbscan") ? MODEL_DBSCAN
             : !strcmp(model, "agglomerative") ? MODEL_AGGLO : MODEL_KMEANS;
    s->fit_repeats = (int)mlb_param_int(ctx, "fit_repeats");
    int64_t threads = mlb_param_int(ctx, "threads");
    if (k->set_threads)
        k->set_threads((int)threads);
    else if (threads > 1 && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_WARN, "the %s variant is single-threaded; threads=%" PRId64
                                   " ignored", k->name, threads);
    if (s->model != MODEL_KMEANS && mlb_repetition(ctx) == 0)
        mlb_log(ctx, MLB_LOG_DEBUG, "model=%s has no infer phase: its infer queries do "
                                    "nothing (run with --infer-queries 0)", model);
    int rc = load_data(ctx, s);
    if (!rc && !(s->labels = clu_alloc(s->n, sizeof *s->labels)))
        rc = mlb_error(ctx, "out of memory");
    if (!rc)
        rc = s->model == MODEL_KMEANS ? setup_kmeans(ctx, s)
           : s->model == MODEL_DBSCAN ? setup_dbscan(ctx, s) : setup_agglo(ctx, s);
    size_t S = (size_t)mlb_param_int(ctx, "silhouette_sample");
    if (!rc && !(s->rows = clu_alloc(s->n, sizeof *s->rows)))
        rc = mlb_error(ctx, "out of memory");
    if (!rc && S > 0 && s->n > S) {
        s->sil_m = S;
        if (!(s->sil_idx = clu_alloc(S, sizeof *s->sil_idx)) ||
            cmetrics_sample_rows(s->n, S, mlb_seed(ctx) ^ CLU_SILHOUETTE_SALT, s->sil_idx) < 0)
            rc = mlb_error(ctx, "out of memory");
    }
    if (rc < 0) {
        state_free(s);
        return rc;
    }
    warm_up(k);
    mlb_log(ctx, MLB_LOG_DEBUG, "%s on %zu x %zu%s", model, s->n, s->d,
            s->y_true ? " (with labels)" : "");
    *state = s;
    return 0;
}

static void fit_once(clu_state *s)
{
    const double *X = s->ds->X;
    if (s->model == MODEL_KMEANS)
        clu_kmeans_fit(s->k, &s->kcfg, X, &s->kw, &s->kr);
    else if (s->model == MODEL_DBSCAN)
        clu_dbscan_fit(s->k, &s->dcfg, X, &s->dw, &s->dr);
    else
        clu_agglo_fit(s->k, &s->acfg, X, &s->aw, &s->ar);
}

/* Train times the fits only; the metrics and checks (silhouette is
 * quadratic) run in teardown, which the engine times apart, as the
 * scikit-learn peer does. */
int clustering_train(mlb_ctx *ctx, void *state)
{
    clu_state *s = state;
    double t0 = now_s();
    for (int r = 0; r < s->fit_repeats; r++)
        fit_once(s);
    double fit_s = (now_s() - t0) / s->fit_repeats;
    s->fitted = 1;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)s->n * s->fit_repeats);
    /* The fit alone, for a reader; the train comparison already judges it. */
    mlb_report_metric_ex(ctx, "fit_s", fit_s, MLB_LOWER_IS_BETTER, 0, 0,
                         MLB_METRIC_RESTATES_TIME);
    if (s->model == MODEL_KMEANS) {
        size_t k = s->kcfg.k, d = s->d;
        for (size_t j = 0; j < k; j++) {
            double v = 0;
            for (size_t t = 0; t < d; t++)
                v += s->kr.centers[j * d + t] * s->kr.centers[j * d + t];
            s->cnorm[j] = v;
        }
        mlb_report_metric(ctx, "iterations", s->kr.n_iter, MLB_LOWER_IS_BETTER);
        if (!s->kr.converged)
            mlb_log(ctx, MLB_LOG_WARN, "k-means stopped at max_iter=%d without converging",
                    s->kcfg.max_iter);
    }
    return 0;
}

int clustering_infer(mlb_ctx *ctx, void *state)
{
    clu_state *s = state;
    if (s->model != MODEL_KMEANS || !s->fitted)
        return 0; /* dbscan and agglomerative predict nothing (see the model parameter) */
    size_t n = s->n, d = s->d, rows = s->batch;
    size_t first = s->cursor + rows <= n ? s->cursor : 0;
    clu_kmeans_predict(s->k, s->ds->X + first * d, rows, d, s->kr.centers, s->cnorm, s->kcfg.k,
                       s->pred, s->pscratch);
    s->cursor = first + rows;
    mlb_report_work(ctx, MLB_WORK_ITEMS, (double)rows);
    return 0;
}

/* ---- teardown: checks and metrics ---------------------------------------- */

static double sqdist_row(const double *x, const double *y, size_t d)
{
    double v = 0;
    for (size_t t = 0; t < d; t++) {
        double u = x[t] - y[t];
        v += u * u;
    }
    return v;
}

/* Every row's label is its nearest centre, to the GEMM form's rounding. */
static int check_kmeans(mlb_ctx *ctx, clu_state *s)
{
    size_t n = s->n, d = s->d, k = s->kcfg.k;
    const double *X = s->ds->X, *C = s->kr.centers;
    for (size_t i = 0; i < n; i++) {
        const double *x = X + i * d;
        int l = s->labels[i];
        if (l < 0 || (size_t)l >= k)
            return mlb_error(ctx, "wrong result: row %zu has label %d, outside 0..%zu", i, l,
                             k - 1);
        double own = sqdist_row(x, C + (size_t)l * d, d);
        for (size_t j = 0; j < k; j++) {
            double v = sqdist_row(x, C + j * d, d);
            double slack = 1e-8 * (1.0 + own + s->cnorm[j] + s->cnorm[l]);
            if (v + slack < own)
                return mlb_error(ctx, "wrong result: row %zu is labelled %d at squared distance "
                                      "%.10g, but centre %zu is at %.10g",
                                 i, l, own, j, v);
        }
    }
    double direct = cmetrics_inertia(X, d, s->labels, NULL, n, C);
    if (!(fabs(direct - s->kr.inertia) <= 1e-8 * (fabs(direct) + 1e-300)))
        return mlb_error(ctx, "wrong result: inertia %.17g, recomputed %.17g", s->kr.inertia,
                         direct);
    return 0;
}

/* DBSCAN on 64 rows spread over the data, against direct neighbour counts:
 * core status, core neighbours sharing a cluster, border and noise. Pairs
 * within 1e-9 of eps are left alone: the GEMM form may see them either way. */
static int check_dbscan(mlb_ctx *ctx, clu_state *s)
{
    size_t n = s->n, d = s->d, probes = n < 64 ? n : 64;
    const double *X = s->ds->X;
    double r2 = s->dcfg.eps * s->dcfg.eps, in = r2 * (1 - 1e-9), out = r2 * (1 + 1e-9);
    for (size_t p = 0; p < probes; p++) {
        size_t i = p * n / probes;
        size_t lo = 0, hi = 0, core_nb = 0, core_nb_maybe = 0;
        int clash = -2;
        for (size_t j = 0; j < n; j++) {
            double v = sqdist_row(X + i * d, X + j * d, d);
            lo += v <= in;
            hi += v <= out;
            if (v <= in && s->dw.core[j]) {
                core_nb++;
                if (s->dw.core[i] && s->labels[j] != s->labels[i])
                    clash = (int)j;
            }
            core_nb_maybe += v <= out && s->dw.core[j];
        }
        int core = s->dw.core[i];
        if ((lo >= s->dcfg.min_samples && !core) || (hi < s->dcfg.min_samples && core))
            return mlb_error(ctx, "wrong result: row %zu has %zu to %zu neighbours within eps "
                                  "(min_samples=%zu) but is %s core",
                             i, lo, hi, s->dcfg.min_samples, core ? "" : "not");
        if (clash >= 0)
            return mlb_error(ctx, "wrong result: core rows %zu and %d are neighbours but labelled "
                                  "%d and %d",
                             i, clash, s->labels[i], s->labels[clash]);
        if (!core && core_nb > 0 && s->labels[i] < 0)
            return mlb_error(ctx, "wrong result: row %zu neighbours a core row but is noise", i);
        if (!core && core_nb_maybe == 0 && s->labels[i] >= 0)
            return mlb_error(ctx, "wrong result: row %zu neighbours no core row but is in "
                                  "cluster %d",
                             i, s->labels[i]);
    }
    return 0;
}

/* The heights: finite, increasing, and the first is the closest pair's
 * distance (every linkage merges it first); the cut has n_clusters. */
static int check_agglo(mlb_ctx *ctx, clu_state *s, size_t found)
{
    size_t n = s->n, d = s->d;
    for (size_t t = 0; t + 1 < n; t++)
        if (!isfinite(s->heights[t]) || (t > 0 && s->heights[t] < s->heights[t - 1]))
            return mlb_error(ctx, "wrong result: merge %zu has height %g after %g", t,
                             s->heights[t], t ? s->heights[t - 1] : NAN);
    size_t want = s->acfg.n_clusters < n ? s->acfg.n_clusters : n;
    if (found != want)
        return mlb_error(ctx, "wrong result: %zu clusters, n_clusters=%zu", found, want);
    if (n <= 10000) {
        const double *X = s->ds->X;
        double best = INFINITY;
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++) {
                double v = sqdist_row(X + i * d, X + j * d, d);
                if (v < best)
                    best = v;
            }
        best = sqrt(best);
        if (!(fabs(s->heights[0] - best) <= 1e-9 * best + 1e-12))
            return mlb_error(ctx, "wrong result: first merge at height %.17g, closest pair at "
                                  "%.17g",
                             s->heights[0], best);
    }
    return 0;
}

/* Clusters in the labels, noise (-1) not counted. */
static size_t distinct(const int *labels, size_t n)
{
    int max = -1;
    for (size_t i = 0; i < n; i++)
        if (labels[i] > max)
            max = labels[i];
    if (max < 0)
        return 0;
    unsigned char *seen = calloc((size_t)max + 1, 1);
    size_t c = 0;
    if (!seen)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (labels[i] >= 0 && !seen[labels[i]]) {
            seen[labels[i]] = 1;
            c++;
        }
    free(seen);
    return c;
}

static void report_if_defined(mlb_ctx *ctx, const char *name, double v, mlb_direction dir)
{
    /* Undefined (one cluster, all noise) is no value rather than a NaN in
     * the results, as sklearn raises there. */
    if (isfinite(v))
        mlb_report_metric(ctx, name, v, dir);
}

/* ARI against the data's labels; silhouette and Davies-Bouldin over the
 * scored rows (the silhouette sample, if any), DBSCAN's noise left out. */
static void report_quality(mlb_ctx *ctx, clu_state *s)
{
    size_t n = s->n, d = s->d;
    const double *X = s->ds->X;
    if (s->y_true)
        report_if_defined(ctx, "ari", cmetrics_adjusted_rand(s->y_true, s->labels, n),
                          MLB_HIGHER_IS_BETTER);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (s->labels[i] >= 0)
            s->rows[m++] = i;
    report_if_defined(ctx, "davies_bouldin", cmetrics_davies_bouldin(X, d, s->labels, s->rows, m),
                      MLB_LOWER_IS_BETTER);
    if (s->sil_idx) {
        m = 0;
        for (size_t t = 0; t < s->sil_m; t++)
            if (s->labels[s->sil_idx[t]] >= 0)
                s->rows[m++] = s->sil_idx[t];
    }
    report_if_defined(ctx, "silhouette", cmetrics_silhouette(X, d, s->labels, s->rows, m),
                      MLB_HIGHER_IS_BETTER);
}

int clustering_teardown(mlb_ctx *ctx, void *state)
{
    clu_state *s = state;
    int rc = 0;
    if (s && s->fitted) {
        size_t found = distinct(s->labels, s->n);
        mlb_report_metric(ctx, "n_clusters_found", (double)found, MLB_HIGHER_IS_BETTER);
        if (s->model == MODEL_KMEANS) {
            rc = check_kmeans(ctx, s);
            mlb_report_metric(ctx, "inertia", s->kr.inertia, MLB_LOWER_IS_BETTER);
        } else if (s->model == MODEL_DBSCAN) {
            rc = check_dbscan(ctx, s);
            mlb_report_metric(ctx, "noise_fraction", (double)s->dr.n_noise / (double)s->n,
                              MLB_LOWER_IS_BETTER);
        } else {
            rc = check_agglo(ctx, s, found);
            mlb_report_metric(ctx, "merge_height_sum", s->ar.height_sum, MLB_LOWER_IS_BETTER);
        }
        if (!rc)
            report_quality(ctx, s);
    }
    state_free(s);
    return rc;
}

int clustering_export_data(mlb_ctx *ctx, void *state, const char *dir)
{
    clu_state *s = state;
    char path[4096];
    if (snprintf(path, sizeof path, "%s/X.npy", dir) >= (int)sizeof path)
        return mlb_error(ctx, "export directory name too long: %s", dir);
    size_t shape[2] = {s->n, s->d};
    int rc = mlb_npy_write(ctx, path, MLB_NPY_F64, s->ds->X, 2, shape);
    /* Integer arrays as int64, the .npy type a peer reads without thought. */
    size_t len = s->n > s->sil_m ? s->n : s->sil_m;
    int64_t *tmp = rc == 0 && (s->y_true || s->sil_idx) ? malloc(len * sizeof *tmp) : NULL;
    if (rc == 0 && (s->y_true || s->sil_idx) && !tmp)
        return mlb_error(ctx, "out of memory");
    if (rc == 0 && s->y_true) {
        for (size_t i = 0; i < s->n; i++)
            tmp[i] = s->y_true[i];
        snprintf(path, sizeof path, "%s/y.npy", dir);
        rc = mlb_npy_write(ctx, path, MLB_NPY_I64, tmp, 1, shape);
    }
    if (rc == 0 && s->sil_idx) {
        for (size_t i = 0; i < s->sil_m; i++)
            tmp[i] = (int64_t)s->sil_idx[i];
        snprintf(path, sizeof path, "%s/silhouette_idx.npy", dir);
        rc = mlb_npy_write(ctx, path, MLB_NPY_I64, tmp, 1, &s->sil_m);
    }
    free(tmp);
    return rc;
}
