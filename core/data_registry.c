/* Datasets by name: where their files are and which loader reads them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_internal.h"

#ifndef MLB_SOURCE_DATA_DIR
#define MLB_SOURCE_DATA_DIR ""
#endif
#ifndef MLB_INSTALL_DATA_DIR
#define MLB_INSTALL_DATA_DIR ""
#endif
#define MLB_SYSTEM_DATASETS_DIR "/usr/share/datasets"

typedef enum { FMT_SKLEARN, FMT_CSV, FMT_DIABETES, FMT_LIBSVM, FMT_IDX } fmt;

typedef struct {
    const char *name;
    const char *summary;
    fmt format;
    const char *file;  /* relative to a data root */
    const char *file2; /* IDX labels; diabetes targets */
    size_t channels, height, width;
    const char *const *features; /* d names or NULL */
    const char *target;
    const char *const *classes;  /* n_classes names or NULL (loader's own) */
} entry;

static const char *const iris_features[] = {"sepal length (cm)", "sepal width (cm)",
                                            "petal length (cm)", "petal width (cm)", NULL};
static const char *const wine_features[] = {
    "alcohol",         "malic_acid", "ash",       "alcalinity_of_ash", "magnesium",
    "total_phenols",   "flavanoids", "nonflavanoid_phenols", "proanthocyanins",
    "color_intensity", "hue",        "od280/od315_of_diluted_wines", "proline", NULL};
static const char *const cancer_features[] = {
    "mean radius",         "mean texture",         "mean perimeter",
    "mean area",           "mean smoothness",      "mean compactness",
    "mean concavity",      "mean concave points",  "mean symmetry",
    "mean fractal dimension", "radius error",      "texture error",
    "perimeter error",     "area error",           "smoothness error",
    "compactness error",   "concavity error",      "concave points error",
    "symmetry error",      "fractal dimension error", "worst radius",
    "worst texture",       "worst perimeter",      "worst area",
    "worst smoothness",    "worst compactness",    "worst concavity",
    "worst concave points", "worst symmetry",      "worst fractal dimension", NULL};
static const char *const diabetes_features[] = {"age", "sex", "bmi", "bp", "s1", "s2",
                                                "s3",  "s4",  "s5",  "s6", NULL};
static const char *const digit_classes[] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9",
                                            NULL};
static const char *const fashion_classes[] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                              "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                              "Bag",         "Ankle boot", NULL};

static const entry registry[] = {
    {"diabetes", "442 x 10 regression (disease progression), raw units; scikit-learn",
     FMT_DIABETES, "diabetes_data_raw.csv.gz", "diabetes_target.csv.gz", 0, 0, 0,
     diabetes_features, "progression", NULL},
    {"digits", "1797 x 64 (8x8 images, 0..16), 10 classes; scikit-learn (UCI)", FMT_CSV,
     "digits.csv.gz", NULL, 1, 8, 8, NULL, "digit", digit_classes},
    {"iris", "150 x 4, 3 classes; scikit-learn (UCI)", FMT_SKLEARN, "iris.csv", NULL, 0, 0, 0,
     iris_features, "species", NULL},
    {"breast_cancer", "569 x 30, 2 classes; scikit-learn (UCI WDBC)", FMT_SKLEARN,
     "breast_cancer.csv", NULL, 0, 0, 0, cancer_features, "diagnosis", NULL},
    {"wine", "178 x 13, 3 classes; scikit-learn (UCI)", FMT_SKLEARN, "wine_data.csv", NULL, 0,
     0, 0, wine_features, "cultivar", NULL},
    {"heart_scale", "270 x 13 (scaled to [-1,1]), 2 classes; LIBSVM/liblinear (Statlog heart)",
     FMT_LIBSVM, "heart_scale", NULL, 0, 0, 0, NULL, "heart disease", NULL},
    {"fashion-mnist", "60000 x 784 (28x28 images, 0..255), 10 classes; training part",
     FMT_IDX, "fashion-mnist/train-images-idx3-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz",
     1, 28, 28, NULL, "article", fashion_classes},
    {"fashion-mnist-test", "10000 x 784 (28x28 images, 0..255), 10 classes; test part", FMT_IDX,
     "fashion-mnist/t10k-images-idx3-ubyte.gz", "fashion-mnist/t10k-labels-idx1-ubyte.gz", 1, 28,
     28, NULL, "article", fashion_classes},
};
#define N_REGISTRY (sizeof registry / sizeof registry[0])

size_t mlb_dataset_count(void)
{
    return N_REGISTRY;
}

const char *mlb_dataset_name(size_t i)
{
    return i < N_REGISTRY ? registry[i].name : NULL;
}

const char *mlb_dataset_summary(size_t i)
{
    return i < N_REGISTRY ? registry[i].summary : NULL;
}

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int is_dir(const char *path)
{
    struct stat st;
    return path[0] && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Tries root/file, then root/basename(file) (a flat directory of files),
 * then both without a ".gz" suffix (an uncompressed copy). */
static int try_root(const char *root, size_t root_len, const char *file, char *path,
                    size_t path_len)
{
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    const char *cands[2] = {file, base};
    for (int gz = 0; gz < 2; gz++) {
        for (int c = 0; c < (base == file ? 1 : 2); c++) {
            size_t flen = strlen(cands[c]);
            if (gz == 1) {
                if (flen < 3 || strcmp(cands[c] + flen - 3, ".gz") != 0)
                    continue;
                flen -= 3;
            }
            int w = snprintf(path, path_len, "%.*s/%.*s", (int)root_len, root, (int)flen,
                             cands[c]);
            if (w > 0 && (size_t)w < path_len && is_file(path))
                return 1;
        }
    }
    return 0;
}

int mlb_data_find(const char *file, char *path, size_t path_len, char *err, size_t err_len)
{
    char searched[1024] = "";
    size_t used = 0;
#define NOTE(r, l)                                                                                 \
    do {                                                                                           \
        int w_ = snprintf(searched + used, sizeof searched - used, "%s%.*s", used ? ", " : "",     \
                          (int)(l), (r));                                                          \
        if (w_ > 0 && (size_t)w_ < sizeof searched - used)                                         \
            used += (size_t)w_;                                                                    \
    } while (0)

    const char *env = getenv("MLBENCH_DATA_PATH");
    if (env && *env) {
        const char *p = env;
        for (;;) {
            const char *colon = strchr(p, ':');
            size_t len = colon ? (size_t)(colon - p) : strlen(p);
            if (len) {
                if (try_root(p, len, file, path, path_len))
                    return 0;
                NOTE(p, len);
            }
            if (!colon)
                break;
            p = colon + 1;
        }
    }
    const char *fixed[] = {MLB_SOURCE_DATA_DIR, MLB_INSTALL_DATA_DIR, MLB_SYSTEM_DATASETS_DIR};
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        /* The source tree's data/ counts only while it exists (not after
         * the tree is deleted from an installed machine). */
        if (!is_dir(fixed[i]))
            continue;
        if (try_root(fixed[i], strlen(fixed[i]), file, path, path_len))
            return 0;
        NOTE(fixed[i], strlen(fixed[i]));
    }
#undef NOTE
    return mlb_data_fail(err, err_len, -ENOENT,
                         "data file '%s' not found (searched $MLBENCH_DATA_PATH and: %s)", file,
                         used ? searched : "no existing data directory");
}

/* Diabetes comes as two files: ten blank-separated feature columns, and
 * the targets one per line. */
static int load_diabetes(const char *xpath, const char *ypath, const mlb_data_opts *opts,
                         mlb_dataset **out, char *err, size_t err_len)
{
    mlb_data_opts xo = {.dtype = opts->dtype, .max_rows = opts->max_rows, .delimiter = ' ',
                        .target_col = MLB_CSV_NO_TARGET};
    mlb_data_opts yo = {.max_rows = opts->max_rows, .target_col = MLB_CSV_NO_TARGET};
    mlb_dataset *x = NULL, *y = NULL;
    int rc = mlb_data_load_csv(xpath, &xo, &x, err, err_len);
    if (!rc)
        rc = mlb_data_load_csv(ypath, &yo, &y, err, err_len);
    if (!rc && y->d != 1)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu columns, expected 1 (the target)",
                           ypath, y->d);
    if (!rc && y->n != x->n)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu targets for the %zu rows of %s", ypath,
                           y->n, x->n, xpath);
    if (!rc)
        memcpy(x->y, y->X, x->n * sizeof(double));
    mlb_dataset_free(y);
    if (rc) {
        mlb_dataset_free(x);
        return rc;
    }
    *out = x;
    return 0;
}

static int copy_names(const char *const *src, size_t expect, char ***dst)
{
    size_t n = 0;
    while (src[n])
        n++;
    if (n != expect)
        return -EINVAL;
    return mlb_data_strdup_list((char *const *)src, n, dst);
}

int mlb_dataset_load(const char *name, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                     size_t err_len)
{
    *out = NULL;
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    const entry *e = NULL;
    for (size_t i = 0; i < N_REGISTRY && !e; i++)
        if (name && !strcmp(registry[i].name, name))
            e = &registry[i];
    if (!e) {
        char known[512] = "";
        size_t used = 0;
        for (size_t i = 0; i < N_REGISTRY; i++) {
            int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                             registry[i].name);
            if (w > 0 && (size_t)w < sizeof known - used)
                used += (size_t)w;
        }
        return mlb_data_fail(err, err_len, -ENOENT, "unknown dataset '%s'; known datasets: %s",
                             name ? name : "(null)", known);
    }

    char path[4096], path2[4096];
    int rc = mlb_data_find(e->file, path, sizeof path, err, err_len);
    if (!rc && e->file2)
        rc = mlb_data_find(e->file2, path2, sizeof path2, err, err_len);
    if (rc < 0) {
        /* Say how to get it, on top of where we looked. */
        size_t len = strlen(err);
        if (e->format == FMT_IDX && len + 1 < err_len)
            snprintf(err + len, err_len - len,
                     "; install it with tools/setup.sh (Debian package dataset-%s)",
                     "fashion-mnist");
        return rc;
    }

    mlb_data_opts o = {.dtype = opts->dtype, .max_rows = opts->max_rows,
                       .image_unit = opts->image_unit};
    mlb_dataset *ds = NULL;
    switch (e->format) {
    case FMT_SKLEARN:
        rc = mlb_data_load_sklearn_csv(path, &o, &ds, err, err_len);
        break;
    case FMT_CSV:
        o.classify = 1;
        rc = mlb_data_load_csv(path, &o, &ds, err, err_len);
        break;
    case FMT_DIABETES:
        rc = load_diabetes(path, path2, &o, &ds, err, err_len);
        break;
    case FMT_LIBSVM:
        o.classify = 1;
        rc = mlb_data_load_libsvm(path, 0, &o, &ds, err, err_len);
        break;
    case FMT_IDX:
        rc = mlb_data_load_idx(path, path2, &o, &ds, err, err_len);
        break;
    }
    if (rc < 0)
        return rc;

    /* The registry knows what the files do not say. */
    free(ds->name);
    ds->name = strdup(e->name);
    if (!ds->name)
        rc = -ENOMEM;
    if (!rc && e->channels) {
        if (e->channels * e->height * e->width != ds->d)
            rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu columns, expected %zux%zux%zu",
                               path, ds->d, e->channels, e->height, e->width);
        ds->channels = e->channels;
        ds->height = e->height;
        ds->width = e->width;
    }
    if (!rc && e->features && !ds->feature_names && copy_names(e->features, ds->d, &ds->feature_names) < 0)
        rc = mlb_data_fail(err, err_len, -EINVAL, "%s: %zu columns, expected %s's", path, ds->d,
                           e->name);
    if (!rc && e->target && !ds->target_name && !(ds->target_name = strdup(e->target)))
        rc = -ENOMEM;
    if (!rc && e->classes && !ds->class_names) {
        size_t k = 0;
        while (e->classes[k])
            k++;
        /* A max_rows prefix may not show every class; the classes are
         * the dataset's, not the prefix's. */
        if ((size_t)ds->n_classes > k)
            rc = mlb_data_fail(err, err_len, -EINVAL, "%s: class %d beyond %s's %zu classes",
                               path, ds->n_classes - 1, e->name, k);
        else {
            ds->n_classes = (int)k;
            rc = copy_names(e->classes, k, &ds->class_names);
        }
    }
    if (rc == -ENOMEM)
        rc = mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", e->name);
    if (rc < 0) {
        mlb_dataset_free(ds);
        return rc;
    }
    *out = ds;
    return 0;
}
