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
    int image_unit;   /* 1 scales pixels from 0..255 to 0..1 (also uint8 .npy features) */
    /* This struct has no size field: a plugin built against an older header
     * passes the layout above, so it never grows. Options added since are
     * in mlb_data_file_opts, which starts with its size. */
} mlb_data_opts;

/* Options for a file given to mlb_dataset_load_file_opts by path (see
 * "The user's own files" below), beyond those of mlb_data_opts. Initialise
 * with MLB_DATA_FILE_OPTS_INIT: the library reads only the first
 * struct_size bytes (the fields the caller was built with; those after
 * them keep their defaults), so fields are only ever appended. */
typedef struct {
    size_t struct_size; /* sizeof(mlb_data_file_opts) as the caller was compiled */
    /* CSV: the target column by its header name, or as a 1-based index
     * written in digits ("3"); when set it overrides target_col. A name is
     * looked up in the header first, so a column named "3" is found. */
    const char *target_name;
    /* CSV: MLB_HEADER_AUTO, _YES or _NO; 0: YES if has_header, else auto. */
    int header_mode;
    /* "csv", "libsvm", "idx", "npy" or "sklearn"; NULL, "" or "auto": from
     * the file's contents. */
    const char *format;
} mlb_data_file_opts;

#define MLB_DATA_FILE_OPTS_INIT {sizeof(mlb_data_file_opts), NULL, 0, NULL}

/* header_mode values. Auto: the first line is a header when one of its
 * cells is not a number where the second line has a number (so a string
 * class column does not make a header of the first data row). */
#define MLB_HEADER_AUTO 1
#define MLB_HEADER_YES 2
#define MLB_HEADER_NO 3

/* classify values. 1: CSV targets are class indices (integers >= 0,
 * n_classes = max + 1), as the registry's files are written. LABELS: any
 * labels, numbers or strings; the distinct ones, sorted (numerically when
 * every label is a number, else by bytes), become 0..k-1 and their text is
 * kept in class_names. LIBSVM and .npy map labels either way; files given
 * to mlb_dataset_load by path get LABELS for any nonzero classify. */
#define MLB_CLASSIFY_LABELS 2

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
 * be NULL; for a registered name its CSV fields are ignored (the registry
 * knows each layout). A name that is not registered may be a file or a
 * pair of files (see "The user's own files" below). An unknown name that
 * is no file either fails with -ENOENT and an error that starts "unknown
 * dataset" and lists the known names. */
int mlb_dataset_load(const char *name, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                     size_t err_len);

/* mlb_dataset_load with the options of mlb_data_file_opts for a file
 * given by path (ignored for a registered name). fopts may be NULL (the
 * defaults: mlb_dataset_load is this with fopts NULL); a struct_size
 * smaller than the first version of the struct is refused (-EINVAL). */
int mlb_dataset_load_file_opts(const char *name, const mlb_data_opts *opts,
                               const mlb_data_file_opts *fopts, mlb_dataset **out, char *err,
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
/* Writes a C-order array as a NumPy .npy file (format 1.0) of any dtype:
 * descr is NumPy's ("<f4", "<i8", "|u1", ...) and elem its size in bytes.
 * What mlb_npy_write does without a context (tools, parity drivers). 0 or a
 * negative errno with the path and reason in err. */
int mlb_npy_save(const char *path, const char *descr, size_t elem, const void *data, int ndim,
                 const size_t *shape, char *err, size_t err_len);

void mlb_dataset_free(mlb_dataset *ds);

/* ---- The user's own files ------------------------------------------------ *
 *
 * mlb_dataset_load (and _file_opts) also takes a file: a name that is not
 * registered but is an existing file, or two existing files joined by a
 * comma ("X.npy,y.npy", "images.idx,labels.idx"), is loaded by the loader
 * its format needs. The format is fopts->format when given, else it comes
 * from the contents (gzip is looked through): \x93NUMPY is .npy, 00 00
 * <type> <dims> is IDX, text whose first row is "label index:value ..." is
 * LIBSVM, other text is CSV (delimiter: opts->delimiter, or the most
 * frequent of , ; and tab on the first line, or runs of blanks). A
 * registered name wins over a file of the same name in the working
 * directory ("./iris" is the file). CSV: the header is auto-detected unless
 * has_header or fopts->header_mode says, the target is fopts->target_name /
 * target_col (default the last column); a nonzero classify reads it as
 * class labels (MLB_CLASSIFY_LABELS); quoted cells ("a,b", "" for a quote)
 * are accepted. */

/* 1 if name is in the registry (a file path is not). */
int mlb_dataset_registered(const char *name);

/* NumPy .npy pair: features (n, ...) and targets (n,) or (n, 1); float64,
 * float32, signed and unsigned integers of 1 to 8 bytes, bool; either byte
 * order; C order only (a Fortran-order array of 2 or more dimensions is
 * refused). Features of shape (n, h, w) or (n, c, h, w) keep their image
 * shape. NaN or infinite values are refused with their byte offset. With
 * classify, the distinct targets, sorted, become 0..k-1 (over every row,
 * even with max_rows). Version 1, 2 and 3 files, plain or gzip. */
int mlb_data_load_npy(const char *x_path, const char *y_path, const mlb_data_opts *opts,
                      mlb_dataset **out, char *err, size_t err_len);

/* Sets one option from text, as a plugin parameter or a command-line flag
 * gives it: into o "delimiter" (one character, or "tab", "space" / "blank"
 * for runs of blanks, "" the default) and "classify" (true, false); into f
 * "target" (a column name or 1-based index; "" the default), "header"
 * (auto, true, false) and "format" (auto, csv, libsvm, idx, npy, sklearn).
 * value is kept by pointer for target and format: it must outlive the
 * load. f must have been initialised with MLB_DATA_FILE_OPTS_INIT (only
 * fields within its struct_size are written). Returns 0 or -EINVAL with
 * err saying which value is wrong (or that o or f, NULL, was needed). */
int mlb_data_opts_set(mlb_data_opts *o, mlb_data_file_opts *f, const char *key,
                      const char *value, char *err, size_t err_len);

/* The four file options at once, each NULL or "" for its default: what a
 * plugin calls with its parameters (see MLB_DATA_FILE_PARAMS), then passes
 * o and f to mlb_dataset_load_file_opts. The delimiter goes into o, the
 * others into f. */
int mlb_data_opts_from_params(mlb_data_opts *o, mlb_data_file_opts *f, const char *target,
                              const char *header, const char *delimiter, const char *format,
                              char *err, size_t err_len);

/* Parameter declarations and rules for the four options, for a plugin's
 * mlb_param_def and mlb_param_rule tables (include <mlbench/plugin.h>
 * first). Values are checked again by mlb_data_opts_from_params. */
#define MLB_DATA_FILE_PARAMS                                                                       \
    {"target", MLB_PARAM_STRING, "",                                                               \
     "dataset file: target column, a name or 1-based index (default: the last)"},                  \
    {"header", MLB_PARAM_STRING, "auto",                                                           \
     "dataset CSV file: does the first line name the columns (auto, true, false)"},               \
    {"delimiter", MLB_PARAM_STRING, "",                                                            \
     "dataset CSV file: the delimiter (one character, tab, space; default: from the file)"},       \
    {"format", MLB_PARAM_STRING, "auto",                                                           \
     "dataset file format (auto: from the contents; csv, libsvm, idx, npy, sklearn)"}
#define MLB_DATA_FILE_RULES                                                                        \
    MLB_RULE_CHOICES("header", "auto", "true", "false"),                                           \
        MLB_RULE_CHOICES("format", "auto", "csv", "libsvm", "idx", "npy", "sklearn")

/* What mlb_data_inspect learned, beyond the dataset itself. */
#define MLB_DATA_INFO_MAX 8
typedef struct {
    char format[16];   /* "csv", "libsvm", "idx", "npy", "sklearn", or a registered
                        * dataset's layout ("diabetes" for its two files) */
    int registered;    /* 1: a registry name; 0: a file (or pair) */
    int gzip;          /* 1: the (first) file is gzip-compressed */
    int header;        /* CSV: 1 if the first line was read as column names */
    char delimiter;    /* CSV: the delimiter used (' ': runs of blanks) */
    long target_col;   /* CSV: 1-based column of the target; 0: none or not CSV */
    size_t columns;    /* CSV: cells per row, the target included */
    /* Counted over the whole file: a text file is read to its end, row
     * after bad row, so that one pass finds every problem. */
    size_t missing_cells;     /* empty, NA, NaN, null, ? ... */
    size_t non_numeric_cells; /* other text where a number belongs */
    size_t bad_rows;          /* rows with any problem (ragged ones included) */
    size_t n_problems;        /* why the file does not load: all of them counted, */
    char problems[MLB_DATA_INFO_MAX][256]; /* the first ones kept, each positioned */
    size_t n_warnings;        /* it loads, but: constant columns, one-row classes, ... */
    char warnings[MLB_DATA_INFO_MAX][256];
} mlb_data_info;

/* mlb_dataset_load_file_opts, for a person checking a file before a long
 * run: also fills info, reading a bad text file to its end to list its
 * problems (the return value and err are those of the first, as the load
 * would give), and on success looks for what may still be wrong (the
 * warnings). opts, fopts may be NULL; out may be NULL (the dataset is then
 * freed). */
int mlb_data_inspect(const char *name, const mlb_data_opts *opts,
                     const mlb_data_file_opts *fopts, mlb_data_info *info, mlb_dataset **out,
                     char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
