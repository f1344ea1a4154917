/* The clustering task with both variants' kernel tables, against
 * scikit-learn and SciPy (tests/ref/clustering/refs.json, made by
 * make_refs.py there): the shared cluster metrics; k-means from the first
 * k rows (identical labels, iterations, inertia to 1e-9) for Lloyd and
 * Elkan; k-means++ and the silhouette sample against the documented draws;
 * DBSCAN's labels for both indexes; agglomerative labels and SciPy's merge
 * heights for every linkage. Then the rules, and the callbacks on an engine
 * context, including a wrong kernel that teardown must catch. Built with
 * MLB_VARIANT_KERNELS_ONLY. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cluster_metrics.h"
#include "clustering.h"
#include "ctx.h"
#include "plugin_checks.h"
#include "mlbench/data.h"

#ifndef CLU_REF_DIR
#error "CLU_REF_DIR must point at tests/ref/clustering"
#endif

static const clu_kernels *const all_kernels[] = {&clu_kernels_naive, &clu_kernels_openblas};
#define N_KERNELS 2
#define N_PARAMS (sizeof clustering_params / sizeof clustering_params[0])
#define N_RULES (sizeof clustering_rules / sizeof clustering_rules[0])

/* Read once in main, before the suite forks its tests. */
static cJSON *refs;

static cJSON *field(const cJSON *o, const char *name)
{
    cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    ck_assert_msg(v != NULL, "refs.json: no field '%s'", name);
    return v;
}

static double num(const cJSON *o, const char *name)
{
    return cJSON_GetNumberValue(field(o, name));
}

static int *int_array(const cJSON *a, size_t *n)
{
    ck_assert(cJSON_IsArray(a));
    *n = (size_t)cJSON_GetArraySize(a);
    int *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = (int)cJSON_GetNumberValue(e);
    return v;
}

static double *double_array(const cJSON *a, size_t *n)
{
    ck_assert(cJSON_IsArray(a));
    *n = (size_t)cJSON_GetArraySize(a);
    double *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    size_t i = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, a) v[i++] = cJSON_GetNumberValue(e);
    return v;
}

/* An n x d matrix written as a list of rows. */
static double *matrix(const cJSON *a, size_t *n, size_t *d)
{
    ck_assert(cJSON_IsArray(a));
    *n = (size_t)cJSON_GetArraySize(a);
    *d = (size_t)cJSON_GetArraySize(cJSON_GetArrayItem(a, 0));
    double *X = malloc(*n * *d * sizeof *X);
    ck_assert_ptr_nonnull(X);
    size_t i = 0;
    const cJSON *row;
    cJSON_ArrayForEach(row, a)
    {
        ck_assert_uint_eq((size_t)cJSON_GetArraySize(row), *d);
        size_t j = 0;
        const cJSON *e;
        cJSON_ArrayForEach(e, row) X[i * *d + j++] = cJSON_GetNumberValue(e);
        i++;
    }
    return X;
}

/* A case's data: its "X", or the registered dataset it names. */
static double *case_data(const cJSON *c, size_t *n, size_t *d)
{
    cJSON *X = cJSON_GetObjectItemCaseSensitive(c, "X");
    if (X)
        return matrix(X, n, d);
    const char *name = cJSON_GetStringValue(field(c, "dataset"));
    mlb_dataset *ds;
    char err[512];
    ck_assert_msg(mlb_dataset_load(name, NULL, &ds, err, sizeof err) == 0, "%s", err);
    *n = ds->n;
    *d = ds->d;
    double *copy = malloc(ds->n * ds->d * sizeof *copy);
    memcpy(copy, ds->X, ds->n * ds->d * sizeof *copy);
    mlb_dataset_free(ds);
    return copy;
}

static void assert_rel(double got, double want, double tol, const char *what)
{
    ck_assert_msg(got == want || fabs(got - want) <= tol * fabs(want),
                  "%s: %.17g vs reference %.17g", what, got, want);
}

/* ---- shared metrics ------------------------------------------------------ */

START_TEST(test_metrics_match_sklearn)
{
    cJSON *m = field(refs, "metrics");
    size_t n, d, nt;
    double *X = matrix(field(m, "X"), &n, &d);
    int *truth = int_array(field(m, "truth"), &nt);
    ck_assert_uint_eq(nt, n);
    int *noisy = NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, field(m, "cases"))
    {
        size_t nl;
        int *lab = int_array(field(c, "labels"), &nl);
        const char *name = cJSON_GetStringValue(field(c, "name"));
        if (!strcmp(name, "noisy")) {
            noisy = malloc(n * sizeof *noisy);
            memcpy(noisy, lab, n * sizeof *noisy);
        }
        char what[96];
        snprintf(what, sizeof what, "%s ari", name);
        assert_rel(cmetrics_adjusted_rand(truth, lab, n), num(c, "ari"), 1e-12, what);
        snprintf(what, sizeof what, "%s silhouette", name);
        assert_rel(cmetrics_silhouette(X, d, lab, NULL, n), num(c, "silhouette"), 1e-10, what);
        snprintf(what, sizeof what, "%s davies_bouldin", name);
        assert_rel(cmetrics_davies_bouldin(X, d, lab, NULL, n), num(c, "davies_bouldin"), 1e-10,
                   what);
        free(lab);
    }
    ck_assert_ptr_nonnull(noisy);
    cJSON_ArrayForEach(c, field(m, "cases"))
    {
        size_t nl;
        int *lab = int_array(field(c, "labels"), &nl);
        assert_rel(cmetrics_adjusted_rand(noisy, lab, n), num(c, "ari_vs_noisy"), 1e-12,
                   "ari vs noisy");
        free(lab);
    }
    /* A subset through idx, as a sampled silhouette scores it. */
    size_t ns;
    int *sub = int_array(field(m, "subset"), &ns);
    size_t *idx = malloc(ns * sizeof *idx);
    for (size_t i = 0; i < ns; i++)
        idx[i] = (size_t)sub[i];
    assert_rel(cmetrics_silhouette(X, d, noisy, idx, ns), num(m, "subset_silhouette"), 1e-10,
               "subset silhouette");
    assert_rel(cmetrics_davies_bouldin(X, d, noisy, idx, ns), num(m, "subset_davies_bouldin"),
               1e-10, "subset davies_bouldin");
    /* Trivial labelings, and the undefined cases. */
    int zeros[10] = {0}, ids[10];
    for (int i = 0; i < 10; i++)
        ids[i] = i;
    assert_rel(cmetrics_adjusted_rand(zeros, ids, 10), num(m, "ari_all_one_vs_singletons"), 1e-12,
               "ari trivial");
    assert_rel(cmetrics_adjusted_rand(zeros, zeros, 10), num(m, "ari_all_one_both"), 1e-12,
               "ari identical trivial");
    ck_assert(isnan(cmetrics_adjusted_rand(zeros, zeros, 0)));
    ck_assert(isnan(cmetrics_silhouette(X, d, zeros, NULL, 10)));  /* one cluster */
    ck_assert(isnan(cmetrics_silhouette(X, d, ids, NULL, 10)));    /* n clusters */
    ck_assert(isnan(cmetrics_davies_bouldin(X, d, zeros, NULL, 10)));
    /* Inertia: the squared distances to the given centres. */
    double cen[2 * 3] = {0, 0, 0, 1, 1, 1};
    int two[2] = {0, 1};
    double pts[2 * 3] = {1, 0, 0, 1, 1, 3};
    ck_assert(cmetrics_inertia(pts, 3, two, NULL, 2, cen) == 1.0 + 4.0);
    free(X);
    free(truth);
    free(noisy);
    free(sub);
    free(idx);
}
END_TEST

START_TEST(test_sample_rows_are_the_documented_draws)
{
    cJSON *s = field(refs, "sample");
    size_t n = (size_t)num(s, "n"), m = (size_t)num(s, "m"), nr;
    int *want = int_array(field(s, "rows"), &nr);
    ck_assert_uint_eq(nr, m);
    size_t *got = malloc(m * sizeof *got);
    ck_assert_int_eq(cmetrics_sample_rows(n, m, (uint64_t)num(s, "seed"), got), 0);
    for (size_t i = 0; i < m; i++)
        ck_assert_msg(got[i] == (size_t)want[i], "row %zu: %zu vs %d", i, got[i], want[i]);
    ck_assert_int_eq(cmetrics_sample_rows(3, 4, 1, got), -EINVAL);
    free(want);
    free(got);
}
END_TEST

/* ---- k-means ------------------------------------------------------------- */

START_TEST(test_kmeans_matches_sklearn)
{
    const clu_kernels *k = all_kernels[_i];
    const cJSON *c;
    int checked = 0;
    cJSON_ArrayForEach(c, field(refs, "kmeans"))
    {
        size_t n, d, nl;
        double *X = case_data(c, &n, &d);
        int *want = int_array(field(c, "labels"), &nl);
        ck_assert_uint_eq(nl, n);
        const char *algo = cJSON_GetStringValue(field(c, "algorithm"));
        clu_kmeans_cfg cfg = {.k = (size_t)num(c, "k"),
                              .init = CLU_INIT_FIRST,
                              .n_init = 1,
                              .max_iter = (int)num(c, "max_iter"),
                              .tol = num(c, "tol"),
                              .algo = strcmp(algo, "elkan") ? CLU_LLOYD : CLU_ELKAN,
                              .seed = 1};
        clu_kmeans_work w;
        ck_assert_int_eq(clu_kmeans_work_alloc(&w, n, d, &cfg), 0);
        clu_kmeans_result r = {.centers = malloc(cfg.k * d * sizeof(double)),
                               .labels = malloc(n * sizeof(int))};
        clu_kmeans_fit(k, &cfg, X, &w, &r);
        char what[128];
        snprintf(what, sizeof what, "%s/%s/%s inertia", cJSON_GetStringValue(field(c, "name")),
                 algo, k->name);
        ck_assert_msg(r.n_iter == (int)num(c, "n_iter"), "%s: %d iterations, sklearn %d", what,
                      r.n_iter, (int)num(c, "n_iter"));
        assert_rel(r.inertia, num(c, "inertia"), 1e-9, what);
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += r.labels[i] != want[i];
        ck_assert_msg(diff == 0, "%s: %zu labels differ from sklearn's", what, diff);
        ck_assert(cmetrics_adjusted_rand(r.labels, want, n) == 1.0);
        /* The centres are the labels' means (strict convergence) or near. */
        assert_rel(cmetrics_inertia(X, d, r.labels, NULL, n, r.centers), r.inertia, 1e-9, what);
        free(r.centers);
        free(r.labels);
        clu_kmeans_work_free(&w);
        free(X);
        free(want);
        checked++;
    }
    ck_assert_int_ge(checked, 14);
}
END_TEST

START_TEST(test_kmeanspp_rows_are_the_documented_draws)
{
    const clu_kernels *k = all_kernels[_i];
    const cJSON *c;
    cJSON_ArrayForEach(c, field(refs, "kmeanspp"))
    {
        size_t n, d, nr;
        double *X = case_data(c, &n, &d);
        int *want = int_array(field(c, "rows"), &nr);
        clu_kmeans_cfg cfg = {.k = (size_t)num(c, "k"), .init = CLU_INIT_KMEANSPP, .n_init = 1,
                              .max_iter = 300, .tol = 1e-4, .seed = (uint64_t)num(c, "seed")};
        clu_kmeans_work w;
        ck_assert_int_eq(clu_kmeans_work_alloc(&w, n, d, &cfg), 0);
        /* The centred rows and norms, as the fit prepares them. */
        double *mean = calloc(d, sizeof *mean);
        for (size_t i = 0; i < n; i++)
            for (size_t j = 0; j < d; j++)
                mean[j] += X[i * d + j] / (double)n;
        for (size_t i = 0; i < n; i++) {
            w.xnorm[i] = 0;
            for (size_t j = 0; j < d; j++) {
                w.Xc[i * d + j] = X[i * d + j] - mean[j];
                w.xnorm[i] += w.Xc[i * d + j] * w.Xc[i * d + j];
            }
        }
        uint64_t rng = cfg.seed;
        size_t ids[16];
        clu_kmeanspp(k, &w, &rng, ids);
        for (size_t t = 0; t < cfg.k; t++)
            ck_assert_msg(ids[t] == (size_t)want[t], "%s centre %zu: row %zu, expected %d",
                          k->name, t, ids[t], want[t]);
        clu_kmeans_work_free(&w);
        free(mean);
        free(X);
        free(want);
    }
}
END_TEST

/* Well-separated blobs from the data layer: every init finds them. */
START_TEST(test_kmeans_inits_find_blobs)
{
    const clu_kernels *k = all_kernels[_i];
    mlb_synth_opts o = {.kind = MLB_SYNTH_BLOBS, .n_samples = 2000, .n_features = 5, .seed = 3,
                        .noise = 0.5, .n_classes = 6};
    mlb_dataset *ds;
    char err[256];
    ck_assert_int_eq(mlb_data_synth(&o, &ds, err, sizeof err), 0);
    int *truth = malloc(ds->n * sizeof *truth);
    for (size_t i = 0; i < ds->n; i++)
        truth[i] = (int)ds->y[i];
    const clu_init inits[] = {CLU_INIT_FIRST, CLU_INIT_KMEANSPP, CLU_INIT_RANDOM};
    const clu_kalgo algos[] = {CLU_LLOYD, CLU_ELKAN};
    for (size_t a = 0; a < 2; a++)
        for (size_t t = 0; t < 3; t++) {
            clu_kmeans_cfg cfg = {.k = 6, .init = inits[t], .n_init = 4, .max_iter = 300,
                                  .tol = 1e-4, .algo = algos[a], .seed = 11};
            clu_kmeans_work w;
            ck_assert_int_eq(clu_kmeans_work_alloc(&w, ds->n, ds->d, &cfg), 0);
            clu_kmeans_result r = {.centers = malloc(6 * ds->d * sizeof(double)),
                                   .labels = malloc(ds->n * sizeof(int))};
            clu_kmeans_fit(k, &cfg, ds->X, &w, &r);
            ck_assert_msg(r.converged, "init %zu algo %zu", t, a);
            ck_assert_msg(cmetrics_adjusted_rand(truth, r.labels, ds->n) == 1.0,
                          "%s init %zu algo %zu: ARI %g", k->name, t, a,
                          cmetrics_adjusted_rand(truth, r.labels, ds->n));
            /* predict gives the fitted labels back. */
            double cn[6];
            for (size_t j = 0; j < 6; j++) {
                cn[j] = 0;
                for (size_t u = 0; u < ds->d; u++)
                    cn[j] += r.centers[j * ds->d + u] * r.centers[j * ds->d + u];
            }
            int *pred = malloc(ds->n * sizeof *pred);
            clu_kmeans_predict(k, ds->X, ds->n, ds->d, r.centers, cn, 6, pred, w.scratch);
            ck_assert_int_eq(memcmp(pred, r.labels, ds->n * sizeof *pred), 0);
            free(pred);
            free(r.centers);
            free(r.labels);
            clu_kmeans_work_free(&w);
        }
    free(truth);
    mlb_dataset_free(ds);
}
END_TEST

/* ---- DBSCAN -------------------------------------------------------------- */

START_TEST(test_kdtree_matches_brute_force)
{
    enum { N = 700, D = 3 };
    double *X = malloc(N * D * sizeof *X);
    uint64_t s = 5;
    for (int i = 0; i < N * D; i++) /* coarse grid values: many ties and duplicates */
        X[i] = (double)(mlb_rand_u64(&s) % 20) * 0.25;
    size_t *out = malloc(N * sizeof *out);
    unsigned char *mark = calloc(N, 1);
    const size_t leaves[] = {1, 2, 7, 30, 1000};
    for (size_t l = 0; l < 5; l++) {
        clu_kdtree t;
        ck_assert_int_eq(clu_kdtree_alloc(&t, N, D, leaves[l]), 0);
        clu_kdtree_build(&t, X);
        for (int q = 0; q < N; q += 17) {
            const double r2s[] = {0.0, 0.0625, 0.5, 2.0};
            for (int e = 0; e < 4; e++) {
                size_t m = clu_kdtree_radius(&t, X + q * D, r2s[e], out);
                ck_assert_uint_eq(m, clu_kdtree_radius(&t, X + q * D, r2s[e], NULL));
                memset(mark, 0, N);
                for (size_t i = 0; i < m; i++) {
                    ck_assert(!mark[out[i]]);
                    mark[out[i]] = 1;
                }
                for (int j = 0; j < N; j++) {
                    double v = 0;
                    for (int u = 0; u < D; u++) {
                        double w = X[q * D + u] - X[j * D + u];
                        v += w * w;
                    }
                    ck_assert_msg(mark[j] == (v <= r2s[e]), "leaf %zu q %d j %d", leaves[l], q,
                                  j);
                }
            }
        }
        clu_kdtree_free(&t);
    }
    free(X);
    free(out);
    free(mark);
}
END_TEST

START_TEST(test_dbscan_matches_sklearn)
{
    const clu_kernels *k = all_kernels[_i / 2];
    clu_index index = _i % 2 ? CLU_INDEX_BRUTE : CLU_INDEX_KDTREE;
    const cJSON *c;
    cJSON_ArrayForEach(c, field(refs, "dbscan"))
    {
        size_t n, d, nl;
        double *X = case_data(c, &n, &d);
        int *want = int_array(field(c, "labels"), &nl);
        ck_assert_uint_eq(nl, n);
        clu_dbscan_cfg cfg = {.eps = num(c, "eps"),
                              .min_samples = (size_t)num(c, "min_samples"),
                              .index = index,
                              .leaf_size = 30};
        clu_dbscan_work w;
        ck_assert_int_eq(clu_dbscan_work_alloc(&w, n, d, &cfg), 0);
        int *labels = malloc(n * sizeof *labels);
        clu_dbscan_result r = {.labels = labels};
        clu_dbscan_fit(k, &cfg, X, &w, &r);
        /* Not only ARI = 1 and the same noise: the same numbers, since the
         * clusters are numbered in sklearn's order. */
        size_t diff = 0;
        for (size_t i = 0; i < n; i++)
            diff += labels[i] != want[i];
        ck_assert_msg(diff == 0, "%s %s/%s: %zu labels differ", cJSON_GetStringValue(field(c, "name")),
                      k->name, index ? "brute" : "kdtree", diff);
        ck_assert_uint_eq(r.n_clusters, (size_t)num(c, "n_clusters"));
        ck_assert_uint_eq(r.n_noise, (size_t)num(c, "n_noise"));
        clu_dbscan_work_free(&w);
        free(labels);
        free(X);
        free(want);
    }
}
END_TEST

/* ---- agglomerative ------------------------------------------------------- */

START_TEST(test_agglo_matches_sklearn_and_scipy)
{
    const clu_kernels *k = all_kernels[_i];
    cJSON *a = field(refs, "agglo");
    size_t n, d;
    double *X = matrix(field(a, "X"), &n, &d);
    const cJSON *c;
    cJSON_ArrayForEach(c, field(a, "cases"))
    {
        const char *l = cJSON_GetStringValue(field(c, "linkage"));
        clu_agglo_cfg cfg = {.linkage = !strcmp(l, "ward")      ? CLU_WARD
                                        : !strcmp(l, "average") ? CLU_AVERAGE
                                        : !strcmp(l, "complete") ? CLU_COMPLETE
                                                                 : CLU_SINGLE,
                             .n_clusters = (size_t)num(c, "n_clusters")};
        size_t nl, nh;
        int *want = int_array(field(c, "labels"), &nl);
        double *heights = double_array(field(c, "heights"), &nh);
        ck_assert_uint_eq(nh, n - 1);
        clu_agglo_work w;
        ck_assert_int_eq(clu_agglo_work_alloc(&w, n, d, cfg.linkage), 0);
        clu_agglo_result r = {.labels = malloc(n * sizeof(int)),
                              .heights = malloc((n - 1) * sizeof(double))};
        clu_agglo_fit(k, &cfg, X, &w, &r);
        ck_assert_msg(cmetrics_adjusted_rand(r.labels, want, n) == 1.0, "%s/%s k=%zu: ARI %g", l,
                      k->name, cfg.n_clusters, cmetrics_adjusted_rand(r.labels, want, n));
        double sum = 0;
        for (size_t t = 0; t + 1 < n; t++) {
            char what[96];
            snprintf(what, sizeof what, "%s/%s height %zu", l, k->name, t);
            assert_rel(r.heights[t], heights[t], 1e-9, what);
            sum += heights[t];
        }
        assert_rel(r.height_sum, sum, 1e-9, "height sum");
        free(r.labels);
        free(r.heights);
        clu_agglo_work_free(&w);
        free(want);
        free(heights);
    }
    free(X);
}
END_TEST

/* ---- rules and callbacks ------------------------------------------------- */

START_TEST(test_rules_fit_params)
{
    pc_check_rules_fit_params(clustering_params, N_PARAMS, clustering_rules, N_RULES);
}
END_TEST

static const mlb_plugin descriptor = {
    MLB_PLUGIN_HEADER,
    .task = "clustering",
    .variant = "test",
    .params = clustering_params,
    .n_params = N_PARAMS,
    MLB_PARAM_RULES(clustering_rules),
};

static void set(mlb_ctx *c, const char *name, const char *value)
{
    char why[256];
    ck_assert_msg(mlb_ctx_set_param(c, name, value, why, sizeof why) == 0, "%s=%s: %s", name,
                  value, why);
}

/* All phases on iris, each model, with the engine's own context. */
START_TEST(test_phases_on_iris)
{
    const clu_kernels *k = all_kernels[_i % 2];
    const char *model = _i / 2 == 0 ? "kmeans" : _i / 2 == 1 ? "dbscan" : "agglomerative";
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    set(&c, "model", model);
    set(&c, "dataset", "iris");
    set(&c, "n_clusters", "3");
    set(&c, "init", "first");
    set(&c, "eps", "0.45");
    set(&c, "batch_size", "100");
    set(&c, "silhouette_sample", "50");
    ck_assert_int_eq(clustering_setup(&c, &state, k), 0);
    mlb_ctx_phase_begin(&c, mlb_now());
    ck_assert_int_eq(clustering_train(&c, state), 0);
    ck_assert(c.work[MLB_WORK_ITEMS] == 150);
    for (int q = 0; q < 3; q++) {
        mlb_ctx_phase_begin(&c, mlb_now());
        ck_assert_int_eq(clustering_infer(&c, state), 0);
        ck_assert(c.work[MLB_WORK_ITEMS] == (_i / 2 == 0 ? 100 : 0));
    }
    mlb_ctx_phase_begin(&c, mlb_now());
    ck_assert_msg(clustering_teardown(&c, state) == 0, "%s", c.err);
    for (const char *const *m = (const char *const[]){"fit_s", "n_clusters_found", "ari",
                                                      "silhouette", "davies_bouldin", NULL};
         *m; m++)
        ck_assert_msg(pc_metric(&c, *m) != NULL, "%s: no metric %s", model, *m);
    if (_i / 2 == 0) {
        /* sklearn's iris fit from the first rows: 12 iterations. */
        ck_assert(pc_metric(&c, "iterations")->value == 12);
        assert_rel(pc_metric(&c, "inertia")->value, 78.85566582597731, 1e-9, "iris inertia");
    } else if (_i / 2 == 1) {
        ck_assert(pc_metric(&c, "n_clusters_found")->value == 2);
        ck_assert(fabs(pc_metric(&c, "noise_fraction")->value - 24.0 / 150) < 1e-15);
    } else {
        ck_assert_ptr_nonnull(pc_metric(&c, "merge_height_sum"));
        ck_assert(pc_metric(&c, "n_clusters_found")->value == 3);
    }
    mlb_ctx_free(&c);
}
END_TEST

static void wrong_assign(const double *X, size_t m, size_t d, const double *C, const double *cn,
                         size_t k, int *labels, double *sums, double *counts, double *scratch)
{
    clu_kernels_naive.assign(X, m, d, C, cn, k, labels, sums, counts, scratch);
    if (!sums) /* the final labels only: every row to centre 0 */
        memset(labels, 0, m * sizeof *labels);
}

START_TEST(test_teardown_fails_a_wrong_kernel)
{
    static const clu_kernels wrong = {.name = "wrong",
                                      .sqdist = NULL,
                                      .assign = wrong_assign};
    clu_kernels w = wrong;
    w.sqdist = clu_kernels_naive.sqdist;
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    set(&c, "dataset", "iris");
    set(&c, "n_clusters", "3");
    set(&c, "init", "first");
    set(&c, "max_iter", "2"); /* stops on max_iter: the final labels come from predict-only */
    ck_assert_int_eq(clustering_setup(&c, &state, &w), 0);
    ck_assert_int_eq(clustering_train(&c, state), 0);
    ck_assert_int_lt(clustering_teardown(&c, state), 0);
    ck_assert_ptr_nonnull(strstr(c.err, "wrong result"));
    mlb_ctx_free(&c);
}
END_TEST

START_TEST(test_setup_refusals)
{
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    set(&c, "model", "agglomerative");
    set(&c, "n_samples", "3000");
    set(&c, "max_n", "2000");
    ck_assert_int_lt(clustering_setup(&c, &state, &clu_kernels_naive), 0);
    ck_assert_ptr_nonnull(strstr(c.err, "max_n=2000"));
    ck_assert_ptr_null(state);
    set(&c, "dataset", "iris");
    set(&c, "n_clusters", "151");
    ck_assert_int_lt(clustering_setup(&c, &state, &clu_kernels_naive), 0);
    ck_assert_ptr_nonnull(strstr(c.err, "n_clusters=151"));
    set(&c, "dataset", "nope");
    ck_assert_int_lt(clustering_setup(&c, &state, &clu_kernels_naive), 0);
    ck_assert_ptr_nonnull(strstr(c.err, "blobs"));
    /* Setup straight to teardown (--export-data) reports nothing. */
    set(&c, "dataset", "iris");
    set(&c, "n_clusters", "3");
    set(&c, "model", "kmeans");
    ck_assert_int_eq(clustering_setup(&c, &state, &clu_kernels_naive), 0);
    ck_assert_int_eq(clustering_teardown(&c, state), 0);
    ck_assert_uint_eq(c.n_metrics, 0);
    ck_assert_int_eq(clustering_teardown(&c, NULL), 0);
    mlb_ctx_free(&c);
}
END_TEST

static Suite *clustering_suite(void)
{
    Suite *s = suite_create("clustering");
    TCase *tc = tcase_create("clustering");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_metrics_match_sklearn);
    tcase_add_test(tc, test_sample_rows_are_the_documented_draws);
    tcase_add_loop_test(tc, test_kmeans_matches_sklearn, 0, N_KERNELS);
    tcase_add_loop_test(tc, test_kmeanspp_rows_are_the_documented_draws, 0, N_KERNELS);
    tcase_add_loop_test(tc, test_kmeans_inits_find_blobs, 0, N_KERNELS);
    tcase_add_test(tc, test_kdtree_matches_brute_force);
    tcase_add_loop_test(tc, test_dbscan_matches_sklearn, 0, 2 * N_KERNELS);
    tcase_add_loop_test(tc, test_agglo_matches_sklearn_and_scipy, 0, N_KERNELS);
    tcase_add_test(tc, test_rules_fit_params);
    tcase_add_loop_test(tc, test_phases_on_iris, 0, 3 * N_KERNELS);
    tcase_add_test(tc, test_teardown_fails_a_wrong_kernel);
    tcase_add_test(tc, test_setup_refusals);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    FILE *f = fopen(CLU_REF_DIR "/refs.json", "rb");
    if (!f) {
        fprintf(stderr, "cannot open %s\n", CLU_REF_DIR "/refs.json");
        return EXIT_FAILURE;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    if (!text || fread(text, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        return EXIT_FAILURE;
    }
    text[len] = '\0';
    fclose(f);
    refs = cJSON_Parse(text);
    free(text);
    if (!refs) {
        fprintf(stderr, "refs.json does not parse\n");
        return EXIT_FAILURE;
    }
    SRunner *sr = srunner_create(clustering_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cJSON_Delete(refs);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
