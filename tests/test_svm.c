/* The svm task: its solvers with every variant's kernel table (and LIBSVM
 * and LIBLINEAR through the libsvm and liblinear variants) against
 * scikit-learn's fits of the same rows (tests/ref/svm/refs.json, made by
 * make_refs.py there): dual objective per one-vs-one pair to 1e-6
 * relative, support vectors, SMO iterations, test accuracy within one
 * sample; LinearSVC's primal objective to 1e-4. Then the kernel cache under
 * pressure, the checks that fail a wrong model, the parameter rules, and
 * the callbacks on an engine context, bad parameters included. Built with
 * MLB_VARIANT_KERNELS_ONLY, so the variant files give only their tables. */
#include <check.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "plugin_checks.h"
#include "mlbench/data.h"
#include "svm.h"

#define N_PARAMS (sizeof svm_params / sizeof svm_params[0])
#define N_RULES (sizeof svm_rules / sizeof svm_rules[0])

static const mlb_plugin descriptor = {
    MLB_PLUGIN_HEADER,
    .task = "svm",
    .variant = "test",
    .params = svm_params,
    .n_params = N_PARAMS,
    MLB_PARAM_RULES(svm_rules),
};

/* The native tables, and the libraries where they are built. */
static const svm_kernels *const natives[] = {&svm_kernels_naive, &svm_kernels_openblas};
#define N_NATIVES 2

/* ---- the references ---------------------------------------------------- */

static cJSON *refs;

static void load_refs(void)
{
    if (refs)
        return;
    FILE *f = fopen(SVM_REF_DIR "/refs.json", "rb");
    ck_assert_msg(f != NULL, "cannot open %s", SVM_REF_DIR "/refs.json");
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = malloc((size_t)len + 1);
    ck_assert_uint_eq(fread(text, 1, (size_t)len, f), (size_t)len);
    text[len] = 0;
    fclose(f);
    refs = cJSON_Parse(text);
    free(text);
    ck_assert_ptr_nonnull(refs);
}

static const cJSON *ref_case(const char *name)
{
    load_refs();
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(refs, "cases"))
    {
        if (!strcmp(cJSON_GetObjectItem(c, "name")->valuestring, name))
            return c;
    }
    ck_abort_msg("no reference case %s", name);
    return NULL;
}

static double num(const cJSON *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    ck_assert_msg(cJSON_IsNumber(v), "reference lacks %s", key);
    return v->valuedouble;
}

static const char *str(const cJSON *c, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(c, key);
    ck_assert_msg(cJSON_IsString(v), "reference lacks %s", key);
    return v->valuestring;
}

/* ---- the arrays the references were made from ------------------------- */

typedef struct {
    size_t n, d, n_test;
    int nc;
    double *X, *Xt;  /* training rows grouped by class; test rows */
    int *y, *yt;
    size_t start[SVM_MAX_CLASSES], count[SVM_MAX_CLASSES];
    svm_data data;
} problem;

/* make_refs.py's split: rows i % 4 == 0 test, the others train (grouped by
 * class, stably, as the plugin groups them); digits: 900 rows, / 16. */
static void problem_load(problem *p, const char *dataset)
{
    mlb_dataset *ds;
    char err[512];
    ck_assert_msg(mlb_dataset_load(dataset, NULL, &ds, err, sizeof err) == 0, "%s", err);
    size_t n = ds->n, d = ds->d;
    double scale = 1.0;
    if (!strcmp(dataset, "digits")) {
        n = 900;
        scale = 1.0 / 16;
    }
    memset(p, 0, sizeof *p);
    p->d = d;
    p->nc = ds->n_classes;
    p->n_test = (n + 3) / 4;
    p->n = n - p->n_test;
    p->X = malloc(p->n * d * sizeof(double));
    p->Xt = malloc(p->n_test * d * sizeof(double));
    p->y = malloc(p->n * sizeof(int));
    p->yt = malloc(p->n_test * sizeof(int));
    for (size_t i = 0; i < n; i++)
        if (i % 4)
            p->count[(int)ds->y[i]]++;
    for (int c = 1; c < p->nc; c++)
        p->start[c] = p->start[c - 1] + p->count[c - 1];
    size_t next[SVM_MAX_CLASSES], t = 0;
    memcpy(next, p->start, sizeof next);
    for (size_t i = 0; i < n; i++) {
        int c = (int)ds->y[i];
        double *dst = i % 4 ? p->X + next[c] * d : p->Xt + t * d;
        for (size_t j = 0; j < d; j++)
            dst[j] = ds->X[i * d + j] * scale;
        if (i % 4)
            p->y[next[c]++] = c;
        else
            p->yt[t++] = c;
    }
    mlb_dataset_free(ds);
    p->data = (svm_data){.n = p->n, .d = d, .n_classes = p->nc, .X = p->X, .y = p->y,
                         .start = p->start, .count = p->count};
}

static void problem_free(problem *p)
{
    free(p->X);
    free(p->Xt);
    free(p->y);
    free(p->yt);
}

static svm_config config_of(const cJSON *c)
{
    svm_config cfg = {0};
    const char *model = str(c, "model");
    cfg.model = !strcmp(model, "svc") ? SVM_SVC : !strcmp(model, "nusvc") ? SVM_NUSVC
                                                                          : SVM_LINEARSVC;
    cfg.C = num(c, "C");
    cfg.tol = num(c, "tol");
    cfg.cache_mb = 200;
    cfg.seed = 42;
    if (cfg.model == SVM_LINEARSVC) {
        cfg.bias = num(c, "intercept_scaling");
        return cfg;
    }
    const char *k = str(c, "kernel");
    cfg.kp.kind = !strcmp(k, "linear") ? SVM_K_LINEAR
                  : !strcmp(k, "poly") ? SVM_K_POLY
                  : !strcmp(k, "rbf")  ? SVM_K_RBF
                                       : SVM_K_SIGMOID;
    cfg.kp.gamma = num(c, "gamma");
    cfg.kp.degree = (int)num(c, "degree");
    cfg.kp.coef0 = num(c, "coef0");
    cfg.nu = num(c, "nu");
    cfg.shrinking = (int)num(c, "shrinking");
    cfg.bias = -1;
    return cfg;
}

static double rel(double a, double b)
{
    return fabs(a - b) / fmax(fabs(b), 1e-300);
}

/* Test rows whose predicted label differs from the reference's. */
static int pred_diff(const cJSON *c, const int *pred, size_t n)
{
    const cJSON *ref = cJSON_GetObjectItem(c, "pred");
    ck_assert_int_eq(cJSON_GetArraySize(ref), (int)n);
    int diff = 0;
    for (size_t i = 0; i < n; i++)
        diff += pred[i] != cJSON_GetArrayItem(ref, (int)i)->valueint;
    return diff;
}

static int correct(const int *pred, const int *y, size_t n)
{
    int ok = 0;
    for (size_t i = 0; i < n; i++)
        ok += pred[i] == y[i];
    return ok;
}

/* Test-set labels by m with kernel table k (native prediction). */
static void predict_all(const svm_kernels *k, const svm_config *cfg, const svm_fitted *m,
                        const problem *p, int *pred)
{
    svm_scratch sc;
    ck_assert_int_eq(svm_scratch_alloc(&sc, 16, p->n, p->nc), 0);
    for (size_t i = 0; i < p->n_test; i += 16) {
        size_t rows = p->n_test - i < 16 ? p->n_test - i : 16;
        svm_fitted_predict(k, &cfg->kp, m, p->Xt + i * p->d, rows, &sc, pred + i, NULL);
    }
    svm_scratch_free(&sc);
}

/* The checks of a fitted kernel model against case c. */
static void check_kernel_model(const cJSON *c, const svm_config *cfg, const problem *p,
                               const svm_fitted *m, const int *pred, const char *who,
                               int check_iter)
{
    const char *name = str(c, "name");
    char err[256];
    ck_assert_msg(svm_check_feasible(cfg, m, &p->data, err, sizeof err) == 0, "%s %s: %s", name,
                  who, err);
    const cJSON *nsv = cJSON_GetObjectItem(c, "n_support");
    size_t want = 0;
    for (int k = 0; k < p->nc; k++)
        want += (size_t)cJSON_GetArrayItem(nsv, k)->valueint;
    /* Within 1% (the tolerance may leave a few borderline vectors). */
    ck_assert_msg(fabs((double)m->n_sv - (double)want) <= 0.01 * (double)want,
                  "%s %s: %zu support vectors, scikit-learn %zu", name, who, m->n_sv, want);
    size_t np = svm_n_pairs(p->nc);
    double *obj = malloc(np * sizeof *obj);
    svm_pair_objectives(&cfg->kp, m, &p->data, obj);
    const cJSON *ro = cJSON_GetObjectItem(c, "pair_obj"), *ri = cJSON_GetObjectItem(c, "pair_iter");
    for (size_t q = 0; q < np; q++) {
        double r = cJSON_GetArrayItem(ro, (int)q)->valuedouble;
        ck_assert_msg(rel(obj[q], r) <= 1e-6, "%s %s pair %zu: dual objective %.17g, "
                      "scikit-learn %.17g (rel %.3g)", name, who, q, obj[q], r, rel(obj[q], r));
        if (check_iter) {
            /* The solver's own objective (from its float cache) agrees too. */
            ck_assert_msg(rel(m->pair_obj[q], r) <= 1e-6, "%s %s pair %zu: solver objective "
                          "%.17g", name, who, q, m->pair_obj[q]);
            long it = cJSON_GetArrayItem(ri, (int)q)->valueint;
            ck_assert_msg(labs(m->pair_iter[q] - it) <= 1 + it / 100,
                          "%s %s pair %zu: %ld SMO iterations, scikit-learn %ld", name, who, q,
                          m->pair_iter[q], it);
        }
    }
    free(obj);
    int diff = pred_diff(c, pred, p->n_test);
    int got = correct(pred, p->yt, p->n_test);
    int ref_ok = (int)lround(num(c, "accuracy") * (double)p->n_test);
    ck_assert_msg(abs(got - ref_ok) <= 1, "%s %s: %d correct, scikit-learn %d (%d predictions "
                  "differ)", name, who, got, ref_ok, diff);
}

static const char *const kernel_cases[] = {
    "iris_svc_rbf",      "iris_nusvc_rbf",         "heart_svc_linear", "heart_svc_poly",
    "heart_svc_sigmoid", "heart_svc_rbf_noshrink", "digits_svc_rbf",   "digits_nusvc_rbf",
};
#define N_KERNEL_CASES (sizeof kernel_cases / sizeof kernel_cases[0])

static void fit_native(const svm_kernels *k, const svm_config *cfg, const problem *p,
                       double cache_mb, svm_fitted *m)
{
    size_t cap = 0;
    for (int a = 0; a < p->nc; a++)
        for (int b = a + 1; b < p->nc; b++)
            if (p->count[a] + p->count[b] > cap)
                cap = p->count[a] + p->count[b];
    svm_smo *w = svm_smo_alloc((int)cap, p->n, p->d, cache_mb);
    ck_assert_ptr_nonnull(w);
    double *alpha = malloc((size_t)(p->nc - 1) * p->n * sizeof *alpha);
    ck_assert_int_eq(svm_fitted_alloc(m, cfg->model, p->nc, p->n, p->d), 0);
    char err[256];
    ck_assert_msg(svm_fit_ovo(k, cfg, &p->data, w, alpha, m, err, sizeof err) == 0, "%s", err);
    ck_assert(m->converged);
    free(alpha);
    svm_smo_free(w);
}

/* Loop index: case x native table. */
START_TEST(test_kernel_model_matches_sklearn)
{
    const cJSON *c = ref_case(kernel_cases[_i / N_NATIVES]);
    const svm_kernels *k = natives[_i % N_NATIVES];
    problem p;
    problem_load(&p, str(c, "dataset"));
    ck_assert_uint_eq(p.n, (size_t)num(c, "n_train"));
    svm_config cfg = config_of(c);
    svm_fitted m;
    fit_native(k, &cfg, &p, 200, &m);
    int *pred = malloc(p.n_test * sizeof *pred);
    predict_all(k, &cfg, &m, &p, pred);
    check_kernel_model(c, &cfg, &p, &m, pred, k->name, 1);
    free(pred);
    svm_fitted_free(&m);
    problem_free(&p);
}
END_TEST

/* gamma=scale computed from the training rows is scikit-learn's. */
START_TEST(test_gamma_scale_matches_sklearn)
{
    for (size_t t = 0; t < N_KERNEL_CASES; t++) {
        const cJSON *c = ref_case(kernel_cases[t]);
        problem p;
        problem_load(&p, str(c, "dataset"));
        double g;
        char err[128];
        ck_assert_int_eq(svm_gamma_parse(str(c, "gamma_mode"), p.X, p.n, p.d, &g, err,
                                         sizeof err), 0);
        ck_assert_msg(rel(g, num(c, "gamma")) <= 1e-13, "%s: gamma %.17g, scikit-learn %.17g",
                      kernel_cases[t], g, num(c, "gamma"));
        problem_free(&p);
    }
    double g;
    char err[128];
    ck_assert_int_eq(svm_gamma_parse("0.25", NULL, 0, 3, &g, err, sizeof err), 0);
    ck_assert(g == 0.25);
    const char *bad[] = {"fast", "0", "-1", "nan", "inf", "1e400", "0.1x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(svm_gamma_parse(bad[i], NULL, 0, 3, &g, err, sizeof err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err, "parameter gamma:"));
    }
}
END_TEST

/* A cache of two rows (every step evicts) or of a few (rows survive
 * shrinking's swaps, some cut short) takes the very steps of a cache that
 * holds everything. Loop index: case x size. */
START_TEST(test_tiny_cache_same_steps)
{
    const char *names[] = {"digits_svc_rbf", "heart_svc_poly", "iris_nusvc_rbf"};
    const double mb[] = {1e-6, 0.01};
    const cJSON *c = ref_case(names[_i / 2]);
    problem p;
    problem_load(&p, str(c, "dataset"));
    svm_config cfg = config_of(c);
    svm_fitted big, tiny;
    fit_native(&svm_kernels_naive, &cfg, &p, 200, &big);
    fit_native(&svm_kernels_naive, &cfg, &p, mb[_i % 2], &tiny);
    ck_assert_uint_eq(big.n_sv, tiny.n_sv);
    for (size_t q = 0; q < svm_n_pairs(p.nc); q++) {
        ck_assert_int_eq(big.pair_iter[q], tiny.pair_iter[q]);
        ck_assert(big.rho[q] == tiny.rho[q]);
    }
    for (size_t s = 0; s < big.n_sv; s++)
        for (int r = 0; r + 1 < p.nc; r++)
            ck_assert(big.coef[(size_t)r * big.cap + s] == tiny.coef[(size_t)r * tiny.cap + s]);
    svm_fitted_free(&big);
    svm_fitted_free(&tiny);
    problem_free(&p);
}
END_TEST

static const char *const linear_cases[] = {"heart_linearsvc", "heart_linearsvc_scaled",
                                           "digits_linearsvc"};
#define N_LINEAR_CASES (sizeof linear_cases / sizeof linear_cases[0])

static void check_linear_model(const cJSON *c, const svm_config *cfg, const problem *p,
                               const svm_fitted *m, const int *pred, const char *who)
{
    const char *name = str(c, "name");
    double primal = svm_linear_primal(cfg, m, &p->data);
    ck_assert_msg(rel(primal, num(c, "primal")) <= 1e-4, "%s %s: primal %.17g, scikit-learn "
                  "%.17g", name, who, primal, num(c, "primal"));
    int got = correct(pred, p->yt, p->n_test);
    int ref_ok = (int)lround(num(c, "accuracy") * (double)p->n_test);
    ck_assert_msg(abs(got - ref_ok) <= 1, "%s %s: %d correct, scikit-learn %d", name, who, got,
                  ref_ok);
}

START_TEST(test_linear_model_matches_sklearn)
{
    const cJSON *c = ref_case(linear_cases[_i / N_NATIVES]);
    const svm_kernels *k = natives[_i % N_NATIVES];
    problem p;
    problem_load(&p, str(c, "dataset"));
    svm_config cfg = config_of(c);
    svm_fitted m;
    ck_assert_int_eq(svm_fitted_alloc(&m, SVM_LINEARSVC, p.nc, p.n, p.d), 0);
    svm_dcd *w = svm_dcd_alloc(p.n);
    svm_fit_linear(k, &cfg, &p.data, w, &m);
    ck_assert(m.converged);
    /* Weak duality, and a small gap at the tolerance. */
    double dual = 0;
    for (size_t r = 0; r < m.n_w; r++)
        dual += m.w_obj[r];
    double primal = svm_linear_primal(&cfg, &m, &p.data);
    ck_assert_msg(primal >= -dual * (1 - 1e-12) && rel(primal, -dual) < 1e-3,
                  "primal %.17g, dual %.17g", primal, dual);
    int *pred = malloc(p.n_test * sizeof *pred);
    predict_all(k, &cfg, &m, &p, pred);
    check_linear_model(c, &cfg, &p, &m, pred, k->name);
    free(pred);
    svm_dcd_free(w);
    svm_fitted_free(&m);
    problem_free(&p);
}
END_TEST

/* ---- the libraries, through the variants' svm_ext --------------------- */

static void fit_ext(const svm_kernels *k, const svm_config *cfg, const problem *p,
                    svm_fitted *m, int *pred)
{
    mlb_ctx ctx;
    ck_assert_int_eq(mlb_ctx_init(&ctx, &descriptor, 42), 0);
    void *ws = NULL;
    char err[256];
    ck_assert_msg(k->ext->open(&ctx, &ws, cfg, &p->data, p->Xt, p->n_test, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_msg(k->ext->fit(ws, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(svm_fitted_alloc(m, cfg->model, p->nc, p->n, p->d), 0);
    ck_assert_msg(k->ext->export_model(ws, m, err, sizeof err) == 0, "%s", err);
    k->ext->predict(ws, 0, p->n_test, pred);
    k->ext->close(ws);
    mlb_ctx_free(&ctx);
}

#ifdef SVM_HAVE_LIBSVM
START_TEST(test_libsvm_matches_sklearn)
{
    const cJSON *c = ref_case(kernel_cases[_i]);
    problem p;
    problem_load(&p, str(c, "dataset"));
    svm_config cfg = config_of(c);
    svm_fitted m;
    int *pred = malloc(p.n_test * sizeof *pred);
    fit_ext(&svm_kernels_libsvm, &cfg, &p, &m, pred);
    check_kernel_model(c, &cfg, &p, &m, pred, "libsvm", 0);
    /* The converted model predicts as LIBSVM does. */
    int *mine = malloc(p.n_test * sizeof *mine);
    predict_all(&svm_kernels_naive, &cfg, &m, &p, mine);
    ck_assert_int_le(abs(correct(mine, p.yt, p.n_test) - correct(pred, p.yt, p.n_test)), 1);
    free(mine);
    free(pred);
    svm_fitted_free(&m);
    problem_free(&p);
}
END_TEST
#endif

#ifdef SVM_HAVE_LIBLINEAR
START_TEST(test_liblinear_matches_sklearn)
{
    const cJSON *c = ref_case(linear_cases[_i]);
    problem p;
    problem_load(&p, str(c, "dataset"));
    svm_config cfg = config_of(c);
    svm_fitted m;
    int *pred = malloc(p.n_test * sizeof *pred);
    fit_ext(&svm_kernels_liblinear, &cfg, &p, &m, pred);
    check_linear_model(c, &cfg, &p, &m, pred, "liblinear");
    int *mine = malloc(p.n_test * sizeof *mine);
    predict_all(&svm_kernels_naive, &cfg, &m, &p, mine);
    for (size_t i = 0; i < p.n_test; i++)
        ck_assert_int_eq(mine[i], pred[i]);
    free(mine);
    free(pred);
    svm_fitted_free(&m);
    problem_free(&p);
}
END_TEST
#endif

/* ---- checks that fail a wrong model ------------------------------------ */

START_TEST(test_feasibility_catches_a_wrong_model)
{
    const cJSON *c = ref_case("iris_svc_rbf");
    problem p;
    problem_load(&p, "iris");
    svm_config cfg = config_of(c);
    svm_fitted m;
    fit_native(&svm_kernels_naive, &cfg, &p, 200, &m);
    char err[256];
    ck_assert_int_eq(svm_check_feasible(&cfg, &m, &p.data, err, sizeof err), 0);
    double keep = m.coef[0];
    m.coef[0] = keep + 1e-3; /* y^T alpha != 0 */
    ck_assert_int_eq(svm_check_feasible(&cfg, &m, &p.data, err, sizeof err), -EDOM);
    ck_assert_ptr_nonnull(strstr(err, "y^T alpha"));
    m.coef[0] = 2 * cfg.C; /* out of the box */
    ck_assert_int_eq(svm_check_feasible(&cfg, &m, &p.data, err, sizeof err), -EDOM);
    ck_assert_ptr_nonnull(strstr(err, "outside"));
    m.coef[0] = keep;
    m.rho[1] = NAN;
    ck_assert_int_eq(svm_check_feasible(&cfg, &m, &p.data, err, sizeof err), -EDOM);
    svm_fitted_free(&m);
    problem_free(&p);
}
END_TEST

START_TEST(test_nu_feasibility)
{
    problem p;
    problem_load(&p, "heart_scale"); /* 202 rows: 113 and 89 */
    char err[256];
    double lim = 2.0 * (double)p.count[1] / (double)p.n;
    ck_assert_int_eq(svm_nu_feasible(&p.data, lim * 0.999, err, sizeof err), 0);
    ck_assert_int_eq(svm_nu_feasible(&p.data, lim * 1.01, err, sizeof err), -EDOM);
    ck_assert_ptr_nonnull(strstr(err, "parameter nu:"));
    ck_assert_ptr_nonnull(strstr(err, "infeasible"));
    problem_free(&p);
}
END_TEST

/* ---- kernels ------------------------------------------------------------ */

/* Every table's dense kernels against plain loops, at sizes around BLAS
 * unrolling boundaries. */
START_TEST(test_dense_kernels_agree)
{
    const svm_kernels *k = natives[_i];
    const size_t sizes[] = {1, 2, 3, 7, 17, 64, 131};
    uint64_t rng = 5;
    for (size_t t = 0; t < sizeof sizes / sizeof sizes[0]; t++) {
        size_t m = sizes[t], n = sizes[(t + 3) % 7], d = sizes[(t + 1) % 7];
        double *A = malloc(m * d * sizeof *A), *B = malloc(n * d * sizeof *B);
        double *C = malloc(m * n * sizeof *C), *v = malloc(m * sizeof *v);
        for (size_t i = 0; i < m * d; i++)
            A[i] = (double)(mlb_rand_u64(&rng) >> 11) * 0x1.0p-52 - 1.0;
        for (size_t i = 0; i < n * d; i++)
            B[i] = (double)(mlb_rand_u64(&rng) >> 11) * 0x1.0p-52 - 1.0;
        k->gemm_nt(m, n, d, A, B, C);
        k->gemv(m, d, A, B, v);
        for (size_t i = 0; i < m; i++) {
            for (size_t j = 0; j < n; j++) {
                double s = 0;
                for (size_t c = 0; c < d; c++)
                    s += A[i * d + c] * B[j * d + c];
                ck_assert_msg(fabs(C[i * n + j] - s) <= 1e-13 * (double)d, "%s gemm %zu %zu %zu",
                              k->name, m, n, d);
                if (j == 0)
                    ck_assert(fabs(v[i] - s) <= 1e-13 * (double)d);
            }
        }
        double dot = k->dot(d, A, B), s = 0;
        for (size_t c = 0; c < d; c++)
            s += A[c] * B[c];
        ck_assert(fabs(dot - s) <= 1e-13 * (double)d);
        k->axpy(d, 0.5, A, B);
        free(A);
        free(B);
        free(C);
        free(v);
    }
}
END_TEST

START_TEST(test_kernel_functions)
{
    /* x = (1, 2), y = (3, -1): x.y = 1, |x|^2 = 5, |y|^2 = 10. */
    svm_kparams kp = {SVM_K_RBF, 0.5, 1.0, 3};
    ck_assert(fabs(svm_kval(&kp, 1, 5, 10) - exp(-0.5 * 13)) < 1e-15);
    kp.kind = SVM_K_POLY;
    ck_assert(svm_kval(&kp, 1, 5, 10) == 1.5 * 1.5 * 1.5);
    kp.kind = SVM_K_SIGMOID;
    ck_assert(fabs(svm_kval(&kp, 1, 5, 10) - tanh(1.5)) < 1e-15);
    kp.kind = SVM_K_LINEAR;
    ck_assert(svm_kval(&kp, 1, 5, 10) == 1);
    ck_assert(svm_powi(2.0, 0) == 1.0 && svm_powi(2.0, 10) == 1024.0 && svm_powi(-3, 3) == -27);
    double v[3] = {1, 0, -1}, sq[3] = {10, 0, 2};
    kp.kind = SVM_K_RBF;
    svm_kernel_row(NULL, &kp, 3, v, 5, sq);
    ck_assert(fabs(v[0] - exp(-0.5 * 13)) < 1e-15);
    ck_assert(fabs(v[1] - exp(-0.5 * 5)) < 1e-15);
    ck_assert(fabs(v[2] - exp(-0.5 * 9)) < 1e-15);
}
END_TEST

/* ---- parameters --------------------------------------------------------- */

/* Every rule names a declared parameter of a type it can constrain, every
 * default passes its rule, and every numeric or choice parameter has one. */
START_TEST(test_rules_fit_params)
{
    pc_check_rules_fit_params(svm_params, N_PARAMS, svm_rules, N_RULES);
    for (size_t i = 0; i < N_PARAMS; i++) {
        const mlb_param_def *p = &svm_params[i];
        /* A bool has no rule; gamma is words or a number, dataset a name or
         * a path, target and delimiter a file's layout: setup checks them. */
        if (p->type == MLB_PARAM_BOOL || !strcmp(p->name, "gamma") ||
            !strcmp(p->name, "dataset") || !strcmp(p->name, "target") ||
            !strcmp(p->name, "delimiter"))
            continue;
        int has = 0;
        for (size_t r = 0; r < N_RULES; r++)
            has |= !strcmp(svm_rules[r].name, p->name);
        ck_assert_msg(has, "parameter %s has no rule", p->name);
    }
}
END_TEST

START_TEST(test_rules_reject_bad_values)
{
    mlb_ctx c;
    char why[256];
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 1), 0);
    const char *bad[][2] = {
        {"C", "0"},         {"C", "-1"},          {"nu", "0"},          {"nu", "1.01"},
        {"kernel", "rbff"}, {"model", "svr"},     {"tol", "-1e-3"},     {"cache_mb", "0"},
        {"degree", "-1"},   {"max_iter", "-5"},   {"format", "xls"},    {"scaling", "minmax"},
        {"n_classes", "1"}, {"test_fraction", "1"}, {"intercept_scaling", "0"},
        {"cluster_std", "0"}, {"batch_size", "0"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(mlb_ctx_set_param(&c, bad[i][0], bad[i][1], why, sizeof why) == -ERANGE,
                      "%s=%s accepted", bad[i][0], bad[i][1]);
    ck_assert_int_eq(mlb_ctx_set_param(&c, "kernel", "rbff", why, sizeof why), -ERANGE);
    ck_assert_ptr_nonnull(strstr(why, "rbf"));
    const char *good[][2] = {{"C", "1e-3"}, {"nu", "1"}, {"tol", "0"}, {"max_iter", "0"},
                             {"degree", "0"}, {"gamma", "0.5"}, {"kernel", "sigmoid"}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        ck_assert_msg(mlb_ctx_set_param(&c, good[i][0], good[i][1], why, sizeof why) == 0,
                      "%s=%s refused: %s", good[i][0], good[i][1], why);
    mlb_ctx_free(&c);
}
END_TEST

/* ---- the callbacks on an engine context --------------------------------- */

static int set(mlb_ctx *c, const char *k, const char *v)
{
    char why[256];
    int rc = mlb_ctx_set_param(c, k, v, why, sizeof why);
    ck_assert_msg(rc == 0, "%s=%s: %s", k, v, why);
    return rc;
}

/* Loop index: model (svc, nusvc, linearsvc) x native table. */
START_TEST(test_phases_report_metrics)
{
    static const char *const models[] = {"svc", "nusvc", "linearsvc"};
    const char *model = models[_i / N_NATIVES];
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    set(&c, "dataset", "iris");
    set(&c, "model", model);
    set(&c, "batch_size", "8");
    ck_assert_int_eq(svm_setup(&c, &state, natives[_i % N_NATIVES]), 0);
    mlb_ctx_phase_begin(&c, mlb_now());
    ck_assert_int_eq(svm_train(&c, state), 0);
    ck_assert(c.work[MLB_WORK_ITEMS] == 112); /* 150 - round(0.25 * 150) */
    mlb_ctx_phase_begin(&c, mlb_now());
    for (int q = 0; q < 6; q++)
        ck_assert_int_eq(svm_infer(&c, state), 0); /* wraps past the 38 test rows */
    ck_assert(c.work[MLB_WORK_ITEMS] == 6 * 8);
    ck_assert_int_eq(svm_teardown(&c, state), 0);
    const char *names[] = {"fit_s", "iterations", "accuracy", "balanced_accuracy", "macro_f1"};
    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(pc_metric(&c, names[i]) != NULL, "%s: no %s", model, names[i]);
    ck_assert(pc_metric(&c, "accuracy")->value > 0.8);
    if (strcmp(model, "linearsvc")) {
        ck_assert(pc_metric(&c, "n_support")->value >= 3);
        ck_assert_ptr_nonnull(pc_metric(&c, "dual_objective"));
    } else {
        ck_assert_ptr_nonnull(pc_metric(&c, "primal_objective"));
        ck_assert(pc_metric(&c, "primal_objective")->value > 0);
    }
    mlb_ctx_free(&c);
}
END_TEST

/* Setup refuses, with a message naming the parameter, what the rules
 * cannot. */
static void expect_setup_error(const svm_kernels *k, const char *const *kv, size_t n,
                               const char *msg)
{
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    for (size_t i = 0; i + 1 < n; i += 2)
        set(&c, kv[i], kv[i + 1]);
    ck_assert_int_lt(svm_setup(&c, &state, k), 0);
    ck_assert_ptr_null(state);
    ck_assert_msg(strstr(c.err, msg) != NULL, "'%s' lacks '%s'", c.err, msg);
    mlb_ctx_free(&c);
}

START_TEST(test_setup_rejects_bad_combinations)
{
    const char *gamma[] = {"dataset", "iris", "gamma", "-2"};
    expect_setup_error(&svm_kernels_naive, gamma, 4, "parameter gamma: '-2' is not scale");
    const char *nu[] = {"dataset", "breast_cancer", "model", "nusvc", "nu", "0.95"};
    expect_setup_error(&svm_kernels_openblas, nu, 6, "parameter nu: 0.95 is infeasible");
#ifdef SVM_HAVE_LIBSVM
    const char *lin[] = {"dataset", "iris", "model", "linearsvc"};
    expect_setup_error(&svm_kernels_libsvm, lin, 4,
                       "parameter model: the libsvm variant cannot fit model=linearsvc");
#endif
#ifdef SVM_HAVE_LIBLINEAR
    const char *svc[] = {"dataset", "iris", "model", "svc"};
    expect_setup_error(&svm_kernels_liblinear, svc, 4,
                       "parameter model: the liblinear variant cannot fit model=svc");
#endif
    /* 8 rows cannot give each of 3 classes a training row and a test row. */
    const char *tiny[] = {"dataset", "synthetic", "n_samples", "4", "n_classes", "3",
                          "test_fraction", "0.5"};
    expect_setup_error(&svm_kernels_naive, tiny, 8, "has no training rows");
    const char *unknown[] = {"dataset", "mnist"};
    expect_setup_error(&svm_kernels_naive, unknown, 2, "parameter dataset: unknown dataset 'mnist'");
    const char *regression[] = {"dataset", "diabetes"};
    expect_setup_error(&svm_kernels_naive, regression, 2,
                       "parameter dataset: diabetes has 0 classes");
}
END_TEST

/* Setup straight to teardown (--export-data, a failed train) scores
 * nothing. */
START_TEST(test_teardown_without_fit)
{
    mlb_ctx c;
    void *state = NULL;
    ck_assert_int_eq(mlb_ctx_init(&c, &descriptor, 42), 0);
    set(&c, "dataset", "heart_scale");
    ck_assert_int_eq(svm_setup(&c, &state, &svm_kernels_naive), 0);
    ck_assert_int_eq(svm_teardown(&c, state), 0);
    ck_assert_uint_eq(c.n_metrics, 0);
    ck_assert_int_eq(svm_teardown(&c, NULL), 0);
    mlb_ctx_free(&c);
}
END_TEST

static Suite *svm_suite(void)
{
    Suite *s = suite_create("svm");
    TCase *tc = tcase_create("svm");
    tcase_set_timeout(tc, 120);
    tcase_add_loop_test(tc, test_kernel_model_matches_sklearn, 0, N_KERNEL_CASES * N_NATIVES);
    tcase_add_test(tc, test_gamma_scale_matches_sklearn);
    tcase_add_loop_test(tc, test_tiny_cache_same_steps, 0, 6);
    tcase_add_loop_test(tc, test_linear_model_matches_sklearn, 0, N_LINEAR_CASES * N_NATIVES);
#ifdef SVM_HAVE_LIBSVM
    tcase_add_loop_test(tc, test_libsvm_matches_sklearn, 0, N_KERNEL_CASES);
#endif
#ifdef SVM_HAVE_LIBLINEAR
    tcase_add_loop_test(tc, test_liblinear_matches_sklearn, 0, N_LINEAR_CASES);
#endif
    tcase_add_test(tc, test_feasibility_catches_a_wrong_model);
    tcase_add_test(tc, test_nu_feasibility);
    tcase_add_loop_test(tc, test_dense_kernels_agree, 0, N_NATIVES);
    tcase_add_test(tc, test_kernel_functions);
    tcase_add_test(tc, test_rules_fit_params);
    tcase_add_test(tc, test_rules_reject_bad_values);
    tcase_add_loop_test(tc, test_phases_report_metrics, 0, 3 * N_NATIVES);
    tcase_add_test(tc, test_setup_rejects_bad_combinations);
    tcase_add_test(tc, test_teardown_without_fit);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(svm_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    cJSON_Delete(refs);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
