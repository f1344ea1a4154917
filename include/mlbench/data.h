/*
 * mlbench data layer (libmlbench): datasets by name, file loaders, seeded
 * synthetic generators, standardisation, train/test split, float views.
 *
 * Nothing here needs an mlb_ctx: every function that can fail takes an error
 * buffer `err` of `err_len` bytes, fills it with one line that names the
 * file and the place (line and column for text formats, byte offset for
 * binary ones) and the reason, and returns a negative errno-style code:
 *
 *     mlb_dataset *ds;
 *     char err[512];
 *     if (mlb_dataset_load("diabetes", NULL, &ds, err, sizeof err) < 0)
 *         return mlb_error(ctx, "%s", err);
 *     ...
 *     mlb_dataset_free(ds);
 *
 * Files may be gzip-compressed or not, whatever their name: every loader
 * reads through zlib, which passes plain files through.
 *
 * A dataset is a dense table of n rows (samples) by d columns (features),
 * row-major, and one target per row. Classification targets are class
 * indices 0..n_classes-1 stored as doubles; regression targets have
 * n_classes == 0. Image datasets also keep their shape (channels x height x
 * width == d, in that order within a row: CHW).
 *
 * Features live in X (float64) and/or X32 (float32); a loader fills the one
 * asked for in its options (float64 by default) and mlb_data_view_f32/_f64
 * make the other on demand, so a float32 consumer of 60000 images never
 * holds a float64 copy.
 */
#ifndef MLBENCH_DATA_H
#define MLBENCH_DATA_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct mlb_dataset {
    char *name;           /* registry name or file path (owned) */
    size_t n;             /* rows (samples) */
    size_t d;             /* columns (features) */
    double *X;            /* n*d row-major float64, or NULL (see mlb_data_view_f64) */
    float *X32;           /* n*d row-major float32, or NULL (see mlb_data_view_f32) */
    double *y;            /* n targets (never NULL once loaded) */
    int n_classes;        /* > 0: classification, y in 0..n_classes-1; 0: regression */
    char **feature_names; /* d names, or NULL when the source has none */
    char *target_name;    /* or NULL */
    char **class_names;   /* n_classes names, or NULL */
    size_t channels, height, width; /* image shape (product == d); all 0 if not an image */
} mlb_dataset;

/* Element type a loader fills. */
typedef enum { MLB_DTYPE_F64 = 0, MLB_DTYPE_F32 = 1 } mlb_dtype;

/* Loader options; a zeroed struct (or NULL) means the defaults. */
typedef struct {
    mlb_dtype dtype;  /* which of X / X32 to fill (default float64) */
    size_t max_rows;  /* 0: all rows; else stop after this many (a quick run on big data) */
    /* CSV only: */
    int has_header;   /* 1: the first line names the columns (not numbers) */
    long target_col;  /* 0 (default): the last column is the target; k >= 1: the k-th
                       * column, counting from 1; MLB_CSV_NO_TARGET: none (y all 0) */
    char delimiter;   /* 0: ',' ; ' ' means any run of blanks */
    /* CSV and LIBSVM: */
    int classify;     /* 1: the target is a class label (CSV: an integer >= 0, n_classes =
                       * max + 1; LIBSVM: see mlb_data_load_libsvm) */
    /* IDX only: */
    int image_unit;   /* 1 scales pixels from 0..255 to 0..1 */
} mlb_data_opts;

#define MLB_CSV_NO_TARGET (-1L)

/* Sanity limits: a header claiming more than these is rejected before any
 * allocation (an absurd size is a corrupt file, not a request). */
#define MLB_DATA_MAX_ROWS ((size_t)1 << 28)
#define MLB_DATA_MAX_COLS ((size_t)1 << 20)
#define MLB_DATA_MAX_CELLS ((size_t)1 << 31)

/* ---- Registry ------------------------------------------------------------ */

/* Loads a dataset by name: "diabetes", "digits", "iris", "breast_cancer",
 * "wine", "heart_scale", "fashion-mnist" (the 60000 training images),
 * "fashion-mnist-test" (the 10000 test images). Files are searched in
 * $MLBENCH_DATA_PATH (colon-separated), the source tree's data/, the
 * installed <datadir>/mlbench/data, and /usr/share/datasets/<name>. opts may
 * be NULL; its CSV fields are ignored (the registry knows each layout). An
 * unknown name fails with -ENOENT and an error that lists the known names. */
int mlb_dataset_load(const char *name, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                     size_t err_len);

/* Number of registered names, and the i-th (for listings and tests). */
size_t mlb_dataset_count(void);
const char *mlb_dataset_name(size_t i);
/* One line on the i-th dataset: what it is and its shape. */
const char *mlb_dataset_summary(size_t i);

/* Finds `file` (a relative name such as "iris.csv") in the data search path
 * above; writes the full path to `path`. Returns 0 or -ENOENT (the error
 * lists the directories searched). */
int mlb_data_find(const char *file, char *path, size_t path_len, char *err, size_t err_len);

/* ---- Loaders ------------------------------------------------------------- */

/* Delimited numeric text. Every row must have the same number of columns;
 * every cell must be a finite number (no NaN, no "inf", no empty cell). */
int mlb_data_load_csv(const char *path, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                      size_t err_len);

/* scikit-learn's bundled layout: first line "n_samples,n_features,name0,..."
 * (the names are the class names), then n_samples rows of n_features numbers
 * and an integer class label. The counts in the header are checked. */
int mlb_data_load_sklearn_csv(const char *path, const mlb_data_opts *opts, mlb_dataset **out,
                              char *err, size_t err_len);

/* LIBSVM sparse text: "label index:value index:value ..." with 1-based,
 * strictly increasing indices. d is the largest index seen (or n_features
 * if that is larger, so that train and test files agree; 0: from the file).
 * Labels are kept as read (regression) unless opts->classify, which maps the
 * distinct labels, sorted, to 0..k-1 (so -1/+1 become 0/1). */
int mlb_data_load_libsvm(const char *path, size_t n_features, const mlb_data_opts *opts,
                         mlb_dataset **out, char *err, size_t err_len);

/* IDX (MNIST layout): an images file (unsigned byte, 3 dimensions n x h x w)
 * and a labels file (unsigned byte, 1 dimension n). Checks the magic
 * numbers, that the counts agree and that the files are not truncated. */
int mlb_data_load_idx(const char *images_path, const char *labels_path, const mlb_data_opts *opts,
                      mlb_dataset **out, char *err, size_t err_len);

/* ---- Synthetic generators ------------------------------------------------ */
/* Identical output for identical parameters on every machine (GSL's MT19937
 * and ziggurat Gaussian, no platform-dependent maths). */

typedef enum {
    MLB_SYNTH_REGRESSION = 0,     /* X ~ N(0,1); y = X*coef + noise*N(0,1); informative
                                   * coefs uniform in [0,100) (as make_regression) */
    MLB_SYNTH_CLASSIFICATION = 1, /* n_classes Gaussian classes, centres ~ N(0, 2^2) */
    MLB_SYNTH_BLOBS = 2,          /* n_classes isotropic blobs, centres in [-10,10]^d */
} mlb_synth_kind;

typedef struct {
    mlb_synth_kind kind;
    size_t n_samples, n_features;
    uint64_t seed;
    double noise;     /* regression: noise std (0: none); classification/blobs: cluster
                       * std (0: 1.0) */
    int n_classes;    /* classification/blobs (0: 2 for classification, 3 for blobs) */
    int n_informative; /* regression: features with nonzero coef (0: all) */
    double *coef_out; /* regression: if non-NULL, receives the n_features true coefs */
} mlb_synth_opts;

int mlb_data_synth(const mlb_synth_opts *opts, mlb_dataset **out, char *err, size_t err_len);

/* ---- Transforms ---------------------------------------------------------- */

/* Makes the float32 (float64) view from the other one if it is missing.
 * Returns 0 or -ENOMEM. */
int mlb_data_view_f32(mlb_dataset *ds);
int mlb_data_view_f64(mlb_dataset *ds);

/* Per-column mean and standard deviation (population, ddof=0, as
 * scikit-learn's StandardScaler) of ds's rows. mean and std have d entries.
 * A constant column gets std 1, so that it maps to 0 rather than NaN. */
int mlb_data_moments(const mlb_dataset *ds, double *mean, double *std);
/* X = (X - mean) / std in place, on whichever of X and X32 exist. With
 * mean/std NULL they are computed from ds itself; otherwise those given are
 * applied (standardise a test split with the training split's moments). */
int mlb_data_standardize(mlb_dataset *ds, const double *mean, const double *std);

/* Seeded shuffle and split: test gets round(test_fraction * n) rows (at
 * least 1 and at most n-1 when 0 < test_fraction < 1), train the rest. Both
 * are new datasets that copy the rows (and the names, classes and shape);
 * ds is untouched. Same seed, same split, on any machine. */
int mlb_data_split(const mlb_dataset *ds, double test_fraction, uint64_t seed, mlb_dataset **train,
                   mlb_dataset **test, char *err, size_t err_len);

/* A dataset holding rows [first, first+count) of ds (a copy). */
int mlb_data_subset(const mlb_dataset *ds, size_t first, size_t count, mlb_dataset **out);

/* Writes ds as CSV with a header ("x0,...,x{d-1},y") and 17 significant
 * digits, so that another program reads back the identical doubles (used to
 * hand generator output to external tools). */
int mlb_data_write_csv(const mlb_dataset *ds, const char *path, char *err, size_t err_len);

void mlb_dataset_free(mlb_dataset *ds);

#ifdef __cplusplus
}
#endif
#endif
