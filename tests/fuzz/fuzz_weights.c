/* libFuzzer target: NN weight files (docs/weights-format.md) loaded into a
 * model holding every kind of tensor the format carries: a 2-layer
 * bidirectional GRU (the recurrent names and shapes), batch norm (buffers)
 * and a linear head. Each input is tried twice: as it is (the CRC check
 * rejects almost every mutation) and with its last four bytes replaced by
 * the correct CRC-32, so that the record parser behind the check is
 * reached. */
#include <zlib.h>

#include "fuzz_common.h"
#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nn_model *model(void)
{
    static nn_model m;
    static nn_backend be;
    static int ready;
    char err[256];
    if (!ready) {
        int r, b, f;
        if (nn_model_init(&m, 3, 2, 1) < 0 ||
            (r = nn_add_recurrent(&m, "rnn", 0, NN_CELL_GRU, 3, 2, 1)) < 0 ||
            (b = nn_add_bn(&m, "bn", r)) < 0 || (f = nn_add_linear(&m, "fc", b, 2, 1)) < 0 ||
            nn_backend_init(&be, &nn_kernels_naive, 1, err, sizeof err) < 0 ||
            nn_model_compile(&m, &be, 1, err, sizeof err) < 0)
            abort();
        ready = 1;
    }
    return &m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    nn_model *m = model();
    char err[512];
    (void)nn_weights_load(m, fuzz_write(0, data, size), err, sizeof err);
    if (size >= 4) {
        uint8_t *copy = malloc(size);
        if (!copy)
            abort();
        memcpy(copy, data, size);
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), copy, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            copy[size - 4 + i] = (uint8_t)(crc >> (8 * i));
        if (nn_weights_load(m, fuzz_write(1, copy, size), err, sizeof err) == 0) {
            /* Loaded: every value must be readable. */
            volatile double sink = 0;
            for (size_t i = 0; i < m->n_weights; i++)
                sink += m->weights[i];
            (void)sink;
        }
        free(copy);
    }
    return 0;
}
