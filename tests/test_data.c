/* Data layer tests: the registry against values read by scikit-learn/NumPy
 * (tests/ref/data/, made by make_ref.py there), loaders on real and broken
 * files, generators, split, standardisation, views; the user's own files
 * by path (tests/data/datasets/) and the `data` subcommand. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "cmd_data.h"
#include "mlbench/data.h"
#include "mlbench/plugin.h"

#ifndef DATA_REF_DIR
#error "DATA_REF_DIR must be defined by the build"
#endif

static char tmpdir[256];
static char err[1024];

static void make_tmpdir(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mlb_test_data_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void remove_tmpdir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", tmpdir);
}

/* Writes bytes to tmpdir/name and returns the full path (static buffer
 * rotation: up to 4 live paths). */
static const char *write_file(const char *name, const void *data, size_t len)
{
    static char paths[4][512];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
    return p;
}

static const char *write_text(const char *name, const char *text)
{
    return write_file(name, text, strlen(text));
}

static const char *write_gz(const char *name, const void *data, size_t len)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", tmpdir, name);
    gzFile gz = gzopen(p, "wb");
    ck_assert_ptr_nonnull(gz);
    ck_assert_int_eq(gzwrite(gz, data, (unsigned)len), (int)len);
    gzclose(gz);
    return p;
}

static void assert_err_has(const char *needle)
{
    ck_assert_msg(strstr(err, needle) != NULL, "error '%s' lacks '%s'", err, needle);
}

static int rel_close(double a, double b, double tol)
{
    return fabs(a - b) <= tol * fmax(fabs(b), 1e-300) || a == b;
}

/* ---- Registry against scikit-learn ------------------------------------- */

START_TEST(test_registry_matches_sklearn)
{
    FILE *f = fopen(DATA_REF_DIR "/datasets.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        char name[64];
        size_t n, d;
        int k;
        double sx, sy, x00, xlast, y0, ylast;
        if (sscanf(line, "dataset %63s %zu %zu %d %lf %lf %lf %lf %lf %lf", name, &n, &d, &k, &sx,
                   &sy, &x00, &xlast, &y0, &ylast) != 10)
            continue;
        mlb_data_opts o = {0};
        char *colon = strchr(name, ':');
        if (colon) { /* "name:rows": a prefix */
            *colon = '\0';
            o.max_rows = (size_t)atol(colon + 1);
        }
        mlb_dataset *ds = NULL;
        int rc = mlb_dataset_load(name, &o, &ds, err, sizeof err);
        if (rc == -ENOENT && !strncmp(name, "fashion-mnist", 13)) {
            fprintf(stderr, "%s not installed (skipped): %s\n", name, err);
            continue;
        }
        ck_assert_msg(rc == 0, "%s: %s", name, err);
        ck_assert_str_eq(ds->name, name);
        ck_assert_uint_eq(ds->n, n);
        ck_assert_uint_eq(ds->d, d);
        ck_assert_int_eq(ds->n_classes, k);
        double tx = 0, ty = 0;
        for (size_t i = 0; i < n * d; i++)
            tx += ds->X[i];
        for (size_t i = 0; i < n; i++)
            ty += ds->y[i];
        ck_assert_msg(rel_close(tx, sx, 1e-12), "%s: sum X %.17g vs %.17g", name, tx, sx);
        ck_assert_msg(rel_close(ty, sy, 1e-12), "%s: sum y %.17g vs %.17g", name, ty, sy);
        ck_assert_double_eq(ds->X[0], x00);
        ck_assert_double_eq(ds->X[n * d - 1], xlast);
        ck_assert_double_eq(ds->y[0], y0);
        ck_assert_double_eq(ds->y[n - 1], ylast);
        if (k > 0)
            ck_assert_ptr_nonnull(ds->class_names);
        mlb_dataset_free(ds);
        checked++;
    }
    fclose(f);
    ck_assert_int_ge(checked, 6);
}
END_TEST

START_TEST(test_registry_metadata)
{
    mlb_dataset *ds;
    ck_assert_int_eq(mlb_dataset_load("diabetes", NULL, &ds, err, sizeof err), 0);
    ck_assert_str_eq(ds->feature_names[2], "bmi");
    ck_assert_str_eq(ds->target_name, "progression");
    mlb_dataset_free(ds);
    ck_assert_int_eq(mlb_dataset_load("iris", NULL, &ds, err, sizeof err), 0);
    ck_assert_str_eq(ds->class_names[2], "virginica");
    ck_assert_str_eq(ds->feature_names[3], "petal width (cm)");
    mlb_dataset_free(ds);
    ck_assert_int_eq(mlb_dataset_load("digits", NULL, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds->channels, 1);
    ck_assert_uint_eq(ds->height, 8);
    ck_assert_uint_eq(ds->width, 8);
    mlb_dataset_free(ds);
    ck_assert_int_eq(mlb_dataset_load("heart_scale", NULL, &ds, err, sizeof err), 0);
    ck_assert_str_eq(ds->class_names[0], "-1");
    ck_assert_str_eq(ds->class_names[1], "+1");
    mlb_dataset_free(ds);
    ck_assert_uint_ge(mlb_dataset_count(), 8);
    ck_assert_ptr_nonnull(mlb_dataset_summary(0));
    ck_assert_ptr_null(mlb_dataset_name(mlb_dataset_count()));
}
END_TEST

START_TEST(test_registry_fashion_mnist)
{
    char path[4096];
    if (mlb_data_find("fashion-mnist/train-images-idx3-ubyte.gz", path, sizeof path, err,
                      sizeof err) != 0) {
        fprintf(stderr, "fashion-mnist not installed: %s (skipped)\n", err);
        return;
    }
    mlb_dataset *ds;
    mlb_data_opts o = {.dtype = MLB_DTYPE_F32, .max_rows = 500, .image_unit = 1};
    ck_assert_msg(mlb_dataset_load("fashion-mnist", &o, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 500);
    ck_assert_uint_eq(ds->d, 784);
    ck_assert_ptr_null(ds->X);
    ck_assert_ptr_nonnull(ds->X32);
    ck_assert_uint_eq(ds->channels * ds->height * ds->width, 784);
    ck_assert_int_eq(ds->n_classes, 10);
    ck_assert_str_eq(ds->class_names[9], "Ankle boot");
    for (size_t i = 0; i < ds->n * ds->d; i++)
        ck_assert(ds->X32[i] >= 0.0f && ds->X32[i] <= 1.0f);
    ck_assert_int_eq(mlb_data_view_f64(ds), 0);
    ck_assert_double_eq(ds->X[783], (double)ds->X32[783]);
    mlb_dataset_free(ds);
}
END_TEST

START_TEST(test_registry_unknown_lists_known)
{
    mlb_dataset *ds = (mlb_dataset *)1;
    ck_assert_int_eq(mlb_dataset_load("no-such-data", NULL, &ds, err, sizeof err), -ENOENT);
    ck_assert_ptr_null(ds);
    assert_err_has("no-such-data");
    for (size_t i = 0; i < mlb_dataset_count(); i++)
        assert_err_has(mlb_dataset_name(i));
}
END_TEST

START_TEST(test_registry_data_path)
{
    make_tmpdir();
    write_text("iris.csv", "2,1,a,b\n1.5,0\n2.5,1\n");
    setenv("MLBENCH_DATA_PATH", tmpdir, 1); /* Check forks: the change stays in this test */
    mlb_dataset *ds;
    /* iris has 4 features: the registry notices the impostor's shape */
    ck_assert_int_lt(mlb_dataset_load("iris", NULL, &ds, err, sizeof err), 0);
    assert_err_has(tmpdir);
    char path[4096];
    ck_assert_int_eq(mlb_data_find("iris.csv", path, sizeof path, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(path, tmpdir));
    ck_assert_int_eq(mlb_data_find("nothing-here.csv", path, sizeof path, err, sizeof err),
                     -ENOENT);
    assert_err_has(tmpdir);
    unsetenv("MLBENCH_DATA_PATH");
    remove_tmpdir();
}
END_TEST

/* ---- CSV --------------------------------------------------------------- */

START_TEST(test_csv_header_and_targets)
{
    make_tmpdir();
    const char *p = write_text("a.csv", "a, b ,t\r\n1,2,3\r\n\r\n4,5e0,-6.5\r\n");
    mlb_dataset *ds;
    mlb_data_opts o = {.has_header = 1};
    ck_assert_msg(mlb_data_load_csv(p, &o, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_uint_eq(ds->d, 2);
    ck_assert_double_eq(ds->X[3], 5.0);
    ck_assert_double_eq(ds->y[1], -6.5);
    ck_assert_str_eq(ds->feature_names[1], "b");
    ck_assert_str_eq(ds->target_name, "t");
    mlb_dataset_free(ds);

    o.target_col = 1; /* the first column */
    ck_assert_int_eq(mlb_data_load_csv(p, &o, &ds, err, sizeof err), 0);
    ck_assert_double_eq(ds->y[1], 4.0);
    ck_assert_double_eq(ds->X[2], 5.0);
    ck_assert_str_eq(ds->target_name, "a");
    mlb_dataset_free(ds);

    o.target_col = MLB_CSV_NO_TARGET;
    ck_assert_int_eq(mlb_data_load_csv(p, &o, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds->d, 3);
    ck_assert_double_eq(ds->y[0], 0.0);
    mlb_dataset_free(ds);

    o.target_col = 4;
    ck_assert_int_lt(mlb_data_load_csv(p, &o, &ds, err, sizeof err), 0);
    assert_err_has("target column 4");

    /* No header, blank-separated, gzip, target last, f32, a row limit. */
    const char text[] = "  1  2\t3\n4 5 6\n7 8 9\n";
    p = write_gz("b.txt.gz", text, sizeof text - 1);
    mlb_data_opts o2 = {.delimiter = ' ', .dtype = MLB_DTYPE_F32, .max_rows = 2};
    ck_assert_msg(mlb_data_load_csv(p, &o2, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_ptr_null(ds->X);
    ck_assert(ds->X32[2] == 4.0f);
    ck_assert_double_eq(ds->y[1], 6.0);
    mlb_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

/* A UTF-8 byte order mark before line 1 (spreadsheet exports) is dropped:
 * it must neither make the first cell unreadable nor end up in the first
 * header name. Elsewhere it is not a number, as before. */
START_TEST(test_csv_bom)
{
    make_tmpdir();
    mlb_dataset *ds;
    const char *p = write_text("bom.csv", "\xEF\xBB\xBF" "1,2,3\n4,5,6\n");
    ck_assert_msg(mlb_data_load_csv(p, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_double_eq(ds->X[0], 1.0);
    ck_assert_double_eq(ds->y[0], 3.0);
    mlb_dataset_free(ds);

    p = write_text("bomh.csv", "\xEF\xBB\xBF" "a,b,t\r\n1,2,3\r\n");
    mlb_data_opts o = {.has_header = 1};
    ck_assert_msg(mlb_data_load_csv(p, &o, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(ds->feature_names[0], "a");
    ck_assert_str_eq(ds->target_name, "t");
    mlb_dataset_free(ds);

    /* Gzip-compressed, and the LIBSVM reader shares the text reader. */
    static const char gz[] = "\xEF\xBB\xBF" "7 8\n";
    p = write_gz("bom.txt.gz", gz, sizeof gz - 1);
    mlb_data_opts o2 = {.delimiter = ' '};
    ck_assert_msg(mlb_data_load_csv(p, &o2, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(ds->X[0], 7.0);
    mlb_dataset_free(ds);
    p = write_text("bom.svm", "\xEF\xBB\xBF" "+1 1:0.5\n-1 2:2\n");
    ck_assert_msg(mlb_data_load_libsvm(p, 0, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_double_eq(ds->y[0], 1.0);
    mlb_dataset_free(ds);

    /* Only at the start of the file. */
    p = write_text("bom2.csv", "1,2,3\n\xEF\xBB\xBF" "4,5,6\n");
    ck_assert_int_lt(mlb_data_load_csv(p, NULL, &ds, err, sizeof err), 0);
    assert_err_has(":2:1:");
    remove_tmpdir();
}
END_TEST

/* Each broken file must fail with its place named. */
START_TEST(test_csv_broken)
{
    make_tmpdir();
    static const struct {
        const char *text;
        const char *where, *what;
    } cases[] = {
        {"1,2,3\n4,5\n", ":2:", "ragged"},
        {"1,abc,3\n", ":1:3:", "not a finite"},
        {"1,2,3\n1,nan,3\n", ":2:3:", "nan"},
        {"1,inf,3\n", ":1:3:", "inf"},
        {"1,1e999,3\n", ":1:3:", "1e999"},
        {"1,0x10,3\n", ":1:3:", "0x10"},
        {"1,,3\n", ":1:3:", "empty cell"},
        {"1,2,\n", ":1:5:", "empty cell"},
        {"", "", "no data rows"},
        {"\n\n", "", "no data rows"},
        {"5\n", ":1:", "one column"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *p = write_text("bad.csv", cases[i].text);
        mlb_dataset *ds = (mlb_dataset *)1;
        err[0] = '\0';
        ck_assert_msg(mlb_data_load_csv(p, NULL, &ds, err, sizeof err) < 0, "case %zu loaded", i);
        ck_assert_ptr_null(ds);
        assert_err_has(p);
        assert_err_has(cases[i].where);
        assert_err_has(cases[i].what);
    }
    /* A label that is not a class index. */
    const char *p = write_text("lab.csv", "1,2,0\n1,2,1.5\n");
    mlb_data_opts o = {.classify = 1};
    mlb_dataset *ds;
    ck_assert_int_lt(mlb_data_load_csv(p, &o, &ds, err, sizeof err), 0);
    assert_err_has(":2:5:");
    /* A NUL byte: binary data where text belongs. */
    p = write_file("nul.csv", "1,2\n3,\0004\n", 8);
    ck_assert_int_lt(mlb_data_load_csv(p, NULL, &ds, err, sizeof err), 0);
    assert_err_has(":2:3:");
    assert_err_has("NUL");
    /* A missing file. */
    ck_assert_int_eq(mlb_data_load_csv("/nonexistent/x.csv", NULL, &ds, err, sizeof err),
                     -ENOENT);
    assert_err_has("/nonexistent/x.csv");
    remove_tmpdir();
}
END_TEST

START_TEST(test_csv_truncated_gzip)
{
    make_tmpdir();
    /* 2000 rows compress well; cut the gzip stream in the middle. */
    size_t cap = 64 * 1024, len = 0;
    char *text = malloc(cap);
    for (int i = 0; i < 2000; i++)
        len += (size_t)snprintf(text + len, cap - len, "%d,%d.25,%d\n", i, i * 3, i % 7);
    const char *p = write_gz("t.csv.gz", text, len);
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq(truncate(p, size / 2), 0);
    mlb_dataset *ds;
    ck_assert_int_lt(mlb_data_load_csv(p, NULL, &ds, err, sizeof err), 0);
    assert_err_has("truncated gzip");
    free(text);
    remove_tmpdir();
}
END_TEST

START_TEST(test_sklearn_layout)
{
    make_tmpdir();
    const char *p = write_text("s.csv", "3,2,cat,dog\n1,2,0\n3,4,1\n5,6,1\n");
    mlb_dataset *ds;
    ck_assert_msg(mlb_data_load_sklearn_csv(p, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 3);
    ck_assert_int_eq(ds->n_classes, 2);
    ck_assert_str_eq(ds->class_names[1], "dog");
    mlb_dataset_free(ds);
    static const struct {
        const char *text, *what;
    } bad[] = {
        {"5,2,a,b\n1,2,0\n3,4,1\n", "announces 5 rows"},   /* truncated */
        {"2,2,a,b\n1,2,0\n3,4,1\n5,6,1\n", "more rows"},    /* too many */
        {"2,2,a,b\n1,2,0\n3,4,2\n", "class label"},         /* label beyond the names */
        {"2,2,a,b\n1,2,0\n3,1\n", "ragged"},
        {"99999999999999999999999,2,a\n1,2,0\n", "n_samples"},
        {"300000000,4,a\n1,2,3,4,0\n", "beyond the limits"}, /* 2^28 rows max */
        {"10,2000000,a\n1,2,0\n", "beyond the limits"},
        {"2,-2,a\n", "n_features"},
        {"x,y\n", "n_samples"},
        {"0,3\n", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_text("bad.csv", bad[i].text);
        ck_assert_msg(mlb_data_load_sklearn_csv(p, NULL, &ds, err, sizeof err) < 0,
                      "case %zu loaded", i);
        assert_err_has(bad[i].what);
        assert_err_has(p);
    }
    remove_tmpdir();
}
END_TEST

/* ---- LIBSVM ------------------------------------------------------------ */

START_TEST(test_libsvm)
{
    make_tmpdir();
    const char *p = write_text("l.svm", "+1 1:0.5 3:-2\n-1 2:1e1\n\n+1 # comment\n");
    mlb_dataset *ds;
    mlb_data_opts o = {.classify = 1};
    ck_assert_msg(mlb_data_load_libsvm(p, 0, &o, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 3);
    ck_assert_uint_eq(ds->d, 3);
    ck_assert_double_eq(ds->X[0], 0.5);
    ck_assert_double_eq(ds->X[1], 0.0);
    ck_assert_double_eq(ds->X[2], -2.0);
    ck_assert_double_eq(ds->X[4], 10.0);
    ck_assert_double_eq(ds->y[0], 1.0);
    ck_assert_double_eq(ds->y[1], 0.0);
    ck_assert_int_eq(ds->n_classes, 2);
    mlb_dataset_free(ds);
    /* n_features widens; regression labels stay as read. */
    ck_assert_int_eq(mlb_data_load_libsvm(p, 5, NULL, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds->d, 5);
    ck_assert_double_eq(ds->y[1], -1.0);
    mlb_dataset_free(ds);

    static const struct {
        const char *text, *where, *what;
    } bad[] = {
        {"1 2:1 2:3\n", ":1:7:", "increase"},
        {"1 3:1 2:3\n", ":1:7:", "increase"},
        {"1 0:1\n", ":1:3:", "index 0"},
        {"1 1:x\n", ":1:5:", "not a finite"},
        {"1 1:nan\n", ":1:5:", "not a finite"},
        {"abc 1:1\n", ":1:1:", "label"},
        {"1 1:1\n1 5\n", ":2:3:", "index:value"},
        {"1 4000000000:1\n", ":1:3:", "beyond the limit"},
        {"", "", "no data rows"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p = write_text("bad.svm", bad[i].text);
        ck_assert_msg(mlb_data_load_libsvm(p, 0, NULL, &ds, err, sizeof err) < 0,
                      "case %zu loaded", i);
        assert_err_has(bad[i].where);
        assert_err_has(bad[i].what);
    }
    remove_tmpdir();
}
END_TEST

/* ---- IDX --------------------------------------------------------------- */

static size_t idx_header(unsigned char *b, unsigned char type, int ndim, const uint32_t *dims)
{
    b[0] = 0;
    b[1] = 0;
    b[2] = type;
    b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) {
        b[4 + 4 * i] = (unsigned char)(dims[i] >> 24);
        b[5 + 4 * i] = (unsigned char)(dims[i] >> 16);
        b[6 + 4 * i] = (unsigned char)(dims[i] >> 8);
        b[7 + 4 * i] = (unsigned char)dims[i];
    }
    return 4 + 4 * (size_t)ndim;
}

START_TEST(test_idx_valid)
{
    make_tmpdir();
    unsigned char img[64], lab[16];
    uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    size_t hi = idx_header(img, 0x08, 3, idims), hl = idx_header(lab, 0x08, 1, ldims);
    for (int i = 0; i < 12; i++)
        img[hi + i] = (unsigned char)(i * 20);
    lab[hl] = 2;
    lab[hl + 1] = 0;
    lab[hl + 2] = 4;
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s", write_gz("i.gz", img, hi + 12));
    snprintf(lp, sizeof lp, "%s", write_file("l.idx", lab, hl + 3)); /* plain, mixed */
    mlb_dataset *ds;
    ck_assert_msg(mlb_data_load_idx(ip, lp, NULL, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(ds->n, 3);
    ck_assert_uint_eq(ds->d, 4);
    ck_assert_uint_eq(ds->height, 2);
    ck_assert_uint_eq(ds->channels, 1);
    ck_assert_double_eq(ds->X[11], 220.0);
    ck_assert_double_eq(ds->y[2], 4.0);
    ck_assert_int_eq(ds->n_classes, 5);
    mlb_dataset_free(ds);
    mlb_data_opts o = {.image_unit = 1, .dtype = MLB_DTYPE_F32, .max_rows = 2};
    ck_assert_int_eq(mlb_data_load_idx(ip, lp, &o, &ds, err, sizeof err), 0);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert(fabsf(ds->X32[7] - 140.0f / 255.0f) < 1e-7f);
    mlb_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

/* A max_rows slice keeps the file's classes: the first two labels (2, 0)
 * lack the top class 4, which only the third row has. */
START_TEST(test_idx_slice_keeps_classes)
{
    make_tmpdir();
    unsigned char img[64], lab[16];
    uint32_t idims[3] = {3, 2, 2}, ldims[1] = {3};
    size_t hi = idx_header(img, 0x08, 3, idims), hl = idx_header(lab, 0x08, 1, ldims);
    memset(img + hi, 7, 12);
    lab[hl] = 2;
    lab[hl + 1] = 0;
    lab[hl + 2] = 4;
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s", write_file("i.idx", img, hi + 12));
    snprintf(lp, sizeof lp, "%s", write_gz("l.gz", lab, hl + 3));
    mlb_dataset *ds;
    for (size_t rows = 1; rows <= 3; rows++) {
        mlb_data_opts o = {.max_rows = rows};
        ck_assert_msg(mlb_data_load_idx(ip, lp, &o, &ds, err, sizeof err) == 0, "%s", err);
        ck_assert_uint_eq(ds->n, rows);
        ck_assert_int_eq(ds->n_classes, 5);
        ck_assert_double_eq(ds->y[0], 2.0);
        mlb_dataset_free(ds);
    }
    /* The whole labels file is read, so its faults show in a slice too. */
    snprintf(lp, sizeof lp, "%s", write_file("l2.idx", lab, hl + 2));
    mlb_data_opts o = {.max_rows = 1};
    ck_assert_int_lt(mlb_data_load_idx(ip, lp, &o, &ds, err, sizeof err), 0);
    assert_err_has("truncated");
    remove_tmpdir();
}
END_TEST

START_TEST(test_idx_broken)
{
    make_tmpdir();
    unsigned char lab[16];
    uint32_t ldims[1] = {2};
    size_t hl = idx_header(lab, 0x08, 1, ldims);
    lab[hl] = lab[hl + 1] = 1;
    char lp[512];
    snprintf(lp, sizeof lp, "%s", write_file("l.idx", lab, hl + 2));

    unsigned char b[64];
    mlb_dataset *ds;
    uint32_t ok[3] = {2, 2, 2};
    size_t h;

    /* bad magic */
    h = idx_header(b, 0x08, 3, ok);
    b[0] = 0x1f;
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 8), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("magic");
    assert_err_has("byte 0");
    /* unsupported element type */
    h = idx_header(b, 0x0D, 3, ok);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 32), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("float");
    /* truncated header, truncated data */
    h = idx_header(b, 0x08, 3, ok);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, 9), lp, NULL, &ds, err, sizeof err), 0);
    assert_err_has("truncated");
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 5), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("truncated at byte 21");
    /* trailing data: the header understates the size */
    memset(b + h, 7, 10);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 10), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("past the size");
    /* label count differs */
    uint32_t three[3] = {3, 2, 2};
    h = idx_header(b, 0x08, 3, three);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 12), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("2 labels for the 3 images");
    /* absurd sizes: rejected from the header alone */
    uint32_t huge[3] = {0xffffffffu, 0xffff, 0xffff};
    h = idx_header(b, 0x08, 3, huge);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 4), lp, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("beyond the limits");
    /* plausible but lying: 10^6 images announced, 2 present: fails on the
     * missing data, having allocated only what arrived */
    uint32_t lie[3] = {1000000, 28, 28};
    h = idx_header(b, 0x08, 3, lie);
    uint32_t lie_l[1] = {1000000};
    size_t hl2 = idx_header(lab, 0x08, 1, lie_l);
    char lp2[512];
    snprintf(lp2, sizeof lp2, "%s", write_file("l2.idx", lab, hl2 + 2));
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h + 20), lp2, NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("truncated");
    /* zero dimension; wrong number of dimensions for labels */
    uint32_t zero[3] = {2, 0, 2};
    h = idx_header(b, 0x08, 3, zero);
    ck_assert_int_lt(mlb_data_load_idx(write_file("i", b, h), lp, NULL, &ds, err, sizeof err), 0);
    assert_err_has("dimension 1 is 0");
    h = idx_header(b, 0x08, 3, ok);
    ck_assert_int_lt(mlb_data_load_idx(lp, write_file("i", b, h + 8), NULL, &ds, err, sizeof err),
                     0);
    assert_err_has("1 dimensions, expected 2 to 4");
    remove_tmpdir();
}
END_TEST

/* ---- Generators -------------------------------------------------------- */

START_TEST(test_synth_reference_coefficients)
{
    FILE *f = fopen(DATA_REF_DIR "/datasets.txt", "r");
    ck_assert_ptr_nonnull(f);
    char line[4096];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long seed;
        int d, off;
        if (sscanf(line, "synth_coef %llu %d%n", &seed, &d, &off) != 2)
            continue;
        double coef[16];
        mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION, .n_samples = 3,
                            .n_features = (size_t)d, .seed = seed, .coef_out = coef};
        mlb_dataset *ds;
        ck_assert_int_eq(mlb_data_synth(&o, &ds, err, sizeof err), 0);
        char *p = line + off;
        for (int j = 0; j < d; j++) {
            double ref = strtod(p, &p);
            ck_assert_msg(coef[j] == ref, "seed %llu coef %d: %.17g vs %.17g", seed, j, coef[j],
                          ref);
        }
        mlb_dataset_free(ds);
        checked++;
    }
    fclose(f);
    ck_assert_int_eq(checked, 3);
}
END_TEST

START_TEST(test_synth_properties)
{
    mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION, .n_samples = 20000, .n_features = 5,
                        .seed = 7, .noise = 0};
    double coef[5];
    o.coef_out = coef;
    mlb_dataset *a, *b;
    ck_assert_int_eq(mlb_data_synth(&o, &a, err, sizeof err), 0);
    ck_assert_int_eq(mlb_data_synth(&o, &b, err, sizeof err), 0);
    ck_assert_mem_eq(a->X, b->X, a->n * a->d * sizeof(double));
    ck_assert_mem_eq(a->y, b->y, a->n * sizeof(double));
    /* Without noise y is exactly X coef. */
    for (size_t i = 0; i < 10; i++) {
        double t = 0;
        for (size_t j = 0; j < 5; j++)
            t += a->X[i * 5 + j] * coef[j];
        ck_assert_double_eq(a->y[i], t);
    }
    double mean[5], sd[5];
    ck_assert_int_eq(mlb_data_moments(a, mean, sd), 0);
    for (int j = 0; j < 5; j++) {
        ck_assert(fabs(mean[j]) < 0.03);
        ck_assert(fabs(sd[j] - 1) < 0.03);
    }
    mlb_dataset_free(b);
    o.seed = 8;
    ck_assert_int_eq(mlb_data_synth(&o, &b, err, sizeof err), 0);
    ck_assert(memcmp(a->X, b->X, 5 * sizeof(double)) != 0);
    mlb_dataset_free(a);
    mlb_dataset_free(b);

    mlb_synth_opts c = {.kind = MLB_SYNTH_CLASSIFICATION, .n_samples = 301, .n_features = 3,
                        .seed = 1, .n_classes = 3};
    ck_assert_int_eq(mlb_data_synth(&c, &a, err, sizeof err), 0);
    ck_assert_int_eq(a->n_classes, 3);
    int counts[3] = {0};
    for (size_t i = 0; i < a->n; i++)
        counts[(int)a->y[i]]++;
    ck_assert_int_eq(counts[0], 101);
    ck_assert_int_eq(counts[2], 100);
    mlb_dataset_free(a);
    c.kind = MLB_SYNTH_BLOBS;
    c.n_classes = 0;
    ck_assert_int_eq(mlb_data_synth(&c, &a, err, sizeof err), 0);
    ck_assert_int_eq(a->n_classes, 3);
    mlb_dataset_free(a);

    c.n_classes = 1;
    ck_assert_int_lt(mlb_data_synth(&c, &a, err, sizeof err), 0);
    assert_err_has("n_classes");
    mlb_synth_opts big = {.kind = MLB_SYNTH_REGRESSION, .n_samples = (size_t)1 << 40,
                          .n_features = 1000};
    ck_assert_int_lt(mlb_data_synth(&big, &a, err, sizeof err), 0);
    assert_err_has("beyond the limits");
}
END_TEST

/* ---- Split, standardise, views, CSV round trip ------------------------- */

START_TEST(test_split)
{
    mlb_dataset *ds, *tr, *te, *tr2, *te2;
    ck_assert_int_eq(mlb_dataset_load("iris", NULL, &ds, err, sizeof err), 0);
    for (size_t i = 0; i < ds->n; i++)
        ds->y[i] = (double)i; /* row ids, to follow the rows */
    ck_assert_int_eq(mlb_data_split(ds, 0.25, 42, &tr, &te, err, sizeof err), 0);
    ck_assert_uint_eq(te->n, 38); /* round(37.5) */
    ck_assert_uint_eq(tr->n, 112);
    int seen[150] = {0};
    for (size_t i = 0; i < tr->n; i++) {
        size_t id = (size_t)tr->y[i];
        seen[id]++;
        ck_assert_mem_eq(tr->X + i * 4, ds->X + id * 4, 4 * sizeof(double));
    }
    for (size_t i = 0; i < te->n; i++)
        seen[(size_t)te->y[i]]++;
    for (int i = 0; i < 150; i++)
        ck_assert_int_eq(seen[i], 1);
    ck_assert_str_eq(tr->class_names[0], "setosa");
    ck_assert_int_eq(mlb_data_split(ds, 0.25, 42, &tr2, &te2, err, sizeof err), 0);
    ck_assert_mem_eq(te->y, te2->y, te->n * sizeof(double));
    mlb_dataset_free(tr2);
    mlb_dataset_free(te2);
    ck_assert_int_eq(mlb_data_split(ds, 0.25, 43, &tr2, &te2, err, sizeof err), 0);
    ck_assert(memcmp(te->y, te2->y, te->n * sizeof(double)) != 0);
    mlb_dataset_free(tr2);
    mlb_dataset_free(te2);
    ck_assert_int_lt(mlb_data_split(ds, 1.0, 1, &tr2, &te2, err, sizeof err), 0);
    assert_err_has("test_fraction");
    mlb_dataset_free(tr);
    mlb_dataset_free(te);

    mlb_dataset *sub;
    ck_assert_int_eq(mlb_data_subset(ds, 10, 5, &sub), 0);
    ck_assert_double_eq(sub->y[0], 10.0);
    mlb_dataset_free(sub);
    ck_assert_int_eq(mlb_data_subset(ds, 148, 5, &sub), -ERANGE);
    mlb_dataset_free(ds);
}
END_TEST

START_TEST(test_standardize_against_numpy)
{
    mlb_dataset *ds;
    ck_assert_int_eq(mlb_dataset_load("iris", NULL, &ds, err, sizeof err), 0);
    double mean[4], sd[4];
    ck_assert_int_eq(mlb_data_moments(ds, mean, sd), 0);
    FILE *f = fopen(DATA_REF_DIR "/datasets.txt", "r");
    char line[512];
    int checked = 0;
    while (fgets(line, sizeof line, f)) {
        int j;
        double m, s;
        if (sscanf(line, "moments iris %d %lf %lf", &j, &m, &s) != 3)
            continue;
        ck_assert_msg(rel_close(mean[j], m, 1e-14), "mean %d", j);
        ck_assert_msg(rel_close(sd[j], s, 1e-14), "std %d", j);
        checked++;
    }
    fclose(f);
    ck_assert_int_eq(checked, 4);
    ck_assert_int_eq(mlb_data_view_f32(ds), 0);
    ck_assert(ds->X32[0] == (float)ds->X[0]);
    ck_assert_int_eq(mlb_data_standardize(ds, NULL, NULL), 0);
    ck_assert_int_eq(mlb_data_moments(ds, mean, sd), 0);
    for (int j = 0; j < 4; j++) {
        ck_assert(fabs(mean[j]) < 1e-14);
        ck_assert(fabs(sd[j] - 1) < 1e-14);
    }
    /* Both views were transformed. */
    ck_assert(fabsf(ds->X32[5] - (float)ds->X[5]) < 1e-6f);
    mlb_dataset_free(ds);
}
END_TEST

START_TEST(test_write_csv_round_trip)
{
    make_tmpdir();
    mlb_synth_opts o = {.kind = MLB_SYNTH_REGRESSION, .n_samples = 50, .n_features = 3,
                        .seed = 3, .noise = 1.5};
    mlb_dataset *a, *b;
    ck_assert_int_eq(mlb_data_synth(&o, &a, err, sizeof err), 0);
    char path[512];
    snprintf(path, sizeof path, "%s/rt.csv", tmpdir);
    ck_assert_int_eq(mlb_data_write_csv(a, path, err, sizeof err), 0);
    mlb_data_opts lo = {.has_header = 1};
    ck_assert_msg(mlb_data_load_csv(path, &lo, &b, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(b->n, 50);
    ck_assert_mem_eq(a->X, b->X, 150 * sizeof(double));
    ck_assert_mem_eq(a->y, b->y, 50 * sizeof(double));
    ck_assert_str_eq(b->feature_names[2], "x2");
    mlb_dataset_free(a);
    mlb_dataset_free(b);
    remove_tmpdir();
}
END_TEST

/* ---- The user's own files (mlb_dataset_load by path) -------------------- */

#define DATASETS_DIR DATA_REF_DIR "/../../data/datasets"

/* File options as a caller fills them: FOPTS(.target_name = "a"). */
#define FOPTS(...) (&(mlb_data_file_opts){sizeof(mlb_data_file_opts), __VA_ARGS__})

/* Loads name through the registry-or-path entry point, asserting success;
 * f: the file options (NULL: mlb_dataset_load itself). */
static mlb_dataset *load_ok_f(const char *name, const mlb_data_opts *o,
                              const mlb_data_file_opts *f)
{
    mlb_dataset *ds = NULL;
    err[0] = '\0';
    int rc = f ? mlb_dataset_load_file_opts(name, o, f, &ds, err, sizeof err)
               : mlb_dataset_load(name, o, &ds, err, sizeof err);
    ck_assert_msg(rc == 0, "%s: %s", name, err);
    ck_assert_ptr_nonnull(ds);
    return ds;
}

static mlb_dataset *load_ok(const char *name, const mlb_data_opts *o)
{
    return load_ok_f(name, o, NULL);
}

/* Asserts that name fails, that nothing is handed back, and that the error
 * names `where` (the file and its place) and `what`. */
static void load_fails_f(const char *name, const mlb_data_opts *o, const mlb_data_file_opts *f,
                         const char *where, const char *what)
{
    mlb_dataset *ds = (mlb_dataset *)1;
    err[0] = '\0';
    int rc = f ? mlb_dataset_load_file_opts(name, o, f, &ds, err, sizeof err)
               : mlb_dataset_load(name, o, &ds, err, sizeof err);
    ck_assert_msg(rc < 0, "%s loaded", name);
    ck_assert_ptr_null(ds);
    assert_err_has(where);
    assert_err_has(what);
}

static void load_fails(const char *name, const mlb_data_opts *o, const char *where,
                       const char *what)
{
    load_fails_f(name, o, NULL, where, what);
}

START_TEST(test_file_csv_string_classes)
{
    const char *p = DATASETS_DIR "/species.csv";
    mlb_data_opts o = {.classify = 1};
    mlb_dataset *ds = load_ok(p, &o);
    ck_assert_str_eq(ds->name, p);
    ck_assert_uint_eq(ds->n, 9);
    ck_assert_uint_eq(ds->d, 4);
    ck_assert_int_eq(ds->n_classes, 3);
    ck_assert_str_eq(ds->class_names[0], "setosa");
    ck_assert_str_eq(ds->class_names[2], "virginica");
    ck_assert_double_eq(ds->y[0], 0.0);
    ck_assert_double_eq(ds->y[3], 1.0);
    ck_assert_double_eq(ds->y[8], 2.0);
    ck_assert_double_eq(ds->X[0], 5.1);
    ck_assert_str_eq(ds->feature_names[3], "petal_width");
    ck_assert_str_eq(ds->target_name, "species");
    mlb_dataset_free(ds);

    /* Regression on a named numeric column; the string column is then a
     * feature, and refused with its place. */
    load_fails_f(p, NULL, FOPTS(.target_name = "sepal_length"), "species.csv:2:17:",
                 "'setosa' is not a finite decimal number (column 5)");
    /* Without classify the string target is refused with a hint. */
    load_fails(p, NULL, "species.csv:2:17:", "class labels need classification");
    /* By index, and names that do not exist. */
    ds = load_ok_f(p, &o, FOPTS(.target_name = "5"));
    ck_assert_int_eq(ds->n_classes, 3);
    mlb_dataset_free(ds);
    load_fails_f(p, NULL, FOPTS(.target_name = "colour"), "species.csv:1:",
                 "no column named 'colour'");
    load_fails_f(p, NULL, FOPTS(.target_name = "9"), "species.csv:1:",
                 "target column 9, but the header has 5");
    /* header=false: the header line is data, so its words are refused. */
    load_fails_f(p, &o, FOPTS(.header_mode = MLB_HEADER_NO), "species.csv:1:1:",
                 "'sepal_length' is not a finite");
    /* has_header of mlb_data_opts still says yes (header_mode 0). */
    mlb_data_opts hdr = {.has_header = 1, .classify = 1};
    ds = load_ok_f(p, &hdr, FOPTS(.header_mode = 0));
    ck_assert_uint_eq(ds->n, 9);
    mlb_dataset_free(ds);
    /* format=csv given explicitly reads the same. */
    ds = load_ok_f(p, &o, FOPTS(.format = "csv"));
    ck_assert_uint_eq(ds->n, 9);
    mlb_dataset_free(ds);
}
END_TEST

START_TEST(test_file_csv_layouts)
{
    make_tmpdir();
    mlb_dataset *ds;
    mlb_data_opts cls = {.classify = 1};
    /* No header, a string class column first; labels sorted by bytes. */
    const char *p = write_text("a.txt", "b,1,2\na,3,4\nc,5,6\nb,7,8\n");
    ds = load_ok_f(p, &cls, FOPTS(.target_name = "1"));
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_uint_eq(ds->d, 2);
    ck_assert_ptr_null(ds->feature_names);
    ck_assert_str_eq(ds->class_names[0], "a");
    ck_assert_double_eq(ds->y[0], 1.0);
    ck_assert_double_eq(ds->X[1], 2.0);
    mlb_dataset_free(ds);
    /* A name needs a header. */
    load_fails_f(p, NULL, FOPTS(.target_name = "label"), p, "no header line");

    /* Numeric labels sort as numbers (2 before 10) and 1 == 1.0. */
    p = write_text("n.csv", "x,y\n1,10\n2,2\n3,1.0\n4,1\n");
    ds = load_ok(p, &cls);
    ck_assert_int_eq(ds->n_classes, 3);
    ck_assert_str_eq(ds->class_names[0], "1");
    ck_assert_str_eq(ds->class_names[1], "2");
    ck_assert_str_eq(ds->class_names[2], "10");
    ck_assert_double_eq(ds->y[0], 2.0);
    ck_assert_double_eq(ds->y[2], 0.0);
    ck_assert_double_eq(ds->y[3], 0.0);
    mlb_dataset_free(ds);

    /* Delimiters from the first line: semicolon, tab, blanks; quoted cells. */
    p = write_text("s.csv", "a;b;t\n1;2;3\n4;5;6\n");
    ds = load_ok(p, NULL);
    ck_assert_uint_eq(ds->d, 2);
    ck_assert_double_eq(ds->y[1], 6.0);
    mlb_dataset_free(ds);
    p = write_text("t.tsv", "1\t\t2\n3\t4\t5\n");
    load_fails(p, NULL, ":1:3:", "empty cell"); /* tab-separated: an empty cell */
    p = write_text("w.dat", "  1  2 3\n4 5\t6\n");
    ds = load_ok(p, NULL);
    ck_assert_uint_eq(ds->d, 2);
    ck_assert_double_eq(ds->y[1], 6.0);
    mlb_dataset_free(ds);
    p = write_text("q.csv", "\"name, long\",\"v\"\n\"1.5\",\"a \"\"b\"\"\"\n2.5,c\n");
    ds = load_ok(p, &cls);
    ck_assert_str_eq(ds->feature_names[0], "name, long");
    ck_assert_str_eq(ds->class_names[0], "a \"b\"");
    ck_assert_double_eq(ds->X[0], 1.5);
    mlb_dataset_free(ds);
    p = write_text("q2.csv", "1,2\n\"3,4\n");
    load_fails(p, NULL, ":2:1:", "unterminated quoted cell");
    p = write_text("q3.csv", "1,2\n\"3\"x,4\n");
    load_fails(p, NULL, ":2:4:", "after a closing quote");
    /* An explicit delimiter wins over the guess. */
    p = write_text("e.csv", "1;2,5\n3;4,5\n");
    mlb_data_opts semi = {.delimiter = ';'};
    load_fails(p, &semi, ":1:3:", "'2,5' is not a finite");
    /* Auto header: a pandas index column has an empty name. */
    p = write_text("pd.csv", ",a,b\n0,1.5,2\n1,2.5,3\n");
    ds = load_ok(p, NULL);
    ck_assert_str_eq(ds->feature_names[0], "");
    ck_assert_str_eq(ds->target_name, "b");
    mlb_dataset_free(ds);
    /* Gzip, named anything: the contents decide. */
    static const char gz[] = "f1,f2,label\n0.5,1,yes\n1.5,0,no\n";
    p = write_gz("data.bin", gz, sizeof gz - 1);
    ds = load_ok(p, &cls);
    ck_assert_int_eq(ds->n_classes, 2);
    ck_assert_str_eq(ds->class_names[1], "yes");
    mlb_dataset_free(ds);
    /* max_rows with a header. */
    p = write_text("m.csv", "a,t\n1,2\n3,4\n5,6\n");
    mlb_data_opts two = {.max_rows = 2};
    ds = load_ok(p, &two);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_double_eq(ds->y[1], 4.0);
    mlb_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

START_TEST(test_file_libsvm)
{
    make_tmpdir();
    const char *p = DATASETS_DIR "/small.svm";
    mlb_data_opts cls = {.classify = 1};
    mlb_dataset *ds = load_ok(p, &cls);
    ck_assert_uint_eq(ds->n, 6);
    ck_assert_uint_eq(ds->d, 4);
    ck_assert_int_eq(ds->n_classes, 2);
    ck_assert_str_eq(ds->class_names[0], "-1");
    ck_assert_double_eq(ds->X[2], -1.25);
    mlb_dataset_free(ds);
    /* Regression: labels as read. A .txt name: the contents say LIBSVM. */
    p = write_text("reg.txt", "3.5 1:1 2:2\n-0.5 2:1\n");
    ds = load_ok(p, NULL);
    ck_assert_double_eq(ds->y[0], 3.5);
    ck_assert_double_eq(ds->X[3], 1.0);
    mlb_dataset_free(ds);
    /* A first row without features: the .svm name decides; format= too. */
    p = write_text("empty_first.svm", "1\n2 1:3\n");
    ds = load_ok(p, NULL);
    ck_assert_uint_eq(ds->n, 2);
    mlb_dataset_free(ds);
    p = write_text("empty_first.dat", "1\n2 1:3\n");
    ds = load_ok_f(p, NULL, FOPTS(.format = "libsvm"));
    ck_assert_uint_eq(ds->d, 1);
    mlb_dataset_free(ds);
    /* Broken lines, each with its place. */
    p = write_text("bad.svm", "1 1:0.5\n1 2:1 2:3\n");
    load_fails(p, NULL, "bad.svm:2:7:", "indices must increase");
    p = write_text("bad2.svm", "1 1:0.5\n1 3:x\n");
    load_fails(p, NULL, "bad2.svm:2:5:", "not a finite");
    remove_tmpdir();
}
END_TEST

/* A version 1.0 .npy file as np.save writes it: header padded with spaces
 * to a multiple of 64 bytes, ending in a newline. */
static size_t npy_bytes(unsigned char *buf, const char *descr, const char *fortran,
                        const char *shape, const void *data, size_t data_len)
{
    char dict[256];
    int n = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }",
                     descr, fortran, shape);
    size_t total = 10 + (size_t)n + 1;
    size_t pad = (64 - total % 64) % 64;
    size_t hlen = (size_t)n + pad + 1;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)(hlen & 0xff);
    buf[9] = (unsigned char)(hlen >> 8);
    memcpy(buf + 10, dict, (size_t)n);
    memset(buf + 10 + n, ' ', pad);
    buf[10 + hlen - 1] = '\n';
    memcpy(buf + 10 + hlen, data, data_len);
    return 10 + hlen + data_len;
}

/* Writes an .npy and returns its (persistent) path. */
static const char *write_npy(const char *name, const char *descr, const char *fortran,
                             const char *shape, const void *data, size_t data_len)
{
    static char paths[4][512];
    static int next;
    unsigned char buf[1024];
    ck_assert_uint_lt(data_len, 900);
    size_t len = npy_bytes(buf, descr, fortran, shape, data, data_len);
    char *p = paths[next++ % 4];
    snprintf(p, 512, "%s", write_file(name, buf, len));
    return p;
}

static const char *pair(const char *a, const char *b)
{
    static char buf[1100];
    snprintf(buf, sizeof buf, "%s,%s", a, b);
    return buf;
}

START_TEST(test_file_npy)
{
    make_tmpdir();
    char name[1100];
    snprintf(name, sizeof name, "%s", pair(DATASETS_DIR "/X.npy", DATASETS_DIR "/y.npy"));
    mlb_dataset *ds = load_ok(name, NULL);
    ck_assert_str_eq(ds->name, name);
    ck_assert_uint_eq(ds->n, 6);
    ck_assert_uint_eq(ds->d, 3);
    ck_assert_int_eq(ds->n_classes, 0);
    ck_assert_double_eq(ds->X[5], 3.25);
    ck_assert_double_eq(ds->y[0], 2.0);
    mlb_dataset_free(ds);
    mlb_data_opts cls = {.classify = 1, .dtype = MLB_DTYPE_F32, .max_rows = 2};
    ds = load_ok(name, &cls);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_ptr_null(ds->X);
    ck_assert(ds->X32[3] == 1.5f);
    ck_assert_int_eq(ds->n_classes, 3); /* from every target, not the 2 rows */
    ck_assert_str_eq(ds->class_names[2], "2");
    mlb_dataset_free(ds);

    /* float32 images (n, h, w), big-endian float64 targets; uint8 images
     * (n, c, h, w) scaled by image_unit; bool and int16 targets. */
    float xf[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    unsigned char ybe[16] = {0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 0, 0, 0, 0, 0}; /* 1, -2 */
    char xp[512], yp[512];
    snprintf(xp, sizeof xp, "%s", write_npy("xf.npy", "<f4", "False", "(2, 2, 2)", xf, 32));
    snprintf(yp, sizeof yp, "%s", write_npy("ybe.npy", ">f8", "False", "(2,)", ybe, 16));
    ds = load_ok(pair(xp, yp), NULL);
    ck_assert_uint_eq(ds->d, 4);
    ck_assert_uint_eq(ds->channels, 1);
    ck_assert_uint_eq(ds->height, 2);
    ck_assert_double_eq(ds->X[7], 7.0);
    ck_assert_double_eq(ds->y[1], -2.0);
    mlb_dataset_free(ds);
    unsigned char xu[8] = {0, 255, 51, 102, 0, 0, 0, 255};
    unsigned char yb[2] = {1, 0};
    snprintf(xp, sizeof xp, "%s", write_npy("xu.npy", "|u1", "False", "(2, 1, 2, 2)", xu, 8));
    snprintf(yp, sizeof yp, "%s", write_npy("yb.npy", "|b1", "False", "(2, 1)", yb, 2));
    mlb_data_opts unit = {.image_unit = 1, .classify = 1};
    ds = load_ok(pair(xp, yp), &unit);
    ck_assert_uint_eq(ds->channels, 1);
    ck_assert_double_eq(ds->X[1], 1.0);
    ck_assert_double_eq(ds->X[2], 0.2);
    ck_assert_double_eq(ds->y[0], 1.0);
    ck_assert_int_eq(ds->n_classes, 2);
    mlb_dataset_free(ds);
    /* Fortran order of a (n, 1) array is the same bytes: accepted. int64. */
    int64_t yi[2] = {-7, 40};
    snprintf(yp, sizeof yp, "%s", write_npy("yi.npy", "<i8", "True", "(2, 1)", yi, 16));
    ds = load_ok(pair(xp, yp), NULL);
    ck_assert_double_eq(ds->y[0], -7.0);
    mlb_dataset_free(ds);
    /* gzip-compressed, any name. */
    unsigned char buf[1024];
    double xd[2] = {1.25, -3};
    size_t len = npy_bytes(buf, "<f8", "False", "(2,)", xd, 16);
    snprintf(xp, sizeof xp, "%s", write_gz("features.gz", buf, len));
    ds = load_ok(pair(xp, yp), NULL);
    ck_assert_uint_eq(ds->d, 1);
    ck_assert_double_eq(ds->X[1], -3.0);
    mlb_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

/* mlb_npy_save's files read back through the data layer's own .npy reader
 * (uint8 images scaled by image_unit, int64 labels), header padded as
 * NumPy's; a missing directory is an error naming the path. */
START_TEST(test_npy_save)
{
    make_tmpdir();
    unsigned char xu[8] = {0, 51, 102, 255, 255, 204, 153, 0};
    int64_t yi[2] = {3, 1};
    size_t xs[4] = {2, 1, 2, 2}, ys[1] = {2};
    char xp[512], yp[512], err[1024];
    snprintf(xp, sizeof xp, "%s/xs.npy", tmpdir);
    snprintf(yp, sizeof yp, "%s/ys.npy", tmpdir);
    ck_assert_int_eq(mlb_npy_save(xp, "|u1", 1, xu, 4, xs, err, sizeof err), 0);
    ck_assert_int_eq(mlb_npy_save(yp, "<i8", 8, yi, 1, ys, err, sizeof err), 0);
    FILE *f = fopen(xp, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char pre[10];
    ck_assert_uint_eq(fread(pre, 1, 10, f), 10);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fclose(f);
    ck_assert_int_eq((10 + pre[8] + 256 * pre[9]) % 64, 0);
    ck_assert_int_eq(size, 10 + pre[8] + 256 * pre[9] + 8);
    mlb_data_opts o = {.image_unit = 1};
    mlb_dataset *ds = load_ok(pair(xp, yp), &o);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_uint_eq(ds->d, 4);
    ck_assert_double_eq_tol(ds->X[3], 1.0, 1e-12);
    ck_assert_double_eq_tol(ds->X[5], 0.8, 1e-12);
    ck_assert_double_eq(ds->y[0], 3.0);
    mlb_dataset_free(ds);
    snprintf(xp, sizeof xp, "%s/no/such/x.npy", tmpdir);
    ck_assert_int_eq(mlb_npy_save(xp, "<f4", 4, xu, 1, ys, err, sizeof err), -ENOENT);
    ck_assert_ptr_nonnull(strstr(err, "no/such/x.npy"));
    ck_assert_int_lt(mlb_npy_save(yp, "<f4", 4, xu, 0, ys, err, sizeof err), 0);
    remove_tmpdir();
}
END_TEST

START_TEST(test_file_npy_broken)
{
    make_tmpdir();
    double x6[6] = {1, 2, 3, 4, 5, 6};
    double y2[2] = {0, 1};
    char xp[512], yp[512];
    snprintf(xp, sizeof xp, "%s", write_npy("x.npy", "<f8", "False", "(2, 3)", x6, 48));
    snprintf(yp, sizeof yp, "%s", write_npy("y.npy", "<f8", "False", "(2,)", y2, 16));
    /* The header starts at byte 10: the descr value's quote is byte 20,
     * fortran_order's value byte 44; the data start at byte 128. */
    static const struct {
        const char *descr, *fortran, *shape;
        size_t data_len;
        const char *where, *what;
    } bad[] = {
        {"<f8", "True", "(2, 3)", 48, "byte 44", "fortran_order is True"},
        {"<U3", "False", "(2, 3)", 72, "byte 20", "unicode strings"},
        {"<c16", "False", "(2, 3)", 96, "byte 20", "complex"},
        {"<f2", "False", "(2, 3)", 12, "byte 20", "float size"},
        {"<f8", "False", "(2, 3)", 40, "truncated at byte 168", "shape (2, 3) of '<f8'"},
        {"<f8", "False", "(2, 3)", 56, "byte 176", "past the shape"},
        {"<f8", "False", "(0, 3)", 0, "x.npy", "no rows"},
        {"<f8", "False", "()", 8, "x.npy", "scalar"},
        {"<f8", "False", "(2, x)", 48, "byte 64", "shape: expected a non-negative integer"},
    };
    unsigned char data[128];
    memset(data, 0, sizeof data);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = write_npy("x.npy", bad[i].descr, bad[i].fortran, bad[i].shape, data,
                                  bad[i].data_len);
        char where[600];
        snprintf(where, sizeof where, "%s: %s", p, bad[i].where);
        if (!strncmp(bad[i].where, "x.npy", 5))
            snprintf(where, sizeof where, "%s", p);
        load_fails(pair(p, yp), NULL, where, bad[i].what);
    }
    /* NaN and infinity, by their place. */
    double nan6[6] = {1, 2, 3, 4, NAN, 6};
    const char *p = write_npy("x.npy", "<f8", "False", "(2, 3)", nan6, 48);
    load_fails(pair(p, yp), NULL, "x.npy: byte 160: element 4 (row 1, column 1, counting from 0) is NaN", "NaN");
    /* Targets that do not fit the features. */
    snprintf(xp, sizeof xp, "%s", write_npy("x.npy", "<f8", "False", "(2, 3)", x6, 48));
    p = write_npy("y3.npy", "<f8", "False", "(3,)", x6, 24);
    load_fails(pair(xp, p), NULL, "y3.npy", "3 targets for the 2 rows");
    p = write_npy("y22.npy", "<f8", "False", "(2, 2)", x6, 32);
    load_fails(pair(xp, p), NULL, "y22.npy", "(n,) or (n, 1)");
    /* Not .npy at all, a header that is not a dict, a bad version. */
    p = write_text("fake.npy", "1,2,3\n");
    load_fails(pair(p, yp), NULL, "fake.npy: byte 0", "not a .npy file");
    unsigned char raw[64] = "\x93NUMPY\x01\x00\x10\x00[1, 2, 3]      \n";
    p = write_file("list.npy", raw, 26);
    load_fails(pair(p, yp), NULL, "list.npy: byte 10", "expected '{'");
    memcpy(raw, "\x93NUMPY\x07\x00", 8);
    p = write_file("v7.npy", raw, 26);
    load_fails(pair(p, yp), NULL, "v7.npy: byte 6", "version 7.0");
    memcpy(raw, "\x93NUMPY\x02\x00\xff\xff\xff\x7f", 12);
    p = write_file("huge.npy", raw, 26);
    load_fails(pair(p, yp), NULL, "huge.npy: byte 8", "header of");
    p = write_file("short.npy", raw, 7);
    load_fails(pair(p, yp), NULL, "short.npy: truncated at byte 7", "preamble");
    /* A structured dtype and an unknown key. */
    unsigned char sb[512];
    static const char st[] = "{'descr': [('a', '<f8')], 'fortran_order': False, 'shape': (2,), }";
    memcpy(sb, "\x93NUMPY\x01\x00", 8);
    sb[8] = (unsigned char)(sizeof st - 1);
    sb[9] = 0;
    memcpy(sb + 10, st, sizeof st - 1);
    p = write_file("struct.npy", sb, 10 + sizeof st - 1);
    load_fails(pair(p, yp), NULL, "struct.npy: byte 20", "structured dtype");
    static const char uk[] = "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), 'x': 1}";
    sb[8] = (unsigned char)(sizeof uk - 1);
    memcpy(sb + 10, uk, sizeof uk - 1);
    p = write_file("key.npy", sb, 10 + sizeof uk - 1);
    load_fails(pair(p, yp), NULL, "key.npy: byte 66", "unexpected or repeated key 'x'");
    /* One .npy alone is not a dataset. */
    load_fails(xp, NULL, xp, "pair of files");
    remove_tmpdir();
}
END_TEST

START_TEST(test_file_idx_pair)
{
    make_tmpdir();
    mlb_dataset *ds =
        load_ok(pair(DATASETS_DIR "/images.idx", DATASETS_DIR "/labels.idx"), NULL);
    ck_assert_uint_eq(ds->n, 4);
    ck_assert_uint_eq(ds->d, 6);
    ck_assert_uint_eq(ds->height, 2);
    ck_assert_uint_eq(ds->width, 3);
    ck_assert_double_eq(ds->X[23], 230.0);
    ck_assert_double_eq(ds->y[0], 3.0);
    ck_assert_int_eq(ds->n_classes, 4);
    mlb_dataset_free(ds);
    /* Contents, not names: IDX bytes under other names, gzip included. */
    unsigned char img[64], lab[16];
    uint32_t idims[3] = {2, 2, 2}, ldims[1] = {2};
    size_t hi = idx_header(img, 0x08, 3, idims), hl = idx_header(lab, 0x08, 1, ldims);
    memset(img + hi, 9, 8);
    lab[hl] = 1;
    lab[hl + 1] = 0;
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s", write_gz("pixels.dat", img, hi + 8));
    snprintf(lp, sizeof lp, "%s", write_file("classes.bin", lab, hl + 2));
    ds = load_ok(pair(ip, lp), NULL);
    ck_assert_uint_eq(ds->n, 2);
    mlb_dataset_free(ds);
    /* Broken: truncated images, the place given as a byte offset. */
    snprintf(ip, sizeof ip, "%s", write_file("trunc.idx", img, hi + 5));
    load_fails(pair(ip, lp), NULL, "trunc.idx: truncated at byte 21", "needs 3 more bytes");
    snprintf(ip, sizeof ip, "%s", write_file("img.idx", img, hi + 8));
    load_fails(ip, NULL, ip, "pair of files");
    remove_tmpdir();
}
END_TEST

START_TEST(test_file_names_and_formats)
{
    make_tmpdir();
    /* Neither registered nor a file: "unknown dataset" first (callers add
     * their own names after the list), why in the middle. */
    load_fails("nowhere.csv", NULL, "unknown dataset 'nowhere.csv'", "known datasets: diabetes");
    char both[1100];
    const char *x = write_text("x.csv", "1,2\n");
    snprintf(both, sizeof both, "%s,%s/missing.npy", x, tmpdir);
    load_fails(both, NULL, "does not", "missing.npy");
    /* Two text files are not a pair format. */
    const char *y = write_text("y.csv", "3,4\n");
    char xy[1100];
    snprintf(xy, sizeof xy, "%s/x.csv,%s", tmpdir, y);
    load_fails(xy, NULL, "x.csv", "csv is one file");
    /* A registered name wins over a file of that name in the working
     * directory; ./name is the file. */
    char cwd[4096];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    ck_assert_int_eq(chdir(tmpdir), 0);
    write_text("iris", "1,2\n3,4\n");
    mlb_dataset *ds = load_ok("iris", NULL);
    ck_assert_uint_eq(ds->n, 150);
    mlb_dataset_free(ds);
    ds = load_ok("./iris", NULL);
    ck_assert_uint_eq(ds->n, 2);
    mlb_dataset_free(ds);
    ck_assert_int_eq(mlb_dataset_registered("iris"), 1);
    ck_assert_int_eq(mlb_dataset_registered("./iris"), 0);
    ck_assert_int_eq(chdir(cwd), 0);
    /* An explicit format is obeyed: CSV read as .npy fails at byte 0. */
    snprintf(xy, sizeof xy, "%s/x.csv,%s", tmpdir, y);
    load_fails_f(xy, NULL, FOPTS(.format = "npy"), "x.csv: byte 0", "not a .npy file");
    load_fails_f(x, NULL, FOPTS(.format = "parquet"), "format 'parquet'", "expected auto");
    /* UTF-16 (a spreadsheet's "Unicode text"), and other binary content. */
    const char *u16 = write_file("u16.csv", "\xff\xfe" "a\0,\0b\0", 8);
    load_fails(u16, NULL, "u16.csv: byte 0: UTF-16", "UTF-8");
    const char *b = write_file("blob.bin", "\x01\x02\x00\x03", 4);
    load_fails(b, NULL, "blob.bin: byte 0", "not a data file we recognise");
    /* A directory is not a file. */
    load_fails(tmpdir, NULL, "unknown dataset", "no such file");
    remove_tmpdir();
}
END_TEST

/* The declarations a plugin pastes into its tables compile and name the
 * four options mlb_data_opts_from_params takes. */
static const mlb_param_def file_params[] = {MLB_DATA_FILE_PARAMS};
static const mlb_param_rule file_rules[] = {MLB_DATA_FILE_RULES};

START_TEST(test_opts_from_text)
{
    ck_assert_uint_eq(sizeof file_params / sizeof file_params[0], 4);
    ck_assert_str_eq(file_params[0].name, "target");
    ck_assert_str_eq(file_params[3].name, "format");
    ck_assert_uint_eq(sizeof file_rules / sizeof file_rules[0], 2);
    ck_assert_str_eq(file_rules[1].choices[4], "npy");
    mlb_data_opts o = {0};
    mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
    ck_assert_uint_eq(f.struct_size, sizeof f);
    ck_assert_int_eq(mlb_data_opts_from_params(&o, &f, "species", "true", "tab", "csv", err,
                                               sizeof err),
                     0);
    ck_assert_str_eq(f.target_name, "species");
    ck_assert_int_eq(f.header_mode, MLB_HEADER_YES);
    ck_assert_int_eq(o.delimiter, '\t');
    ck_assert_str_eq(f.format, "csv");
    o.target_col = 2;
    ck_assert_int_eq(
        mlb_data_opts_from_params(&o, &f, "", "auto", ";", "auto", err, sizeof err), 0);
    ck_assert_ptr_null(f.target_name);
    ck_assert_int_eq(o.target_col, 2);
    ck_assert_int_eq(f.header_mode, MLB_HEADER_AUTO);
    ck_assert_int_eq(o.delimiter, ';');
    ck_assert_ptr_null(f.format);
    ck_assert_int_eq(
        mlb_data_opts_from_params(&o, &f, NULL, "false", "space", NULL, err, sizeof err), 0);
    ck_assert_int_eq(f.header_mode, MLB_HEADER_NO);
    ck_assert_int_eq(o.delimiter, ' ');
    ck_assert_int_eq(mlb_data_opts_set(&o, &f, "classify", "true", err, sizeof err), 0);
    ck_assert_int_eq(o.classify, 1);
    static const struct {
        const char *key, *value, *what;
    } bad[] = {
        {"header", "maybe", "header 'maybe'"}, {"delimiter", "ab", "delimiter 'ab'"},
        {"delimiter", "\"", "delimiter"},      {"delimiter", ".", "delimiter"},
        {"format", "xml", "format 'xml'"},     {"classify", "2", "classify '2'"},
        {"colour", "red", "unknown data option 'colour'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_int_eq(mlb_data_opts_set(&o, &f, bad[i].key, bad[i].value, err, sizeof err),
                         -EINVAL);
        assert_err_has(bad[i].what);
    }
    /* Each key goes to its struct; the other may be NULL, that one not. */
    ck_assert_int_eq(mlb_data_opts_set(NULL, &f, "target", "y", err, sizeof err), 0);
    ck_assert_str_eq(f.target_name, "y");
    ck_assert_int_eq(mlb_data_opts_set(&o, NULL, "delimiter", "|", err, sizeof err), 0);
    ck_assert_int_eq(o.delimiter, '|');
    ck_assert_int_eq(mlb_data_opts_set(&o, NULL, "format", "csv", err, sizeof err), -EINVAL);
    assert_err_has("no mlb_data_file_opts");
    ck_assert_int_eq(mlb_data_opts_set(NULL, &f, "classify", "true", err, sizeof err), -EINVAL);
    assert_err_has("no mlb_data_opts");
    /* A struct_size that does not cover a field: not written. */
    mlb_data_file_opts tiny = {.struct_size = sizeof(size_t)};
    ck_assert_int_eq(mlb_data_opts_set(NULL, &tiny, "header", "true", err, sizeof err),
                     -EINVAL);
    assert_err_has("MLB_DATA_FILE_OPTS_INIT");
    ck_assert_int_eq(tiny.header_mode, 0);
}
END_TEST

/* The ABI: mlb_data_opts keeps the layout plugins built against 1.0 pass
 * (it has no size field, so it never grows); the newer options travel in
 * mlb_data_file_opts, of which the library reads struct_size bytes. */
typedef struct {
    mlb_dtype dtype;
    size_t max_rows;
    int has_header;
    long target_col;
    char delimiter;
    int classify;
    int image_unit;
} data_opts_1_0;

#define SAME_FIELD(f)                                                                              \
    _Static_assert(offsetof(mlb_data_opts, f) == offsetof(data_opts_1_0, f), "offset of " #f)
SAME_FIELD(dtype);
SAME_FIELD(max_rows);
SAME_FIELD(has_header);
SAME_FIELD(target_col);
SAME_FIELD(delimiter);
SAME_FIELD(classify);
SAME_FIELD(image_unit);
_Static_assert(sizeof(mlb_data_opts) == sizeof(data_opts_1_0), "mlb_data_opts grew");
_Static_assert(offsetof(mlb_data_file_opts, struct_size) == 0, "struct_size first");

START_TEST(test_opts_abi)
{
    make_tmpdir();
    const char *p = write_text("abi.csv", "a,b,t\n1,2,3\n4,5,6\n7,8,9\n");
    /* An old plugin's options, exactly as long as it allocated them (ASan
     * would catch a read past the end). */
    data_opts_1_0 *old = calloc(1, sizeof *old);
    ck_assert_ptr_nonnull(old);
    old->max_rows = 2;
    old->target_col = 1;
    mlb_dataset *ds = load_ok(p, (const mlb_data_opts *)old);
    ck_assert_uint_eq(ds->n, 2);
    ck_assert_double_eq(ds->y[1], 4.0); /* target column a */
    ck_assert_str_eq(ds->target_name, "a");
    mlb_dataset_free(ds);
    mlb_data_info *info = calloc(1, sizeof *info);
    ck_assert_ptr_nonnull(info);
    ck_assert_int_eq(mlb_data_inspect(p, (const mlb_data_opts *)old, NULL, info, NULL, err,
                                      sizeof err),
                     0);
    free(old);
    /* A file-options struct from a newer header (larger, with fields this
     * library does not know): the fields it knows are read, the rest not. */
    size_t big = sizeof(mlb_data_file_opts) + 64;
    unsigned char *buf = malloc(big);
    ck_assert_ptr_nonnull(buf);
    memset(buf, 0xA5, big);
    mlb_data_file_opts *nf = (mlb_data_file_opts *)buf;
    nf->struct_size = big;
    nf->target_name = "b";
    nf->header_mode = MLB_HEADER_YES;
    nf->format = "csv";
    ds = load_ok_f(p, NULL, nf);
    ck_assert_str_eq(ds->target_name, "b");
    ck_assert_double_eq(ds->y[0], 2.0);
    mlb_dataset_free(ds);
    /* Too small to be any version: refused, not guessed at. */
    nf->struct_size = 0;
    load_fails_f(p, NULL, nf, "struct_size 0", "MLB_DATA_FILE_OPTS_INIT");
    ck_assert_int_eq(mlb_data_inspect(p, NULL, nf, info, NULL, err, sizeof err), -EINVAL);
    assert_err_has("struct_size 0");
    free(buf);
    free(info);
    /* NULL is the defaults, the same as mlb_dataset_load. */
    ds = load_ok_f(p, NULL, FOPTS(.target_name = NULL));
    ck_assert_str_eq(ds->target_name, "t");
    mlb_dataset_free(ds);
    remove_tmpdir();
}
END_TEST

START_TEST(test_inspect)
{
    make_tmpdir();
    mlb_data_info info;
    mlb_dataset *ds;
    /* Every bad row of a text file, counted and positioned, in one pass;
     * the answer is the first, as a plain load gives it. */
    const char *p = write_text("bad.csv", "a,b,t\n1,2,3\n1,,3\n1,x,3\nNA,2,3\n1,2\n4,5,6\n");
    ck_assert_int_eq(mlb_data_inspect(p, NULL, NULL, &info, &ds, err, sizeof err), -EINVAL);
    ck_assert_ptr_null(ds);
    assert_err_has("bad.csv:3:3: empty cell");
    ck_assert_uint_eq(info.n_problems, 4);
    ck_assert_uint_eq(info.bad_rows, 4);
    ck_assert_uint_eq(info.missing_cells, 2);
    ck_assert_uint_eq(info.non_numeric_cells, 1);
    ck_assert_ptr_nonnull(strstr(info.problems[1], "bad.csv:4:3: 'x'"));
    ck_assert_ptr_nonnull(strstr(info.problems[2], "bad.csv:5:1: missing value 'NA'"));
    ck_assert_ptr_nonnull(strstr(info.problems[3], "bad.csv:6: 2 columns, expected 3"));
    ck_assert_str_eq(info.format, "csv");
    ck_assert_int_eq(info.header, 1);
    char strict[1024];
    ck_assert_int_lt(mlb_dataset_load(p, NULL, &ds, strict, sizeof strict), 0);
    ck_assert_str_eq(strict, err);
    /* LIBSVM too. */
    p = write_text("bad.svm", "1 1:2\n1 1:x\n1 0:1\n1 2:1\n");
    ck_assert_int_lt(mlb_data_inspect(p, NULL, NULL, &info, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(info.n_problems, 2);
    ck_assert_ptr_nonnull(strstr(info.problems[1], "bad.svm:3:3:"));
    /* More problems than are kept: all counted. */
    char big[4096] = "a,t\n";
    for (int i = 0; i < 20; i++)
        strcat(big, "x,1\n");
    p = write_text("many.csv", big);
    ck_assert_int_lt(mlb_data_inspect(p, NULL, NULL, &info, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(info.n_problems, 20);
    ck_assert_ptr_nonnull(strstr(info.problems[MLB_DATA_INFO_MAX - 1], "many.csv:9:1:"));
    /* A file that loads, with what may still be wrong. */
    p = write_text("warn.csv", "a,b,c,label\n1,0,5,x\n2,0,5,x\n3,0,5,y\n4,0,5,x\n");
    mlb_data_opts cls = {.classify = 1};
    ck_assert_msg(mlb_data_inspect(p, &cls, NULL, &info, &ds, err, sizeof err) == 0, "%s", err);
    ck_assert_ptr_nonnull(ds);
    ck_assert_int_eq(ds->n_classes, 2);
    ck_assert_uint_eq(info.target_col, 4);
    ck_assert_uint_eq(info.columns, 4);
    ck_assert_int_eq(info.delimiter, ',');
    ck_assert_uint_eq(info.n_warnings, 2);
    ck_assert_ptr_nonnull(strstr(info.warnings[0], "2 constant feature columns ('b', 'c')"));
    ck_assert_ptr_nonnull(strstr(info.warnings[1], "class 'y' has 1 row"));
    mlb_dataset_free(ds);
    p = write_text("int.csv", "a,t\n1,0\n2,1\n3,0\n4,1\n5,0\n6,1\n7,0\n8,1\n");
    ck_assert_int_eq(mlb_data_inspect(p, NULL, NULL, &info, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(info.n_warnings, 1);
    ck_assert_ptr_nonnull(strstr(info.warnings[0], "2 distinct integer values"));
    /* Registered names and binary files. */
    ck_assert_int_eq(mlb_data_inspect("iris", NULL, NULL, &info, NULL, err, sizeof err), 0);
    ck_assert_int_eq(info.registered, 1);
    ck_assert_str_eq(info.format, "sklearn");
    ck_assert_int_lt(mlb_data_inspect("nope", NULL, NULL, &info, NULL, err, sizeof err), 0);
    ck_assert_uint_eq(info.n_problems, 1);
    ck_assert_ptr_nonnull(strstr(info.problems[0], "unknown dataset"));
    remove_tmpdir();
}
END_TEST

/* ---- The data subcommand ------------------------------------------------- */

/* Runs mlb_cmd_data with stdout and stderr in out/errs (Check forks each
 * test, so the redirection ends with it). */
static int run_cmd(char *out, size_t out_len, char *errs, size_t errs_len, ...)
{
    char *argv[16];
    int argc = 0;
    argv[argc++] = "data";
    va_list ap;
    va_start(ap, errs_len);
    for (char *a; argc < 15 && (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    char po[600], pe[600];
    snprintf(po, sizeof po, "%s/cmd.out", tmpdir);
    snprintf(pe, sizeof pe, "%s/cmd.err", tmpdir);
    fflush(stdout);
    fflush(stderr);
    int so = dup(1), se = dup(2);
    ck_assert_ptr_nonnull(freopen(po, "w", stdout));
    ck_assert_ptr_nonnull(freopen(pe, "w", stderr));
    int rc = mlb_cmd_data(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(so, 1);
    dup2(se, 2);
    close(so);
    close(se);
    const char *paths[2] = {po, pe};
    char *bufs[2] = {out, errs};
    size_t lens[2] = {out_len, errs_len};
    for (int k = 0; k < 2; k++) {
        FILE *f = fopen(paths[k], "r");
        ck_assert_ptr_nonnull(f);
        size_t n = fread(bufs[k], 1, lens[k] - 1, f);
        bufs[k][n] = '\0';
        fclose(f);
    }
    return rc;
}

#define OUT_HAS(buf, s) ck_assert_msg(strstr((buf), (s)) != NULL, "'%s' lacks '%s'", (buf), (s))

START_TEST(test_cmd_data)
{
    make_tmpdir();
    static char out[16384], errs[4096];
    int rc = run_cmd(out, sizeof out, errs, sizeof errs, DATASETS_DIR "/species.csv",
                     "--classify", NULL);
    ck_assert_msg(rc == 0, "%s", errs);
    OUT_HAS(out, "species.csv: csv");
    OUT_HAS(out, "rows       9");
    OUT_HAS(out, "features   4: sepal_length, sepal_width");
    OUT_HAS(out, "column 5 'species', 3 classes: setosa (3), versicolor (3), virginica (3)");
    OUT_HAS(out, "the first line is a header");
    OUT_HAS(out, "none found");

    rc = run_cmd(out, sizeof out, errs, sizeof errs, DATASETS_DIR "/species.csv", "--json",
                 "--target", "petal_width", "--header", "true", NULL);
    ck_assert_int_eq(rc, 2); /* species is then a feature: not a number */
    OUT_HAS(out, "\"ok\":\tfalse");
    OUT_HAS(out, "\"problems_total\":\t9");
    OUT_HAS(out, "species.csv:2:17:");
    OUT_HAS(errs, "mlbench-engine data: ");
    OUT_HAS(errs, "species.csv:2:17: 'setosa' is not a finite decimal number (column 5)");

    char np[1100];
    snprintf(np, sizeof np, "%s", pair(DATASETS_DIR "/X.npy", DATASETS_DIR "/y.npy"));
    rc = run_cmd(out, sizeof out, errs, sizeof errs, np, "--classify", "--json", NULL);
    ck_assert_msg(rc == 0, "%s", errs);
    OUT_HAS(out, "\"format\":\t\"npy\"");
    OUT_HAS(out, "\"rows\":\t6");
    OUT_HAS(out, "\"kind\":\t\"classification\"");
    OUT_HAS(out, "\"names\":\t[\"0\", \"1\", \"2\"]");

    rc = run_cmd(out, sizeof out, errs, sizeof errs,
                 pair(DATASETS_DIR "/images.idx", DATASETS_DIR "/labels.idx"), NULL);
    ck_assert_msg(rc == 0, "%s", errs);
    OUT_HAS(out, "image      1 x 2 x 3");
    OUT_HAS(out, "class 2 has 0 rows");

    rc = run_cmd(out, sizeof out, errs, sizeof errs, DATASETS_DIR "/small.svm", NULL);
    ck_assert_int_eq(rc, 0);
    OUT_HAS(out, "small.svm: libsvm");
    OUT_HAS(out, "regression, -1 to 1");

    /* A broken text file: every problem, positioned; exit 2. */
    const char *p = write_text("b.csv", "x,y\n1,\n2,a\n3,4\n");
    rc = run_cmd(out, sizeof out, errs, sizeof errs, p, NULL);
    ck_assert_int_eq(rc, 2);
    OUT_HAS(out, "does not load as csv (2 bad rows: 1 missing value, 1 non-numeric cell)");
    OUT_HAS(out, "b.csv:2:3: empty cell");
    OUT_HAS(out, "b.csv:3:3: 'a'");
    OUT_HAS(errs, "b.csv:2:3:");
    /* Broken binary files: the byte offset. */
    static const unsigned char trunc[] = {0, 0, 8, 1, 0, 0, 0, 9, 1, 2};
    const char *t = write_file("l.idx", trunc, sizeof trunc);
    char ti[1100];
    snprintf(ti, sizeof ti, "%s", pair(DATASETS_DIR "/images.idx", t));
    rc = run_cmd(out, sizeof out, errs, sizeof errs, ti, NULL);
    ck_assert_int_eq(rc, 2);
    OUT_HAS(errs, "9 labels for the 4 images");
    rc = run_cmd(out, sizeof out, errs, sizeof errs, "/nonexistent/file.csv", NULL);
    ck_assert_int_eq(rc, 2);
    OUT_HAS(errs, "unknown dataset '/nonexistent/file.csv'");
    /* Registered names too. */
    rc = run_cmd(out, sizeof out, errs, sizeof errs, "iris", NULL);
    ck_assert_int_eq(rc, 0);
    OUT_HAS(out, "registered dataset, sklearn");
    /* Usage errors. */
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, NULL), 2);
    OUT_HAS(errs, "no FILE");
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, "a", "--bogus", NULL), 2);
    OUT_HAS(errs, "unknown option '--bogus'");
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, "a", "--header", "x", NULL), 2);
    OUT_HAS(errs, "header 'x'");
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, "a", "--format", NULL), 2);
    OUT_HAS(errs, "--format needs a value");
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, "a", "b", NULL), 2);
    ck_assert_int_eq(run_cmd(out, sizeof out, errs, sizeof errs, "--help", NULL), 0);
    OUT_HAS(out, "Usage: mlbench-engine data FILE");
    remove_tmpdir();
}
END_TEST

static Suite *data_suite(void)
{
    Suite *s = suite_create("data");
    TCase *reg = tcase_create("registry");
    tcase_set_timeout(reg, 60);
    tcase_add_test(reg, test_registry_matches_sklearn);
    tcase_add_test(reg, test_registry_metadata);
    tcase_add_test(reg, test_registry_fashion_mnist);
    tcase_add_test(reg, test_registry_unknown_lists_known);
    tcase_add_test(reg, test_registry_data_path);
    suite_add_tcase(s, reg);
    TCase *ld = tcase_create("loaders");
    tcase_add_test(ld, test_csv_header_and_targets);
    tcase_add_test(ld, test_csv_bom);
    tcase_add_test(ld, test_csv_broken);
    tcase_add_test(ld, test_csv_truncated_gzip);
    tcase_add_test(ld, test_sklearn_layout);
    tcase_add_test(ld, test_libsvm);
    tcase_add_test(ld, test_idx_valid);
    tcase_add_test(ld, test_idx_slice_keeps_classes);
    tcase_add_test(ld, test_idx_broken);
    suite_add_tcase(s, ld);
    TCase *tr = tcase_create("transforms");
    tcase_add_test(tr, test_synth_reference_coefficients);
    tcase_add_test(tr, test_synth_properties);
    tcase_add_test(tr, test_split);
    tcase_add_test(tr, test_standardize_against_numpy);
    tcase_add_test(tr, test_write_csv_round_trip);
    suite_add_tcase(s, tr);
    TCase *fl = tcase_create("files");
    tcase_add_test(fl, test_file_csv_string_classes);
    tcase_add_test(fl, test_file_csv_layouts);
    tcase_add_test(fl, test_file_libsvm);
    tcase_add_test(fl, test_file_npy);
    tcase_add_test(fl, test_file_npy_broken);
    tcase_add_test(fl, test_npy_save);
    tcase_add_test(fl, test_file_idx_pair);
    tcase_add_test(fl, test_file_names_and_formats);
    tcase_add_test(fl, test_opts_from_text);
    tcase_add_test(fl, test_opts_abi);
    tcase_add_test(fl, test_inspect);
    tcase_add_test(fl, test_cmd_data);
    suite_add_tcase(s, fl);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(data_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
