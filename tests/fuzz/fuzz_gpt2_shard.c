/* libFuzzer target: llm.c token shards (plugins/nn/gpt2_io.c), parsed from
 * memory, then read through the evaluation loader to its end. */
#include <stdint.h>
#include <stdio.h>

#include "transformer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    uint16_t *tok;
    size_t n;
    if (nn_gpt2_shard_parse(data, size, &tok, &n, err, sizeof err) < 0)
        return 0;
    int B = 1 + (size > 1024 ? data[1024] % 3 : 0), T = 1 + (size > 1025 ? data[1025] % 5 : 0);
    nn_gpt2_loader l;
    nn_gpt2_loader_init(&l, tok, n, B, T);
    int32_t x[15], y[15];
    size_t batches = 0;
    while (nn_gpt2_loader_next(&l, x, y) == 0)
        batches++;
    if (batches != nn_gpt2_loader_batches(n, B, T))
        __builtin_trap();
    nn_free(tok);
    return 0;
}
