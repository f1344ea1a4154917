/* libFuzzer target: the LIBSVM loader, strict and lenient. */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t sel = size ? data[0] : 0;
    const char *p = fuzz_write(0, size ? data + 1 : data, size ? size - 1 : 0);
    mlb_data_opts o = {.classify = sel & 1,
                       .dtype = (sel & 2) ? MLB_DTYPE_F32 : MLB_DTYPE_F64,
                       .max_rows = (sel & 4) ? 2 : 0};
    mlb_data_file_opts f = MLB_DATA_FILE_OPTS_INIT;
    f.format = "libsvm";
    mlb_dataset *ds;
    FUZZ_CHECK(mlb_data_load_libsvm(p, (sel >> 3) & 7, &o, &ds, err_, sizeof err_), ds);
    mlb_data_info info;
    FUZZ_CHECK(mlb_data_inspect(p, &o, &f, &info, &ds, err_, sizeof err_), ds);
    return 0;
}
