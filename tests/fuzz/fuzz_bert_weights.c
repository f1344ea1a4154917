/* libFuzzer target: nn_bert weights files (plugins/nn/bert.c), parsed from
 * memory; a header that passes is loaded into a model of its size (small
 * ones only: the fuzzer's memory limit is not the parser's bug) and run
 * forward once, which reads every tensor the file gave. The parser refuses
 * NaN and infinite weights; the forward pass still meets them, from
 * nn_bert's arithmetic on huge finite ones. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[1024];
    nn_bert_config c;
    if (nn_bert_parse_header(data, size, &c, err, sizeof err) < 0)
        return 0;
    size_t sizes[NN_BERT_NUM_TENSORS];
    if (nn_bert_param_sizes(&c, sizes) > (1u << 20))
        return 0;
    nn_backend be;
    if (nn_backend_init(&be, &nn_kernels_naive, 1, err, sizeof err) < 0)
        return 0;
    nn_bert m;
    if (nn_bert_create(&m, &c, &be, 1, 2 <= c.max_len ? 2 : 1, 0, err, sizeof err) == 0) {
        if (nn_bert_parse(&m, data, size, err, sizeof err) != 0) {
            /* The header passed, so only a non-finite value may fail. */
            if (!strstr(err, " is NaN") && !strstr(err, " is infinite"))
                __builtin_trap();
            nn_bert_free(&m);
            nn_backend_release(&be);
            return 0;
        }
        int32_t ids[2] = {0, c.vocab_size - 1}, seg[2] = {0, c.type_vocab - 1}, mask[2] = {1, 0};
        int32_t labels[2] = {0, 0};
        nn_bert_forward(&m, ids, seg, mask, labels, 1, m.max_T);
        nn_bert_free(&m);
    }
    nn_backend_release(&be);
    return 0;
}
