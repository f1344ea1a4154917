/* libFuzzer target: NN weight files (plugins/nn/weights.c, nn_weights_load;
 * docs/weights-format.md) into a small compiled model with every kind of
 * tensor (conv without bias, batch norm with its buffers, linear with a
 * bias). Random bytes would almost never pass the CRC-32 checked before
 * anything else, so unless the first byte's low bit is set the target
 * rewrites the trailer to the right CRC of the rest: the parser behind the
 * checksum gets the mutations. FUZZ_WEIGHTS_SEED=FILE writes the model's
 * own weights to FILE (a seed) at the first input. */
#include <zlib.h>

#include "fuzz_common.h"
#include "nn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static nn_model model;
static nn_backend backend;
static int ready;

static void build(void)
{
    char err[256];
    if (nn_backend_init(&backend, &nn_kernels_naive, 1, err, sizeof err) < 0 ||
        nn_model_init(&model, 2, 4, 4) < 0)
        abort();
    int a = nn_add_conv(&model, "stem", 0, 3, 3, 1, 1, 0);
    a = nn_add_bn(&model, "bn", a);
    a = nn_add_relu(&model, a);
    a = nn_add_gap(&model, a);
    a = nn_add_flatten(&model, a);
    a = nn_add_linear(&model, "fc", a, 2, 1);
    if (a < 0 || nn_model_compile(&model, &backend, 1, err, sizeof err) < 0)
        abort();
    nn_model_init_weights(&model, 1);
    const char *seed = getenv("FUZZ_WEIGHTS_SEED");
    if (seed && nn_weights_save(&model, seed, err, sizeof err) < 0)
        abort();
    ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ready)
        build();
    uint8_t sel = size ? data[0] : 1;
    if (size) {
        data++;
        size--;
    }
    uint8_t *buf = malloc(size + 1);
    if (!buf)
        abort();
    if (size)
        memcpy(buf, data, size);
    if (!(sel & 1) && size >= 4) {
        uint32_t crc = (uint32_t)crc32(crc32(0L, Z_NULL, 0), buf, (uInt)(size - 4));
        for (int i = 0; i < 4; i++)
            buf[size - 4 + (size_t)i] = (uint8_t)(crc >> (8 * i));
    }
    const char *p = fuzz_write(0, buf, size);
    free(buf);
    char err[512] = "";
    int rc = nn_weights_load(&model, p, err, sizeof err);
    if (rc > 0 || (rc < 0 && !err[0]))
        abort();
    return 0;
}
