/* Datasets by name: where their files are and which loader reads them. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data_internal.h"
#include "utf8.h"

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

/* ---- Files given by path ------------------------------------------------ */

/* The size of mlb_data_file_opts's first version (target_name, header_mode,
 * format): the least a caller may pass. Fields appended later are read
 * only from callers whose struct_size covers them. */
#define FOPTS_V1_SIZE (offsetof(mlb_data_file_opts, format) + sizeof(const char *))
/* Whether the caller's struct (its struct_size) has the field. */
#define FOPTS_HAS(f, field)                                                                        \
    ((f)->struct_size >= offsetof(mlb_data_file_opts, field) + sizeof((f)->field))

/* The caller's options as this library's struct: its first struct_size
 * bytes (never more than ours), the fields it lacks zero (their defaults). */
static int copy_fopts(const mlb_data_file_opts *in, mlb_data_file_opts *out, char *err,
                      size_t err_len)
{
    memset(out, 0, sizeof *out);
    if (in) {
        if (in->struct_size < FOPTS_V1_SIZE)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "mlb_data_file_opts: struct_size %zu, less than its first "
                                 "version's %zu (initialise it with MLB_DATA_FILE_OPTS_INIT)",
                                 in->struct_size, (size_t)FOPTS_V1_SIZE);
        memcpy(out, in, in->struct_size < sizeof *out ? in->struct_size : sizeof *out);
    }
    out->struct_size = sizeof *out;
    return 0;
}

static const entry *find_entry(const char *name)
{
    for (size_t i = 0; name && i < N_REGISTRY; i++)
        if (!strcmp(registry[i].name, name))
            return &registry[i];
    return NULL;
}

int mlb_dataset_registered(const char *name)
{
    return find_entry(name) != NULL;
}

static const char *fmt_name(fmt f)
{
    switch (f) {
    case FMT_SKLEARN: return "sklearn";
    case FMT_CSV: return "csv";
    case FMT_DIABETES: return "diabetes";
    case FMT_LIBSVM: return "libsvm";
    case FMT_IDX: return "idx";
    }
    return "?";
}

/* The formats a file may have (FMT_DIABETES is the registry's own). */
typedef enum { FILE_CSV, FILE_LIBSVM, FILE_IDX, FILE_NPY, FILE_SKLEARN, FILE_UNKNOWN } file_fmt;
static const char *const file_fmt_names[] = {"csv", "libsvm", "idx", "npy", "sklearn"};

static int parse_format(const char *s, file_fmt *out)
{
    if (!s || !*s || !strcmp(s, "auto")) {
        *out = FILE_UNKNOWN;
        return 0;
    }
    for (int i = 0; i < FILE_UNKNOWN; i++)
        if (!strcmp(s, file_fmt_names[i])) {
            *out = (file_fmt)i;
            return 0;
        }
    if (!strcmp(s, "svm") || !strcmp(s, "svmlight")) {
        *out = FILE_LIBSVM;
        return 0;
    }
    return -EINVAL;
}

#define SNIFF_BYTES 4096

typedef struct {
    file_fmt fmt;     /* from the contents; FILE_UNKNOWN: binary, not recognised */
    int gzip;
    char delimiter;   /* CSV: the guess from the first line */
    unsigned char head[4];
    size_t head_len;
} sniff_result;

/* A LIBSVM row: a number, then index:value tokens (at least one). `cut`:
 * the line continues past what we have, so its last token may be partial. */
static int looks_libsvm(const char *line, size_t len, int cut)
{
    size_t i = 0, tokens = 0, pairs = 0;
    while (i < len) {
        while (i < len && (line[i] == ' ' || line[i] == '\t'))
            i++;
        if (i == len || line[i] == '#')
            break;
        size_t start = i;
        while (i < len && line[i] != ' ' && line[i] != '\t')
            i++;
        if (cut && i == len && tokens > 0)
            break;
        size_t tl = i - start;
        if (tokens == 0) {
            char num[64];
            double v;
            if (tl >= sizeof num)
                return 0;
            memcpy(num, line + start, tl);
            num[tl] = '\0';
            if (mlb_data_parse_number(num, &v) < 0)
                return 0;
        } else {
            size_t k = start;
            while (k < i && line[k] >= '0' && line[k] <= '9')
                k++;
            if (k == start || k >= i || line[k] != ':' || k + 1 == i)
                return 0;
            pairs++;
        }
        tokens++;
    }
    return pairs > 0;
}

/* The most frequent of , ; and tab on the line; none: runs of blanks. */
static char guess_delimiter(const char *line, size_t len)
{
    static const char cands[] = {',', ';', '\t'};
    size_t best = 0;
    char pick = ' ';
    for (size_t c = 0; c < sizeof cands; c++) {
        size_t count = 0;
        for (size_t i = 0; i < len; i++)
            count += line[i] == cands[c];
        if (count > best) {
            best = count;
            pick = cands[c];
        }
    }
    return pick;
}

static int is_idx_type(unsigned char t)
{
    return t == 0x08 || t == 0x09 || t == 0x0B || t == 0x0C || t == 0x0D || t == 0x0E;
}

/* Looks at the first (uncompressed) bytes. */
static int sniff_file(const char *path, sniff_result *s, char *err, size_t err_len)
{
    memset(s, 0, sizeof *s);
    s->fmt = FILE_CSV;
    s->delimiter = ',';
    gzFile gz;
    int rc = mlb_data_gzopen(path, &gz, err, err_len);
    if (rc < 0)
        return rc;
    char *buf = malloc(SNIFF_BYTES);
    if (!buf) {
        gzclose(gz);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", path);
    }
    int got = gzread(gz, buf, SNIFF_BYTES);
    s->gzip = !gzdirect(gz);
    if (got < 0) {
        rc = mlb_data_gzcheck(gz, path, err, err_len);
        if (rc == 0)
            rc = mlb_data_fail(err, err_len, -EIO, "%s: read error", path);
        gzclose(gz);
        free(buf);
        return rc;
    }
    gzclose(gz);
    size_t n = (size_t)got;
    const unsigned char *u = (const unsigned char *)buf;
    s->head_len = n < 4 ? n : 4;
    memcpy(s->head, u, s->head_len);
    if (n >= 6 && !memcmp(u, "\x93NUMPY", 6)) {
        s->fmt = FILE_NPY;
    } else if (n >= 4 && u[0] == 0 && u[1] == 0 && is_idx_type(u[2]) && u[3] >= 1 && u[3] <= 4) {
        s->fmt = FILE_IDX;
    } else if (memchr(u, 0, n)) {
        s->fmt = FILE_UNKNOWN;
    } else {
        size_t i = n >= 3 && !memcmp(u, "\xEF\xBB\xBF", 3) ? 3 : 0;
        int delim_done = 0;
        while (i < n) {
            const char *nl = memchr(buf + i, '\n', n - i);
            size_t len = nl ? (size_t)(nl - (buf + i)) : n - i;
            const char *line = buf + i;
            size_t k = 0;
            while (k < len && (line[k] == ' ' || line[k] == '\t' || line[k] == '\r'))
                k++;
            if (k < len) {
                if (!delim_done) {
                    s->delimiter = guess_delimiter(line, len);
                    delim_done = 1;
                }
                if (line[k] != '#') {
                    if (looks_libsvm(line, len, !nl && (size_t)got == SNIFF_BYTES))
                        s->fmt = FILE_LIBSVM;
                    break;
                }
            }
            if (!nl)
                break;
            i += len + 1;
        }
    }
    free(buf);
    return 0;
}

static int has_suffix(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    if (n >= 3 && !strcmp(s + n - 3, ".gz") && strcmp(suffix, ".gz"))
        n -= 3; /* X.npy.gz is a .npy */
    return n >= k && !strncasecmp(s + n - k, suffix, k);
}

/* What the name says, used where the contents do not decide. */
static file_fmt fmt_from_name(const char *path)
{
    if (has_suffix(path, ".npy"))
        return FILE_NPY;
    if (has_suffix(path, ".idx") || has_suffix(path, "-ubyte") || has_suffix(path, ".idx1") ||
        has_suffix(path, ".idx3"))
        return FILE_IDX;
    if (has_suffix(path, ".svm") || has_suffix(path, ".libsvm"))
        return FILE_LIBSVM;
    return FILE_UNKNOWN;
}

/* 1: name is a file; 2: two files joined by a comma, into a and b; 0:
 * neither (why says what is missing). */
static int resolve_files(const char *name, char *a, size_t alen, char *b, size_t blen, char *why,
                         size_t why_len)
{
    snprintf(why, why_len, "no such file");
    if (strlen(name) >= alen)
        return 0;
    if (is_file(name)) {
        snprintf(a, alen, "%s", name);
        return 1;
    }
    for (const char *c = strchr(name, ','); c; c = strchr(c + 1, ',')) {
        int w = snprintf(a, alen, "%.*s", (int)(c - name), name);
        if (w < 0 || (size_t)w >= alen)
            continue;
        snprintf(b, blen, "%s", c + 1);
        if (is_file(a) && is_file(b))
            return 2;
        if (is_file(a))
            snprintf(why, why_len, "'%s' exists, '%s' does not", MLB_EXCERPT(a, 200),
                     MLB_EXCERPT(b, 200));
    }
    return 0;
}

/* fopts: a whole struct of ours (copy_fopts). */
static int load_file(const char *name, int nfiles, const char *a, const char *b,
                     const mlb_data_opts *opts, const mlb_data_file_opts *fopts,
                     mlb_data_info *info, mlb_dataset **out, char *err, size_t err_len)
{
    file_fmt want;
    if (parse_format(fopts->format, &want) < 0)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "format '%s': expected auto, csv, libsvm, idx, npy or sklearn",
                             fopts->format);
    sniff_result sn;
    int rc = sniff_file(a, &sn, err, err_len);
    if (rc < 0)
        return rc;
    file_fmt f = want;
    if (f == FILE_UNKNOWN) {
        f = sn.fmt;
        file_fmt by_name = fmt_from_name(a);
        /* The contents decide; the name only where they cannot: a binary
         * file we do not recognise, or text named as a binary format (its
         * loader then says, at byte 0, why it is not one). */
        if (by_name == FILE_NPY || by_name == FILE_IDX) {
            if (f == FILE_UNKNOWN || f == FILE_CSV || f == FILE_LIBSVM)
                f = by_name;
        } else if (by_name == FILE_LIBSVM && f == FILE_CSV) {
            f = FILE_LIBSVM;
        }
    }
    if (f == FILE_UNKNOWN && sn.head_len >= 2 &&
        ((sn.head[0] == 0xFF && sn.head[1] == 0xFE) || (sn.head[0] == 0xFE && sn.head[1] == 0xFF)))
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 0: UTF-16 text (byte order mark %02x %02x): save it as "
                             "UTF-8",
                             a, sn.head[0], sn.head[1]);
    if (f == FILE_UNKNOWN)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: byte 0: not a data file we recognise (starts %02x %02x %02x "
                             "%02x): expected CSV or LIBSVM text, .npy (\\x93NUMPY) or IDX (00 00 "
                             "08 0N), plain or gzip; or say format=",
                             a, sn.head_len > 0 ? sn.head[0] : 0, sn.head_len > 1 ? sn.head[1] : 0,
                             sn.head_len > 2 ? sn.head[2] : 0, sn.head_len > 3 ? sn.head[3] : 0);
    if (info) {
        snprintf(info->format, sizeof info->format, "%s", file_fmt_names[f]);
        info->gzip = sn.gzip;
    }
    int pair = f == FILE_IDX || f == FILE_NPY;
    if (pair && nfiles != 2)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: %s data are a pair of files, joined by a comma: %s", a,
                             f == FILE_IDX ? "IDX" : ".npy",
                             f == FILE_IDX ? "images.idx,labels.idx" : "X.npy,y.npy");
    if (!pair && nfiles == 2)
        return mlb_data_fail(err, err_len, -EINVAL,
                             "%s: %s is one file; two files joined by a comma are for IDX "
                             "(images,labels) or .npy (X,y)",
                             name, file_fmt_names[f]);
    mlb_data_opts o = *opts;
    mlb_data_file_opts fo = *fopts;
    mlb_dataset *ds = NULL;
    switch (f) {
    case FILE_CSV:
        if (!fo.header_mode && !o.has_header)
            fo.header_mode = MLB_HEADER_AUTO;
        if (!o.delimiter)
            o.delimiter = sn.delimiter;
        if (o.classify)
            o.classify = MLB_CLASSIFY_LABELS;
        rc = mlb_data_csv_read(a, &o, &fo, info, &ds, err, err_len);
        break;
    case FILE_LIBSVM:
        rc = mlb_data_libsvm_read(a, 0, &o, info, &ds, err, err_len);
        break;
    case FILE_SKLEARN:
        rc = mlb_data_load_sklearn_csv(a, &o, &ds, err, err_len);
        break;
    case FILE_IDX:
        rc = mlb_data_load_idx(a, b, &o, &ds, err, err_len);
        break;
    case FILE_NPY:
        rc = mlb_data_load_npy(a, b, &o, &ds, err, err_len);
        break;
    case FILE_UNKNOWN:
        rc = -EINVAL;
        break;
    }
    if (rc < 0)
        return rc;
    char *nm = strdup(name);
    if (!nm) {
        mlb_dataset_free(ds);
        return mlb_data_fail(err, err_len, -ENOMEM, "%s: out of memory", name);
    }
    free(ds->name);
    ds->name = nm;
    *out = ds;
    return 0;
}

static int load_unregistered(const char *name, const mlb_data_opts *opts,
                             const mlb_data_file_opts *fopts, mlb_data_info *info,
                             mlb_dataset **out, char *err, size_t err_len)
{
    char a[4096], b[4096], why[512];
    int nfiles = name ? resolve_files(name, a, sizeof a, b, sizeof b, why, sizeof why) : 0;
    if (nfiles)
        return load_file(name, nfiles, a, b, opts, fopts, info, out, err, err_len);
    char known[512] = "";
    size_t used = 0;
    for (size_t i = 0; i < N_REGISTRY; i++) {
        int w = snprintf(known + used, sizeof known - used, "%s%s", i ? ", " : "",
                         registry[i].name);
        if (w > 0 && (size_t)w < sizeof known - used)
            used += (size_t)w;
    }
    /* "unknown dataset" first and the list last: callers append their own
     * names (the regression task adds ", synthetic"). */
    return mlb_data_fail(err, err_len, -ENOENT,
                         "unknown dataset '%s' (not a registered name, nor a file: %s); known "
                         "datasets: %s",
                         name ? name : "(null)", why, known);
}

int mlb_dataset_load(const char *name, const mlb_data_opts *opts, mlb_dataset **out, char *err,
                     size_t err_len)
{
    return mlb_dataset_load_file_opts(name, opts, NULL, out, err, err_len);
}

int mlb_dataset_load_file_opts(const char *name, const mlb_data_opts *opts,
                               const mlb_data_file_opts *fopts, mlb_dataset **out, char *err,
                               size_t err_len)
{
    *out = NULL;
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    mlb_data_file_opts fo;
    int rc = copy_fopts(fopts, &fo, err, err_len);
    if (rc < 0)
        return rc;
    const entry *e = find_entry(name);
    if (!e)
        return load_unregistered(name, opts, &fo, NULL, out, err, err_len);

    char path[4096], path2[4096];
    rc = mlb_data_find(e->file, path, sizeof path, err, err_len);
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

/* ---- Options from text --------------------------------------------------- */

static int parse_bool_word(const char *v, int *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1")) {
        *out = 1;
        return 0;
    }
    if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0")) {
        *out = 0;
        return 0;
    }
    return -1;
}

/* The struct a key is set in must be there (and, for f, have the field). */
static int need_opts(const void *o, const char *key, char *err, size_t err_len)
{
    if (o)
        return 0;
    return mlb_data_fail(err, err_len, -EINVAL, "data option '%s': no %s to set it in", key,
                         strcmp(key, "delimiter") && strcmp(key, "classify")
                             ? "mlb_data_file_opts"
                             : "mlb_data_opts");
}

#define NEED_FILE_FIELD(f, field, key)                                                             \
    do {                                                                                           \
        int rc_ = need_opts((f), (key), err, err_len);                                             \
        if (rc_ == 0 && !FOPTS_HAS((f), field))                                                    \
            rc_ = mlb_data_fail(err, err_len, -EINVAL,                                             \
                                "data option '%s': mlb_data_file_opts of struct_size %zu has no "  \
                                "room for it (initialise it with MLB_DATA_FILE_OPTS_INIT)",        \
                                (key), (f)->struct_size);                                          \
        if (rc_ < 0)                                                                               \
            return rc_;                                                                            \
    } while (0)

int mlb_data_opts_set(mlb_data_opts *o, mlb_data_file_opts *f, const char *key,
                      const char *value, char *err, size_t err_len)
{
    if (!key)
        return mlb_data_fail(err, err_len, -EINVAL, "data option: no name");
    const char *v = value ? value : "";
    if (!strcmp(key, "target")) {
        NEED_FILE_FIELD(f, target_name, key);
        /* "" leaves target_col as the caller set it (default: the last). */
        f->target_name = *v ? v : NULL;
        return 0;
    }
    if (!strcmp(key, "header")) {
        NEED_FILE_FIELD(f, header_mode, key);
        int b;
        if (!*v || !strcmp(v, "auto"))
            f->header_mode = MLB_HEADER_AUTO;
        else if (parse_bool_word(v, &b) == 0)
            f->header_mode = b ? MLB_HEADER_YES : MLB_HEADER_NO;
        else
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "header '%s': expected auto, true or false", v);
        return 0;
    }
    if (!strcmp(key, "delimiter")) {
        int rc = need_opts(o, key, err, err_len);
        if (rc < 0)
            return rc;
        static const struct {
            const char *word;
            char c;
        } words[] = {{"tab", '\t'},   {"\\t", '\t'},       {"space", ' '}, {"blank", ' '},
                     {"blanks", ' '}, {"whitespace", ' '}, {"comma", ','}, {"semicolon", ';'},
                     {"pipe", '|'}};
        if (!*v) {
            o->delimiter = 0;
            return 0;
        }
        for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
            if (!strcmp(v, words[i].word)) {
                o->delimiter = words[i].c;
                return 0;
            }
        unsigned char c = (unsigned char)v[0];
        /* A quote opens a quoted cell, a digit, sign or point is part of a
         * number: none of them can separate cells. */
        if (v[1] != '\0' || c < 0x20 || c >= 0x7f || c == '"' || c == '.' || c == '-' ||
            c == '+' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "delimiter '%s': expected one punctuation character (',', ';', "
                                 "'|'), tab or space",
                                 v);
        o->delimiter = (char)c;
        return 0;
    }
    if (!strcmp(key, "format")) {
        NEED_FILE_FIELD(f, format, key);
        file_fmt ff;
        if (parse_format(v, &ff) < 0)
            return mlb_data_fail(err, err_len, -EINVAL,
                                 "format '%s': expected auto, csv, libsvm, idx, npy or sklearn", v);
        f->format = ff == FILE_UNKNOWN ? NULL : v;
        return 0;
    }
    if (!strcmp(key, "classify")) {
        int rc = need_opts(o, key, err, err_len);
        if (rc < 0)
            return rc;
        int b;
        if (parse_bool_word(v, &b) < 0)
            return mlb_data_fail(err, err_len, -EINVAL, "classify '%s': expected true or false",
                                 v);
        o->classify = b;
        return 0;
    }
    return mlb_data_fail(err, err_len, -EINVAL,
                         "unknown data option '%s' (target, header, delimiter, format, classify)",
                         key);
}

int mlb_data_opts_from_params(mlb_data_opts *o, mlb_data_file_opts *f, const char *target,
                              const char *header, const char *delimiter, const char *format,
                              char *err, size_t err_len)
{
    const char *keys[] = {"target", "header", "delimiter", "format"};
    const char *vals[] = {target, header, delimiter, format};
    for (int i = 0; i < 4; i++) {
        if (!vals[i])
            continue;
        int rc = mlb_data_opts_set(o, f, keys[i], vals[i], err, err_len);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- Inspection ---------------------------------------------------------- */

static double cell_at(const mlb_dataset *ds, size_t i, size_t j)
{
    return ds->X ? ds->X[i * ds->d + j] : (double)ds->X32[i * ds->d + j];
}

static void column_label(const mlb_dataset *ds, size_t j, char *buf, size_t len)
{
    if (ds->feature_names && ds->feature_names[j])
        snprintf(buf, len, "'%s'", MLB_EXCERPT(ds->feature_names[j], 40));
    else
        snprintf(buf, len, "%zu", j + 1);
}

/* What may still be wrong with a dataset that loaded. */
static void find_warnings(const mlb_dataset *ds, const mlb_data_opts *opts, mlb_data_info *info)
{
    if (ds->n < 2)
        mlb_data_note_warning(info, "%zu row: too few for a train/test split", ds->n);
    size_t constant = 0, listed = 0;
    char list[200] = "";
    for (size_t j = 0; j < ds->d && (ds->X || ds->X32); j++) {
        double v0 = cell_at(ds, 0, j);
        size_t i = 1;
        while (i < ds->n && cell_at(ds, i, j) == v0)
            i++;
        if (i < ds->n)
            continue;
        constant++;
        if (listed < 5) {
            char lab[64];
            column_label(ds, j, lab, sizeof lab);
            size_t used = strlen(list);
            snprintf(list + used, sizeof list - used, "%s%s", listed ? ", " : "", lab);
            listed++;
        }
    }
    /* Images have constant border pixels by nature; say so only once. */
    if (constant)
        mlb_data_note_warning(info, "%zu constant feature column%s (%s%s%s)%s", constant,
                              constant > 1 ? "s" : "", ds->channels ? "pixels " : "", list,
                              constant > listed ? ", ..." : "",
                              ds->channels ? "" : ": no information for a model");
    if (ds->feature_names) {
        /* Each name's previous column in a hash set: a million columns cost
         * a million probes, not 5e11 comparisons. A name in columns j and k
         * (the next one with it) gets one note. */
        size_t cap = 16;
        while (cap < 2 * ds->d)
            cap *= 2;
        size_t *slot = calloc(cap, sizeof *slot); /* column + 1; 0: empty */
        for (size_t k = 0; slot && k < ds->d; k++) {
            const char *name = ds->feature_names[k];
            if (!name)
                continue;
            size_t h = 14695981039346656037ULL & SIZE_MAX;
            for (const char *c = name; *c; c++)
                h = (h ^ (unsigned char)*c) * (size_t)1099511628211ULL;
            size_t i = h & (cap - 1);
            while (slot[i] && strcmp(ds->feature_names[slot[i] - 1], name))
                i = (i + 1) & (cap - 1);
            if (slot[i])
                mlb_data_note_warning(info, "feature name '%s' is in columns %zu and %zu",
                                      MLB_EXCERPT(name, 40), slot[i], k + 1);
            slot[i] = k + 1;
        }
        free(slot);
    }
    if (ds->n_classes > 0) {
        size_t *count = calloc((size_t)ds->n_classes, sizeof *count);
        if (!count)
            return;
        for (size_t i = 0; i < ds->n; i++)
            if (ds->y[i] >= 0 && ds->y[i] < ds->n_classes)
                count[(size_t)ds->y[i]]++;
        if (ds->n_classes == 1)
            mlb_data_note_warning(info, "one class only: nothing to tell apart");
        for (int c = 0; c < ds->n_classes; c++) {
            if (count[c] > 1)
                continue;
            char name[64];
            if (ds->class_names && ds->class_names[c])
                snprintf(name, sizeof name, "'%s'", MLB_EXCERPT(ds->class_names[c], 40));
            else
                snprintf(name, sizeof name, "%d", c);
            mlb_data_note_warning(info, "class %s has %zu row%s%s", name, count[c],
                                  count[c] == 1 ? "" : "s",
                                  count[c] ? ": a train/test split leaves it out of one part"
                                           : "");
        }
        free(count);
    } else if (ds->n) {
        size_t distinct = 0;
        int integral = 1, constant_y = 1;
        double seen[21];
        for (size_t i = 0; i < ds->n; i++) {
            double v = ds->y[i];
            if (v != ds->y[0])
                constant_y = 0;
            if (v != floor(v))
                integral = 0;
            size_t k = 0;
            while (k < distinct && seen[k] != v)
                k++;
            if (k == distinct && distinct < 21)
                seen[distinct++] = v;
        }
        if (constant_y && ds->n > 1 && (!opts || opts->target_col != MLB_CSV_NO_TARGET))
            mlb_data_note_warning(info, "the target is constant (%g)", ds->y[0]);
        else if (integral && distinct <= 20 && ds->n >= 4 * distinct && !constant_y)
            mlb_data_note_warning(info,
                                  "the target has %zu distinct integer values: class labels? "
                                  "(classify)",
                                  distinct);
    }
}

int mlb_data_inspect(const char *name, const mlb_data_opts *opts,
                     const mlb_data_file_opts *fopts, mlb_data_info *info, mlb_dataset **out,
                     char *err, size_t err_len)
{
    static const mlb_data_opts defaults = {0};
    if (!opts)
        opts = &defaults;
    memset(info, 0, sizeof *info);
    if (out)
        *out = NULL;
    mlb_dataset *ds = NULL;
    mlb_data_file_opts fo;
    int rc = copy_fopts(fopts, &fo, err, err_len);
    const entry *e = rc < 0 ? NULL : find_entry(name);
    if (rc < 0) {
        /* noted as a problem below */
    } else if (e) {
        info->registered = 1;
        snprintf(info->format, sizeof info->format, "%s", fmt_name(e->format));
        rc = mlb_dataset_load(name, opts, &ds, err, err_len);
    } else {
        rc = load_unregistered(name, opts, &fo, info, &ds, err, err_len);
    }
    if (rc < 0) {
        /* Binary loaders and early failures stop at the first problem. */
        if (info->n_problems == 0)
            mlb_data_note_problem(info, err);
        return rc;
    }
    find_warnings(ds, opts, info);
    if (out)
        *out = ds;
    else
        mlb_dataset_free(ds);
    return 0;
}
