/* libFuzzer target: IDX image and label files (the input is split in two). */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *a, *b;
    fuzz_split(data, size, &a, &b);
    uint8_t sel = size > 2 ? data[2] : 0;
    mlb_data_opts o = {.image_unit = sel & 1,
                       .dtype = (sel & 2) ? MLB_DTYPE_F32 : MLB_DTYPE_F64,
                       .max_rows = (sel & 4) ? 1 : 0};
    mlb_dataset *ds;
    FUZZ_CHECK(mlb_data_load_idx(a, b, &o, &ds, err_, sizeof err_), ds);
    char both[160];
    snprintf(both, sizeof both, "%s,%s", a, b);
    FUZZ_CHECK(mlb_dataset_load(both, &o, &ds, err_, sizeof err_), ds);
    return 0;
}
