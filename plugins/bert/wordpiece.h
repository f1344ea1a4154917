/* BERT's uncased WordPiece tokeniser: basic tokenisation (clean-up,
 * CJK ideographs as words, lower-casing, accent stripping, punctuation
 * split), then greedy longest-match-first word pieces with the "##"
 * continuation prefix, [UNK] for a word without a match or longer than
 * 100 characters. The vocabulary is BERT's vocab.txt (one token per line,
 * the line number its id; gzip accepted): data/bert_uncased_vocab.txt.gz. */
#ifndef MLB_BERT_WORDPIECE_H
#define MLB_BERT_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

#define WP_MAX_VOCAB 1000000
#define WP_MAX_TOKEN_BYTES 256   /* longer vocabulary lines are refused */
#define WP_MAX_WORD_CHARS 100    /* longer words are [UNK], as BERT's */

typedef struct wp_vocab wp_vocab;

/* Reads vocab.txt (plain or gzip), at most WP_MAX_VOCAB lines, each a
 * non-empty token of at most WP_MAX_TOKEN_BYTES bytes of valid UTF-8,
 * none twice; [UNK], [CLS], [SEP] and [PAD] must be there. 0, or negative
 * with the file, line and reason in err. */
int wp_vocab_load(const char *path, wp_vocab **out, char *err, size_t errlen);
/* The same from bytes in memory (the fuzz target's entry). */
int wp_vocab_parse(const char *text, size_t len, wp_vocab **out, char *err, size_t errlen);
void wp_vocab_free(wp_vocab *v);

size_t wp_vocab_size(const wp_vocab *v);
/* The id of a token, or -1. */
int32_t wp_vocab_id(const wp_vocab *v, const char *token, size_t len);
/* The token of an id (NUL-terminated), or NULL. */
const char *wp_vocab_token(const wp_vocab *v, int32_t id);
/* The special tokens' ids. */
int32_t wp_unk(const wp_vocab *v);
int32_t wp_cls(const wp_vocab *v);
int32_t wp_sep(const wp_vocab *v);
int32_t wp_pad(const wp_vocab *v);

/* Appends the word-piece ids of `len` bytes of UTF-8 text (invalid bytes
 * count as U+FFFD, which is dropped) to ids[*n..cap); ids past cap are
 * counted in *n but not written, so that *n > cap says the text was cut.
 * Returns 0, or -ENOMEM. No [CLS]/[SEP]. */
int wp_encode(const wp_vocab *v, const char *text, size_t len, int32_t *ids, size_t cap,
              size_t *n);

/* wp_encode with each piece's bytes of the input: piece i stands for
 * text[starts[i] .. ends[i]) (a piece inside a word, its own characters;
 * [UNK], the whole word; an accented letter, its bytes with the accent),
 * written for i < cap as the ids are. */
int wp_encode_offsets(const wp_vocab *v, const char *text, size_t len, int32_t *ids,
                      size_t *starts, size_t *ends, size_t cap, size_t *n);

/* One example for the encoder: [CLS] a [SEP] (b [SEP]), truncated to
 * max_len by removing tokens from the end of the longer of a and b (BERT's
 * rule for pairs), then padded with [PAD]: ids, segment ids (0 for the
 * first part, 1 for the second) and the attention mask (1 real, 0 pad),
 * each max_len long. b may be NULL. Returns the real length, or -ENOMEM
 * or -EINVAL (max_len < 3 with a pair, < 2 without). */
int wp_encode_example(const wp_vocab *v, const char *a, size_t alen, const char *b, size_t blen,
                      int max_len, int32_t *ids, int32_t *segments, int32_t *mask);

#endif
