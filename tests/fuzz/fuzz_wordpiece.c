/* libFuzzer target: BERT's vocabulary file (plugins/bert/wordpiece.c) from
 * the first half of the input, and WordPiece encoding of the second half
 * (any bytes, invalid UTF-8 included) with it, as a pair too, and with
 * byte offsets (the same ids, spans inside the text and in order). */
#include <stdint.h>
#include <stdlib.h>

#include "wordpiece.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t half = size / 2;
    wp_vocab *v = NULL;
    char err[256];
    static const char base[] = "[PAD]\n[UNK]\n[CLS]\n[SEP]\na\n##b\nthe\n##s\n";
    /* A vocabulary that parses, so that encoding is reached on every input. */
    if (wp_vocab_parse((const char *)data, half, &v, err, sizeof err) < 0 &&
        wp_vocab_parse(base, sizeof base - 1, &v, err, sizeof err) < 0)
        abort();
    int32_t ids[64], seg[64], mask[64];
    size_t n = 0;
    int enc = wp_encode(v, (const char *)data + half, size - half, ids, 64, &n);
    if (enc == 0 && n < 64)
        for (size_t i = 0; i < n; i++)
            if (ids[i] < 0 || (size_t)ids[i] >= wp_vocab_size(v))
                abort();
    int32_t oids[64];
    size_t st[64], en[64], no = 0;
    if (enc == 0 &&
        wp_encode_offsets(v, (const char *)data + half, size - half, oids, st, en, 64, &no) == 0) {
        if (no != n)
            abort();
        for (size_t i = 0; i < no && i < 64; i++)
            if (oids[i] != ids[i] || st[i] > en[i] || en[i] > size - half ||
                (i && st[i] < st[i - 1]))
                abort();
    }
    size_t q = (size - half) / 2;
    int k = wp_encode_example(v, (const char *)data + half, q, (const char *)data + half + q,
                              size - half - q, 16, ids, seg, mask);
    if (k > 16)
        abort();
    wp_vocab_free(v);
    return 0;
}
