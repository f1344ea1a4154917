/* libFuzzer target: scikit-learn's CSV layouts as the data registry reads
 * them (core/data_registry.c): the "n_samples,n_features,class names..."
 * header of iris, breast_cancer and wine (mlb_data_load_sklearn_csv, then
 * the registry's checks of the feature and class names), diabetes's pair of
 * files and digits's CSV. The input is written under the registry's file
 * name in a directory of its own on $MLBENCH_DATA_PATH, which the registry
 * searches first; the first byte picks the dataset and the options. */
#include <sys/stat.h>

#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64];
static const char *const names[] = {"iris", "breast_cancer", "wine", "diabetes", "digits"};
static const char *const files[] = {"iris.csv", "breast_cancer.csv", "wine_data.csv",
                                    "diabetes_data_raw.csv", "digits.csv"};

static void cleanup(void)
{
    char p[128];
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, files[i]);
        unlink(p);
    }
    snprintf(p, sizeof p, "%s/diabetes_target.csv", dir);
    unlink(p);
    rmdir(dir);
}

static void put(const char *name, const uint8_t *d, size_t n)
{
    char p[128];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (!f || (n && fwrite(d, 1, n, f) != n))
        abort();
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "/tmp/mlb_fuzz_sk_%ld_XXXXXX", (long)getpid());
        if (!mkdtemp(dir))
            abort();
        atexit(cleanup);
        setenv("MLBENCH_DATA_PATH", dir, 1);
    }
    uint8_t sel = size ? data[0] : 0;
    if (size) {
        data++;
        size--;
    }
    size_t which = (sel & 7) % 5;
    mlb_data_opts o = {.dtype = (sel & 0x10) ? MLB_DTYPE_F32 : MLB_DTYPE_F64,
                       .max_rows = (sel & 0x20) ? 2 : 0,
                       .image_unit = (sel & 0x40) != 0};
    if (which == 3) { /* diabetes: features and targets, split as fuzz_split does */
        size_t cut = 0;
        if (size >= 2) {
            cut = ((size_t)data[0] << 8 | data[1]) % (size - 1);
            data += 2;
            size -= 2;
        }
        if (cut > size)
            cut = size;
        put(files[3], data, cut);
        put("diabetes_target.csv", data + cut, size - cut);
    } else {
        put(files[which], data, size);
    }
    mlb_dataset *ds;
    FUZZ_CHECK(mlb_dataset_load(names[which], &o, &ds, err_, sizeof err_), ds);
    if (which < 3) { /* the layout itself, outside the registry, and through format= */
        char p[128];
        snprintf(p, sizeof p, "%s/%s", dir, files[which]);
        FUZZ_CHECK(mlb_data_load_sklearn_csv(p, &o, &ds, err_, sizeof err_), ds);
        mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
        f.format = "sklearn";
        FUZZ_CHECK(mlb_dataset_load_file_opts(p, &o, &f, &ds, err_, sizeof err_), ds);
    }
    return 0;
}
