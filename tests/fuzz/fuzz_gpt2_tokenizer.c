/* libFuzzer target: GPT-2's tokeniser (plugins/gpt2/bpe.c). An input whose
 * first byte is even is an llm.c tokenizer file (parsed, then every token
 * decoded); odd, the rest is text for the real GPT-2 BPE (data/gpt2_*.gz),
 * which must decode back to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gpt2_bpe bpe; /* the fuzzer's, loaded once */

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char err[1024];
    if (gpt2_bpe_load_default(&bpe, err, sizeof err) < 0) {
        fprintf(stderr, "fuzz_gpt2_tokenizer: %s\n", err);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512];
    if (size == 0)
        return 0;
    if (!(data[0] & 1)) {
        gpt2_bpe t;
        if (gpt2_tokenizer_parse(&t, data + 1, size - 1, err, sizeof err) == 0) {
            int32_t ids[2] = {0, t.n_vocab - 1};
            uint8_t *out;
            size_t n;
            if (gpt2_bpe_decode(&t, ids, 2, &out, &n, err, sizeof err) != 0)
                __builtin_trap();
            free(out);
            gpt2_bpe_free(&t);
        }
        return 0;
    }
    int32_t *ids;
    size_t k, n;
    uint8_t *back;
    if (gpt2_bpe_encode(&bpe, data + 1, size - 1, &ids, &k, err, sizeof err) != 0)
        __builtin_trap();
    if (gpt2_bpe_decode(&bpe, ids, k, &back, &n, err, sizeof err) != 0 || n != size - 1 ||
        memcmp(back, data + 1, n))
        __builtin_trap(); /* byte-level BPE is lossless */
    free(ids);
    free(back);
    return 0;
}
