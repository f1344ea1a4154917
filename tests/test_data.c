/* Data layer tests: the registry against values read by scikit-learn/NumPy
 * (tests/ref/data/, made by make_ref.py there), loaders on real and broken
 * files, generators, split, standardisation, views. */
#include <check.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mlbench/data.h"

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
