/* libFuzzer target: the CSV loader under each header mode, delimiter and
 * target kind, and format sniffing plus lenient reading (mlb_data_inspect). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The first byte picks the options, the rest is the file. */
    uint8_t sel = size ? data[0] : 0;
    const char *p = fuzz_write(0, size ? data + 1 : data, size ? size - 1 : 0);
    static const char delims[] = {0, ',', ' ', ';', '\t'};
    static const char *const targets[] = {NULL, "1", "2", "a", "t"};
    mlb_data_opts o = {.has_header = sel & 1,
                       .classify = (sel >> 2) % 3,
                       .delimiter = delims[(sel >> 4) % 5],
                       .dtype = (sel & 0x80) ? MLB_DTYPE_F32 : MLB_DTYPE_F64,
                       .max_rows = (sel & 0x40) ? 3 : 0};
    mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
    f.header_mode = sel & 3;
    f.target_name = targets[(sel >> 5) % 5];
    mlb_dataset *ds;
    FUZZ_CHECK(mlb_data_load_csv(p, &o, &ds, err_, sizeof err_), ds);
    FUZZ_CHECK(mlb_data_load_sklearn_csv(p, &o, &ds, err_, sizeof err_), ds);
    f.format = "csv";
    FUZZ_CHECK(mlb_dataset_load_file_opts(p, &o, &f, &ds, err_, sizeof err_), ds);
    f.format = NULL;
    mlb_data_info info;
    FUZZ_CHECK(mlb_data_inspect(p, &o, &f, &info, &ds, err_, sizeof err_), ds);
    return 0;
}
