/* The regression maths with every variant's kernels, against scikit-learn's
 * fits of the diabetes data (tests/ref/regression/diabetes.txt, made by
 * make_ref.py there), and the variants against each other. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mlbench/data.h"
#include "regression.h"

#ifndef REG_REF_DIR
#error "REG_REF_DIR must be defined by the build"
#endif

#define MAX_REFS 32
#define D 10

typedef struct {
    char name[64];
    reg_algorithm algo;
    double alpha, l1_ratio, tol;
    int max_iter, n_iter;
    double objective, intercept, coef[D];
} ref_fit;

static ref_fit refs[MAX_REFS];
static int n_refs;
static mlb_dataset *diabetes;
static const reg_kernels *const all_kernels[] = {&reg_kernels_naive, &reg_kernels_openblas,
                                                 &reg_kernels_gsl};
#define N_KERNELS 3

static void load_refs(void)
{
    FILE *f = fopen(REG_REF_DIR "/diabetes.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[4096], algo[32];
    n_refs = 0;
    while (fgets(line, sizeof line, f) && n_refs < MAX_REFS) {
        if (line[0] == '#')
            continue;
        ref_fit *r = &refs[n_refs];
        int off = 0;
        if (sscanf(line, "%63s %31s %lf %lf %lf %d %d %lf %lf%n", r->name, algo, &r->alpha,
                   &r->l1_ratio, &r->tol, &r->max_iter, &r->n_iter, &r->objective, &r->intercept,
                   &off) != 9)
            continue;
        ck_assert_int_eq(reg_algorithm_parse(algo, &r->algo), 0);
        char *p = line + off;
        for (int j = 0; j < D; j++)
            r->coef[j] = strtod(p, &p);
        n_refs++;
    }
    fclose(f);
    ck_assert_int_ge(n_refs, 12);
}

static void setup(void)
{
    char err[512];
    load_refs();
    ck_assert_msg(mlb_dataset_load("diabetes", NULL, &diabetes, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(diabetes->d, D);
}

static void teardown(void)
{
    mlb_dataset_free(diabetes);
    diabetes = NULL;
}

static reg_config config_of(const ref_fit *r, int gram)
{
    reg_config c = {.algo = r->algo,
                    .alpha = r->alpha,
                    .l1_ratio = r->l1_ratio,
                    .tol = r->tol,
                    .max_iter = r->max_iter > 0 ? r->max_iter : 1000,
                    .gram = gram};
    return c;
}

/* Fits diabetes (all rows) with kernels k; returns reg_fit's code. */
static int fit(const reg_kernels *k, const reg_config *c, const mlb_dataset *ds, reg_model *m,
               char *err, size_t err_len)
{
    reg_work w;
    ck_assert_int_eq(reg_work_alloc(&w, k, c, ds->n, ds->d), 0);
    ck_assert_int_eq(reg_model_alloc(m, ds->d), 0);
    int rc = reg_fit(k, c, ds->X, ds->y, &w, m, err, err_len);
    reg_work_free(k, &w);
    return rc;
}

static void assert_rel(double got, double want, double tol, const char *what, const char *name,
                       const char *variant)
{
    ck_assert_msg(fabs(got - want) <= tol * fabs(want), "%s %s (%s): %.17g vs reference %.17g",
                  name, what, variant, got, want);
}

/* OLS and ridge coefficients to 1e-8 relative, each coefficient, with every
 * variant's kernels. */
START_TEST(test_direct_solves_match_sklearn)
{
    const reg_kernels *k = all_kernels[_i];
    int checked = 0;
    for (int r = 0; r < n_refs; r++) {
        if (refs[r].algo != REG_LINEAR && refs[r].algo != REG_RIDGE)
            continue;
        reg_config c = config_of(&refs[r], 0);
        reg_model m;
        char err[512];
        ck_assert_msg(fit(k, &c, diabetes, &m, err, sizeof err) == 0, "%s: %s", k->name, err);
        for (int j = 0; j < D; j++)
            assert_rel(m.coef[j], refs[r].coef[j], 1e-8, "coef", refs[r].name, k->name);
        assert_rel(m.intercept, refs[r].intercept, 1e-8, "intercept", refs[r].name, k->name);
        assert_rel(reg_objective(&c, diabetes->X, diabetes->y, diabetes->n, D, &m),
                   refs[r].objective, 1e-10, "objective", refs[r].name, k->name);
        reg_model_free(&m);
        checked++;
    }
    ck_assert_int_eq(checked, 4);
}
END_TEST

/* Lasso and elastic net: the objective to 1e-6 relative of scikit-learn's,
 * by both forms of coordinate descent; at scikit-learn's own tol the same
 * number of epochs (the same iterates, so the same stopping point). */
START_TEST(test_cd_matches_sklearn)
{
    const reg_kernels *k = all_kernels[_i / 2];
    int gram = _i % 2;
    int checked = 0;
    for (int r = 0; r < n_refs; r++) {
        if (refs[r].algo != REG_LASSO && refs[r].algo != REG_ENET)
            continue;
        reg_config c = config_of(&refs[r], gram);
        reg_model m;
        char err[512];
        ck_assert_msg(fit(k, &c, diabetes, &m, err, sizeof err) == 0, "%s: %s", k->name, err);
        const char *form = gram ? "gram" : "data";
        double obj = reg_objective(&c, diabetes->X, diabetes->y, diabetes->n, D, &m);
        ck_assert_msg(fabs(obj - refs[r].objective) <= 1e-6 * refs[r].objective,
                      "%s (%s, %s): objective %.17g vs %.17g", refs[r].name, k->name, form, obj,
                      refs[r].objective);
        ck_assert_msg(m.converged, "%s (%s, %s) did not converge", refs[r].name, k->name, form);
        ck_assert_msg(abs(m.n_iter - refs[r].n_iter) <= (refs[r].tol < 1e-8 ? 2 : 0),
                      "%s (%s, %s): %d epochs, scikit-learn %d", refs[r].name, k->name, form,
                      m.n_iter, refs[r].n_iter);
        if (refs[r].tol < 1e-8) /* at the optimum, the coefficients too */
            for (int j = 0; j < D; j++)
                ck_assert_msg(fabs(m.coef[j] - refs[r].coef[j]) <= 1e-6 * (1 + fabs(refs[r].coef[j])),
                              "%s coef %d (%s, %s): %.17g vs %.17g", refs[r].name, j, k->name,
                              form, m.coef[j], refs[r].coef[j]);
        reg_model_free(&m);
        checked++;
    }
    ck_assert_int_eq(checked, 8);
}
END_TEST

START_TEST(test_gsl_refuses_l1)
{
    reg_config c = {.algo = REG_LASSO, .alpha = 1, .l1_ratio = 1, .tol = 1e-4, .max_iter = 10};
    reg_model m;
    char err[512] = "";
    ck_assert_int_eq(fit(&reg_kernels_gsl, &c, diabetes, &m, err, sizeof err), -ENOTSUP);
    ck_assert_ptr_nonnull(strstr(err, "lasso"));
    ck_assert_ptr_nonnull(strstr(err, "GSL"));
    reg_model_free(&m);
}
END_TEST

START_TEST(test_singular_ols_is_an_error)
{
    /* A duplicated column: X^T X is singular, OLS must say so, ridge copes. */
    mlb_dataset *ds;
    mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION, .n_samples = 40, .n_features = 3,
                        .seed = 5, .noise = 1};
    char err[512];
    ck_assert_int_eq(mlb_data_synth(&o, &ds, err, sizeof err), 0);
    for (size_t i = 0; i < ds->n; i++)
        ds->X[i * 3 + 2] = ds->X[i * 3 + 1];
    for (int v = 0; v < 2; v++) { /* naive, openblas: the shared Cholesky path */
        reg_config c = {.algo = REG_LINEAR};
        reg_model m;
        ck_assert_int_lt(fit(all_kernels[v], &c, ds, &m, err, sizeof err), 0);
        ck_assert_ptr_nonnull(strstr(err, "singular"));
        reg_model_free(&m);
        c.algo = REG_RIDGE;
        c.alpha = 1.0;
        ck_assert_int_eq(fit(all_kernels[v], &c, ds, &m, err, sizeof err), 0);
        reg_model_free(&m);
    }
    mlb_dataset_free(ds);
}
END_TEST

/* Every variant gives the same answer on a larger synthetic problem, and
 * the two forms of coordinate descent agree. */
START_TEST(test_variants_agree_on_synthetic)
{
    mlb_dataset *ds;
    mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION, .n_samples = 3000, .n_features = 40,
                        .seed = 11, .noise = 5, .n_informative = 10};
    char err[512];
    ck_assert_int_eq(mlb_data_synth(&o, &ds, err, sizeof err), 0);
    for (int a = 0; a < REG_N_ALGOS; a++) {
        reg_config c = {.algo = (reg_algorithm)a, .alpha = 0.5, .l1_ratio = 0.3, .tol = 1e-10,
                        .max_iter = 100000};
        reg_model ref;
        ck_assert_int_eq(fit(&reg_kernels_naive, &c, ds, &ref, err, sizeof err), 0);
        double ref_obj = reg_objective(&c, ds->X, ds->y, ds->n, ds->d, &ref);
        for (int v = 0; v < N_KERNELS; v++) {
            for (int gram = 0; gram < 2; gram++) {
                const reg_kernels *k = all_kernels[v];
                if (!(k->algorithms & REG_ALGO_BIT(a)))
                    continue;
                c.gram = gram;
                reg_model m;
                ck_assert_msg(fit(k, &c, ds, &m, err, sizeof err) == 0, "%s", err);
                double obj = reg_objective(&c, ds->X, ds->y, ds->n, ds->d, &m);
                ck_assert_msg(fabs(obj - ref_obj) <= 1e-9 * ref_obj,
                              "%s %s gram=%d: objective %.17g vs naive %.17g",
                              reg_algorithm_name(c.algo), k->name, gram, obj, ref_obj);
                for (size_t j = 0; j < ds->d; j++)
                    ck_assert_msg(fabs(m.coef[j] - ref.coef[j]) <= 1e-6 * (1 + fabs(ref.coef[j])),
                                  "%s %s gram=%d coef %zu: %.17g vs %.17g",
                                  reg_algorithm_name(c.algo), k->name, gram, j, m.coef[j],
                                  ref.coef[j]);
                /* Predictions through each variant's gemv agree too. */
                double p1[8], p2[8];
                reg_predict(k, &m, ds->X, 8, ds->d, p1);
                reg_predict(&reg_kernels_naive, &ref, ds->X, 8, ds->d, p2);
                for (int i = 0; i < 8; i++)
                    ck_assert(fabs(p1[i] - p2[i]) <= 1e-8 * (1 + fabs(p2[i])));
                reg_model_free(&m);
            }
        }
        reg_model_free(&ref);
    }
    mlb_dataset_free(ds);
}
END_TEST

/* Scores against scikit-learn's r2_score, mean_squared_error and
 * mean_absolute_error of the OLS fit (the reference file's "scores" line). */
START_TEST(test_scores_match_sklearn)
{
    FILE *f = fopen(REG_REF_DIR "/diabetes.txt", "r");
    char line[4096];
    double r2 = NAN, rmse = NAN, mae = NAN;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "scores ols %lf %lf %lf", &r2, &rmse, &mae) == 3)
            break;
    fclose(f);
    ck_assert(!isnan(r2));
    const ref_fit *ols = NULL;
    for (int r = 0; r < n_refs; r++)
        if (refs[r].algo == REG_LINEAR)
            ols = &refs[r];
    ck_assert_ptr_nonnull(ols);
    reg_model m;
    ck_assert_int_eq(reg_model_alloc(&m, D), 0);
    memcpy(m.coef, ols->coef, sizeof ols->coef);
    m.intercept = ols->intercept;
    double *pred = malloc(diabetes->n * sizeof *pred);
    reg_predict(&reg_kernels_openblas, &m, diabetes->X, diabetes->n, D, pred);
    reg_scores s;
    reg_score(diabetes->y, pred, diabetes->n, &s);
    assert_rel(s.r2, r2, 1e-12, "r2", "ols", "openblas");
    assert_rel(s.rmse, rmse, 1e-12, "rmse", "ols", "openblas");
    assert_rel(s.mae, mae, 1e-12, "mae", "ols", "openblas");
    free(pred);
    reg_model_free(&m);
}
END_TEST

static Suite *regression_suite(void)
{
    Suite *s = suite_create("regression");
    TCase *tc = tcase_create("diabetes");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_loop_test(tc, test_direct_solves_match_sklearn, 0, N_KERNELS);
    tcase_add_loop_test(tc, test_cd_matches_sklearn, 0, 4); /* naive, openblas x data, gram */
    tcase_add_test(tc, test_gsl_refuses_l1);
    tcase_add_test(tc, test_singular_ols_is_an_error);
    tcase_add_test(tc, test_variants_agree_on_synthetic);
    tcase_add_test(tc, test_scores_match_sklearn);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(regression_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
