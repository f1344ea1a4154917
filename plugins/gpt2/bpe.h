/*
 * GPT-2's byte-level BPE tokeniser, as OpenAI's encoder.py and the npm
 * package gpt-3-encoder (Encoder.js) run it: text is split by GPT-2's
 * pre-tokenisation pattern
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * (matched here by hand, with JavaScript's Unicode classes from
 * bpe_unicode.h), each piece's bytes become single-byte tokens, and the
 * merges of vocab.bpe are applied lowest rank first. encoder.json's keys are
 * byte strings under GPT-2's byte-to-unicode map (printable bytes stand for
 * themselves, the others for U+0100..); here tokens are kept as the bytes.
 *
 * Also llm.c's tokenizer file (gpt2_tokenizer.bin: 256 uint32 of header,
 * magic 20240328, version 2, vocabulary size, end-of-text id; then each
 * token as a length byte and its bytes), which carries the decoding table
 * only.
 *
 * Functions return 0 or a negative errno, with the reason in err.
 */
#ifndef MLB_GPT2_BPE_H
#define MLB_GPT2_BPE_H

#include <stddef.h>
#include <stdint.h>

#define GPT2_BPE_EOT 50256
#define GPT2_TOKENIZER_MAGIC 20240328

typedef struct {
    int n_vocab, eot;
    uint8_t *bytes;    /* every token's bytes, concatenated */
    uint32_t *off;     /* token i is bytes[off[i] .. off[i+1]) */
    int32_t byte_id[256];
    int n_merges;      /* 0: decoding only (an llm.c tokenizer file) */
    size_t mcap;       /* slots of the merge table, a power of two */
    uint64_t *mkey;    /* (left id + 1) << 32 | right id; 0 = empty */
    int32_t *mrank, *mout;
} gpt2_bpe;

/* From encoder.json and vocab.bpe in memory; n_vocab is encoder.json's
 * size, eot its "<|endoftext|>" (or the last id). */
int gpt2_bpe_load_mem(gpt2_bpe *t, const char *encoder_json, size_t elen, const char *vocab_bpe,
                      size_t vlen, char *err, size_t errlen);
/* From the files (plain or gzip). */
int gpt2_bpe_load(gpt2_bpe *t, const char *encoder_path, const char *vocab_path, char *err,
                  size_t errlen);
/* encoder.json and vocab.bpe from the data path (data/gpt2_*.gz). */
int gpt2_bpe_load_default(gpt2_bpe *t, char *err, size_t errlen);
void gpt2_bpe_free(gpt2_bpe *t);

/* The end of the pre-token starting at byte pos of text[n] (pos < n). */
size_t gpt2_bpe_pretoken(const uint8_t *text, size_t n, size_t pos);

/* Ids of text[n] into *out (malloc'd, the caller frees), *n_out of them.
 * Any bytes encode (invalid UTF-8 included: such a byte is a piece of its
 * own class), and decode back to themselves. */
int gpt2_bpe_encode(const gpt2_bpe *t, const uint8_t *text, size_t n, int32_t **out,
                    size_t *n_out, char *err, size_t errlen);
/* The bytes of ids[n] into *out (malloc'd), *n_out of them. */
int gpt2_bpe_decode(const gpt2_bpe *t, const int32_t *ids, size_t n, uint8_t **out,
                    size_t *n_out, char *err, size_t errlen);

/* llm.c's tokenizer file. parse: from memory, into a decoding-only t. */
int gpt2_tokenizer_parse(gpt2_bpe *t, const uint8_t *data, size_t len, char *err,
                         size_t errlen);
int gpt2_tokenizer_load(gpt2_bpe *t, const char *path, char *err, size_t errlen);
int gpt2_tokenizer_save(const gpt2_bpe *t, const char *path, char *err, size_t errlen);

#endif
