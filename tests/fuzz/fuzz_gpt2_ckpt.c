/* libFuzzer target: llm.c GPT-2 checkpoints (plugins/nn/gpt2_io.c), parsed
 * from memory; a header that passes is loaded into a model of its size
 * (small ones only: the fuzzer's memory limit is not the parser's bug). The
 * parser refuses NaN and infinite weights; the step still meets them, from
 * arithmetic on huge finite ones. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "transformer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    nn_gpt2_config c;
    if (nn_gpt2_ckpt_parse_header(data, size, &c, err, sizeof err) < 0)
        return 0;
    size_t sizes[NN_GPT2_NUM_TENSORS];
    if (nn_gpt2_param_sizes(&c, sizes) > (1u << 20) || c.max_seq_len > 64)
        return 0;
    nn_backend be;
    if (nn_backend_init(&be, &nn_kernels_naive, 1, err, sizeof err) < 0)
        return 0;
    nn_gpt2 m;
    if (nn_gpt2_create(&m, &c, &be, 1, 1, 0, err, sizeof err) == 0) {
        if (nn_gpt2_ckpt_parse(&m, data, size, err, sizeof err) != 0) {
            /* The header passed, so only a non-finite value may fail. */
            if (!strstr(err, " is NaN") && !strstr(err, " is infinite"))
                __builtin_trap();
            nn_gpt2_free(&m);
            nn_backend_release(&be);
            return 0;
        }
        /* One decoding step reads every tensor the file gave. */
        int32_t tok = 0;
        (void)nn_gpt2_step(&m, tok, 0);
        nn_gpt2_free(&m);
    }
    nn_backend_release(&be);
    return 0;
}
