/* BERT's WordPiece tokeniser (plugins/bert/wordpiece.c) against an
 * independent Python transcription of Google's algorithm
 * (tests/ref/bert_wordpiece/wordpiece_ref.py, whose ids for sample.txt are
 * committed as ids.txt), on the real uncased vocabulary; pairs,
 * truncation, and broken vocabulary files. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wordpiece.h"
#include "parse_checks.h"

static wp_vocab *vocab(void)
{
    wp_vocab *v = NULL;
    char err[512];
    int rc = wp_vocab_load(VOCAB_PATH, &v, err, sizeof err);
    ck_assert_msg(rc == 0, "%s", err);
    return v;
}

static size_t encode(const wp_vocab *v, const char *s, int32_t *ids, size_t cap)
{
    size_t n = 0;
    ck_assert_int_eq(wp_encode(v, s, strlen(s), ids, cap, &n), 0);
    return n;
}

START_TEST(test_real_vocabulary)
{
    wp_vocab *v = vocab();
    ck_assert_uint_eq(wp_vocab_size(v), 30522);
    ck_assert_int_eq(wp_unk(v), 100);
    ck_assert_int_eq(wp_cls(v), 101);
    ck_assert_int_eq(wp_sep(v), 102);
    ck_assert_int_eq(wp_pad(v), 0);
    ck_assert_str_eq(wp_vocab_token(v, 20968), "##berries");
    int32_t ids[16];
    size_t n = encode(v, "I like strawberries", ids, 16);
    ck_assert_uint_eq(n, 4);
    const int32_t want[4] = {1045, 2066, 13137, 20968};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(ids[i], want[i]);
    wp_vocab_free(v);
}
END_TEST

START_TEST(test_sample_against_reference)
{
    wp_vocab *v = vocab();
    FILE *f = fopen(REF_DIR "/sample.txt", "rb");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    int32_t *ids = malloc(8192 * sizeof *ids);
    size_t n = 0;
    ck_assert_int_eq(wp_encode(v, text, len, ids, 8192, &n), 0);
    f = fopen(REF_DIR "/ids.txt", "r");
    ck_assert_ptr_nonnull(f);
    size_t k = 0;
    long want;
    while (fscanf(f, "%ld", &want) == 1) {
        ck_assert_msg(k < n, "ours ends after %zu ids; the reference goes on", n);
        ck_assert_msg(ids[k] == want, "id %zu: ours %d (%s), reference %ld (%s)", k, ids[k],
                      wp_vocab_token(v, ids[k]), want, wp_vocab_token(v, (int32_t)want));
        k++;
    }
    fclose(f);
    ck_assert_uint_eq(k, n);
    ck_assert_uint_gt(n, 500);
    free(ids);
    wp_vocab_free(v);
}
END_TEST

START_TEST(test_unknown_long_and_invalid)
{
    wp_vocab *v = vocab();
    int32_t ids[64];
    char longw[160];
    memset(longw, 'a', 101);
    longw[101] = '\0';
    size_t n = encode(v, longw, ids, 64);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(ids[0], wp_unk(v));
    /* Invalid UTF-8 is dropped as U+FFFD is: "a\xff b" is "a b". */
    int32_t a[8], b[8];
    size_t na = encode(v, "cat\xff dog", a, 8), nb = encode(v, "cat dog", b, 8);
    ck_assert_uint_eq(na, nb);
    for (size_t i = 0; i < na; i++)
        ck_assert_int_eq(a[i], b[i]);
    /* The count goes on past the room given: the caller can tell it was cut. */
    n = encode(v, "one two three four five", ids, 2);
    ck_assert_uint_eq(n, 5);
    wp_vocab_free(v);
}
END_TEST

START_TEST(test_pairs_and_truncation)
{
    wp_vocab *v = vocab();
    int32_t ids[12], seg[12], mask[12];
    /* [CLS] who is there ? [SEP] nobody [SEP] [PAD]... */
    int k = wp_encode_example(v, "Who is there?", 13, "Nobody", 6, 12, ids, seg, mask);
    ck_assert_int_eq(k, 8);
    ck_assert_int_eq(ids[0], wp_cls(v));
    ck_assert_int_eq(ids[5], wp_sep(v));
    ck_assert_int_eq(ids[7], wp_sep(v));
    ck_assert_int_eq(seg[5], 0);
    ck_assert_int_eq(seg[6], 1);
    ck_assert_int_eq(mask[7], 1);
    ck_assert_int_eq(mask[8], 0);
    ck_assert_int_eq(ids[11], wp_pad(v));
    /* max_len 6: 3 specials, 3 tokens left; the longer part loses first. */
    k = wp_encode_example(v, "one two three four", 18, "five", 4, 6, ids, seg, mask);
    ck_assert_int_eq(k, 6);
    int32_t one[4];
    encode(v, "one two five", one, 4);
    ck_assert_int_eq(ids[1], one[0]);
    ck_assert_int_eq(ids[2], one[1]);
    ck_assert_int_eq(ids[4], one[2]);
    ck_assert_int_eq(wp_encode_example(v, "x", 1, "y", 1, 2, ids, seg, mask), -EINVAL);
    wp_vocab_free(v);
}
END_TEST

static void parse_fails(const char *text, const char *want)
{
    CHECK_PARSE_FAILS(wp_vocab_parse, wp_vocab, text, want);
}

START_TEST(test_broken_vocabularies)
{
    parse_fails("[PAD]\n[UNK]\n\n[CLS]\n[SEP]\n", "line 3: an empty token");
    parse_fails("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[UNK]\n", "line 5: token '[UNK]' is there twice");
    parse_fails("[PAD]\n[UNK]\n[CLS]\n\xc3\x28\n[SEP]\n", "line 4: not valid UTF-8");
    parse_fails("[PAD]\n[CLS]\n[SEP]\n", "no [UNK] token");
    wp_vocab *v = NULL;
    char err[256];
    const char *crlf = "[PAD]\r\n[UNK]\r\n[CLS]\r\n[SEP]\r\nab\r\n";
    ck_assert_int_eq(wp_vocab_parse(crlf, strlen(crlf), &v, err, sizeof err), 0);
    ck_assert_int_eq(wp_vocab_id(v, "ab", 2), 4); /* CRLF lines */
    wp_vocab_free(v);
    ck_assert_int_lt(wp_vocab_load("/nonexistent/vocab.txt", &v, err, sizeof err), 0);
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent/vocab.txt"));
}
END_TEST

/* The bytes each piece stands for, as "piece=bytes" joined by spaces. */
static void spans(const wp_vocab *v, const char *s, char *out, size_t outlen)
{
    int32_t ids[64], ref[64];
    size_t st[64], en[64], n = 0, nr = 0, used = 0;
    ck_assert_int_eq(wp_encode_offsets(v, s, strlen(s), ids, st, en, 64, &n), 0);
    ck_assert_int_eq(wp_encode(v, s, strlen(s), ref, 64, &nr), 0);
    ck_assert_uint_eq(n, nr);
    out[0] = 0;
    for (size_t i = 0; i < n && i < 64; i++) {
        ck_assert_int_eq(ids[i], ref[i]);
        ck_assert_uint_le(st[i], en[i]);
        ck_assert_uint_le(en[i], strlen(s));
        used += (size_t)snprintf(out + used, outlen - used, "%s%s=%.*s", i ? " " : "",
                                 wp_vocab_token(v, ids[i]), (int)(en[i] - st[i]), s + st[i]);
    }
}

START_TEST(test_offsets)
{
    wp_vocab *v = vocab();
    char got[1024];
    /* Pieces inside a word keep their own bytes; punctuation is its own. */
    spans(v, "I like strawberries.", got, sizeof got);
    ck_assert_str_eq(got, "i=I like=like straw=straw ##berries=berries .=.");
    /* An accent folded away stays inside its letter's bytes (é is 2). */
    spans(v, "Café  Müller!", got, sizeof got);
    ck_assert_str_eq(got, "cafe=Café muller=Müller !=!");
    /* CJK ideographs are words of their own, 3 bytes each. */
    spans(v, "\xe4\xb8\xad\xe6\x96\x87ok", got, sizeof got);
    ck_assert_str_eq(got, "\xe4\xb8\xad=\xe4\xb8\xad \xe6\x96\x87=\xe6\x96\x87 ok=ok");
    /* [UNK] spans its whole word; control characters are skipped. */
    spans(v, "x \xe2\x98\x83\xe2\x98\x83 a\x01" "b", got, sizeof got);
    ck_assert_str_eq(got, "x=x [UNK]=\xe2\x98\x83\xe2\x98\x83 ab=a\x01" "b");
    /* Past cap: counted, not written, as wp_encode. */
    int32_t ids[2];
    size_t st[2], en[2], n = 0;
    ck_assert_int_eq(wp_encode_offsets(v, "a b c d", 7, ids, st, en, 2, &n), 0);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(st[1], 2);
    ck_assert_uint_eq(en[1], 3);
    wp_vocab_free(v);
}
END_TEST

START_TEST(test_offsets_sample)
{
    /* The whole reference sample: the same ids as wp_encode, and spans in
     * order, inside the text, never empty. */
    wp_vocab *v = vocab();
    FILE *f = fopen(REF_DIR "/sample.txt", "rb");
    ck_assert_ptr_nonnull(f);
    static char text[1 << 16];
    size_t len = fread(text, 1, sizeof text, f);
    fclose(f);
    int32_t *ids = malloc(8192 * sizeof *ids), *ref = malloc(8192 * sizeof *ref);
    size_t *st = malloc(8192 * sizeof *st), *en = malloc(8192 * sizeof *en), n = 0, nr = 0;
    ck_assert_int_eq(wp_encode_offsets(v, text, len, ids, st, en, 8192, &n), 0);
    ck_assert_int_eq(wp_encode(v, text, len, ref, 8192, &nr), 0);
    ck_assert_uint_eq(n, nr);
    for (size_t i = 0; i < n; i++) {
        ck_assert_int_eq(ids[i], ref[i]);
        ck_assert_uint_lt(st[i], en[i]);
        ck_assert_uint_le(en[i], len);
        if (i)
            ck_assert_uint_le(st[i - 1], st[i]);
    }
    free(ids);
    free(ref);
    free(st);
    free(en);
    wp_vocab_free(v);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("wordpiece");
    TCase *tc = tcase_create("wordpiece");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_real_vocabulary);
    tcase_add_test(tc, test_sample_against_reference);
    tcase_add_test(tc, test_unknown_long_and_invalid);
    tcase_add_test(tc, test_pairs_and_truncation);
    tcase_add_test(tc, test_broken_vocabularies);
    tcase_add_test(tc, test_offsets);
    tcase_add_test(tc, test_offsets_sample);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
